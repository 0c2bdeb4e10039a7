"""Simulation: hand-computed degenerate scenarios, reproducibility, common random
numbers, agreement with the exact 3+3 enumeration, and a Dask cluster run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analyses.dose_finding import (
    BOIN,
    CRM,
    ThreePlusThree,
    dose_transition_pathways,
    getprior,
    simulate_oc,
)


def _stat(oc, design: str, stat: str, dose: int | None = None) -> float:  # type: ignore[no-untyped-def]
    f = oc.to_frame()
    f = f[(f["design"] == design) & (f["stat"] == stat)]
    f = f[f["dose"].isna()] if dose is None else f[f["dose"] == dose]
    return float(f["value"].iloc[0])


def test_no_toxicity_by_hand() -> None:
    # p = 0 everywhere: BOIN escalates every cohort (0 <= floor(lambda_e n)) and
    # stays at the top: n = (3, 3, 3, 3, 18). Isotonic estimates 0.05/3.1 > 0.05/18.1
    # pool to one value; the tie-break picks the highest dose. True MTD (closest to
    # 0.3, ties lower) is dose 1, so 27 of 30 patients are above it: 90%.
    oc = simulate_oc(BOIN(0.3, 5), {"zero": [0.0] * 5}, n_trials=50, seed=3)
    assert [_stat(oc, "BOIN", "mean_n", d) for d in range(1, 6)] == [3, 3, 3, 3, 18]
    assert _stat(oc, "BOIN", "pct_select", 5) == 100.0
    assert _stat(oc, "BOIN", "pct_patients_above_mtd") == pytest.approx(90.0)
    # 3+3 passes every dose with 0/3 and selects the top dose after 15 patients
    oc = simulate_oc(ThreePlusThree(5), {"zero": [0.0] * 5}, n_trials=50, target=0.3)
    assert _stat(oc, "3+3", "mean_total_n") == 15
    assert _stat(oc, "3+3", "pct_select", 5) == 100.0


def test_certain_toxicity_stops_early() -> None:
    # p = 1: 3/3 at dose 1 eliminates it (1 - 0.3^4 > 0.95): every trial stops at n = 3
    oc = simulate_oc(BOIN(0.3, 4), {"all": [1.0] * 4}, n_trials=20)
    assert _stat(oc, "BOIN", "pct_early_stop") == 100.0
    assert _stat(oc, "BOIN", "pct_select", 0) == 100.0
    assert _stat(oc, "BOIN", "mean_total_n") == 3


def test_reproducible_and_order_free() -> None:
    sk = getprior(0.05, 0.3, 3, 5)
    scen = {"A": [0.05, 0.15, 0.3, 0.45, 0.6], "B": [0.02, 0.05, 0.1, 0.25, 0.4]}
    one = simulate_oc([BOIN(0.3, 5), CRM(sk, 0.3)], scen, n_trials=400, seed=11)
    two = simulate_oc([CRM(sk, 0.3)], {"B": scen["B"]}, n_trials=400, seed=11)
    a = (
        one.to_frame()
        .query("design == 'CRM' and scenario == 'B'")
        .reset_index(drop=True)
    )
    b = two.to_frame().reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    again = simulate_oc([BOIN(0.3, 5), CRM(sk, 0.3)], scen, n_trials=400, seed=11)
    pd.testing.assert_frame_equal(one.to_frame(), again.to_frame())
    other = simulate_oc([BOIN(0.3, 5), CRM(sk, 0.3)], scen, n_trials=400, seed=12)
    assert not one.to_frame()["value"].equals(other.to_frame()["value"])


def test_common_random_numbers_pair_designs() -> None:
    # the same design twice sees the same patients: identical results; and two designs
    # that only differ after the trial (boundMTD changes selection, not conduct) treat
    # exactly the same patients
    scen = {"A": [0.05, 0.15, 0.3, 0.45, 0.6]}
    oc = simulate_oc([BOIN(0.3, 5), BOIN(0.3, 5, bound_mtd=True)], scen, n_trials=500)
    f = oc.to_frame()
    for stat in ("mean_n", "mean_dlt"):
        x = f[(f["design"] == "BOIN") & (f["stat"] == stat)]["value"].to_numpy()
        z = f[(f["design"] == "BOIN #2") & (f["stat"] == stat)]["value"].to_numpy()
        np.testing.assert_array_equal(x, z)


@pytest.mark.parametrize("escalation_only", [False, True])
def test_simulated_3plus3_matches_exact_enumeration(escalation_only: bool) -> None:
    """R: bcrm::threep3(c(0.05,0.15,0.30,0.45,0.60), threep3.esc.only=...) as quoted in
    notes/dose_finding.md (selection of none, d1..d5); simulation within 3 binomial
    SEs."""
    want = (
        [0.0266, 0.1813, 0.4006, 0.2998, 0.0842, 0.0076]
        if escalation_only
        else [0.0278, 0.2006, 0.4288, 0.2765, 0.0588, 0.0076]
    )
    p = [0.05, 0.15, 0.30, 0.45, 0.60]
    design = ThreePlusThree(5, allow_deescalation=not escalation_only)
    exact = design.exact_oc(p).prob_select["probability"].to_numpy()
    np.testing.assert_allclose(exact, want, atol=5e-5)  # printed to 4 decimals
    n = 20_000
    oc = simulate_oc(design, {"A": p}, n_trials=n, seed=5, target=0.3)
    sim = np.array([_stat(oc, design.name, "pct_select", d) for d in range(6)]) / 100
    se = np.sqrt(exact * (1 - exact) / n)
    assert np.all(np.abs(sim - exact) <= 3 * se + 1e-12)


def test_dask_local_cluster_gives_identical_results() -> None:
    distributed = pytest.importorskip("distributed")
    scen = {"A": [0.05, 0.15, 0.3, 0.45, 0.6]}
    designs = [BOIN(0.3, 5), ThreePlusThree(5, target=0.3)]
    local = simulate_oc(designs, scen, n_trials=600, seed=4, chunk_size=200)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = simulate_oc(
            designs, scen, n_trials=600, seed=4, chunk_size=200, scheduler=client
        )
    pd.testing.assert_frame_equal(local.to_frame(), remote.to_frame())


def test_pathway_probabilities() -> None:
    p = [0.05, 0.15, 0.3, 0.45, 0.6]
    dtp = dose_transition_pathways(BOIN(0.3, 5), [3, 3], p_true=p)
    paths = dtp.paths.set_index("path")
    # P(1TTT) = 0.05^3; P(1NNN 2NNN) = 0.95^3 * 0.85^3
    assert paths.loc["1TTT", "probability"] == pytest.approx(0.05**3)
    assert paths.loc["1NNN 2NNN", "probability"] == pytest.approx(0.95**3 * 0.85**3)
    # terminal nodes (depth 2, or stopped at depth 1) carry all the probability
    terminal = (paths["cohort"] == 2) | (
        (paths["cohort"] == 1) & paths["next_dose"].isna()
    )
    assert paths.loc[terminal, "probability"].sum() == pytest.approx(1.0)
    assert math.isclose(
        dtp.to_frame().query("stat == 'probability'")["value"].max(), 1.0
    )


def test_patient_tolerances_are_uniform_and_addressable() -> None:
    from analyses.dose_finding.tolerances import PatientTolerances

    u = PatientTolerances(1, 4000).as_array(5, 30)
    # 600,000 values: mean 1/2 and variance 1/12 within 5 standard errors
    se_mean = math.sqrt(1 / 12 / u.size)
    assert abs(u.mean() - 0.5) < 5 * se_mean
    assert abs(u.var() - 1 / 12) < 5 * math.sqrt(1 / 180 / u.size)
    # neighbouring slots, doses and trials are uncorrelated (|r| < 5 / sqrt(N))
    for a, b in (
        (u[:, :, :-1], u[:, :, 1:]),
        (u[:, :-1], u[:, 1:]),
        (u[:-1], u[1:]),
    ):
        r = np.corrcoef(a.ravel(), b.ravel())[0, 1]
        assert abs(r) < 5 / math.sqrt(a.size)
    # a chunk starting at trial 50 sees trials 50.. of the whole run
    part = PatientTolerances(1, 100, offset=50).as_array(5, 30)
    np.testing.assert_array_equal(part, u[50:150])


def test_chunk_size_does_not_change_results() -> None:
    scen = {"A": [0.05, 0.15, 0.3, 0.45, 0.6]}
    one = simulate_oc(BOIN(0.3, 5), scen, n_trials=900, seed=8, chunk_size=900)
    many = simulate_oc(BOIN(0.3, 5), scen, n_trials=900, seed=8, chunk_size=250)
    pd.testing.assert_frame_equal(one.to_frame(), many.to_frame(), rtol=1e-12)


def test_crm_safety_stop_in_simulation() -> None:
    # every patient has a DLT: after the first cohort Pr(p_1 > 0.35 | 3/3) > 0.8
    sk = getprior(0.05, 0.3, 3, 5)
    crm = CRM(sk, 0.3, toxic_threshold=0.35, toxic_confidence=0.8)
    oc = simulate_oc(crm, {"all": [1.0] * 5}, n_trials=30)
    assert _stat(oc, "CRM", "pct_early_stop") == 100.0
    assert _stat(oc, "CRM", "mean_total_n") == 3
    assert _stat(oc, "CRM", "pct_select", 0) == 100.0
    # without the rule dfcrm's CRM never stops
    oc = simulate_oc(CRM(sk, 0.3), {"all": [1.0] * 5}, n_trials=30)
    assert _stat(oc, "CRM", "mean_total_n") == 30
