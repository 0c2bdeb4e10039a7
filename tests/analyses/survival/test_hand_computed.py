"""Hand-computed tiny cases and external cross-checks (lifelines where it agrees)."""

from __future__ import annotations

import itertools
import math
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from analyses.survival import (
    ConvergenceWarning,
    SmallSampleWarning,
    compare_survival,
    estimate_cox,
    estimate_kaplan_meier,
    estimate_rmst,
)
from analyses.survival.permutation import logrank_scores

Z975 = 1.959963984540054  # qnorm(0.975)
#: R's survival::lung, status 0/1 (R's status - 1), as lifelines ships it
LUNG = Path(__file__).resolve().parents[1] / "reference" / "lung.csv"

# times 1, 2, 2+, 3, 4+ (+ = censored)
TINY = pd.DataFrame({"AVAL": [1.0, 2, 2, 3, 4], "CNSR": [0, 0, 1, 0, 1]})


def test_km_tiny_by_hand() -> None:
    km = estimate_kaplan_meier(TINY, conf_type="plain")
    table = km.tables["all"].set_index("time")
    # t=1: n=5, d=1 -> S = 4/5 = 0.8; V = 1/(5*4) = 0.05
    # t=2: n=4, d=1, c=1 -> S = 0.8 * 3/4 = 0.6; V += 1/(4*3) -> 0.1333...
    # t=3: n=2, d=1 -> S = 0.6 * 1/2 = 0.3; V += 1/(2*1) -> 0.6333...
    # t=4: n=1, censored -> S = 0.3
    assert table["n_risk"].tolist() == [5, 4, 2, 1]
    assert table["surv"].tolist() == pytest.approx([0.8, 0.6, 0.3, 0.3], abs=1e-15)
    v3 = 1 / 20 + 1 / 12 + 1 / 2
    se3 = 0.3 * math.sqrt(v3)
    assert table.loc[3.0, "std_err"] == pytest.approx(se3, rel=1e-12)
    # plain CI: S -/+ z SE, truncated to [0, 1]: 0.3 - 1.96 * 0.2387 < 0 -> 0
    assert table.loc[3.0, "lower"] == 0.0
    assert table.loc[3.0, "upper"] == pytest.approx(0.3 + Z975 * se3, rel=1e-12)
    # log CI at t=2: S exp(-/+ z sqrt(V)), V = 0.1333...
    log = estimate_kaplan_meier(TINY, conf_type="log").tables["all"].set_index("time")
    v2 = 1 / 20 + 1 / 12
    assert log.loc[2.0, "lower"] == pytest.approx(0.6 * math.exp(-Z975 * math.sqrt(v2)))
    # upper limit 0.6 * exp(1.96 * 0.365) = 1.227, capped at 1 as R does
    assert 0.6 * math.exp(Z975 * math.sqrt(v2)) > 1
    assert log.loc[2.0, "upper"] == 1.0
    # median: S first below 0.5 at t = 3
    med = km.median()
    assert med["median"].iloc[0] == 3.0
    # landmark at t = 2.5: S = 0.6; n at risk = #time >= 2.5 = 2; events in (0, 2.5] = 2
    at = km.survival_at([2.5])
    assert (at["surv"].iloc[0], at["n_risk"].iloc[0], at["n_event"].iloc[0]) == (
        pytest.approx(0.6),
        2,
        2,
    )
    assert at["conf_type"].iloc[0] == "plain"


def test_rmst_tiny_by_hand() -> None:
    # area under S to tau = 3.5: 1*1 + 0.8*1 + 0.6*1 + 0.3*0.5 = 2.55
    # variance: sum over event times t_j <= tau of A_j^2 d/(n(n-d)), A_j = area from t_j
    # A(1) = 0.8 + 0.6 + 0.15 = 1.55; A(2) = 0.6 + 0.15 = 0.75; A(3) = 0.15
    # var = 1.55^2/20 + 0.75^2/12 + 0.15^2/2 = 0.1201250 + 0.046875 + 0.01125
    res = estimate_rmst(TINY, tau=3.5)
    est = res.estimates.iloc[0]
    assert est["rmst"] == pytest.approx(2.55, rel=1e-12)
    var = 1.55**2 / 20 + 0.75**2 / 12 + 0.15**2 / 2
    assert est["se"] == pytest.approx(math.sqrt(var), rel=1e-12)


