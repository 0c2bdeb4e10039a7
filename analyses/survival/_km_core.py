"""Kaplan-Meier arithmetic following R ``survival`` 3.5 (survfit, summary, quantile).

Pure numpy on one curve at a time; the public API is in :mod:`kaplan_meier`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

__all__ = [
    "ConfType",
    "QuantileRule",
    "confint",
    "km_table",
    "quantile_findq",
    "quantile_minmin",
    "rmst_from_table",
    "surv_at",
]

FloatArray = npt.NDArray[np.float64]
ConfType = Literal["log", "log-log", "plain"]
QuantileRule = Literal["table", "quantile"]
#: R's tolerance for a survival value "equal" to a quantile: sqrt(.Machine$double.eps).
TOL = float(np.sqrt(np.finfo(float).eps))


def km_table(time: FloatArray, event: npt.NDArray[np.bool_]) -> pd.DataFrame:
    """Return the Kaplan-Meier table of one curve at every distinct time.

    Parameters
    ----------
    time : numpy.ndarray
        Follow-up times.
    event : numpy.ndarray of bool
        Event indicators.

    Returns
    -------
    pandas.DataFrame
        Columns ``time``, ``n_risk`` (number with time >= t), ``n_event``,
        ``n_censor``, ``surv`` (product-limit estimate), ``greenwood``
        (cumulative sum of d/(n(n-d)), the variance of log S; infinite once S = 0)
        and ``hh`` (the per-time term, 0 when n = d, as R's ``survmean`` uses it).
    """
    utimes, inverse = np.unique(time, return_inverse=True)
    n_event = np.bincount(inverse, weights=event.astype(float), minlength=len(utimes))
    n_all = np.bincount(inverse, minlength=len(utimes)).astype(float)
    n_censor = n_all - n_event
    n_risk = n_all[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - n_event / n_risk)
        term = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
    hh = np.where(n_risk - n_event == 0, 0.0, term)
    greenwood = np.cumsum(term)
    return pd.DataFrame(
        {
            "time": utimes,
            "n_risk": n_risk,
            "n_event": n_event,
            "n_censor": n_censor,
            "surv": surv,
            "greenwood": greenwood,
            "hh": hh,
        }
    )


def confint(
    surv: FloatArray, greenwood: FloatArray, conf_type: ConfType, conf_level: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Greenwood standard error of S and the pointwise confidence interval.

    Parameters
    ----------
    surv : numpy.ndarray
        Survival estimates.
    greenwood : numpy.ndarray
        Variance of log S (Greenwood sum); infinite once S = 0.
    conf_type : {"log", "log-log", "plain"}
        Transform, as R ``survfit(conf.type=)``.
    conf_level : float
        Confidence level, e.g. 0.95.

    Returns
    -------
    tuple of numpy.ndarray
        ``(std_err, lower, upper)``. All three are NaN where S = 0 (R gives NA);
        where the variance is 0 the interval is (S, S).
    """
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    surv = np.asarray(surv, dtype=float)
    dead = surv <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        se_log = np.sqrt(greenwood)
        std_err = np.where(dead, np.nan, surv * se_log)
        if conf_type == "log":
            lower = surv * np.exp(-z * se_log)
            upper = np.minimum(surv * np.exp(z * se_log), 1.0)
        elif conf_type == "log-log":
            log_s = np.log(surv)
            shift = z * se_log / log_s
            core = np.log(-log_s)
            lower = np.exp(-np.exp(core - shift))
            upper = np.exp(-np.exp(core + shift))
            flat = se_log == 0
            lower = np.where(flat, surv, lower)
            upper = np.where(flat, surv, upper)
        elif conf_type == "plain":
            lower = np.maximum(surv - z * std_err, 0.0)
            upper = np.minimum(surv + z * std_err, 1.0)
        else:
            raise ValueError(
                f"conf_type must be 'log', 'log-log' or 'plain', got {conf_type!r}"
            )
    lower = np.where(dead, np.nan, lower)
    upper = np.where(dead, np.nan, upper)
    return std_err, lower, upper


def quantile_minmin(times: FloatArray, curve: FloatArray, p: float = 0.5) -> float:
    """Quantile by R ``print.survfit``'s rule (``survmean``'s ``minmin``).

    The first time the curve is below ``1 - p`` (within R's tolerance); when the curve
    equals ``1 - p`` there and falls lower later, the midpoint of that time and the
    first time it falls lower. NaN when the curve never gets that low.

    Parameters
    ----------
    times : numpy.ndarray
        Distinct times of the curve.
    curve : numpy.ndarray
        Survival (or a confidence limit) at those times; NaN is skipped.
    p : float
        Quantile of the event-time distribution (0.5 = median).

    Returns
    -------
    float
        The quantile, or NaN when not reached.
    """
    level = 1.0 - p
    keep = ~np.isnan(curve) & (curve < level + TOL)
    if not keep.any():
        return float("nan")
    x = times[keep]
    y = curve[keep]
    lower = np.flatnonzero(y < y[0])
    if abs(y[0] - level) < TOL and lower.size:
        return float((x[0] + x[lower[0]]) / 2)
    return float(x[0])


def _approx_constant_right(xv: FloatArray, yv: FloatArray, xout: float) -> float:
    """R ``approx(xv, yv, xout, method="constant", f=1)`` for one ``xout``."""
    ok = ~(np.isnan(xv) | np.isnan(yv))
    xv, yv = xv[ok], yv[ok]
    if xv.size == 0:
        return float("nan")
    order = np.argsort(xv, kind="stable")
    xs, ys = xv[order], yv[order]
    ux, start = np.unique(xs, return_index=True)
    sums = np.add.reduceat(ys, start)
    counts = np.diff(np.append(start, xs.size))
    uy = sums / counts  # ties = mean, R's default
    if xout < ux[0] or xout > ux[-1]:
        return float("nan")
    return float(uy[np.searchsorted(ux, xout, side="left")])


def quantile_findq(
    times: FloatArray, curve: FloatArray, p: float, first_time: float = 0.0
) -> float:
    """Quantile by R ``quantile.survfit``'s rule (``findq`` in survival 3.5).

    Parameters
    ----------
    times : numpy.ndarray
        Distinct times of the curve.
    curve : numpy.ndarray
        Survival (or a confidence limit) at those times; NaN is skipped.
    p : float
        Quantile of the event-time distribution.
    first_time : float
        Time the curve starts at 1 (R's ``start.time``, 0 by default).

    Returns
    -------
    float
        The quantile, or NaN when not reached. A flat stretch exactly at ``1 - p``
        gives the midpoint of its start and the next drop, or of its start and the
        last time when the curve ends on the flat.
    """
    x = np.concatenate([[first_time], times]).astype(float)
    y = np.concatenate([[0.0], 1.0 - np.asarray(curve, dtype=float)])
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return float("nan")
    xmax = x[-1]
    keep = ~pd.Series(y).duplicated().to_numpy()
    x, y = x[keep], y[keep]
    n = y.size
    index = np.arange(1, n + 1, dtype=float)
    i1 = _approx_constant_right(y + TOL, index, p)
    i2 = _approx_constant_right(y - TOL, index, p)
    if p == 0:
        return float(x[0])
    if not np.isnan(y[-1]) and abs(p - y[-1]) < TOL:
        return float("nan") if np.isnan(i1) else float((x[int(i1) - 1] + xmax) / 2)
    if np.isnan(i1) or np.isnan(i2):
        return float("nan")
    return float((x[int(i1) - 1] + x[int(i2) - 1]) / 2)


def surv_at(table: pd.DataFrame, times: FloatArray, columns: list[str]) -> pd.DataFrame:
    """Carry the last row at or before each time forward (R ``extend=TRUE``).

    Parameters
    ----------
    table : pandas.DataFrame
        A curve's table with a ``time`` column.
    times : numpy.ndarray
        Requested times.
    columns : list of str
        Columns to look up; before the first time they take 1 (``surv``, limits)
        or 0 (standard error).

    Returns
    -------
    pandas.DataFrame
        One row per requested time.
    """
    pos = np.searchsorted(table["time"].to_numpy(), times, side="right") - 1
    out = {}
    for col in columns:
        values = table[col].to_numpy(dtype=float)
        before = 0.0 if col == "std_err" else 1.0
        out[col] = np.where(pos >= 0, values[np.maximum(pos, 0)], before)
    return pd.DataFrame(out)


def rmst_from_table(
    table: pd.DataFrame, tau: float, start_time: float = 0.0
) -> tuple[float, float]:
    """Restricted mean and its standard error as R ``print.survfit(rmean=tau)``.

    Parameters
    ----------
    table : pandas.DataFrame
        A curve's table from :func:`km_table`.
    tau : float
        Restriction time.
    start_time : float
        Origin of the curve.

    Returns
    -------
    tuple of float
        ``(rmst, se)``. The variance is the sum over times t_j <= tau of
        ``(integral of S from t_j to tau)^2 * d_j / (n_j (n_j - d_j))``
        (Klein & Moeschberger 4.5; survival's ``survmean``).
    """
    time = table["time"].to_numpy()
    keep = time <= tau
    if not keep.any():
        return float(tau - start_time), 0.0
    t = np.append(time[keep], tau)
    s = table["surv"].to_numpy()[keep]
    s = np.append(s, s[-1])
    hh = np.append(table["hh"].to_numpy()[keep], 0.0)
    delta = np.diff(np.concatenate([[start_time], t]))
    rect = delta * np.concatenate([[1.0], s[:-1]])
    var = float(np.sum(np.cumsum(rect[1:][::-1]) ** 2 * hh[::-1][1:]))
    return float(rect.sum() + start_time), float(np.sqrt(var))
