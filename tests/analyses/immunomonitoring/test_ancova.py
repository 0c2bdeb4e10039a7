"""ANCOVA with LS means and pairwise differences against R ``lm`` + ``emmeans``.

Reference: ``tests/analyses/reference/change_from_baseline.json``, written by
``change_from_baseline.R`` beside it (R 4.2.2, emmeans 1.8.4-1; the datasets are
inline in the JSON). Tolerance: 1e-6 relative (``atol`` 1e-12) on every number. The
fit is closed form (least squares), so the agreement is ~1e-14 except for Tukey
p-values and limits, where scipy's studentized range and R's ``ptukey``/``qtukey``
agree to ~1e-8.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import trialdata as td
from analyses.immunomonitoring import estimate_ancova
from trialdata.demo import write_trial

REFERENCE = (
    Path(__file__).resolve().parents[1] / "reference" / "change_from_baseline.json"
)
CASES = {c["id"]: c for c in json.loads(REFERENCE.read_text())["ancova"]}
RTOL = 1e-6
STATS = {
    "estimate": "emmean",
    "se": "SE",
    "df": "df",
    "lower": "lower.CL",
    "upper": "upper.CL",
    "t_ratio": "t.ratio",
    "p_value": "p.value",
}


@pytest.fixture(scope="module")
def ms_analysis_data(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The analysis datasets of the tolDC-ms demo trial (seed 3, as the docs)."""
    folder = write_trial(tmp_path_factory.mktemp("ms") / "ms-trial", "tolDC-ms", seed=3)
    return td.Trial.load(folder.folder).analysis_data()


def _fit(case: dict[str, Any], **kwargs: Any) -> Any:
    inp = case["inputs"]
    return estimate_ancova(
        pd.DataFrame(inp["data"]),
        response="change",
        baseline="baseline",
        group="group",
        covariates=inp["covariates"],
        group_order=inp["group_levels"],
        weights=inp["weights"],
        **kwargs,
    )


def _check(frame: pd.DataFrame, expected: dict[str, list[Any]], label: str) -> None:
    ref = pd.DataFrame(expected)
    for ours, theirs in STATS.items():
        column = theirs if theirs in ref else {"emmean": "estimate"}.get(theirs, theirs)
        np.testing.assert_allclose(
            frame[ours].to_numpy(dtype=float),
            ref[column].to_numpy(dtype=float),
            rtol=RTOL,
            atol=1e-12,
            err_msg=f"{label}: {ours}",
        )


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_lsmeans_and_pairs_equal_emmeans(case_id: str) -> None:
    case = CASES[case_id]
    exp = case["expected"]
    res = _fit(case)
    assert res.lsmeans["group"].tolist() == exp["emmeans"]["group"]
    _check(res.lsmeans, exp["emmeans"], f"{case['r_call']} emmeans")
    assert res.differences["contrast"].tolist() == exp["pairs_tukey"]["contrast"]
    _check(res.differences, exp["pairs_tukey"], "pairs(emm)")
    none = _fit(case, adjust="none")
    _check(none.differences, exp["pairs_none"], "pairs(emm, adjust = 'none')")
    rev = _fit(case, reverse=True)
    assert (
        rev.differences["contrast"].tolist() == (exp["pairs_reverse_tukey"]["contrast"])
    )
    _check(rev.differences, exp["pairs_reverse_tukey"], "pairs(emm, reverse = TRUE)")
    # the model itself: R's coefficient names, values and covariance
    coefs = res.coefficients.set_index("term")["estimate"]
    assert coefs.index.tolist() == exp["coef_names"]
    np.testing.assert_allclose(
        coefs.to_numpy(), [exp["coefficients"][n] for n in exp["coef_names"]], RTOL
    )
    np.testing.assert_allclose(res.covariance.to_numpy(), exp["vcov"], RTOL, 1e-12)
    assert res.sigma == pytest.approx(exp["sigma"], rel=RTOL)
    assert res.df_residual == exp["df_residual"]
    n_missing = sum(v is None for v in case["inputs"]["data"]["change"])
    assert res.n_dropped == n_missing
    assert res.n == len(case["inputs"]["data"]["change"]) - n_missing