def test_fleming_harrington_gamma_by_hand() -> None:
    # A: events at 1, 3; B: events at 2, 4. Pooled S(t-) = 1, .75, .5, .25
    # FH(0, 1): w = 1 - S(t-) = 0, .25, .5, .75
    # O-E for A: t=2: .25 * (0 - 1/3) = -1/12; t=3: .5 * (1 - 1/2) = 1/4 -> 1/6
    # V: t=2: w^2 d(n-d)/(n(n-1)) * nA(1 - nA/n) = (1/16)(2/6)(2/3) = 1/72
    #    t=3: (1/4)(1/2)(1/2) = 1/16 -> V = 11/144; chi2 = (1/6)^2 / (11/144) = 4/11
    data = pd.DataFrame(
        {"AVAL": [1.0, 3, 2, 4], "CNSR": [0, 0, 0, 0], "arm": ["A", "A", "B", "B"]}
    )
    res = compare_survival(
        data, "arm", weights="fleming-harrington", rho=0, gamma=1, min_events=0
    )
    assert res.observed[0] - res.expected[0] == pytest.approx(1 / 6, rel=1e-12)
    assert res.variance[0][0] == pytest.approx(11 / 144, rel=1e-12)
    assert res.chisq == pytest.approx(4 / 11, rel=1e-12)
    assert res.df == 1
    assert "gamma=1" in res.describe()


def test_the_shipped_lung_data_is_lifelines_copy(lifelines: ModuleType) -> None:
    from lifelines.datasets import load_lung

    pd.testing.assert_frame_equal(pd.read_csv(LUNG), load_lung())


def test_k_group_logrank_matches_lifelines(lifelines: ModuleType) -> None:
    """lifelines' multivariate log-rank agrees with R survdiff (survival.md)."""
    from lifelines.statistics import multivariate_logrank_test

    lung = pd.read_csv(LUNG).dropna(subset=["ph.ecog"])
    ours = compare_survival(
        lung, "ph.ecog", time="time", event="status", cnsr=None, min_events=0
    )
    ref = multivariate_logrank_test(lung["time"], lung["ph.ecog"], lung["status"])
    assert ours.df == 3
    assert ours.chisq == pytest.approx(ref.test_statistic, rel=1e-9)
    assert ours.p_value == pytest.approx(ref.p_value, rel=1e-9)


def test_k_group_logrank_equals_exact_cox_score_test() -> None:
    # identity: the score test of the exact partial likelihood at beta = 0 is the
    # k-group log-rank statistic (same O - E, same hypergeometric variance)
    lung = pd.read_csv(LUNG).dropna(subset=["ph.ecog"]).head(60)
    lung = lung.assign(grp=lung["ph.ecog"].astype(int).astype(str))
    lr = compare_survival(lung, "grp", time="time", event="status", cnsr=None)
    cox = estimate_cox(
        lung, ["grp"], time="time", event="status", cnsr=None, ties="exact"
    )
    assert cox.score_test == pytest.approx(lr.chisq, rel=1e-9)


TINY2 = pd.DataFrame(
    {
        "AVAL": [2.0, 3, 3, 5, 6, 7, 9, 11],
        "CNSR": [0, 0, 1, 0, 0, 1, 0, 1],
        "arm": ["A", "B", "A", "A", "B", "A", "B", "B"],
    }
)


