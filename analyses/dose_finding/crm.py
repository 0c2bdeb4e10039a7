"""The continual reassessment method (O'Quigley et al. 1990; Cheung 2011) and TITE-CRM.

One-parameter empiric or logistic model (:mod:`.crm_model`), Bayesian with a normal
prior on ``a`` (dfcrm conventions: ``prior_sd = sqrt(1.34)``, logistic intercept 3) or
maximum likelihood. The recommended dose minimises ``|p_k - target|`` where ``p_k`` is
the point estimate chosen by ``point_estimate``:

* ``"plugin"`` (dfcrm default): the model evaluated at the posterior mean of ``a``;
* ``"plugin_alpha"`` (bcrm ``pointest="plugin"``): the model at the posterior mean of
  ``alpha = exp(a)``;
* ``"posterior_mean"`` (bcrm ``"mean"``, trialr, clintrials): the posterior mean of
  ``p_k``.

The three give different answers on the same data. Intervals are dfcrm's: the model
evaluated at ``E[a] -/+ z sd(a)``. Trial conduct options (dfcrm ``crmsim`` with
``restrict=TRUE``): ``no_skip`` caps escalation at one level above the last cohort's
dose; ``coherence`` forbids escalation when the last cohort's DLT rate is at least the
target.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import integrate, optimize, stats

from analyses._results import AnalysisResult, make_provenance
from analyses.dose_finding._base import (
    Decision,
    DoseFindingDesign,
    FloatArray,
    IntArray,
    SimulatedTrials,
    Tolerances,
    as_counts,
    enrol_cohort,
    start_trials,
)
from analyses.dose_finding.crm_model import (
    A_RANGE,
    CRMGrid,
    Model,
    _log_probs,
    model_probabilities,
)
from analyses.dose_finding.mtd_selection import MTDSelection

__all__ = ["CRM", "CRMFit", "PointEstimate", "tite_weights"]

PointEstimate = Literal["plugin", "plugin_alpha", "posterior_mean"]
Method = Literal["bayes", "mle"]

#: Range of ``a`` for adaptive quadrature of tail probabilities (prior mass beyond is
#: below 1e-60 for the default prior).
QUAD_RANGE = 20.0


def tite_weights(
    followup: npt.ArrayLike,
    obswin: float,
    tox: npt.ArrayLike,
    *,
    scheme: Literal["linear"] = "linear",
) -> FloatArray:
    """Return TITE-CRM patient weights (Cheung & Chappell 2000).

    Parameters
    ----------
    followup : array_like
        Follow-up time of each patient (same unit as ``obswin``).
    obswin : float
        Length of the DLT observation window.
    tox : array_like of 0/1
        DLT indicators; patients with a DLT get weight 1.
    scheme : {"linear"}, default "linear"
        Weight function: ``min(followup / obswin, 1)``.

    Returns
    -------
    numpy.ndarray
        Weights in [0, 1].
    """
    if scheme != "linear":
        raise ValueError(f"unknown TITE weight scheme {scheme!r}; only 'linear'")
    w = np.minimum(np.asarray(followup, dtype=float) / float(obswin), 1.0)
    return np.where(np.asarray(tox) == 1, 1.0, w)


@dataclass(frozen=True, kw_only=True)
class CRMFit(AnalysisResult):
    """A fitted CRM: parameter estimate and per-dose DLT probabilities.

    Attributes
    ----------
    estimate_a : float
        Posterior mean (or MLE) of ``a``.
    post_var : float
        Posterior variance of ``a`` (for the MLE, dfcrm's vague-prior approximation).
    target : float
        Target DLT rate.
    point_estimate : str
        Convention of ``estimates["ptox"]``.
    recommended_dose : int
        Dose level (1-based) whose ``ptox`` is closest to the target.
    estimates : pandas.DataFrame
        Per dose: ``dose``, ``skeleton``, ``n``, ``dlt``, ``ptox`` (by the chosen
        convention), ``ptox_plugin``, ``ptox_lower``, ``ptox_upper`` (dfcrm interval),
        ``ptox_mean`` and ``ptox_sd`` (posterior mean and sd of p; NaN for the MLE),
        ``p_exceeds_target`` (exact posterior Pr(p > target); NaN for the MLE).
    conventions : dict
        Model, prior, interval and point-estimate conventions.
    """

    estimate_a: float
    post_var: float
    target: float
    point_estimate: str
    recommended_dose: int
    estimates: pd.DataFrame
    conventions: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Return the long frame: per-dose statistics, then model-level rows.

        Returns
        -------
        pandas.DataFrame
            Columns ``dose`` (NA for model-level rows), ``stat``, ``value``.
        """
        long = self.estimates.melt(id_vars="dose", var_name="stat", value_name="value")
        long["value"] = long["value"].astype(float)
        extra = pd.DataFrame(
            {
                "dose": [pd.NA] * 3,
                "stat": ["estimate_a", "post_var", "recommended_dose"],
                "value": [self.estimate_a, self.post_var, float(self.recommended_dose)],
            }
        )
        out = pd.concat([long, extra], ignore_index=True)
        out["dose"] = out["dose"].astype("Int64")
        return out

    def summary(self) -> pd.DataFrame:
        """Return the per-dose estimates with the recommended dose flagged.

        Returns
        -------
        pandas.DataFrame
            The estimates plus a boolean ``recommended`` column.
        """
        out = self.estimates.copy()
        out["recommended"] = out["dose"] == self.recommended_dose
        return out


class CRM(DoseFindingDesign):
    """The continual reassessment method.

    Parameters
    ----------
    skeleton : sequence of float
        Prior DLT probability per dose level (increasing); see :func:`getprior`.
    target : float
        Target DLT rate.
    model : {"empiric", "logistic"}, default "empiric"
        Dose-toxicity model.
    method : {"bayes", "mle"}, default "bayes"
        Posterior mean or maximum-likelihood estimate of ``a``.
    prior_sd : float, default sqrt(1.34)
        Prior standard deviation of ``a`` (dfcrm ``scale``).
    intercept : float, default 3
        Logistic intercept.
    point_estimate : {"plugin", "plugin_alpha", "posterior_mean"}, default "plugin"
        How per-dose DLT probabilities are estimated for the recommendation.
    conf_level : float, default 0.9
        Level of dfcrm's interval for ``p``.
    cohort_size, n_cohorts, start_dose : int
        Trial conduct (defaults 3, 10, 1).
    no_skip : bool, default True
        Never escalate more than one level above the last cohort's dose.
    coherence : bool, default True
        No escalation when the last cohort's DLT rate is at least the target.
    grid_step : float, default 0.05
        Quadrature step on ``a``.
    toxic_threshold : float, optional
        Safety stopping (R escalation ``stop_when_too_toxic(dose = 1, ...)``): stop
        the trial with no MTD when Pr(DLT rate at the lowest dose > toxic_threshold |
        data) > ``toxic_confidence``. Off by default (dfcrm has no stopping rule).
    toxic_confidence : float, default 0.9
        Posterior probability cut-off of the safety rule.

    Examples
    --------
    >>> crm = CRM(getprior(0.05, 0.3, 3, 5), target=0.3)
    >>> crm.decide(n=[3, 0, 0, 0, 0], y=[0, 0, 0, 0, 0], current=1).next_dose
    2
    """

    name = "CRM"

    def __init__(
        self,
        skeleton: Sequence[float] | npt.ArrayLike,
        target: float,
        *,
        model: Model = "empiric",
        method: Method = "bayes",
        prior_sd: float = math.sqrt(1.34),
        intercept: float = 3.0,
        point_estimate: PointEstimate = "plugin",
        conf_level: float = 0.9,
        cohort_size: int = 3,
        n_cohorts: int = 10,
        start_dose: int = 1,
        no_skip: bool = True,
        coherence: bool = True,
        grid_step: float = 0.05,
        toxic_threshold: float | None = None,
        toxic_confidence: float = 0.9,
    ) -> None:
        sk = np.asarray(skeleton, dtype=float)
        if sk.ndim != 1 or sk.size < 1 or not ((sk > 0) & (sk < 1)).all():
            raise ValueError("skeleton must be probabilities in (0, 1)")
        if (np.diff(sk) <= 0).any():
            raise ValueError("skeleton must increase with dose level")
        if model not in ("empiric", "logistic"):
            raise ValueError(f"model must be 'empiric' or 'logistic', got {model!r}")
        if method not in ("bayes", "mle"):
            raise ValueError(f"method must be 'bayes' or 'mle', got {method!r}")
        if point_estimate not in ("plugin", "plugin_alpha", "posterior_mean"):
            raise ValueError(f"unknown point_estimate {point_estimate!r}")
        if not 0 < target < 1:
            raise ValueError(f"target must be in (0, 1), got {target}")
        self.skeleton = sk
        self.target = float(target)
        self.n_doses = int(sk.size)
        self.model: Model = model
        self.method: Method = method
        self.prior_sd = float(prior_sd)
        self.intercept = float(intercept)
        self.point_estimate: PointEstimate = point_estimate
        self.conf_level = float(conf_level)
        self.cohort_size = int(cohort_size)
        self.n_cohorts = int(n_cohorts)
        self.start_dose = int(start_dose)
        if not 1 <= self.start_dose <= self.n_doses:
            raise ValueError(f"start_dose must be in 1..{self.n_doses}")
        self.no_skip = bool(no_skip)
        self.coherence = bool(coherence)
        self.grid_step = float(grid_step)
        self._grid = CRMGrid(sk, model, self.prior_sd, self.intercept, self.grid_step)
        self.toxic_threshold = (
            None if toxic_threshold is None else float(toxic_threshold)
        )
        self.toxic_confidence = float(toxic_confidence)
        self._safety_grid: CRMGrid | None = None
        if self.toxic_threshold is not None:
            if not 0 < self.toxic_threshold < 1:
                raise ValueError("toxic_threshold must be in (0, 1)")
            split = float(self._threshold(self.toxic_threshold)[0])
            self._safety_grid = CRMGrid(
                sk, model, self.prior_sd, self.intercept, self.grid_step, split=split
            )
        self._flat = CRMGrid(sk, model, 500.0, self.intercept, self.grid_step)

    def _design_parameters(self) -> dict[str, Any]:
        return {
            "skeleton": [float(v) for v in self.skeleton],
            "target": self.target,
            "model": self.model,
            "method": self.method,
            "prior_sd": self.prior_sd,
            "intercept": self.intercept,
            "point_estimate": self.point_estimate,
            "conf_level": self.conf_level,
            "cohort_size": self.cohort_size,
            "n_cohorts": self.n_cohorts,
            "start_dose": self.start_dose,
            "no_skip": self.no_skip,
            "coherence": self.coherence,
            "grid_step": self.grid_step,
            "toxic_threshold": self.toxic_threshold,
            "toxic_confidence": self.toxic_confidence,
        }

    # ---------------------------------------------------------------- fitting
    def _ptox(self, a: float) -> FloatArray:
        return model_probabilities([a], self.skeleton, self.model, self.intercept)[0]

    def _threshold(self, c: float) -> FloatArray:
        """Values a* with p_k(a) > c  <=>  a < a*, per dose (-inf when never)."""
        if self.model == "empiric":
            return np.log(math.log(c) / np.log(self.skeleton))
        x = np.log(self.skeleton / (1 - self.skeleton)) - self.intercept
        ratio = (math.log(c / (1 - c)) - self.intercept) / x
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(ratio > 0, np.log(np.where(ratio > 0, ratio, 1.0)), -np.inf)

    def _loglik_fn(
        self, level: IntArray, tox: FloatArray, weights: FloatArray | None
    ) -> Any:
        dlt = tox > 0

        def loglik(a: float) -> float:
            logp, log1mp = _log_probs(
                np.array([a]), self.skeleton, self.model, self.intercept
            )
            lp = logp[0, level]
            if weights is None:
                return float(np.where(dlt, lp, log1mp[0, level]).sum())
            with np.errstate(divide="ignore"):
                terms = np.where(
                    dlt, np.log(weights) + lp, np.log1p(-weights * np.exp(lp))
                )
            return float(terms.sum())

        return loglik

    def _posterior_density(
        self, level: IntArray, tox: FloatArray, weights: FloatArray | None
    ) -> tuple[Any, float, float]:
        """Unnormalised posterior density of ``a`` (scaled at its mode), mode, total."""
        ll = self._loglik_fn(level, tox, weights)
        post = self._grid.posterior_from_patients(level, tox, weights)
        mode = float(self._grid.a[post.argmax()])
        shift = ll(mode) - 0.5 * (mode / self.prior_sd) ** 2

        def h(a: float) -> float:
            return math.exp(ll(a) - 0.5 * (a / self.prior_sd) ** 2 - shift)

        total = integrate.quad(h, -QUAD_RANGE, mode, epsabs=0, limit=200)[0]
        total += integrate.quad(h, mode, QUAD_RANGE, epsabs=0, limit=200)[0]
        return h, mode, total

    def fit(
        self,
        level: Sequence[int] | npt.ArrayLike,
        tox: Sequence[int] | npt.ArrayLike,
        *,
        followup: Sequence[float] | npt.ArrayLike | None = None,
        obswin: float | None = None,
        weights: Sequence[float] | npt.ArrayLike | None = None,
        exceedance: bool = True,
    ) -> CRMFit:
        """Fit the model to per-patient data (TITE-CRM when follow-up is given).

        Parameters
        ----------
        level : sequence of int
            Dose level (1-based) of each patient.
        tox : sequence of 0/1
            DLT indicator of each patient.
        followup : sequence of float, optional
            Follow-up of each patient; with ``obswin`` gives linear TITE weights.
        obswin : float, optional
            DLT observation window, same unit as ``followup``.
        weights : sequence of float, optional
            TITE weights given directly (overrides ``followup``).
        exceedance : bool, default True
            Compute the exact Pr(p > target) per dose (adaptive quadrature; the
            slowest part of a fit). When False that column is NaN.

        Returns
        -------
        CRMFit
            Estimates per dose and the recommended dose.
        """
        lv = np.asarray(level, dtype=np.int64) - 1
        t = np.asarray(tox, dtype=float)
        if lv.shape != t.shape or lv.ndim != 1:
            raise ValueError("level and tox must be 1-D and of the same length")
        if lv.size and (lv.min() < 0 or lv.max() >= self.n_doses):
            raise ValueError(f"dose levels must be in 1..{self.n_doses}")
        if not np.isin(t, (0, 1)).all():
            raise ValueError("tox must be 0 or 1")
        w: FloatArray | None = None
        if weights is not None:
            w = np.where(t == 1, 1.0, np.asarray(weights, dtype=float))
        elif followup is not None:
            if obswin is None:
                raise ValueError("obswin is required with followup")
            w = tite_weights(followup, obswin, t)
        z = stats.norm.ppf(0.5 + self.conf_level / 2)
        g = self._grid
        if self.method == "bayes":
            post = g.posterior_from_patients(lv, t, w)
            est = float(post @ g.a)
            var = float(post @ (g.a - est) ** 2)
            mean_p = post @ g.p
            sd_p = np.sqrt(np.maximum(post @ g.p**2 - mean_p**2, 0.0))
            alpha_hat = math.log(float(post @ np.exp(g.a)))
            exceed = (
                self._exceedance_exact(lv, t, w, self.target)
                if exceedance
                else np.full(self.n_doses, np.nan)
            )
        else:
            if t.sum() == 0 or t.sum() == t.size:
                raise ValueError(
                    "the MLE does not exist when all or no patients had a DLT"
                )
            ll = self._loglik_fn(lv, t, w)
            res = optimize.minimize_scalar(
                lambda a: -ll(a),
                bounds=(-A_RANGE, A_RANGE),
                method="bounded",
                options={"xatol": 1e-10},
            )
            est = float(res.x)
            flat = self._flat.posterior_from_patients(lv, t, w)
            var = float(flat @ self._flat.a**2) - est**2
            mean_p = sd_p = exceed = np.full(self.n_doses, np.nan)
            alpha_hat = est
        plugin = self._ptox(est)
        sd = math.sqrt(max(var, 0.0))
        lower = self._ptox(est + z * sd)
        upper = self._ptox(est - z * sd)
        if self.point_estimate == "plugin" or self.method == "mle":
            ptox = plugin
        elif self.point_estimate == "plugin_alpha":
            ptox = self._ptox(alpha_hat)
        else:
            ptox = mean_p
        rec = int(np.argmin(np.abs(ptox - self.target))) + 1
        counts_n = np.bincount(lv, minlength=self.n_doses)
        counts_y = np.bincount(lv, weights=t, minlength=self.n_doses).astype(np.int64)
        estimates = pd.DataFrame(
            {
                "dose": np.arange(1, self.n_doses + 1),
                "skeleton": self.skeleton,
                "n": counts_n,
                "dlt": counts_y,
                "ptox": ptox,
                "ptox_plugin": plugin,
                "ptox_lower": lower,
                "ptox_upper": upper,
                "ptox_mean": mean_p,
                "ptox_sd": sd_p,
                "p_exceeds_target": exceed,
            }
        )
        data = pd.DataFrame({"level": lv + 1, "tox": t})
        if w is not None:
            data["weight"] = w
        return CRMFit(
            estimate_a=est,
            post_var=var,
            target=self.target,
            point_estimate=self.point_estimate
            if self.method == "bayes"
            else "mle_plugin",
            recommended_dose=rec,
            estimates=estimates,
            conventions={
                "model": self.model,
                "prior": f"a ~ N(0, {self.prior_sd:.6g}^2)"
                if self.method == "bayes"
                else "none (MLE)",
                "interval": f"{self.conf_level:g}: model at E[a] -/+ z sd(a) (dfcrm)",
                "point_estimate": self.point_estimate,
                "tite_weights": "linear min(followup/obswin, 1); DLT = 1"
                if w is not None
                else "none",
            },
            provenance=make_provenance(
                "CRM.fit", inputs={"patients": data}, **self.parameters()
            ),
        )

    def _exceedance_exact(
        self, level: IntArray, tox: FloatArray, weights: FloatArray | None, c: float
    ) -> FloatArray:
        """Posterior Pr(p_k > c) by adaptive quadrature (scipy ``quad``)."""
        h, mode, total = self._posterior_density(level, tox, weights)
        out = np.empty(self.n_doses)
        for k, a_star in enumerate(self._threshold(c)):
            if not np.isfinite(a_star):
                out[k] = 0.0
                continue
            if a_star <= mode:
                part = integrate.quad(h, -QUAD_RANGE, a_star, epsabs=0, limit=200)[0]
            else:
                upper = integrate.quad(h, a_star, QUAD_RANGE, epsabs=0, limit=200)[0]
                part = total - upper
            out[k] = part / total
        return out

    def exceedance_normal(self, fit: CRMFit, threshold: float) -> FloatArray:
        """Return Pr(p_k > threshold) under the normal approximation N(E[a], var(a)).

        This is what R ``escalation::prob_tox_exceeds`` returns for a dfcrm fit; the
        exact posterior value is in ``fit.estimates["p_exceeds_target"]``.

        Parameters
        ----------
        fit : CRMFit
            A fit of this design.
        threshold : float
            DLT-rate threshold.

        Returns
        -------
        numpy.ndarray
            One probability per dose.
        """
        a_star = self._threshold(threshold)
        return np.asarray(
            stats.norm.cdf((a_star - fit.estimate_a) / math.sqrt(fit.post_var)), float
        )

    def posterior_quantiles(
        self,
        level: Sequence[int] | npt.ArrayLike,
        tox: Sequence[int] | npt.ArrayLike,
        q: Sequence[float],
    ) -> pd.DataFrame:
        """Return posterior quantiles of each dose's DLT probability.

        ``p_k`` is monotone decreasing in ``a``, so its ``q`` quantile is ``p_k`` at the
        ``1 - q`` quantile of ``a``; the posterior CDF of ``a`` is computed by
        adaptive quadrature and inverted with Brent's method.

        Parameters
        ----------
        level : sequence of int
            Dose level (1-based) of each patient.
        tox : sequence of 0/1
            DLT indicators.
        q : sequence of float
            Probabilities.

        Returns
        -------
        pandas.DataFrame
            One row per dose, one column per quantile (named ``q<value>``).
        """
        lv = np.asarray(level, dtype=np.int64) - 1
        t = np.asarray(tox, dtype=float)
        h, _, total = self._posterior_density(lv, t, None)

        def cdf(a: float) -> float:
            return float(
                integrate.quad(h, -QUAD_RANGE, a, epsabs=0, limit=200)[0] / total
            )

        out: dict[str, Any] = {"dose": np.arange(1, self.n_doses + 1)}
        for prob in q:
            a_q = optimize.brentq(
                lambda a, p=prob: cdf(a) - (1 - p), -A_RANGE, A_RANGE, xtol=1e-12
            )
            out[f"q{prob:g}"] = self._ptox(a_q)
        return pd.DataFrame(out)

    def prob_lowest_too_toxic(
        self, n: Sequence[int] | npt.ArrayLike, y: Sequence[int] | npt.ArrayLike
    ) -> float:
        """Return Pr(DLT rate at dose level 1 > ``toxic_threshold`` | data).

        Parameters
        ----------
        n : sequence of int
            Patients per dose level.
        y : sequence of int
            DLTs per dose level.

        Returns
        -------
        float
            The posterior probability (Simpson rule split at the threshold).
        """
        if self._safety_grid is None:
            raise ValueError("toxic_threshold is not set")
        n_arr, y_arr = as_counts(n, y, self.n_doses)
        return float(self._prob_toxic_batch(n_arr[None, :], y_arr[None, :])[0])

    def _prob_toxic_batch(self, n: IntArray, y: IntArray) -> FloatArray:
        g = self._safety_grid
        assert g is not None
        post = g.posterior_from_counts(n.astype(float), y.astype(float))
        return np.asarray(g.expect(post, g.below_split.astype(float)), float)

    # -------------------------------------------------------------- decisions
    def _expand(self, n: IntArray, y: IntArray) -> tuple[IntArray, IntArray]:
        level = np.repeat(np.arange(self.n_doses), n)
        tox = np.concatenate(
            [np.r_[np.ones(b), np.zeros(a - b)] for a, b in zip(n, y, strict=True)]
        )
        return level + 1, tox.astype(np.int64)

    def decide(
        self,
        n: Sequence[int] | npt.ArrayLike,
        y: Sequence[int] | npt.ArrayLike,
        current: int,
        *,
        last_cohort_dlts: int | None = None,
    ) -> Decision:
        """Return the next dose after the most recent cohort at ``current``.

        Parameters
        ----------
        n : sequence of int
            Patients per dose level.
        y : sequence of int
            DLTs per dose level.
        current : int
            Dose level of the most recent cohort (1-based).
        last_cohort_dlts : int, optional
            DLTs in the most recent cohort of ``cohort_size`` patients; needed by the
            coherence rule (without it coherence is not applied and the reason says so).

        Returns
        -------
        Decision
            Action, next dose (None at the end of the trial, with the MTD) and reason.
        """
        n_arr, y_arr = as_counts(n, y, self.n_doses)
        c = self._check_current(current)
        if n_arr.sum() == 0:
            return self._decision(
                "stay",
                c,
                c,
                None,
                "No patient treated yet: start at the current dose.",
                n_arr,
                y_arr,
            )
        level, tox = self._expand(n_arr, y_arr)
        fit = self.fit(level, tox, exceedance=False)
        if self.toxic_threshold is not None:
            p_toxic = self.prob_lowest_too_toxic(n_arr, y_arr)
            if p_toxic > self.toxic_confidence:
                return self._decision(
                    "stop",
                    c,
                    None,
                    None,
                    f"Pr(DLT rate at dose level 1 > {self.toxic_threshold:g} | data) = "
                    f"{p_toxic:.3f} > {self.toxic_confidence:g}: every dose is too "
                    "toxic. Stop the trial; no MTD.",
                    n_arr,
                    y_arr,
                )
        rec = fit.recommended_dose - 1
        label = {
            "plugin": "plug-in estimate at E[a]",
            "plugin_alpha": "plug-in estimate at E[exp(a)]",
            "posterior_mean": "posterior mean",
        }[self.point_estimate if self.method == "bayes" else "plugin"]
        ptox = fit.estimates["ptox"].to_numpy()
        why = (
            f"CRM ({self.model}, {self.method}) {label} of the DLT rate is "
            f"{ptox[rec]:.3f} at dose level {rec + 1}, closest to the target "
            f"{self.target:g}."
        )
        if n_arr.sum() >= self.max_n:
            return self._decision(
                "stop",
                c,
                None,
                rec,
                f"Maximum sample size {self.max_n} reached. {why}",
                n_arr,
                y_arr,
            )
        nxt = rec
        if self.coherence:
            if last_cohort_dlts is None:
                why += " Coherence not checked (last cohort's DLTs not given)."
            elif last_cohort_dlts / self.cohort_size >= self.target and nxt > c:
                nxt = c
                why += (
                    f" Coherence: the last cohort's DLT rate {last_cohort_dlts}/"
                    f"{self.cohort_size} is at least the target, so no escalation."
                )
        if self.no_skip and nxt > c + 1:
            nxt = c + 1
            why += " No skipping: escalate by one level only."
        action = "escalate" if nxt > c else "de-escalate" if nxt < c else "stay"
        return self._decision(action, c, nxt, None, why, n_arr, y_arr)  # type: ignore[arg-type]

    def select_mtd(
        self, n: Sequence[int] | npt.ArrayLike, y: Sequence[int] | npt.ArrayLike
    ) -> MTDSelection:
        """Return the final MTD: the model's recommendation on all data.

        Parameters
        ----------
        n : sequence of int
            Patients per dose level.
        y : sequence of int
            DLTs per dose level.

        Returns
        -------
        MTDSelection
            The recommended dose and the fit's per-dose estimates.
        """
        n_arr, y_arr = as_counts(n, y, self.n_doses)
        level, tox = self._expand(n_arr, y_arr)
        fit = self.fit(level, tox)
        return MTDSelection(
            design=self.name,
            target=self.target,
            mtd=fit.recommended_dose,
            estimates=fit.estimates,
            reason=(
                f"Dose level {fit.recommended_dose} has the estimated DLT rate "
                f"({fit.point_estimate}) closest to the target {self.target:g}."
            ),
            conventions=fit.conventions,
            provenance=fit.provenance,
        )

    # ------------------------------------------------------------- simulation
    def _recommend_batch(self, n: IntArray, y: IntArray) -> IntArray:
        """Return the recommended dose (0-based) of many trials.

        Each distinct (n, y) state is fitted once: many simulated trials share data.
        """
        states = np.ascontiguousarray(np.hstack([n, y]), dtype=np.int32)
        keys = states.view(np.dtype((np.void, states.dtype.itemsize * states.shape[1])))
        _, first, inverse = np.unique(
            keys.ravel(), return_index=True, return_inverse=True
        )
        nu = n[first].astype(float)
        yu = y[first].astype(float)
        rec = self._recommend_from_posterior(self._grid.posterior_from_counts(nu, yu))
        return rec[inverse.ravel()]

    def _recommend_from_posterior(self, post: FloatArray) -> IntArray:
        """Return the recommended dose (0-based) from posterior weights on the grid.

        Parameters
        ----------
        post : numpy.ndarray, shape (n_trials, grid size)
            Normalised posterior weights of ``a`` on ``self._grid``, one row per trial.

        Returns
        -------
        numpy.ndarray of int
            Per trial, the dose whose DLT-rate estimate (by ``point_estimate``) is
            closest to the target.
        """
        g = self._grid
        if self.point_estimate == "posterior_mean":
            ptox = g.expect(post, g.p)
        else:
            est = (
                g.expect(post, g.a)
                if self.point_estimate == "plugin"
                else np.log(g.expect(post, np.exp(g.a)))
            )
            ptox = model_probabilities(est, self.skeleton, self.model, self.intercept)
        return np.abs(ptox - self.target).argmin(axis=1).astype(np.int64)

    def simulate(self, p_true: npt.ArrayLike, uniforms: Tolerances) -> SimulatedTrials:
        """Run many CRM trials at once on pre-drawn patient tolerances.

        Follows dfcrm ``crmsim`` (one-stage, start at ``start_dose``): after each cohort
        the model is refitted on all data; ``no_skip`` and ``coherence`` restrict the
        next dose; the final MTD is the unrestricted recommendation on all data.

        Parameters
        ----------
        p_true : array_like, shape (n_doses,)
            True DLT probabilities.
        uniforms : numpy.ndarray (n_trials, n_doses, >= max_n) or PatientTolerances
            Patient tolerances.

        Returns
        -------
        SimulatedTrials
            Counts and selected MTD (never stops early).
        """
        if self.method != "bayes":
            raise ValueError("simulation supports method='bayes' only")
        p = np.asarray(p_true, dtype=float)
        n, y, cur, active = start_trials(len(uniforms), self.n_doses, self.start_dose)
        for m in range(self.n_cohorts):
            step = enrol_cohort(uniforms, p, n, y, cur, active, self.cohort_size)
            if step is None:
                break
            rows, d, tox = step
            if self._safety_grid is not None:
                toxic = self._prob_toxic_batch(n[rows], y[rows]) > self.toxic_confidence
                active[rows[toxic]] = False
                rows, d, tox = rows[~toxic], d[~toxic], tox[~toxic]
            if m == self.n_cohorts - 1:
                break
            rec = self._recommend_batch(n[rows], y[rows])
            if self.coherence:
                rec = np.where(
                    tox / self.cohort_size >= self.target, np.minimum(rec, d), rec
                )
            if self.no_skip:
                rec = np.minimum(rec, d + 1)
            cur[rows] = rec
        selected = np.where(active, self._recommend_batch(n, y) + 1, 0)
        return SimulatedTrials(
            n=n,
            y=y,
            selected=selected.astype(np.int64),
            stopped_early=~active,
        )
