"""Cox extensions against R: counting process, robust variance, cox.zph, predictions.

Reference: ``tests/analyses/reference/cox_extensions.json``, written by
``cox_extensions.R`` beside it (R 4.2.2, survival 3.5-3; versions in the file).
Tolerance: ``|diff| <= 1e-6 * max(1, |expected|)`` for every number (R's own
convergence, relative log-likelihood change 1e-9, leaves its coefficients about
1e-9 from the maximum; ours run to 1e-12), exact for counts, times and the rows
``tmerge`` builds. The Wald statistic is compared unrounded (``fit$wald.test``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analyses.survival import (
    add_time_dependent_covariate,
    estimate_baseline_hazard,
    estimate_cox,
    predict_survival,
    proportional_hazards_test,
)
from analyses.survival.cox import _concordance_counts, _concordance_counts_counting

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "cox_extensions.json"
REF = json.loads(REFERENCE.read_text())
CASES = {c["id"]: c for c in REF["cases"]}
REL = 1e-6
#: R's survival::lung, status 0/1 (R's status - 1), as lifelines ships it
LUNG = Path(__file__).resolve().parents[1] / "reference" / "lung.csv"


def _lung() -> pd.DataFrame:
    return pd.read_csv(LUNG)  # = R survival::lung with status - 1


def dataset(name: str) -> pd.DataFrame:
    """A case's input data, as the R script subsets it."""
    ds = REF["datasets"]
    if name == "heart":
        return pd.DataFrame(ds["heart"])  # transplant as "0"/"1": R's factor
    if name == "tmerge":
        return tmerge_rows()
    lung = _lung()
    if name == "lung":
        return lung
    if name == "lung_inst":
        return lung[lung["inst"].notna()]
    if name == "lung_inst_ecog":
        return lung[lung["inst"].notna() & lung["ph.ecog"].notna()]
    if name == "lung_ecog":
        return lung[lung["ph.ecog"].notna()]
    if name == "lung_ecog3":
        sub = lung[lung["ph.ecog"].notna() & (lung["ph.ecog"] < 3)]
        return sub.assign(ecog=sub["ph.ecog"].astype(int).astype(str))
    raise KeyError(name)


def tmerge_rows() -> pd.DataFrame:
    ds = REF["datasets"]
    base = pd.DataFrame(ds["tmerge_base"]).rename(
        columns={"futime": "tstop", "status": "death"}
    )
    common = {"id": "id", "time": "tstop", "event": "death", "cnsr": None}
    td = add_time_dependent_covariate(
        base, pd.DataFrame(ds["tmerge_gvhd"]), "gvhd", **common
    )
    return add_time_dependent_covariate(
        td, pd.DataFrame(ds["tmerge_mrd"]), "mrd", value="value", **common
    )


def check(what: str, actual: Any, expected: Any, exact: bool = False) -> None:
    a = np.atleast_1d(np.asarray(actual, dtype=float)).ravel()
    e = np.atleast_1d(
        np.asarray([np.nan if v is None else v for v in np.ravel(expected)], float)
    )
    assert a.shape == e.shape, f"{what}: {a.shape} != {e.shape}"
    assert np.array_equal(np.isnan(a), np.isnan(e)), what
    ok = ~np.isnan(e)
    tol = 0.0 if exact else REL * np.maximum(1.0, np.abs(e[ok]))
    bad = np.abs(a[ok] - e[ok]) > tol
    assert not bad.any(), f"{what}: got {a[ok][bad][:3]}, R {e[ok][bad][:3]}"


# ------------------------------------------------------------- Cox model fits

