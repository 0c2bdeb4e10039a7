from __future__ import annotations

import math
from types import ModuleType
from typing import Literal

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analyses.immunomonitoring import (
    estimate_censored_normal,
    summarize_immunomonitoring,
)

T_975_DF2 = 4.302652729911275  # qt(0.975, 2) in R
T_975_DF1 = 12.706204736174707  # qt(0.975, 1) in R


def _rows(
    values: list[float], dose: int, visit: str, lloq: float = 1.0
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": [f"S{dose}{i}" for i in range(len(values))],
            "dose_level": dose,
            "visit": visit,
            "assay": "FLOW CYTOMETRY",
            "analyte": "Treg",
            "unit": "%",
            "value": values,
            "lloq": lloq,
            "uloq": 100.0,
        }
    )


def _stat(frame: pd.DataFrame, dose: int, stat: str) -> float:
    sel = frame.loc[(frame["dose_level"] == dose) & (frame["stat"] == stat), "value"]
    assert len(sel) == 1
    return float(sel.iloc[0])


def test_descriptive_statistics_hand_computed() -> None:
    data = pd.concat([_rows([2.0, 4.0, 8.0], 1, "V1"), _rows([0.5, 3.0], 2, "V1")])
    res = summarize_immunomonitoring(data, ("dose_level", "visit"))
    f = res.to_frame()
    # dose 1: 2, 4, 8 -> mean 14/3;
    # SD sqrt(((-8/3)^2 + (-2/3)^2 + (10/3)^2) / 2) = sqrt(28/3)
    assert _stat(f, 1, "n") == 3
    assert _stat(f, 1, "mean") == pytest.approx(14 / 3, rel=1e-12)
    assert _stat(f, 1, "sd") == pytest.approx(math.sqrt(28 / 3), rel=1e-12)
    # type-7 quartiles: Q1 at position 0.5 -> 2 + 0.5*2 = 3; Q3 at 1.5 -> 4 + 0.5*4 = 6
    assert _stat(f, 1, "median") == 4.0
    assert _stat(f, 1, "q1") == 3.0
    assert _stat(f, 1, "q3") == 6.0
    assert (_stat(f, 1, "min"), _stat(f, 1, "max")) == (2.0, 8.0)
    # geometric mean (2*4*8)^(1/3) = 4; logs are ln2*(1,2,3): mean 2 ln2, SD ln2
    # CI exp(2 ln2 -/+ t(0.975, 2) * ln2 / sqrt(3))
    assert _stat(f, 1, "geo_mean") == pytest.approx(4.0, rel=1e-12)
    assert _stat(f, 1, "sd_log") == pytest.approx(math.log(2), rel=1e-12)
    half = T_975_DF2 * math.log(2) / math.sqrt(3)
    assert _stat(f, 1, "geo_mean_lower") == pytest.approx(4 * math.exp(-half), rel=1e-9)
    assert _stat(f, 1, "geo_mean_upper") == pytest.approx(4 * math.exp(half), rel=1e-9)
    # dose 2: 0.5 < LLOQ 1 -> LLOQ/2 = 0.5 (rule lloq_half); values 0.5, 3
    assert _stat(f, 2, "n_below_lloq") == 1
    assert _stat(f, 2, "mean") == pytest.approx(1.75)
    # geometric mean sqrt(0.5 * 3) = sqrt(1.5); CI uses t(0.975, 1)
    assert _stat(f, 2, "geo_mean") == pytest.approx(math.sqrt(1.5), rel=1e-12)
    sd_log = abs(math.log(3) - math.log(0.5)) / math.sqrt(2)
    assert _stat(f, 2, "geo_mean_upper") == pytest.approx(
        math.sqrt(1.5) * math.exp(T_975_DF1 * sd_log / math.sqrt(2)), rel=1e-9
    )
    # rule "lloq": 1 and 3 -> mean 2
    f2 = summarize_immunomonitoring(
        data, ("dose_level", "visit"), lloq_rule="lloq"
    ).to_frame()
    assert _stat(f2, 2, "mean") == pytest.approx(2.0)
    assert res.provenance.parameters["lloq_rule"] == "lloq_half"
    assert set(f.columns) == {
        "assay",
        "analyte",
        "unit",
        "dose_level",
        "visit",
        "stat",
        "value",
    }