def test_exact_permutation_equals_full_enumeration() -> None:
    # all C(8, 4) = 70 label assignments enumerated by brute force
    t = TINY2["AVAL"].to_numpy()
    e = TINY2["CNSR"].to_numpy() == 0
    a = logrank_scores(t, e)
    first = (TINY2["arm"] == "A").to_numpy()
    mu = 4 * a.mean()
    obs = abs(a[first].sum() - mu)
    stats = [abs(a[list(c)].sum() - mu) for c in itertools.combinations(range(8), 4)]
    p_brute = sum(s >= obs - 1e-9 for s in stats) / len(stats)
    res = compare_survival(TINY2, "arm", method="exact", min_events=0)
    assert res.p_value == pytest.approx(p_brute, abs=1e-12)
    assert res.method == "exact"


def test_monte_carlo_is_seeded_and_reproducible() -> None:
    kw = {"method": "monte-carlo", "n_resamples": 20_000, "min_events": 0}
    a = compare_survival(TINY2, "arm", seed=7, **kw)  # type: ignore[arg-type]
    b = compare_survival(TINY2, "arm", seed=7, **kw)  # type: ignore[arg-type]
    assert a.p_value == b.p_value
    exact = compare_survival(TINY2, "arm", method="exact", min_events=0)
    # 20 000 resamples: binomial SE <= 0.0036; 5 SE
    assert abs(a.p_value - exact.p_value) < 0.018
    assert a.provenance.parameters["seed"] == 7


def test_few_events_warning_and_flag() -> None:
    with pytest.warns(SmallSampleWarning, match="min_events=10"):
        res = compare_survival(TINY2, "arm")
    assert res.few_events
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = compare_survival(TINY2, "arm", min_events=5)
    assert not quiet.few_events
    with pytest.warns(SmallSampleWarning):
        cox = estimate_cox(TINY2, ["arm"])
    assert cox.few_events and cox.min_events == 10


def test_permutation_refuses_strata_and_k_groups() -> None:
    data = TINY2.assign(s=[1, 1, 1, 1, 2, 2, 2, 2])
    with pytest.raises(ValueError, match="two groups, no strata"):
        compare_survival(data, "arm", strata="s", method="exact", min_events=0)


def test_multi_parameter_frame_needs_paramcd() -> None:
    two = pd.concat([TINY.assign(PARAMCD="PFS"), TINY.assign(PARAMCD="OS")])
    with pytest.raises(ValueError, match="paramcd"):
        estimate_kaplan_meier(two)
    km = estimate_kaplan_meier(two, paramcd="OS")
    assert km.median()["n"].iloc[0] == 5
    assert km.provenance.parameters["paramcd"] == "OS"


def test_km_ard_is_long_and_consistent() -> None:
    km = estimate_kaplan_meier(TINY)
    ard = km.to_frame()
    assert list(ard.columns) == ["group", "time", "stat", "value"]
    med = ard[(ard["stat"] == "median")]["value"].iloc[0]
    assert med == km.median()["median"].iloc[0] == 3.0
    surv = ard[(ard["stat"] == "surv")].set_index("time")["value"]
    assert surv.loc[2.0] == pytest.approx(0.6)
    assert np.isnan(ard[ard["stat"] == "n"]["time"].iloc[0])


def test_inputs_not_mutated() -> None:
    before = TINY2.copy()
    estimate_kaplan_meier(TINY2, "arm")
    compare_survival(TINY2, "arm", min_events=0)
    estimate_rmst(TINY2, "arm", tau=5)
    pd.testing.assert_frame_equal(TINY2, before)


def test_summaries_and_html_state_conventions() -> None:
    km = estimate_kaplan_meier(TINY2, "arm", conf_type="log-log")
    summ = km.summary()
    assert summ["conf_type"].tolist() == ["log-log", "log-log"]
    assert {"median", "lower", "upper", "q25", "q75", "rule"} <= set(summ.columns)
    lr = compare_survival(TINY2, "arm", min_events=0)
    assert lr.summary()["chisq"].iloc[0] == lr.chisq
    assert "logrank (rho=0, gamma=0)" in lr.summary()["test"].iloc[0]
    cox = estimate_cox(TINY2, ["arm"], ties="breslow", min_events=0)
    assert cox.summary()["ties"].iloc[0] == "breslow"
    rm = estimate_rmst(TINY2, "arm", tau=6)
    assert rm.summary()["difference_diff"].notna().sum() == 1
    for res in (km, lr, cox, rm):
        html = res._repr_html_()
        assert "<table" in html and res.provenance.analysis in html