FITS = {
    "heart_cp_efron": dict(
        covariates=["age", "year", "surgery", "transplant"], start="start"
    ),
    "heart_cp_breslow": dict(
        covariates=["age", "year", "surgery", "transplant"], start="start"
    ),
    "heart_cp_cluster_id": dict(
        covariates=["age", "surgery", "transplant"], start="start", cluster="id"
    ),
    "tmerge_cp_efron": dict(covariates=["age", "gvhd", "mrd"], start="tstart"),
    "lung_cluster_inst_efron": dict(covariates=["age", "sex"], cluster="inst"),
    "lung_cluster_inst_breslow": dict(covariates=["age", "sex"], cluster="inst"),
    "lung_robust_noncluster": dict(covariates=["age", "sex", "ph.karno"], robust=True),
    "lung_cluster_inst_strata": dict(
        covariates=["age", "sex"], cluster="inst", strata="ph.ecog"
    ),
}
TIME = {"heart": ("stop", "event"), "tmerge": ("tstop", "death")}


def fit_case(cid: str) -> Any:
    case = CASES[cid]
    name = case["dataset"]
    time, event = TIME.get(name, ("time", "status"))
    return estimate_cox(
        dataset(name),
        time=time,
        event=event,
        cnsr=None,
        ties=case["ties"],
        min_events=0,
        **FITS[cid],  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("cid", sorted(FITS))
def test_cox_fit_matches_r(cid: str) -> None:
    exp = CASES[cid]["expected"]
    res = fit_case(cid)
    assert list(res.terms) == exp["terms"]
    check("coef", res.coef, exp["coef"])
    check("se", res.se, exp["se"])
    check("var", res.covariance, exp["var"])
    check("loglik_null", res.loglik_null, exp["loglik_null"])
    check("loglik_model", res.loglik_model, exp["loglik_model"])
    check("lr_test", res.lr_test, exp["lr_test"])
    check("wald_test", res.wald_test, exp["wald_test"])
    check("score_test", res.score_test, exp["score_test"])
    check("n", res.n, exp["n"], exact=True)
    check("nevent", res.n_events, exp["nevent"], exact=True)
    check("concordance", res.concordance, exp["concordance"])
    if "naive_se" in exp:
        assert res.robust
        check("naive_se", res.naive_se, exp["naive_se"])
        check("robust_score", res.robust_score_test, exp["robust_score_test"])
        tests = res.tests().set_index("test")
        check(
            "robust_score_p",
            tests.loc["robust score", "p_value"],
            exp["robust_score_p"],
        )
        check("wald_p", tests.loc["wald", "p_value"], exp["wald_p"])
        table = res.table()
        check("z", table["z"], exp["z"])
        check("p", table["p_value"], exp["p"])
        check("se_naive column", table["se_naive"], exp["naive_se"])
        frame = res.to_frame()
        assert "robust_score_test" in set(frame["stat"])
        assert res.provenance.parameters["robust"] is True
    else:
        assert not res.robust and res.naive_se is None


def test_tmerge_rows_match_r() -> None:
    exp = CASES["tmerge_rows"]["expected"]
    got = tmerge_rows()
    for ours, theirs in [
        ("id", "id"),
        ("tstart", "tstart"),
        ("tstop", "tstop"),
        ("death", "death"),
        ("gvhd", "gvhd"),
        ("mrd", "mrd"),
    ]:
        check(ours, got[ours], exp[theirs], exact=True)


def test_time_dependent_covariate_with_cnsr_and_initial() -> None:
    base = pd.DataFrame(
        {"subject_id": ["A", "B"], "AVAL": [100.0, 50.0], "CNSR": [0, 1]}
    )
    changes = pd.DataFrame({"subject_id": ["A", "A", "B"], "day": [10, 40, 60]})
    out = add_time_dependent_covariate(base, changes, "gvhd", initial=0.0)
    assert out[["tstart", "AVAL", "CNSR", "gvhd"]].values.tolist() == [
        [0.0, 10.0, 1, 0.0],
        [10.0, 40.0, 1, 1.0],
        [40.0, 100.0, 0, 1.0],
        [0.0, 50.0, 1, 0.0],
    ]
    with pytest.raises(ValueError, match="already has"):
        add_time_dependent_covariate(out, changes, "gvhd")


def test_counting_process_with_one_row_per_subject_is_the_plain_fit() -> None:
    lung = _lung()
    kw = dict(time="time", event="status", cnsr=None, min_events=0)
    plain = estimate_cox(lung, ["age", "sex"], **kw)  # type: ignore[arg-type]
    cp = estimate_cox(lung.assign(t0=0.0), ["age", "sex"], start="t0", **kw)  # type: ignore[arg-type]
    np.testing.assert_allclose(cp.coef, plain.coef, rtol=1e-12)
    np.testing.assert_allclose(cp.se, plain.se, rtol=1e-12)
    assert cp.concordance == plain.concordance
    # splitting follow-up at an arbitrary day without changing a covariate
    split = add_time_dependent_covariate(
        lung.assign(id=range(len(lung))),
        pd.DataFrame({"id": range(len(lung)), "day": 100.0}),
        "after100",
        id="id",
        time="time",
        event="status",
        cnsr=None,
        start="t0",
    )
    assert len(split) > len(lung)
    res = estimate_cox(split, ["age", "sex"], start="t0", **kw)  # type: ignore[arg-type]
    np.testing.assert_allclose(res.coef, plain.coef, rtol=1e-10)
    np.testing.assert_allclose(res.se, plain.se, rtol=1e-10)


def test_invalid_requests_are_refused() -> None:
    lung = _lung()
    kw = dict(time="time", event="status", cnsr=None, min_events=0)
    with pytest.raises(ValueError, match="robust"):
        estimate_cox(lung, ["age"], ties="exact", robust=True, **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cluster"):
        estimate_cox(lung, ["age"], cluster="inst", robust=False, **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="<"):
        estimate_cox(lung.assign(t0=lung["time"]), ["age"], start="t0", **kw)  # type: ignore[arg-type]
    fit = estimate_cox(lung, ["age"], **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="transform"):
        proportional_hazards_test(fit, "sqrt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="conf_type"):
        predict_survival(fit, pd.DataFrame({"age": [60]}), conf_type="arcsin")  # type: ignore[arg-type]


# -------------------------------------------------------------------- cox.zph

ZPH = {
    "lung_zph_km": (["age", "sex", "ph.ecog"], None, "efron"),
    "lung_zph_rank": (["age", "sex", "ph.ecog"], None, "efron"),
    "lung_zph_identity": (["age", "sex", "ph.ecog"], None, "efron"),
    "lung_zph_log": (["age", "sex", "ph.ecog"], None, "efron"),
    "lung_zph_km_breslow": (["age", "sex", "ph.ecog"], None, "breslow"),
    "lung_zph_factor_term": (["age", "sex", "ecog"], None, "efron"),
    "lung_zph_strata_rank": (["age", "sex"], "ph.ecog", "efron"),
    "heart_zph_km": (["age", "year", "surgery", "transplant"], None, "efron"),
    "heart_zph_identity": (["age", "year", "surgery", "transplant"], None, "efron"),
}


@pytest.mark.parametrize("cid", sorted(ZPH))
def test_cox_zph_matches_r(cid: str) -> None:
    case = CASES[cid]
    covariates, strata, ties = ZPH[cid]
    heart = case["dataset"] == "heart"
    fit = estimate_cox(
        dataset(case["dataset"]),
        covariates,
        time="stop" if heart else "time",
        event="event" if heart else "status",
        cnsr=None,
        start="start" if heart else None,
        strata=strata,
        ties=ties,  # type: ignore[arg-type]
        min_events=0,
    )
    zph = proportional_hazards_test(fit, case["transform"])
    exp = case["expected"]
    # R names a factor term by its expression: ecog (here the column name)
    assert list(zph.terms) == exp["terms"]
    check("chisq", zph.chisq, exp["chisq"])
    check("df", zph.df, exp["df"], exact=True)
    check("p", zph.p_value, exp["p"])
    frame = zph.to_frame()
    assert set(frame["stat"]) == {"chisq", "df", "p_value"}
    assert zph.provenance.parameters["transform"] == case["transform"]


def test_cox_zph_per_column_and_without_global() -> None:
    fit = estimate_cox(
        dataset("lung_ecog3"),
        ["age", "ecog"],
        time="time",
        event="status",
        cnsr=None,
        min_events=0,
    )
    per_column = proportional_hazards_test(fit, terms=False, global_test=False)
    assert per_column.terms == ("age", "ecog1", "ecog2")
    assert per_column.df == (1, 1, 1)
    grouped = proportional_hazards_test(fit)
    # the global test does not depend on the grouping
    assert grouped.terms[-1] == "GLOBAL"
    assert grouped.chisq[0] == pytest.approx(per_column.chisq[0], rel=1e-12)


# ------------------------------------------------------ basehaz and survfit


def _lung_fit(ties: str, covariates: list[str], strata: str | None = None) -> Any:
    return estimate_cox(
        _lung(),
        covariates,
        time="time",
        event="status",
        cnsr=None,
        ties=ties,  # type: ignore[arg-type]
        strata=strata,
        min_events=0,
    )


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_basehaz_matches_r(ties: str) -> None:
    exp = CASES[f"lung_basehaz_{ties}"]["expected"]
    fit = _lung_fit(ties, ["age", "sex"])
    assert fit.model is not None
    check("means", fit.model.means, exp["means"])
    centred = estimate_baseline_hazard(fit).hazard
    check("time", centred["time"], exp["time"], exact=True)
    check("hazard centred", centred["hazard"], exp["hazard_centered"])
    plain = estimate_baseline_hazard(fit, centered=False)
    check("hazard", plain.hazard["hazard"], exp["hazard_uncentered"])
    assert not plain.centered and set(plain.to_frame()["stat"]) == {"hazard"}


def test_basehaz_strata_matches_r() -> None:
    exp = CASES["lung_basehaz_strata"]["expected"]
    fit = _lung_fit("efron", ["age"], strata="sex")
    res = estimate_baseline_hazard(fit, centered=False).hazard
    check("time", res["time"], exp["time"], exact=True)
    check("hazard", res["hazard"], exp["hazard_uncentered"])
    assert res["stratum"].tolist() == exp["strata"]


def _check_curves(curves: pd.DataFrame, exp: dict[str, Any], rows: int) -> None:
    first = curves.loc[curves["row"] == 0]
    check("time", first["time"], exp["time"], exact=True)
    check("n_risk", first["n_risk"], exp["n_risk"], exact=True)
    check("n_event", first["n_event"], exp["n_event"], exact=True)
    for col in ("cumhaz", "surv", "std_err", "lower", "upper"):
        got = [curves.loc[curves["row"] == r, col].to_numpy() for r in range(rows)]
        want = exp[col] if rows > 1 else [exp[col]]
        check(col, np.concatenate(got), np.concatenate(want))


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("conf_type", ["log", "log-log"])
def test_survfit_newdata_matches_r(ties: str, conf_type: str) -> None:
    case = CASES[f"lung_survfit_newdata_{ties}_{conf_type.replace('-', '')}"]
    fit = _lung_fit(ties, ["age", "sex"])
    res = predict_survival(
        fit,
        pd.DataFrame(case["newdata"]),
        conf_type=conf_type,  # type: ignore[arg-type]
    )
    _check_curves(res.curves, case["expected"], 2)
    assert res.provenance.parameters["conf_type"] == conf_type
    at = res.survival_at([0.0, 365.0])
    assert at.loc[at["time"] == 0.0, "surv"].tolist() == [1.0, 1.0]


def test_survfit_newdata_strata_matches_r() -> None:
    case = CASES["lung_survfit_newdata_strata"]
    exp = case["expected"]
    fit = _lung_fit("efron", ["age"], strata="sex")
    curves = predict_survival(fit, pd.DataFrame([case["newdata"]])).curves
    assert curves.groupby("stratum").size().to_dict() == exp["strata"]
    for col in ("time", "n_risk"):
        check(col, curves[col], exp[col], exact=True)
    for col in ("cumhaz", "surv", "std_err", "lower", "upper"):
        check(col, curves[col], exp[col])
    # a stratum named in newdata picks its curve
    one = predict_survival(fit, pd.DataFrame({"age": [60], "sex": [2]})).curves
    assert set(one["stratum"]) == {"sex=2"}


def test_survfit_newdata_counting_process_matches_r() -> None:
    case = CASES["heart_survfit_newdata"]
    fit = fit_case("heart_cp_efron")
    curves = predict_survival(fit, pd.DataFrame([case["newdata"]])).curves
    _check_curves(curves, case["expected"], 1)


# ------------------------------------------------- concordance and machines


def _brute_concordance(
    t: np.ndarray, e: np.ndarray, r: np.ndarray
) -> tuple[int, int, int]:
    c = d = ti = 0
    for i in np.flatnonzero(e):
        for j in range(t.size):
            if t[j] > t[i] or (t[j] == t[i] and not e[j]):
                c += int(r[j] < r[i])
                ti += int(r[j] == r[i])
                d += int(r[j] > r[i])
    return c, d, ti


def test_vectorised_concordance_counts_equal_brute_force() -> None:
    rng = np.random.default_rng(11)
    for _ in range(200):
        n = int(rng.integers(1, 60))
        t = rng.integers(0, 9, n).astype(float)
        e = rng.random(n) < 0.6
        r = rng.integers(0, 7, n)
        want = _brute_concordance(t, e, r)
        assert _concordance_counts(t, e, r) == want
        assert _concordance_counts_counting(np.full(n, -1.0), t, e, r) == want


def _nudge(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = values.astype(float).copy()
    for _ in range(3):
        step = rng.integers(-1, 2, out.size)
        out = np.where(step > 0, np.nextafter(out, np.inf), out)
        out = np.where(step < 0, np.nextafter(out, -np.inf), out)
    return out


def _summary_numbers(data: pd.DataFrame) -> dict[str, Any]:
    fit = estimate_cox(
        data,
        ["age", "sex", "ph.ecog"],
        time="time",
        event="status",
        cnsr=None,
        cluster="inst",
        min_events=0,
    )
    zph = proportional_hazards_test(fit)
    curve = predict_survival(
        fit, pd.DataFrame({"age": [60], "sex": [1], "ph.ecog": [1]})
    )
    return {
        "coef": list(fit.coef),
        "se": list(fit.se),
        "rscore": fit.robust_score_test,
        "concordance": fit.concordance,
        "zph": list(zph.chisq),
        "surv": curve.curves["surv"].tolist()[-5:],
        "std_err": curve.curves["std_err"].tolist()[-5:],
    }


def _assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["concordance"] == b["concordance"]
    for key in ("coef", "se", "rscore", "zph", "surv", "std_err"):
        np.testing.assert_allclose(a[key], b[key], rtol=1e-10)


def test_robust_zph_and_prediction_unchanged_by_ulps_and_row_order() -> None:
    lung = _lung().dropna(subset=["inst", "ph.ecog"]).reset_index(drop=True)
    base = _summary_numbers(lung)
    rng = np.random.default_rng(4)
    moved = lung.assign(age=_nudge(lung["age"].to_numpy(), rng))
    moved = moved.iloc[rng.permutation(len(moved))]
    _assert_same(base, _summary_numbers(moved))


_KERNEL_SCRIPT = f"""
import json, sys
import pandas as pd
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from test_cox_extensions import _summary_numbers
lung = pd.DataFrame(json.loads(sys.stdin.read()))
print(json.dumps(_summary_numbers(lung)))
"""


def test_robust_zph_and_prediction_same_with_every_blas_kernel(
    blas_variants: Callable[[str, str], list[tuple[dict[str, str], str]]],
) -> None:
    lung = _lung().dropna(subset=["inst", "ph.ecog"]).reset_index(drop=True)
    runs = blas_variants(_KERNEL_SCRIPT, json.dumps(lung.to_dict("list")))
    first = json.loads(runs[0][1])
    for _env, text in runs:
        _assert_same(first, json.loads(text))
