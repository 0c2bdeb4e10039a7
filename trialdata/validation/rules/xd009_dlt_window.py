"""XD-009: a DLT is flagged only for a dosed subject, inside the DLT window.

The DLT window is study days 1 to the protocol's ``dlt_window_days``, day 1 being
the subject's first given dose (``_dates.first_dose_day``: a subject whose first
dose is uncertain is not checked against the window). A DLT without an onset date
is not checked, and one of a subject missing from the subjects table is left to
XD-001.
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import (
    ERROR,
    Rule,
    Upload,
    change,
    flagged,
    render_text,
    union,
)
from trialdata.validation.rules._dates import dosed_subjects, first_dose_day


def _flag(frame: pl.LazyFrame, name: str) -> pl.LazyFrame:
    """Return a frame of subject ids with a true column ``name`` added."""
    return frame.select("subject_id").with_columns(pl.lit(True).alias(name))


def _listed(upload: Upload) -> pl.LazyFrame | None:
    """Return the subjects the subjects table lists (``subject_id``, ``known``).

    None when the upload has no list of subjects (no subjects table, or its file
    has no subject_id column, which the runner adds empty): every subject is then
    taken to be known.
    """
    if not upload.has_columns("subjects", "subject_id"):
        return None
    listed = upload.frame("subjects").drop_nulls("subject_id").unique("subject_id")
    return _flag(listed, "known")


def dlts_outside_window(upload: Upload) -> pl.LazyFrame:
    """Return DLTs of subjects never dosed, or with onset outside the DLT window."""
    if not upload.has_columns("adverse_events", "subject_id", "dlt", "onset_date"):
        return union([])
    window = upload.protocol.dlt_window_days
    events = (
        upload.frame("adverse_events")
        .join(first_dose_day(upload), on="subject_id", how="left")
        .join(_flag(dosed_subjects(upload), "dosed"), on="subject_id", how="left")
    )
    listed = _listed(upload)
    known = pl.lit(True)
    if listed is not None:
        events = events.join(listed, on="subject_id", how="left")
        known = pl.col("known").fill_null(False)
    onset = pl.col("onset_date").dt.date()
    dlt = pl.col("dlt").fill_null(False) & onset.is_not_null()
    undosed = dlt & known & pl.col("dosed").is_null()
    day = (onset - pl.col("first_dose")).dt.total_days()  # day 1 is offset 0
    outside = dlt & ((day < 0) | (day > window - 1)).fill_null(False)
    hits = flagged(
        events.filter(undosed | outside).with_columns(undosed.alias("undosed")),
        domain="adverse_events",
        column="dlt",
        fields=["undosed", "onset_date", "first_dose"],
    )
    text = render_text(
        pl.col("onset_date"), hits.collect_schema()["onset_date"]
    ).fill_null("-")
    subject = pl.col("subject_id").fill_null("-")
    message = (
        pl.when(pl.col("undosed"))
        .then(pl.format("DLT flagged but subject {} was never dosed", subject))
        .otherwise(
            pl.format(
                "DLT onset {} is outside the DLT window (study days 1-{}, day 1 = "
                "the first dose on {})",
                text,
                pl.lit(window),
                pl.col("first_dose").dt.strftime("%Y-%m-%d").fill_null("-"),
            )
        )
    )
    return hits.with_columns(message.alias("message"))


RULE = Rule(
    id="XD-009",
    severity=ERROR,
    description="A DLT (dlt = Y) is flagged only for a dosed subject, with onset "
    "within the DLT window: study days 1 to dlt_window_days (day 1 = the first "
    "given dose).",
    reads=("adverse_events", "administrations"),
    finds=dlts_outside_window,
    message=None,
    example=change(
        "adverse_events", 0, dlt=True, onset_date="2024-02-20", resolution_date=None
    ),
)
