"""XD-011: a visit's date lies inside its protocol window.

The study day of a record is its calendar day minus the subject's first given dose
(day 0; :func:`~trialdata.validation.rules._dates.first_dose_day`, a subject whose
first dose is uncertain is not checked). A visit the schedule does not list has no
window here (XD-021 reports its name); a protocol without visits has no windows.
"""

from __future__ import annotations

import polars as pl

from schemas.protocol import Protocol
from trialdata.validation.rule import WARNING, Rule, Upload, change, flagged, union
from trialdata.validation.rules._dates import VISIT_DATES, dated_tables, first_dose_day


def windows(protocol: Protocol) -> pl.LazyFrame:
    """Return the protocol's visit windows, one row per visit.

    Returns
    -------
    polars.LazyFrame
        ``visit``, ``target`` (its study day), ``low`` and ``high`` (the first and
        last study day allowed).
    """
    visits = protocol.visits
    return pl.LazyFrame(
        {
            "visit": [v.name for v in visits],
            "target": [v.day for v in visits],
            "low": [v.day - v.window_before for v in visits],
            "high": [v.day + v.window_after for v in visits],
        },
        schema={
            "visit": pl.String,
            "target": pl.Int64,
            "low": pl.Int64,
            "high": pl.Int64,
        },
    )


def visits_outside_window(upload: Upload) -> pl.LazyFrame:
    """Return the visit records dated outside their visit's window."""
    if not upload.protocol.visits:
        return union([])
    schedule = windows(upload.protocol)
    first = first_dose_day(upload)
    found = []
    for domain, table, column in dated_tables(upload, VISIT_DATES):
        if "visit" not in upload.columns(domain):
            continue
        study_day = (pl.col(column).dt.date() - pl.col("first_dose")).dt.total_days()
        found.append(
            flagged(
                table.with_columns(pl.col("visit").cast(pl.String))
                .join(schedule, on="visit")
                .join(first, on="subject_id")
                .with_columns(study_day.alias("study_day"))
                .filter(
                    (pl.col("study_day") < pl.col("low"))
                    | (pl.col("study_day") > pl.col("high"))
                ),
                domain=domain,
                column=column,
                fields=["visit", "study_day", "target", "low", "high"],
            )
        )
    return union(found)


RULE = Rule(
    id="XD-011",
    severity=WARNING,
    description="A visit's date lies within its protocol window (study day = date - "
    "first given dose date, day 0 = first dose).",
    reads=("administrations",),
    finds=visits_outside_window,
    message="visit {visit} on {value} is study day {study_day}, outside its window "
    "(day {target}, allowed {low} to {high})",
    example=change("mri", 0, scan_date="2024-01-30"),
)
