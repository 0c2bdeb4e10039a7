"""MMRM (unstructured covariance, REML, Satterthwaite df) against R nlme + emmeans.

Reference: ``tests/analyses/reference/change_from_baseline.json``, written by
``change_from_baseline.R`` beside it (R 4.2.2, nlme 3.1-162, emmeans 1.8.4-1; the
datasets are inline), from ``gls(change ~ baseline * visit + group * visit,
correlation = corSymm(form = ~ visit_index | subject), weights = varIdent(form = ~ 1
| visit), method = "REML")`` and ``emmeans(fit, ~ group | visit, mode =
"satterthwaite")``.

Tolerances, and why:

* Estimates, standard errors, covariances, intervals: 1e-5 relative. The R fit is
  optim's BFGS to a relative tolerance of 1e-14 (gls' default nlminb stops up to
  2e-8 short of the maximum REML log-likelihood on these data, which moves small
  coefficients by 1e-4); the package's Newton-Raphson reaches the maximum to
  rounding. Observed agreement ~1e-6.
* REML log-likelihood: 1e-9 relative; and never below the default nlminb fit's.
* Satterthwaite df: 1e-5 relative against emmeans with gls' ``apVar`` computed from
  numDeriv's Richardson Hessian (``emmeans_accurate_hessian``; observed ~1e-6), and
  1e-2 against plain emmeans, whose ``apVar`` is nlme's ``fdHess`` finite-difference
  Hessian (step ``eps^(1/3)``): its rounding error moves these df by up to 0.5%. The
  package's df use the closed-form observed information (``_reml``), with which, for
  example, the df of a visit every subject attended under monotone dropout is exactly
  ``n - 3``, as the theory says and as the accurate R Hessian gives to 1e-6.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import trialdata as td
from analyses.immunomonitoring import estimate_mmrm
from trialdata.demo import write_trial

REFERENCE = (
    Path(__file__).resolve().parents[1] / "reference" / "change_from_baseline.json"
)
CASES = {c["id"]: c for c in json.loads(REFERENCE.read_text())["mmrm"]}
RTOL = 1e-5
DF_RTOL_ACCURATE = 1e-5
DF_RTOL_FDHESS = 1e-2
COLUMNS = {
    "estimate": ("emmean", "estimate"),
    "se": ("SE", "SE"),
    "lower": ("lower.CL", "lower.CL"),
    "upper": ("upper.CL", "upper.CL"),
    "t_ratio": ("t.ratio", "t.ratio"),
    "p_value": ("p.value", "p.value"),
}


def _data(case: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(case["inputs"]["data"])


def _fit(case: dict[str, Any], data: pd.DataFrame | None = None, **kw: Any) -> Any:
    inp = case["inputs"]
    return estimate_mmrm(
        _data(case) if data is None else data,
        response="change",
        baseline="baseline",
        group="group",
        visit="visit",
        subject="subject",
        visit_order=inp["visit_levels"],
        group_order=inp["group_levels"],
        **kw,
    )


@pytest.fixture(scope="module")
def fits() -> dict[str, Any]:
    return {cid: _fit(case) for cid, case in CASES.items()}


def _close(actual: Any, expected: Any, rtol: float, what: str) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float),
        np.asarray(expected, dtype=float),
        rtol=rtol,
        atol=1e-12,
        err_msg=what,
    )


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_fit_equals_gls(case_id: str, fits: dict[str, Any]) -> None:
    case, res = CASES[case_id], fits[case_id]
    exp = case["expected"]
    assert res.converged and not res.note
    coefs = res.coefficients.set_index("term")
    assert coefs.index.tolist() == exp["coef_names"]
    _close(
        coefs["estimate"],
        [exp["coefficients"][n] for n in exp["coef_names"]],
        RTOL,
        "coef",
    )
    _close(res.fe_cov.to_numpy(), exp["vcov"], RTOL, "vcov")
    _close(res.covariance.to_numpy(), exp["covariance"], RTOL, "getVarCov")
    assert res.loglik == pytest.approx(exp["logLik_reml"], rel=1e-9)
    # the package's optimum is at least as high as gls' default optimiser's
    default = exp["nlminb_default"]["logLik_reml"]
    assert res.loglik >= default - 1e-12 * abs(default)
    assert res.n == len(case["inputs"]["data"]["change"])


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_lsmeans_and_pairs_equal_emmeans(case_id: str, fits: dict[str, Any]) -> None:
    case, res = CASES[case_id], fits[case_id]
    exp = case["expected"]
    accurate = exp["emmeans_accurate_hessian"]
    emm = pd.DataFrame(accurate["emmeans"])
    assert res.lsmeans["group"].tolist() == emm["group"].tolist()
    assert res.lsmeans["visit"].tolist() == emm["visit"].tolist()
    pairs = pd.DataFrame(accurate["pairs_tukey"])
    assert res.differences["contrast"].tolist() == pairs["contrast"].tolist()
    assert res.differences["visit"].tolist() == pairs["visit"].tolist()
    for ours, (r_emm, r_pairs) in COLUMNS.items():
        _close(res.lsmeans[ours], emm[r_emm], RTOL, f"emmeans {ours}")
        _close(res.differences[ours], pairs[r_pairs], RTOL, f"pairs {ours}")
    _close(res.lsmeans["df"], emm["df"], DF_RTOL_ACCURATE, "emmeans df")
    _close(res.differences["df"], pairs["df"], DF_RTOL_ACCURATE, "pairs df")
    # plain emmeans (nlme's fdHess apVar): the same estimates and SEs; df within
    # the finite-difference error
    plain = pd.DataFrame(exp["emmeans"])
    _close(res.lsmeans["estimate"], plain["emmean"], RTOL, "emmean")
    _close(res.lsmeans["se"], plain["SE"], RTOL, "SE")
    _close(res.lsmeans["df"], plain["df"], DF_RTOL_FDHESS, "df (fdHess)")
    plain_pairs = pd.DataFrame(exp["pairs_none"])
    none = _fit(case, adjust="none").differences
    _close(none["estimate"], plain_pairs["estimate"], RTOL, "pairs estimate")
    _close(none["se"], plain_pairs["SE"], RTOL, "pairs SE")
    _close(none["df"], plain_pairs["df"], DF_RTOL_FDHESS, "pairs df (fdHess)")


def test_first_visit_under_monotone_dropout_is_its_own_least_squares(
    fits: dict[str, Any],
) -> None:
    """Everyone has W4 and dropout is monotone: W4 means are OLS on W4 alone."""
    case = CASES["mmrm_2arm_3visit_dropout"]
    data = _data(case)
    res = fits["mmrm_2arm_3visit_dropout"]
    first = data.loc[data["visit"] == "W4"]
    assert first["subject"].nunique() == data["subject"].nunique()
    ols = smf.ols(
        "change ~ baseline + C(group, levels=['Placebo', 'Active'])", first
    ).fit()
    grid = pd.DataFrame(
        {"group": ["Placebo", "Active"], "baseline": data["baseline"].mean()}
    )
    pred = ols.get_prediction(grid).summary_frame()
    w4 = res.lsmeans.loc[res.lsmeans["visit"] == "W4"]
    np.testing.assert_allclose(w4["estimate"], pred["mean"], rtol=1e-9)
    np.testing.assert_allclose(w4["se"], pred["mean_se"], rtol=1e-9)
    np.testing.assert_allclose(w4["df"], len(first) - 3, rtol=1e-9)


def test_row_order_and_ulp_noise_do_not_change_the_answer(
    fits: dict[str, Any],
) -> None:
    case = CASES["mmrm_3arm_4visit_intermittent"]
    base = fits["mmrm_3arm_4visit_intermittent"]
    data = _data(case)
    rng = np.random.default_rng(7)
    shuffled = data.iloc[rng.permutation(len(data))]
    res = _fit(case, shuffled)
    for attr in ("lsmeans", "differences"):
        pd.testing.assert_frame_equal(getattr(res, attr), getattr(base, attr))
    nudged = data.assign(
        change=np.nextafter(data["change"].to_numpy(), np.inf),
        baseline=np.nextafter(data["baseline"].to_numpy(), -np.inf),
    )
    res = _fit(case, nudged)
    for attr in ("lsmeans", "differences"):
        a, b = getattr(base, attr), getattr(res, attr)
        for col in ("estimate", "se", "df", "lower", "upper", "p_value"):
            np.testing.assert_allclose(b[col], a[col], rtol=1e-9, err_msg=col)


_KERNEL_SCRIPT = """
import json, sys
import pandas as pd
from analyses.immunomonitoring import estimate_ancova, estimate_mmrm
inp = json.loads(sys.stdin.read())
data = pd.DataFrame(inp["data"])
res = estimate_mmrm(data, response="change", baseline="baseline", group="group",
                    visit="visit", subject="subject", visit_order=inp["visit_levels"],
                    group_order=inp["group_levels"], adjust="none")
