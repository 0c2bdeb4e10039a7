"""Brain-volume change (PBVC) per interval, annualised, summarised per group."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analyses._results import AnalysisResult, make_provenance
from analyses.mri.scans import derive_scan_flags

__all__ = ["PbvcResult", "summarize_pbvc"]


@dataclass(frozen=True, kw_only=True)
class PbvcResult(AnalysisResult):
    """PBVC per interval and per subject, summarised per group.

    Attributes
    ----------
    intervals : pandas.DataFrame
        One row per scan with a PBVC: ``subject_id``, group, ``scan_date``,
        ``days_since_previous``, ``pbvc_pct``, ``annualised_pbvc_pct``,
        ``longitudinal_flag`` and ``included``.
    subjects : pandas.DataFrame
        One row per subject with included intervals: ``total_pbvc_pct`` (sum of
        interval PBVCs), ``years`` and ``annualised_pbvc_pct`` (total / years).
    table : pandas.DataFrame
        Long frame: group column, ``stat`` (``n_subjects``, ``n_intervals``,
        ``n_excluded``, ``mean``, ``sd``, ``median``, ``min``, ``max`` of the
        per-subject annualised PBVC) and ``value``.
    """

    intervals: pd.DataFrame
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


def summarize_pbvc(
    data: pd.DataFrame,
    by: str = "route",
    *,
    exclude_flagged: bool = True,
    days_per_year: float = 365.25,
) -> PbvcResult:
    """Summarise percentage brain volume change, annualised, per group.

    Each PBVC is the change since the subject's previous scan; it is annualised as
    ``pbvc / (days_since_previous / days_per_year)``. A subject's annualised PBVC is
    the sum of its included interval PBVCs divided by the sum of their years.
    Intervals whose scan changed scanner or protocol from the previous scan, or that
    mix cross-sectional and longitudinal pipelines (:func:`derive_scan_flags`), are
    excluded when ``exclude_flagged`` is true.

    Parameters
    ----------
    data : pandas.DataFrame
        MRI readouts with the group column joined.
    by : str, default "route"
        Group column.
    exclude_flagged : bool, default True
        Drop flagged intervals from the summaries (they stay listed in
        ``intervals`` with ``included`` false).
    days_per_year : float, default 365.25
        Days in a year.

    Returns
    -------
    PbvcResult
        Interval, subject and group PBVC.
    """
    scans = derive_scan_flags(data)
    iv = scans.loc[
        scans["pbvc_pct"].notna() & (scans["days_since_previous"] > 0)
    ].copy()
    iv["years"] = iv["days_since_previous"] / days_per_year
    iv["annualised_pbvc_pct"] = iv["pbvc_pct"] / iv["years"]
    iv["included"] = ~iv["longitudinal_flag"] if exclude_flagged else True
    inc = iv.loc[iv["included"]]
    g = inc.groupby("subject_id", sort=True)
    subjects = pd.DataFrame(
        {
            by: g[by].first(),
            "n_intervals": g.size().astype(float),
            "total_pbvc_pct": g["pbvc_pct"].sum(),
            "years": g["years"].sum(),
        }
    )
    subjects["annualised_pbvc_pct"] = subjects["total_pbvc_pct"] / subjects["years"]
    subjects.index.name = "subject_id"
    subjects = subjects.reset_index()
    grp = subjects.groupby(by, sort=True)
    x = grp["annualised_pbvc_pct"]
    summary = pd.DataFrame(
        {
            "n_subjects": grp.size().astype(float),
            "n_intervals": grp["n_intervals"].sum(),
            "mean": x.mean(),
            "sd": x.std(ddof=1),
            "median": x.median(),
            "min": x.min(),
            "max": x.max(),
        }
    )
    excluded = (~iv["included"]).groupby(iv[by]).sum().astype(float)
    summary.insert(2, "n_excluded", excluded.reindex(summary.index).fillna(0.0))
    table = summary.reset_index().melt(id_vars=[by], var_name="stat")
    table["value"] = table["value"].astype(float)
    table = table.sort_values(by, kind="stable").reset_index(drop=True)
    cols = [
        "subject_id",
        by,
        "scan_date",
        "days_since_previous",
        "pbvc_pct",
        "annualised_pbvc_pct",
        "scanner_changed",
        "protocol_changed",
        "pipeline_mixed",
        "longitudinal_flag",
        "included",
    ]
    prov = make_provenance(
        "summarize_pbvc",
        inputs={"data": data},
        by=by,
        exclude_flagged=exclude_flagged,
        days_per_year=days_per_year,
        subject_rule="sum of interval PBVC / sum of interval years",
    )
    return PbvcResult(
        provenance=prov,
        intervals=iv[cols].reset_index(drop=True),
        subjects=subjects,
        table=table,
    )
