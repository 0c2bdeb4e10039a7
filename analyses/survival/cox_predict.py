"""Baseline cumulative hazard and predicted survival of a Cox model.

As R ``basehaz(fit, centered)`` and ``survfit(fit, newdata)`` (``survfit.coxph``
with its defaults): the cumulative hazard is the Breslow estimator with Efron's
correction for tied deaths when the model used Efron (R ``ctype = 2``; Breslow
and exact ties give ``ctype = 1``), survival is exp(-cumulative hazard)
(``stype = 2``), and the standard error of the cumulative hazard is the Tsiatis
variance with the coefficients' covariance (the robust one for a robust fit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from analyses._results import AnalysisResult, make_provenance
from analyses.survival._cox_core import Ties, linear_predictor
from analyses.survival.cox import CoxModel, CoxResult

__all__ = [
    "BaselineHazardResult",
    "CoxSurvivalResult",
    "estimate_baseline_hazard",
    "predict_survival",
]

FloatArray = npt.NDArray[np.float64]
ConfType = Literal["log", "log-log", "plain"]


@dataclass(frozen=True)
class _Increments:
    """Per distinct time of one stratum: counts and the hazard's pieces."""

    time: FloatArray
    n_risk: FloatArray
    n_event: FloatArray
    n_censor: FloatArray
    hazard: FloatArray  # at the centred covariates (x = means)
    varhaz: FloatArray
    xbar: FloatArray  # (times, p)


def _increments(model: CoxModel, ties: str) -> list[_Increments]:
    data = model.data
    tie: Ties = "efron" if ties == "efron" else "breslow"
    terms = {id(t.stratum): t for t in data.terms(model.beta, tie)}
    out = []
    for s in data.all_layers:
        k = s.times.size
        sizes = np.diff(np.r_[s.group_starts, s.stop.size])
        n_risk = np.cumsum(sizes[::-1])[::-1].astype(float)
        if s.start is not None:
            n_risk = n_risk - (
                s.stop.size - np.searchsorted(np.sort(s.start), s.times, "left")
            )
        n_event = np.zeros(k)
        n_event[s.event_group] = s.d
        hazard: FloatArray = np.zeros(k)
        varhaz: FloatArray = np.zeros(k)
        xbar = np.zeros((k, data.p))
        t = terms.get(id(s))
        if t is not None:
            h = 1.0 / t.den
            where = s.event_group[s.term_time]
            hazard = np.bincount(where, weights=h, minlength=k).astype(np.float64)
            varhaz = np.bincount(where, weights=h * h, minlength=k).astype(np.float64)
            xbar = np.column_stack(
                [
                    np.bincount(where, weights=t.mean[:, j] * h, minlength=k)
                    for j in range(data.p)
                ]
            )
        out.append(
            _Increments(s.times, n_risk, n_event, sizes - n_event, hazard, varhaz, xbar)
        )
    return out


@dataclass(frozen=True, kw_only=True)
class BaselineHazardResult(AnalysisResult):
    """Baseline cumulative hazard (R ``basehaz``).

    Attributes
    ----------
    hazard : pandas.DataFrame
        ``stratum`` (only for a stratified model), ``time``, ``hazard`` (the
        cumulative hazard at every distinct time).
    centered : bool
        At the covariate means (True, R's default) or at covariates all 0.
    """

    hazard: pd.DataFrame
    centered: bool

    def to_frame(self) -> pd.DataFrame:
        """Return the long frame: group columns, ``stat`` (``hazard``), ``value``.

        Returns
        -------
        pandas.DataFrame
            One row per time (and stratum).
        """
        groups = [c for c in self.hazard.columns if c != "hazard"]
        long = self.hazard.melt(id_vars=groups, var_name="stat", value_name="value")
        return long.astype({"value": float})


