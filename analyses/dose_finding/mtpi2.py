"""The modified toxicity probability interval design mTPI-2 (Guo et al. 2017).

The unit interval is split into the equivalence interval EI = [φ - ε1, φ + ε2] and
intervals of the same width ε1 + ε2 below and above it (the outermost ones truncated at
0 and 1). With a Beta(1, 1) prior, the decision is the one of the interval with the
largest unit probability mass (posterior probability / interval width): below EI
escalate, EI stay, above EI de-escalate. Safety rules and isotonic MTD selection are
shared with BOIN (:mod:`.interval_design`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from analyses.dose_finding._base import DEESCALATE, ESCALATE, STAY, IntArray
from analyses.dose_finding.interval_design import EquivalenceIntervalDesign

__all__ = ["MTPI2", "mtpi2_intervals"]


def mtpi2_intervals(
    target: float, eps1: float, eps2: float
) -> list[tuple[float, float, int]]:
    """Return mTPI-2's intervals with their decision codes, lowest first.

    Parameters
    ----------
    target : float
        Target DLT rate φ.
    eps1, eps2 : float
        Half-widths of the equivalence interval below and above φ.

    Returns
    -------
    list of tuple
        ``(low, high, code)`` with code 0 escalate, 1 stay, 2 de-escalate.
    """
    width = eps1 + eps2
    lo, hi = target - eps1, target + eps2
    out: list[tuple[float, float, int]] = [(lo, hi, STAY)]
    edge = lo
    while edge > 1e-12:
        out.insert(0, (max(edge - width, 0.0), edge, ESCALATE))
        edge -= width
    edge = hi
    while edge < 1 - 1e-12:
        out.append((edge, min(edge + width, 1.0), DEESCALATE))
        edge += width
    return out


class MTPI2(EquivalenceIntervalDesign):
    """The mTPI-2 design.

    Parameters
    ----------
    target : float
        Target DLT rate.
    n_doses : int
        Number of dose levels.
    eps1, eps2 : float, default 0.05
        Equivalence interval [target - eps1, target + eps2].
    prior_a, prior_b : float, default 1
        Beta prior of the decision rule.
    **kwargs
        Sample size, start dose and safety rules of :class:`IntervalDesign`.
    """

    name = "mTPI-2"

    def __init__(
        self,
        target: float,
        n_doses: int,
        *,
        prior_a: float = 1.0,
        prior_b: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(target, n_doses, **kwargs)
        self.prior_a = float(prior_a)
        self.prior_b = float(prior_b)

    def _design_parameters(self) -> dict[str, Any]:
        return {
            **super()._design_parameters(),
            "prior_a": self.prior_a,
            "prior_b": self.prior_b,
        }

    def _codes(self, max_n: int) -> IntArray:
        intervals = mtpi2_intervals(self.target, self.eps1, self.eps2)
        lows = np.array([i[0] for i in intervals])
        highs = np.array([i[1] for i in intervals])
        kinds = np.array([i[2] for i in intervals])
        n = np.arange(max_n + 1)[:, None]
        y = np.arange(max_n + 1)[None, :]
        a = (self.prior_a + y).astype(float)[..., None]
        b = np.maximum(self.prior_b + n - y, 1e-9).astype(float)[..., None]
        mass = stats.beta.cdf(highs, a, b) - stats.beta.cdf(lows, a, b)
        upm = mass / (highs - lows)
        codes = kinds[upm.argmax(axis=-1)].astype(np.int64)
        return np.where(y <= n, codes, STAY)
