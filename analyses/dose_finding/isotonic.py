"""Weighted isotonic (non-decreasing) regression, for one series or many at once.

The batched form uses the max-min characterisation of isotonic regression,
``iso_i = max_{s <= i} min_{t >= i} mean_w(x_s..x_t)``, which gives the same values as
the pool-adjacent-violators algorithm (PAVA) but vectorises across trials: it costs
``O(K^3)`` per row for ``K`` doses, which is nothing for dose-finding sizes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["isotonic_regression", "isotonic_regression_batch"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def isotonic_regression_batch(
    values: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    mask: npt.ArrayLike | None = None,
) -> FloatArray:
    """Fit a weighted non-decreasing regression to every row of a matrix.

    Parameters
    ----------
    values : array_like, shape (n_rows, k)
        The values to smooth, one series per row.
    weights : array_like, shape (n_rows, k), optional
        Positive weights; equal weights when omitted.
    mask : array_like of bool, shape (n_rows, k), optional
        Which entries take part. Excluded entries are skipped (the fit runs on the
        included entries of each row, in order) and come back as NaN.

    Returns
    -------
    numpy.ndarray, shape (n_rows, k)
        The isotonic fit of each row; NaN where ``mask`` is False.
    """
    x = np.atleast_2d(np.asarray(values, dtype=float))
    w = (
        np.ones_like(x)
        if weights is None
        else np.atleast_2d(np.asarray(weights, float))
    )
    m = (
        np.ones(x.shape, bool)
        if mask is None
        else np.atleast_2d(np.asarray(mask, bool))
    )
    w = np.where(m, w, 0.0)
    wx = np.where(m, w * np.where(m, x, 0.0), 0.0)
    zeros = np.zeros((x.shape[0], 1))
    cw = np.concatenate([zeros, np.cumsum(w, axis=1)], axis=1)
    cwx = np.concatenate([zeros, np.cumsum(wx, axis=1)], axis=1)
    # block[r, s, t] = weighted mean of x[r, s..t]
    with np.errstate(invalid="ignore", divide="ignore"):
        block = (cwx[:, None, 1:] - cwx[:, :-1, None]) / (
            cw[:, None, 1:] - cw[:, :-1, None]
        )
    k = x.shape[1]
    upper = np.triu(np.ones((k, k), bool))
    valid = upper[None] & m[:, :, None] & m[:, None, :]
    # min over t >= i: reverse cumulative minimum along t
    inner = np.where(valid, block, np.inf)
    inner = np.minimum.accumulate(inner[:, :, ::-1], axis=2)[:, :, ::-1]
    # max over s <= i (only included s, and s <= i)
    outer = np.where(upper[None] & m[:, :, None], inner, -np.inf)
    fit = outer.max(axis=1)
    return np.where(m, fit, np.nan)


def isotonic_regression(
    values: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> FloatArray:
    """Fit a weighted non-decreasing regression to one series (PAVA result).

    Parameters
    ----------
    values : array_like, shape (k,)
        The values to smooth, in dose order.
    weights : array_like, shape (k,), optional
        Positive weights; equal weights when omitted.

    Returns
    -------
    numpy.ndarray, shape (k,)
        The isotonic fit.

    Examples
    --------
    >>> isotonic_regression([0.1, 0.3, 0.2, 0.5]).round(3).tolist()
    [0.1, 0.25, 0.25, 0.5]
    """
    x = np.asarray(values, dtype=float)
    w = None if weights is None else np.asarray(weights, dtype=float)[None, :]
    return isotonic_regression_batch(x[None, :], w)[0]
