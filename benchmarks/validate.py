"""Benchmark: full validation of a large upload against reading its CSVs with pyarrow.

Writes a tolDC-ms demo trial (``trialdata.demo``) with 1,000 subjects and enough
unscheduled laboratory and immunomonitoring draws that those two tables hold at least
1,000,000 rows, then times (a) reading every CSV of the upload with
``pyarrow.csv.read_csv`` alone and (b) the full ``trialdata.validation.validate_folder``
(read with source lines, parse types, pandera schemas, keys, cross-domain rules).
Target: (b) ≤ 3 × (a). Both are the median of ``--repeat`` runs, taken in turns.

Run: ``python benchmarks/validate.py [--rows 1000000] [--subjects 1000] [--repeat 7]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.csv as pacsv

from trialdata.demo import write_trial
from trialdata.validation import validate_folder

BIG_TABLES = ("labs.csv", "immunomonitoring.csv")


def _big_rows(folder: Path) -> int:
    return sum(pacsv.read_csv(folder / name).num_rows for name in BIG_TABLES)


def build_upload(folder: Path, rows: int, subjects: int, seed: int) -> int:
    """Write the demo upload; return the lab + immunomonitoring row count.

    The number of extra draws per subject is estimated from a pilot of 0 and 1 draws
    and topped up until the lab + immunomonitoring rows reach ``rows``.
    """
    write_trial(folder, "tolDC-ms", subjects, seed, extra_draws=0)
    base = _big_rows(folder)
    write_trial(folder, "tolDC-ms", subjects, seed, extra_draws=1)
    per_draw = _big_rows(folder) - base
    draws = max(0, -(-(rows - base) // per_draw))
    while True:  # draws add a varying number of rows: top up until the target is met
        write_trial(folder, "tolDC-ms", subjects, seed, extra_draws=draws)
        total = _big_rows(folder)
        if total >= rows:
            return total
        draws += max(1, -(-(rows - total) // per_draw))


def seconds(function: Callable[[], object]) -> float:
    """Wall time of one call, in seconds."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def median_seconds(
    first: Callable[[], object], second: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """Median wall times of ``repeat`` calls of each function, in seconds.

    The two are timed in turns, so that a change in the machine's speed during the
    measurement weighs on both alike. Each turn calls ``first`` once untimed before
    timing it, so that it is timed as in a loop of its own (warm: the memory
    ``second`` released is not first-touched on its clock).
    """
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        first()
        times[0].append(seconds(first))
        times[1].append(seconds(second))
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> None:
    """Build the upload, time both steps and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--subjects", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        big_rows = build_upload(folder, args.rows, args.subjects, args.seed)
        csvs = sorted(folder.glob("*.csv"))
        all_rows = sum(pacsv.read_csv(path).num_rows for path in csvs)

        def read_with_pyarrow() -> None:
            for path in csvs:
                pacsv.read_csv(path)

        report = validate_folder(folder)
        read_seconds, validate_seconds = median_seconds(
            read_with_pyarrow, lambda: validate_folder(folder), args.repeat
        )
    print(f"subjects: {args.subjects:,}; lab + immunomonitoring rows: {big_rows:,}")
    print(f"rows in all {len(csvs)} CSV files: {all_rows:,}")
    print(f"findings: {len(report.findings)} (the demo upload validates clean)")
    print(f"(a) pyarrow.csv.read_csv of every CSV: {read_seconds:.2f} s")
    print(f"(b) validate_folder, read to findings: {validate_seconds:.2f} s")
    print(f"ratio (b)/(a): {validate_seconds / read_seconds:.2f} (target <= 3)")


if __name__ == "__main__":
    main()
