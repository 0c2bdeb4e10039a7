"""Scan ordering, baseline scan and longitudinal-comparability flags."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from analyses.immunomonitoring.groups import derive_first_dose

__all__ = ["BaselineScanRule", "derive_scan_flags"]

#: Which scan of a subject is the baseline scan.
BaselineScanRule = Literal["first_scan", "last_on_or_before_first_dose"]


def derive_scan_flags(
    data: pd.DataFrame,
    *,
    baseline: BaselineScanRule = "first_scan",
    administrations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Order scans per subject and flag the baseline and non-comparable scans.

    Parameters
    ----------
    data : pandas.DataFrame
        MRI readouts (``subject_id``, ``scan_date``, ``scanner_id``,
        ``protocol_id``, ``pipeline``, ``pbvc_pct``).
    baseline : {"first_scan", "last_on_or_before_first_dose"}, default "first_scan"
        The baseline scan is the subject's first scan, or the last scan on or before
        the first dose date (needs ``administrations``). Scans before the baseline
        scan are marked ``pre_baseline`` and enter no follow-up count.
    administrations : pandas.DataFrame, optional
        Administrations, for ``baseline="last_on_or_before_first_dose"``.

    Returns
    -------
    pandas.DataFrame
        A new frame sorted by subject and scan date, with ``scan_seq`` (1 = first),
        ``is_baseline``, ``pre_baseline``, ``follow_up`` (after the baseline scan),
        ``days_since_previous``, ``scanner_changed``, ``protocol_changed``,
        ``pipeline_mixed`` and ``longitudinal_flag`` (any of the three). A scan's
        scanner or protocol is "changed" when it differs from the subject's previous
        scan; its pipeline is "mixed" when it differs from the previous scan's, or
        when it reports a PBVC from the cross-sectional pipeline (icobrain cross and
        long results are not comparable). First scans are never flagged.
    """
    out = data.sort_values(["subject_id", "scan_date"], kind="stable").reset_index(
        drop=True
    )
    g = out.groupby("subject_id", sort=False)
    out["scan_seq"] = g.cumcount() + 1
    date = pd.to_datetime(out["scan_date"])
    if baseline == "first_scan":
        base_date = g["scan_date"].transform("min")
    elif baseline == "last_on_or_before_first_dose":
        if administrations is None:
            raise ValueError(
                "baseline='last_on_or_before_first_dose' needs administrations"
            )
        first = out["subject_id"].map(derive_first_dose(administrations))
        eligible = date.where(date <= first)
        base_date = eligible.groupby(out["subject_id"]).transform("max")
    else:
        raise ValueError(f"unknown baseline rule {baseline!r}")
    out["is_baseline"] = date == base_date
    out["pre_baseline"] = date < base_date
    out["follow_up"] = date > base_date
    previous = g.shift()
    has_prev = out["scan_seq"] > 1
    out["days_since_previous"] = (date - pd.to_datetime(previous["scan_date"])).dt.days
    out["scanner_changed"] = has_prev & (out["scanner_id"] != previous["scanner_id"])
    out["protocol_changed"] = has_prev & (out["protocol_id"] != previous["protocol_id"])
    cross_pbvc = out["pbvc_pct"].notna() & (out["pipeline"] == "cross")
    out["pipeline_mixed"] = has_prev & (
        (out["pipeline"] != previous["pipeline"]) | cross_pbvc
    )
    out["longitudinal_flag"] = (
        out["scanner_changed"] | out["protocol_changed"] | out["pipeline_mixed"]
    )
    return out
