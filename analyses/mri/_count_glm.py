"""Maximum likelihood of Poisson and NB2 log-linear models with an offset.

Both fits are Newton-Raphson on the analytic gradient and Hessian with step halving,
from a deterministic start, to a Newton decrement of 1e-18: the maximum to rounding,
the same on every machine (no optimiser tolerance decides the digits). The NB2 fit
runs on ``(beta, log theta)`` jointly (``Var = mu + mu^2 / theta``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import linalg, special

__all__ = ["CountFit", "fit_nb2", "fit_poisson", "nb2_loglik", "poisson_loglik"]

FloatArray = npt.NDArray[np.float64]

#: Newton decrement (twice the expected log-likelihood gain) at which a fit stops.
DECREMENT_TOL = 1e-18
MAX_ITER = 200
#: A fit whose log rates (without the offset) span more than this (a factor of
#: e^25 ~ 7e10 between two subjects) runs off to infinity: a coefficient has no finite
#: maximum-likelihood estimate (e.g. a covariate level without events).
DIVERGED = 25.0
#: theta beyond which the NB2 fit is taken to run to its Poisson limit.
THETA_MAX = 1e8


@dataclass(frozen=True)
class CountFit:
    """A fitted count model.

    Attributes
    ----------
    beta : numpy.ndarray
        Coefficients.
    theta : float
        NB2 size parameter; ``inf`` for Poisson.
    mu : numpy.ndarray
        Fitted means.
    loglik : float
        Log-likelihood.
    hessian : numpy.ndarray
        Observed Hessian of the log-likelihood in ``beta`` (Poisson) or
        ``(beta, theta)`` (NB2).
    converged : bool
        Whether the Newton decrement fell below its tolerance at finite
        estimates (log rates spanning at most ``DIVERGED``).
    iterations : int
        Newton iterations.
    """

    beta: FloatArray
    theta: float
    mu: FloatArray
    loglik: float
    hessian: FloatArray
    converged: bool
    iterations: int


def poisson_loglik(y: FloatArray, mu: FloatArray) -> float:
    """Return the Poisson log-likelihood (with ``-log y!``, as R ``logLik``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(mu), 0.0)
    return float((term - mu - special.gammaln(y + 1)).sum())


