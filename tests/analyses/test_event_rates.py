"""Event-rate regression (NB2, Poisson, log exposure offset) against R.

Reference: ``tests/analyses/reference/event_rates.json``, written by
``event_rates.R`` beside it (R 4.2.2, MASS 7.3-58.2, emmeans 1.8.4-1; datasets
inline): ``MASS::glm.nb`` and ``glm(family = poisson)`` with ``offset(log(years))``
and ``glm.control(epsilon = 1e-12)``, ``exp(coef)`` with ``confint.default``, and
``emmeans(fit, ~ group, offset = 0, type = "response")``.

Tolerance: 1e-6 relative (``atol`` 1e-12) on every number; both sides are the maximum
likelihood to ~1e-9 (observed agreement 1e-8 or better). One exception, and why:
glm.nb's ``SE.theta`` comes from MASS::theta.ml's information one Newton step
(|step| < eps^0.25 = 1.2e-4) before its final theta, so it is ~1e-4 off the
information at the estimate; the package's SE is held to 1e-6 against the same
formula evaluated by R at the final estimate (``se_theta_at_estimate``) and to 1e-3
against ``SE.theta``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import trialdata as td
from analyses.datasets import attach_subject_columns
from analyses.mri import (
    estimate_event_rates,
    estimate_lesion_rate_ratio,
    summarize_new_lesions,
)
from trialdata.demo import write_trial

REFERENCE = Path(__file__).resolve().parent / "reference" / "event_rates.json"
CASES = {c["id"]: c for c in json.loads(REFERENCE.read_text())["cases"]}
RTOL = 1e-6


def _data(case: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(case["inputs"]["data"])


def _fit(case: dict[str, Any], model: str, data: pd.DataFrame | None = None) -> Any:
    inp = case["inputs"]
    return estimate_event_rates(
        _data(case) if data is None else data,
        count="count",
        exposure="years",
        group="group",
        covariates=inp["covariates"],
        group_order=inp["group_levels"],
        model=model,  # type: ignore[arg-type]
    )


def _close(actual: Any, expected: Any, what: str, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float),
        np.asarray(expected, dtype=float),
        rtol=rtol,
        atol=1e-12,
        err_msg=what,
    )


def _check_model(res: Any, exp: dict[str, Any], label: str) -> None:
    coefs = pd.DataFrame(exp["coefficients"])
    assert res.coefficients["term"].tolist() == coefs["term"].tolist()
    for col in ("estimate", "se", "z", "p_value", "rate_ratio", "lower", "upper"):
        _close(res.coefficients[col], coefs[col], f"{label} {col}")
    _close(res.covariance.to_numpy(), exp["vcov"], f"{label} vcov")
    for ours, theirs in (
        ("loglik", "loglik"),
        ("aic", "aic"),
        ("deviance", "deviance"),
    ):
        _close(getattr(res, ours), exp[theirs], f"{label} {ours}")
    assert res.df_residual == exp["df_residual"]
    _close(res.pearson_dispersion * res.df_residual, exp["pearson_chi2"], "pearson")
    rates = pd.DataFrame(exp["rates"])
    value = "response" if "response" in rates else "rate"
    assert res.rates[res.rates.columns[0]].tolist() == rates["group"].tolist()
    _close(res.rates["rate"], rates[value], f"{label} emmeans rate")
    _close(res.rates["se"], rates["SE"], f"{label} emmeans SE")
    _close(res.rates["lower"], rates["asymp.LCL"], f"{label} emmeans lower")
    _close(res.rates["upper"], rates["asymp.UCL"], f"{label} emmeans upper")
    # the rate ratios are the group coefficients, exponentiated
    for row in res.rate_ratios.itertuples():
        term = coefs.set_index("term").loc[f"group{row.group}"]
        _close(row.rate_ratio, term["rate_ratio"], "rate ratio")
        _close([row.lower, row.upper], [term["lower"], term["upper"]], "RR CI")
        _close(row.p_value, term["p_value"], "RR p")


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_poisson_equals_glm(case_id: str) -> None:
    case = CASES[case_id]
    res = _fit(case, "poisson")
    assert res.converged and np.isinf(res.theta) and res.alpha == 0
    _check_model(res, case["expected"]["poisson"], f"{case_id} poisson")


@pytest.mark.parametrize(
    "case_id", [c for c in sorted(CASES) if "nb2" in CASES[c]["expected"]]
)
def test_nb2_equals_glm_nb(case_id: str) -> None:
    case = CASES[case_id]
    exp = case["expected"]["nb2"]
    res = _fit(case, "nb2")
    assert res.converged and not res.poisson_limit and not res.note
    _check_model(res, exp, f"{case_id} nb2")
    _close(res.theta, exp["theta"], "theta")
    _close(res.alpha, 1 / exp["theta"], "alpha")
    _close(res.se_theta, exp["se_theta_at_estimate"], "SE(theta) at the estimate")
    _close(res.se_theta, exp["se_theta"], "glm.nb SE.theta", rtol=1e-3)


def test_not_overdispersed_counts_give_the_poisson_limit() -> None:
    """R glm.nb runs theta off to infinity here; NB2 reduces to the Poisson fit."""
    case = CASES["underdispersed_poisson_limit"]
    res = _fit(case, "nb2")
    assert res.converged and res.poisson_limit
    assert np.isinf(res.theta) and res.alpha == 0 and np.isnan(res.se_theta)
    assert "reduces to Poisson" in res.note and "reduces to Poisson" in res.describe()
    _check_model(res, case["expected"]["poisson"], "poisson limit")


def test_observed_information_reproduces_the_lesion_rate_ratio() -> None:
    """Without covariates, ``information="observed"`` is statsmodels' NB2 fit."""
    case = CASES["lesions_3arm_group_only"]
    data = _data(case)
    old = estimate_lesion_rate_ratio(
        data, by="group", count="count", exposure="years", reference="DL1"
    )
    new = estimate_event_rates(
        data,
        count="count",
        exposure="years",
        group="group",
        group_order=["DL1", "DL2", "DL3"],
        information="observed",
    )
    old_t = old.to_frame().pivot_table(index="group", columns="stat", values="value")
    ratios = new.rate_ratios.set_index("group")
    for g in ("DL2", "DL3"):
        for col in ("rate_ratio", "lower", "upper", "p_value"):
            assert ratios.loc[g, col] == pytest.approx(old_t.loc[g, col], rel=1e-6)
    assert new.alpha == pytest.approx(old.alpha, rel=1e-6)
    # the expected information (R's glm.nb) gives other SEs, the same estimates
    expected = _fit(case, "nb2")
    np.testing.assert_allclose(
        expected.rate_ratios["rate_ratio"], new.rate_ratios["rate_ratio"], rtol=1e-10
    )
    assert not np.allclose(expected.rate_ratios["se"], new.rate_ratios["se"])


