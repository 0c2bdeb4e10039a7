"""Negative binomial (or Poisson) regression of lesion counts, log follow-up offset.

The model has one log rate per group, so the Poisson fit is closed form (rate = total
count / total follow-up). The NB2 fit starts from it and runs Newton-Raphson with the
analytic Hessian to a tight tolerance, so the estimates do not depend on the BLAS
kernel, its thread count or the CPU. Counts that are not overdispersed put the NB2
dispersion at its boundary 0, where the information matrix is singular: the result is
then the Poisson limit, with a note, not an error.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats
from statsmodels.discrete.discrete_model import NegativeBinomial

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
        Whether the fit converged (False only when the NB2 fit failed; its numbers
        are then NaN and ``note`` says why).
    poisson_limit : bool
        True when ``model="nb2"`` was asked for but the counts are not overdispersed:
        the NB2 maximum-likelihood dispersion is 0 and the Poisson fit is reported.
    note : str
        Plain-language notes on the fit (Poisson limit, groups without events,
        failed fit); empty when there is nothing to say.
    """

    table: pd.DataFrame
    reference: object
    alpha: float
    model: str
    converged: bool
    poisson_limit: bool = False
    note: str = ""

    def to_frame(self) -> pd.DataFrame:
        """Return the long, unrounded frame.

        Returns
        -------
        pandas.DataFrame
            Group column, ``stat``, ``value``.
        """
        return self.table.copy()


#: The counts count as not overdispersed when the score of the NB2 dispersion at 0,
#: sum((y - mu)^2 - y) at the Poisson fit, is at most this share of
#: sum((y - mu)^2 + y) (0 up to rounding).
OVERDISPERSION_RTOL = 1e-8


