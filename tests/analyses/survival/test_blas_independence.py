"""Cox results do not depend on the BLAS kernel, its thread count, or the row order.

R ``concordancefit`` ranks the linear predictor with ``match(risk,
sort(unique(risk)))``: exact equality, on ``X %*% coef`` from the reference BLAS,
which gives identical covariate rows bit-identical predictors. An OpenBLAS kernel can
put two such rows one ulp apart (with the SkylakeX kernel, lung ``~ sex + age +
strata(ph.ecog)`` gave 0.582598 instead of R's 0.582738). The package computes the
predictor in a fixed order (``linear_predictor``) and ties predictors within a
relative 1e-10 (``concordance(rtol=)``); these tests perturb inputs by a few ulps,
reorder rows, and switch kernels.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analyses.survival import estimate_cox
from analyses.survival._cox_core import linear_predictor
from analyses.survival.cox import concordance, risk_ranks

R_LUNG_STRAT = 0.582737845032927  # R 4.2.2, survival 3.5-3: shared/reference
#: R's survival::lung, status 0/1 (R's status - 1), as lifelines ships it
LUNG = Path(__file__).resolve().parents[1] / "reference" / "lung.csv"


def _lung() -> pd.DataFrame:
    # R: subset(lung, !is.na(ph.ecog)); status 0/1
    lung = pd.read_csv(LUNG)
    return lung[lung["ph.ecog"].notna()].reset_index(drop=True)


def _nudge(values: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Move every value ``steps`` ulps (signed) with ``np.nextafter``."""
    out = values.astype(float).copy()
    for _ in range(int(np.abs(steps).max())):
        up = steps > 0
        down = steps < 0
        out = np.where(up, np.nextafter(out, np.inf), out)
        out = np.where(down, np.nextafter(out, -np.inf), out)
        steps = steps - np.sign(steps)
    return out


def _fit(data: pd.DataFrame, ties: str = "efron") -> Any:
    return estimate_cox(
        data,
        ["sex", "age"],
        time="time",
        event="status",
        cnsr=None,
        ties=ties,  # type: ignore[arg-type]
        strata="ph.ecog",
        min_events=0,
    )


def test_linear_predictor_identical_rows_are_bit_identical() -> None:
    rng = np.random.default_rng(5)
    base = rng.normal(size=(40, 5)) * np.array([1.0, 60.0, 1e-3, 3.0, 1e4])
    x = base[rng.integers(0, 40, 400)]  # many duplicated rows, in random order
    beta = rng.normal(size=5) * np.array([0.3, 0.02, 50.0, 1.0, 1e-4])
    eta = linear_predictor(x, beta)
    _, inv = np.unique(x, axis=0, return_inverse=True)
    for k in range(int(inv.max()) + 1):
        assert np.unique(eta[inv.ravel() == k]).size == 1
    # a row's value depends neither on the other rows nor on their order
    alone = np.array([linear_predictor(row[None, :], beta)[0] for row in x])
    assert np.array_equal(alone, eta)
    perm = rng.permutation(x.shape[0])
    assert np.array_equal(linear_predictor(x[perm], beta), eta[perm])
    # and it is x @ beta up to rounding
    np.testing.assert_allclose(eta, x @ beta, rtol=1e-12, atol=1e-12)


def test_risk_ranks_tie_within_tolerance_and_chain() -> None:
    r = np.array([2.0, 1.0, np.nextafter(1.0, 2.0), 1.0 + 1e-6, 3.0])
    assert risk_ranks(r, 0.0).tolist() == [3, 0, 1, 2, 4]
    assert risk_ranks(r, 1e-12).tolist() == [2, 0, 0, 1, 3]
    # consecutive gaps within the tolerance chain into one tie group
    assert risk_ranks(np.array([0.0, 0.6, 1.2, 3.0]), 1.0).tolist() == [0, 0, 0, 1]
    # a NaN is never tied with a number
    assert risk_ranks(np.array([1.0, np.nan, 1.0]), 1.0).tolist() == [0, 1, 0]