@dataclass(frozen=True, kw_only=True)
class CoxSurvivalResult(AnalysisResult):
    """Predicted survival curves of a Cox model (R ``survfit(fit, newdata)``).

    Attributes
    ----------
    curves : pandas.DataFrame
        ``row`` (position in ``newdata``), ``stratum`` (stratified models),
        ``time, n_risk, n_event, n_censor, cumhaz, surv, std_err, lower, upper``;
        ``std_err`` is the standard error of the cumulative hazard (R's
        ``std.err`` of a Cox curve), the limits are pointwise.
    conf_level : float
        Level of the limits.
    conf_type : str
        Scale of the limits.
    """

    curves: pd.DataFrame
    conf_level: float
    conf_type: str

    def to_frame(self) -> pd.DataFrame:
        """Return the long frame: ``row``, (``stratum``), ``time``, ``stat``, ``value``.

        Returns
        -------
        pandas.DataFrame
            One row per curve, time and statistic.
        """
        groups = [c for c in ("row", "stratum", "time") if c in self.curves]
        long = self.curves.melt(id_vars=groups, var_name="stat", value_name="value")
        return long.astype({"value": float})

    def survival_at(self, times: list[float]) -> pd.DataFrame:
        """Survival and limits at given times (last value carried forward).

        Parameters
        ----------
        times : list of float
            Times to read the curves at.

        Returns
        -------
        pandas.DataFrame
            ``row``, (``stratum``), ``time``, ``surv``, ``lower``, ``upper``.
        """
        keys = [c for c in ("row", "stratum") if c in self.curves]
        rows = []
        for key, curve in self.curves.groupby(keys, sort=False):
            at = np.searchsorted(curve["time"].to_numpy(), times, "right") - 1
            for t, i in zip(times, at, strict=True):
                rec = dict(
                    zip(keys, key if isinstance(key, tuple) else (key,), strict=True)
                )
                rec["time"] = t
                for col in ("surv", "lower", "upper"):
                    rec[col] = 1.0 if i < 0 else float(curve[col].iloc[i])
                rows.append(rec)
        return pd.DataFrame(rows)


def estimate_baseline_hazard(
    fit: CoxResult, *, centered: bool = True
) -> BaselineHazardResult:
    """Return the baseline cumulative hazard, as R ``basehaz(fit, centered)``.

    Parameters
    ----------
    fit : CoxResult
        A model from :func:`~analyses.survival.estimate_cox`.
    centered : bool
        At the means of the design columns (R's default, ``TRUE``) or at all
        covariates 0 (the centred hazard times exp(-sum(means * coef))).

    Returns
    -------
    BaselineHazardResult
        Cumulative hazard at every distinct time, per stratum.
    """
    model = _model(fit)
    shift = 1.0
    if not centered:
        shift = float(np.exp(-linear_predictor(model.means[None, :], model.beta)[0]))
    parts = []
    for i, inc in enumerate(_increments(model, fit.ties)):
        frame = pd.DataFrame(
            {"time": inc.time, "hazard": np.cumsum(inc.hazard) * shift}
        )
        if model.strata_labels:
            frame.insert(0, "stratum", model.strata_labels[i])
        parts.append(frame)
    provenance = make_provenance(
        "estimate_baseline_hazard",
        cox_model=fit.provenance.parameters,
        centered=centered,
        hazard="Breslow, Efron-corrected for ties"
        if fit.ties == "efron"
        else "Breslow",
    )
    return BaselineHazardResult(
        provenance=provenance,
        hazard=pd.concat(parts, ignore_index=True),
        centered=centered,
    )


def _model(fit: CoxResult) -> CoxModel:
    if fit.model is None:
        raise ValueError("the fit holds no model data (refit with estimate_cox)")
    return fit.model


