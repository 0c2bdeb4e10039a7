"""Run the independent per-file and per-table steps of validation on a few threads.

Reading a file, parsing its columns and checking its schema and keys do not depend on
any other table. Most of their time is spent in Arrow's readers and compute kernels,
NumPy and hashlib, which release the GIL, so on a machine with several cores two
tables are processed at once. Results come back in the order of the inputs, whatever
order the work finished in, so findings stay in a fixed order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["WORKERS", "map_in_threads"]

#: Threads used; one per core, at most four.
WORKERS = max(1, min(4, os.cpu_count() or 1))

Item = TypeVar("Item")
Result = TypeVar("Result")


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
    if WORKERS < 2 or len(items) < 2:
        return [function(item) for item in items]
    order = list(range(len(items)))
    if cost is not None:
        order.sort(key=lambda i: -cost(items[i]))
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {i: pool.submit(function, items[i]) for i in order}
        return [futures[i].result() for i in range(len(items))]