def test_cox_monotone_likelihood_warns_like_r() -> None:
    # all events in arm A, none in B: the MLE is -infinity (R: "Loglik converged
    # before variable 1; coefficient may be infinite")
    data = pd.DataFrame(
        {
            "AVAL": [1.0, 2, 3, 4, 5, 6],
            "CNSR": [0, 0, 0, 1, 1, 1],
            "arm": list("AAABBB"),
        }
    )
    with pytest.warns(ConvergenceWarning, match="may be infinite"):
        res = estimate_cox(data, ["arm"], min_events=0)
    assert not res.converged
    assert res.coef[0] < -15
    # log-likelihood tends to -log(3!) = -log 6: risk sets {A,A,A,B,B,B}, {A,A,B,B,B},
    # {A,B,B,B} each contribute log(1/3), log(1/2), log(1/1) as beta -> -inf
    assert res.loglik_model == pytest.approx(-math.log(6), abs=1e-9)


def test_cox_constant_covariate_is_an_error() -> None:
    data = TINY2.assign(c=1.0)
    with pytest.raises(ValueError, match="singular"):
        estimate_cox(data, ["c"], min_events=0)


def test_concordance_equals_pairwise_definition() -> None:
    from analyses.survival.cox import concordance

    rng = np.random.default_rng(3)
    t = rng.integers(1, 15, 60).astype(float)  # many tied times
    e = rng.random(60) < 0.6
    r = rng.integers(0, 5, 60).astype(float)  # many tied risks
    conc = disc = tied = 0
    for i in range(60):
        for j in range(60):
            if e[i] and (t[i] < t[j] or (t[i] == t[j] and not e[j])):
                conc += r[i] > r[j]
                disc += r[i] < r[j]
                tied += r[i] == r[j]
    expected = (conc + tied / 2) / (conc + disc + tied)
    assert concordance(t, e, r) == pytest.approx(expected, rel=1e-15)


def test_trend_test_equals_exact_cox_score_with_numeric_dose() -> None:
    # identity: with scores s_g, the exact-partial-likelihood score test of the
    # numeric covariate s at beta = 0 is (s'(O - E))^2 / s'Vs, the log-rank trend test
    lung = pd.read_csv(LUNG).dropna(subset=["ph.ecog"]).head(80)
    lr = compare_survival(
        lung, "ph.ecog", time="time", event="status", cnsr=None, trend=True
    )
    cox = estimate_cox(
        lung, ["ph.ecog"], time="time", event="status", cnsr=None, ties="exact"
    )
    assert lr.trend_scores == (0.0, 1.0, 2.0, 3.0)
    assert lr.trend_chisq == pytest.approx(cox.score_test, rel=1e-9)
    # two groups: the trend test is the log-rank test itself
    two = compare_survival(TINY2, "arm", trend=[1.0, 2.0], min_events=0)
    assert two.trend_chisq == pytest.approx(two.chisq, rel=1e-12)


def test_exact_refuses_a_too_large_distribution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from analyses.survival import permutation

    monkeypatch.setattr(permutation, "MAX_SUPPORT", 5)
    with pytest.raises(permutation.ExactTooLargeError, match="monte-carlo"):
        compare_survival(TINY2, "arm", method="exact", min_events=0)


