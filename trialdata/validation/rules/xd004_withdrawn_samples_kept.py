"""XD-004: the samples of a subject who withdrew consent are destroyed.

A subject's withdrawal is read from the subject's first row in subjects. The
finding is a warning: a sample may be kept for a recorded reason.
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import WARNING, Rule, Upload, change, flagged, union

SAMPLES = "biobank_samples"


def withdrawals(upload: Upload) -> pl.LazyFrame:
    """Return ``subject_id`` and ``withdrawn`` (date-time) of each withdrawn subject."""
    return (
        upload.frame("subjects")
        .filter(pl.col("subject_id").is_not_null())
        .unique("subject_id", keep="first", maintain_order=True)
        .select(pl.col("subject_id").cast(pl.String), withdrawn="withdrawal_date")
        .drop_nulls("withdrawn")
    )


def stored_samples_of_withdrawn_subjects(upload: Upload) -> pl.LazyFrame:
    """Return the samples without destroyed_date whose subject withdrew consent."""
    if not (
        upload.has_columns(SAMPLES, "subject_id", "destroyed_date")
        and upload.has_columns("subjects", "subject_id", "withdrawal_date")
    ):
        return union([])
    stored = upload.frame(SAMPLES).filter(pl.col("destroyed_date").is_null())
    return flagged(
        stored.join(withdrawals(upload), on="subject_id"),
        domain=SAMPLES,
        column="destroyed_date",
        fields=["sample_id", "withdrawn"],
    )


RULE = Rule(
    id="XD-004",
    severity=WARNING,
    description="Samples of a subject who withdrew consent are destroyed "
    "(destroyed_date set).",
    reads=(SAMPLES, "subjects"),
    finds=stored_samples_of_withdrawn_subjects,
    message="sample {sample_id} is still stored although subject {subject_id} "
    "withdrew consent on {withdrawn}; destroy it or record why it is kept",
    example=change(SAMPLES, 2, destroyed_date=None),
)
