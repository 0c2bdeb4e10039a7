"""Cox partial likelihood (Efron, Breslow, exact) and Newton-Raphson, in numpy.

Follows R ``survival::coxph``: the same three tie handlings, strata as separate
baseline hazards, Newton-Raphson from beta = 0 with step halving, score test at
beta = 0 and Wald test at the estimate. Convergence is run to a tighter criterion
than R's default (relative log-likelihood change 1e-9) so results agree with R to
well under 1e-6.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["Ties", "cox_loglik", "fit_cox", "linear_predictor"]

FloatArray = npt.NDArray[np.float64]
Ties = Literal["efron", "breslow", "exact"]


def linear_predictor(x: FloatArray, beta: FloatArray) -> FloatArray:
    """Return ``x @ beta`` summed in a fixed order, without BLAS.

    A BLAS matrix-vector product may sum ``x[i, j] * beta[j]`` in a different order,
    or with fused multiply-adds, for different rows (the kernel depends on the CPU,
    and the split of rows on the thread count), so two rows with identical
    covariates can get predictors one ulp apart, and a pair R scores as tied is
    counted as concordant or discordant. Here every row is
    ``(((0 + x_i0 b_0) + x_i1 b_1) + ...)``, the column order of the reference BLAS
    ``dgemv`` behind R's ``X %*% coef``, computed with element-wise numpy operations:
    identical rows get bit-identical predictors, and a row's value depends neither
    on the other rows, nor on their order, nor on the machine.

    Parameters
    ----------
    x : numpy.ndarray
        Matrix (n, p).
    beta : numpy.ndarray
        Vector (p,).

    Returns
    -------
    numpy.ndarray
        Vector (n,).
    """
    x = np.asarray(x, dtype=np.float64)
    eta = np.zeros(x.shape[0])
    for j in range(x.shape[1]):
        eta = eta + x[:, j] * float(beta[j])
    return eta


def _stratum_efron_breslow(
    beta: FloatArray,
    x: FloatArray,
    time: FloatArray,
    event: npt.NDArray[np.bool_],
    ties: Ties,
) -> tuple[float, FloatArray, FloatArray]:
    p = x.shape[1]
    eta = linear_predictor(x, beta)
    r = np.exp(eta)
    ut, inv = np.unique(time, return_inverse=True)
    k = ut.size
    # risk-set sums at each distinct time: subjects with time >= t
    s0_t = np.bincount(inv, weights=r, minlength=k)
    s1_t = np.zeros((k, p))
    np.add.at(s1_t, inv, r[:, None] * x)
    s2_t = np.zeros((k, p, p))
    np.add.at(s2_t, inv, r[:, None, None] * x[:, :, None] * x[:, None, :])
    s0 = s0_t[::-1].cumsum()[::-1]
    s1 = s1_t[::-1].cumsum(axis=0)[::-1]
    s2 = s2_t[::-1].cumsum(axis=0)[::-1]
    ev = event
    tix = inv[ev]  # time index of every event
    xd, rd = x[ev], r[ev]
    d = np.bincount(tix, minlength=k)
    s0d = np.bincount(tix, weights=rd, minlength=k)
    s1d = np.zeros((k, p))
    np.add.at(s1d, tix, rd[:, None] * xd)
    s2d = np.zeros((k, p, p))
    np.add.at(s2d, tix, rd[:, None, None] * xd[:, :, None] * xd[:, None, :])
    # one term per event: l = 0..d-1 within its time, fraction l/d (0 for Breslow)
    order = np.argsort(tix, kind="stable")
    t_sorted = tix[order]
    first = np.searchsorted(t_sorted, t_sorted, side="left")
    ell = np.arange(t_sorted.size) - first
    frac = ell / d[t_sorted] if ties == "efron" else np.zeros(t_sorted.size)
    den = s0[t_sorted] - frac * s0d[t_sorted]
    num1 = s1[t_sorted] - frac[:, None] * s1d[t_sorted]
    num2 = s2[t_sorted] - frac[:, None, None] * s2d[t_sorted]
    a = num1 / den[:, None]
    loglik = float(eta[ev].sum() - np.log(den).sum())
    score = xd.sum(axis=0) - a.sum(axis=0)
    info = (num2 / den[:, None, None]).sum(axis=0) - np.einsum("ti,tj->ij", a, a)
    return loglik, score, info


def _stratum_exact(
    beta: FloatArray,
    x: FloatArray,
    time: FloatArray,
    event: npt.NDArray[np.bool_],
) -> tuple[float, FloatArray, FloatArray]:
    """Exact (discrete) partial likelihood by the Gail-Lubin-Rubinstein recursion."""
    p = x.shape[1]
    eta = linear_predictor(x, beta)
    loglik = 0.0
    score = np.zeros(p)
    info = np.zeros((p, p))
    for t in np.unique(time[event]):
        at_risk = time >= t
        dead = at_risk & event & (time == t)
        d = int(dead.sum())
        xr = x[at_risk]
        er = eta[at_risk]
        shift = er.max()
        rr = np.exp(er - shift)  # scaled; the log-likelihood is corrected below
        # B[k], dB[k], d2B[k] for subsets of size k among the first j members
        b = np.zeros(d + 1)
        db = np.zeros((d + 1, p))
        d2b = np.zeros((d + 1, p, p))
        b[0] = 1.0
        for j in range(xr.shape[0]):
            xj = xr[j]
            rj = rr[j]
            b_prev, db_prev, d2b_prev = b[:-1].copy(), db[:-1].copy(), d2b[:-1].copy()
            b[1:] += rj * b_prev
            db[1:] += rj * (xj[None, :] * b_prev[:, None] + db_prev)
            d2b[1:] += rj * (
                np.outer(xj, xj)[None, :, :] * b_prev[:, None, None]
                + xj[None, :, None] * db_prev[:, None, :]
                + db_prev[:, :, None] * xj[None, None, :]
                + d2b_prev
            )
        bd, dbd, d2bd = b[d], db[d], d2b[d]
        loglik += float(eta[dead].sum() - (np.log(bd) + d * shift))
        mean = dbd / bd
        score += x[dead].sum(axis=0) - mean
        info += d2bd / bd - np.outer(mean, mean)
    return loglik, score, info


def cox_loglik(
    beta: FloatArray,
    x: FloatArray,
    time: FloatArray,
    event: npt.NDArray[np.bool_],
    strata: npt.NDArray[np.int64] | None,
    ties: Ties,
) -> tuple[float, FloatArray, FloatArray]:
    """Log partial likelihood, score vector and information matrix at ``beta``.

    Parameters
    ----------
    beta : numpy.ndarray
        Coefficients.
    x : numpy.ndarray
        Covariate matrix (n, p).
    time, event : numpy.ndarray
        Follow-up times and event indicators.
    strata : numpy.ndarray of int, optional
        Stratum per row; each stratum has its own baseline hazard.
    ties : {"efron", "breslow", "exact"}
        Tie handling.

    Returns
    -------
    tuple
        ``(loglik, score, information)``.
    """
    codes = np.zeros(time.size, np.int64) if strata is None else strata
    p = x.shape[1]
    total = 0.0
    score = np.zeros(p)
    info = np.zeros((p, p))
    for s in np.unique(codes):
        m = codes == s
        if not event[m].any():
            continue
        if ties == "exact":
            ll, u, i = _stratum_exact(beta, x[m], time[m], event[m])
        else:
            ll, u, i = _stratum_efron_breslow(beta, x[m], time[m], event[m], ties)
        total += ll
        score += u
        info += i
    return total, score, info


def fit_cox(
    x: FloatArray,
    time: FloatArray,
    event: npt.NDArray[np.bool_],
    strata: npt.NDArray[np.int64] | None,
    ties: Ties,
    tol: float = 1e-12,
    max_iter: int = 60,
) -> tuple[FloatArray, FloatArray, float, float, float, list[str]]:
    """Maximise the partial likelihood by Newton-Raphson from beta = 0.

    Parameters
    ----------
    x : numpy.ndarray
        Covariates (centred by the caller or not; the estimates do not change).
    time, event, strata : numpy.ndarray
        As :func:`cox_loglik`.
    ties : {"efron", "breslow", "exact"}
        Tie handling.
    tol : float
        Stop when the relative change in log-likelihood is below ``tol``
        (R's ``coxph.control(eps=1e-9)`` is looser).
    max_iter : int
        Iteration limit.

    Returns
    -------
    tuple
        ``(beta, covariance, loglik_null, loglik_model, score_test, problems)``;
        ``problems`` lists convergence problems (empty when all is well), as R's
        warnings: out of iterations, or a coefficient that may be infinite.

    Raises
    ------
    ValueError
        If the information matrix at beta = 0 is singular (a constant or
        collinear covariate, or no events).
    """
    p = x.shape[1]
    beta = np.zeros(p)
    ll0, u0, i0 = cox_loglik(beta, x, time, event, strata, ties)
    try:
        score_test = float(u0 @ np.linalg.solve(i0, u0))
    except np.linalg.LinAlgError:
        raise ValueError(
            "the information matrix is singular at beta = 0: a covariate is constant "
            "or collinear with others (within strata), or there are no events"
        ) from None
    ll, u, info = ll0, u0, i0
    problems: list[str] = []
    converged = False
    for _ in range(max_iter):
        try:
            step = np.linalg.solve(info, u)
        except np.linalg.LinAlgError:
            problems.append("information matrix became singular")
            break
        new = beta + step
        ll_new, u_new, info_new = cox_loglik(new, x, time, event, strata, ties)
        halvings = 0
        while (not np.isfinite(ll_new) or ll_new < ll - 1e-12) and halvings < 30:
            step = step / 2
            new = beta + step
            ll_new, u_new, info_new = cox_loglik(new, x, time, event, strata, ties)
            halvings += 1
        change = abs(1 - ll_new / ll) if ll != 0 else abs(ll_new)
        beta, ll, u, info = new, ll_new, u_new, info_new
        if change <= tol:
            converged = True
            break
    if not converged and not problems:
        problems.append(f"ran out of iterations ({max_iter}) and did not converge")
    cov = np.asarray(np.linalg.pinv(info), dtype=np.float64)
    # R coxph.fit: a coefficient "may be infinite" when the one-step change it
    # implies is not negligible although the log-likelihood has converged
    eps = 1e-9
    infs = np.abs(linear_predictor(cov.T, u))  # u @ cov, compared with eps below
    flagged = (infs > eps) & (infs > np.sqrt(eps) * np.abs(beta))
    if flagged.any():
        problems.append(
            "log-likelihood converged before coefficient(s) "
            f"{[int(i) for i in np.flatnonzero(flagged)]}; they may be infinite"
        )
    return beta, cov, ll0, ll, score_test, problems