def _known_censored_sample() -> tuple[np.ndarray, np.ndarray]:
    """Two observed and two left-censored (at 0) values whose Tobit MLE is mu=0, sd=1.

    At mu = 0, sd = 1 the censored z = 0, so phi(0)/Phi(0) = 2*phi(0) = sqrt(2/pi):
    score(mu) = sum(y_obs) - 2 * sqrt(2/pi) = 0 and
    score(log sd) = sum(y_obs^2) - 2 = 0.
    Hence y1 + y2 = s = 2 sqrt(2/pi) and y1 * y2 = p = (s^2 - 2) / 2.
    """
    s = 2 * math.sqrt(2 / math.pi)
    p = (s**2 - 2) / 2
    root = math.sqrt(s**2 - 4 * p)
    y = np.array([(s + root) / 2, (s - root) / 2, 0.0, 0.0])
    return y, np.array([False, False, True, True])


def test_tobit_known_case() -> None:
    y, cens = _known_censored_sample()
    fit = estimate_censored_normal(y, cens)
    assert fit.mean == pytest.approx(0.0, abs=1e-7)
    assert fit.sd == pytest.approx(1.0, abs=1e-7)
    assert fit.n_censored == 2

    # independent standard error: finite-difference Hessian of an independently
    # written negative log-likelihood in (mu, log sd)
    def nll(mu: float, lsd: float) -> float:
        sd = math.exp(lsd)
        return -(
            stats.norm.logpdf(y[:2], mu, sd).sum() + 2 * stats.norm.logcdf(-mu / sd)
        )

    h = 1e-4
    h11 = (nll(h, 0) - 2 * nll(0, 0) + nll(-h, 0)) / h**2
    h22 = (nll(0, h) - 2 * nll(0, 0) + nll(0, -h)) / h**2
    h12 = (nll(h, h) - nll(h, -h) - nll(-h, h) + nll(-h, -h)) / (4 * h**2)
    cov = np.linalg.inv(np.array([[h11, h12], [h12, h22]]))
    assert fit.se_mean == pytest.approx(math.sqrt(cov[0, 0]), rel=1e-5)
    assert fit.loglik == pytest.approx(-nll(0, 0), rel=1e-10)


def test_tobit_without_censoring_is_ml_mean_and_sd() -> None:
    y = np.array([1.0, 2.0, 4.0, 7.0])
    fit = estimate_censored_normal(y, np.zeros(4, dtype=bool))
    assert fit.mean == pytest.approx(3.5, abs=1e-7)
    # ML SD: sqrt(((-2.5)^2 + (-1.5)^2 + 0.5^2 + 3.5^2) / 4) = sqrt(21/4)
    assert fit.sd == pytest.approx(math.sqrt(21 / 4), rel=1e-7)
    assert fit.se_mean == pytest.approx(math.sqrt(21 / 4) / 2, rel=1e-5)


