"""XD-005: a given dose is at the dose level of the subject's cohort.

A cohort at a level the protocol lacks is reported once, by XD-015: its doses are
not compared here.
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union
from trialdata.validation.rules._dosing import (
    ADMIN,
    cohort_values,
    given_doses,
)


def doses_off_cohort_level(upload: Upload) -> pl.LazyFrame:
    """Return the given doses at another level than their subject's cohort."""
    if not upload.has_columns(ADMIN, "subject_id", "given", "dose_level"):
        return union([])
    levels = [d.level for d in upload.protocol.dose_levels]
    planned = cohort_values(upload, "dose_level", "cohort_level").filter(
        pl.col("cohort_level").is_in(levels)
    )
    doses = given_doses(upload).with_columns(pl.col("subject_id").cast(pl.String))
    return flagged(
        doses.join(planned, on="subject_id", maintain_order="left").filter(
            pl.col("dose_level") != pl.col("cohort_level")
        ),
        domain=ADMIN,
        column="dose_level",
        fields=["cohort_level"],
    )


RULE = Rule(
    id="XD-005",
    severity=ERROR,
    description="A given dose's dose_level equals the dose level of the subject's "
    "cohort (a cohort at a level the protocol lacks is left to XD-015).",
    reads=(ADMIN, "subjects", "cohorts"),
    finds=doses_off_cohort_level,
    message="dose level {value} given but subject {subject_id} is in a cohort at "
    "dose level {cohort_level}",
    example=change("administrations", 1, dose_level=2, dose_amount=10.0),
)
