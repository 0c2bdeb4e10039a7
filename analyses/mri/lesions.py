"""New lesion counts per subject and annualised lesion rates per group."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyses._results import AnalysisResult, make_provenance
from analyses.mri.scans import BaselineScanRule, derive_scan_flags

__all__ = ["LesionCountResult", "summarize_new_lesions"]

COUNTS: dict[str, str] = {"new_gd": "gd_lesions", "new_t2": "new_enlarging_t2_lesions"}


@dataclass(frozen=True, kw_only=True)
class LesionCountResult(AnalysisResult):
    """Per-subject new-lesion counts and annualised rates per group.

    Attributes
    ----------
    subjects : pandas.DataFrame
        One row per subject: group column, ``n_follow_up_scans``,
        ``follow_up_days``, ``follow_up_years``, ``new_gd``, ``new_t2``,
        ``new_combined`` (= ``new_gd + new_t2``, not de-duplicated) and ``active``
        (any new lesion). This is the input of
        :func:`~analyses.mri.estimate_lesion_rate_ratio`.
    table : pandas.DataFrame
        Long frame: group column, ``lesion`` (``new_gd``, ``new_t2``,
        ``new_combined``), ``stat`` (``n_subjects``, ``total``, ``follow_up_years``,
        ``annualised_rate``, ``mean_per_subject``, ``n_active``) and ``value``.
    """

    subjects: pd.DataFrame
    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Return the long, unrounded frame.

        Returns
        -------
        pandas.DataFrame
            Group column, ``lesion``, ``stat``, ``value``.
        """
        return self.table.copy()


def summarize_new_lesions(
    data: pd.DataFrame,
    by: str = "route",
    *,
    baseline: BaselineScanRule = "first_scan",
    administrations: pd.DataFrame | None = None,
    days_per_year: float = 365.25,
) -> LesionCountResult:
    """Count new Gd+ and new/enlarging T2 lesions over follow-up and annualise them.

    Counting rule: the baseline scan (see :func:`~analyses.mri.derive_scan_flags`)
    and any earlier scan are excluded. The Gd-enhancing lesion counts of every
    follow-up scan are summed as new Gd+ lesions (enhancement lasts weeks, so a lesion
    enhancing on two consecutive scans counts twice), and the new/enlarging T2 counts
    of every follow-up scan (each relative to the previous scan) are summed. Missing
    counts on a follow-up scan add nothing. Follow-up is the time from the baseline
    scan to the last scan. The annualised rate of a group is its total count divided
    by its total follow-up years (``days / days_per_year``); subjects without a
    follow-up scan contribute neither.

    Parameters
    ----------
    data : pandas.DataFrame
        MRI readouts with the group column joined.
    by : str, default "route"
        Group column (e.g. ``"dose_level"``).
    baseline : {"first_scan", "last_on_or_before_first_dose"}, default "first_scan"
        Baseline scan rule.
    administrations : pandas.DataFrame, optional
        Needed for ``baseline="last_on_or_before_first_dose"``.
    days_per_year : float, default 365.25
        Days in a year for annualisation.

    Returns
    -------
    LesionCountResult
        Per-subject counts and per-group totals and rates.
    """
    scans = derive_scan_flags(data, baseline=baseline, administrations=administrations)
    date = pd.to_datetime(scans["scan_date"])
    base_date = (
        date.where(scans["is_baseline"]).groupby(scans["subject_id"]).transform("max")
    )
    fu = scans.loc[scans["follow_up"]]
    g_all = scans.groupby("subject_id", sort=True)
    g_fu = fu.groupby("subject_id", sort=True)
    subjects = pd.DataFrame({by: g_all[by].first()})
    subjects["n_follow_up_scans"] = (
        g_fu.size().reindex(subjects.index, fill_value=0).astype(float)
    )
    last = date.groupby(scans["subject_id"]).max()
    first_base = base_date.groupby(scans["subject_id"]).max()
    subjects["follow_up_days"] = (last - first_base).dt.days.astype(float).clip(lower=0)
    subjects["follow_up_years"] = subjects["follow_up_days"] / days_per_year
    for name, column in COUNTS.items():
        total = fu[column].astype("Float64").groupby(fu["subject_id"]).sum(min_count=1)
        subjects[name] = total.reindex(subjects.index).astype(float)
    subjects.loc[subjects["n_follow_up_scans"] == 0, list(COUNTS)] = np.nan
    subjects["new_combined"] = subjects["new_gd"].fillna(0) + subjects["new_t2"].fillna(
        0
    )
    subjects.loc[subjects[list(COUNTS)].isna().all(axis=1), "new_combined"] = np.nan
    subjects["active"] = (subjects["new_combined"] > 0).where(
        subjects["new_combined"].notna()
    )
    subjects.index.name = "subject_id"
    subjects = subjects.reset_index()
    evaluable = subjects.loc[subjects["follow_up_years"] > 0]
    rows = []
    for lesion in ("new_gd", "new_t2", "new_combined"):
        part = evaluable.loc[evaluable[lesion].notna()]
        grp = part.groupby(by, sort=True)
        stats_frame = pd.DataFrame(
            {
                "n_subjects": grp.size().astype(float),
                "total": grp[lesion].sum(),
                "follow_up_years": grp["follow_up_years"].sum(),
            }
        )
        stats_frame["annualised_rate"] = (
            stats_frame["total"] / stats_frame["follow_up_years"]
        )
        stats_frame["mean_per_subject"] = grp[lesion].mean()
        stats_frame["n_active"] = grp[lesion].apply(lambda s: float((s > 0).sum()))
        long = stats_frame.reset_index().melt(id_vars=[by], var_name="stat")
        long.insert(1, "lesion", lesion)
        rows.append(long)
    table = pd.concat(rows, ignore_index=True)
    table["value"] = table["value"].astype(float)
    table = table.sort_values([by, "lesion"], kind="stable").reset_index(drop=True)
    prov = make_provenance(
        "summarize_new_lesions",
        inputs={"data": data},
        by=by,
        baseline=baseline,
        days_per_year=days_per_year,
        counting_rule="baseline scan excluded; follow-up scan counts summed",
    )
    return LesionCountResult(provenance=prov, subjects=subjects, table=table)
