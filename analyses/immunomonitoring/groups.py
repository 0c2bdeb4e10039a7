"""Subject-level join helpers: group variables and first-dose dates.

The group variables of the immunomonitoring, MRI and biobank analyses (dose level,
route) live on the cohorts table and reach a result row through
``subjects.cohort_id``. The reference date of study days is the first dose actually
given (``administrations.given`` true, earliest ``admin_date``).
"""

from __future__ import annotations

import pandas as pd

from analyses.dosing import first_given_doses

__all__ = [
    "GROUP_COLUMNS",
    "derivation_rules",
    "derive_first_dose",
    "derive_groups",
    "derive_study_day",
]

#: Cohort columns joined onto domain rows by :func:`derive_groups`.
GROUP_COLUMNS: tuple[str, ...] = ("cohort_id", "dose_level", "route")


def derive_groups(
    data: pd.DataFrame, subjects: pd.DataFrame, cohorts: pd.DataFrame
) -> pd.DataFrame:
    """Add ``cohort_id``, ``dose_level`` and ``route`` to a subject-level frame.

    Parameters
    ----------
    data : pandas.DataFrame
        Any frame with a ``subject_id`` column.
    subjects : pandas.DataFrame
        The subjects domain (``subject_id``, ``cohort_id``).
    cohorts : pandas.DataFrame
        The cohorts domain (``cohort_id``, ``dose_level``, ``route``).

    Returns
    -------
    pandas.DataFrame
        A new frame, ``data`` with the group columns added (left join; subjects that
        are not in ``subjects`` get missing groups). Columns already present in
        ``data`` with those names are replaced.
    """
    keep = [c for c in data.columns if c not in GROUP_COLUMNS]
    subj = subjects[["subject_id", "cohort_id"]].drop_duplicates("subject_id")
    coh = cohorts[["cohort_id", "dose_level", "route"]].drop_duplicates("cohort_id")
    lookup = subj.merge(coh, on="cohort_id", how="left", validate="many_to_one")
    out = data[keep].merge(lookup, on="subject_id", how="left", validate="many_to_one")
    out.index = data.index
    return out


def derive_first_dose(administrations: pd.DataFrame) -> pd.Series:
    """Return the first dose date of each subject.

    Parameters
    ----------
    administrations : pandas.DataFrame
        The administrations domain (``subject_id``, ``admin_date``, ``given``).

    Returns
    -------
    pandas.Series
        Earliest ``admin_date`` among given doses, indexed by ``subject_id`` and named
        ``first_dose_date``. Subjects never dosed are absent.
    """
    first = first_given_doses(administrations)["first_dose_date"]
    first.index.name = "subject_id"
    return first


def derive_study_day(
    data: pd.DataFrame,
    administrations: pd.DataFrame,
    *,
    date_column: str,
    day_of_first_dose: int = 0,
) -> pd.DataFrame:
    """Add ``first_dose_date`` and ``study_day`` (days since first dose).

    Parameters
    ----------
    data : pandas.DataFrame
        Any frame with ``subject_id`` and a date column.
    administrations : pandas.DataFrame
        The administrations domain.
    date_column : str
        The date column of ``data`` to measure from the first dose.
    day_of_first_dose : int, default 0
        Study day given to the first-dose date. The default 0 makes ``study_day`` the
        number of elapsed days, fractional when the dates carry times of day (day 8
        is one week after the infusion). Use 1 for the SDTM convention: whole days
        counted on calendar dates, first-dose date = day 1, no day 0.

    Returns
    -------
    pandas.DataFrame
        A new frame with ``first_dose_date`` and ``study_day`` (float, missing for
        subjects never dosed).
    """
    first = derive_first_dose(administrations)
    out = data.drop(columns=["first_dose_date", "study_day"], errors="ignore").copy()
    out["first_dose_date"] = out["subject_id"].map(first)
    observed = pd.to_datetime(out[date_column])
    if day_of_first_dose == 1:
        # SDTM --DY: calendar dates only (a time of day never moves the day), the
        # first-dose date is day 1 and the day before it day -1
        calendar = (observed.dt.normalize() - out["first_dose_date"].dt.normalize()).dt
        days = calendar.days.astype(float)
        days = days.where(days < 0, days + 1)
    elif day_of_first_dose == 0:
        days = (observed - out["first_dose_date"]).dt.total_seconds() / 86400.0
    else:
        raise ValueError("day_of_first_dose must be 0 or 1")
    out["study_day"] = days.astype(float)
    return out


def derivation_rules(data: pd.DataFrame) -> dict[str, list[str]]:
    """Return the upstream derivation rules recorded as columns of a frame.

    Parameters
    ----------
    data : pandas.DataFrame
        Output of a ``derive_*`` function that records its rules as columns
        (``lloq_rule``, ``baseline_rule``).

    Returns
    -------
    dict
        Rule column name to its distinct values, for provenance records.
    """
    return {
        col: sorted(str(v) for v in data[col].dropna().unique())
        for col in ("lloq_rule", "baseline_rule")
        if col in data.columns
    }
