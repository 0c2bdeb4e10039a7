"""Exact binomial intervals: one implementation for safety, MRD and NEDA tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyses.proportions import clopper_pearson, compute_clopper_pearson


def test_matches_r_binom_test() -> None:
    """R: binom.test(2, 4)$conf.int; binom.test(3, 10)$conf.int."""
    lower, upper = clopper_pearson(np.array([2, 3]), np.array([4, 10]))
    np.testing.assert_allclose(lower, [0.06758599, 0.06673951], atol=5e-9)
    np.testing.assert_allclose(upper, [0.93241401, 0.65245285], atol=5e-9)


def test_boundaries_are_closed_form() -> None:
    # x = 0: upper = 1 - (alpha/2)^(1/n); x = n: lower = (alpha/2)^(1/n)
    lower, upper = clopper_pearson(np.array([0, 5]), np.array([5, 5]))
    assert lower[0] == 0.0 and upper[1] == 1.0
    assert upper[0] == pytest.approx(1 - 0.025 ** (1 / 5), abs=1e-12)
    assert lower[1] == pytest.approx(0.025 ** (1 / 5), abs=1e-12)


def test_series_version_leaves_empty_groups_missing() -> None:
    lower, upper = compute_clopper_pearson(
        pd.Series([2, 0], index=["a", "b"]), pd.Series([4, 0], index=["a", "b"])
    )
    assert lower.loc["a"] == pytest.approx(0.06758599, abs=5e-9)
    assert np.isnan(lower.loc["b"]) and np.isnan(upper.loc["b"])
