"""MRD-negativity rate by group with exact Clopper-Pearson intervals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from analyses._results import AnalysisResult, make_provenance
from analyses.immunomonitoring.groups import derive_first_dose
from analyses.proportions import compute_clopper_pearson

__all__ = ["MrdResult", "compute_clopper_pearson", "summarize_mrd_negativity"]


@dataclass(frozen=True, kw_only=True)
class MrdResult(AnalysisResult):
    """MRD-negativity rate per group.

    Attributes
    ----------
    subjects : pandas.DataFrame
        One row per evaluable subject: ``subject_id``, group, ``baseline_mrd_pct``,
        ``mrd_negative`` (bool).
    table : pandas.DataFrame
        Long frame: group column, ``stat`` (``n``, ``n_negative``, ``rate``,
        ``lower``, ``upper``) and ``value``.
    """

    subjects: pd.DataFrame
    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Return the long, unrounded frame.

        Returns
        -------
        pandas.DataFrame
            Group column, ``stat``, ``value``.
        """
        return self.table.copy()


def summarize_mrd_negativity(
    data: pd.DataFrame,
    by: str = "dose_level",
    *,
    administrations: pd.DataFrame,
    threshold_pct: float = 0.1,
    rule: Literal["any", "last"] = "any",
    population: Literal["evaluable", "mrd_positive_at_baseline"] = "evaluable",
    ci_level: float = 0.95,
) -> MrdResult:
    """Rate of MRD-negative subjects per group, with exact binomial intervals.

    A post-dose assessment is MRD-negative when ``mrd_pct < threshold_pct``.

    Parameters
    ----------
    data : pandas.DataFrame
        Disease assessments (``subject_id``, ``assessment_date``, ``mrd_pct``) with
        the group column joined.
    by : str, default "dose_level"
        Group column.
    administrations : pandas.DataFrame
        Administrations; assessments after the first dose date are post-dose, the
        last one on or before it is the baseline.
    threshold_pct : float, default 0.1
        MRD negativity threshold in % (Dolstra 2017: < 0.1%).
    rule : {"any", "last"}, default "any"
        A subject is MRD-negative when any post-dose assessment is negative (best
        response) or when the last one is.
    population : {"evaluable", "mrd_positive_at_baseline"}, default "evaluable"
        Denominator: every subject with at least one post-dose MRD result, or only
        those among them who were MRD-positive (>= threshold) at baseline (the
        "2 of 4 patients with MRD became MRD-negative" denominator).
    ci_level : float, default 0.95
        Confidence level of the Clopper-Pearson interval.

    Returns
    -------
    MrdResult
        Counts, rate and exact interval per group.
    """
    first = derive_first_dose(administrations)
    rows = data.loc[
        data["mrd_pct"].notna(), ["subject_id", by, "assessment_date", "mrd_pct"]
    ]
    rows = rows.assign(first_dose_date=rows["subject_id"].map(first))
    rows = rows.sort_values(["subject_id", "assessment_date"], kind="stable")
    post = rows.loc[rows["assessment_date"] > rows["first_dose_date"]]
    pre = rows.loc[rows["assessment_date"] <= rows["first_dose_date"]]
    negative = post["mrd_pct"] < threshold_pct
    g = negative.groupby(post["subject_id"])
    status = g.any() if rule == "any" else g.last()
    subjects = pd.DataFrame(
        {
            by: post.groupby("subject_id")[by].first(),
            "baseline_mrd_pct": pre.groupby("subject_id")["mrd_pct"].last(),
            "mrd_negative": status.astype(bool),
        }
    ).dropna(subset=["mrd_negative"])
    subjects = subjects.loc[subjects.index.isin(status.index)]
    if population == "mrd_positive_at_baseline":
        subjects = subjects.loc[subjects["baseline_mrd_pct"] >= threshold_pct]
    subjects.index.name = "subject_id"
    subjects = subjects.reset_index()
    grp = subjects.groupby(by, sort=True)["mrd_negative"]
    counts = pd.DataFrame(
        {"n": grp.size().astype(float), "n_negative": grp.sum().astype(float)}
    )
    counts["rate"] = counts["n_negative"] / counts["n"]
    counts["lower"], counts["upper"] = compute_clopper_pearson(
        counts["n_negative"], counts["n"], ci_level=ci_level
    )
    table = counts.reset_index().melt(id_vars=[by], var_name="stat")
    order = {s: i for i, s in enumerate(counts.columns)}
    table["_g"] = table[by].map({k: i for i, k in enumerate(counts.index)})
    table["_s"] = table["stat"].map(order)
    table = (
        table.sort_values(["_g", "_s"])
        .drop(columns=["_g", "_s"])
        .reset_index(drop=True)
    )
    prov = make_provenance(
        "summarize_mrd_negativity",
        inputs={"data": data, "administrations": administrations},
        by=by,
        threshold_pct=threshold_pct,
        rule=rule,
        population=population,
        ci_level=ci_level,
        ci_method="Clopper-Pearson exact",
    )
    return MrdResult(provenance=prov, subjects=subjects, table=table)
