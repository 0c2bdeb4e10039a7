"""Work spread over threads comes back in input order, whatever finishes first."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from unittest.mock import patch

import pytest

from trialdata.io.files import SourceFile
from trialdata.validation import _threads, runner
from trialdata.validation._threads import map_in_threads, map_in_threads_while


def _slow_for_small(item: int) -> int:
    time.sleep(0.002 * (5 - item))  # the first items finish last
    return item * item


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_results_come_back_in_input_order(workers: int) -> None:
    items = [0, 1, 2, 3, 4]
    with patch.object(_threads, "WORKERS", workers):
        assert map_in_threads(_slow_for_small, items, cost=lambda i: i) == [
            0,
            1,
            4,
            9,
            16,
        ]
        results, other = map_in_threads_while(_slow_for_small, items, lambda: "rules")
    assert results == [0, 1, 4, 9, 16]
    assert other == "rules"


def test_meanwhile_runs_on_the_calling_thread_while_items_run_on_others() -> None:
    seen: dict[str, set[str]] = {"items": set()}

    def item_thread(item: int) -> int:
        seen["items"].add(threading.current_thread().name)
        return item

    with patch.object(_threads, "WORKERS", 2):
        _, caller = map_in_threads_while(
            item_thread, [1, 2, 3], lambda: threading.current_thread().name
        )
    assert caller == threading.current_thread().name
    assert caller not in seen["items"]


@pytest.mark.parametrize("workers", [2, 3])
def test_items_leave_a_core_to_the_calling_thread_while_it_works(workers: int) -> None:
    # the caller's work (the rules) holds the GIL on a core of its own
    names: dict[str, set[str]] = {"map": set(), "while": set()}

    def record(into: str) -> Callable[[int], int]:
        def item(value: int) -> int:
            time.sleep(0.005)
            names[into].add(threading.current_thread().name)
            return value

        return item

    with patch.object(_threads, "WORKERS", workers):
        map_in_threads(record("map"), list(range(12)))
        map_in_threads_while(record("while"), list(range(12)), lambda: None)
    assert len(names["map"]) == workers
    assert len(names["while"]) == workers - 1


@pytest.mark.parametrize("workers", [1, 2])
def test_the_earliest_failing_item_is_raised(workers: int) -> None:
    def fail_on_odd(item: int) -> int:
        if item % 2:
            raise ValueError(f"item {item}")
        return item

    with (
        patch.object(_threads, "WORKERS", workers),
        pytest.raises(ValueError, match="item 1"),
    ):
        map_in_threads_while(fail_on_odd, [0, 1, 2, 3], lambda: None)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failure_meanwhile_is_raised_after_the_items_finish(workers: int) -> None:
    finished: list[int] = []

    def record(item: int) -> int:
        time.sleep(0.01)
        finished.append(item)
        return item

    def fail() -> None:
        raise RuntimeError("rules failed")

    with (
        patch.object(_threads, "WORKERS", workers),
        pytest.raises(RuntimeError, match="rules failed"),
    ):
        map_in_threads_while(record, [1, 2, 3], fail)
    if workers > 1:  # the pool is waited for before the error leaves
        assert sorted(finished) == [1, 2, 3]


def test_only_a_file_bigger_than_a_cores_share_is_parsed_on_arrow_threads(
    tmp_path: Path,
) -> None:
    # read side by side, the files keep the cores busy; Arrow's pool costs more CPU
    sizes = {"labs": 34, "immunomonitoring": 27, "custody_events": 9}
    files = []
    for name, megabytes in sizes.items():
        path = tmp_path / f"{name}.csv"
        path.write_bytes(b"x" * (megabytes << 10))
        files.append(SourceFile(path, name, "csv"))

    def threaded(chosen: list[SourceFile]) -> set[Path]:
        return runner._parsed_on_arrow_threads(
            {f.path: runner._read_cost(f) for f in chosen}
        )

    with patch.object(runner, "WORKERS", 2):
        assert threaded(files) == set()
        assert threaded(files[:1] + files[2:]) == {files[0].path}
    with patch.object(runner, "WORKERS", 1):
        assert threaded(files[:1]) == set()