def test_lsmeans_are_predictions_at_the_mean_baseline() -> None:
    """Independent check with statsmodels: LS mean = prediction at mean baseline."""
    case = CASES["ancova_2arm"]
    data = pd.DataFrame(case["inputs"]["data"])
    res = _fit(case)
    ols = smf.ols("change ~ baseline + C(group, levels=['Control', 'Active'])", data)
    fit = ols.fit()
    grid = pd.DataFrame(
        {"group": ["Control", "Active"], "baseline": data["baseline"].mean()}
    )
    pred = fit.get_prediction(grid).summary_frame(alpha=0.05)
    np.testing.assert_allclose(res.lsmeans["estimate"], pred["mean"], rtol=1e-10)
    np.testing.assert_allclose(res.lsmeans["se"], pred["mean_se"], rtol=1e-10)
    np.testing.assert_allclose(res.lsmeans["lower"], pred["mean_ci_lower"], rtol=1e-10)
    # the difference of the LS means is the group coefficient
    diff = res.differences.iloc[0]
    beta = fit.params.iloc[1]
    assert diff["estimate"] == pytest.approx(-beta, rel=1e-10)
    assert diff["se"] == pytest.approx(fit.bse.iloc[1], rel=1e-10)
    assert diff["p_value"] == pytest.approx(fit.pvalues.iloc[1], rel=1e-8)


def test_adjustments_relate_as_defined() -> None:
    case = CASES["ancova_3arm_sex_equal"]
    none = _fit(case, adjust="none").differences
    bonf = _fit(case, adjust="bonferroni").differences
    sidak = _fit(case, adjust="sidak").differences
    tukey = _fit(case).differences
    m = len(none)
    np.testing.assert_allclose(bonf["p_value"], np.minimum(1, m * none["p_value"]))
    np.testing.assert_allclose(sidak["p_value"], 1 - (1 - none["p_value"]) ** m)
    # Tukey lies between the unadjusted and the Bonferroni answers
    assert (none["p_value"] <= tukey["p_value"]).all()
    assert (tukey["p_value"] <= bonf["p_value"]).all()
    width = tukey["upper"] - tukey["lower"]
    assert ((none["upper"] - none["lower"]) < width).all()
    assert (width < bonf["upper"] - bonf["lower"]).all()
    with pytest.raises(ValueError, match="adjust"):
        _fit(case, adjust="holm")


def test_row_order_and_ulp_noise_do_not_change_the_answer() -> None:
    case = CASES["ancova_3arm_sex_equal"]
    data = pd.DataFrame(case["inputs"]["data"])
    base = _fit(case)
    rng = np.random.default_rng(3)
    moved = data.iloc[rng.permutation(len(data))].copy()
    moved["baseline"] = np.nextafter(moved["baseline"].to_numpy(), np.inf)
    res = estimate_ancova(
        moved,
        response="change",
        baseline="baseline",
        group="group",
        covariates=["sex"],
        group_order=["Placebo", "Low", "High"],
    )
    for attr in ("lsmeans", "differences"):
        a, b = getattr(base, attr), getattr(res, attr)
        for col in ("estimate", "se", "lower", "upper", "p_value"):
            np.testing.assert_allclose(b[col], a[col], rtol=1e-10)


def test_result_object_and_conventions() -> None:
    res = _fit(CASES["ancova_3arm_sex_equal"])
    text = res.describe()
    assert "Tukey adjustment for 3 means" in text
    assert "equal weights" in text and "40 df" in text
    assert res.provenance.parameters["adjust"] == "tukey"
    assert res.provenance.parameters["weights"] == "equal"
    long = res.to_frame()
    assert set(long["kind"]) == {"lsmean", "difference", "coefficient", "model"}
    one = long.query("kind == 'lsmean' and label == 'High' and stat == 'estimate'")
    assert one["value"].item() == res.lsmeans.loc[2, "estimate"]
    summary = res.summary()
    assert summary["kind"].tolist() == ["LS mean"] * 3 + ["difference"] * 3
    with pytest.raises(ValueError, match="two groups"):
        estimate_ancova(
            pd.DataFrame({"change": [1.0, 2.0], "baseline_value": [1, 2], "group": "A"})
        )


def test_on_the_ms_demo_trial_immunomonitoring(ms_analysis_data: Any) -> None:
    """ADIM of the tolDC-ms demo: Treg change at M6 by route, as statsmodels OLS."""
    im = ms_analysis_data.adim
    treg = im.loc[
        im["safety"]
        & (im["analyte"] == "Treg CD4+CD25+CD127lo")
        & (im["visit"] == "M6")
    ]
    res = estimate_ancova(treg, response="change", group="route")
    frame = treg[["change", "baseline_value", "route"]].dropna().astype({"route": str})
    fit = smf.ols("change ~ baseline_value + route", frame).fit()
    grid = pd.DataFrame(
        {
            "route": sorted(frame["route"].unique()),
            "baseline_value": frame["baseline_value"].mean(),
        }
    )
    pred = fit.get_prediction(grid).summary_frame()
    np.testing.assert_allclose(res.lsmeans["estimate"], pred["mean"], rtol=1e-10)
    np.testing.assert_allclose(res.lsmeans["se"], pred["mean_se"], rtol=1e-10)
    assert res.n == len(frame) and res.df_residual == len(frame) - 3
