"""Event-rate regression: NB2 or Poisson with an exposure offset and covariates.

``log E[count] = log(exposure) + group + covariates``, as R

    MASS::glm.nb(count ~ group + covariates + offset(log(exposure)))
    glm(count ~ group + covariates + offset(log(exposure)), family = poisson)

for relapses, new lesions or any count over a follow-up. Rate ratios between groups
are ``exp(coefficient)`` with Wald intervals; model rates per group are
``emmeans(fit, ~ group, offset = log(per), type = "response")``. This generalises
:func:`analyses.mri.estimate_lesion_rate_ratio` (one rate per group, no covariates)
and keeps its answers where a fit has no covariance: counts that are not
overdispersed give the Poisson limit with a note, groups without events a rate of 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import linalg, stats

from analyses._lsmeans import (
    Variable,
    Weights,
    factor_levels,
    model_matrix,
    reference_grid,
    split_covariates,
)
from analyses._results import AnalysisResult, make_provenance
from analyses.mri._count_glm import CountFit, fit_nb2, fit_poisson
from analyses.mri.rate_ratio import OVERDISPERSION_RTOL

__all__ = ["EventRateResult", "estimate_event_rates"]

Information = Literal["expected", "observed"]
RATIO_STATS = ("rate_ratio", "lower", "upper", "p_value", "log_rate_ratio", "se")


@dataclass(frozen=True, kw_only=True)
class EventRateResult(AnalysisResult):
    """Rates, rate ratios and coefficients of an NB2 or Poisson regression.

    Attributes
    ----------
    rates : pandas.DataFrame
        One row per group: the group column, ``n``, ``events``, ``exposure``,
        ``crude_rate`` (events / exposure x ``per``), and the model rate at the
        covariate means (emmeans, per ``per`` units of exposure) with ``se``
        (delta method), ``lower`` and ``upper`` (Wald on the log scale).
    rate_ratios : pandas.DataFrame
        One row per group other than the reference: the group column,
        ``reference``, ``rate_ratio``, ``lower``, ``upper``, ``p_value`` (Wald z),
        ``log_rate_ratio``, ``se``.
    coefficients : pandas.DataFrame
        ``term`` (R's names), ``estimate``, ``se``, ``z``, ``p_value``,
        ``rate_ratio`` (exp), ``lower``, ``upper``.
    covariance : pandas.DataFrame
        Covariance of the coefficients.
    model : str
        ``"nb2"`` or ``"poisson"`` (the model asked for).
    theta : float
        NB2 size (``Var = mu + mu^2 / theta``, R's ``theta``); ``inf`` for Poisson
        and in the Poisson limit.
    se_theta : float
        Standard error of theta (R ``SE.theta``); NaN for Poisson.
    alpha : float
        ``1 / theta`` (``Var = mu + alpha mu^2``); 0 for Poisson.
    loglik, aic, deviance : float
        Log-likelihood (R ``logLik``), AIC (theta counted for NB2) and residual
        deviance.
    df_residual : int
        Rows minus coefficients.
    pearson_dispersion : float
        Pearson chi-square / residual df (about 1 when the variance is right).
    reference : object
        The reference group.
    per : float
        Units of exposure the rates are per.
    information : str
        Information behind the coefficient covariance (see
        :func:`estimate_event_rates`).
    converged : bool
        Whether the fit converged.
    poisson_limit : bool
        True when NB2 was asked for and the counts are not overdispersed (the
        Poisson fit is reported).
    note : str
        Plain-language notes (Poisson limit, groups without events, failed fit).
    """

    rates: pd.DataFrame
    rate_ratios: pd.DataFrame
    coefficients: pd.DataFrame
    covariance: pd.DataFrame
    model: str
    theta: float
    se_theta: float
    alpha: float
    loglik: float
    aic: float
    deviance: float
    df_residual: int
    pearson_dispersion: float
    reference: object
    per: float
    information: str
    ci_level: float
    formula: str
    converged: bool
    poisson_limit: bool = False
    note: str = ""

    def describe(self) -> str:
        """Return the model and its conventions as one footnote sentence.

        Returns
        -------
        str
            Model, offset, dispersion, intervals, and any note.
        """
        if self.model == "nb2" and not self.poisson_limit:
            disp = (
                f"negative binomial (NB2, Var = mu + mu^2/theta, theta = "
                f"{self.theta:.4g}, SE {self.se_theta:.3g})"
            )
        else:
            disp = "Poisson"
        unit = "unit" if self.per == 1 else "units"
        text = (
            f"{disp} regression {self.formula}; coefficient SEs from the "
            f"{self.information} information; rate ratios vs {self.reference} are "
            f"exp(coefficient) with {self.ci_level:.0%} Wald intervals and z tests; "
            f"model rates per {self.per:g} {unit} of exposure at the covariate "
            f"means (emmeans); Pearson chi-square/df {self.pearson_dispersion:.3g}."
        )
        return f"{text} {self.note}".strip()

    def summary(self) -> pd.DataFrame:
        """Return rates and rate ratios, one row per group.

        Returns
        -------
        pandas.DataFrame
            The rates with the rate-ratio columns joined (NaN for the reference).
        """
        group = self.rates.columns[0]
        ratios = self.rate_ratios.drop(columns=["reference"]).rename(
            columns={"lower": "rr_lower", "upper": "rr_upper", "se": "se_log_rr"}
        )
        return self.rates.merge(ratios, on=group, how="left")

    def to_frame(self) -> pd.DataFrame:
        """Return the long, unrounded frame.

        Returns
        -------
        pandas.DataFrame
            ``kind`` (``rate``, ``rate_ratio``, ``coefficient``, ``model``),
            ``label``, ``stat``, ``value``.
        """
        group = self.rates.columns[0]
        parts = [
            self.rates.rename(columns={group: "label"}).assign(kind="rate"),
            self.rate_ratios.drop(columns=["reference"])
            .rename(columns={group: "label"})
            .assign(kind="rate_ratio"),
            self.coefficients.rename(columns={"term": "label"}).assign(
                kind="coefficient"
            ),
            pd.DataFrame(
                {
                    "label": ["model"],
                    "theta": [self.theta],
                    "se_theta": [self.se_theta],
                    "alpha": [self.alpha],
                    "loglik": [self.loglik],
                    "aic": [self.aic],
                    "deviance": [self.deviance],
                    "df_residual": [float(self.df_residual)],
                    "pearson_dispersion": [self.pearson_dispersion],
                }
            ).assign(kind="model"),
        ]
        long = [
            p.astype({"label": object}).melt(
                id_vars=["kind", "label"], var_name="stat", value_name="value"
            )
            for p in parts
        ]
        out = pd.concat(long, ignore_index=True)
        out = out.loc[out["value"].notna()].reset_index(drop=True)
        out["value"] = out["value"].astype(float)
        return out[["kind", "label", "stat", "value"]]


def _deviance(y: np.ndarray, mu: np.ndarray, theta: float) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        ylog = np.where(y > 0, y * np.log(y / mu), 0.0)
    if np.isinf(theta):
        return float(2 * (ylog - (y - mu)).sum())
    return float(2 * (ylog - (y + theta) * np.log((y + theta) / (mu + theta))).sum())


def _covariance(
    fit: CountFit, x: np.ndarray, information: Information
) -> tuple[np.ndarray, float]:
    """Coefficient covariance and SE(theta) under the chosen information."""
    p = x.shape[1]
    if np.isinf(fit.theta):
        info = x.T @ (x * fit.mu[:, None])
        return linalg.inv(info), float("nan")
    if information == "observed":
        joint = linalg.inv(-fit.hessian)
        return joint[:p, :p], float(np.sqrt(joint[p, p]))
    w = fit.mu / (1 + fit.mu / fit.theta)
    info_theta = -float(fit.hessian[p, p])  # MASS::theta.ml's info at the means
    return linalg.inv(x.T @ (x * w[:, None])), float(np.sqrt(1 / info_theta))


def estimate_event_rates(
    data: pd.DataFrame,
    *,
    count: str = "count",
    exposure: str = "follow_up_years",
    group: str = "group",
    covariates: Sequence[str] = (),
    group_order: Sequence[object] | None = None,
    reference: object | None = None,
    model: Literal["nb2", "poisson"] = "nb2",
    information: Information = "expected",
    weights: Weights = "equal",
    per: float = 1.0,
    ci_level: float = 0.95,
) -> EventRateResult:
    """Fit an NB2 or Poisson regression of counts with a log(exposure) offset.

    ``log E[count] = log(exposure) + b0 + b_group + covariates`` by maximum
    likelihood (Newton-Raphson to the optimum, :mod:`._count_glm`); NB2 has
    ``Var = mu + mu^2 / theta`` with theta estimated jointly, as ``MASS::glm.nb``.
    Rate ratios are ``exp(b)`` with Wald intervals ``exp(b -/+ z se)`` and z-test
    p-values (R ``exp(coef)``, ``confint.default``, ``summary``). Model rates per
    group are emmeans' (numeric covariates at their mean, factor covariates
    averaged with ``weights``), per ``per`` units of exposure.

    Answers where the model has no covariance, never an error:

    - NB2 on counts that are not overdispersed (``sum((y - mu)^2 - y) <= 0`` at the
      Poisson fit, the score of ``1/theta`` at 0, as
      :func:`analyses.mri.estimate_lesion_rate_ratio`): the dispersion estimate is
      at its boundary and NB2 reduces to Poisson; the Poisson fit is reported with
      ``theta = inf``, ``poisson_limit = True`` and a note (R ``glm.nb`` runs theta
      off to infinity with warnings).
    - A group without events: its rate is 0 and its rate ratio 0 (infinite
      against a reference without events), with NaN interval and p-value; the
      model is fitted on the other groups.
    - A fit that does not converge (e.g. a covariate level without events):
      ``converged = False`` and NaN numbers, with a note.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject. Rows with a missing count, group or covariate, or a
        non-positive exposure, are dropped.
    count : str, default "count"
        Event count column (relapses, new lesions).
    exposure : str, default "follow_up_years"
        Exposure column (e.g. years of follow-up); its log is the offset.
    group : str, default "group"
        Treatment group column.
    covariates : sequence of str, default ()
        Covariates: numeric columns linearly, others as factors.
    group_order : sequence, optional
        Order of the groups; default the categorical order, else sorted.
    reference : optional
        Reference group of the rate ratios; default the first group.
    model : {"nb2", "poisson"}, default "nb2"
        Count model.
    information : {"expected", "observed"}, default "expected"
        Information behind the coefficient covariance of NB2: ``"expected"``
        (Fisher, at the estimated theta: R ``glm.nb``, SAS ``GENMOD``) or
        ``"observed"`` (the inverse observed information of beta and theta jointly,
        statsmodels' ``NegativeBinomial`` and
        :func:`analyses.mri.estimate_lesion_rate_ratio`). The two are equal for
        Poisson.
    weights : {"equal", "proportional"}, default "equal"
        Weights of factor covariates' levels in the model rates (emmeans).
    per : float, default 1.0
        Rates are per this much exposure (e.g. 100 for per 100 patient-years when
        the exposure is in years).
    ci_level : float, default 0.95
        Confidence level.

    Returns
    -------
    EventRateResult
        Rates, rate ratios, coefficients, dispersion and the conventions
        (:meth:`EventRateResult.describe`).
    """
    if model not in ("nb2", "poisson"):
        raise ValueError(f"model must be 'nb2' or 'poisson', got {model!r}")
    if information not in ("expected", "observed"):
        raise ValueError(
            f"information must be 'expected' or 'observed', got {information!r}"
        )
    if isinstance(covariates, str):
        covariates = [covariates]
    numeric, factors = split_covariates(data, covariates)
    needed = [count, exposure, group, *covariates]
    keep = data[needed].notna().all(axis=1) & (data[exposure] > 0)
    frame = data.loc[keep, needed].reset_index(drop=True)
    groups = factor_levels(frame[group], group_order)
    if reference is None:
        reference = groups[0] if groups else None
    if reference not in groups:
        raise ValueError(f"reference {reference!r} is not a group of {group!r}")
    totals = frame.groupby(group, observed=True)[count].sum()
    events = {g: float(totals.get(g, 0.0)) for g in groups}
    with_events = [g for g in groups if events[g] > 0]
    # the fit's groups: those with events, the reference first when it has any
    fit_groups = ([reference] if events[reference] > 0 else []) + [
        g for g in with_events if g != reference
    ]
    fitted = frame.loc[frame[group].isin(fit_groups)].reset_index(drop=True)
    notes: list[str] = []
    z = float(stats.norm.ppf(0.5 + ci_level / 2))
    nan = float("nan")
    variables = {
        group: Variable(group, tuple(fit_groups)),
        **{c: Variable(c) for c in numeric},
        **{c: Variable(c, factor_levels(fitted[c])) for c in factors},
    }
    terms = [(group,), *[(c,) for c in covariates]]
    formula = (
        f"{count} ~ " + " + ".join([group, *covariates]) + f" + offset(log({exposure}))"
    )
    poisson_limit = False
    theta, se_theta = float("inf"), nan
    converged = len(fit_groups) > 0
    beta = np.full(0, nan)
    cov = np.zeros((0, 0))
    names: list[str] = []
    fit: CountFit | None = None
    x = np.zeros((0, 0))
    y = fitted[count].to_numpy(dtype=float)
    if fit_groups:
        x, names = model_matrix(fitted, terms, variables)
        offset = np.log(fitted[exposure].to_numpy(dtype=float))
        if np.linalg.matrix_rank(x) < x.shape[1]:
            raise ValueError(f"the model matrix is rank deficient: columns {names}")
        fit = fit_poisson(y, x, offset)
        if model == "nb2" and fit.converged:
            score = float(((y - fit.mu) ** 2 - y).sum())
            size = float(((y - fit.mu) ** 2 + y).sum())
            if score <= OVERDISPERSION_RTOL * size:
                poisson_limit = True
                notes.append(
                    "NB2 reduces to Poisson: the counts are not overdispersed (at "
                    f"the Poisson fit, sum((y - mu)^2 - y) = {score:.6g} is not "
                    "positive), so the maximum-likelihood 1/theta is at its "
                    "boundary 0, where the information is singular; the Poisson "
                    "fit (its limit) is reported with theta = inf."
                )
            else:
                nb = fit_nb2(y, x, offset, fit)
                if nb.theta > 1e8:
                    poisson_limit = True
                    notes.append(
                        "NB2 reduces to Poisson: theta runs to infinity; the "
                        "Poisson fit (its limit) is reported with theta = inf."
                    )
                else:
                    fit = nb
        converged = fit.converged
        if converged:
            beta = fit.beta
            cov, se_theta = _covariance(fit, x, information)
            theta = fit.theta
        else:
            notes.append(
                "The fit did not converge (a coefficient runs off to infinity, e.g. "
                "a covariate level without events, or the iterations ran out): no "
                "estimates (NaN)."
            )
            beta = np.full(x.shape[1], nan)
            cov = np.full((x.shape[1], x.shape[1]), nan)
    empty = [g for g in groups if events[g] == 0]
    if empty:
        notes.append(
            f"No events in {group} {empty}: the maximum-likelihood rate is 0, so the "
            "rate and its rate ratio are 0 (infinite against a reference without "
            "events, NaN when both have none) with no Wald interval or p-value; "
            "the model is fitted on the other groups."
        )
    se = np.sqrt(np.diag(cov)) if cov.size else np.zeros(0)
    zval = beta / se if se.size else np.zeros(0)
    coefficients = pd.DataFrame(
        {
            "term": names,
            "estimate": beta,
            "se": se,
            "z": zval,
            "p_value": 2 * stats.norm.sf(np.abs(zval)),
            "rate_ratio": np.exp(beta),
            "lower": np.exp(beta - z * se),
            "upper": np.exp(beta + z * se),
        }
    )
    # model rates per group at the covariate means (emmeans, type = "response")
    model_rate: dict[object, tuple[float, float, float, float]] = {}
    if fit_groups:
        grid, lin, _ = reference_grid(
            fitted, terms, variables, [group], weights=weights
        )
        eta = lin @ beta + np.log(per)
        se_eta = np.sqrt(np.einsum("ip,pq,iq->i", lin, cov, lin))
        for g, e, s in zip(grid[group], eta, se_eta, strict=True):
            rate = float(np.exp(e))
            model_rate[g] = (
                rate,
                rate * float(s),
                float(np.exp(e - z * s)),
                float(np.exp(e + z * s)),
            )
    sizes = frame.groupby(group, observed=True).size()
    follow = frame.groupby(group, observed=True)[exposure].sum()
    rate_rows = []
    for g in groups:
        n_g = float(sizes.get(g, 0))
        expo = float(follow.get(g, 0.0))
        r, s, lo, hi = model_rate.get(g, (0.0, nan, nan, nan))
        if not converged and g in model_rate:
            r = s = lo = hi = nan
        rate_rows.append(
            {
                group: g,
                "n": n_g,
                "events": events[g],
                "exposure": expo,
                "crude_rate": events[g] / expo * per if expo > 0 else nan,
                "rate": r,
                "se": s,
                "lower": lo,
                "upper": hi,
            }
        )
    rates = pd.DataFrame(rate_rows)
    index = {name: i for i, name in enumerate(names)}
    ratio_rows = []
    for g in groups:
        if g == reference:
            continue
        row = {group: g, "reference": reference}
        col = index.get(f"{group}{g}")
        if events[g] == 0 or events[reference] == 0:
            ratio = (
                nan
                if events[g] == 0 and events[reference] == 0
                else 0.0
                if events[g] == 0
                else float("inf")
            )
            with np.errstate(divide="ignore"):
                log_ratio = float(np.log(ratio))
            row.update(
                rate_ratio=ratio,
                lower=nan,
                upper=nan,
                p_value=nan,
                log_rate_ratio=log_ratio,
                se=nan,
            )
        else:
            assert col is not None
            b, s = float(beta[col]), float(se[col])
            row.update(
                rate_ratio=float(np.exp(b)),
                lower=float(np.exp(b - z * s)),
                upper=float(np.exp(b + z * s)),
                p_value=float(2 * stats.norm.sf(abs(b / s))),
                log_rate_ratio=b,
                se=s,
            )
        ratio_rows.append(row)
    rate_ratios = pd.DataFrame(
        ratio_rows,
        columns=[group, "reference", *RATIO_STATS],
    )
    n_fit, p = (len(y), x.shape[1]) if fit_groups else (0, 0)
    if fit is not None and converged:
        mu = fit.mu
        loglik = fit.loglik
        deviance = _deviance(y, mu, theta)
        var = mu if np.isinf(theta) else mu + mu**2 / theta
        pearson = float(((y - mu) ** 2 / var).sum())
        aic = -2 * loglik + 2 * (p + (0 if np.isinf(theta) else 1))
    else:
        loglik = deviance = pearson = aic = nan
    df_res = n_fit - p
    prov = make_provenance(
        "estimate_event_rates",
        inputs={"data": data},
        count=count,
        exposure=exposure,
        group=group,
        covariates=list(covariates),
        group_order=[str(g) for g in groups],
        reference=reference,
        model=model,
        information=information,
        weights=weights,
        per=per,
        ci_level=ci_level,
        offset=f"log({exposure})",
        ci_method="Wald",
        fit=(
            "Newton-Raphson to the maximum likelihood (NB2 jointly in beta and log "
            "theta); Poisson limit when sum((y - mu)^2 - y) <= 0 at the Poisson fit"
        ),
    )
    return EventRateResult(
        provenance=prov,
        rates=rates,
        rate_ratios=rate_ratios,
        coefficients=coefficients,
        covariance=pd.DataFrame(cov, index=names, columns=names),
        model=model,
        theta=theta,
        se_theta=se_theta,
        alpha=0.0 if np.isinf(theta) else 1 / theta,
        loglik=loglik,
        aic=aic,
        deviance=deviance,
        df_residual=int(df_res),
        pearson_dispersion=pearson / df_res if df_res > 0 else nan,
        reference=reference,
        per=per,
        information=information,
        ci_level=ci_level,
        formula=formula,
        converged=converged,
        poisson_limit=poisson_limit,
        note=" ".join(notes),
    )
