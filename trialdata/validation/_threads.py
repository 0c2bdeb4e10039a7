"""Run the independent per-file and per-table steps of validation on a few threads.

Reading a file, parsing its columns and checking its schema and keys do not depend on
any other table. Much of their time is spent in Arrow's readers and compute kernels,
NumPy and hashlib, which release the GIL, so on a machine with several cores two
tables are processed at once, and the files are hashed while the calling thread runs
the cross-domain rules, which hold the GIL (:func:`map_in_threads_while`). Results
come back in the order of the inputs, whatever order the work finished in, so
findings stay in a fixed order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["WORKERS", "map_in_threads", "map_in_threads_while"]

#: Threads used; one per core, at most four.
WORKERS = max(1, min(4, os.cpu_count() or 1))

Item = TypeVar("Item")
Result = TypeVar("Result")
Other = TypeVar("Other")


def map_in_threads(
    function: Callable[[Item], Result],
    items: Sequence[Item],
    cost: Callable[[Item], float] | None = None,
) -> list[Result]:
    """Apply ``function`` to every item, on :data:`WORKERS` threads.

    Parameters
    ----------
    function : callable
        Called once per item; it must not change shared state.
    items : sequence
        The inputs.
    cost : callable, optional
        Expected cost of an item; costly items start first so that the threads
        finish together.

    Returns
    -------
    list
        ``function(item)`` for every item, in the order of ``items``. If calls
        raise, the exception of the earliest item is raised here.
    """
    if len(items) < 2:
        return [function(item) for item in items]
    return _map(function, items, lambda: None, cost, WORKERS)[0]


def map_in_threads_while(
    function: Callable[[Item], Result],
    items: Sequence[Item],
    meanwhile: Callable[[], Other],
    cost: Callable[[Item], float] | None = None,
) -> tuple[list[Result], Other]:
    """Apply ``function`` to every item on worker threads while this thread runs.

    The calling thread runs ``meanwhile`` once the items are handed out, so work
    that holds the GIL (``meanwhile``) overlaps work that mostly does not (the
    items). The items get one thread fewer than :data:`WORKERS`: the calling thread
    keeps a core to itself.

    Parameters
    ----------
    function : callable
        Called once per item; it must not change shared state.
    items : sequence
        The inputs.
    meanwhile : callable
        Run on the calling thread; it must not change what ``function`` reads.
    cost : callable, optional
        Expected cost of an item; costly items start first.

    Returns
    -------
    results : list
        ``function(item)`` for every item, in the order of ``items``.
    other : object
        What ``meanwhile`` returned. If it raises, its exception is raised once the
        items are done; otherwise the exception of the earliest failing item is.
    """
    return _map(function, items, meanwhile, cost, WORKERS - 1)


def _map(
    function: Callable[[Item], Result],
    items: Sequence[Item],
    meanwhile: Callable[[], Other],
    cost: Callable[[Item], float] | None,
    workers: int,
) -> tuple[list[Result], Other]:
    """Map ``function`` over the items on ``workers`` threads, running ``meanwhile``."""
    if workers < 1 or WORKERS < 2 or not items:
        other = meanwhile()
        return [function(item) for item in items], other
    order = list(range(len(items)))
    if cost is not None:
        order.sort(key=lambda i: -cost(items[i]))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {i: pool.submit(function, items[i]) for i in order}
        other = meanwhile()
        return [futures[i].result() for i in range(len(items))], other
