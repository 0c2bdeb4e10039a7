"""BOIN's boundaries without an (n + 1)^2 grid: the same numbers as the grid.

The elimination boundary is now one search over y per n, and BOIN's escalate /
de-escalate codes are two integer boundaries per n (``CodeTable``), so both take
O(n) memory. The grid computations they replace are kept here, verbatim, as the
oracle: the boundaries must equal them exactly (integers; no tolerance) for every n up
to 300 over a range of targets, cut-offs and minimum sizes, and must equal R
``BOIN::get.boundary`` (BOIN 2.7.2, ``tests/analyses/reference/boin_boundary.json``,
written by ``boin_boundary.R`` beside it) up to 300 patients at one dose. The speed
is measured by ``benchmarks/dose_finding.py``, not here; the memory bound is tested
(tracemalloc's peak, which counts numpy's buffers).
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from scipy import stats

from analyses.dose_finding import BOIN, MTPI2, I3Plus3, elimination_boundary
from analyses.dose_finding._base import DEESCALATE, ESCALATE, STAY
from analyses.dose_finding.interval_design import CodeTable
from analyses.dose_finding.tolerances import PatientTolerances

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "boin_boundary.json"


def grid_elimination_boundary(
    target: float, max_n: int, *, cutoff_eli: float = 0.95, min_n: int = 3
) -> npt.NDArray[np.float64]:
    """The (n + 1)^2 grid computation the package used before (the oracle)."""
    n = np.arange(max_n + 1)[:, None]
    y = np.arange(max_n + 1)[None, :]
    valid = (y <= n) & (n >= min_n)
    tail = stats.beta.sf(target, y + 1, np.maximum(n - y + 1, 1))
    hit = valid & (tail > cutoff_eli)
    first = np.where(hit, y, np.iinfo(np.int64).max).min(axis=1)
    return np.where(hit.any(axis=1), first.astype(float), np.inf)


def grid_boin_codes(boin: BOIN, max_n: int) -> npt.NDArray[np.int64]:
    """BOIN's former ``_codes``: the full (n + 1)^2 grid of E/S/D codes."""
    esc, deesc = boin.escalation_limits(max_n)
    y = np.arange(max_n + 1)[None, :]
    codes = np.full((max_n + 1, max_n + 1), STAY, np.int64)
    codes[y <= esc[:, None]] = ESCALATE
    codes[y >= deesc[:, None]] = DEESCALATE
    return codes


class GridBOIN(BOIN):
    """BOIN deciding from the former grid, to compare whole trials."""

    def _code_table(self, max_n: int) -> CodeTable:
        return CodeTable(grid=grid_boin_codes(self, max_n))


