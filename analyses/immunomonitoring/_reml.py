"""REML fit of a linear model with an unstructured covariance over visits.

Subjects are independent; the results of one subject at its visits ``o`` have
covariance ``Sigma[o, o]`` with ``Sigma`` (visits x visits) unrestricted. The
parameters are the distinct elements ``sigma_ab`` (a <= b) of ``Sigma``; the
covariance of the results is linear in them, so the REML log-likelihood

    l = -1/2 [sum_i log|Sigma_i| + log|X' V^-1 X| + r' V^-1 r + (N - p) log(2 pi)]

has a closed-form gradient and observed Hessian (``P = V^-1 - V^-1 X B X' V^-1``,
``B = (X' V^-1 X)^-1``, ``V_a = dV / d sigma_a``):

    dl/da = -1/2 tr(P V_a) + 1/2 y' P V_a P y
    d2l/dadb = 1/2 tr(P V_a P V_b) - y' P V_a P V_b P y

computed subject by subject, grouped by the pattern of visits observed. Newton-
Raphson on these (Fisher scoring where the observed information is not positive
definite, step halving to stay positive definite and uphill) converges
quadratically, so the optimum is reached to rounding, the same on every machine.

Satterthwaite's degrees of freedom of a contrast ``k' beta`` are
``2 (k' B k)^2 / (g' A g)`` with ``g_a = k' (dB / d sigma_a) k = k' B Q_a B k``,
``Q_a = X' V^-1 V_a V^-1 X``, and ``A`` the inverse of the observed information of
the covariance parameters: R ``emmeans(mode = "satterthwaite")`` for ``nlme::gls``
(the df does not depend on how the covariance is parameterised).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import linalg

__all__ = ["Pattern", "RemlFit", "fit_reml", "satterthwaite_df"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Convergence: Newton decrement g' I^-1 g below this (about 1e-8 standard errors).
DECREMENT_TOL = 1e-16
MAX_ITER = 200


@dataclass(frozen=True)
class Pattern:
    """Subjects who have results at the same visits.

    Attributes
    ----------
    visits : numpy.ndarray of int
        Visit indices (0-based, increasing).
    x : numpy.ndarray
        Design rows, shape (subjects, visits, columns).
    y : numpy.ndarray
        Responses, shape (subjects, visits).
    """

    visits: IntArray
    x: FloatArray
    y: FloatArray


@dataclass
class _Eval:
    loglik: float
    beta: FloatArray
    cov_beta: FloatArray
    grad: FloatArray
    hess: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    fisher: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    q: FloatArray = field(default_factory=lambda: np.zeros((0, 0, 0)))


@dataclass(frozen=True)
class RemlFit:
    """The REML optimum.

    Attributes
    ----------
    sigma : numpy.ndarray
        Unstructured covariance over visits.
    beta : numpy.ndarray
        GLS fixed effects at ``sigma``.
    cov_beta : numpy.ndarray
        Their covariance ``(X' V^-1 X)^-1``.
    loglik : float
        REML log-likelihood (R ``logLik(gls_fit)``).
    theta_cov : numpy.ndarray or None
        Inverse observed information of the covariance parameters; None when it
        is not positive definite (optimum on the boundary).
    q : numpy.ndarray
        ``Q_a = X' V^-1 V_a V^-1 X`` per covariance parameter, shape (params, p, p).
    pairs : list of tuple of int
        The covariance parameters: ``(a, b)``, a <= b, for ``sigma[a, b]``.
    iterations : int
        Newton iterations.
    converged : bool
        Whether the Newton decrement fell below its tolerance.
    """

    sigma: FloatArray
    beta: FloatArray
    cov_beta: FloatArray
    loglik: float
    theta_cov: FloatArray | None
    q: FloatArray
    pairs: list[tuple[int, int]]
    iterations: int
    converged: bool


def _units(
    visits: IntArray, pairs: list[tuple[int, int]]
) -> tuple[IntArray, FloatArray]:
    """Parameters present in a pattern and their dV/dsigma blocks (m x m)."""
    pos = {int(v): i for i, v in enumerate(visits.tolist())}
    present, blocks = [], []
    for idx, (a, b) in enumerate(pairs):
        if a in pos and b in pos:
            e = np.zeros((len(visits), len(visits)))
            e[pos[a], pos[b]] = 1.0
            e[pos[b], pos[a]] = 1.0
            present.append(idx)
            blocks.append(e)
    m = len(visits)
    return np.asarray(present, dtype=np.int64), (
        np.stack(blocks) if blocks else np.zeros((0, m, m))
    )


class _Problem:
    def __init__(self, patterns: list[Pattern], n_visits: int) -> None:
        self.patterns = patterns
        self.n_visits = n_visits
        self.pairs = [(a, b) for a in range(n_visits) for b in range(a, n_visits)]
        self.units = [_units(p.visits, self.pairs) for p in patterns]
        self.p = patterns[0].x.shape[2]
        self.n_obs = sum(p.y.size for p in patterns)

    def evaluate(self, sigma: FloatArray, second: bool) -> _Eval | None:
        """Log-likelihood, gradient and (with ``second``) Hessian at ``sigma``."""
        p = self.p
        xtvx = np.zeros((p, p))
        xtvy = np.zeros(p)
        logdet = 0.0
        inverses, weighted = [], []
        for pat in self.patterns:
            block = sigma[np.ix_(pat.visits, pat.visits)]
            try:
                chol = linalg.cho_factor(block, lower=True)
            except linalg.LinAlgError:
                return None
            diag = np.diag(chol[0])
            if not np.all(diag > 0):
                return None
            inv = linalg.cho_solve(chol, np.eye(len(pat.visits)))
            inv = (inv + inv.T) / 2
            w = np.einsum("st,itp->isp", inv, pat.x)
            xtvx += np.einsum("isp,isq->pq", pat.x, w)
            xtvy += np.einsum("isp,is->p", w, pat.y)
            logdet += pat.y.shape[0] * 2.0 * float(np.log(diag).sum())
            inverses.append(inv)
            weighted.append(w)
        try:
            chol_x = linalg.cho_factor(xtvx, lower=True)
        except linalg.LinAlgError:
            return None
        cov_beta = linalg.cho_solve(chol_x, np.eye(p))
        cov_beta = (cov_beta + cov_beta.T) / 2
        beta = cov_beta @ xtvy
        logdet_x = 2.0 * float(np.log(np.diag(chol_x[0])).sum())
        n_par = len(self.pairs)
        grad = np.zeros(n_par)
        quad = 0.0
        t1 = np.zeros((n_par, n_par))
        t2 = np.zeros((n_par, n_par))
        t4 = np.zeros((n_par, n_par))
        q = np.zeros((n_par, p, p))
        wvec = np.zeros((n_par, p))
        for pat, inv, w, (idx, e) in zip(
            self.patterns, inverses, weighted, self.units, strict=True
        ):
            r = pat.y - np.einsum("isp,p->is", pat.x, beta)
            u = np.einsum("is,st->it", r, inv)
            quad += float(np.einsum("is,is->", u, r))
            uu = np.einsum("is,it->st", u, u)
            k = np.einsum("isp,pq,itq->st", w, cov_beta, w)
            n_sub = pat.y.shape[0]
            m = uu + k - n_sub * inv
            grad[idx] += 0.5 * np.einsum("ast,ts->a", e, m)
            if not second or idx.size == 0:
                continue
            # Q_a = sum_i W_i' E_a W_i and w_a = sum_i W_i' E_a u_i
            q[idx] += np.einsum("isp,ast,itq->apq", w, e, w)
            wvec[idx] += np.einsum("isp,ast,it->ap", w, e, u)
            ie = np.einsum("st,atu->asu", inv, e)  # Sigma_i^-1 E_a
            # tr(Si E_a Si E_b) n, tr(E_a Si E_b K), tr(E_a Si E_b UU)
            t1[np.ix_(idx, idx)] += n_sub * np.einsum("ast,bts->ab", ie, ie)
            eie = np.einsum("ast,btu->absu", e, ie)  # E_a Si E_b
            t2[np.ix_(idx, idx)] += np.einsum("absu,us->ab", eie, k)
            t4[np.ix_(idx, idx)] += np.einsum("absu,us->ab", eie, uu)
        loglik = -0.5 * (
            logdet + logdet_x + quad + (self.n_obs - p) * np.log(2 * np.pi)
        )
        out = _Eval(loglik=float(loglik), beta=beta, cov_beta=cov_beta, grad=grad)
        if second:
            bq = np.einsum("pr,arq->apq", cov_beta, q)
            t3 = np.einsum("apq,bqp->ab", bq, bq)
            fisher = 0.5 * (t1 - 2 * t2 + t3)
            hess = fisher - (t4 - wvec @ cov_beta @ wvec.T)
            out.fisher = (fisher + fisher.T) / 2
            out.hess = (hess + hess.T) / 2  # of the log-likelihood
            out.q = q
        return out


def _to_matrix(theta: FloatArray, pairs: list[tuple[int, int]], t: int) -> FloatArray:
    sigma = np.zeros((t, t))
    for value, (a, b) in zip(theta.tolist(), pairs, strict=True):
        sigma[a, b] = sigma[b, a] = value
    return sigma


def _start(patterns: list[Pattern], n_visits: int) -> FloatArray:
    """Pairwise moment estimate from least-squares residuals; diagonal if not PD."""
    x = np.concatenate([p.x.reshape(-1, p.x.shape[2]) for p in patterns])
    y = np.concatenate([p.y.reshape(-1) for p in patterns])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    total = np.zeros((n_visits, n_visits))
    count = np.zeros((n_visits, n_visits))
    for pat in patterns:
        r = pat.y - np.einsum("isp,p->is", pat.x, beta)
        ix = np.ix_(pat.visits, pat.visits)
        total[ix] += np.einsum("is,it->st", r, r)
        count[ix] += r.shape[0]
    var = np.diag(total) / np.maximum(np.diag(count), 1)
    var = np.where(var > 0, var, max(float(np.mean(var)), 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        moment = np.where(count > 1, total / np.maximum(count, 1), 0.0)
    np.fill_diagonal(moment, var)
    try:
        np.linalg.cholesky(moment)
        if np.linalg.eigvalsh(moment).min() > 1e-6 * var.max():
            return moment
    except np.linalg.LinAlgError:
        pass
    return np.diag(var)


def fit_reml(patterns: list[Pattern], n_visits: int) -> RemlFit:
    """Maximise the REML log-likelihood over the unstructured covariance.

    Parameters
    ----------
    patterns : list of Pattern
        The subjects, grouped by the visits they have results at.
    n_visits : int
        Number of visits.

    Returns
    -------
    RemlFit
        The optimum, the fixed effects and what Satterthwaite's df need.
    """
    prob = _Problem(patterns, n_visits)
    pairs = prob.pairs
    sigma = _start(patterns, n_visits)
    theta = np.array([sigma[a, b] for a, b in pairs])
    current = prob.evaluate(sigma, second=True)
    if current is None:
        raise ValueError("the starting covariance is not positive definite")
    converged = False
    iterations = 0
    for iterations in range(1, MAX_ITER + 1):  # noqa: B007
        info = -current.hess
        try:
            linalg.cholesky(info, lower=True)
        except linalg.LinAlgError:
            info = current.fisher
        step = linalg.solve(info, current.grad, assume_a="sym")
        decrement = float(current.grad @ step)
        if decrement < DECREMENT_TOL:
            converged = True
            break
        lam = 1.0
        while lam > 1e-10:
            trial = theta + lam * step
            nxt = prob.evaluate(_to_matrix(trial, pairs, n_visits), second=True)
            if nxt is not None and nxt.loglik >= current.loglik - 1e-12 * (
                1 + abs(current.loglik)
            ):
                break
            lam /= 2
        else:
            break
        assert nxt is not None
        theta, current = trial, nxt
    sigma = _to_matrix(theta, pairs, n_visits)
    info = -current.hess
    try:
        linalg.cholesky(info, lower=True)
        theta_cov: FloatArray | None = linalg.inv(info)
    except linalg.LinAlgError:
        theta_cov = None
    return RemlFit(
        sigma=sigma,
        beta=current.beta,
        cov_beta=current.cov_beta,
        loglik=current.loglik,
        theta_cov=theta_cov,
        q=current.q,
        pairs=pairs,
        iterations=iterations,
        converged=converged,
    )


def satterthwaite_df(fit: RemlFit, contrasts: FloatArray) -> FloatArray:
    """Return Satterthwaite's degrees of freedom of each row ``k`` of ``contrasts``.

    Parameters
    ----------
    fit : RemlFit
        The REML fit.
    contrasts : numpy.ndarray
        Linear functions of the fixed effects, shape (k, p).

    Returns
    -------
    numpy.ndarray
        ``2 (k' B k)^2 / (g' A g)`` per row; NaN without a positive definite
        information matrix.
    """
    lin = np.atleast_2d(contrasts)
    if fit.theta_cov is None:
        return np.full(lin.shape[0], np.nan)
    kb = lin @ fit.cov_beta  # k' B
    var = np.einsum("kp,kp->k", kb, lin)
    grad = np.einsum("kp,apq,kq->ka", kb, fit.q, kb)  # k' B Q_a B k
    denom = np.einsum("ka,ab,kb->k", grad, fit.theta_cov, grad)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(2 * var**2 / denom, dtype=float)