def test_groups_without_events() -> None:
    case = CASES["lesions_3arm"]
    data = _data(case)
    none_dl3 = data.assign(count=np.where(data["group"] == "DL3", 0, data["count"]))
    res = _fit(case, "nb2", none_dl3)
    assert res.converged and "No events in group ['DL3']" in res.note
    dl3 = res.rate_ratios.set_index("group").loc["DL3"]
    assert dl3["rate_ratio"] == 0.0
    assert np.isnan(dl3[["lower", "upper", "p_value"]].astype(float)).all()
    rates = res.rates.set_index("group")
    assert rates.loc["DL3", "rate"] == 0.0 and rates.loc["DL3", "events"] == 0
    # the other groups are the fit without DL3's rows
    alone = _fit(case, "nb2", none_dl3.loc[none_dl3["group"] != "DL3"])
    assert res.rate_ratios.iloc[0]["rate_ratio"] == pytest.approx(
        alone.rate_ratios.iloc[0]["rate_ratio"], rel=1e-12
    )
    # a reference without events: the others' ratios are infinite
    none_dl1 = data.assign(count=np.where(data["group"] == "DL1", 0, data["count"]))
    res = _fit(case, "poisson", none_dl1)
    assert np.isinf(res.rate_ratios["rate_ratio"]).all()
    assert res.rates.set_index("group").loc["DL1", "rate"] == 0.0


def test_a_fit_that_cannot_converge_says_so() -> None:
    case = CASES["relapses_2arm_covariates"]
    data = _data(case)
    # every male subject has no event: the sex coefficient runs to -infinity
    sep = data.assign(count=np.where(data["sex"] == "M", 0, data["count"]))
    res = _fit(case, "poisson", sep)
    assert not res.converged and "did not converge" in res.note
    assert res.coefficients["estimate"].isna().all()
    assert res.rate_ratios["rate_ratio"].isna().all()


