"""Every case of ``shared/reference/survival_r.json``.

R 4.2.2, survival 3.5-3, coin 1.4-2.

One test per case, id = the case id. Tolerance as stated in the file:
``|diff| <= 1e-6 * max(1, |expected|)`` for numbers, exact for counts, times and
medians, R ``NA`` <=> NaN. The R call that produced each case is in the case's
``inputs.r_call`` and is printed in the assertion message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analyses.survival import (
    compare_survival,
    estimate_cox,
    estimate_follow_up,
    estimate_kaplan_meier,
    estimate_rmst,
)

REFERENCE = Path(__file__).resolve().parents[3] / ".." / "shared" / "reference"
#: R's survival::lung, status 0/1 (R's status - 1), as lifelines ships it
LUNG = Path(__file__).resolve().parents[1] / "reference" / "lung.csv"
CASES: list[dict[str, Any]] = []
if (REFERENCE / "survival_r.json").is_file():
    import json

    CASES = json.loads((REFERENCE / "survival_r.json").read_text())


def case_frame(case: dict[str, Any]) -> pd.DataFrame:
    """Input data of a case with columns ``time`` and ``status`` (1 = event)."""
    ds = case["inputs"]["dataset"]
    if "inline_data" in ds:
        frame = pd.DataFrame(ds["inline_data"])
        return frame.rename(columns={"futime": "time", "fustat": "status"})
    if ds["name"] == "lung":
        # identical to R's survival::lung row by row, status = R status - 1 (0/1)
        return pd.read_csv(LUNG)
    raise KeyError(ds["name"])


def close(actual: float, expected: float | None, rel: float = 1e-6) -> bool:
    if expected is None:
        return bool(np.isnan(actual))
    if np.isnan(actual):
        return False
    return abs(actual - expected) <= rel * max(1.0, abs(expected))


def case_tolerance(case: dict[str, Any]) -> float:
    """The relative tolerance the case states (``1e-6`` in every case of the file)."""
    tol = case.get("tolerance", {})
    text = tol.get("numeric") or tol.get("coin_exact_p") or ""
    found = re.search(r"\d(?:\.\d+)?e-\d+", text)
    assert found, f"{case['id']}: no numeric tolerance stated: {tol}"
    return float(found.group(0))


class Checker:
    def __init__(self, case: dict[str, Any]) -> None:
        self.case = case
        self.rel = case_tolerance(case)
        self.failures: list[str] = []

    def __call__(
        self, what: str, actual: Any, expected: Any, exact: bool = False
    ) -> None:
        # counts, times and medians: exact (the file's "counts_times_medians")
        rel = 0.0 if exact else self.rel
        a = np.atleast_1d(np.asarray(actual, dtype=float))
        e = [expected] if not isinstance(expected, list) else expected
        if len(a) != len(e):
            self.failures.append(f"{what}: length {len(a)} != {len(e)}")
            return
        for i, (x, y) in enumerate(zip(a, e, strict=True)):
            if not close(float(x), y, rel):
                self.failures.append(f"{what}[{i}]: got {x!r}, R {y!r}")

    def done(self) -> None:
        call = self.case["inputs"].get("r_call", "")
        assert not self.failures, f"{self.case['id']} ({call}):\n" + "\n".join(
            self.failures
        )


def _group_key(label: str) -> str:
    return label.split("=", 1)[1]


def check_km(case: dict[str, Any], check: Checker) -> None:
    data = case_frame(case)
    inputs = case["inputs"]
    by = inputs.get("group")
    if case["id"] == "lung_reverse_km_followup":
        for conf_type in ("log", "log-log"):
            fu = estimate_follow_up(
                data, time="time", event="status", cnsr=None, conf_type=conf_type
            ).median()
            exp_fu = case["expected"][conf_type]["all"]
            check(f"follow_up/{conf_type}/median", fu["median"], exp_fu["median"], True)
            check(f"follow_up/{conf_type}/lcl", fu["lower"], exp_fu["median_lcl"], True)
            check(f"follow_up/{conf_type}/ucl", fu["upper"], exp_fu["median_ucl"], True)
        data = data.assign(status=1 - data["status"])
    times = inputs["times"]
    for conf_type in ("log", "log-log"):
        km = estimate_kaplan_meier(
            data, by, time="time", event="status", cnsr=None, conf_type=conf_type
        )
        at = km.survival_at(times)
        table = km.median(rule="table")
        quant = km.quantile([0.25, 0.5, 0.75], rule="quantile")
        for label, exp in case["expected"][conf_type].items():
            key: Any = "all" if label == "all" else _group_key(label)
            g = km.group_column
            # group values may be numbers in the data (sex, rx)
            if key != "all" and data[by].dtype.kind in "if":
                key = type(data[by].iloc[0].item())(float(key))
            sub = at[at[g] == key]
            tag = f"{conf_type}/{label}"
            for col in ("surv", "std_err", "lower", "upper", "n_risk"):
                check(f"{tag}/{col}", sub[col], exp[col], col == "n_risk")
            check(
                f"{tag}/n_event_in_interval",
                sub["n_event"],
                exp["n_event_in_interval"],
                True,
            )
            check(
                f"{tag}/n_censor_in_interval",
                sub["n_censor"],
                exp["n_censor_in_interval"],
                True,
            )
            med = table[table[g] == key].iloc[0]
            check(f"{tag}/n", med["n"], exp["n"], True)
            check(f"{tag}/events", med["events"], exp["events"], True)
            check(f"{tag}/median", med["median"], exp["median"], True)
            check(f"{tag}/median_lcl", med["lower"], exp["median_lcl"], True)
            check(f"{tag}/median_ucl", med["upper"], exp["median_ucl"], True)
            q = quant[quant[g] == key].set_index("prob")
            check(
                f"{tag}/q50_quantile_fn",
                q.loc[0.5, "estimate"],
                exp["q50_quantile_fn"],
                True,
            )
            check(
                f"{tag}/q50_lcl_quantile_fn",
                q.loc[0.5, "lower"],
                exp["q50_lcl_quantile_fn"],
                True,
            )
            check(
                f"{tag}/q50_ucl_quantile_fn",
                q.loc[0.5, "upper"],
                exp["q50_ucl_quantile_fn"],
                True,
            )
            for p, name in ((0.25, "q25"), (0.75, "q75")):
                check(f"{tag}/{name}", q.loc[p, "estimate"], exp[name], True)
                check(f"{tag}/{name}_lcl", q.loc[p, "lower"], exp[f"{name}_lcl"], True)
                check(f"{tag}/{name}_ucl", q.loc[p, "upper"], exp[f"{name}_ucl"], True)
    if "rmst" in case["expected"]:
        km = estimate_kaplan_meier(data, by, time="time", event="status", cnsr=None)
        for label, exp in case["expected"]["rmst"].items():
            rm = km.rmst(exp["tau"])
            key = "all" if label == "all" else _group_key(label)
            if key != "all" and data[by].dtype.kind in "if":
                key = type(data[by].iloc[0].item())(float(key))
            row = rm[rm[km.group_column] == key].iloc[0]
            check(f"rmst/{label}/rmean", row["rmst"], exp["rmean"])
            check(f"rmst/{label}/se_rmean", row["se"], exp["se_rmean"])


def _lung_strata_subset(data: pd.DataFrame) -> pd.DataFrame:
    # R: subset(lung, !is.na(ph.ecog))
    return data[data["ph.ecog"].notna()]


def check_logrank(case: dict[str, Any], check: Checker) -> None:
    data = case_frame(case)
    inputs = case["inputs"]
    exp = case["expected"]
    strata = inputs.get("strata")
    if strata == "ph.ecog":
        data = _lung_strata_subset(data)
    weights = "peto-peto" if exp["rho"] == 1 else "logrank"
    res = compare_survival(
        data,
        inputs["group"],
        time="time",
        event="status",
        cnsr=None,
        weights=weights,
        strata=strata,
        min_events=0,
    )
    check("chisq", res.chisq, exp["chisq"])
    check("df", res.df, exp["df"], True)
    check("p", res.p_value, exp["p"])
    check("n", res.n, exp["n"], True)
    check("observed", res.observed, exp["observed"])
    check("expected", res.expected, exp["expected"])
    # R's var is column-major; it is symmetric, so the flat order is the same
    check("var", np.asarray(res.variance).ravel(order="F"), exp["var"])


def check_exact(case: dict[str, Any], check: Checker) -> None:
    data = case_frame(case)
    by = "x" if "x" in data else "rx"
    exp = case["expected"]
    exact = compare_survival(
        data, by, time="time", event="status", cnsr=None, method="exact", min_events=0
    )
    check("coin_exact_p", exact.p_value, exp["coin_exact_p"])
    check(
        "coin_asymptotic_p", exact.p_value_permutation_normal, exp["coin_asymptotic_p"]
    )
    if "coin_asymptotic_z" in exp:
        # coin orders the levels the same way; |Z| is what the two-sided test uses
        check(
            "coin_asymptotic_z", abs(exact.permutation_z), abs(exp["coin_asymptotic_z"])
        )
    if "coin_montecarlo_p_1e5" in exp:
        mc = compare_survival(
            data,
            by,
            time="time",
            event="status",
            cnsr=None,
            method="monte-carlo",
            n_resamples=100_000,
            seed=20240101,
            min_events=0,
        )
        # Monte Carlo with another generator than R's: the case states +-0.002
        assert abs(mc.p_value - exp["coin_montecarlo_p_1e5"]) <= 0.002


def check_cox(case: dict[str, Any], check: Checker) -> None:
    data = case_frame(case)
    inputs = case["inputs"]
    exp = case["expected"]
    strata = inputs.get("strata")
    if case["id"] == "lung_cox_sexonly_strat_breslow":
        strata = "ph.ecog"
    if strata == "ph.ecog":
        data = _lung_strata_subset(data)
    covariates = inputs.get("covariates") or (
        ["sex"] if case["id"].startswith("lung") else ["x"]
    )
    res = estimate_cox(
        data,
        covariates,
        time="time",
        event="status",
        cnsr=None,
        ties=exp["ties"],
        strata=strata,
        min_events=0,
    )
    terms = exp["terms"] if isinstance(exp["terms"], list) else [exp["terms"]]
    assert list(res.terms) == terms
    table = res.table()
    check("coef", table["coef"], exp["coef"])
    check("hr", table["hr"], exp["hr"])
    check("se", table["se"], exp["se"])
    check("z", table["z"], exp["z"])
    check("wald_p", table["p_value"], exp["wald_p"])
    check("hr_lower95", table["hr_lower"], exp["hr_lower95"])
    check("hr_upper95", table["hr_upper"], exp["hr_upper95"])
    check("loglik_null", res.loglik_null, exp["loglik_null"])
    check("loglik_model", res.loglik_model, exp["loglik_model"])
    tests = res.tests().set_index("test")
    check("lr_test", res.lr_test, exp["lr_test"])
    check("lr_df", res.df, exp["lr_df"], True)
    check("lr_p", tests.loc["likelihood ratio", "p_value"], exp["lr_p"])
    # summary.coxph stores the Wald statistic rounded to 2 decimals
    # (waldtest = c(test = round(x$wald.test, 2), ...)); its p is unrounded.
    check("wald_test (2 dp)", round(res.wald_test, 2), exp["wald_test"])
    check("wald_test_p", tests.loc["wald", "p_value"], exp["wald_test_p"])
    check("score_test", res.score_test, exp["score_test"])
    check("score_test_p", tests.loc["score", "p_value"], exp["score_test_p"])
    check("n", res.n, exp["n"], True)
    check("nevent", res.n_events, exp["nevent"], True)
    check("concordance", res.concordance, exp["concordance"])


def check_rmst_diff(case: dict[str, Any], check: Checker) -> None:
    data = case_frame(case)
    exp = case["expected"]
    by = exp["arm_A"].split("=", 1)[0]
    res = estimate_rmst(
        data, by, tau=exp["tau"], time="time", event="status", cnsr=None
    )
    est = res.estimates
    check("rmst_A", est["rmst"].iloc[0], exp["rmst_A"])
    check("rmst_B", est["rmst"].iloc[1], exp["rmst_B"])
    diff = res.differences.iloc[0]
    check("diff_B_minus_A", diff["difference"], exp["diff_B_minus_A"])
    check("se_diff", diff["se"], exp["se_diff"])
    check("lower95", diff["lower"], exp["lower95"])
    check("upper95", diff["upper"], exp["upper95"])
    check("z", diff["z"], exp["z"])
    check("p_two_sided", diff["p_value"], exp["p_two_sided"])


def _dispatch(case: dict[str, Any]) -> str:
    cid = case["id"]
    if cid.endswith("_km") or "_km_" in cid:
        return "km"
    if ("logrank" in cid and "exact" not in cid) or "petopeto" in cid:
        return "logrank"
    if cid.endswith("_exact") and "cox" not in cid:
        return "exact"
    if "_cox_" in cid:
        return "cox"
    if "_rmst_diff_" in cid:
        return "rmst_diff"
    return "other"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_r_reference(case: dict[str, Any]) -> None:
    check = Checker(case)
    kind = _dispatch(case)
    if kind == "km":
        check_km(case, check)
    elif kind == "logrank":
        check_logrank(case, check)
    elif kind == "exact":
        check_exact(case, check)
    elif kind == "cox":
        check_cox(case, check)
    elif kind == "rmst_diff":
        check_rmst_diff(case, check)
    else:
        pytest.fail(f"no checker for {case['id']}")
    check.done()