@pytest.mark.parametrize("target", [0.05, 0.1, 0.2, 0.25, 0.3, 0.33, 0.4, 0.5, 0.6])
@pytest.mark.parametrize("cutoff_eli", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
def test_elimination_boundary_equals_the_grid(target: float, cutoff_eli: float) -> None:
    old = grid_elimination_boundary(target, 300, cutoff_eli=cutoff_eli, min_n=0)
    for min_n in (0, 1, 3, 5):
        new = elimination_boundary(target, 300, cutoff_eli=cutoff_eli, min_n=min_n)
        # the grid with min_n is the grid without it, set to inf below min_n
        np.testing.assert_array_equal(new[min_n:], old[min_n:])
        assert np.isinf(new[:min_n]).all()


@pytest.mark.parametrize("max_n", [0, 1, 2, 3, 4, 7])
def test_elimination_boundary_small_n(max_n: int) -> None:
    for target in (0.2, 0.3, 0.5):
        np.testing.assert_array_equal(
            elimination_boundary(target, max_n),
            grid_elimination_boundary(target, max_n),
        )


def test_a_dose_with_no_eliminating_count_has_no_boundary() -> None:
    # target 0.5, n = 3: Pr(p > 0.5 | 3/3) = 1 - 0.5^4 = 0.9375 <= 0.95
    bound = elimination_boundary(0.5, 5)
    assert np.isinf(bound[3]) and bound[4] == 4.0
    assert np.isinf(elimination_boundary(0.3, 50, cutoff_eli=1.0)).all()


@pytest.mark.parametrize("target", [0.15, 0.25, 0.3, 0.35])
def test_boin_code_table_equals_the_grid(target: float) -> None:
    boin = BOIN(target, 5)
    table = boin._code_table(300)
    assert table.grid is None  # no (n + 1)^2 array
    grid = grid_boin_codes(boin, 300)
    n, y = np.meshgrid(np.arange(301), np.arange(301), indexing="ij")
    np.testing.assert_array_equal(table(n, y), grid)
    for m in (1, 2, 3, 10, 299, 300):
        np.testing.assert_array_equal(table.row(m), grid[m, : m + 1])


def test_grid_designs_keep_their_grid() -> None:
    for design in (MTPI2(0.3, 5), I3Plus3(0.3, 5)):
        table = design._code_table(30)
        assert table.grid is not None
        np.testing.assert_array_equal(table.row(9), table.grid[9, :10])


def test_whole_trials_decide_as_with_the_grid() -> None:
    p = [0.05, 0.15, 0.30, 0.45, 0.60]
    uniforms = PatientTolerances(seed=11, n_trials=2_000)
    for kwargs in ({}, {"extrasafe": True}, {"n_earlystop": 12}):
        new = BOIN(0.3, 5, **kwargs).simulate(p, uniforms)
        old = GridBOIN(0.3, 5, **kwargs).simulate(p, uniforms)
        for field in ("n", "y", "selected", "stopped_early"):
            np.testing.assert_array_equal(getattr(new, field), getattr(old, field))
    n, y = [3, 6, 12, 0, 0], [0, 1, 5, 0, 0]
    for current in (1, 2, 3):
        new_d = BOIN(0.3, 5).decide(n, y, current)
        old_d = GridBOIN(0.3, 5).decide(n, y, current)
        for field in ("action", "current_dose", "next_dose", "mtd", "reason"):
            assert getattr(new_d, field) == getattr(old_d, field), field
    pd.testing.assert_frame_equal(
        BOIN(0.3, 5, n_cohorts=40).decision_table().boundaries,
        GridBOIN(0.3, 5, n_cohorts=40).decision_table().boundaries,
    )


def _r_cases() -> list[dict[str, object]]:
    return list(json.loads(REFERENCE.read_text())["cases"])


@pytest.mark.parametrize("case", _r_cases(), ids=lambda c: str(c["id"]))
def test_boundaries_equal_r_get_boundary(case: dict[str, object]) -> None:
    """R: BOIN::get.boundary(target, ncohort = 100, cohortsize = 3, ...)."""
    inp, exp = case["inputs"], case["expected"]
    assert isinstance(inp, dict) and isinstance(exp, dict)
    boin = BOIN(
        inp["target"],
        5,
        p_saf=inp["p_saf"],
        p_tox=inp["p_tox"],
        cutoff_eli=inp["cutoff_eli"],
        cohort_size=inp["cohortsize"],
        n_cohorts=inp["ncohort"],
    )
    table = boin.decision_table().boundaries
    assert table["n"].tolist() == exp["n"]
    for col in ("escalate_if_dlt_le", "deescalate_if_dlt_ge", "eliminate_if_dlt_ge"):
        got = [None if pd.isna(v) else int(v) for v in table[col]]
        assert got == exp[col], (case["r_call"], col)
    # the elimination boundary alone, over the same n
    elim = elimination_boundary(inp["target"], 300, cutoff_eli=inp["cutoff_eli"])
    got = [None if np.isinf(v) else int(v) for v in elim[1:]]
    assert got == exp["eliminate_if_dlt_ge"]


@pytest.mark.parametrize("max_n", [5_000, 20_000])
def test_memory_grows_linearly(max_n: int) -> None:
    """The rules for n patients at one dose hold O(n) numbers, not O(n^2)."""
    boin = BOIN(0.3, 5)
    tracemalloc.start()
    try:
        elim = elimination_boundary(0.3, max_n)
        table = boin._code_table(max_n)
        codes = table(np.arange(max_n + 1), np.arange(max_n + 1) // 3)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert table.grid is None and codes.shape == (max_n + 1,)
    # a handful of length-(n + 1) arrays of 8 bytes; the grid needed 8 (n + 1)^2
    assert peak < 64 * 8 * (max_n + 1), peak
    # and the boundary keeps the asymptotics of the binomial quantile
    n = max_n
    assert abs(elim[n] - (0.3 * (n + 1) + 1.645 * np.sqrt(0.21 * (n + 1)))) < 3