def _nb2_fit(
    y: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    offset: npt.NDArray[np.float64],
    start: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    """NB2 maximum likelihood: ``(params, covariance)``, or None if it failed.

    Newton-Raphson with statsmodels' analytic Hessian from ``start`` (the Poisson
    fit and the moment estimate of alpha) converges quadratically, so the estimates
    agree to rounding on every machine. If that fails (no convergence, alpha <= 0,
    a singular information matrix), statsmodels' default BFGS fit (in log alpha) is
    polished by Newton-Raphson from its optimum.
    """
    model = NegativeBinomial(y, x, loglike_method="nb2", offset=offset)

    def usable(
        fit: Any,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
        params = np.asarray(fit.params, dtype=float)
        cov_raw = fit.normalized_cov_params
        converged = bool(fit.mle_retvals.get("converged", False))
        if cov_raw is None or not converged:
            return None
        cov = np.asarray(cov_raw, dtype=float)
        if (
            not np.all(np.isfinite(params))
            or params[-1] <= 0
            or not np.all(np.isfinite(cov))
            or not np.all(np.diag(cov) > 0)
        ):
            return None
        return params, cov

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            newton = model.fit(
                start_params=start, method="newton", maxiter=100, tol=1e-12, disp=0
            )
            found = usable(newton)
            if found is not None:
                return found
            bfgs = model.fit(disp=0, maxiter=200)
            polished = model.fit(
                start_params=np.asarray(bfgs.params, dtype=float),
                method="newton",
                maxiter=100,
                tol=1e-12,
                disp=0,
            )
            return usable(polished)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            return None


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

    Fits ``log E[count] = log(exposure) + b0 + b_g`` by maximum likelihood: NB2
    (``Var = mu + alpha mu^2``, statsmodels ``NegativeBinomial`` by Newton-Raphson
    from the Poisson fit) or Poisson (closed form: rate = total
    count / total exposure, ``SE(log rate) = 1 / sqrt(total count)``). Rate ratios
    are ``exp(b_g)`` with Wald intervals ``exp(b_g -/+ z se)`` and two-sided Wald
    p-values.

    Fits that have no covariance matrix give an answer with a ``note``, never an
    error:

    - NB2 on counts that are not overdispersed (``sum((y - mu)^2 - y) <= 0`` at the
      Poisson fit, the score of alpha at 0): the dispersion MLE is at its boundary
      ``alpha = 0`` and NB2 reduces to Poisson; the Poisson fit is reported with
      ``alpha = 0`` and ``poisson_limit = True``.
    - A group without any count: its maximum-likelihood rate is 0 (log rate -inf);
      ``rate`` and ``rate_ratio`` are 0 (infinite when the reference has no count,
      NaN when neither has), their intervals and p-value NaN. The other groups and
      alpha are fitted on the groups with counts (a group of zeros adds nothing to
      the likelihood at rate 0).
    - An NB2 fit that fails even so: every model number NaN, ``converged = False``.

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
    if model not in ("nb2", "poisson"):
        raise ValueError(f"model must be 'nb2' or 'poisson', got {model!r}")
    frame = data.loc[data[count].notna() & (data[exposure] > 0) & data[by].notna()]
    levels = sorted(frame[by].unique())
    if reference is None:
        reference = levels[0]
    if reference not in levels:
        raise ValueError(f"reference {reference!r} is not a level of {by!r}")
    group = frame[by].to_numpy(dtype=object)
    code = np.zeros(len(frame), dtype=np.int64)
    for i, lv in enumerate(levels):
        code[group == lv] = i
    k = len(levels)
    ref = levels.index(reference)
    y = frame[count].to_numpy(dtype=float)
    expo = frame[exposure].to_numpy(dtype=float)
    total = np.bincount(code, weights=y, minlength=k)
    years = np.bincount(code, weights=expo, minlength=k)
    has = total > 0
    # Poisson MLE, closed form: one log rate per group; Var = 1 / total count
    with np.errstate(divide="ignore"):
        log_rate = np.log(total / years)
    cov = np.full((k, k), np.nan)
    cov[np.ix_(has, has)] = np.diag(1.0 / total[has])
    notes: list[str] = []
    alpha = 0.0
    converged = True
    poisson_limit = False
    if model == "nb2":
        mu = expo * np.exp(log_rate[code])
        score = float(((y - mu) ** 2 - y).sum())
        size = float(((y - mu) ** 2 + y).sum())
        if score <= OVERDISPERSION_RTOL * size:
            poisson_limit = True
            notes.append(
                "NB2 reduces to Poisson: the counts are not overdispersed (at the "
                f"Poisson fit, sum((y - mu)^2 - y) = {score:.6g} is not positive), so "
                "the maximum-likelihood dispersion is at its boundary alpha = 0, "
                "where the information matrix is singular; the Poisson fit (its "
                "limit) and Poisson Wald intervals are reported."
            )
        else:
            rows = has[code]
            pos = np.flatnonzero(has)
            design = (code[rows][:, None] == pos[None, :]).astype(float)
            start = np.r_[log_rate[pos], score / float((mu**2).sum())]
            found = _nb2_fit(y[rows], design, np.log(expo[rows]), start)
            if found is None:
                converged = False
                alpha = float("nan")
                log_rate = np.full(k, np.nan)
                cov = np.full((k, k), np.nan)
                notes.append(
                    "The NB2 fit failed (no convergence to a maximum with a positive "
                    "dispersion and an invertible information matrix): no estimates; "
                    "model='poisson' gives the Poisson fit."
                )
            else:
                params, cov_pos = found
                alpha = float(params[-1])
                log_rate[pos] = params[: pos.size]
                cov[np.ix_(pos, pos)] = cov_pos[: pos.size, : pos.size]
    if converged and not has.all():
        empty = [lv for lv, h in zip(levels, has, strict=True) if not h]
        notes.append(
            f"No {count} counts in {by} {empty}: the maximum-likelihood rate is 0 "
            "(log rate -inf), so the rate and its rate ratio are 0 (infinite against "
            "a reference without counts, NaN when both have none) and have no Wald "
            "interval or p-value (NaN)."
        )
    z = float(stats.norm.ppf(0.5 + ci_level / 2))
    se = np.sqrt(np.diag(cov))
    nan = float("nan")

    def rate_stats(g: int) -> dict[str, float]:
        n = float((code == g).sum())
        if not converged:
            return {"n": n, "rate": nan, "rate_lower": nan, "rate_upper": nan}
        if not has[g]:
            return {"n": n, "rate": 0.0, "rate_lower": nan, "rate_upper": nan}
        lin, s_lin = float(log_rate[g]), float(se[g])
        return {
            "n": n,
            "rate": float(np.exp(lin)),
            "rate_lower": float(np.exp(lin - z * s_lin)),
            "rate_upper": float(np.exp(lin + z * s_lin)),
        }

    def ratio_stats(g: int) -> dict[str, float]:
        if not converged or not (has[g] or has[ref]):
            return {"rate_ratio": nan, "lower": nan, "upper": nan, "p_value": nan}
        if not (has[g] and has[ref]):
            ratio = 0.0 if not has[g] else float("inf")
            return {"rate_ratio": ratio, "lower": nan, "upper": nan, "p_value": nan}
        diff = float(log_rate[g] - log_rate[ref])
        s_diff = float(np.sqrt(cov[g, g] + cov[ref, ref] - 2 * cov[g, ref]))
        return {
            "rate_ratio": float(np.exp(diff)),
            "lower": float(np.exp(diff - z * s_diff)),
            "upper": float(np.exp(diff + z * s_diff)),
            "p_value": float(2 * stats.norm.sf(abs(diff / s_diff))),
        }

    rows_out: list[dict[str, object]] = []
    rows_out.extend(
        {by: reference, "stat": s, "value": v} for s, v in rate_stats(ref).items()
    )
    for g, lv in enumerate(levels):
        if g == ref:
            continue
        vals = rate_stats(g) | ratio_stats(g)
        rows_out.extend({by: lv, "stat": s, "value": v} for s, v in vals.items())
    table = pd.DataFrame(rows_out, columns=[by, "stat", "value"])
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
        fit=(
            "Poisson closed form; NB2 Newton-Raphson from the Poisson fit, Poisson "
            "limit (alpha = 0) when sum((y - mu)^2 - y) <= 0"
        ),
    )
    return RateRatioResult(
        provenance=prov,
        table=table,
        reference=reference,
        alpha=alpha,
        model=model,
        converged=converged,
        poisson_limit=poisson_limit,
        note=" ".join(notes),
    )
