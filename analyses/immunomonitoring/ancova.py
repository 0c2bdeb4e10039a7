"""ANCOVA of change from baseline with LS means and their differences, as emmeans.

``response ~ baseline + group [+ covariates]`` by ordinary least squares (R ``lm``),
LS means per group as ``emmeans(fit, ~ group)`` computes them and pairwise
differences as ``pairs()`` does. Used for immunomonitoring, EDSS and MRI measures
alike: every column is a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analyses._lsmeans import (
    Adjust,
    Variable,
    Weights,
    factor_levels,
    inference,
    model_matrix,
    pairwise,
    reference_grid,
    split_covariates,
)
from analyses._results import AnalysisResult, make_provenance

__all__ = ["AncovaResult", "estimate_ancova"]


@dataclass(frozen=True, kw_only=True)
class AncovaResult(AnalysisResult):
    """LS means and pairwise differences of an ANCOVA.

    Attributes
    ----------
    lsmeans : pandas.DataFrame
        One row per group: the group column, ``estimate``, ``se``, ``df``,
        ``lower``, ``upper`` (t interval), ``t_ratio``, ``p_value`` (H0: mean 0,
        unadjusted) and ``n`` (fitted rows).
    differences : pandas.DataFrame
        One row per pair: ``contrast`` (``"A - B"``), ``group_1``, ``group_2``,
        ``estimate``, ``se``, ``df``, ``lower``, ``upper``, ``t_ratio``,
        ``p_value`` (with ``adjust``).
    coefficients : pandas.DataFrame
        ``term`` (R's names), ``estimate``, ``se``, ``t_ratio``, ``p_value``.
    covariance : pandas.DataFrame
        Covariance of the coefficients.
    sigma : float
        Residual standard deviation.
    df_residual : int
        Residual degrees of freedom (those of every interval).
    n : int
        Rows fitted.
    n_dropped : int
        Rows dropped for a missing response, baseline, group or covariate.
    formula : str
        The model, R style.
    covariate_means : dict
        Values of the numeric covariates in the LS means (their means).
    weights, adjust : str
        LS-mean weights over factor covariates; adjustment of the differences.
    ci_level : float
        Confidence level.
    """

    lsmeans: pd.DataFrame
    differences: pd.DataFrame
    coefficients: pd.DataFrame
    covariance: pd.DataFrame
    sigma: float
    df_residual: int
    n: int
    n_dropped: int
    formula: str
    covariate_means: dict[str, float]
    weights: str
    adjust: str
    ci_level: float

    def describe(self) -> str:
        """Return the conventions as one footnote sentence.

        Returns
        -------
        str
            Model, LS-mean definition, degrees of freedom and adjustment.
        """
        at = ", ".join(f"{k} = {v:.4g}" for k, v in self.covariate_means.items())
        n_groups = len(self.lsmeans)
        adjust = (
            f"Tukey adjustment for {n_groups} means"
            if self.adjust == "tukey" and n_groups > 2
            else "Tukey adjustment (none needed for 2 means)"
            if self.adjust == "tukey"
            else f"{self.adjust} adjustment"
        )
        return (
            f"ANCOVA {self.formula} (least squares, {self.n} rows, {self.n_dropped} "
            f"dropped). LS means (emmeans) at {at or 'no numeric covariate'}, "
            f"{self.weights} weights over factor covariates; "
            f"{self.ci_level:.0%} t intervals with {self.df_residual} df; "
            f"pairwise differences with {adjust}."
        )

    def summary(self) -> pd.DataFrame:
        """Return LS means and differences in one display frame.

        Returns
        -------
        pandas.DataFrame
            ``kind`` (``"LS mean"`` / ``"difference"``), ``label``, the statistics.
        """
        means = self.lsmeans.rename(columns={self.lsmeans.columns[0]: "label"})
        means.insert(0, "kind", "LS mean")
        diffs = self.differences.drop(columns=["group_1", "group_2"]).rename(
            columns={"contrast": "label"}
        )
        diffs.insert(0, "kind", "difference")
        cols = ["kind", "label", "estimate", "se", "df", "lower", "upper"]
        cols += ["t_ratio", "p_value", "n"]
        return pd.concat([means, diffs], ignore_index=True).reindex(columns=cols)

    def to_frame(self) -> pd.DataFrame:
        """Return the long, unrounded frame.

        Returns
        -------
        pandas.DataFrame
            ``kind`` (``lsmean``, ``difference``, ``coefficient``, ``model``),
            ``label``, ``stat``, ``value``.
        """
        return _long(self)


def _long(result: AncovaResult) -> pd.DataFrame:
    parts = []
    group_col = result.lsmeans.columns[0]
    means = result.lsmeans.rename(columns={group_col: "label"})
    parts.append(means.assign(kind="lsmean"))
    diffs = result.differences.drop(columns=["group_1", "group_2"])
    parts.append(diffs.rename(columns={"contrast": "label"}).assign(kind="difference"))
    coefs = result.coefficients.rename(columns={"term": "label"})
    parts.append(coefs.assign(kind="coefficient"))
    model = pd.DataFrame(
        {
            "label": ["model"],
            "sigma": [result.sigma],
            "df_residual": [float(result.df_residual)],
            "n": [float(result.n)],
            "n_dropped": [float(result.n_dropped)],
        }
    )
    parts.append(model.assign(kind="model"))
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


def _variables(
    frame: pd.DataFrame,
    group: str,
    group_order: Sequence[object] | None,
    numeric: Sequence[str],
    factors: Sequence[str],
) -> dict[str, Variable]:
    out = {group: Variable(group, factor_levels(frame[group], group_order))}
    for name in numeric:
        out[name] = Variable(name)
    for name in factors:
        out[name] = Variable(name, factor_levels(frame[name]))
    return out


def estimate_ancova(
    data: pd.DataFrame,
    *,
    response: str = "change",
    baseline: str | None = "baseline_value",
    group: str = "group",
    covariates: Sequence[str] = (),
    group_order: Sequence[object] | None = None,
    weights: Weights = "equal",
    adjust: Adjust = "tukey",
    reverse: bool = False,
    ci_level: float = 0.95,
) -> AncovaResult:
    """Fit ``response ~ baseline + group + covariates`` and compare LS means.

    Least squares as R ``lm`` (treatment coding, first group the reference). LS
    means as ``emmeans(fit, ~ group)``: numeric covariates (the baseline among them)
    at their mean over the fitted rows, factor covariates averaged over their levels
    with ``weights``; standard errors from the coefficient covariance, t intervals
    with the residual degrees of freedom. Differences as ``pairs(emm)``: every pair
    ``group_i - group_j`` (i before j in the group order), p-values and intervals
    adjusted by ``adjust`` (emmeans' default for ``pairs()`` is Tukey).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject (e.g. one visit of ADIM, EDSS or MRI measures). Rows
        with a missing response, baseline, group or covariate are dropped and
        counted.
    response : str, default "change"
        Response column (change from baseline).
    baseline : str or None, default "baseline_value"
        Baseline column, the first covariate; None for none.
    group : str, default "group"
        Treatment group column.
    covariates : sequence of str, default ()
        Further covariates: numeric columns enter linearly, other columns as
        factors (treatment coding, sorted levels or categorical order).
    group_order : sequence, optional
        Order of the groups (the first is the reference and the pairs follow it);
        default the categorical order, else sorted.
    weights : {"equal", "proportional"}, default "equal"
        Weights of factor covariates' levels in the LS means (emmeans' default
        ``"equal"``; ``"proportional"`` to their frequencies).
    adjust : {"tukey", "none", "bonferroni", "sidak"}, default "tukey"
        Adjustment of the pairwise differences (emmeans ``pairs()`` default).
    reverse : bool, default False
        Report ``group_j - group_i`` (``pairs(reverse = TRUE)``), e.g. active minus
        control when control is the first group.
    ci_level : float, default 0.95
        Confidence level.

    Returns
    -------
    AncovaResult
        LS means, differences, coefficients, and the conventions
        (:meth:`AncovaResult.describe`).
    """
    if isinstance(covariates, str):
        covariates = [covariates]
    numeric, factors = split_covariates(data, covariates)
    numeric = ([baseline] if baseline is not None else []) + numeric
    needed = [response, group, *numeric, *factors]
    keep = data[needed].notna().all(axis=1)
    frame = data.loc[keep, needed].reset_index(drop=True)
    variables = _variables(frame, group, group_order, numeric, factors)
    groups = variables[group].levels or ()
    if len(groups) < 2:
        raise ValueError(f"{group!r} needs at least two groups, got {list(groups)}")
    first = [baseline] if baseline is not None else []
    terms = [(v,) for v in (*first, group, *covariates)]
    x, names = model_matrix(frame, terms, variables)
    y = frame[response].to_numpy(dtype=float)
    n, p = x.shape
    if np.linalg.matrix_rank(x) < p:
        raise ValueError(
            "the ANCOVA model matrix is rank deficient (a covariate level occurs "
            "only with one group, or a covariate is constant): "
            f"columns {names}"
        )
    df_res = n - p
    if df_res < 1:
        raise ValueError(f"{n} rows for {p} coefficients: no residual df")
    q, r = np.linalg.qr(x)
    beta = np.linalg.solve(r, q.T @ y)
    resid = y - x @ beta
    sigma2 = float(resid @ resid) / df_res
    r_inv = np.linalg.inv(r)
    cov = sigma2 * (r_inv @ r_inv.T)
    se_b = np.sqrt(np.diag(cov))
    t_b = beta / se_b
    coefficients = pd.DataFrame(
        {
            "term": names,
            "estimate": beta,
            "se": se_b,
            "t_ratio": t_b,
            "p_value": 2 * stats.t.sf(np.abs(t_b), df_res),
        }
    )
    grid, lin, means = reference_grid(frame, terms, variables, [group], weights=weights)
    est = lin @ beta
    se = np.sqrt(np.einsum("ip,pq,iq->i", lin, cov, lin))
    dfs = np.full(len(est), float(df_res))
    inf = inference(est, se, dfs, ci_level=ci_level)
    counts = frame.groupby(group, sort=False, observed=True).size()
    lsmeans = pd.DataFrame(
        {
            group: grid[group].to_numpy(),
            "estimate": est,
            "se": se,
            "df": dfs,
            "lower": inf["lower"],
            "upper": inf["upper"],
            "t_ratio": inf["t_ratio"],
            "p_value": inf["p_value"],
            "n": [float(counts.get(g, 0)) for g in groups],
        }
    )
    pairs = pairwise(len(groups), reverse=reverse)
    dl = np.array([lin[i] - lin[j] for i, j in pairs])
    d_est = dl @ beta
    d_se = np.sqrt(np.einsum("ip,pq,iq->i", dl, cov, dl))
    d_df = np.full(len(pairs), float(df_res))
    d_inf = inference(
        d_est,
        d_se,
        d_df,
        ci_level=ci_level,
        adjust=adjust,
        n_means=len(groups),
        n_contrasts=len(pairs),
    )
    differences = pd.DataFrame(
        {
            "contrast": [f"{groups[i]} - {groups[j]}" for i, j in pairs],
            "group_1": [groups[i] for i, _ in pairs],
            "group_2": [groups[j] for _, j in pairs],
            "estimate": d_est,
            "se": d_se,
            "df": d_df,
            "lower": d_inf["lower"],
            "upper": d_inf["upper"],
            "t_ratio": d_inf["t_ratio"],
            "p_value": d_inf["p_value"],
        }
    )
    formula = f"{response} ~ " + " + ".join(":".join(t) for t in terms)
    prov = make_provenance(
        "estimate_ancova",
        inputs={"data": data},
        response=response,
        baseline=baseline,
        group=group,
        covariates=list(covariates),
        group_order=[str(g) for g in groups],
        weights=weights,
        adjust=adjust,
        reverse=reverse,
        ci_level=ci_level,
        formula=formula,
        fit="least squares (R lm); LS means as emmeans",
    )
    return AncovaResult(
        provenance=prov,
        lsmeans=lsmeans,
        differences=differences,
        coefficients=coefficients,
        covariance=pd.DataFrame(cov, index=names, columns=names),
        sigma=float(np.sqrt(sigma2)),
        df_residual=int(df_res),
        n=int(n),
        n_dropped=int((~keep).sum()),
        formula=formula,
        covariate_means=means,
        weights=weights,
        adjust=adjust,
        ci_level=ci_level,
    )
