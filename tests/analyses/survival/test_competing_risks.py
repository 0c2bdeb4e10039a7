"""Competing risks against R: Aalen-Johansen, Gray's test, Fine-Gray.

Reference: ``tests/analyses/reference/competing_risks.json``, written by
``competing_risks.R`` beside it (R 4.2.2, survival 3.5-3, cmprsk 2.2-11; the
versions are in the file) from four datasets stored inline in the JSON:
``survival::mgus2`` as competing risks (PCM vs death, 1384 subjects, integer
months: many ties; missing covariates), a simulated AML-like trial (90 subjects,
weekly times, ties across causes and censorings, 3 dose levels, 2 routes), a tiny
hand-made set, and the AML demo trial of ``docs/survival.md`` (12 subjects).

Tolerance: ``|actual - expected| <= 1e-6 |expected| + 1e-12``; counts, times, df,
convergence and the number of rows exact; R ``NA`` <=> NaN. The absolute 1e-12
covers values that are exactly 0 in theory, which R's sums leave at rounding level
(e.g. the infinitesimal-jackknife standard error 8.9e-17 of a cumulative incidence
that has reached 1). The score of ``crr`` at its estimate is 0 up to the
convergence criterion (``gtol`` 1e-6), so it has no meaningful relative error: it is
compared with an absolute tolerance of 1e-6 times the largest diagonal element of
the information (the score a coefficient error of 1e-6 would produce).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analyses.survival import (
    ConvergenceWarning,
    SmallSampleWarning,
    compare_cumulative_incidence,
    derive_competing_events,
    estimate_cumulative_incidence,
    estimate_fine_gray,
    estimate_kaplan_meier,
)
from analyses.survival._aj_core import aalen_johansen
from analyses.survival.competing_risks import INITIAL_STATE

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "competing_risks.json"
REF: dict[str, Any] = json.loads(REFERENCE.read_text())
DATASETS = {name: pd.DataFrame(cols) for name, cols in REF["datasets"].items()}
REL = 1e-6
ABS = 1e-12


def _list(value: Any) -> list[Any]:
    """A JSON value R wrote with auto_unbox: a scalar for a length-1 vector."""
    return value if isinstance(value, list) else [value]


def _cases(kind: str) -> list[dict[str, Any]]:
    return [c for c in REF["cases"] if c["kind"] == kind]


def _array(values: Any) -> np.ndarray:
    """R's JSON values as floats: null -> NaN, a scalar -> length 1."""
    if isinstance(values, np.ndarray):
        return values.astype(float).ravel()
    values = values if isinstance(values, list) else [values]
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def assert_close(
    what: str, actual: Any, expected: Any, *, exact: bool = False, atol: float = ABS
) -> None:
    a = np.atleast_1d(np.asarray(actual, dtype=float))
    e = _array(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != R {e.shape}"
    both_nan = np.isnan(a) & np.isnan(e)
    if exact:
        ok = both_nan | (a == e)
    else:
        ok = both_nan | (np.abs(a - e) <= REL * np.abs(e) + atol)
    bad = np.flatnonzero(~ok)
    assert not bad.size, (
        f"{what}: {bad.size} of {a.size} differ, first at {bad[:5].tolist()}: "
        f"{a[bad[:5]].tolist()} vs R {e[bad[:5]].tolist()}"
    )


def test_reference_file_records_versions_and_data() -> None:
    assert REF["r_version"].startswith("R version 4.")
    assert set(REF["packages"]) >= {"survival", "cmprsk"}
    assert len(DATASETS["mgus2"]) == 1384
    assert len(REF["cases"]) >= 15
    assert (REFERENCE.parent / "competing_risks.R").is_file()


# ------------------------------------------------------------- Aalen-Johansen


@pytest.mark.parametrize("case", _cases("survfit"), ids=lambda c: c["name"])
def test_cumulative_incidence_matches_r_survfit(case: dict[str, Any]) -> None:
    args, exp = case["args"], case["expected"]
    data = DATASETS[case["dataset"]]
    result = estimate_cumulative_incidence(
        data,
        args["by"],
        time=args["time"],
        status=args["status"],
        cencode=args["cencode"],
        conf_type=args["conf_type"],
        conf_level=args["conf_level"],
    )
    assert [str(s) for s in result.states] == exp["states"], case["r_call"]
    tables = list(result.tables.values())
    assert [str(g) for g in result.groups] == [
        str(s) for s in _list(exp["strata_names"])
    ]
    for state_index, state in enumerate(result.states):
        rows = pd.concat(
            [t.loc[t["state"] == state] for t in tables], ignore_index=True
        )
        sizes = [len(t.loc[t["state"] == state]) for t in tables]
        assert sizes == _list(exp["strata"])
        tag = f"{case['name']} {state}"
        assert_close(f"{tag} time", rows["time"], exp["time"], exact=True)
        assert_close(f"{tag} n.risk", rows["n_risk"], exp["n_risk"], exact=True)
        assert_close(f"{tag} n.censor", rows["n_censor"], exp["n_censor"], exact=True)
        assert_close(
            f"{tag} n.event", rows["n_event"], exp["n_event"][state_index], exact=True
        )
        for ours, theirs in (
            ("estimate", "pstate"),
            ("std_err", "std_err"),
            ("lower", "lower"),
            ("upper", "upper"),
        ):
            assert_close(f"{tag} {theirs}", rows[ours], exp[theirs][state_index])


def test_states_sum_to_one_and_one_cause_is_one_minus_km() -> None:
    data = DATASETS["aml_sim"]
    result = estimate_cumulative_incidence(
        data, "dose_level", time="days", status="status", cencode="censored"
    )
    for table in result.tables.values():
        wide = table.pivot(index="time", columns="state", values="estimate")
        np.testing.assert_allclose(wide.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    # with a single cause the cumulative incidence is 1 - KM and the IJ variance
    # of (s0) is the KM's (d (n - d) / n^3 summed as the AJ recursion does)
    one = data.assign(status=data["status"].replace({"death": "relapse"}))
    ci = estimate_cumulative_incidence(
        one, time="days", status="status", cencode="censored"
    )
    km = estimate_kaplan_meier(
        one.assign(ev=(one["status"] == "relapse").astype(int)),
        time="days",
        event="ev",
        cnsr=None,
    )
    table = ci.tables["all"]
    cif = table.loc[table["state"] == "relapse", "estimate"].to_numpy()
    np.testing.assert_allclose(cif, 1 - km.tables["all"]["surv"], rtol=0, atol=1e-14)


def test_infinitesimal_jackknife_by_hand() -> None:
    # 5 subjects: cause 1 at t=1, cause 2 and a censoring at t=2, cause 1 at t=3,
    # censored at t=4. At t=1: n=5, d=1; the IJ variance of p0 is d(n-d)/n^3.
    curve = aalen_johansen(
        np.array([1.0, 2, 2, 3, 4]), np.array([1, 2, 0, 1, 0]), n_causes=2
    )
    assert curve.pstate[0].tolist() == pytest.approx([0.8, 0.2, 0.0], abs=1e-15)
    assert curve.std_err[0, 0] == pytest.approx(np.sqrt(1 * 4 / 5**3), rel=1e-14)
    assert curve.std_err[0, 1] == pytest.approx(np.sqrt(1 * 4 / 5**3), rel=1e-14)
    # t=2: n=4, one cause-2 event: p2 = 0.8 / 4 = 0.2, p0 = 0.6
    assert curve.pstate[1].tolist() == pytest.approx([0.6, 0.2, 0.2], abs=1e-15)
    # t=3: n=2, one cause-1 event: p1 = 0.2 + 0.6 / 2
    assert curve.pstate[2].tolist() == pytest.approx([0.3, 0.5, 0.2], abs=1e-15)
    assert curve.n_risk.tolist() == [5, 4, 2, 1]
    assert curve.n_censor.tolist() == [0, 1, 0, 1]
    # IJ by brute force: derivative of p(t) in each subject's case weight
    eps = 1e-7
    base = curve.pstate
    grads = []
    for i in range(5):
        w = np.ones(5)
        w[i] += eps
        grads.append((_weighted_aj(w) - base) / eps)
    ij = np.sqrt((np.stack(grads) ** 2).sum(axis=0))
    np.testing.assert_allclose(curve.std_err, ij, rtol=1e-5, atol=1e-9)


def _weighted_aj(w: np.ndarray) -> np.ndarray:
    """AJ of the hand case with case weights (for the numerical influence)."""
    time = np.array([1.0, 2, 2, 3, 4])
    cause = np.array([1, 2, 0, 1, 0])
    p = np.array([1.0, 0.0, 0.0])
    out = []
    for t in np.unique(time):
        n = w[time >= t].sum()
        d = np.array([w[(time == t) & (cause == k)].sum() for k in (1, 2)])
        p = np.concatenate([[p[0] * (1 - d.sum() / n)], p[1:] + p[0] * d / n])
        out.append(p)
    return np.array(out)


@pytest.mark.parametrize("case", _cases("cuminc"), ids=lambda c: c["name"])
def test_gray_variance_matches_cmprsk_cuminc(case: dict[str, Any]) -> None:
    args, exp = case["args"], case["expected"]
    data = DATASETS[case["dataset"]]
    result = estimate_cumulative_incidence(
        data,
        args["by"],
        time=args["time"],
        status=args["status"],
        cencode=args["cencode"],
        variance="gray",
    )
    at = result.cumulative_incidence_at(args["times"])
    for i, curve in enumerate(exp["curves"]):
        group, cause = curve.split(" ", 1)
        sub = at.loc[
            (at[result.group_column].astype(str) == group)
            & (at["state"].astype(str) == cause)
        ]
        est, var = _array(exp["est"][i]), _array(exp["var"][i])
        # cuminc's timepoints() is NA beyond a curve's last time; we carry forward
        last = result.tables[sub[result.group_column].iloc[0]]["time"].max()
        beyond = np.asarray(args["times"], dtype=float) > last
        assert np.isnan(est[beyond]).all() and not np.isnan(est[~beyond]).any()
        tag = f"{case['name']} {curve}"
        assert_close(f"{tag} est", sub["estimate"].to_numpy()[~beyond], est[~beyond])
        assert_close(
            f"{tag} var", sub["std_err"].to_numpy()[~beyond] ** 2, var[~beyond]
        )


def test_gray_variance_of_the_initial_state_is_greenwood() -> None:
    data = DATASETS["mgus2"]
    ci = estimate_cumulative_incidence(
        data, "sex", time="etime", status="event", cencode="censor", variance="gray"
    )
    km = estimate_kaplan_meier(
        data.assign(ev=(data["event"] != "censor").astype(int)),
        "sex",
        time="etime",
        event="ev",
        cnsr=None,
    )
    for group, table in ci.tables.items():
        s0 = table.loc[table["state"] == INITIAL_STATE]
        np.testing.assert_allclose(
            s0["std_err"], km.tables[group]["std_err"], rtol=1e-12, equal_nan=True
        )


# ---------------------------------------------------------------- Gray's test


@pytest.mark.parametrize("case", _cases("cuminc"), ids=lambda c: c["name"])
def test_gray_test_matches_cmprsk_cuminc(case: dict[str, Any]) -> None:
    args, exp = case["args"], case["expected"]
    result = compare_cumulative_incidence(
        DATASETS[case["dataset"]],
        args["by"],
        time=args["time"],
        status=args["status"],
        cencode=args["cencode"],
        strata=args["strata"],
        rho=args["rho"],
        min_events=0,
    )
    assert [str(c) for c in result.causes] == exp["causes"]
    assert_close(f"{case['name']} stat", result.statistic, exp["stat"])
    assert_close(f"{case['name']} p", result.p_value, exp["p_value"])
    assert_close(
        f"{case['name']} df", [result.df] * len(exp["df"]), exp["df"], exact=True
    )
    frame = result.to_frame()
    assert set(frame["stat"]) == {"n", "events", "chisq", "df", "p_value"}
    assert "Gray's test" in result.summary()["test"].iloc[0]


def test_gray_test_is_zero_for_identical_groups_and_needs_two_groups() -> None:
    tiny = DATASETS["tiny"]
    twice = pd.concat([tiny.assign(g="x"), tiny.assign(g="y")], ignore_index=True)
    result = compare_cumulative_incidence(
        twice, "g", time="time", status="status", cencode=0, min_events=0
    )
    np.testing.assert_allclose(result.statistic, 0.0, atol=1e-24)
    np.testing.assert_allclose(result.p_value, 1.0)
    with pytest.raises(ValueError, match="fewer than two groups"):
        compare_cumulative_incidence(
            tiny.assign(g="x"), "g", time="time", status="status", cencode=0
        )


def test_gray_test_warns_on_few_events() -> None:
    tiny = DATASETS["tiny"]
    with pytest.warns(SmallSampleWarning, match="min_events=10"):
        result = compare_cumulative_incidence(
            tiny, "group", time="time", status="status", cencode=0
        )
    assert result.few_events == (True, True)


# ----------------------------------------------------------------- Fine-Gray


def _matrix(columns: Any, p: int) -> np.ndarray:
    """A p x p matrix R wrote as a list of columns (a scalar list when p = 1)."""
    cols = [_list(c) for c in _list(columns)]
    return np.array(cols, dtype=float).reshape(p, p).T


def _fine_gray(case: dict[str, Any]) -> Any:
    args = case["args"]
    reference = args["reference"] if isinstance(args["reference"], dict) else {}
    return estimate_fine_gray(
        DATASETS[case["dataset"]],
        _list(args["covariates"]),
        time=args["time"],
        status=args["status"],
        failcode=args["failcode"],
        cencode=args["cencode"],
        categorical=_list(args["factors"]) if args["factors"] else [],
        reference=reference,
        cengroup=args["cengroup"],
        min_events=0,
    )


@pytest.mark.parametrize("case", _cases("crr"), ids=lambda c: c["name"])
def test_fine_gray_matches_cmprsk_crr(case: dict[str, Any]) -> None:
    exp = case["expected"]
    fit = _fine_gray(case)
    name = case["name"]
    terms = _list(exp["terms"])
    p = len(terms)
    assert list(fit.terms) == terms, case["r_call"]
    assert fit.converged is exp["converged"]
    assert (fit.n, fit.n_dropped) == (exp["n"], exp["n_missing"])
    table = fit.table()
    for ours, theirs in (
        ("coef", "coef"),
        ("se", "se"),
        ("se_naive", "se_naive"),
        ("z", "z"),
        ("p_value", "p_value"),
        ("shr", "hr"),
        ("shr_lower", "hr_lower"),
        ("shr_upper", "hr_upper"),
    ):
        assert_close(f"{name} {theirs}", table[ours], exp[theirs])
    for ours, theirs in (("covariance", "var"), ("information", "inf")):
        assert_close(
            f"{name} {theirs}",
            np.asarray(getattr(fit, ours)).ravel(),
            _matrix(exp[theirs], p).ravel().tolist(),
        )
    for what in ("loglik", "loglik_null", "lr_test"):
        assert_close(f"{name} {what}", getattr(fit, what), exp[what])
    assert_close(f"{name} uftime", fit.uftime, exp["uftime"], exact=True)
    assert_close(f"{name} bfitj", fit.bfitj, exp["bfitj"])
    # the score at the estimate is 0 up to crr's convergence criterion
    atol = 1e-6 * float(np.max(np.diag(_matrix(exp["inf"], p))))
    np.testing.assert_allclose(fit.score, _list(exp["score"]), rtol=0, atol=atol)
    if exp["predict"] is not None:
        newdata = _pattern_rows(case, exp["predict"]["rows"])
        pred = fit.predict(newdata)
        for k, label in enumerate(newdata.index):
            sub = pred.loc[pred["row"] == label]
            assert_close(
                f"{name} predict time", sub["time"], exp["predict"]["time"], exact=True
            )
            assert_close(
                f"{name} predict cif {k}", sub["cif"], exp["predict"]["cif"][k]
            )


def _pattern_rows(case: dict[str, Any], rows: list[dict[str, float]]) -> pd.DataFrame:
    """R's predict() patterns (dummy columns) in the data's own coding."""
    terms = _list(case["expected"]["terms"])
    args = case["args"]
    factors = _list(args["factors"]) if args["factors"] else []
    reference = args["reference"] if isinstance(args["reference"], dict) else {}
    data = DATASETS[case["dataset"]]
    out = []
    for row in rows:
        rec: dict[str, object] = {}
        for cov in _list(args["covariates"]):
            if cov not in factors:
                rec[cov] = row[cov]
                continue
            levels = sorted(data[cov].dropna().unique())
            chosen = [
                v for v in levels if f"{cov}{v}" in terms and row[f"{cov}{v}"] == 1
            ]
            rec[cov] = chosen[0] if chosen else reference.get(cov, levels[0])
        out.append(rec)
    return pd.DataFrame(out, index=[f"pattern{i}" for i in range(len(out))])


def test_fine_gray_maxiter_zero_is_not_converged_and_warns() -> None:
    case = next(c for c in _cases("crr") if c["name"] == "aml_crr_relapse")
    args = case["args"]
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        fit = estimate_fine_gray(
            DATASETS["aml_sim"],
            ["age"],
            time=args["time"],
            status=args["status"],
            failcode="relapse",
            cencode="censored",
            maxiter=0,
            min_events=0,
        )
    # crr(maxiter = 0): the score and variance at the start, no step
    assert not fit.converged and fit.iterations == 0
    assert fit.coef == (0.0,)
    assert "NOT converged" in fit.summary()["model"].iloc[0]


def test_fine_gray_default_failcode_and_input_errors() -> None:
    tiny = DATASETS["tiny"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        fit = estimate_fine_gray(tiny, "group", time="time", status="status", cencode=0)
        ref = next(c for c in _cases("crr") if c["name"] == "tiny_crr_group")
        assert fit.failcode == 1  # crr's default failcode = 1
        assert fit.coef[0] == pytest.approx(ref["expected"]["coef"], rel=1e-10)
        with pytest.raises(ValueError, match="failcode 3 does not occur"):
            estimate_fine_gray(
                tiny, "group", time="time", status="status", cencode=0, failcode=3
            )
        with pytest.raises(ValueError, match="cencode='CENSORED' is text"):
            estimate_fine_gray(tiny, "group", time="time", status="status")
        with pytest.raises(ValueError, match="neither the censoring code"):
            estimate_cumulative_incidence(
                tiny, time="time", status="status", cencode=0, causes=[1]
            )
        with pytest.raises(ValueError, match="cencode=0 is a number"):
            estimate_cumulative_incidence(
                DATASETS["aml_sim"], time="days", status="status", cencode=0
            )
        with pytest.raises(ValueError, match="reference 'C'"):
            estimate_fine_gray(
                tiny,
                "group",
                time="time",
                status="status",
                cencode=0,
                reference={"group": "C"},
            )
    with pytest.warns(SmallSampleWarning, match="only 7 events of 1"):
        estimate_fine_gray(tiny, "group", time="time", status="status", cencode=0)


def test_cumulative_incidence_input_checks() -> None:
    tiny = DATASETS["tiny"]
    kw: dict[str, Any] = {"time": "time", "status": "status", "cencode": 0}
    with pytest.raises(ValueError, match="conf_type"):
        estimate_cumulative_incidence(tiny, conf_type="wald", **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="variance"):
        estimate_cumulative_incidence(tiny, variance="greenwood", **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative times"):
        estimate_cumulative_incidence(tiny.assign(time=-tiny["time"]), **kw)
    with pytest.raises(KeyError, match="'nope'"):
        estimate_cumulative_incidence(tiny, by="nope", **kw)
    # a missing time or status drops the row and counts it
    gaps = tiny.astype({"time": float}).copy()
    gaps.loc[0, "time"] = np.nan
    res = estimate_cumulative_incidence(gaps, **kw)
    assert res.n_dropped == 1
    assert res.tables["all"]["n_risk"].max() == len(tiny) - 1
    # listed causes set the order and may include an unobserved cause (always 0)
    res = estimate_cumulative_incidence(tiny, causes=[2, 1, 3], **kw)
    assert res.causes == (2, 1, 3)
    three = res.tables["all"].loc[lambda t: t["state"] == 3]
    assert (three["estimate"] == 0).all() and three["lower"].isna().all()


def test_result_objects_state_their_conventions() -> None:
    data = DATASETS["aml_sim"]
    kw: dict[str, Any] = {"time": "days", "status": "status", "cencode": "censored"}
    ci = estimate_cumulative_incidence(data, "route", conf_type="log-log", **kw)
    frame = ci.to_frame()
    assert list(frame.columns) == ["route", "state", "time", "stat", "value"]
    assert {"estimate", "std_err", "lower", "upper", "n_risk"} <= set(frame["stat"])
    assert "log-log transform" in ci.summary()["method"].iloc[0]
    params = ci.provenance.parameters
    assert params["variance"] == "infinitesimal-jackknife"
    assert params["conf_type"] == "log-log"
    at = ci.cumulative_incidence_at([0, 10_000])
    start = at.loc[at["time"] == 0]
    assert (start.loc[start["state"] == INITIAL_STATE, "estimate"] == 1).all()
    assert (start.loc[start["state"] != INITIAL_STATE, "estimate"] == 0).all()
    assert (at.loc[at["time"] == 10_000, "n_risk"] == 0).all()
    fg = estimate_fine_gray(
        data, ["age", "route"], failcode="relapse", min_events=0, **kw
    )
    assert fg.provenance.parameters["failcode"] == "relapse"
    assert set(fg.to_frame()["stat"]) >= {"coef", "se", "se_naive", "lr_test", "n"}
    assert fg.tests()["df"].iloc[0] == 2
    assert fg.levels == {"route": ("IT", "IV")}
    with pytest.raises(ValueError, match="not levels of the model"):
        fg.predict(pd.DataFrame({"age": [60], "route": ["SC"]}))
    pred = fg.predict(pd.DataFrame({"age": [60, 60], "route": ["IT", "IV"]}))
    assert set(pred["row"]) == {0, 1} and pred["cif"].between(0, 1).all()


# ------------------------------------------------ same numbers on every machine


def _nudge(values: np.ndarray, steps: np.ndarray) -> np.ndarray:
    out = values.astype(float).copy()
    for _ in range(int(np.abs(steps).max())):
        out = np.where(steps > 0, np.nextafter(out, np.inf), out)
        out = np.where(steps < 0, np.nextafter(out, -np.inf), out)
        steps = steps - np.sign(steps)
    return out


def _all_results(data: pd.DataFrame) -> dict[str, Any]:
    kw: dict[str, Any] = {"time": "days", "status": "status", "cencode": "censored"}
    ci = estimate_cumulative_incidence(data, "dose_level", **kw)
    gray = compare_cumulative_incidence(data, "dose_level", strata="route", **kw)
    fg = estimate_fine_gray(
        data,
        ["dose_level", "age", "route"],
        failcode="relapse",
        categorical=["dose_level"],
        reference={"route": "IV"},
        min_events=0,
        **kw,
    )
    tables = {
        str(g): t.sort_values(["state", "time"], kind="stable")[
            ["estimate", "std_err", "lower", "upper"]
        ].to_numpy()
        for g, t in ci.tables.items()
    }
    return {
        "ci": tables,
        "gray": np.asarray(gray.statistic),
        "coef": np.asarray(fg.coef),
        "se": np.asarray(fg.se),
        "se_naive": np.asarray(fg.se_naive),
        "loglik": fg.loglik,
        "converged": fg.converged,
    }


def test_row_order_and_ulp_noise_do_not_change_results() -> None:
    data = DATASETS["aml_sim"]
    base = _all_results(data)
    rng = np.random.default_rng(11)
    shuffled = data.iloc[rng.permutation(len(data))]
    moved = shuffled.assign(
        age=_nudge(shuffled["age"].to_numpy(), rng.integers(-3, 4, len(data)))
    )
    for other in (_all_results(shuffled), _all_results(moved)):
        for g, table in base["ci"].items():
            # Aalen-Johansen: no covariates; only the summation order of tied rows
            np.testing.assert_allclose(other["ci"][g], table, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(other["gray"], base["gray"], rtol=1e-12)
        for name in ("coef", "se", "se_naive"):
            np.testing.assert_allclose(other[name], base[name], rtol=1e-10)
        assert other["loglik"] == pytest.approx(base["loglik"], rel=1e-12)
        assert other["converged"] and base["converged"]


_KERNEL_SCRIPT = """
import json, sys
import numpy as np
import pandas as pd
from analyses.survival import (compare_cumulative_incidence,
    estimate_cumulative_incidence, estimate_fine_gray)
data = pd.DataFrame(json.loads(sys.stdin.read()))
kw = dict(time="days", status="status", cencode="censored")
ci = estimate_cumulative_incidence(data, "dose_level", **kw)
gray = compare_cumulative_incidence(data, "dose_level", strata="route", **kw)
fg = estimate_fine_gray(data, ["dose_level", "age", "route"], failcode="relapse",
                        categorical=["dose_level"], reference={"route": "IV"},
                        min_events=0, **kw)
out = {"ci": {str(g): t[["estimate", "std_err"]].to_numpy().ravel().tolist()
              for g, t in ci.tables.items()},
       "gray": list(gray.statistic), "coef": list(fg.coef), "se": list(fg.se),
       "converged": fg.converged}
print(json.dumps(out))
"""


def test_same_with_every_blas_kernel_and_thread_count(
    blas_variants: Callable[[str, str], list[tuple[dict[str, str], str]]],
) -> None:
    data = DATASETS["aml_sim"]
    runs = blas_variants(_KERNEL_SCRIPT, json.dumps(data.to_dict("list")))
    assert len(runs) >= 2
    first = json.loads(runs[0][1])
    ref = next(c for c in _cases("crr") if c["name"] == "aml_crr_relapse")
    for env, text in runs:
        other = json.loads(text)
        # Aalen-Johansen uses no BLAS at all: bit-identical
        assert other["ci"] == first["ci"], env
        np.testing.assert_allclose(other["gray"], first["gray"], rtol=1e-12)
        np.testing.assert_allclose(other["coef"], first["coef"], rtol=1e-10)
        np.testing.assert_allclose(other["se"], first["se"], rtol=1e-10)
        np.testing.assert_allclose(other["coef"], ref["expected"]["coef"], rtol=1e-9)
        assert other["converged"], env


# ------------------------------------------------------ the AML demo trial


@pytest.fixture(scope="module")
def aml_demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import trialdata as td
    from trialdata.demo import write_trial

    folder = tmp_path_factory.mktemp("cr") / "demo-trial"
    write_trial(folder, "nk-aml", seed=3)
    return td.Trial.load(folder).analysis_data()


def test_derive_competing_events_on_the_aml_demo(aml_demo: Any) -> None:
    adtte = aml_demo.adtte.loc[aml_demo.adtte["safety"]]
    cr = derive_competing_events(adtte, paramcd="PFS")
    pfs = adtte.loc[adtte["PARAMCD"] == "PFS"]
    assert len(cr) == len(pfs)
    assert list(cr["CAUSE"].cat.categories) == [
        "CENSORED",
        "RELAPSE",
        "DEATH WITHOUT RELAPSE",
    ]
    relapse = (pfs["CNSR"] == 0) & (pfs["EVNTDESC"] == "DISEASE PROGRESSION")
    death = (pfs["CNSR"] == 0) & (pfs["EVNTDESC"] == "DEATH")
    assert (cr["CAUSE"] == "RELAPSE").sum() == relapse.sum() > 0
    assert (cr["CAUSE"] == "DEATH WITHOUT RELAPSE").sum() == death.sum() > 0
    assert (cr["CAUSEN"] == 0).sum() == (pfs["CNSR"] > 0).sum()
    # the shared ADTTE is not modified
    assert "CAUSE" not in aml_demo.adtte.columns
    # the same numbers as R on the same rows (the aml_demo dataset of the JSON)
    demo = DATASETS["aml_demo"]
    mine = cr[["subject_id", "dose_level", "AVAL", "CAUSE"]].astype({"CAUSE": str})
    assert mine["subject_id"].tolist() == demo["subject"].tolist()
    assert mine["AVAL"].tolist() == demo["AVAL"].tolist()
    assert mine["CAUSE"].tolist() == demo["CAUSE"].tolist()
    # the cumulative incidence of relapse is below 1 - KM of relapse
    ci = estimate_cumulative_incidence(cr)
    km = estimate_kaplan_meier(
        cr.assign(rel=(cr["CAUSE"] == "RELAPSE").astype(int)), event="rel", cnsr=None
    )
    end = float(cr["AVAL"].max())
    at = ci.cumulative_incidence_at([end])
    cif = float(at.loc[at["state"] == "RELAPSE", "estimate"].iloc[0])
    assert cif < 1 - float(km.survival_at([end])["surv"].iloc[0])


def test_derive_competing_events_refuses_unknown_events() -> None:
    adtte = pd.DataFrame(
        {
            "PARAMCD": ["PFS"] * 4,
            "AVAL": [10.0, 20, 30, 40],
            "CNSR": pd.array([0, 0, 1, pd.NA], dtype="Int64"),
            "EVNTDESC": ["DEATH", "TRANSPLANT", "", ""],
        }
    )
    with pytest.raises(ValueError, match="TRANSPLANT"):
        derive_competing_events(adtte)
    out = derive_competing_events(
        adtte, causes={"death": "DEATH", "transplant": "HSCT"}
    )
    assert out["CAUSE"].tolist()[:3] == ["DEATH", "HSCT", "CENSORED"]
    assert pd.isna(out["CAUSE"].iloc[3])
    assert out["CAUSEN"].tolist() == [1, 2, 0, pd.NA]