last = data.loc[data["visit"] == inp["visit_levels"][-1]]
anc = estimate_ancova(last, response="change", baseline="baseline", group="group",
                      group_order=inp["group_levels"], adjust="none")
cols = ["estimate", "se", "df", "lower", "upper", "p_value"]
print(json.dumps({"mmrm": res.lsmeans[cols].to_dict("list"),
                  "diff": res.differences[cols].to_dict("list"),
                  "ancova": anc.differences[cols].to_dict("list"),
                  "loglik": res.loglik, "iterations": res.iterations}))
"""


def test_same_with_every_blas_kernel_and_thread_count(
    blas_variants: Callable[[str, str], list[tuple[dict[str, str], str]]],
) -> None:
    case = CASES["mmrm_3arm_4visit_intermittent"]
    runs = blas_variants(_KERNEL_SCRIPT, json.dumps(case["inputs"]))
    assert len(runs) >= 2
    first = json.loads(runs[0][1])
    for env, text in runs[1:]:
        other = json.loads(text)
        assert other["iterations"] == first["iterations"], env
        assert other["loglik"] == pytest.approx(first["loglik"], rel=1e-12), env
        for key in ("mmrm", "diff", "ancova"):
            for col, values in first[key].items():
                np.testing.assert_allclose(
                    other[key][col], values, rtol=1e-10, err_msg=f"{env} {key} {col}"
                )


def test_bad_input_is_named() -> None:
    case = CASES["mmrm_2arm_3visit_dropout"]
    data = _data(case)
    twice = pd.concat([data, data.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match="S001 at W4"):
        _fit(case, twice)
    no_active_w12 = data.loc[~((data["group"] == "Active") & (data["visit"] == "W12"))]
    with pytest.raises(ValueError, match="no result for Active at W12"):
        _fit(case, no_active_w12)


def test_result_object_and_conventions(fits: dict[str, Any]) -> None:
    res = fits["mmrm_3arm_4visit_intermittent"]
    text = res.describe()
    assert "unstructured covariance" in text and "REML" in text
    assert "Satterthwaite" in text and "Tukey adjustment for 3 means" in text
    params = res.provenance.parameters
    assert params["covariance_structure"] == "unstructured"
    assert params["adjust"] == "tukey" and params["weights"] == "equal"
    assert params["visit_order"] == ["M1", "M3", "M6", "M12"]
    long = res.to_frame()
    assert set(long["kind"]) == {
        "lsmean",
        "difference",
        "coefficient",
        "covariance",
        "model",
    }
    corr = res.correlation.to_numpy()
    np.testing.assert_allclose(np.diag(corr), 1.0)
    summary = res.summary()
    assert summary["visit"].tolist()[:6] == ["M1"] * 6


def test_on_the_ms_demo_trial_immunomonitoring(tmp_path: Path) -> None:
    """ADIM of the tolDC-ms demo: Treg change over the post-baseline visits by route."""
    folder = write_trial(tmp_path / "ms-trial", "tolDC-ms", seed=3).folder
    im = td.Trial.load(folder).analysis_data().adim
    treg = im.loc[
        im["safety"] & (im["analyte"] == "Treg CD4+CD25+CD127lo") & ~im["is_baseline"]
    ]
    res = estimate_mmrm(treg, response="change", group="route")
    assert res.converged and not res.note
    # visits in study-day order; every subject has the first post-baseline visit
    first_visit = res.lsmeans["visit"].iloc[0]
    assert res.provenance.parameters["visit_order"][0] == first_visit
    at_first = treg.loc[treg["visit"] == first_visit]
    assert at_first["subject_id"].nunique() == res.n_subjects
    np.testing.assert_allclose(
        res.lsmeans.loc[res.lsmeans["visit"] == first_visit, "df"],
        res.n_subjects - 3,
        rtol=1e-8,
    )