def test_cox_categorical_dose_with_reference() -> None:
    # aml coded as a numeric arm 1/2: as a factor with reference 2 the HR of arm 1 is
    # 1 / HR(Nonmaintained vs Maintained) of R coxph (aml_cox_efron: 2.49810532617214)
    aml = pd.DataFrame(
        {
            "AVAL": [
                9.0,
                13,
                13,
                18,
                23,
                28,
                31,
                34,
                45,
                48,
                161,
                5,
                5,
                8,
                8,
                12,
                16,
                23,
                27,
                30,
                33,
                43,
                45,
            ],
            "CNSR": [
                0,
                0,
                1,
                0,
                0,
                1,
                0,
                0,
                1,
                0,
                1,
                0,
                0,
                0,
                0,
                0,
                1,
                0,
                0,
                0,
                0,
                0,
                0,
            ],
            "arm": [1] * 11 + [2] * 12,
        }
    )
    res = estimate_cox(aml, ["arm"], categorical=["arm"], reference={"arm": 2})
    table = res.table()
    assert table["term"].tolist() == ["arm1"]
    assert table["hr"].iloc[0] == pytest.approx(1 / 2.49810532617214, rel=1e-8)
    trend = estimate_cox(aml, ["arm"])
    assert trend.table()["hr"].iloc[0] == pytest.approx(2.49810532617214, rel=1e-8)
    with pytest.raises(ValueError, match="reference 3"):
        estimate_cox(aml, ["arm"], reference={"arm": 3})


def test_crossed_grouping_columns() -> None:
    data = pd.DataFrame(
        {
            "AVAL": [1.0, 2, 3, 4, 5, 6, 7, 8],
            "CNSR": [0, 1, 0, 0, 1, 0, 0, 1],
            "route": ["IV", "IV", "IV", "IV", "ID", "ID", "ID", "ID"],
            "dose": [2, 2, 10, 10, 2, 2, 10, 10],
        }
    )
    before = data.copy()
    km = estimate_kaplan_meier(data, ["route", "dose"])
    # value tuples sorted: (ID, 2) < (ID, 10) < (IV, 2) < (IV, 10)
    assert km.groups == ["ID / 2", "ID / 10", "IV / 2", "IV / 10"]
    assert km.group_column == "route / dose"
    # IV / 2: times 1 (event), 2+ -> S = 1/2 after t = 1
    assert km.tables["IV / 2"]["surv"].tolist() == [0.5, 0.5]
    lr = compare_survival(data, ["route", "dose"], min_events=0)
    assert lr.df == 3 and lr.by == "route / dose"
    assert lr.provenance.parameters["by"] == ["route", "dose"]
    pd.testing.assert_frame_equal(data, before)


def test_ards_of_logrank_cox_rmst() -> None:
    lr = compare_survival(TINY2, "arm", min_events=0)
    ard = lr.to_frame()
    assert list(ard.columns) == ["arm", "stat", "value"]
    overall = ard[ard["arm"].isna()].set_index("stat")["value"]
    assert overall["chisq"] == lr.chisq and overall["p_value"] == lr.p_value
    cox = estimate_cox(TINY2, ["arm"], min_events=0)
    cf = cox.to_frame()
    assert (
        cf[(cf["term"] == "armB") & (cf["stat"] == "coef")]["value"].iloc[0]
        == (cox.coef[0])
    )
    assert cf[cf["stat"] == "concordance"]["value"].iloc[0] == cox.concordance
    rm = estimate_rmst(TINY2, "arm", tau=6)
    rf = rm.to_frame()
    # A: 2, 3+, 5, 7+ -> area to 6 = 2 + 0.75 * 3 + 0.375 * 1 = 4.625
    diff = rf[(rf["contrast"] == "B - A") & (rf["stat"] == "difference")]["value"]
    a = rf[(rf["arm"] == "A") & (rf["stat"] == "rmst")]["value"].iloc[0]
    assert a == pytest.approx(4.625, rel=1e-12)
    # B: 3, 6, 9, 11+ -> 3 + 0.75 * 3 = 5.25; difference 0.625
    assert diff.iloc[0] == pytest.approx(5.25 - 4.625, rel=1e-12)
