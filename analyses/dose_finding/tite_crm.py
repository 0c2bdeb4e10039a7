"""TITE-CRM trials (Cheung & Chappell 2000) in simulation.

Decisions are taken before every patient's DLT window is complete, with linear weights.

Simulation model (vectorised across trials, one patient at a time):

* patients arrive every ``arrival_interval`` days (fixed accrual), one per decision;
* a patient with a DLT (tolerance ``u < p``) has the DLT at day ``obswin * u / p`` of
  the window — uniform on (0, obswin], and obtained from the same tolerance, so common
  random numbers across designs are kept;
* at each arrival, earlier patients are followed for ``min(now - entry, obswin)``; an
  observed DLT has weight 1, otherwise the weight is ``follow-up / obswin`` (the
  likelihood is ``(w p)^y (1 - w p)^(1 - y)``, dfcrm ``titecrm(scheme="linear")``);
* ``no_skip``: at most one level above the last patient's dose; ``coherence``: no
  escalation right after a DLT was observed (since the previous arrival);
* the final MTD is the CRM recommendation with every window complete.

Patients whose window is complete contribute a fixed term that is accumulated once; only
the few patients still in their window are re-weighted at each arrival.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from analyses.dose_finding._base import SimulatedTrials, Tolerances
from analyses.dose_finding.crm import CRM
from analyses.dose_finding.tolerances import PatientTolerances

__all__ = ["TITECRM"]


class TITECRM(CRM):
    """A CRM run as TITE-CRM: one patient per decision, partial follow-up weighted.

    Parameters
    ----------
    skeleton : sequence of float
        Prior DLT probability per dose level.
    target : float
        Target DLT rate.
    obswin : float
        DLT observation window (days).
    arrival_interval : float
        Days between consecutive patients.
    n_patients : int, default 30
        Sample size.
    **kwargs
        Model options of :class:`CRM` (``model``, ``prior_sd``, ``intercept``,
        ``point_estimate``, ``no_skip``, ``coherence``, ``start_dose``, ``grid_step``).
    """

    name = "TITE-CRM"

    def __init__(
        self,
        skeleton: Any,
        target: float,
        *,
        obswin: float,
        arrival_interval: float,
        n_patients: int = 30,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("toxic_threshold") is not None:
            raise ValueError("the safety stop is not implemented for TITE-CRM")
        super().__init__(
            skeleton, target, cohort_size=1, n_cohorts=n_patients, **kwargs
        )
        if obswin <= 0 or arrival_interval <= 0:
            raise ValueError("obswin and arrival_interval must be positive")
        self.obswin = float(obswin)
        self.arrival_interval = float(arrival_interval)

    def _design_parameters(self) -> dict[str, Any]:
        return {
            **super()._design_parameters(),
            "obswin": self.obswin,
            "arrival_interval": self.arrival_interval,
            "weights": "linear",
            "dlt_time": "uniform on (0, obswin]",
        }

    def simulate(self, p_true: npt.ArrayLike, uniforms: Tolerances) -> SimulatedTrials:
        """Run many TITE-CRM trials at once (see the module docstring).

        Parameters
        ----------
        p_true : array_like, shape (n_doses,)
            True DLT probabilities.
        uniforms : numpy.ndarray or PatientTolerances
            Patient tolerances.

        Returns
        -------
        SimulatedTrials
            Counts (all windows complete) and the final MTD.
        """
        p = np.asarray(p_true, dtype=float)
        g = self._grid
        t_n = len(uniforms)
        n_pat = self.n_cohorts
        rows = np.arange(t_n)
        dose = np.zeros((t_n, n_pat), np.int64)
        dlt = np.zeros((t_n, n_pat), bool)
        dlt_day = np.full((t_n, n_pat), np.inf)
        n = np.zeros((t_n, self.n_doses), np.int64)
        y = np.zeros((t_n, self.n_doses), np.int64)
        complete = np.zeros((t_n, g.a.size))  # log-lik of patients past their window
        window = math.ceil(self.obswin / self.arrival_interval)
        # per-dose rows, contiguous for fast gathers: log p, log(1 - p), and
        # log(1 - w p) for the follow-up weight after each lag (fixed accrual)
        # one table of per-dose rows: block 0 log p (DLT), block 1 log(1 - p), block
        # 1 + lag log(1 - w p) with the follow-up weight after ``lag`` arrivals
        k = self.n_doses
        lags = [
            m for m in range(1, window + 1) if m * self.arrival_interval < self.obswin
        ]
        table = np.concatenate(
            [g.logp.T, g.log1mp.T]
            + [
                np.log1p(-(m * self.arrival_interval / self.obswin) * g.p.T)
                for m in lags
            ]
        )
        block = {m: 2 + i for i, m in enumerate(lags)}
        cur = np.full(t_n, self.start_dose - 1, np.int64)
        seen_dlt = np.zeros((t_n, n_pat), bool)
        for i in range(n_pat):
            # patient i enters at day i * interval at dose cur
            slot = n[rows, cur]
            if isinstance(uniforms, PatientTolerances):
                u = uniforms.take(rows, cur, slot)
            else:
                u = uniforms[rows, cur, slot]
            pi = p[cur]
            is_dlt = u < pi
            dose[:, i] = cur
            dlt[:, i] = is_dlt
            dlt_day[:, i] = np.where(
                is_dlt, self.obswin * u / np.where(pi > 0, pi, 1), np.inf
            )
            n[rows, cur] += 1
            y[rows, cur] += is_dlt
            if i == n_pat - 1:
                break
            now = (i + 1) * self.arrival_interval
            # move patients whose window closed into the fixed term
            done = i + 1 - window  # patients 0..done-1 have follow-up >= obswin
            if 0 <= done - 1 < n_pat:
                j = done - 1
                if (i + 1 - j) * self.arrival_interval >= self.obswin:
                    complete += table[np.where(dlt[:, j], 0, k) + dose[:, j]]
            loglik = complete.copy()
            first_open = max(done, 0)
            newly = np.zeros(t_n, bool)
            for j in range(first_open, i + 1):
                follow = now - j * self.arrival_interval
                if follow >= self.obswin:
                    observed = dlt[:, j]
                    miss = k
                else:
                    observed = dlt_day[:, j] <= follow
                    miss = k * block[i + 1 - j]
                loglik += table[np.where(observed, 0, miss) + dose[:, j]]
                newly |= observed & ~seen_dlt[:, j]
                seen_dlt[:, j] |= observed
            rec = self._recommend_from_posterior(g._normalise(loglik))
            if self.coherence:
                rec = np.where(newly, np.minimum(rec, cur), rec)
            if self.no_skip:
                rec = np.minimum(rec, cur + 1)
            cur = rec
        selected = self._recommend_batch(n, y) + 1
        return SimulatedTrials(
            n=n,
            y=y,
            selected=selected.astype(np.int64),
            stopped_early=np.zeros(t_n, bool),
        )
