"""Negative binomial (or Poisson) regression of lesion counts, log follow-up offset."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.discrete.discrete_model import NegativeBinomial, Poisson

from analyses._results import AnalysisResult, make_provenance

__all__ = ["RateRatioResult", "estimate_lesion_rate_ratio"]


@dataclass(frozen=True, kw_only=True)
class RateRatioResult(AnalysisResult):
    """Rate ratios of lesion counts between groups.

    Attributes
    ----------
    table : pandas.DataFrame
        Long frame: group column, ``stat`` and ``value``. The reference group carries
        its model rate (``rate``, per year, with ``rate_lower``/``rate_upper``) and
        ``n``; every other group also carries ``rate_ratio``, ``lower``, ``upper``
        and ``p_value`` (Wald) against the reference.
    reference : object
        The reference group.
    alpha : float
        NB2 dispersion (``Var = mu + alpha * mu^2``); 0 for Poisson.
    model : str
        ``"nb2"`` or ``"poisson"``.
    converged : bool
        Whether the fit converged.
    """

    table: pd.DataFrame
    reference: object
    alpha: float
    model: str
    converged: bool

    def to_frame(self) -> pd.DataFrame:
        """Return the long, unrounded frame.

        Returns
        -------
        pandas.DataFrame
            Group column, ``stat``, ``value``.
        """
        return self.table.copy()


def estimate_lesion_rate_ratio(
    data: pd.DataFrame,
    by: str = "route",
    *,
    count: str = "new_t2",
    exposure: str = "follow_up_years",
    reference: object | None = None,
    model: Literal["nb2", "poisson"] = "nb2",
    ci_level: float = 0.95,
) -> RateRatioResult:
    """Compare lesion rates between groups with a log(follow-up) offset.

    Fits ``log E[count] = log(exposure) + b0 + b_g`` by maximum likelihood with
    :class:`statsmodels.discrete.discrete_model.NegativeBinomial` (NB2,
    ``Var = mu + alpha mu^2``) or :class:`~statsmodels.discrete.discrete_model.Poisson`.
    Rate ratios are ``exp(b_g)`` with Wald intervals ``exp(b_g -/+ z se)`` and
    two-sided Wald p-values.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject, e.g. ``LesionCountResult.subjects``. Rows with a missing
        count or a non-positive exposure are dropped.
    by : str, default "route"
        Group column (e.g. ``"dose_level"``).
    count : str, default "new_t2"
        Count column (``new_gd``, ``new_t2`` or ``new_combined``).
    exposure : str, default "follow_up_years"
        Follow-up column; its log is the offset, so rates are per unit of it.
    reference : optional
        Reference group; default the first sorted level.
    model : {"nb2", "poisson"}, default "nb2"
        Count model.
    ci_level : float, default 0.95
        Confidence level.

    Returns
    -------
    RateRatioResult
        Rates, rate ratios, intervals and p-values.
    """
    frame = data.loc[data[count].notna() & (data[exposure] > 0) & data[by].notna()]
    levels = sorted(frame[by].unique())
    if reference is None:
        reference = levels[0]
    if reference not in levels:
        raise ValueError(f"reference {reference!r} is not a level of {by!r}")
    others = [lv for lv in levels if lv != reference]
    group = frame[by].to_numpy(dtype=object)
    x = np.column_stack(
        [np.ones(len(frame))] + [(group == lv).astype(float) for lv in others]
    )
    y = frame[count].to_numpy(dtype=float)
    offset = np.log(frame[exposure].to_numpy(dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model == "nb2":
            fit = NegativeBinomial(y, x, loglike_method="nb2", offset=offset).fit(
                disp=0, maxiter=200
            )
            alpha = float(np.asarray(fit.params)[-1])
        elif model == "poisson":
            fit = Poisson(y, x, offset=offset).fit(disp=0, maxiter=200)
            alpha = 0.0
        else:
            raise ValueError(f"model must be 'nb2' or 'poisson', got {model!r}")
    k = x.shape[1]
    beta = np.asarray(fit.params, dtype=float)[:k]
    se = np.asarray(fit.bse, dtype=float)[:k]
    z = float(stats.norm.ppf(0.5 + ci_level / 2))
    counts: dict[object, int] = {lv: int((group == lv).sum()) for lv in levels}
    rows: list[dict[str, object]] = []
    ref_stats = {
        "n": float(counts[reference]),
        "rate": float(np.exp(beta[0])),
        "rate_lower": float(np.exp(beta[0] - z * se[0])),
        "rate_upper": float(np.exp(beta[0] + z * se[0])),
    }
    rows.extend({by: reference, "stat": s, "value": v} for s, v in ref_stats.items())
    cov = np.asarray(fit.cov_params(), dtype=float)[:k, :k]
    for j, lv in enumerate(others, start=1):
        lin = beta[0] + beta[j]
        se_lin = float(np.sqrt(cov[0, 0] + cov[j, j] + 2 * cov[0, j]))
        vals = {
            "n": float(counts[lv]),
            "rate": float(np.exp(lin)),
            "rate_lower": float(np.exp(lin - z * se_lin)),
            "rate_upper": float(np.exp(lin + z * se_lin)),
            "rate_ratio": float(np.exp(beta[j])),
            "lower": float(np.exp(beta[j] - z * se[j])),
            "upper": float(np.exp(beta[j] + z * se[j])),
            "p_value": float(2 * stats.norm.sf(abs(beta[j] / se[j]))),
        }
        rows.extend({by: lv, "stat": s, "value": v} for s, v in vals.items())
    table = pd.DataFrame(rows, columns=[by, "stat", "value"])
    prov = make_provenance(
        "estimate_lesion_rate_ratio",
        inputs={"data": data},
        by=by,
        count=count,
        exposure=exposure,
        reference=reference,
        model=model,
        ci_level=ci_level,
        ci_method="Wald",
        offset=f"log({exposure})",
    )
    return RateRatioResult(
        provenance=prov,
        table=table,
        reference=reference,
        alpha=alpha,
        model=model,
        converged=bool(fit.mle_retvals.get("converged", True)),
    )
