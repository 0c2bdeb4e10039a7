"""Every case of ``shared/reference/dose_finding_r.json``, one test per case id.

The cases were produced by R 4.2.2 with BOIN 2.7.2, dfcrm 0.2-2.1, bcrm 0.5.4 and
escalation 0.2.3; each case records its R call in ``source``. Deterministic cases are
matched to their stated absolute tolerance; Monte Carlo cases to their stated
3-standard-error tolerance.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analyses.dose_finding import (
    BOIN,
    CRM,
    ThreePlusThree,
    boin_boundaries,
    getprior,
    prob_escalate_3plus3,
    simulate_oc,
)
from analyses.dose_finding.pathways import dose_transition_pathways

REFERENCE = Path(__file__).resolve().parents[3] / ".." / "shared" / "reference"
REFERENCE = REFERENCE.resolve() / "dose_finding_r.json"


def _cases() -> list[dict[str, Any]]:
    if not REFERENCE.is_file():
        return []
    return list(json.loads(REFERENCE.read_text())["cases"])


CASES = {c["id"]: c for c in _cases()}


def case_ids(prefix: str) -> list[str]:
    return [i for i in CASES if i.startswith(prefix)]


@pytest.fixture(autouse=True)
def _need_reference() -> None:
    if not CASES:
        pytest.skip(f"reference file not found: {REFERENCE}")


def test_every_case_is_covered() -> None:
    covered = (
        set(case_ids("boin_lambda"))
        | set(case_ids("boin_boundary_table"))
        | set(case_ids("boin_select_mtd"))
        | set(case_ids("dfcrm_getprior"))
        | {"dfcrm_crm_doc_example_empiric", "dfcrm_crm_doc_example_logistic"}
        | {"dfcrm_titecrm_linear_weights", "crm_pointestimate_conventions_doc_example"}
        | set(case_ids("three_plus_three"))
        | set(case_ids("dtp_"))
        | {"boin_get_oc_scenario_A", "dfcrm_crmsim_scenario_A"}
    )
    assert set(CASES) == covered
    assert len(CASES) == 23


@pytest.mark.parametrize("case_id", case_ids("boin_lambda"))
def test_boin_lambda(case_id: str) -> None:
    """R: BOIN::get.boundary(target, ncohort, cohortsize)$lambda_e / lambda_d."""
    c = CASES[case_id]
    inp, exp = c["inputs"], c["expected"]
    lam_e, lam_d = boin_boundaries(inp["target"], inp["p_saf"], inp["p_tox"])
    tol = c["tolerance"]["abs"]
    assert lam_e == pytest.approx(exp["lambda_e"], abs=tol)
    assert lam_d == pytest.approx(exp["lambda_d"], abs=tol)


@pytest.mark.parametrize("case_id", case_ids("boin_boundary_table"))
def test_boin_boundary_table(case_id: str) -> None:
    """R: BOIN::get.boundary(target=0.30, ncohort=10, cohortsize=3)."""
    c = CASES[case_id]
    inp, exp = c["inputs"], c["expected"]
    boin = BOIN(
        inp["target"],
        5,
        p_saf=inp["p_saf"],
        p_tox=inp["p_tox"],
        cutoff_eli=inp["cutoff_eli"],
        cohort_size=inp["cohortsize"],
        n_cohorts=inp["ncohort"],
    )
    table = boin.decision_table().boundaries
    full = exp["full_boundary_tab"]
    assert table["n"].tolist() == full["n"]
    for col in ("escalate_if_dlt_le", "deescalate_if_dlt_ge", "eliminate_if_dlt_ge"):
        got = [None if pd.isna(v) else int(v) for v in table[col]]
        assert got == full[col], col
    by_cohort = table.set_index("n").loc[exp["boundary_tab"]["n"]]
    for col in ("escalate_if_dlt_le", "deescalate_if_dlt_ge", "eliminate_if_dlt_ge"):
        assert by_cohort[col].astype(int).tolist() == exp["boundary_tab"][col], col


@pytest.mark.parametrize("case_id", case_ids("boin_select_mtd"))
def test_boin_select_mtd(case_id: str) -> None:
    """R: BOIN::select.mtd(target, npts, ntox) and boundMTD=TRUE; full-precision
    estimates re-evaluated in R from the same formulas."""
    c = CASES[case_id]
    inp, exp = c["inputs"], c["expected"]
    k = len(inp["npts"])
    tol = c["tolerance"]["abs"]
    for bound, key in ((False, "MTD"), (True, "MTD_with_boundMTD_TRUE")):
        boin = BOIN(inp["target"], k, cutoff_eli=inp["cutoff_eli"], bound_mtd=bound)
        sel = boin.select_mtd(inp["npts"], inp["ntox"])
        assert (sel.mtd or 99) == exp[key]
    est = sel.estimates.set_index("dose").loc[exp["treated_doses"]]
    np.testing.assert_allclose(
        est["phat"], exp["phat_isotonic_treated"], atol=tol, rtol=0
    )
    np.testing.assert_allclose(
        est["lower"], exp["ci95_lower_isotonic_treated"], atol=tol, rtol=0
    )
    np.testing.assert_allclose(
        est["upper"], exp["ci95_upper_isotonic_treated"], atol=tol, rtol=0
    )
    np.testing.assert_allclose(
        est["p_overdose"], exp["p_overdose_isotonic_treated"], atol=tol, rtol=0
    )
    # the printed two-decimal values, dose by dose (untreated doses have no estimate)
    for row in exp["printed_p_est"]:
        value = sel.estimates.set_index("dose").loc[row["dose"], "phat"]
        if row["phat"] == "----":
            assert math.isnan(value)
        else:
            assert f"{value:.2f}" == row["phat"]


@pytest.mark.parametrize("case_id", case_ids("dfcrm_getprior"))
def test_getprior(case_id: str) -> None:
    """R: dfcrm::getprior(halfwidth, target, nu, nlevel)."""
    c = CASES[case_id]
    inp = c["inputs"]
    got = getprior(
        inp["halfwidth"],
        inp["target"],
        inp["nu"],
        inp["nlevel"],
        model=inp["model"],
        intercept=inp["intcpt"],
    )
    np.testing.assert_allclose(
        got, c["expected"]["skeleton"], atol=c["tolerance"]["abs"], rtol=0
    )


@pytest.mark.parametrize(
    "case_id",
    [
        "dfcrm_crm_doc_example_empiric",
        "dfcrm_crm_doc_example_logistic",
        "dfcrm_titecrm_linear_weights",
    ],
)
def test_dfcrm_fit(case_id: str) -> None:
    """R: dfcrm::crm(prior, target, tox, level, model=...) and
    dfcrm::titecrm(prior, target, tox, level, followup=, obswin=60, scheme="linear")."""
    c = CASES[case_id]
    inp, exp = c["inputs"], c["expected"]
    tol = c["tolerance"]["abs"]
    crm = CRM(
        inp["prior_skeleton"],
        inp["target"],
        model=inp["model"],
        prior_sd=inp["prior_sd_of_a"],
        intercept=inp.get("intcpt", 3),
        conf_level=inp.get("conf_level", 0.9),
    )
    if "followup" in inp:
        fit = crm.fit(
            inp["level"], inp["tox"], followup=inp["followup"], obswin=inp["obswin"]
        )
        weights = fit.provenance.input_rows  # provenance records the patient frame
        assert weights["patients"] == len(inp["tox"])
        from analyses.dose_finding import tite_weights

        np.testing.assert_allclose(
            tite_weights(inp["followup"], inp["obswin"], inp["tox"]),
            exp["weights"],
            atol=tol,
        )
    else:
        fit = crm.fit(inp["level"], inp["tox"])
    assert fit.estimate_a == pytest.approx(exp["estimate_a"], abs=tol)
    assert fit.post_var == pytest.approx(exp["post_var"], abs=tol)
    np.testing.assert_allclose(fit.estimates["ptox"], exp["ptox"], atol=tol, rtol=0)
    np.testing.assert_allclose(
        fit.estimates["ptox_lower"], exp["ptoxL"], atol=tol, rtol=0
    )
    np.testing.assert_allclose(
        fit.estimates["ptox_upper"], exp["ptoxU"], atol=tol, rtol=0
    )
    assert fit.recommended_dose == exp["recommended_dose"]


def test_crm_pointestimate_conventions_doc_example() -> None:
    """R: dfcrm::crm (plug-in exp(E[a]));
    bcrm::bcrm(ff="power", prior.alpha=list(3,0,1.34), pointest="plugin" / "mean");
    posterior integrals and quantiles by stats::integrate;
    normal approximation = escalation::prob_tox_exceeds on a dfcrm fit."""
    c = CASES["crm_pointestimate_conventions_doc_example"]
    inp, exp = c["inputs"], c["expected"]
    tol = c["tolerance"]["abs"]
    args = (inp["prior_skeleton"], inp["target"])
    cases = {
        "plugin": exp["dfcrm_plugin_exp_of_mean_a"],
        "plugin_alpha": exp["bcrm_plugin_mean_alpha"],
        "posterior_mean": exp["posterior_mean_of_p"],
    }
    for convention, want in cases.items():
        crm = CRM(*args, point_estimate=convention)  # type: ignore[arg-type]
        fit = crm.fit(inp["level"], inp["tox"])
        np.testing.assert_allclose(
            fit.estimates["ptox"], want["ptox"], atol=tol, rtol=0
        )
        assert fit.recommended_dose == want["recommended_dose"], convention
    pm = exp["posterior_mean_of_p"]
    np.testing.assert_allclose(
        fit.estimates["ptox_sd"], pm["posterior_sd"], atol=tol, rtol=0
    )
    np.testing.assert_allclose(
        fit.estimates["p_exceeds_target"],
        exp["exact_posterior_prob_ptox_gt_0.2"],
        atol=tol,
        rtol=0,
    )
    np.testing.assert_allclose(
        crm.exceedance_normal(fit, 0.2),
        exp["normal_approx_prob_ptox_gt_0.2"],
        atol=tol,
        rtol=0,
    )
    q = crm.posterior_quantiles(inp["level"], inp["tox"], [0.025, 0.5, 0.975])
    quant = pm["posterior_quantiles_2.5_50_97.5"]
    np.testing.assert_allclose(q["q0.025"], quant["q025"], atol=tol, rtol=0)
    np.testing.assert_allclose(q["q0.5"], quant["q50"], atol=tol, rtol=0)
    np.testing.assert_allclose(q["q0.975"], quant["q975"], atol=tol, rtol=0)


def test_three_plus_three_prob_escalate() -> None:
    """Closed form (1-p)^3 + 3p(1-p)^2 (1-p)^3, evaluated in R."""
    c = CASES["three_plus_three_prob_escalate"]
    got = prob_escalate_3plus3(c["inputs"]["p"])
    np.testing.assert_allclose(
        got, c["expected"]["prob_escalate"], atol=c["tolerance"]["abs"], rtol=0
    )


@pytest.mark.parametrize("case_id", case_ids("three_plus_three_exact_oc"))
def test_three_plus_three_exact_oc(case_id: str) -> None:
    """R: bcrm::threep3(truep, threep3.esc.only=TRUE/FALSE) exact enumeration."""
    c = CASES[case_id]
    inp, exp = c["inputs"], c["expected"]
    tol = c["tolerance"]["abs"]
    design = ThreePlusThree(
        len(inp["true_p"]),
        allow_deescalation=not inp["escalation_only"],
        start_dose=inp["start_dose"],
    )
    oc = design.exact_oc(inp["true_p"])
    probs = oc.prob_select["probability"].to_numpy()
    assert probs[0] == pytest.approx(exp["prob_select"]["none"], abs=tol)
    np.testing.assert_allclose(probs[1:], exp["prob_select"]["dose"], atol=tol, rtol=0)
    np.testing.assert_allclose(
        oc.per_dose["mean_n"], exp["mean_n_per_dose"], atol=tol, rtol=0
    )
    np.testing.assert_allclose(
        oc.per_dose["mean_dlt"], exp["mean_dlt_per_dose"], atol=tol, rtol=0
    )
    assert oc.expected_total_n == pytest.approx(exp["expected_total_n"], abs=tol)


@pytest.mark.parametrize("case_id", case_ids("dtp_"))
def test_dose_transition_pathways(case_id: str) -> None:
    """R: escalation::get_boin(num_doses=5, target=0.3) %>%
    get_dose_paths(cohort_sizes=c(3, 3), next_dose=1)."""
    c = CASES[case_id]
    inp = c["inputs"]
    boin = BOIN(inp["target"], inp["num_doses"])
    paths = dose_transition_pathways(
        boin, cohort_sizes=inp["cohort_sizes"], start_dose=inp["start_dose"]
    )
    got = {
        row.path: (None if pd.isna(row.next_dose) else int(row.next_dose))
        for row in paths.paths.itertuples()
    }
    want = {p["path"]: p["next_dose"] for p in c["expected"]["paths"]}
    assert got == want


def _mc_check_mean(
    ours: float, sd: float, n: int, ref: float, sd_ref: float | None = None
) -> None:
    # 3 combined SEs; the reference SD is not reported, so ours stands in for it
    # unless a bound for it is given
    sd_r = sd if sd_ref is None else sd_ref
    se = math.sqrt(sd**2 / n + sd_r**2 / n)
    assert abs(ours - ref) <= 3 * se + 1e-12, (ours, ref, 3 * se)


def test_boin_get_oc_scenario_a() -> None:
    """R: BOIN::get.oc(target=0.3, p.true=c(0.05,0.15,0.30,0.45,0.60), ncohort=10,
    cohortsize=3, ntrial=10000, seed=6). Matched in distribution: selection within
    2.12 points (3 combined binomial SEs), means within 3 combined SEs."""
    c = CASES["boin_get_oc_scenario_A"]
    inp, exp = c["inputs"], c["expected"]
    boin = BOIN(
        inp["target"],
        len(inp["p_true"]),
        cohort_size=inp["cohortsize"],
        n_cohorts=inp["ncohort"],
        cutoff_eli=inp["cutoff_eli"],
        n_earlystop=inp["n_earlystop"],
    )
    oc = simulate_oc(boin, {"A": inp["p_true"]}, n_trials=inp["ntrial"], seed=2026)
    f = oc.to_frame().set_index(["stat", "dose"])["value"]
    doses = range(1, 6)
    sel = [f[("pct_select", d)] for d in doses]
    np.testing.assert_allclose(
        sel, exp["selection_pct"], atol=c["tolerance"]["selection_pct_abs"]
    )
    assert f[("pct_select", 0)] == pytest.approx(
        exp["pct_stopped_no_mtd"], abs=c["tolerance"]["selection_pct_abs"]
    )
    for d in doses:
        _mc_check_mean(
            f[("mean_n", d)],
            f[("sd_n", d)],
            inp["ntrial"],
            exp["mean_n_per_dose"][d - 1],
        )
    for d in doses:
        _mc_check_mean(
            f[("mean_dlt", d)],
            f[("sd_dlt", d)],
            inp["ntrial"],
            exp["mean_dlt_per_dose"][d - 1],
        )
    trial = oc.to_frame()
    trial = trial[trial["dose"].isna()].set_index("stat")["value"]
    # Total n is 30 unless dose 1 is eliminated (R: 0.02% of trials, n between 3 and
    # 27), so the reference SD is at most 27 * sqrt(f (1 - f)) with f = 0.0002; our
    # own run may have no early stop at all (SD 0), hence the bound.
    f_stop = exp["pct_stopped_no_mtd"] / 100
    _mc_check_mean(
        trial["mean_total_n"],
        trial["sd_total_n"],
        inp["ntrial"],
        exp["mean_total_n"],
        sd_ref=27 * math.sqrt(f_stop * (1 - f_stop)),
    )


def test_dfcrm_crmsim_scenario_a() -> None:
    """R: dfcrm::crmsim(PI, getprior(0.05,0.3,3,5), 0.3, n=30, x0=1, nsim=4000,
    mcohort=3, restrict=TRUE, seed=1009). Selection within 0.0281 (3 combined SEs for
    4000 vs 10000 trials); we run 10000 trials."""
    c = CASES["dfcrm_crmsim_scenario_A"]
    inp, exp = c["inputs"], c["expected"]
    crm = CRM(
        inp["skeleton"],
        inp["target"],
        model=inp["model"],
        prior_sd=inp["prior_sd_of_a"],
        cohort_size=inp["cohort_size"],
        n_cohorts=inp["n"] // inp["cohort_size"],
        start_dose=inp["start_dose"],
        no_skip=True,
        coherence=True,
    )
    oc = simulate_oc(crm, {"A": inp["true_p"]}, n_trials=10_000, seed=2026)
    f = oc.to_frame().set_index(["stat", "dose"])["value"]
    sel = [f[("pct_select", d)] / 100 for d in range(1, 6)]
    np.testing.assert_allclose(
        sel, exp["prob_select"], atol=c["tolerance"]["selection_prob_abs"]
    )
    assert f[("pct_select", 0)] == 0.0  # crmsim never stops early
    for d in range(1, 6):
        # 4000 reference trials vs 10000 here
        se = f[("sd_n", d)] * math.sqrt(1 / 4000 + 1 / 10_000)
        assert abs(f[("mean_n", d)] - exp["mean_n_per_dose"][d - 1]) <= 3 * se
