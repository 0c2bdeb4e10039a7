"""Benchmark: the DMC safety report of the 100-subject nk-aml demo, as a user runs it.

Run ``python benchmarks/report.py [--subjects 100] [--archetype nk-aml] [--repeat 3]``.

1. **CLI**: ``trialdata report safety FOLDER --output report.<fmt>`` as a separate
   process, start-up included, ``--repeat`` times per format; prints the wall time of
   each run, the median, and the CPU seconds of the process. Targets: HTML under 3 s,
   PDF under 6 s.
2. **In-process** (``--phases``, on by default): the same work in this interpreter,
   phase by phase (imports, load + validate, build, render per format), to show
   where the CLI's time goes.
3. ``--profile DIR`` writes cProfile files of the build and of each render there.

The machine is shared: the medians vary by +-30 % from run to run.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

TARGETS = {"html": 3.0, "pdf": 6.0}


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("trialdata")
    if script.is_file():
        return [str(script)]
    found = shutil.which("trialdata")
    return [found] if found else [sys.executable, "-m", "trialdata"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli_runs(folder: Path, out_dir: Path, fmt: str, repeat: int) -> list[float]:
    """Run the CLI ``repeat`` times for one format; return the wall times."""
    walls = []
    for i in range(repeat):
        output = out_dir / f"report-{i}.{fmt}"
        cpu = _children_cpu()
        start = time.perf_counter()
        done = subprocess.run(
            [*_cli(), "report", "safety", str(folder), "--output", str(output)],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - start
        cpu = _children_cpu() - cpu
        if done.returncode != 0 or not output.is_file():
            raise SystemExit(
                f"trialdata report failed ({done.returncode}):\n{done.stderr}"
            )
        size = output.stat().st_size / 1e6
        print(
            f"  {fmt:<5} run {i + 1}: wall {wall:5.2f} s   cpu {cpu:5.2f} s   "
            f"{size:.2f} MB"
        )
        walls.append(wall)
    return walls


def _timed(label: str, func, *args, **kwargs):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = func(*args, **kwargs)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {label:<24} wall {wall:5.2f} s   cpu {cpu:5.2f} s")
    return out


#: What the CLI imports to write a report (the PDF writer also imports WeasyPrint).
_IMPORTS = {
    "python + imports (html)": "import trialdata.cli, trialdata.trial, "
    "trialdata.reports.build_safety, trialdata.reports.html",
    "python + imports (pdf)": "import trialdata.cli, trialdata.trial, "
    "trialdata.reports.build_safety; from trialdata.reports.pdf import _weasyprint; "
    "_weasyprint()",
}


def phases(folder: Path, formats: list[str], profile: Path | None) -> None:
    """The CLI's work phase by phase: imports in a fresh interpreter, then the rest."""
    for label, statement in _IMPORTS.items():
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        print(f"  {label:<24} wall {time.perf_counter() - start:5.2f} s")
    from trialdata.reports import build_safety_report, render
    from trialdata.trial import Trial

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trial = _timed("load + validate", Trial.load, folder, on_error="warn")

        def build():  # type: ignore[no-untyped-def]
            return build_safety_report(
                trial, snapshot_label="folder", snapshot_hash=trial.content_hash
            )

        report = _profiled(profile, "build", build)
        print(
            f"  report: {len(report.sections)} sections, "
            f"{len(report.tables())} tables/listings, "
            f"{len(report.figures())} figures (drawn once, by the first format)"
        )
        for fmt in formats:
            _profiled(profile, f"render-{fmt}", lambda f=fmt: render(report, f))


def _profiled(profile: Path | None, label: str, func):  # type: ignore[no-untyped-def]
    if profile is None:
        return _timed(label, func)
    profiler = cProfile.Profile()
    out = _timed(label, profiler.runcall, func)
    profiler.dump_stats(profile / f"{label}.prof")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=100)
    parser.add_argument("--archetype", default="nk-aml")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--formats", default="html,pdf", help="comma-separated, e.g. html,pdf,docx"
    )
    parser.add_argument("--no-phases", action="store_true")
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    from trialdata.demo import write_trial

    with tempfile.TemporaryDirectory() as tmp:
        upload = write_trial(
            Path(tmp) / "trial", args.archetype, args.subjects, args.seed
        )
        print(
            f"trial: {args.archetype}, {args.subjects} subjects, seed {args.seed}; "
            f"{os.cpu_count()} cores, load average "
            f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}"
        )
        print(f"CLI: {' '.join(_cli())} report safety FOLDER --output report.<fmt>")
        medians = {}
        for fmt in formats:
            walls = cli_runs(upload.folder, Path(tmp), fmt, args.repeat)
            medians[fmt] = statistics.median(walls)
        if not args.no_phases:
            print("in-process, phase by phase:")
            if args.profile is not None:
                args.profile.mkdir(parents=True, exist_ok=True)
            phases(upload.folder, formats, args.profile)
    print("CLI median wall per format (target):")
    for fmt, median in medians.items():
        target = TARGETS.get(fmt)
        verdict = (
            ""
            if target is None
            else (f"(< {target:g} s: {'met' if median < target else 'NOT met'})")
        )
        print(f"  {fmt:<5} {median:5.2f} s {verdict}")


if __name__ == "__main__":
    main()