def test_censored_rule_in_summary_uses_tobit_on_log_scale() -> None:
    y, cens = _known_censored_sample()
    # values on the original scale: exp(y) observed, censored ones below
    # LLOQ = exp(0) = 1
    values = np.where(cens, 0.3, np.exp(y))
    data = _rows(list(values), 1, "V1", lloq=1.0)
    f = summarize_immunomonitoring(
        data, ("dose_level", "visit"), lloq_rule="censored"
    ).to_frame()
    assert _stat(f, 1, "n") == 4
    assert _stat(f, 1, "n_below_lloq") == 2
    # log-scale MLE mu = 0, sd = 1 -> geometric mean 1, log-normal mean exp(1/2)
    assert _stat(f, 1, "mean_log") == pytest.approx(0.0, abs=1e-7)
    assert _stat(f, 1, "sd_log") == pytest.approx(1.0, abs=1e-7)
    assert _stat(f, 1, "geo_mean") == pytest.approx(1.0, abs=1e-7)
    assert _stat(f, 1, "mean") == pytest.approx(math.exp(0.5), rel=1e-6)
    assert _stat(f, 1, "sd") == pytest.approx(
        math.exp(0.5) * math.sqrt(math.e - 1), rel=1e-6
    )
    # quartiles with censored results at the LLOQ (1, 1, exp(y2), exp(y1)): median
    # (1 + exp(y2)) / 2
    assert _stat(f, 1, "median") == pytest.approx((1 + math.exp(y[1])) / 2)
    with pytest.raises(ValueError):
        summarize_immunomonitoring(data, variable="change", lloq_rule="censored")
    # one result above the LLOQ and two below: the censored fit is not estimable and
    # the means are missing rather than silently substituted
    thin = _rows([0.2, 0.3, 5.0], 1, "V1", lloq=1.0)
    g = summarize_immunomonitoring(thin, ("dose_level", "visit"), lloq_rule="censored")
    assert math.isnan(_stat(g.to_frame(), 1, "geo_mean"))
    assert math.isnan(_stat(g.to_frame(), 1, "mean"))
    assert _stat(g.to_frame(), 1, "median") == 1.0  # LLOQ in place of censored


def test_tobit_against_lifelines_lognormal_left_censoring(
    lifelines: ModuleType,
) -> None:
    # Independent reference: lifelines' LogNormalFitter.fit_left_censoring maximises the
    # same likelihood for exp(y) (a normal on the log scale, left-censored at exp(c)).
    LogNormalFitter = lifelines.LogNormalFitter

    rng = np.random.default_rng(11)
    y = rng.normal(1.0, 0.8, 30)
    limit = 0.7
    cens = y < limit
    values = np.where(cens, limit, y)
    fit = estimate_censored_normal(values, cens)
    ref = LogNormalFitter().fit_left_censoring(np.exp(values), event_observed=~cens)
    assert fit.n_censored == int(cens.sum()) == 12
    # lifelines stops its optimiser at about 1e-5 relative, hence rel=1e-4
    assert fit.mean == pytest.approx(ref.mu_, rel=1e-4)
    assert fit.sd == pytest.approx(ref.sigma_, rel=1e-4)
    assert fit.se_mean == pytest.approx(ref.summary.loc["mu_", "se(coef)"], rel=1e-4)


def _changes(variable: str, values: list[float]) -> pd.DataFrame:
    """Rows of derive_change_from_baseline's output: one dose level, one visit."""
    return pd.DataFrame(
        {
            "subject_id": [f"S{i}" for i in range(len(values))],
            "dose_level": 1,
            "visit": "V5",
            "assay": "FLOW CYTOMETRY",
            "analyte": "Treg",
            "unit": "%",
            variable: values,
            "below_lloq": False,
            "lloq_rule": "lloq_half",
        }
    )


@pytest.mark.parametrize("variable", ["change", "pct_change"])
def test_change_has_no_geometric_statistics(
    variable: Literal["change", "pct_change"],
) -> None:
    # Changes -2, 0, 3, 5: n 4, mean 6/4 = 1.5, deviations -3.5, -1.5, 1.5, 3.5 ->
    # SD sqrt((12.25 + 2.25 + 2.25 + 12.25) / 3) = sqrt(29/3); median (0 + 3)/2.
    # Only 3 and 5 have a logarithm: a geometric mean sqrt(15) beside n = 4 would
    # describe two of the four subjects, so there is none.
    res = summarize_immunomonitoring(
        _changes(variable, [-2.0, 0.0, 3.0, 5.0]),
        ("dose_level", "visit"),
        variable=variable,
    )
    f = res.to_frame()
    assert _stat(f, 1, "n") == 4
    assert _stat(f, 1, "mean") == pytest.approx(1.5, rel=1e-12)
    assert _stat(f, 1, "sd") == pytest.approx(math.sqrt(29 / 3), rel=1e-12)
    assert _stat(f, 1, "median") == pytest.approx(1.5, rel=1e-12)
    for stat in ("mean_log", "sd_log", "geo_mean", "geo_mean_lower", "geo_mean_upper"):
        assert math.isnan(_stat(f, 1, stat)), stat
    # the display frame and the stated parameters agree with the long frame
    wide = res.summary()
    assert wide["n"].tolist() == [4.0]
    assert wide["geo_mean"].isna().all()
    assert res.provenance.parameters["geometric_stats"] == (
        f"not computed: {variable} can be <= 0"
    )
    assert len(res.footnotes) == 1
    assert f"not computed for {variable}" in res.footnotes[0]
    assert res.footnotes[0] in res._repr_html_()
    # the same with all changes positive: a change still has no geometric statistics
    positive = summarize_immunomonitoring(
        _changes(variable, [1.0, 4.0]),
        ("dose_level", "visit"),
        variable=variable,
    ).to_frame()
    assert _stat(positive, 1, "n") == 2
    assert math.isnan(_stat(positive, 1, "geo_mean"))


