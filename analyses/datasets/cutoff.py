"""The data cut-off: one rule for which records an analysis sees.

Every output of a trial (the CLI, the report, a statistician's script) reads the
analysis datasets derived after :func:`apply_cutoff`, so a record is either in all of
them or in none.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = [
    "CUTOFF_RULE",
    "DATED_COLUMNS",
    "DATE_COLUMNS",
    "apply_cutoff",
    "last_contact_dates",
    "latest_date",
    "normalise_cutoff",
]

#: How the cut-off treats records, for provenance and footnotes.
CUTOFF_RULE = (
    "records dated after the cut-off are excluded; withdrawals, resolutions and "
    "deaths after it are not yet known; last-known-alive dates are capped at it"
)

#: The date that places each record in time, by domain (records after the cut-off
#: are removed).
DATE_COLUMNS: dict[str, str] = {
    "subjects": "consent_date",
    "administrations": "admin_date",
    "adverse_events": "onset_date",
    "labs": "lab_date",
    "mri": "scan_date",
    "immunomonitoring": "collection_date",
    "disease_assessments": "assessment_date",
    "biobank_samples": "collection_time",
    "custody_events": "event_time",
}

#: Every date column that shows a subject was in contact, by domain (the default
#: cut-off is the latest of them; the last contact of a subject is the latest of
#: theirs).
DATED_COLUMNS: dict[str, tuple[str, ...]] = {
    "subjects": ("consent_date", "enrolment_date", "withdrawal_date"),
    "administrations": ("admin_date",),
    "adverse_events": ("onset_date", "resolution_date"),
    "labs": ("lab_date",),
    "mri": ("scan_date",),
    "immunomonitoring": ("collection_date",),
    "disease_assessments": ("assessment_date",),
    "survival_status": ("last_known_alive_date", "death_date"),
}


def _as_dates(values: pd.Series) -> pd.Series:
    """Return ``values`` as date-times (unreadable values missing, zones dropped)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        dates = values  # typed already: no element-wise parse
    else:
        dates = pd.to_datetime(values, errors="coerce")
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_localize(None)
    return dates


def normalise_cutoff(cutoff: object) -> pd.Timestamp:
    """Return a cut-off as a date at midnight.

    Parameters
    ----------
    cutoff : str, date, datetime or pandas.Timestamp
        The cut-off (ISO 8601 text is accepted).

    Returns
    -------
    pandas.Timestamp
        The day of the cut-off, at midnight.

    Raises
    ------
    ValueError
        When ``cutoff`` is not a date.
    """
    try:
        stamp = pd.Timestamp(cutoff)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"cut-off is not an ISO date: {cutoff!r}") from None
    if pd.isna(stamp):
        raise ValueError(f"cut-off is not an ISO date: {cutoff!r}")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()


def latest_date(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp | None:
    """Return the latest date found in the trial's dated columns.

    Parameters
    ----------
    tables : Mapping of str to pandas.DataFrame
        Domain tables.

    Returns
    -------
    pandas.Timestamp or None
        The latest date (normalised to midnight), or None when there is none.
    """
    found: list[pd.Timestamp] = []
    for name, columns in DATED_COLUMNS.items():
        frame = tables.get(name)
        if frame is None:
            continue
        for column in columns:
            if column in frame.columns:
                top = _as_dates(frame[column]).max()
                if pd.notna(top):
                    found.append(pd.Timestamp(top))
    return max(found).normalize() if found else None


def apply_cutoff(
    tables: Mapping[str, pd.DataFrame], cutoff: pd.Timestamp
) -> dict[str, pd.DataFrame]:
    """Drop records dated after the cut-off (day resolution, the cut-off included).

    Survival status is censored at the cut-off: a death after it is removed and the
    last-known-alive date is capped at the cut-off. Withdrawals and resolutions after
    the cut-off are set missing (not yet known at the cut-off). Records without a
    readable date are kept (validation reports them).

    Parameters
    ----------
    tables : Mapping of str to pandas.DataFrame
        Domain tables.
    cutoff : pandas.Timestamp
        The cut-off date (inclusive).

    Returns
    -------
    dict of str to pandas.DataFrame
        New tables.
    """
    day = normalise_cutoff(cutoff)
    end = day + pd.Timedelta(days=1)
    out: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        data = frame.copy()
        column = DATE_COLUMNS.get(name)
        if column is not None and column in data.columns:
            dates = _as_dates(data[column])
            data = data.loc[(dates.isna() | (dates < end)).to_numpy()]
        for late in ("withdrawal_date", "resolution_date", "death_date"):
            if late in data.columns:
                dates = _as_dates(data[late])
                data[late] = dates.where(dates < end)
        if name == "survival_status":
            if "death_date" in data.columns:
                death = _as_dates(data["death_date"])
                after = death.notna() & (death >= end)
                data["death_date"] = death.where(~after)
                if "death_cause" in data.columns:
                    data["death_cause"] = data["death_cause"].where(~after)
            if "last_known_alive_date" in data.columns:
                alive = _as_dates(data["last_known_alive_date"])
                data["last_known_alive_date"] = alive.where(
                    alive.isna() | (alive < end), day
                )
        out[name] = data
    return out


def last_contact_dates(tables: Mapping[str, pd.DataFrame]) -> pd.Series:
    """Return the latest dated record of each subject.

    Parameters
    ----------
    tables : Mapping of str to pandas.DataFrame
        Domain tables (after the cut-off).

    Returns
    -------
    pandas.Series
        Latest date by ``subject_id``.
    """
    parts = []
    for name, columns in DATED_COLUMNS.items():
        frame = tables.get(name)
        if frame is None or "subject_id" not in frame.columns:
            continue
        for column in columns:
            if column in frame.columns:
                parts.append(
                    pd.DataFrame(
                        {
                            "subject_id": frame["subject_id"].to_numpy(),
                            "date": _as_dates(frame[column]).to_numpy(),
                        }
                    )
                )
    if not parts:
        return pd.Series(dtype="datetime64[ns]")
    both = pd.concat(parts, ignore_index=True).dropna()
    return both.groupby("subject_id")["date"].max()
