"""Aalen-Johansen arithmetic for competing risks, following R ``survival`` 3.5.

One curve at a time, pure numpy (no BLAS): state-occupancy probabilities of the
initial state ``(s0)`` and of each cause, their standard errors by the
infinitesimal jackknife (R ``survfit`` for a multi-state status, C routine
``survfitci``) or by Gray's delta method (R ``cmprsk::cuminc``), and R's pointwise
confidence intervals (``survfit_confint`` with ``logse = FALSE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "AJConfType",
    "AJCurve",
    "AJVariance",
    "aalen_johansen",
    "survfit_confint",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
AJConfType = Literal["log", "log-log", "plain", "logit", "arcsin", "none"]
AJVariance = Literal["infinitesimal-jackknife", "gray"]


@dataclass(frozen=True)
class AJCurve:
    """One Aalen-Johansen curve at every distinct time (events and censorings).

    Attributes
    ----------
    time : numpy.ndarray
        Distinct times (T,).
    n_risk : numpy.ndarray
        Number at risk (time >= t), (T,).
    n_event : numpy.ndarray
        Events per cause, (T, K).
    n_censor : numpy.ndarray
        Censorings, (T,).
    pstate : numpy.ndarray
        Probability of each state, (T, K + 1): column 0 the initial state (no event
        yet), column k cause k (its cumulative incidence).
    std_err : numpy.ndarray
        Standard error of ``pstate`` (probability scale), (T, K + 1).
    """

    time: FloatArray
    n_risk: FloatArray
    n_event: FloatArray
    n_censor: FloatArray
    pstate: FloatArray
    std_err: FloatArray


def _ij_std_err(
    cause: IntArray, index: IntArray, n_risk: FloatArray, n_event: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Probabilities and infinitesimal-jackknife standard errors (R ``survfitci``).

    Subjects are sorted by time; ``index`` is each subject's time index. At each
    time with events the influence matrix U (subject x state) becomes
    ``U H + dH``: H is the transition matrix (row 0: d_k / n to cause k,
    1 - d / n to stay), and every subject at risk adds ``p0(t-) / n`` times
    (its new state's indicator - H[0, :]). The variance is the column sum of U^2.
    """
    n_times, n_causes = n_event.shape
    n_states = n_causes + 1
    n = cause.size
    u = np.zeros((n, n_states))
    p = np.zeros(n_states)
    p[0] = 1.0
    pstate = np.empty((n_times, n_states))
    var = np.empty((n_times, n_states))
    # position of the first subject of each time in the sorted order
    first = np.searchsorted(index, np.arange(n_times), side="left")
    rows = np.arange(n)
    current_var = np.zeros(n_states)
    for t in range(n_times):
        d_k = n_event[t]
        d = float(d_k.sum())
        if d > 0:
            nr = float(n_risk[t])
            h = d_k / nr
            h00 = 1.0 - d / nr
            # U = U H: cause columns gain U[:, 0] h_k, then column 0 shrinks
            u[:, 1:] += u[:, [0]] * h[None, :]
            u[:, 0] *= h00
            # dH for the subjects at risk (sorted order: a suffix)
            lo = int(first[t])
            scale = p[0] / nr
            u[lo:, 0] -= h00 * scale
            u[lo:, 1:] -= h[None, :] * scale
            at_t = (index[lo:] == t) & (cause[lo:] > 0)
            moved = rows[lo:][at_t]
            u[moved, cause[moved]] += scale
            u[lo:, 0] += np.where(at_t, 0.0, scale)
            p = np.concatenate([[p[0] * h00], p[1:] + p[0] * h])
            current_var = (u * u).sum(axis=0)
        pstate[t] = p
        var[t] = current_var
    return pstate, np.sqrt(var)


def _gray_std_err(
    n_risk: FloatArray, n_event: FloatArray, pstate: FloatArray
) -> FloatArray:
    """Gray's standard errors of each cumulative incidence (R ``cmprsk`` ``cinc``).

    For cause k, with S(t-) the all-cause Kaplan-Meier before t and F_k its
    cumulative incidence, every time with events adds to three running sums
    (Gray 1988, the Fortran ``cinc``); the variance is
    ``v1 + F_k^2 v3 - 2 F_k v2``. It changes only where F_k jumps. The initial
    state gets the Greenwood standard error of the all-cause Kaplan-Meier.
    """
    n_times, n_causes = n_event.shape
    d = n_event.sum(axis=1)
    s_before = np.concatenate([[1.0], pstate[:-1, 0]])
    out = np.zeros((n_times, n_causes + 1))
    rs = n_risk
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(np.where(d > 0, d / (rs * (rs - d)), 0.0))
        # NaN where S = 0, as R's Kaplan-Meier standard error
        out[:, 0] = np.where(
            pstate[:, 0] > 0, pstate[:, 0] * np.sqrt(greenwood), np.nan
        )
    for k in range(n_causes):
        v1 = v2 = v3 = 0.0
        for t in range(n_times):
            nd = float(d[t])
            if nd == 0:
                out[t, k + 1] = out[t - 1, k + 1] if t else 0.0
                continue
            nd1 = float(n_event[t, k])
            nd2 = nd - nd1
            r = float(rs[t])
            fk = float(s_before[t])
            fkn = fk * (r - nd) / r
            f = float(pstate[t, k + 1])
            if nd2 > 0 and fkn > 0:
                t5 = 1.0 - (nd2 - 1.0) / (r - 1.0) if nd2 > 1 else 1.0
                t6 = fk * fk * t5 * nd2 / (r * r)
                t3 = 1.0 / fkn
                t4 = f / fkn
                v1 += t4 * t4 * t6
                v2 += t3 * t4 * t6
                v3 += t3 * t3 * t6
            if nd1 > 0:
                t5 = 1.0 - (nd1 - 1.0) / (r - 1.0) if nd1 > 1 else 1.0
                t6 = fk * fk * t5 * nd1 / (r * r)
                t3 = 1.0 / fkn if fkn > 0 else 0.0
                t4 = 1.0 + t3 * f
                v1 += t4 * t4 * t6
                v2 += t3 * t4 * t6
                v3 += t3 * t3 * t6
                out[t, k + 1] = np.sqrt(max(v1 + f * f * v3 - 2 * f * v2, 0.0))
            else:
                out[t, k + 1] = out[t - 1, k + 1] if t else 0.0
    return out