def test_row_order_and_ulp_noise_do_not_change_the_answer() -> None:
    case = CASES["relapses_2arm_covariates"]
    base = _fit(case, "nb2")
    data = _data(case)
    rng = np.random.default_rng(11)
    moved = data.iloc[rng.permutation(len(data))].assign(
        years=lambda d: np.nextafter(d["years"].to_numpy(), np.inf),
        edss=lambda d: np.nextafter(d["edss"].to_numpy(), -np.inf),
    )
    res = _fit(case, "nb2", moved)
    assert res.theta == pytest.approx(base.theta, rel=1e-10)
    for col in ("estimate", "se", "p_value"):
        np.testing.assert_allclose(
            res.coefficients[col], base.coefficients[col], rtol=1e-10
        )


_KERNEL_SCRIPT = """
import json, sys
import pandas as pd
from analyses.mri import estimate_event_rates
inp = json.loads(sys.stdin.read())
out = {}
for model in ("nb2", "poisson"):
    res = estimate_event_rates(pd.DataFrame(inp["data"]), count="count", exposure="years",
                               group="group", covariates=inp["covariates"],
                               group_order=inp["group_levels"], model=model)
    out[model] = {"coef": res.coefficients["estimate"].tolist(),
                  "se": res.coefficients["se"].tolist(), "theta": res.theta,
                  "rates": res.rates["rate"].tolist()}
print(json.dumps(out))
"""


def test_same_with_every_blas_kernel_and_thread_count(
    blas_variants: Callable[[str, str], list[tuple[dict[str, str], str]]],
) -> None:
    inputs = CASES["relapses_2arm_covariates"]["inputs"]
    runs = blas_variants(_KERNEL_SCRIPT, json.dumps(inputs))
    first = json.loads(runs[0][1])
    for env, text in runs[1:]:
        other = json.loads(text)
        for model in ("nb2", "poisson"):
            for key in ("coef", "se", "rates"):
                np.testing.assert_allclose(
                    other[model][key], first[model][key], rtol=1e-10, err_msg=env
                )
        assert other["nb2"]["theta"] == pytest.approx(first["nb2"]["theta"], rel=1e-10)


def test_result_object_and_conventions() -> None:
    res = _fit(CASES["relapses_2arm_covariates"], "nb2")
    text = res.describe()
    assert "NB2" in text and "expected information" in text and "Wald" in text
    params = res.provenance.parameters
    assert params["offset"] == "log(years)" and params["information"] == "expected"
    assert set(res.to_frame()["kind"]) == {"rate", "rate_ratio", "coefficient", "model"}
    summary = res.summary()
    assert summary["group"].tolist() == ["Placebo", "Active"]
    assert np.isnan(summary.loc[0, "rate_ratio"])
    with pytest.raises(ValueError, match="model"):
        _fit(CASES["relapses_2arm_covariates"], "zip")


def test_on_the_ms_demo_trial(tmp_path: Path) -> None:
    """New T2 lesions and relapses of the tolDC-ms demo by route, from ADSL."""
    folder = write_trial(tmp_path / "ms-trial", "tolDC-ms", seed=3).folder
    data = td.Trial.load(folder).analysis_data()
    mri = attach_subject_columns(data.tables["mri"], data.adsl)
    lesions = summarize_new_lesions(mri.loc[mri["safety"]], by="route").subjects
    res = estimate_event_rates(
        lesions, count="new_t2", exposure="follow_up_years", group="route"
    )
    old = estimate_lesion_rate_ratio(lesions, by="route", count="new_t2")
    obs = estimate_event_rates(
        lesions,
        count="new_t2",
        exposure="follow_up_years",
        group="route",
        information="observed",
    )
    ratio = old.to_frame().query("stat == 'rate_ratio'")["value"].item()
    assert res.rate_ratios["rate_ratio"].item() == pytest.approx(ratio, rel=1e-6)
    assert obs.rate_ratios["upper"].item() == pytest.approx(
        old.to_frame().query("stat == 'upper'")["value"].item(), rel=1e-6
    )
    # relapses after the first dose per subject, over the follow-up assessed
    da = attach_subject_columns(data.tables["disease_assessments"], data.adsl)
    da = da.loc[da["safety"] & (da["assessment_date"] > da["first_dose_date"])]
    per = da.groupby(["subject_id", "route"], observed=True).agg(
        relapses=("relapse", "sum"),
        last=("assessment_date", "max"),
        first_dose=("first_dose_date", "first"),
    )
    per = per.reset_index()
    per["years"] = (per["last"] - per["first_dose"]).dt.days / 365.25
    rel = estimate_event_rates(per, count="relapses", exposure="years", group="route")
    assert rel.converged
    total = rel.rates["events"].sum()
    assert total == int(da["relapse"].sum())
