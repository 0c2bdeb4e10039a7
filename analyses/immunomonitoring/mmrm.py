"""MMRM: change from baseline over visits with an unstructured covariance (REML).

``response ~ baseline * visit + group * visit [+ covariates]`` with the results of
a subject correlated across visits by an unstructured covariance (one variance per
visit, one covariance per pair of visits), fitted by restricted maximum likelihood;
LS means per visit and group and their differences between groups at each visit,
with Satterthwaite degrees of freedom. This is R

    gls(change ~ baseline * visit + group * visit, data,
        correlation = corSymm(form = ~ visit_index | subject),
        weights = varIdent(form = ~ 1 | visit), method = "REML")
    emmeans(fit, ~ group | visit, mode = "satterthwaite")

(see :mod:`._reml` for the fit). Missing visits are missing at random: a subject
contributes the visits it has.
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
from analyses.immunomonitoring._reml import Pattern, fit_reml, satterthwaite_df

__all__ = ["MmrmResult", "estimate_mmrm"]


@dataclass(frozen=True, kw_only=True)
class MmrmResult(AnalysisResult):
    """LS means per visit and group, and group differences per visit, of an MMRM.

    Attributes
    ----------
    lsmeans : pandas.DataFrame
        One row per visit x group: the visit and group columns, ``estimate``,
        ``se``, ``df`` (Satterthwaite), ``lower``, ``upper``, ``t_ratio``,
        ``p_value`` (H0: mean 0) and ``n`` (results fitted).
    differences : pandas.DataFrame
        One row per visit x pair of groups: the visit column, ``contrast``
        (``"A - B"``), ``group_1``, ``group_2``, ``estimate``, ``se``, ``df``,
        ``lower``, ``upper``, ``t_ratio``, ``p_value`` (adjusted by ``adjust``
        within each visit).
    coefficients : pandas.DataFrame
        ``term`` (R's names), ``estimate``, ``se``, ``df`` (Satterthwaite),
        ``t_ratio``, ``p_value``.
    fe_cov : pandas.DataFrame
        Covariance of the fixed effects (R ``vcov(fit)``).
    covariance : pandas.DataFrame
        Estimated unstructured covariance between visits (R ``getVarCov``).
    loglik : float
        REML log-likelihood (R ``logLik(fit)``).
    n_subjects, n, n_dropped : int
        Subjects and results fitted; results dropped for a missing value.
    formula : str
        The mean model, R style.
    covariate_means : dict
        Values of the numeric covariates in the LS means (their means over the
        results fitted).
    weights, adjust : str
        LS-mean weights over factor covariates; adjustment of the differences.
    ci_level : float
        Confidence level.
    iterations : int
        Newton-Raphson iterations of the REML fit.
    converged : bool
        Whether the fit converged (its Newton decrement fell below 1e-16).
    note : str
        Anything the numbers need said (non-convergence, no Satterthwaite df).
    """

    lsmeans: pd.DataFrame
    differences: pd.DataFrame
    coefficients: pd.DataFrame
    fe_cov: pd.DataFrame
    covariance: pd.DataFrame
    loglik: float
    n_subjects: int
    n: int
    n_dropped: int
    formula: str
    covariate_means: dict[str, float]
    weights: str
    adjust: str
    ci_level: float
    iterations: int
    converged: bool
    note: str = ""

    @property
    def correlation(self) -> pd.DataFrame:
        """Correlation between visits implied by :attr:`covariance`."""
        sd = np.sqrt(np.diag(self.covariance.to_numpy()))
        corr = self.covariance.to_numpy() / np.outer(sd, sd)
        return pd.DataFrame(
            corr, index=self.covariance.index, columns=self.covariance.columns
        )

    def describe(self) -> str:
        """Return the conventions as one footnote sentence.

        Returns
        -------
        str
            Model, covariance, estimation, LS means, df and adjustment.
        """
        at = ", ".join(f"{k} = {v:.4g}" for k, v in self.covariate_means.items())
        n_groups = self.lsmeans.iloc[:, 1].nunique()
        adjust = (
            f"Tukey adjustment for {n_groups} means per visit"
            if self.adjust == "tukey" and n_groups > 2
            else "Tukey adjustment (none needed for 2 means)"
            if self.adjust == "tukey"
            else f"{self.adjust} adjustment per visit"
        )
        text = (
            f"MMRM {self.formula}, unstructured covariance over visits, REML "
            f"({self.n_subjects} subjects, {self.n} results, {self.n_dropped} "
            f"dropped). LS means (emmeans) at {at or 'no numeric covariate'}, "
            f"{self.weights} weights over factor covariates; "
            f"{self.ci_level:.0%} t intervals with Satterthwaite df; "
            f"differences between groups at each visit with {adjust}."
        )
        return f"{text} {self.note}".strip()

    def summary(self) -> pd.DataFrame:
        """Return LS means and differences in one display frame.

        Returns
        -------
        pandas.DataFrame
            Visit, ``kind``, ``label``, then the statistics.
        """
        visit = self.lsmeans.columns[0]
        group = self.lsmeans.columns[1]
        means = self.lsmeans.rename(columns={group: "label"}).assign(kind="LS mean")
        diffs = (
            self.differences.drop(columns=["group_1", "group_2"])
            .rename(columns={"contrast": "label"})
            .assign(kind="difference")
        )
        cols = [visit, "kind", "label", "estimate", "se", "df", "lower", "upper"]
        cols += ["t_ratio", "p_value", "n"]
        both = pd.concat([means, diffs], ignore_index=True).reindex(columns=cols)
        order = {v: i for i, v in enumerate(pd.unique(self.lsmeans[visit]))}
        both["_v"] = both[visit].map(order)
        both = both.sort_values(["_v"], kind="stable").drop(columns="_v")
        return both.reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """Return the long, unrounded frame.

        Returns
        -------
        pandas.DataFrame
            ``kind`` (``lsmean``, ``difference``, ``coefficient``, ``covariance``,
            ``model``), ``visit`` (None when not by visit), ``label``, ``stat``,
            ``value``.
        """
        visit = self.lsmeans.columns[0]
        group = self.lsmeans.columns[1]
        parts = [
            self.lsmeans.rename(columns={group: "label", visit: "visit"}).assign(
                kind="lsmean"
            ),
            self.differences.drop(columns=["group_1", "group_2"])
            .rename(columns={"contrast": "label", visit: "visit"})
            .assign(kind="difference"),
            self.coefficients.rename(columns={"term": "label"}).assign(
                kind="coefficient", visit=None
            ),
        ]
        cov = self.covariance.copy()
        cov.index.name = "visit"
        cov_long = cov.reset_index().melt(
            id_vars="visit", var_name="label", value_name="covariance"
        )
        parts.append(cov_long.assign(kind="covariance"))
        parts.append(
            pd.DataFrame(
                {
                    "label": ["model"],
                    "visit": [None],
                    "loglik_reml": [self.loglik],
                    "n_subjects": [float(self.n_subjects)],
                    "n": [float(self.n)],
                    "n_dropped": [float(self.n_dropped)],
                    "iterations": [float(self.iterations)],
                }
            ).assign(kind="model")
        )
        long = [
            p.astype({"label": object, "visit": object}).melt(
                id_vars=["kind", "visit", "label"], var_name="stat", value_name="value"
            )
            for p in parts
        ]
        out = pd.concat(long, ignore_index=True)
        out = out.loc[out["value"].notna()].reset_index(drop=True)
        out["value"] = out["value"].astype(float)
        return out[["kind", "visit", "label", "stat", "value"]]


def _visit_levels(
    frame: pd.DataFrame, visit: str, visit_order: Sequence[object] | None
) -> tuple[object, ...]:
    categorical = isinstance(frame[visit].dtype, pd.CategoricalDtype)
    if visit_order is None and not categorical and "study_day" in frame:
        med = frame.groupby(visit, observed=True)["study_day"].median()
        visit_order = list(med.sort_values(kind="stable").index)
    return factor_levels(frame[visit], visit_order)


def _patterns(
    frame: pd.DataFrame,
    x: np.ndarray,
    y: np.ndarray,
    subject: str,
    visit_index: np.ndarray,
) -> list[Pattern]:
    """Group subjects by their observed visits (rows sorted by subject, visit)."""
    subjects = frame[subject].to_numpy()
    starts = np.flatnonzero(np.r_[True, subjects[1:] != subjects[:-1]])
    ends = np.r_[starts[1:], len(subjects)]
    by_pattern: dict[tuple[int, ...], list[tuple[int, int]]] = {}
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        by_pattern.setdefault(tuple(visit_index[s:e].tolist()), []).append((s, e))
    out = []
    for key in sorted(by_pattern):
        spans = by_pattern[key]
        rows = np.concatenate([np.arange(s, e) for s, e in spans])
        m = len(key)
        out.append(
            Pattern(
                visits=np.asarray(key, dtype=np.int64),
                x=x[rows].reshape(len(spans), m, x.shape[1]),
                y=y[rows].reshape(len(spans), m),
            )
        )
    return out


def estimate_mmrm(
    data: pd.DataFrame,
    *,
    response: str = "change",
    baseline: str | None = "baseline_value",
    group: str = "group",
    visit: str = "visit",
    subject: str = "subject_id",
    covariates: Sequence[str] = (),
    visit_order: Sequence[object] | None = None,
    group_order: Sequence[object] | None = None,
    weights: Weights = "equal",
    adjust: Adjust = "tukey",
    reverse: bool = False,
    ci_level: float = 0.95,
) -> MmrmResult:
    """Fit an MMRM with unstructured covariance by REML; LS means per visit.

    The mean model is ``response ~ baseline * visit + group * visit +
    covariates`` (treatment coding, first levels the references; without
    ``baseline``, ``response ~ group * visit + covariates``). The covariance of a
    subject's results is unstructured over visits. The REML fit is Newton-Raphson
    on the closed-form gradient and observed information (:mod:`._reml`); the
    fixed effects are the GLS estimates at the REML covariance.

    LS means as ``emmeans(fit, ~ group | visit)``: numeric covariates (the
    baseline among them) at their mean over the results fitted, factor covariates
    averaged with ``weights``. Each LS mean, difference and coefficient has
    Satterthwaite degrees of freedom (``mode = "satterthwaite"``), computed from
    the derivative of its variance with respect to the covariance parameters and
    the inverse observed information of those. Differences are ``pairs()`` at each
    visit: every pair ``group_i - group_j`` (i before j), adjusted by ``adjust``
    within the visit (Tukey, emmeans' default, is no adjustment for two groups).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject and post-baseline visit. Rows with a missing
        response, baseline, group, visit or covariate are dropped and counted.
    response : str, default "change"
        Response column (change from baseline).
    baseline : str or None, default "baseline_value"
        Baseline column (numeric, interacting with visit); None for none.
    group : str, default "group"
        Treatment group column.
    visit : str, default "visit"
        Visit column; each subject has at most one row per visit.
    subject : str, default "subject_id"
        Subject column.
    covariates : sequence of str, default ()
        Further covariates (main effects): numeric columns linearly, others as
        factors.
    visit_order : sequence, optional
        Order of visits (the first is the reference level of ``visit``); default
        the categorical order, else the order of median ``study_day`` when present,
        else sorted. The unstructured fit does not depend on it.
    group_order : sequence, optional
        Order of groups (first the reference; pairs follow it).
    weights : {"equal", "proportional"}, default "equal"
        Weights of factor covariates' levels in the LS means (emmeans' default).
    adjust : {"tukey", "none", "bonferroni", "sidak"}, default "tukey"
        Adjustment of the differences within each visit (emmeans ``pairs()``
        default).
    reverse : bool, default False
        Report ``group_j - group_i`` (``pairs(reverse = TRUE)``).
    ci_level : float, default 0.95
        Confidence level.

    Returns
    -------
    MmrmResult
        LS means, differences, coefficients, covariance, and the conventions
        (:meth:`MmrmResult.describe`).
    """
    if isinstance(covariates, str):
        covariates = [covariates]
    numeric, factors = split_covariates(data, covariates)
    first = [baseline] if baseline is not None else []
    needed = [subject, response, visit, group, *first, *covariates]
    keep = data[needed].notna().all(axis=1)
    extra = ["study_day"] if "study_day" in data and "study_day" not in needed else []
    frame = data.loc[keep, needed + extra].reset_index(drop=True)
    if frame.empty:
        raise ValueError("no complete rows to fit")
    visits = _visit_levels(frame, visit, visit_order)
    groups = factor_levels(frame[group], group_order)
    if len(groups) < 2:
        raise ValueError(f"{group!r} needs at least two groups, got {list(groups)}")
    variables = {
        **{b: Variable(b) for b in first},
        visit: Variable(visit, visits),
        group: Variable(group, groups),
        **{c: Variable(c) for c in numeric},
        **{c: Variable(c, factor_levels(frame[c])) for c in factors},
    }
    terms: list[tuple[str, ...]] = [(v,) for v in (*first, visit, group, *covariates)]
    terms += [(b, visit) for b in first] + [(visit, group)]
    vindex = {v: i for i, v in enumerate(visits)}
    frame["_visit_index"] = frame[visit].map(vindex).astype(np.int64)
    frame["_subject_key"] = frame[subject].astype(str)
    dup = frame.duplicated(["_subject_key", "_visit_index"], keep=False)
    if dup.any():
        shown = frame.loc[dup, [subject, visit]].drop_duplicates().head(5)
        raise ValueError(
            "more than one result per subject and visit: "
            + "; ".join(f"{r[subject]} at {r[visit]}" for _, r in shown.iterrows())
        )
    # sorted by subject and visit: the result does not depend on the row order
    frame = frame.sort_values(["_subject_key", "_visit_index"], kind="stable")
    frame = frame.reset_index(drop=True)
    x, names = model_matrix(frame, terms, variables)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        cells = frame.groupby([group, visit], observed=True).size()
        missing = [
            f"{g} at {v}" for g in groups for v in visits if (g, v) not in cells.index
        ]
        raise ValueError(
            "the MMRM model matrix is rank deficient"
            + (f": no result for {', '.join(missing)}" if missing else "")
            + f" (columns {names})"
        )
    y = frame[response].to_numpy(dtype=float)
    patterns = _patterns(frame, x, y, "_subject_key", frame["_visit_index"].to_numpy())
    fit = fit_reml(patterns, len(visits))
    notes = []
    if not fit.converged:
        notes.append(
            f"The REML fit did not converge in {fit.iterations} Newton iterations; "
            "the numbers are those of the last iterate."
        )
    if fit.theta_cov is None:
        notes.append(
            "The observed information of the covariance parameters is not positive "
            "definite (an estimate on the boundary): no Satterthwaite df (NaN)."
        )
    beta, cov = fit.beta, fit.cov_beta
    grid, lin, means = reference_grid(
        frame, terms, variables, [group, visit], weights=weights
    )
    est = lin @ beta
    se = np.sqrt(np.einsum("ip,pq,iq->i", lin, cov, lin))
    dfs = satterthwaite_df(fit, lin)
    inf = inference(est, se, dfs, ci_level=ci_level)
    counts = frame.groupby([visit, group], observed=True).size()
    lsmeans = pd.DataFrame(
        {
            visit: grid[visit].to_numpy(),
            group: grid[group].to_numpy(),
            "estimate": est,
            "se": se,
            "df": dfs,
            "lower": inf["lower"],
            "upper": inf["upper"],
            "t_ratio": inf["t_ratio"],
            "p_value": inf["p_value"],
            "n": [
                float(counts.get((v, g), 0))
                for v, g in zip(grid[visit], grid[group], strict=True)
            ],
        }
    )
    pairs = pairwise(len(groups), reverse=reverse)
    n_groups = len(groups)
    diff_rows = []
    diff_lin = []
    for vi, v in enumerate(visits):
        for i, j in pairs:
            diff_lin.append(lin[vi * n_groups + i] - lin[vi * n_groups + j])
            diff_rows.append((v, f"{groups[i]} - {groups[j]}", groups[i], groups[j]))
    dl = np.array(diff_lin)
    d_est = dl @ beta
    d_se = np.sqrt(np.einsum("ip,pq,iq->i", dl, cov, dl))
    d_df = satterthwaite_df(fit, dl)
    d_inf = inference(
        d_est,
        d_se,
        d_df,
        ci_level=ci_level,
        adjust=adjust,
        n_means=n_groups,
        n_contrasts=len(pairs),
    )
    differences = pd.DataFrame(
        diff_rows, columns=[visit, "contrast", "group_1", "group_2"]
    ).assign(
        estimate=d_est,
        se=d_se,
        df=d_df,
        lower=d_inf["lower"],
        upper=d_inf["upper"],
        t_ratio=d_inf["t_ratio"],
        p_value=d_inf["p_value"],
    )
    se_b = np.sqrt(np.diag(cov))
    df_b = satterthwaite_df(fit, np.eye(len(beta)))
    coefficients = pd.DataFrame(
        {
            "term": names,
            "estimate": beta,
            "se": se_b,
            "df": df_b,
            "t_ratio": beta / se_b,
            "p_value": 2 * stats.t.sf(np.abs(beta / se_b), df_b),
        }
    )
    labels = [str(v) for v in visits]
    formula = f"{response} ~ " + " + ".join(":".join(t) for t in terms)
    prov = make_provenance(
        "estimate_mmrm",
        inputs={"data": data},
        response=response,
        baseline=baseline,
        group=group,
        visit=visit,
        subject=subject,
        covariates=list(covariates),
        visit_order=labels,
        group_order=[str(g) for g in groups],
        weights=weights,
        adjust=adjust,
        reverse=reverse,
        ci_level=ci_level,
        formula=formula,
        covariance_structure="unstructured",
        estimation="REML (Newton-Raphson, closed-form gradient and information)",
        df_method="Satterthwaite (emmeans mode = 'satterthwaite' for nlme::gls)",
    )
    return MmrmResult(
        provenance=prov,
        lsmeans=lsmeans,
        differences=differences,
        coefficients=coefficients,
        fe_cov=pd.DataFrame(cov, index=names, columns=names),
        covariance=pd.DataFrame(fit.sigma, index=labels, columns=labels),
        loglik=fit.loglik,
        n_subjects=int(frame["_subject_key"].nunique()),
        n=len(frame),
        n_dropped=int((~keep).sum()),
        formula=formula,
        covariate_means=means,
        weights=weights,
        adjust=adjust,
        ci_level=ci_level,
        iterations=fit.iterations,
        converged=fit.converged,
        note=" ".join(notes),
    )
