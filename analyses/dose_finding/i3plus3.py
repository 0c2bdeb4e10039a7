"""The i3+3 design (Liu, Wang & Ji 2020).

With equivalence interval EI = [φ - ε1, φ + ε2] and observed rate y/n at the current
dose: escalate when y/n is below EI; stay when it is inside EI; above EI, stay when
(y - 1)/n is below EI and de-escalate otherwise. Safety rules (Beta(1, 1) elimination)
and isotonic MTD selection are shared with BOIN (:mod:`.interval_design`).
"""

from __future__ import annotations

import numpy as np

from analyses.dose_finding._base import DEESCALATE, ESCALATE, STAY, IntArray
from analyses.dose_finding.interval_design import EquivalenceIntervalDesign

__all__ = ["I3Plus3"]

_TOL = 1e-12


class I3Plus3(EquivalenceIntervalDesign):
    """The i3+3 design.

    Parameters
    ----------
    target : float
        Target DLT rate.
    n_doses : int
        Number of dose levels.
    eps1, eps2 : float, default 0.05
        Equivalence interval [target - eps1, target + eps2].
    **kwargs
        Sample size, start dose and safety rules of :class:`IntervalDesign`.
    """

    name = "i3+3"

    def _codes(self, max_n: int) -> IntArray:
        n = np.arange(max_n + 1, dtype=float)[:, None]
        y = np.arange(max_n + 1, dtype=float)[None, :]
        lo, hi = self.target - self.eps1, self.target + self.eps2
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(n > 0, y / np.maximum(n, 1), 0.0)
            minus_one = np.where(n > 0, (y - 1) / np.maximum(n, 1), 0.0)
        codes = np.full(rate.shape, STAY, np.int64)
        codes[rate < lo - _TOL] = ESCALATE
        above = rate > hi + _TOL
        codes[above & (minus_one >= lo - _TOL)] = DEESCALATE
        return codes
