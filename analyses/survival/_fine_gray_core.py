"""Fine-Gray subdistribution-hazard regression, following R ``cmprsk::crr`` 2.2-11.

Fine & Gray (1999), JASA 94:496-509. Subjects who failed from another cause stay
in the risk set of the cause of interest with weight ``G(t-) / G(t_j-)``, G the
Kaplan-Meier of the censoring distribution (within censoring groups), evaluated as
``crr`` does (``approx`` at ``t (1 - 100 eps)``). Ties by Breslow. The fit is
``crr``'s: Newton-Raphson from ``init`` with backtracking (step halving while the
objective does not fall by ``1e-4`` times the predicted decrease, at most 20
times), stopped when ``max(|score| max(|b|, 1)) < max(|loglik|, 1) gtol``; the
variance is the sandwich ``I^{-1} V I^{-1}`` of the Fortran ``crrvv`` (the
influence of each subject's score, with the term for the estimated censoring
distribution).

The covariates are centred before fitting (the partial likelihood, score and
information do not change; the baseline jumps are reported for the uncentred
covariates, as ``crr``'s ``bfitj``). Every sum runs over sorted rows as cumulative
or element-wise numpy sums (no BLAS), so the numbers do not depend on the machine;
only the Newton step and the final inverses go through LAPACK.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analyses.survival._cox_core import linear_predictor

__all__ = ["FineGrayFit", "censoring_weights", "fit_fine_gray"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
R_EPS = float(np.finfo(float).eps)  # R's .Machine$double.eps


def censoring_weights(
    time: FloatArray, censored: npt.NDArray[np.bool_], cengroup: IntArray, n_groups: int
) -> FloatArray:
    """Censoring Kaplan-Meier just before each time, per censoring group (``crr``).

    Parameters
    ----------
    time : numpy.ndarray
        Times, sorted.
    censored : numpy.ndarray of bool
        Censoring indicators.
    cengroup : numpy.ndarray of int
        Censoring group 0..n_groups-1 per row.
    n_groups : int
        Number of censoring groups.

    Returns
    -------
    numpy.ndarray
        ``(n_groups, n)``: for group k and row i, the censoring Kaplan-Meier of
        group k at ``time[i] (1 - 100 eps)``, as ``crr``'s
        ``approx(c(min(0, u$time) - 10 eps, u$time, max(u$time) (1 + 10 eps)),
        c(1, u$surv, 0), xout, method = "constant", f = 0, rule = 2)``: 1 before
        the group's first time, 0 beyond its last.
    """
    xout = time * (1 - 100 * R_EPS)
    out = np.zeros((n_groups, time.size))
    for k in range(n_groups):
        m = cengroup == k
        ut, inv = np.unique(time[m], return_inverse=True)
        n_cens = np.bincount(inv, weights=censored[m].astype(float), minlength=ut.size)
        n_all = np.bincount(inv, minlength=ut.size).astype(float)
        at_risk = n_all[::-1].cumsum()[::-1]
        surv = np.cumprod(1.0 - n_cens / at_risk)
        knots = np.concatenate(
            [
                [min(0.0, float(ut[0])) - 10 * R_EPS],
                ut,
                [float(ut[-1]) * (1 + 10 * R_EPS)],
            ]
        )
        values = np.concatenate([[1.0], surv, [0.0]])
        pos = np.clip(np.searchsorted(knots, xout, side="right") - 1, 0, knots.size - 1)
        out[k] = values[pos]
    return out


@dataclass(frozen=True)
class _Prepared:
    """Sorted data and the index structure every evaluation reuses."""

    time: FloatArray  # sorted times
    ici: IntArray  # 1 cause of interest, 2 other cause, 0 censored
    x: FloatArray  # centred covariates (n, p)
    center: FloatArray  # column means removed
    cg: IntArray  # censoring group per row
    n_cg: int
    wt_own: FloatArray  # G_{cg(i)}(t_i-) per row
    g_fail: FloatArray  # (n_cg, D): G_k(T_m-) at each distinct failure time
    uftime: FloatArray  # distinct failure times (D,)
    d: FloatArray  # failures of the cause per distinct time (D,)
    d_cg: FloatArray  # (n_cg, D) failures per censoring group
    first: IntArray  # first row index of each distinct failure time
    fail_index: IntArray  # per row: its failure-time index (-1 if not a failure)


def _prepare(
    time: FloatArray, ici: IntArray, x: FloatArray, cg: IntArray, n_cg: int
) -> _Prepared:
    order = np.argsort(time, kind="stable")
    t, e, xs, g = time[order], ici[order], x[order], cg[order]
    wt = censoring_weights(t, e == 0, g, n_cg)
    uftime, d_int = np.unique(t[e == 1], return_counts=True)
    first = np.searchsorted(t, uftime, side="left")
    g_fail = wt[:, first]
    d_cg = np.zeros((n_cg, uftime.size))
    fail_rows = np.flatnonzero(e == 1)
    fidx = np.searchsorted(uftime, t[fail_rows])
    np.add.at(d_cg, (g[fail_rows], fidx), 1.0)
    fail_index = np.full(t.size, -1, dtype=np.int64)
    fail_index[fail_rows] = fidx
    center = xs.mean(axis=0) if xs.shape[0] else np.zeros(xs.shape[1])
    return _Prepared(
        time=t,
        ici=e,
        x=xs - center,
        center=center,
        cg=g,
        n_cg=n_cg,
        wt_own=wt[g, np.arange(t.size)],
        g_fail=g_fail,
        uftime=uftime,
        d=d_int.astype(float),
        d_cg=d_cg,
        first=first.astype(np.int64),
        fail_index=fail_index,
    )


def _suffix(a: FloatArray) -> FloatArray:
    """Return the sums from each row to the end, then a zero row (length n + 1)."""
    out = np.zeros((a.shape[0] + 1, *a.shape[1:]))
    out[:-1] = a[::-1].cumsum(axis=0)[::-1]
    return out


def _prefix(a: FloatArray) -> FloatArray:
    """Return the sums of the rows before each row (exclusive), length n + 1."""
    out = np.zeros((a.shape[0] + 1, *a.shape[1:]))
    out[1:] = a.cumsum(axis=0)
    return out


def _risk_sums(prep: _Prepared, w: FloatArray, values: FloatArray) -> FloatArray:
    """Weighted risk-set sums of ``values`` (rows) at each distinct failure time.

    The risk set at T is everyone with time >= T (weight ``w``) and everyone who
    failed from another cause before T (weight ``w G(T-) / G(t_j-)``).
    """
    at_risk = _suffix(values * w.reshape(-1, *([1] * (values.ndim - 1))))[prep.first]
    other = prep.ici == 2
    total = at_risk
    for k in range(prep.n_cg):
        sel = other & (prep.cg == k)
        scale = np.where(sel, w / np.where(sel, prep.wt_own, 1.0), 0.0)
        before = _prefix(values * scale.reshape(-1, *([1] * (values.ndim - 1))))
        gk = prep.g_fail[k].reshape(-1, *([1] * (values.ndim - 1)))
        total = total + gk * before[prep.first]
    return total


def _objective(prep: _Prepared, beta: FloatArray) -> float:
    """Minus the log pseudo-likelihood (``crr``'s ``crrf``)."""
    eta = linear_predictor(prep.x, beta)
    s0 = _risk_sums(prep, np.exp(eta), np.ones((prep.time.size, 1)))[:, 0]
    fail = prep.ici == 1
    return float(-eta[fail].sum() + (prep.d * np.log(s0)).sum())


def _outer_rows(x: FloatArray) -> FloatArray:
    """Row-wise outer products ``x_i x_i'`` (n, p, p), element-wise."""
    return np.asarray(x[:, :, None] * x[:, None, :])


def _derivatives(
    prep: _Prepared, beta: FloatArray
) -> tuple[float, FloatArray, FloatArray]:
    """Objective, gradient and Hessian (``crr``'s ``crrfsv``)."""
    eta = linear_predictor(prep.x, beta)
    w = np.exp(eta)
    n = prep.x.shape[0]
    s0 = _risk_sums(prep, w, np.ones((n, 1)))[:, 0]
    s1 = _risk_sums(prep, w, prep.x)
    s2 = _risk_sums(prep, w, _outer_rows(prep.x))
    fail = prep.ici == 1
    xbar = s1 / s0[:, None]
    f = float(-eta[fail].sum() + (prep.d * np.log(s0)).sum())
    grad = -prep.x[fail].sum(axis=0) + (prep.d[:, None] * xbar).sum(axis=0)
    cov = s2 / s0[:, None, None] - xbar[:, :, None] * xbar[:, None, :]
    hess = (prep.d[:, None, None] * cov).sum(axis=0)
    return f, grad, hess


def _sandwich_middle(prep: _Prepared, beta: FloatArray) -> FloatArray:
    """Sum over subjects of (eta_i + psi_i)(eta_i + psi_i)' (Fortran ``crrvv``)."""
    eta = linear_predictor(prep.x, beta)
    w = np.exp(eta)
    n, p = prep.x.shape
    x = prep.x
    s0 = _risk_sums(prep, w, np.ones((n, 1)))[:, 0]
    s1 = _risk_sums(prep, w, x)
    xbar = s1 / s0[:, None]
    t = prep.time
    # d Lambda part while at risk (T_m <= t_i) ...
    a0 = np.concatenate([[0.0], np.cumsum(prep.d / s0)])
    a1 = np.vstack([np.zeros(p), np.cumsum((prep.d / s0)[:, None] * xbar, axis=0)])
    upto = np.searchsorted(prep.uftime, t, side="right")
    score = -w[:, None] * (x * a0[upto][:, None] - a1[upto])
    # ... and, after another cause, with weight G(T-) / G(t_i-)
    after = np.searchsorted(prep.uftime, t, side="right")
    other = prep.ici == 2
    for k in range(prep.n_cg):
        gd = prep.d * prep.g_fail[k] / s0
        b0 = np.concatenate([np.cumsum(gd[::-1])[::-1], [0.0]])
        b1 = np.vstack(
            [np.cumsum((gd[:, None] * xbar)[::-1], axis=0)[::-1], np.zeros(p)]
        )
        sel = other & (prep.cg == k)
        if sel.any():
            wi = w[sel] / prep.wt_own[sel]
            score[sel] -= wi[:, None] * (
                x[sel] * b0[after[sel]][:, None] - b1[after[sel]]
            )
    # d N part
    fail = prep.fail_index >= 0
    score[fail] += x[fail] - xbar[prep.fail_index[fail]]
    # censoring part psi: q_k(u) at every distinct time u, per censoring group
    ut, block = np.unique(t, return_inverse=True)
    start = np.searchsorted(t, ut, side="left")
    for k in range(prep.n_cg):
        in_k = prep.cg == k
        sel = other & in_k
        scale = np.where(sel, w / np.where(sel, prep.wt_own, 1.0), 0.0)
        c0 = _prefix(scale)[start]
        c1 = _prefix(x * scale[:, None])[start]
        gd = prep.d_cg[k] * prep.g_fail[k] / s0
        e0_all = np.concatenate([np.cumsum(gd[::-1])[::-1], [0.0]])
        e1_all = np.vstack(
            [np.cumsum((gd[:, None] * xbar)[::-1], axis=0)[::-1], np.zeros(p)]
        )
        from_u = np.searchsorted(prep.uftime, ut, side="left")  # T_m >= u
        q = c1 * e0_all[from_u][:, None] - c0[:, None] * e1_all[from_u]
        risk = _suffix(in_k.astype(float))[start]  # in group k with time >= u
        n_cens = np.bincount(block[in_k & (prep.ici == 0)], minlength=ut.size).astype(
            float
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where((n_cens > 0)[:, None], q * (n_cens / risk**2)[:, None], 0.0)
            own = np.where((n_cens > 0)[:, None], q / risk[:, None], 0.0)
        ss2 = -np.cumsum(step, axis=0)
        rows = np.flatnonzero(in_k)
        score[rows] += ss2[block[rows]]
        cens = rows[prep.ici[rows] == 0]
        score[cens] += own[block[cens]]
    return np.asarray((score[:, :, None] * score[:, None, :]).sum(axis=0))


def _sandwich(bread: FloatArray, meat: FloatArray) -> FloatArray:
    """``bread meat bread'`` element-wise (no BLAS)."""
    left = (bread[:, :, None] * meat[None, :, :]).sum(axis=1)
    return np.asarray((left[:, :, None] * bread.T[None, :, :]).sum(axis=1))


@dataclass(frozen=True)
class FineGrayFit:
    """The numbers of a ``crr`` fit.

    Attributes
    ----------
    coef : numpy.ndarray
        Coefficients (log subdistribution hazard ratios).
    var : numpy.ndarray
        Robust (sandwich) variance, ``crr``'s ``var``.
    invinf : numpy.ndarray
        Inverse information (naive variance), ``crr``'s ``invinf``.
    inf : numpy.ndarray
        Information matrix at the estimate, ``crr``'s ``inf``.
    score : numpy.ndarray
        Score at the estimate.
    loglik, loglik_null : float
        Log pseudo-likelihood at the estimate and at zero.
    converged : bool
        ``crr``'s ``converged``.
    iterations : int
        Newton iterations taken.
    uftime : numpy.ndarray
        Distinct failure times of the cause.
    bfitj : numpy.ndarray
        Jumps of the baseline cumulative subdistribution hazard there (covariates
        at 0, not centred).
    """

    coef: FloatArray
    var: FloatArray
    invinf: FloatArray
    inf: FloatArray
    score: FloatArray
    loglik: float
    loglik_null: float
    converged: bool
    iterations: int
    uftime: FloatArray
    bfitj: FloatArray


def fit_fine_gray(
    time: FloatArray,
    ici: IntArray,
    x: FloatArray,
    cengroup: IntArray | None = None,
    *,
    gtol: float = 1e-6,
    maxiter: int = 10,
    init: FloatArray | None = None,
) -> FineGrayFit:
    """Fit the Fine-Gray model as ``cmprsk::crr``.

    Parameters
    ----------
    time : numpy.ndarray
        Follow-up times.
    ici : numpy.ndarray of int
        1 = failure from the cause of interest, 2 = from another cause, 0 =
        censored.
    x : numpy.ndarray
        Covariates (n, p), p >= 1.
    cengroup : numpy.ndarray of int, optional
        Censoring group 0..k-1 per row (separate censoring distributions).
    gtol : float
        ``crr``'s convergence tolerance.
    maxiter : int
        ``crr``'s maximum number of Newton iterations.
    init : numpy.ndarray, optional
        Starting values (default 0).

    Returns
    -------
    FineGrayFit
        Estimates, variances and the baseline.
    """
    x = np.asarray(x, dtype=float)
    n, p = x.shape
    cg = np.zeros(n, np.int64) if cengroup is None else np.asarray(cengroup, np.int64)
    n_cg = int(cg.max()) + 1 if n else 1
    prep = _prepare(np.asarray(time, float), np.asarray(ici, np.int64), x, cg, n_cg)
    b = np.zeros(p) if init is None else np.asarray(init, dtype=float).copy()
    converged = False
    iterations = 0
    f, g, h = _derivatives(prep, b)
    for ll in range(maxiter + 1):
        if ll > 0:
            f, g, h = _derivatives(prep, b)
        if np.max(np.abs(g) * np.maximum(np.abs(b), 1.0)) < max(abs(f), 1.0) * gtol:
            converged = True
            break
        if ll == maxiter:
            break
        step = -np.linalg.solve(h, g)
        bn = b + step
        fbn = _objective(prep, bn)
        halvings = 0
        while np.isnan(fbn) or fbn > f + 1e-4 * float((step * g).sum()):
            halvings += 1
            step = step * 0.5
            bn = b + step
            fbn = _objective(prep, bn)
            if halvings > 20:
                break
        if halvings > 20:
            break
        b = bn
        iterations += 1
    middle = _sandwich_middle(prep, b)
    _, _, info = _derivatives(prep, b)
    invinf = np.asarray(np.linalg.inv(info), dtype=np.float64)
    var = _sandwich(invinf, middle)
    eta = linear_predictor(prep.x, b)
    s0 = _risk_sums(prep, np.exp(eta), np.ones((n, 1)))[:, 0]
    shift = float(np.exp(linear_predictor(prep.center[None, :], b)[0]))
    return FineGrayFit(
        coef=b,
        var=np.asarray(var),
        invinf=np.asarray(invinf),
        inf=np.asarray(info),
        score=-g,
        loglik=-f,
        loglik_null=-_objective(prep, np.zeros(p)),
        converged=converged,
        iterations=iterations,
        uftime=prep.uftime,
        bfitj=prep.d / (s0 * shift),
    )
