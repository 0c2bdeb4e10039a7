"""Run a script under several BLAS kernels and thread counts.

A result that must not depend on the BLAS is computed in fresh interpreters, each
with another OpenBLAS kernel (``OPENBLAS_CORETYPE``, honoured by OpenBLAS builds with
``DYNAMIC_ARCH`` such as numpy's and scipy's wheels, restricted to the kernels this
CPU can run) and thread count, so a test compares what different machines of the
same kind would compute.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
# kernel -> CPU flags it needs (/proc/cpuinfo names)
KERNELS = {
    "Prescott": ("pni",),  # SSE3
    "Haswell": ("avx2", "fma"),
    "SkylakeX": ("avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"),
}


def _variants() -> list[dict[str, str]]:
    one_thread = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    config = np.show_config(mode="dicts")
    blas = config.get("Build Dependencies", {}).get("blas", {})
    dynamic = "DYNAMIC_ARCH" in str(blas.get("openblas configuration", ""))
    cpuinfo = Path("/proc/cpuinfo")
    if not (dynamic and platform.machine() in ("x86_64", "AMD64")):
        return [{}, one_thread]
    flags = set(cpuinfo.read_text().split()) if cpuinfo.is_file() else set()
    kernels = [k for k, needs in KERNELS.items() if all(f in flags for f in needs)]
    # the default, then each kernel, every other one with a single thread
    return [{}] + [
        {"OPENBLAS_CORETYPE": k, **(one_thread if i % 2 == 0 else {})}
        for i, k in enumerate(kernels)
    ]


@pytest.fixture(scope="session")
def blas_variants() -> Callable[[str, str], list[tuple[dict[str, str], str]]]:
    """Return ``run(script, stdin)``: the script's stdout under every variant."""

    def run(script: str, stdin: str) -> list[tuple[dict[str, str], str]]:
        # started together: the interpreters mostly import, so this halves the wait
        procs = [
            (
                extra,
                subprocess.Popen(
                    [sys.executable, "-c", script],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env={**os.environ, **extra},
                    cwd=ROOT,
                ),
            )
            for extra in _variants()
        ]
        results = []
        for extra, proc in procs:
            out, err = proc.communicate(stdin, timeout=300)
            assert proc.returncode == 0, f"{extra}: {err[-2000:]}"
            results.append((extra, out))
        return results

    return run


@pytest.fixture(scope="session")
def lifelines() -> ModuleType:
    """lifelines, the independent cross-check of survival and censored-normal numbers.

    It is the ``crosscheck`` extra, which CI installs only in its second pass: lifelines
    requires pandas<3, so the main pass (pandas 3) skips these tests. With
    ``TRIALDATA_CROSSCHECK=1`` (the second pass) a missing lifelines fails instead.
    """
    try:
        import lifelines
    except ModuleNotFoundError:
        if os.environ.get("TRIALDATA_CROSSCHECK") == "1":
            pytest.fail("TRIALDATA_CROSSCHECK=1 but lifelines is not installed")
        pytest.skip("lifelines is not installed (the crosscheck extra; pandas<3 only)")
    return lifelines
