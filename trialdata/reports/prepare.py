"""Report inputs: the data cut-off and the subject-level frame every table splits by.

``apply_cutoff`` removes records dated after the cut-off; ``derive_report_subjects``
adds the safety flag, first/last dose dates, the actual dose level and route, death
and last-contact dates and the categorical ``group`` column (dose level x route) to
the subjects table.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from analyses.safety import derive_dose_groups, derive_safety_population
from schemas.protocol import Protocol

__all__ = [
    "DATE_COLUMNS",
    "ROUTE_ABBREVIATIONS",
    "apply_cutoff",
    "derive_report_subjects",
    "group_label",
    "last_contact",
    "latest_date",
]

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

#: Short route names used in column headers.
ROUTE_ABBREVIATIONS = {
    "INTRAVENOUS": "IV",
    "INTRADERMAL": "ID",
    "INTRANODAL": "IN",
    "SUBCUTANEOUS": "SC",
    "INTRATHECAL": "IT",
}

_ALL_DATES: dict[str, tuple[str, ...]] = {
    "subjects": ("consent_date", "enrolment_date", "withdrawal_date"),
    "administrations": ("admin_date",),
    "adverse_events": ("onset_date", "resolution_date"),
    "labs": ("lab_date",),
    "mri": ("scan_date",),
    "immunomonitoring": ("collection_date",),
    "disease_assessments": ("assessment_date",),
    "survival_status": ("last_known_alive_date", "death_date"),
}


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
    for name, columns in _ALL_DATES.items():
        frame = tables.get(name)
        if frame is None:
            continue
        for column in columns:
            if column in frame.columns:
                top = pd.to_datetime(frame[column], errors="coerce").max()
                if pd.notna(top):
                    found.append(pd.Timestamp(top))
    return max(found).normalize() if found else None


def apply_cutoff(
    tables: Mapping[str, pd.DataFrame], cutoff: pd.Timestamp
) -> dict[str, pd.DataFrame]:
    """Drop records dated after the cut-off (day resolution).

    Survival status is censored at the cut-off: a death after it is removed and the
    last-known-alive date is capped at the cut-off. Withdrawals and resolutions after
    the cut-off are set missing (not yet known at the cut-off).

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
    end = pd.Timestamp(cutoff).normalize() + pd.Timedelta(days=1)
    out: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        data = frame.copy()
        column = DATE_COLUMNS.get(name)
        if column is not None and column in data.columns:
            dates = pd.to_datetime(data[column], errors="coerce")
            data = data.loc[dates.isna() | (dates < end)]
        for late in ("withdrawal_date", "resolution_date"):
            if late in data.columns:
                dates = pd.to_datetime(data[late], errors="coerce")
                data[late] = dates.where(dates < end)
        if name == "survival_status":
            death = pd.to_datetime(data["death_date"], errors="coerce")
            after = death.notna() & (death >= end)
            data["death_date"] = death.where(~after)
            if "death_cause" in data.columns:
                data["death_cause"] = data["death_cause"].where(~after)
            alive = pd.to_datetime(data["last_known_alive_date"], errors="coerce")
            data["last_known_alive_date"] = alive.where(
                alive < end, pd.Timestamp(cutoff).normalize()
            )
        out[name] = data
    return out


def last_contact(tables: Mapping[str, pd.DataFrame]) -> pd.Series:
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
    for name, columns in _ALL_DATES.items():
        frame = tables.get(name)
        if frame is None or "subject_id" not in frame.columns:
            continue
        for column in columns:
            if column in frame.columns:
                parts.append(
                    pd.DataFrame(
                        {
                            "subject_id": frame["subject_id"].to_numpy(),
                            "date": pd.to_datetime(frame[column], errors="coerce"),
                        }
                    )
                )
    if not parts:
        return pd.Series(dtype="datetime64[ns]")
    both = pd.concat(parts, ignore_index=True).dropna()
    return both.groupby("subject_id")["date"].max()


def group_label(protocol: Protocol, level: object, route: object) -> str:
    """Return the column label of a dose level and route (``DL2 3 10^6 cells/kg IV``).

    Parameters
    ----------
    protocol : schemas.protocol.Protocol
        For the dose amounts and labels.
    level : object
        Dose-level index (missing gives ``Not dosed``).
    route : object
        Route (missing is left out).

    Returns
    -------
    str
        The label.
    """
    if pd.isna(level):  # type: ignore[call-overload]
        return "Not dosed"
    index = int(level)  # type: ignore[call-overload]
    text = f"DL{index}"
    if 1 <= index <= len(protocol.dose_levels):
        dose = protocol.dose_level(index)
        text += f" {dose.label}" if dose.label else f" {dose.amount:g} {dose.unit}"
    if isinstance(route, str) and route:
        text += f" {ROUTE_ABBREVIATIONS.get(route, route.title())}"
    return text


def derive_report_subjects(
    protocol: Protocol, tables: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """Return every enrolled subject with the columns the report needs.

    The group of a treated subject is their actual dose level (highest given) and
    route; untreated subjects are grouped by their cohort's planned dose level and
    route.

    Parameters
    ----------
    protocol : schemas.protocol.Protocol
        The protocol.
    tables : Mapping of str to pandas.DataFrame
        Domain tables (after the cut-off), without source columns.

    Returns
    -------
    pandas.DataFrame
        The subjects table plus ``safety``, ``first_dose_date``, ``last_dose_date``,
        ``planned_dose_level``, ``planned_route``, ``actual_dose_level``,
        ``actual_route``, ``dose_level``, ``route``, ``group`` (ordered categorical),
        ``death_date``, ``death_cause`` and ``last_contact``.
    """
    subjects = tables["subjects"]
    administrations = tables["administrations"]
    out = derive_safety_population(subjects, administrations)
    out = derive_dose_groups(out, administrations, tables["cohorts"])
    out["dose_level"] = out["actual_dose_level"].fillna(out["planned_dose_level"])
    out["route"] = out["actual_route"].where(
        out["actual_route"].notna(), out["planned_route"]
    )
    labels = [
        group_label(protocol, lv, rt)
        for lv, rt in zip(out["dose_level"], out["route"], strict=True)
    ]
    order = (
        pd.DataFrame(
            {"label": labels, "level": out["dose_level"], "route": out["route"]}
        )
        .astype({"level": "Float64"})
        .sort_values(["level", "route"], na_position="last")
        .drop_duplicates("label")["label"]
        .tolist()
    )
    out["group"] = pd.Categorical(labels, categories=order, ordered=True)
    status = tables.get("survival_status")
    if status is not None and len(status):
        by_id = status.set_index("subject_id")
        out["death_date"] = pd.to_datetime(out["subject_id"].map(by_id["death_date"]))
        out["death_cause"] = out["subject_id"].map(by_id["death_cause"])
    elif "death_date" in subjects.columns:
        out["death_date"] = pd.to_datetime(out["death_date"], errors="coerce")
        out["death_cause"] = out.get("death_cause", pd.Series(pd.NA, index=out.index))
    else:
        out["death_date"] = pd.NaT
        out["death_cause"] = pd.NA
    if "withdrawal_date" not in out.columns:
        out["withdrawal_date"] = pd.NaT
    out["withdrawal_date"] = pd.to_datetime(out["withdrawal_date"], errors="coerce")
    out["last_contact"] = out["subject_id"].map(last_contact(tables))
    return out
