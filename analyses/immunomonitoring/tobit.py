"""Left-censored (Tobit) normal likelihood for summary means below an LLOQ."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

__all__ = ["CensoredNormalFit", "estimate_censored_normal"]


@dataclass(frozen=True)
class CensoredNormalFit:
    """Maximum-likelihood fit of a normal sample with left-censored values.

    Attributes
    ----------
    mean : float
        ML estimate of the normal mean.
    sd : float
        ML estimate of the normal standard deviation (divisor n, as every ML fit).
    se_mean : float
        Standard error of ``mean`` from the observed information (inverse Hessian of
        the negative log-likelihood in (mean, log sd)).
    n : int
        Number of values.
    n_censored : int
        Number of left-censored values.
    loglik : float
        Maximised log-likelihood.
    converged : bool
        Whether the optimiser reported success.
    """

    mean: float
    sd: float
    se_mean: float
    n: int
    n_censored: int
    loglik: float
    converged: bool


def _negloglik(
    theta: npt.NDArray[np.float64],
    y_obs: npt.NDArray[np.float64],
    c_cens: npt.NDArray[np.float64],
) -> float:
    mu, log_sd = float(theta[0]), float(theta[1])
    sd = np.exp(log_sd)
    ll = np.sum(stats.norm.logpdf(y_obs, loc=mu, scale=sd))
    ll += np.sum(stats.norm.logcdf((c_cens - mu) / sd))
    return float(-ll)


def _gradient(
    theta: npt.NDArray[np.float64],
    y_obs: npt.NDArray[np.float64],
    c_cens: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    mu, log_sd = float(theta[0]), float(theta[1])
    sd = np.exp(log_sd)
    r = (y_obs - mu) / sd
    z = (c_cens - mu) / sd
    # inverse Mills ratio phi(z)/Phi(z), computed on the log scale for stability
    mills = np.exp(stats.norm.logpdf(z) - stats.norm.logcdf(z))
    d_mu = np.sum(r) / sd - np.sum(mills) / sd
    d_logsd = np.sum(r**2 - 1.0) - np.sum(mills * z)
    return -np.array([d_mu, d_logsd])


def _hessian(
    theta: npt.NDArray[np.float64],
    y_obs: npt.NDArray[np.float64],
    c_cens: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    # central differences of the analytic gradient
    h = 1e-5
    hess = np.empty((2, 2))
    for j in range(2):
        step = np.zeros(2)
        step[j] = h
        hess[:, j] = (
            _gradient(theta + step, y_obs, c_cens)
            - _gradient(theta - step, y_obs, c_cens)
        ) / (2 * h)
    return (hess + hess.T) / 2


def estimate_censored_normal(
    values: npt.ArrayLike, censored: npt.ArrayLike
) -> CensoredNormalFit:
    """Fit a normal distribution to values some of which are left-censored.

    The log-likelihood is ``sum(log phi((y - mu) / sd) - log sd)`` over observed
    values plus ``sum(log Phi((c - mu) / sd))`` over censored ones, where ``c`` is the
    censoring limit (the LLOQ on the analysis scale). It is maximised with
    :func:`scipy.optimize.minimize` (BFGS, analytic gradient) over ``(mu, log sd)``.

    Parameters
    ----------
    values : array_like
        Observed values; for censored entries, the censoring limit.
    censored : array_like of bool
        True where the entry is left-censored (true value below ``values``).

    Returns
    -------
    CensoredNormalFit
        Estimates; all NaN when fewer than two values are observed.
    """
    y = np.asarray(values, dtype=float)
    cens = np.asarray(censored, dtype=bool)
    keep = ~np.isnan(y)
    y, cens = y[keep], cens[keep]
    y_obs, c_cens = y[~cens], y[cens]
    n, n_c = int(y.size), int(cens.sum())
    if y_obs.size < 2 or (np.ptp(y_obs) == 0 and n_c == 0):
        nan = float("nan")
        return CensoredNormalFit(nan, nan, nan, n, n_c, nan, False)
    start_sd = np.std(y, ddof=0) if np.std(y, ddof=0) > 0 else 1.0
    start = np.array([np.mean(y), np.log(start_sd)])
    res = optimize.minimize(
        _negloglik,
        start,
        args=(y_obs, c_cens),
        jac=_gradient,
        method="BFGS",
        options={"gtol": 1e-10, "maxiter": 1000},
    )
    theta = np.asarray(res.x, dtype=float)
    cov = np.linalg.inv(_hessian(theta, y_obs, c_cens))
    return CensoredNormalFit(
        mean=float(theta[0]),
        sd=float(np.exp(theta[1])),
        se_mean=float(np.sqrt(cov[0, 0])),
        n=n,
        n_censored=n_c,
        loglik=float(-res.fun),
        converged=bool(res.success) or float(np.max(np.abs(res.jac))) < 1e-6,
    )
