"""Exact intervals for binomial proportions, shared by every analysis area."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["clopper_pearson", "compute_clopper_pearson"]


def clopper_pearson(
    x: int | np.ndarray | pd.Series,
    n: int | np.ndarray | pd.Series,
    *,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the exact (Clopper-Pearson) confidence interval of a binomial proportion.

    This is the interval R's ``binom.test`` reports: the lower bound is the
    ``alpha/2`` quantile of Beta(x, n - x + 1) (0 when x = 0) and the upper bound the
    ``1 - alpha/2`` quantile of Beta(x + 1, n - x) (1 when x = n).

    Parameters
    ----------
    x : int or array-like
        Number of successes.
    n : int or array-like
        Number of trials (must be positive).
    confidence : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper bounds, one element per input pair.
    """
    xs = np.atleast_1d(np.asarray(x, dtype=float))
    ns = np.atleast_1d(np.asarray(n, dtype=float))
    if np.any(ns <= 0):
        raise ValueError("clopper_pearson needs n > 0")
    if np.any((xs < 0) | (xs > ns)):
        raise ValueError("clopper_pearson needs 0 <= x <= n")
    alpha = 1.0 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(xs == 0, 0.0, stats.beta.ppf(alpha / 2, xs, ns - xs + 1))
        upper = np.where(xs == ns, 1.0, stats.beta.ppf(1 - alpha / 2, xs + 1, ns - xs))
    return lower.astype(float), upper.astype(float)


def compute_clopper_pearson(
    successes: pd.Series, trials: pd.Series, *, ci_level: float = 0.95
) -> tuple[pd.Series, pd.Series]:
    """Exact (Clopper-Pearson) limits for Series of counts; missing where n is 0.

    Parameters
    ----------
    successes : pandas.Series
        Number of successes.
    trials : pandas.Series
        Number of trials, aligned on ``successes``.
    ci_level : float, default 0.95
        Two-sided confidence level.

    Returns
    -------
    tuple of pandas.Series
        Lower and upper limits (as :func:`clopper_pearson`), missing where ``trials``
        is 0.
    """
    lower = pd.Series(np.nan, index=successes.index)
    upper = pd.Series(np.nan, index=successes.index)
    valid = (trials > 0).to_numpy()
    if valid.any():
        lo, hi = clopper_pearson(
            successes.to_numpy()[valid], trials.to_numpy()[valid], confidence=ci_level
        )
        lower[valid], upper[valid] = lo, hi
    return lower, upper
