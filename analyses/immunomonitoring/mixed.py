"""Linear mixed model of immunomonitoring results: visit x group, random intercept."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from analyses._results import AnalysisResult, make_provenance
from analyses.immunomonitoring.groups import derivation_rules

__all__ = ["MixedModelResult", "estimate_mixed_model"]


@dataclass(frozen=True, kw_only=True)
class MixedModelResult(AnalysisResult):
    """Estimated marginal means of a visit x group mixed model.

    Attributes
    ----------
    table : pandas.DataFrame
        Long frame with columns ``contrast`` (``"emm"`` for a cell mean or
        ``"<group> - <reference>"`` for a difference), the group column, ``visit``,
        ``stat`` and ``value``. Stats: ``estimate``, ``se``, ``lower``, ``upper``,
        ``p_value`` (differences only) and ``n`` (cells only).
    fe_params : pandas.Series
        Fixed-effect estimates (treatment coding, first level as reference).
    fe_cov : pandas.DataFrame
        Covariance matrix of the fixed effects.
    subject_variance : float
        Random-intercept variance.
    residual_variance : float
        Residual variance.
    converged : bool
        Whether the optimiser converged.
    """

    table: pd.DataFrame
    fe_params: pd.Series
    fe_cov: pd.DataFrame
    subject_variance: float
    residual_variance: float
    converged: bool

    def to_frame(self) -> pd.DataFrame:
        """Return the long, unrounded frame.

        Returns
        -------
        pandas.DataFrame
            ``contrast``, group column, ``visit``, ``stat``, ``value``.
        """
        return self.table.copy()


def _design(
    visit: pd.Series, group: pd.Series, visits: list[object], groups: list[object]
) -> tuple[npt.NDArray[np.float64], list[str]]:
    """Treatment-coded design of ``visit * group`` (first levels are reference)."""
    v = np.asarray(visit.to_numpy(), dtype=object)
    g = np.asarray(group.to_numpy(), dtype=object)
    cols = [np.ones(len(v))]
    names = ["Intercept"]
    for lv in visits[1:]:
        cols.append((v == lv).astype(float))
        names.append(f"visit[{lv}]")
    for lg in groups[1:]:
        cols.append((g == lg).astype(float))
        names.append(f"group[{lg}]")
    for lv in visits[1:]:
        for lg in groups[1:]:
            cols.append(((v == lv) & (g == lg)).astype(float))
            names.append(f"visit[{lv}]:group[{lg}]")
    return np.column_stack(cols), names


def estimate_mixed_model(
    data: pd.DataFrame,
    by: str = "dose_level",
    *,
    response: str = "log_value",
    visit: str = "visit",
    visit_order: list[object] | None = None,
    reml: bool = True,
    ci_level: float = 0.95,
) -> MixedModelResult:
    """Fit ``response ~ visit * group`` with a random intercept per subject.

    The model is :class:`statsmodels.regression.mixed_linear_model.MixedLM` with
    treatment coding (first visit and first group are the references). The estimated
    marginal mean of each group x visit cell is ``L @ beta`` with ``L`` the design row
    of that cell, its standard error ``sqrt(L @ V @ L')`` with ``V`` the fixed-effect
    covariance, and its interval the Wald (normal) interval statsmodels itself
    reports. Differences between each group and the reference group at every visit
    use ``L_group - L_reference``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per result: ``subject_id``, ``visit``, the group column and the
        response (rows with a missing response are dropped).
    by : str, default "dose_level"
        Group column (e.g. ``"route"``); its first sorted level is the reference.
    response : str, default "log_value"
        Response column; ``log_value`` (natural log) analyses on the log scale, and the
        exponentiated estimates are reported as ``exp_*`` statistics.
    visit : str, default "visit"
        Visit column.
    visit_order : list, optional
        Order of visits (the first is the reference); default the order of their
        median ``study_day`` when present, else sorted.
    reml : bool, default True
        Restricted maximum likelihood (True) or maximum likelihood.
    ci_level : float, default 0.95
        Confidence level of the Wald intervals.

    Returns
    -------
    MixedModelResult
        Cell means and group differences per visit.
    """
    frame = data.loc[data[response].notna() & data[visit].notna() & data[by].notna()]
    frame = frame.reset_index(drop=True)
    if visit_order is None:
        if "study_day" in frame:
            visit_order = list(
                frame.groupby(visit)["study_day"].median().sort_values().index
            )
        else:
            visit_order = sorted(frame[visit].unique())
    visits = [v for v in visit_order if v in set(frame[visit])]
    groups = sorted(frame[by].unique())
    x, names = _design(frame[visit], frame[by], visits, groups)
    present = np.asarray(x.any(axis=0), dtype=bool)
    names = [n for n, p in zip(names, present.tolist(), strict=True) if p]
    x = x[:, present]
    # statsmodels takes a quarter of a second to import: only when a model is fitted
    from statsmodels.regression.mixed_linear_model import MixedLM

    model = MixedLM(
        frame[response].to_numpy(dtype=float),
        x,
        groups=frame["subject_id"].to_numpy(),
        exog_re=np.ones((len(frame), 1)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(reml=reml)
    k = x.shape[1]
    beta = np.asarray(fit.fe_params, dtype=float)
    cov = np.asarray(fit.cov_params(), dtype=float)[:k, :k]
    zcrit = float(stats.norm.ppf(0.5 + ci_level / 2))
    cells: dict[tuple[object, object], int] = {
        (k[0], k[1]): int(n)
        for k, n in zip(
            frame.groupby([by, visit]).size().index.tolist(),
            frame.groupby([by, visit]).size().tolist(),
            strict=True,
        )
    }
    rows: list[dict[str, object]] = []

    def contrast_row(lvec: npt.NDArray[np.float64]) -> dict[str, float]:
        est = float(lvec @ beta)
        se = float(np.sqrt(lvec @ cov @ lvec))
        return {
            "estimate": est,
            "se": se,
            "lower": est - zcrit * se,
            "upper": est + zcrit * se,
        }

    for lv in visits:
        lrows = {}
        for lg in groups:
            xl, _ = _design(pd.Series([lv]), pd.Series([lg]), visits, groups)
            lrows[lg] = xl[0, present]
            if (lg, lv) not in cells:
                continue
            out = contrast_row(lrows[lg])
            out["n"] = float(cells[(lg, lv)])
            rows.extend(
                {"contrast": "emm", by: lg, visit: lv, "stat": s, "value": val}
                for s, val in out.items()
            )
        for lg in groups[1:]:
            if (lg, lv) not in cells or (groups[0], lv) not in cells:
                continue
            out = contrast_row(lrows[lg] - lrows[groups[0]])
            out["p_value"] = float(2 * stats.norm.sf(abs(out["estimate"] / out["se"])))
            rows.extend(
                {
                    "contrast": f"{lg} - {groups[0]}",
                    by: lg,
                    visit: lv,
                    "stat": s,
                    "value": val,
                }
                for s, val in out.items()
            )
    table = pd.DataFrame(rows, columns=["contrast", by, visit, "stat", "value"])
    if response.startswith("log"):
        exp_rows = table.loc[table["stat"].isin(["estimate", "lower", "upper"])].copy()
        exp_rows["value"] = np.exp(exp_rows["value"])
        exp_rows["stat"] = "exp_" + exp_rows["stat"]
        table = pd.concat([table, exp_rows], ignore_index=True)
        table["_c"] = table.groupby(["contrast", by, visit], sort=False).ngroup()
        table = table.sort_values("_c", kind="stable").drop(columns="_c")
        table = table.reset_index(drop=True)
    prov = make_provenance(
        "estimate_mixed_model",
        inputs={"data": data},
        by=by,
        response=response,
        visit=visit,
        visit_order=[str(v) for v in visits],
        reml=reml,
        ci_level=ci_level,
        ci_method="Wald (normal)",
        random_effects="intercept per subject",
        upstream=derivation_rules(data),
    )
    return MixedModelResult(
        provenance=prov,
        table=table,
        fe_params=pd.Series(beta, index=names),
        fe_cov=pd.DataFrame(cov, index=names, columns=names),
        subject_variance=float(np.asarray(fit.cov_re)[0, 0]),
        residual_variance=float(fit.scale),
        converged=bool(fit.converged),
    )
