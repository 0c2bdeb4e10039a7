"""XD-014: every subject's cohort is in the cohorts table."""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union
from trialdata.validation.rules._references import references_to


def subjects_of_unknown_cohorts(upload: Upload) -> pl.LazyFrame:
    """Return the subjects whose cohort is not in the cohorts table."""
    rows = references_to(upload, "subjects", "cohort_id", "cohorts", "cohort_id")
    if rows is None:
        return union([])
    return flagged(rows, domain="subjects", column="cohort_id")


RULE = Rule(
    id="XD-014",
    severity=ERROR,
    description="subjects.cohort_id exists in cohorts.",
    reads=("subjects", "cohorts"),
    finds=subjects_of_unknown_cohorts,
    message="cohort {value} is not in cohorts",
    example=change("subjects", 1, cohort_id="C9"),
)
