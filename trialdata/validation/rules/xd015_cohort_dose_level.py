"""XD-015: every cohort is planned at one of the protocol's dose levels."""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union


def cohorts_at_unknown_levels(upload: Upload) -> pl.LazyFrame:
    """Return the cohorts planned at a dose level the protocol does not define."""
    if not upload.has_columns("cohorts", "dose_level"):
        return union([])
    levels = [dose.level for dose in upload.protocol.dose_levels]
    cohorts = upload.frame("cohorts")
    level = pl.col("dose_level")
    named = "cohort_id" in upload.columns("cohorts")
    cohort = pl.col("cohort_id") if named else pl.lit(None, pl.String)
    return flagged(
        cohorts.filter(level.is_not_null() & ~level.is_in(levels)),
        domain="cohorts",
        column="dose_level",
        fields=[
            cohort.alias("cohort"),
            pl.lit(levels[0]).alias("lowest"),
            pl.lit(levels[-1]).alias("highest"),
        ],
    )


RULE = Rule(
    id="XD-015",
    severity=ERROR,
    description="cohorts.dose_level is one of the protocol's dose levels.",
    reads=("cohorts",),
    finds=cohorts_at_unknown_levels,
    message="cohort {cohort} has dose level {value}; the protocol defines levels "
    "{lowest} to {highest}",
    example=change("cohorts", 1, dose_level=3),
)