def test_concordance_counts_ulp_apart_predictors_as_tied() -> None:
    # subjects 1 and 2 share covariates; a BLAS kernel put them one ulp apart
    t = np.array([1.0, 2.0, 3.0])
    e = np.array([True, True, False])
    r = np.array([0.7, 0.3, 0.3])
    # pairs (1,2) and (1,3) concordant, (2,3) tied: (2 + 1/2) / 3
    assert concordance(t, e, r) == 2.5 / 3
    noisy = np.array([0.7, 0.3, np.nextafter(0.3, 1.0)])
    assert concordance(t, e, noisy) == 2.5 / 3
    assert concordance(t, e, noisy, rtol=0) == 2 / 3  # R's exact comparison
    with pytest.raises(ValueError, match="rtol"):
        concordance(t, e, r, rtol=-1.0)


def test_lung_strata_concordance_survives_ulp_noise_in_the_predictor() -> None:
    lung = _lung()
    fit = _fit(lung)
    x = lung[["sex", "age"]].to_numpy(dtype=float)
    x = x - x.mean(axis=0)
    eta = linear_predictor(x, np.asarray(fit.coef))
    t = lung["time"].to_numpy(dtype=float)
    e = lung["status"].to_numpy() == 1
    st = np.asarray(lung.groupby("ph.ecog").ngroup(), dtype=np.int64)
    assert concordance(t, e, eta, st) == fit.concordance
    assert fit.concordance == pytest.approx(R_LUNG_STRAT, rel=1e-12)
    rng = np.random.default_rng(1)
    noisy = _nudge(eta, rng.integers(-3, 4, eta.size))
    assert concordance(t, e, noisy, st) == fit.concordance
    # the perturbation splits 112 of the 126 risk-tied pairs (into 58 concordant and
    # 54 discordant with this seed), so R's exact rule changes its answer
    assert concordance(t, e, noisy, st, rtol=0) != fit.concordance


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_unchanged_by_ulp_perturbed_covariates_and_row_order(ties: str) -> None:
    lung = _lung()
    base = _fit(lung, ties)
    rng = np.random.default_rng(23)
    age = lung["age"].to_numpy(dtype=float)
    moved = lung.assign(age=_nudge(age, rng.integers(-3, 4, age.size)))
    moved = moved.iloc[rng.permutation(len(moved))]
    res = _fit(moved, ties)
    assert res.concordance == base.concordance
    assert res.concordance == pytest.approx(R_LUNG_STRAT, rel=1e-12)
    assert res.converged and base.converged
    np.testing.assert_allclose(res.coef, base.coef, rtol=1e-10)
    np.testing.assert_allclose(res.se, base.se, rtol=1e-10)
    for name in ("loglik_null", "loglik_model", "lr_test", "wald_test", "score_test"):
        assert getattr(res, name) == pytest.approx(getattr(base, name), rel=1e-10)


_KERNEL_SCRIPT = """
import json, sys
import pandas as pd
from analyses.survival import estimate_cox
lung = pd.DataFrame(json.loads(sys.stdin.read()))
out = {}
for ties in ("efron", "breslow"):
    fit = estimate_cox(lung, ["sex", "age"], time="time", event="status", cnsr=None,
                       ties=ties, strata="ph.ecog", min_events=0)
    out[ties] = {"concordance": fit.concordance, "coef": list(fit.coef),
                 "se": list(fit.se), "loglik": fit.loglik_model,
                 "converged": fit.converged}
print(json.dumps(out))
"""


def test_cox_same_with_every_blas_kernel_and_thread_count(
    blas_variants: Callable[[str, str], list[tuple[dict[str, str], str]]],
) -> None:
    lung = _lung()[["time", "status", "sex", "age", "ph.ecog"]]
    runs = blas_variants(_KERNEL_SCRIPT, json.dumps(lung.to_dict("list")))
    assert len(runs) >= 2
    first = json.loads(runs[0][1])
    for env, text in runs:
        other = json.loads(text)
        for ties in ("efron", "breslow"):
            a, b = first[ties], other[ties]
            assert b["concordance"] == pytest.approx(R_LUNG_STRAT, rel=1e-12), env
            assert b["concordance"] == a["concordance"], env
            assert b["converged"], env
            np.testing.assert_allclose(b["coef"], a["coef"], rtol=1e-10)
            np.testing.assert_allclose(b["se"], a["se"], rtol=1e-10)
            assert b["loglik"] == pytest.approx(a["loglik"], rel=1e-12)
