"""Benchmark: the full DMC safety report of a 100-subject demo trial, per format.

Run ``python benchmarks/report.py [--subjects 100] [--archetype nk-aml]``. Prints the
wall and CPU seconds to load the trial, build the report and render each format (HTML,
PDF, RTF, DOCX, XLSX), and the total per format (build + render). The target is under
10 s per format on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

from trialdata.demo import write_trial
from trialdata.reports import FORMATS, build_safety_report, render
from trialdata.trial import Trial


def _timed(label: str, func, *args, **kwargs):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = func(*args, **kwargs)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<22} wall {wall:6.2f} s   cpu {cpu:6.2f} s")
    return out, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subjects", type=int, default=100)
    parser.add_argument("--archetype", default="nk-aml")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        upload = write_trial(
            Path(tmp) / "trial", args.archetype, args.subjects, args.seed
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trial, _, _ = _timed("load + validate", Trial.load, upload.folder)
            n = len(trial.table("subjects"))
            n_ae = len(trial.table("adverse_events"))
            print(f"trial: {args.archetype}, {n} subjects, {n_ae} adverse events")
            report, build_s, build_cpu = _timed(
                "build report", build_safety_report, trial
            )
            print(
                f"report: {len(report.sections)} sections, {len(report.tables())} "
                f"tables/listings, {len(report.figures())} figures"
            )
            totals = {}
            for fmt in FORMATS:
                data, render_s, render_cpu = _timed(
                    f"render {fmt}", render, report, fmt
                )
                totals[fmt] = (build_s + render_s, build_cpu + render_cpu)
                print(f"{'':<22} {len(data) / 1e6:.2f} MB")
    print("build + render per format (target < 10 s wall):")
    for fmt, (wall, cpu) in totals.items():
        flag = "ok" if wall < 10 else "SLOW"
        print(f"  {fmt:<5} wall {wall:6.2f} s   cpu {cpu:6.2f} s  {flag}")


if __name__ == "__main__":
    main()
