"""One-parameter CRM models, their posterior on a fixed grid, skeleton calibration.

Skeleton calibration follows Lee & Cheung (2009).

Models (dose labels calibrated so that ``a = 0`` gives back the skeleton ``s``):

* empiric (power): ``p_k(a) = s_k ** exp(a)``;
* one-parameter logistic: ``p_k(a) = expit(c + exp(a) x_k)`` with intercept ``c``
  (default 3) and ``x_k = logit(s_k) - c``.

The prior is ``a ~ N(0, prior_sd**2)`` (default ``prior_sd = sqrt(1.34)``). Posterior
integrals over ``a`` use the trapezoidal rule on a fixed uniform grid over
``[-10, 10]`` (the range dfcrm integrates its numerators over); the integrands are
smooth and negligible at the ends, so the rule converges geometrically and a step of
0.05 reproduces ``stats::integrate`` to better than 1e-9 on the reference cases. The
same grid serves one trial or thousands at once (per-dose counts times
log-probabilities).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["CRMGrid", "Model", "getprior", "model_probabilities", "scaled_doses"]

FloatArray = npt.NDArray[np.float64]
Model = Literal["empiric", "logistic"]

#: Range of ``a`` integrated over (dfcrm integrates the numerators over [-10, 10]).
A_RANGE = 10.0


def scaled_doses(
    skeleton: npt.ArrayLike, model: Model, intercept: float = 3.0
) -> FloatArray:
    """Return the model's dose labels for a skeleton.

    Parameters
    ----------
    skeleton : array_like
        Prior DLT probabilities per dose level (increasing).
    model : {"empiric", "logistic"}
        Dose-toxicity model.
    intercept : float, default 3
        Intercept of the logistic model.

    Returns
    -------
    numpy.ndarray
        The skeleton itself (empiric) or ``logit(s) - intercept`` (logistic).

    Raises
    ------
    ValueError
        If a logistic dose label is not negative (intercept too small).
    """
    s = np.asarray(skeleton, dtype=float)
    if model == "empiric":
        return s
    x = np.log(s / (1 - s)) - intercept
    if not (x < 0).all():
        raise ValueError("logistic intercept too small: scaled doses must be negative")
    return x


def _log_probs(
    a: FloatArray, skeleton: FloatArray, model: Model, intercept: float
) -> tuple[FloatArray, FloatArray]:
    """Return log p and log(1 - p), shape (len(a), n_doses)."""
    scale = np.exp(a)[:, None]
    if model == "empiric":
        logp = scale * np.log(skeleton)[None, :]
        log1mp = np.log(-np.expm1(logp))
        return logp, log1mp
    eta = intercept + scale * scaled_doses(skeleton, model, intercept)[None, :]
    return -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)


def model_probabilities(
    a: npt.ArrayLike, skeleton: npt.ArrayLike, model: Model, intercept: float = 3.0
) -> FloatArray:
    """Return the DLT probability of every dose at parameter value(s) ``a``.

    Parameters
    ----------
    a : array_like
        Model parameter value(s).
    skeleton : array_like
        Prior DLT probabilities per dose.
    model : {"empiric", "logistic"}
        Dose-toxicity model.
    intercept : float, default 3
        Logistic intercept.

    Returns
    -------
    numpy.ndarray, shape (len(a), n_doses)
        ``p_k(a)``.
    """
    a_arr = np.atleast_1d(np.asarray(a, dtype=float))
    logp, _ = _log_probs(a_arr, np.asarray(skeleton, float), model, intercept)
    return np.exp(logp)


class CRMGrid:
    """Posterior of ``a`` on a fixed grid, for one or many trials.

    Parameters
    ----------
    skeleton : array_like
        Prior DLT probabilities per dose.
    model : {"empiric", "logistic"}
        Dose-toxicity model.
    prior_sd : float
        Prior standard deviation of ``a``; ``inf`` gives the likelihood alone.
    intercept : float, default 3
        Logistic intercept.
    step : float, default 0.05
        Grid step on ``a``.
    split : float, optional
        When given, the grid is two Simpson-rule pieces, [-10, split] and [split, 10],
        and :attr:`below_split` marks the nodes of the first piece: the posterior
        probability that ``a < split`` is then the sum of the posterior weights on
        those nodes (accurate to about 1e-6, where interpolating a single grid is not).
    """

    def __init__(
        self,
        skeleton: npt.ArrayLike,
        model: Model,
        prior_sd: float,
        intercept: float = 3.0,
        step: float = 0.05,
        split: float | None = None,
    ) -> None:
        self.skeleton = np.asarray(skeleton, dtype=float)
        self.model: Model = model
        self.intercept = float(intercept)
        if split is None or not -A_RANGE < split < A_RANGE:
            m = round(2 * A_RANGE / step)
            self.a = np.linspace(-A_RANGE, A_RANGE, m + 1)
            weights = np.full(self.a.size, step)
            weights[[0, -1]] *= 0.5
            self.below_split = self.a < (-np.inf if split is None else split)
        else:
            pieces, ws, marks = [], [], []
            for lo, hi, below in ((-A_RANGE, split, True), (split, A_RANGE, False)):
                m = 2 * max(round((hi - lo) / step / 2), 1)
                nodes = np.linspace(lo, hi, m + 1)
                w = np.full(m + 1, 2.0)
                w[1::2] = 4.0
                w[[0, -1]] = 1.0
                pieces.append(nodes)
                ws.append(w * (hi - lo) / m / 3)
                marks.append(np.full(m + 1, below))
            self.a = np.concatenate(pieces)
            weights = np.concatenate(ws)
            self.below_split = np.concatenate(marks)
        self.log_weight = np.log(weights)
        if np.isfinite(prior_sd):
            self.log_weight += -0.5 * (self.a / prior_sd) ** 2
        self.logp, self.log1mp = _log_probs(
            self.a, self.skeleton, model, self.intercept
        )
        self.p = np.exp(self.logp)

    def posterior_from_counts(self, n: FloatArray, y: FloatArray) -> FloatArray:
        """Return normalised posterior weights on the grid for many trials.

        Parameters
        ----------
        n, y : numpy.ndarray, shape (n_trials, n_doses)
            Patients and DLTs per dose.

        Returns
        -------
        numpy.ndarray, shape (n_trials, n_grid)
            Quadrature weights times posterior density, summing to 1 per row.
        """
        # explicit sum over the few doses: small matrix products through a threaded
        # BLAS are slower than this on a busy machine
        loglik = np.zeros((n.shape[0], self.a.size))
        for k in range(n.shape[1]):
            loglik += y[:, k, None] * self.logp[None, :, k]
            loglik += (n[:, k] - y[:, k])[:, None] * self.log1mp[None, :, k]
        return self._normalise(loglik)

    def posterior_from_patients(
        self,
        level: npt.ArrayLike,
        tox: npt.ArrayLike,
        weights: npt.ArrayLike | None = None,
    ) -> FloatArray:
        """Return normalised posterior weights for one trial given per-patient data.

        Parameters
        ----------
        level : array_like of int
            0-based dose index of each patient.
        tox : array_like of 0/1
            DLT indicator of each patient.
        weights : array_like, optional
            TITE weights in [0, 1]; likelihood ``(w p)^y (1 - w p)^(1 - y)``.

        Returns
        -------
        numpy.ndarray, shape (n_grid,)
            Quadrature weights times posterior density, summing to 1.
        """
        lv = np.asarray(level, dtype=np.int64)
        t = np.asarray(tox, dtype=float)
        logp = self.logp[:, lv]
        if weights is None:
            log1m = self.log1mp[:, lv]
            loglik = (t * logp + (1 - t) * log1m).sum(axis=1)
        else:
            w = np.asarray(weights, dtype=float)
            with np.errstate(divide="ignore"):
                logw = np.log(w)
            wp = w[None, :] * self.p[:, lv]
            loglik = (
                np.where(t > 0, logw[None, :] + logp, 0.0) + (1 - t) * np.log1p(-wp)
            ).sum(axis=1)
        return self._normalise(loglik[None, :])[0]

    def _normalise(self, loglik: FloatArray) -> FloatArray:
        log_post = loglik + self.log_weight[None, :]
        log_post -= log_post.max(axis=1, keepdims=True)
        post = np.exp(log_post, out=log_post)
        post /= post.sum(axis=1, keepdims=True)
        return post

    def expect(self, post: FloatArray, values: FloatArray) -> FloatArray:
        """Return posterior expectations of grid functions.

        Parameters
        ----------
        post : numpy.ndarray, shape (n_trials, n_grid)
            Normalised posterior weights.
        values : numpy.ndarray, shape (n_grid,) or (n_grid, m)
            Function values on the grid.

        Returns
        -------
        numpy.ndarray, shape (n_trials,) or (n_trials, m)
            Expectations (computed without BLAS, see :meth:`posterior_from_counts`).
        """
        if values.ndim == 1:
            return np.einsum("tg,g->t", post, values)
        return np.einsum("tg,gm->tm", post, values)


def getprior(
    halfwidth: float,
    target: float,
    nu: int,
    n_levels: int,
    *,
    model: Model = "empiric",
    intercept: float = 3.0,
) -> FloatArray:
    """Calibrate a CRM skeleton by the indifference-interval method (Lee & Cheung 2009).

    The prior guess at dose ``nu`` is the target; neighbouring guesses are spaced so
    that the model switches its recommendation from dose k to k + 1 exactly where
    ``p_k = target + halfwidth`` and ``p_{k+1} = target - halfwidth``.

    Parameters
    ----------
    halfwidth : float
        Half-width δ of the indifference interval.
    target : float
        Target DLT rate.
    nu : int
        Prior guess of the MTD (1-based dose level).
    n_levels : int
        Number of dose levels.
    model : {"empiric", "logistic"}, default "empiric"
        Dose-toxicity model.
    intercept : float, default 3
        Logistic intercept.

    Returns
    -------
    numpy.ndarray
        The skeleton.

    Examples
    --------
    >>> getprior(0.05, 0.3, 3, 5).round(4).tolist()
    [0.1225, 0.204, 0.3, 0.4018, 0.5013]
    """
    if not 0 < halfwidth < min(target, 1 - target):
        raise ValueError("halfwidth must be in (0, min(target, 1 - target))")
    if not 1 <= nu <= n_levels:
        raise ValueError(f"nu must be in 1..{n_levels}")
    hi, lo = target + halfwidth, target - halfwidth
    prior = np.empty(n_levels)
    k0 = nu - 1
    prior[k0] = target
    if model == "empiric":
        # switch point exp(b): prior_k ** exp(b) = hi, prior_{k-1} ** exp(b) = lo
        for k in range(k0, 0, -1):
            scale = math.log(hi) / math.log(prior[k])
            prior[k - 1] = math.exp(math.log(lo) / scale)
        for k in range(k0, n_levels - 1):
            scale = math.log(lo) / math.log(prior[k])
            prior[k + 1] = math.exp(math.log(hi) / scale)
        return prior
    logit_hi = math.log(hi / (1 - hi)) - intercept
    logit_lo = math.log(lo / (1 - lo)) - intercept
    x = np.empty(n_levels)
    x[k0] = math.log(target / (1 - target)) - intercept
    for k in range(k0, 0, -1):
        scale = logit_hi / x[k]
        x[k - 1] = logit_lo / scale
    for k in range(k0, n_levels - 1):
        scale = logit_lo / x[k]
        x[k + 1] = logit_hi / scale
    return 1 / (1 + np.exp(-(intercept + x)))
