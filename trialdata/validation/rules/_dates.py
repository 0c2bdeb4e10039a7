"""Dates the rules compare: each record's date column, and one date per subject.

Dates are compared by calendar day: a record on the day of consent, withdrawal or
death is neither before nor after it.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from schemas.domains import DOMAINS
from trialdata.validation.rule import Upload, flagged, union

__all__ = [
    "DATED_COLUMNS",
    "SUBJECT_DOMAINS",
    "VISIT_DATES",
    "dated_beyond",
    "dated_tables",
    "dosed_subjects",
    "first_dose_day",
    "subject_day",
]

#: Domains whose rows belong to a subject, other than ``subjects`` itself.
SUBJECT_DOMAINS: tuple[str, ...] = tuple(
    spec.name for spec in DOMAINS if spec.has_subject and spec.name != "subjects"
)

#: The date of each subject-level record, by domain.
DATED_COLUMNS: dict[str, str] = {
    "administrations": "admin_date",
    "adverse_events": "onset_date",
    "labs": "lab_date",
    "mri": "scan_date",
    "biobank_samples": "collection_time",
    "immunomonitoring": "collection_date",
    "disease_assessments": "assessment_date",
}

#: Domains with a visit column, and the date that places the visit.
VISIT_DATES: dict[str, str] = {
    name: column for name, column in DATED_COLUMNS.items() if name != "adverse_events"
}


def dated_tables(
    upload: Upload, columns: Mapping[str, str]
) -> list[tuple[str, pl.LazyFrame, str]]:
    """Return (domain, table, date column) for each domain present with its column.

    Parameters
    ----------
    upload : Upload
        The upload.
    columns : Mapping of str to str
        Domain to date column, e.g. :data:`DATED_COLUMNS`.

    Returns
    -------
    list of tuple
        Domains in the upload with ``subject_id`` and the date column.
    """
    return [
        (name, upload.frame(name), column)
        for name, column in columns.items()
        if {"subject_id", column} <= set(upload.columns(name))
    ]


def subject_day(upload: Upload, table: str, column: str, name: str) -> pl.LazyFrame:
    """Return each subject's calendar day in a column of a subject-level table.

    Parameters
    ----------
    upload : Upload
        The upload.
    table : str
        A table with one row per subject, e.g. ``subjects``.
    column : str
        A date column, e.g. ``consent_date``.
    name : str
        Name of the day column returned.

    Returns
    -------
    polars.LazyFrame
        ``subject_id`` and ``name`` (a date), from the subject's first row;
        subjects without the date are left out.
    """
    if not {"subject_id", column} <= set(upload.columns(table)):
        return pl.LazyFrame(schema={"subject_id": pl.String, name: pl.Date})
    return (
        upload.frame(table)
        .filter(pl.col("subject_id").is_not_null())
        .unique("subject_id", keep="first", maintain_order=True)
        .select("subject_id", pl.col(column).dt.date().alias(name))
        .drop_nulls(name)
    )


def first_dose_day(upload: Upload, name: str = "first_dose") -> pl.LazyFrame:
    """Return each dosed subject's first given dose, as a calendar day.

    The first dose is :func:`analyses.dosing.first_given_doses` (the one definition
    every output uses). A subject whose first dose is uncertain (a given dose
    numbered at or before the earliest dated one has no readable date) is left
    out: rules that count days from the first dose skip that subject rather than
    count from what may be the wrong dose.

    Parameters
    ----------
    upload : Upload
        The upload.
    name : str
        Name of the day column returned.

    Returns
    -------
    polars.LazyFrame
        ``subject_id`` and ``name`` (a date); no row for a subject without a given
        dose of known date.
    """
    from analyses.dosing import first_given_doses

    admin = upload.table("administrations")
    empty = pl.LazyFrame(schema={"subject_id": pl.String, name: pl.Date})
    if admin is None or not {"subject_id", "admin_date", "given"} <= set(admin):
        return empty
    first = first_given_doses(admin)
    first = first.loc[~first["uncertain"].astype(bool), ["first_dose_date"]]
    if first.empty:
        return empty
    return (
        pl.from_pandas(first.reset_index(names="subject_id"))
        .lazy()
        .select(
            pl.col("subject_id").cast(pl.String),
            pl.col("first_dose_date").dt.date().alias(name),
        )
        .drop_nulls(name)
    )


def dosed_subjects(upload: Upload) -> pl.LazyFrame:
    """Return the subjects with at least one dose recorded as given (``subject_id``)."""
    if not {"subject_id", "given"} <= set(upload.columns("administrations")):
        return pl.LazyFrame(schema={"subject_id": pl.String})
    return (
        upload.frame("administrations")
        .filter(pl.col("given") & pl.col("subject_id").is_not_null())
        .select("subject_id")
        .unique()
    )


def dated_beyond(
    upload: Upload,
    columns: Mapping[str, str],
    limit: pl.LazyFrame,
    name: str,
    *,
    after: bool,
) -> pl.LazyFrame:
    """Return the records dated on the wrong side of one calendar day per subject.

    Parameters
    ----------
    upload : Upload
        The upload.
    columns : Mapping of str to str
        Domain to the date column checked (see :func:`dated_tables`).
    limit : polars.LazyFrame
        ``subject_id`` and the day ``name`` (see :func:`subject_day`).
    name : str
        The day column of ``limit``, kept as a field for the message.
    after : bool
        Flag records dated after the day (True) or before it (False); the same day
        is fine either way.

    Returns
    -------
    polars.LazyFrame
        The flagged records of every domain (as :func:`flagged` gives them).
    """
    day = pl.col(name)
    return union(
        [
            flagged(
                table.join(limit, on="subject_id").filter(
                    pl.col(column).dt.date() > day
                    if after
                    else pl.col(column).dt.date() < day
                ),
                domain=domain,
                column=column,
                fields=[name],
            )
            for domain, table, column in dated_tables(upload, columns)
        ]
    )