def _limits(
    surv: FloatArray, se: FloatArray, conf_level: float, conf_type: str
) -> tuple[FloatArray, FloatArray]:
    """Pointwise limits from the SE of the cumulative hazard (R survfit_confint)."""
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "log":
            lower = np.where(se == 0, surv, surv * np.exp(-z * se))
            upper = np.minimum(np.where(se == 0, surv, surv * np.exp(z * se)), 1.0)
        elif conf_type == "log-log":
            xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
            se2 = z * se / np.log(xx)
            loglog = np.log(-np.log(xx))
            lower = np.where(se == 0, surv, np.exp(-np.exp(loglog - se2)))
            upper = np.where(se == 0, surv, np.exp(-np.exp(loglog + se2)))
        elif conf_type == "plain":
            se2 = z * se * surv
            lower = np.maximum(surv - se2, 0.0)
            upper = np.minimum(surv + se2, 1.0)
        else:
            raise ValueError(
                f"conf_type must be 'log', 'log-log' or 'plain', got {conf_type!r}"
            )
    return lower, upper


def predict_survival(
    fit: CoxResult,
    newdata: pd.DataFrame,
    *,
    conf_level: float = 0.95,
    conf_type: ConfType = "log",
) -> CoxSurvivalResult:
    """Predicted survival for new covariate values, as R ``survfit(fit, newdata)``.

    Parameters
    ----------
    fit : CoxResult
        A model from :func:`~analyses.survival.estimate_cox`.
    newdata : pandas.DataFrame
        One row per covariate pattern, with the model's covariate columns (and
        its strata columns to pick a stratum; without them each row gets a curve
        in every stratum, as R).
    conf_level : float
        Level of the pointwise limits (default 0.95).
    conf_type : {"log", "log-log", "plain"}
        Scale of the limits: R's default ``"log"`` (upper limit capped at 1),
        ``"log-log"`` or ``"plain"``.

    Returns
    -------
    CoxSurvivalResult
        One curve per row of ``newdata`` (and stratum).
    """
    model = _model(fit)
    _limits(np.ones(1), np.zeros(1), conf_level, conf_type)  # validate early
    x2 = model.design(newdata) - model.means
    risk2 = np.exp(np.column_stack([linear_predictor(x2, model.beta)]))[:, 0]
    incs = _increments(model, fit.ties)
    var = model.variance
    p = var.shape[0]
    has_strata = bool(model.strata_columns)
    given = has_strata and all(c in newdata.columns for c in model.strata_columns)
    parts = []
    for r in range(x2.shape[0]):
        if given:
            key = tuple(newdata[c].iloc[r] for c in model.strata_columns)
            if key not in model.strata_values:
                raise ValueError(
                    f"stratum {key} of newdata row {r} is not in the model"
                )
            layers = [model.strata_values.index(key)]
        else:
            layers = list(range(len(incs)))
        for i in layers:
            inc = incs[i]
            dt = np.cumsum(inc.hazard[:, None] * x2[r][None, :] - inc.xbar, axis=0)
            quad = np.zeros(inc.time.size)
            for j in range(p):
                for k in range(p):
                    quad += dt[:, j] * var[j, k] * dt[:, k]
            se = np.sqrt((np.cumsum(inc.varhaz) + quad) * risk2[r] ** 2)
            cumhaz = np.cumsum(inc.hazard) * risk2[r]
            surv = np.exp(-cumhaz)
            lower, upper = _limits(surv, se, conf_level, conf_type)
            frame = pd.DataFrame(
                {
                    "row": r,
                    "time": inc.time,
                    "n_risk": inc.n_risk,
                    "n_event": inc.n_event,
                    "n_censor": inc.n_censor,
                    "cumhaz": cumhaz,
                    "surv": surv,
                    "std_err": se,
                    "lower": lower,
                    "upper": upper,
                }
            )
            if has_strata:
                frame.insert(1, "stratum", model.strata_labels[i])
            parts.append(frame)
    provenance = make_provenance(
        "predict_survival",
        inputs={"newdata": newdata},
        cox_model=fit.provenance.parameters,
        conf_level=conf_level,
        conf_type=conf_type,
        hazard="Breslow, Efron-corrected for ties"
        if fit.ties == "efron"
        else "Breslow",
        survival="exp(-cumulative hazard)",
        std_err="Tsiatis, of the cumulative hazard",
    )
    return CoxSurvivalResult(
        provenance=provenance,
        curves=pd.concat(parts, ignore_index=True),
        conf_level=conf_level,
        conf_type=conf_type,
    )
