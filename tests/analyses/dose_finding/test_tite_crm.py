"""TITE-CRM simulation against an independent patient-by-patient loop built on
``CRM.fit`` with TITE weights (which matches dfcrm ``titecrm`` to 1e-6 in
test_r_reference), and against the plain CRM when every window completes."""

from __future__ import annotations

import numpy as np

from analyses.dose_finding import CRM, getprior
from analyses.dose_finding.tite_crm import TITECRM
from analyses.dose_finding.tolerances import PatientTolerances

SK = getprior(0.05, 0.3, 3, 5)
P = np.array([0.05, 0.15, 0.30, 0.45, 0.60])


def _one_trial(u: np.ndarray, obswin: float, interval: float, n_pat: int) -> tuple:
    """Reference loop: fit with linear weights at every arrival."""
    crm = CRM(SK, 0.3)
    counts = np.zeros(5, int)
    level, tox, day = [], [], []
    cur = 0
    seen = set()
    for i in range(n_pat):
        uu = u[cur, counts[cur]]
        counts[cur] += 1
        is_dlt = uu < P[cur]
        level.append(cur + 1)
        tox.append(int(is_dlt))
        day.append(obswin * uu / P[cur] if is_dlt else np.inf)
        if i == n_pat - 1:
            break
        now = (i + 1) * interval
        follow = np.array([now - j * interval for j in range(i + 1)])
        observed = np.array(day) <= np.minimum(follow, obswin)
        weights = np.minimum(follow / obswin, 1.0)
        fit = crm.fit(level, observed.astype(int), weights=weights, exceedance=False)
        rec = fit.recommended_dose - 1
        new = {j for j in np.flatnonzero(observed)} - seen
        seen |= new
        if new:
            rec = min(rec, cur)
        cur = min(rec, cur + 1)
    n = np.bincount(np.array(level) - 1, minlength=5)
    final = crm.fit(level, tox, exceedance=False).recommended_dose
    return n, final


def test_tite_matches_patient_by_patient_fits() -> None:
    n_trials, n_pat = 12, 15
    tol = PatientTolerances(21, n_trials)
    u = tol.as_array(5, n_pat)
    sim = TITECRM(SK, 0.3, obswin=28, arrival_interval=7, n_patients=n_pat).simulate(
        P, tol
    )
    for t in range(n_trials):
        n, final = _one_trial(u[t], 28, 7, n_pat)
        assert sim.n[t].tolist() == n.tolist(), t
        assert sim.selected[t] == final, t


def test_complete_windows_equal_plain_crm() -> None:
    tol = PatientTolerances(3, 500)
    tite = TITECRM(SK, 0.3, obswin=28, arrival_interval=30).simulate(P, tol)
    crm = CRM(SK, 0.3, cohort_size=1, n_cohorts=30).simulate(P, tol)
    np.testing.assert_array_equal(tite.n, crm.n)
    np.testing.assert_array_equal(tite.selected, crm.selected)
