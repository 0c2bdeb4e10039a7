"""Bayesian optimal interval (BOIN) design (Liu & Yuan 2015, Yuan et al. 2016).

Escalate when the observed DLT rate at the current dose is at most λe, de-escalate when
it is at least λd (strictly above λd when λd·n is an integer), otherwise stay, with

    λe = log((1 - φ1) / (1 - φ)) / log(φ (1 - φ1) / (φ1 (1 - φ)))
    λd = log((1 - φ) / (1 - φ2)) / log(φ2 (1 - φ) / (φ (1 - φ2)))

and by default φ1 = 0.6 φ, φ2 = 1.4 φ. Safety rules and MTD selection are those of
:mod:`.interval_design`; ``bound_mtd`` restricts the MTD to doses whose isotonic
estimate is at most λd (BOIN ``boundMTD=TRUE``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from analyses.dose_finding._base import IntArray
from analyses.dose_finding.interval_design import CodeTable, IntervalDesign

__all__ = ["BOIN", "boin_boundaries"]

#: Tolerance for treating λd·n as an integer, as BOIN's ``get.boundary`` does.
INTEGER_TOL = 1e-12


def boin_boundaries(
    target: float, p_saf: float | None = None, p_tox: float | None = None
) -> tuple[float, float]:
    """Return BOIN's escalation and de-escalation boundaries (λe, λd).

    Parameters
    ----------
    target : float
        Target DLT rate φ.
    p_saf : float, optional
        Highest DLT rate deemed sub-therapeutic, φ1; default ``0.6 * target``.
    p_tox : float, optional
        Lowest DLT rate deemed overly toxic, φ2; default ``1.4 * target``.

    Returns
    -------
    tuple of float
        ``(lambda_e, lambda_d)``.

    Examples
    --------
    >>> [round(v, 4) for v in boin_boundaries(0.3)]
    [0.2365, 0.3585]
    """
    phi = float(target)
    phi1 = 0.6 * phi if p_saf is None else float(p_saf)
    phi2 = 1.4 * phi if p_tox is None else float(p_tox)
    if not 0 < phi1 < phi < phi2 < 1:
        raise ValueError(
            f"need 0 < p_saf < target < p_tox < 1, got {phi1}, {phi}, {phi2}"
        )
    lam_e = math.log((1 - phi1) / (1 - phi)) / math.log(
        phi * (1 - phi1) / (phi1 * (1 - phi))
    )
    lam_d = math.log((1 - phi) / (1 - phi2)) / math.log(
        phi2 * (1 - phi) / (phi * (1 - phi2))
    )
    return lam_e, lam_d


class BOIN(IntervalDesign):
    """The BOIN design for a single agent.

    Parameters
    ----------
    target : float
        Target DLT rate.
    n_doses : int
        Number of dose levels.
    p_saf, p_tox : float, optional
        φ1 and φ2; defaults ``0.6 * target`` and ``1.4 * target``.
    bound_mtd : bool, default False
        Only select an MTD whose isotonic estimate is at most λd (``boundMTD``).
    **kwargs
        Sample size, start dose and safety rules of :class:`IntervalDesign`
        (``cohort_size=3``, ``n_cohorts=10``, ``start_dose=1``, ``cutoff_eli=0.95``,
        ``extrasafe=False``, ``offset=0.05``, ``n_earlystop=100``).

    Examples
    --------
    >>> boin = BOIN(target=0.3, n_doses=5)
    >>> boin.decide(n=[3, 3, 0, 0, 0], y=[0, 1, 0, 0, 0], current=2).next_dose
    2
    """

    name = "BOIN"

    def __init__(
        self,
        target: float,
        n_doses: int,
        *,
        p_saf: float | None = None,
        p_tox: float | None = None,
        bound_mtd: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(target, n_doses, **kwargs)
        self.p_saf = 0.6 * self.target if p_saf is None else float(p_saf)
        self.p_tox = 1.4 * self.target if p_tox is None else float(p_tox)
        self.lambda_e, self.lambda_d = boin_boundaries(
            self.target, self.p_saf, self.p_tox
        )
        self.bound_mtd = bool(bound_mtd)

    def _design_parameters(self) -> dict[str, Any]:
        return {
            **super()._design_parameters(),
            "p_saf": self.p_saf,
            "p_tox": self.p_tox,
            "bound_mtd": self.bound_mtd,
        }

    def _selection_bound(self) -> float | None:
        return self.lambda_d if self.bound_mtd else None

    def escalation_limits(self, max_n: int) -> tuple[IntArray, IntArray]:
        """Return the integer boundaries for n = 0..max_n.

        Parameters
        ----------
        max_n : int
            Largest number of patients.

        Returns
        -------
        tuple of numpy.ndarray
            Escalate if ``y <= esc[n]``; de-escalate if ``y >= deesc[n]`` (before
            capping at the elimination boundary).
        """
        n = np.arange(max_n + 1, dtype=float)
        esc = np.floor(self.lambda_e * n + INTEGER_TOL).astype(np.int64)
        ld = self.lambda_d * n
        integer = np.abs(ld - np.round(ld)) < INTEGER_TOL
        deesc = np.where(integer, np.round(ld) + 1, np.ceil(ld)).astype(np.int64)
        return esc, deesc

    def _code_table(self, max_n: int) -> CodeTable:
        # two boundaries per n: O(max_n), no (max_n + 1)^2 grid
        esc, deesc = self.escalation_limits(max_n)
        return CodeTable(escalate_le=esc, deescalate_ge=deesc)