def aalen_johansen(
    time: FloatArray,
    cause: IntArray,
    n_causes: int,
    variance: AJVariance = "infinitesimal-jackknife",
) -> AJCurve:
    """Aalen-Johansen estimate of one curve with standard errors.

    Parameters
    ----------
    time : numpy.ndarray
        Follow-up times.
    cause : numpy.ndarray of int
        0 = censored, k = failure from cause k (1..n_causes).
    n_causes : int
        Number of causes (columns of the cumulative incidence).
    variance : {"infinitesimal-jackknife", "gray"}
        Standard error by R ``survfit``'s infinitesimal jackknife (default) or by
        Gray's delta method as ``cmprsk::cuminc`` (Greenwood for the initial state).

    Returns
    -------
    AJCurve
        The curve at every distinct time.
    """
    order = np.argsort(time, kind="stable")
    t_sorted = time[order]
    c_sorted = cause[order]
    utimes, index = np.unique(t_sorted, return_inverse=True)
    n_times = utimes.size
    n_event = np.zeros((n_times, n_causes))
    has = c_sorted > 0
    np.add.at(n_event, (index[has], c_sorted[has] - 1), 1.0)
    n_all = np.bincount(index, minlength=n_times).astype(float)
    n_censor = n_all - n_event.sum(axis=1)
    n_risk = n_all[::-1].cumsum()[::-1]
    pstate, ij = _ij_std_err(c_sorted, index.astype(np.int64), n_risk, n_event)
    if variance == "infinitesimal-jackknife":
        std_err = ij
    elif variance == "gray":
        std_err = _gray_std_err(n_risk, n_event, pstate)
    else:
        raise ValueError(
            f"variance must be 'infinitesimal-jackknife' or 'gray', got {variance!r}"
        )
    return AJCurve(
        time=utimes,
        n_risk=n_risk,
        n_event=n_event,
        n_censor=n_censor,
        pstate=pstate,
        std_err=std_err,
    )


def survfit_confint(
    p: FloatArray, se: FloatArray, conf_type: AJConfType, conf_level: float
) -> tuple[FloatArray, FloatArray]:
    """Pointwise confidence limits as R ``survfit_confint(logse = FALSE)``.

    Parameters
    ----------
    p : numpy.ndarray
        Probabilities.
    se : numpy.ndarray
        Their standard errors (probability scale).
    conf_type : {"log", "log-log", "plain", "logit", "arcsin", "none"}
        Transform (R ``conf.type``; ``"log"`` is R's default).
    conf_level : float
        Confidence level.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lower, upper)``; NaN where R gives NA or NaN (p = 0 on the log, logit and
        arcsin scales; p = 0 or 1 on the log-log scale), all NaN for ``"none"``.
    """
    p = np.asarray(p, dtype=float)
    se = np.asarray(se, dtype=float)
    if conf_type == "none":
        nan = np.full(p.shape, np.nan)
        return nan, nan.copy()
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        se_log = np.where(se == 0, 0.0, se / p)  # se of log(p)
        if conf_type == "plain":
            half = se_log * p * z
            return np.maximum(p - half, 0.0), np.minimum(p + half, 1.0)
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            half = z * se_log
            lower = np.exp(np.log(xx) - half)
            upper = np.exp(np.log(xx) + half)
            return lower, np.where(np.isnan(upper), np.nan, np.minimum(upper, 1.0))
        if conf_type == "log-log":
            xx = np.where((p == 0) | (p == 1), np.nan, p)
            half = z * se_log / np.log(xx)
            core = np.log(-np.log(xx))
            return np.exp(-np.exp(core - half)), np.exp(-np.exp(core + half))
        if conf_type == "logit":
            xx = np.where(p == 0, np.nan, p)
            half = z * se_log * (1 + xx / (1 - xx))
            logit = np.log(p / (1 - p))
            return (
                1 - 1 / (1 + np.exp(logit - half)),
                1 - 1 / (1 + np.exp(logit + half)),
            )
        if conf_type == "arcsin":
            xx = np.where(p == 0, np.nan, p)
            half = 0.5 * z * se_log * np.sqrt(xx / (1 - xx))
            root = np.arcsin(np.sqrt(xx))
            lower = np.sin(np.maximum(0.0, root - half)) ** 2  # NaN stays NaN
            upper = np.sin(np.minimum(np.pi / 2, root + half)) ** 2
            return lower, upper
    raise ValueError(
        "conf_type must be 'log', 'log-log', 'plain', 'logit', 'arcsin' or 'none', "
        f"got {conf_type!r}"
    )
