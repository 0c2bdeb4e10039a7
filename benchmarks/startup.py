"""Start-up time of the command line and the package, each run as a new process.

Prints, for ``trialdata --help``, ``trialdata --version``, ``import trialdata`` and
``import trialdata.cli``, the median wall time of N runs (and the fastest and slowest)
in two conditions:

- cold: every run with an empty bytecode cache (``PYTHONPYCACHEPREFIX`` pointing at a
  new empty folder), so every module is compiled from source, as on the first run
  after an install or upgrade;
- warm: the bytecode cache in place and the files in the OS cache (one discarded run
  first), as in a pipeline that calls the command line once per upload.

The targets are those of issue 21: ``--help`` and ``--version`` under 0.5 s,
``import trialdata`` under 1 s (warm). Nothing is written but temporary folders,
removed at the end.

Usage: ``python benchmarks/startup.py [--runs N]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {
    "trialdata --help": 0.5,
    "trialdata --version": 0.5,
    "import trialdata": 1.0,
    "import trialdata.cli": None,
}


def commands() -> dict[str, list[str]]:
    script = Path(sys.executable).with_name("trialdata")
    cli = [str(script)] if script.is_file() else [sys.executable, "-m", "trialdata"]
    return {
        "trialdata --help": [*cli, "--help"],
        "trialdata --version": [*cli, "--version"],
        "import trialdata": [sys.executable, "-c", "import trialdata"],
        "import trialdata.cli": [sys.executable, "-c", "import trialdata.cli"],
    }


class CommandFailedError(Exception):
    """The measured command exited with an error (e.g. an option it lacks)."""


def run_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise CommandFailedError(f"exit {done.returncode}")
    return elapsed


def measure(argv: list[str], runs: int, cold: bool) -> list[float]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    times = []
    if not cold:
        run_once(argv, env)  # fills the bytecode and OS caches
    for _ in range(runs):
        if cold:
            cache = tempfile.mkdtemp(prefix="trialdata-startup-")
            env["PYTHONPYCACHEPREFIX"] = cache
            try:
                times.append(run_once(argv, env))
            finally:
                shutil.rmtree(cache, ignore_errors=True)
        else:
            times.append(run_once(argv, env))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per figure")
    args = parser.parse_args()
    print(
        f"start-up, median of {args.runs} runs as separate processes "
        f"(fastest-slowest); python {sys.version.split()[0]}, {os.cpu_count()} cores"
    )
    print(f"{'':24} {'cold (no bytecode cache)':>26} {'warm':>22}   target")
    for name, argv in commands().items():
        row = [f"{name:24}"]
        for cold in (True, False):
            try:
                times = measure(argv, args.runs, cold)
            except CommandFailedError as failed:
                row.append(f"fails ({failed})")
                continue
            row.append(
                f"{statistics.median(times):7.3f} s ({min(times):.3f}-{max(times):.3f})"
            )
        target = TARGETS[name]
        row.append(f"< {target} s (warm)" if target else "-")
        print(f"{row[0]} {row[1]:>26} {row[2]:>22}   {row[3]}")


if __name__ == "__main__":
    main()