def test_fold_change_has_geometric_statistics_of_all_n() -> None:
    # fold changes 0.5, 2, 4, 1: geometric mean (0.5 * 2 * 4 * 1)^(1/4) = 4^(1/4)
    # = sqrt(2); logs ln2 * (-1, 1, 2, 0): mean ln2 / 2, SD ln2 * sqrt(5/3)
    # (deviations -1.5, 0.5, 1.5, -0.5 in units of ln2: (2.25+0.25+2.25+0.25)/3)
    res = summarize_immunomonitoring(
        _changes("fold_change", [0.5, 2.0, 4.0, 1.0]),
        ("dose_level", "visit"),
        variable="fold_change",
    )
    f = res.to_frame()
    assert _stat(f, 1, "n") == 4
    assert _stat(f, 1, "geo_mean") == pytest.approx(math.sqrt(2), rel=1e-12)
    assert _stat(f, 1, "mean_log") == pytest.approx(math.log(2) / 2, rel=1e-12)
    assert _stat(f, 1, "sd_log") == pytest.approx(
        math.log(2) * math.sqrt(5 / 3), rel=1e-12
    )
    # t interval with n - 1 = 3 degrees of freedom: qt(0.975, 3) in R
    half = 3.182446305284263 * math.log(2) * math.sqrt(5 / 3) / 2
    assert _stat(f, 1, "geo_mean_lower") == pytest.approx(
        math.sqrt(2) * math.exp(-half), rel=1e-9
    )
    assert res.provenance.parameters["geometric_stats"] == (
        "all n values, missing for a group with a value <= 0"
    )


def test_value_group_with_zero_has_no_geometric_statistics() -> None:
    # No LLOQ, so a result of 0 stays 0. Dose 1: 0, 2, 8 -> n 3, mean 10/3; the
    # geometric mean of 2 and 8 (4) would describe 2 of the 3 results: missing.
    # Dose 2: 2, 8 -> geometric mean 4 of its n = 2.
    data = pd.concat([_rows([0.0, 2.0, 8.0], 1, "V1"), _rows([2.0, 8.0], 2, "V1")])
    data["lloq"] = np.nan
    f = summarize_immunomonitoring(data, ("dose_level", "visit")).to_frame()
    assert _stat(f, 1, "n") == 3
    assert _stat(f, 1, "mean") == pytest.approx(10 / 3, rel=1e-12)
    assert math.isnan(_stat(f, 1, "geo_mean"))
    assert math.isnan(_stat(f, 1, "sd_log"))
    assert _stat(f, 2, "n") == 2
    assert _stat(f, 2, "geo_mean") == pytest.approx(4.0, rel=1e-12)


def test_categorical_groups_give_only_the_combinations_with_data() -> None:
    # ADSL's group column is categorical: a group without results at a visit is no
    # row of n = 0, and every row describes its own values
    data = pd.concat([_rows([1.0, 3.0], 1, "V1"), _rows([5.0], 2, "V2")])
    data["dose_level"] = pd.Categorical(data["dose_level"], categories=[1, 2, 3])
    summary = summarize_immunomonitoring(data, ("dose_level", "visit")).summary()
    assert len(summary) == 2
    assert summary["n"].tolist() == [2, 1]
