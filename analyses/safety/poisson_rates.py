"""Event rates per unit of time: exact Poisson intervals, rate ratios and differences.

* :func:`poisson_rate_ci` -- the exact (Garwood 1936) interval of R ``poisson.test(x,
  T)``: ``qgamma(alpha / 2, x) / T`` (0 when x = 0) to ``qgamma(1 - alpha / 2, x + 1)
  / T``.
* :func:`poisson_rate_ratio` -- R ``poisson.test(c(x1, x2), c(T1, T2))``: conditional
  on ``x1 + x2``, ``x1`` is binomial with ``p = r T1 / (r T1 + T2)``; the estimate is
  ``(x1 / T1) / (x2 / T2)``, the interval the Clopper-Pearson interval of ``p`` mapped
  to the ratio, the p-value ``binom.test``'s two-sided p-value for ``r = 1``.
* :func:`rate_difference_wald` -- ``x1 / T1 - x2 / T2`` with the Wald interval
  ``+/- z sqrt(x1 / T1^2 + x2 / T2^2)`` (no exact counterpart in R's ``stats``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

from analyses.proportions import clopper_pearson

__all__ = ["poisson_rate_ci", "poisson_rate_ratio", "rate_difference_wald"]

FloatArray = npt.NDArray[np.float64]


def poisson_rate_ci(
    events: npt.ArrayLike, time: npt.ArrayLike, *, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Return event rates and their exact Poisson intervals (R ``poisson.test``).

    Parameters
    ----------
    events : array_like of int
        Event counts.
    time : array_like of float
        Time at risk (any unit; the rates are per that unit).
    confidence : float, default 0.95
        Two-sided level.

    Returns
    -------
    tuple of numpy.ndarray
        Rate ``events / time``, lower and upper bound (NaN where ``time`` is not
        positive).
    """
    x = np.atleast_1d(np.asarray(events, dtype=float))
    t = np.atleast_1d(np.asarray(time, dtype=float))
    alpha = 1 - confidence
    positive = t > 0
    safe = np.where(positive, t, 1.0)
    lower = np.where(x > 0, stats.gamma.ppf(alpha / 2, np.maximum(x, 1e-300)), 0.0)
    upper = stats.gamma.ppf(1 - alpha / 2, x + 1)
    nan = np.full(x.shape, np.nan)
    return (
        np.where(positive, x / safe, nan),
        np.where(positive, lower / safe, nan),
        np.where(positive, upper / safe, nan),
    )


def poisson_rate_ratio(
    x1: int, t1: float, x2: int, t2: float, *, confidence: float = 0.95
) -> tuple[float, float, float, float]:
    """Return the rate ratio of two Poisson counts, exact interval and p-value.

    The comparison of R ``poisson.test(c(x1, x2), c(t1, t2))``.

    Parameters
    ----------
    x1, t1 : int, float
        Events and time at risk of the group of interest.
    x2, t2 : float
        The same for the reference group.
    confidence : float, default 0.95
        Two-sided level.

    Returns
    -------
    tuple of float
        Ratio ``(x1 / t1) / (x2 / t2)`` (``inf`` when ``x2 = 0 < x1``, NaN when both
        are 0), lower and upper bound, two-sided p-value of ratio 1 (1 when no event
        was observed).
    """
    if t1 <= 0 or t2 <= 0:
        raise ValueError("times at risk must be positive")
    n = int(x1 + x2)
    if n == 0:
        return float("nan"), 0.0, float("inf"), 1.0
    p_low, p_high = (float(v[0]) for v in clopper_pearson(x1, n, confidence=confidence))
    scale = t2 / t1

    def to_ratio(p: float) -> float:
        return float("inf") if p >= 1 else p / (1 - p) * scale

    ratio = float("inf") if x2 == 0 else (x1 / t1) / (x2 / t2)
    p_value = float(stats.binomtest(int(x1), n, t1 / (t1 + t2)).pvalue)
    return ratio, to_ratio(p_low), to_ratio(p_high), p_value


def rate_difference_wald(
    x1: float, t1: float, x2: float, t2: float, *, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Return the difference of two rates and its Wald interval.

    Parameters
    ----------
    x1, t1 : float
        Events and time at risk of the group of interest.
    x2, t2 : float
        The same for the reference group.
    confidence : float, default 0.95
        Two-sided level.

    Returns
    -------
    tuple of float
        ``x1 / t1 - x2 / t2`` and ``difference -/+ z sqrt(x1 / t1^2 + x2 / t2^2)``
        (a zero-width interval when no event was observed).
    """
    if t1 <= 0 or t2 <= 0:
        raise ValueError("times at risk must be positive")
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    diff = x1 / t1 - x2 / t2
    se = float(np.sqrt(x1 / t1**2 + x2 / t2**2))
    return float(diff), float(diff - z * se), float(diff + z * se)