def nb2_loglik(y: FloatArray, mu: FloatArray, theta: float) -> float:
    """Return the NB2 log-likelihood (R ``MASS::glm.nb``'s ``loglik``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogmu = np.where(y > 0, y * np.log(mu), 0.0)
    return float(
        (
            special.gammaln(theta + y)
            - special.gammaln(theta)
            - special.gammaln(y + 1)
            + theta * np.log(theta)
            + ylogmu
            - (theta + y) * np.log(theta + mu)
        ).sum()
    )


def _diverged(x: FloatArray, beta: FloatArray) -> bool:
    eta = x @ beta
    return bool(not np.all(np.isfinite(eta)) or np.ptp(eta) > DIVERGED)


def _ascent_direction(grad: FloatArray, hess: FloatArray) -> FloatArray:
    """Newton direction; damped towards gradient ascent where -H is not PD."""
    info = -hess
    scale = float(np.max(np.abs(np.diag(info)))) or 1.0
    ridge = 0.0
    for _ in range(60):
        try:
            chol = linalg.cho_factor(info + ridge * np.eye(len(grad)), lower=True)
            return np.asarray(linalg.cho_solve(chol, grad), dtype=float)
        except linalg.LinAlgError:
            ridge = scale * 1e-8 if ridge == 0 else ridge * 10
    return grad / scale


def fit_poisson(y: FloatArray, x: FloatArray, offset: FloatArray) -> CountFit:
    """Fit ``log E[y] = offset + x beta`` by Poisson maximum likelihood.

    Parameters
    ----------
    y : numpy.ndarray
        Counts.
    x : numpy.ndarray
        Model matrix (first column the intercept).
    offset : numpy.ndarray
        Log exposure.

    Returns
    -------
    CountFit
        The fit (``theta = inf``).
    """
    beta = np.zeros(x.shape[1])
    beta[0] = np.log(max(float(y.sum()), 0.5) / float(np.exp(offset).sum()))
    mu = np.exp(offset + x @ beta)
    ll = poisson_loglik(y, mu)
    converged = False
    it = 0
    for it in range(1, MAX_ITER + 1):  # noqa: B007
        grad = x.T @ (y - mu)
        hess = -(x.T @ (x * mu[:, None]))
        step = _ascent_direction(grad, hess)
        if float(grad @ step) < DECREMENT_TOL * max(1.0, abs(ll)):
            converged = True
            break
        lam = 1.0
        while lam > 1e-12:
            trial = beta + lam * step
            mu_t = np.exp(offset + x @ trial)
            ll_t = poisson_loglik(y, mu_t)
            if np.isfinite(ll_t) and ll_t >= ll - 1e-12 * (1 + abs(ll)):
                break
            lam /= 2
        else:
            break
        beta, mu, ll = trial, mu_t, ll_t
    hess = -(x.T @ (x * mu[:, None]))
    converged = converged and not _diverged(x, beta)
    return CountFit(beta, float("inf"), mu, ll, hess, converged, it)


def _nb2_derivatives(
    y: FloatArray, x: FloatArray, mu: FloatArray, theta: float
) -> tuple[FloatArray, FloatArray]:
    """Gradient and Hessian of the NB2 log-likelihood in ``(beta, theta)``."""
    tm = theta + mu
    g_beta = x.T @ ((y - mu) * theta / tm)
    g_theta = float(
        (
            special.digamma(theta + y)
            - special.digamma(theta)
            + np.log(theta)
            + 1
            - np.log(tm)
            - (y + theta) / tm
        ).sum()
    )
    h_bb = -(x.T @ (x * (mu * theta * (theta + y) / tm**2)[:, None]))
    h_bt = x.T @ ((y - mu) * mu / tm**2)
    h_tt = float(
        (
            special.polygamma(1, theta + y)
            - special.polygamma(1, theta)
            + 1 / theta
            - 2 / tm
            + (y + theta) / tm**2
        ).sum()
    )
    p = x.shape[1]
    grad = np.r_[g_beta, g_theta]
    hess = np.empty((p + 1, p + 1))
    hess[:p, :p] = h_bb
    hess[:p, p] = hess[p, :p] = h_bt
    hess[p, p] = h_tt
    return grad, hess


def fit_nb2(
    y: FloatArray, x: FloatArray, offset: FloatArray, start: CountFit
) -> CountFit:
    """Fit the NB2 model by Newton-Raphson on ``(beta, log theta)``.

    Parameters
    ----------
    y, x, offset : numpy.ndarray
        Counts, model matrix, log exposure.
    start : CountFit
        The Poisson fit: ``beta`` starts there, ``theta`` at MASS's moment
        estimate ``n / sum((y / mu - 1)^2)``.

    Returns
    -------
    CountFit
        The fit; ``converged`` is False when it did not reach the decrement
        tolerance, ran to ``theta > 1e8`` (Poisson limit) or diverged (see
        ``DIVERGED``).
    """
    p = x.shape[1]
    beta = start.beta.copy()
    mu = start.mu
    moment = len(y) / float(((y / mu - 1) ** 2).sum())
    theta = moment if np.isfinite(moment) and moment > 0 else 1.0
    ll = nb2_loglik(y, mu, theta)
    converged = False
    it = 0
    for it in range(1, MAX_ITER + 1):  # noqa: B007
        grad, hess = _nb2_derivatives(y, x, mu, theta)
        # in log theta: g = theta g_t, H = theta^2 H_tt + theta g_t, H_bt theta
        jac = np.r_[np.ones(p), theta]
        g_phi = grad * jac
        h_phi = hess * np.outer(jac, jac)
        h_phi[p, p] += theta * grad[p]
        step = _ascent_direction(g_phi, h_phi)
        if float(g_phi @ step) < DECREMENT_TOL * max(1.0, abs(ll)):
            converged = True
            break
        lam = 1.0
        while lam > 1e-12:
            b_t = beta + lam * step[:p]
            th_t = float(theta * np.exp(lam * step[p]))
            mu_t = np.exp(offset + x @ b_t)
            ll_t = nb2_loglik(y, mu_t, th_t)
            if np.isfinite(ll_t) and ll_t >= ll - 1e-12 * (1 + abs(ll)):
                break
            lam /= 2
        else:
            break
        beta, theta, mu, ll = b_t, th_t, mu_t, ll_t
        if theta > THETA_MAX:
            break
    _, hess = _nb2_derivatives(y, x, mu, theta)
    ok = not _diverged(x, beta) and theta <= THETA_MAX
    return CountFit(beta, theta, mu, ll, hess, converged and ok, it)
