"""AE-004: an adverse event's outcome is FATAL exactly when its grade is 5.

Only events with an outcome from the term list and a grade from 1 to 5 are
checked: other values are reported by the schema check (SC-TERM, SC-RANGE), once.
"""

from __future__ import annotations

import polars as pl

from schemas.terms import Outcome
from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union
from trialdata.validation.rules._adverse_events import AE, LABEL, label_fields


def fatal_outcome_not_grade_5(upload: Upload) -> pl.LazyFrame:
    """Return the FATAL outcomes not of grade 5, and the grade 5 ones not FATAL."""
    if not upload.has_columns(AE, "outcome", "grade"):
        return union([])
    outcome, grade = pl.col("outcome"), pl.col("grade").cast(pl.Float64)
    known = outcome.is_in([term.value for term in Outcome]) & grade.is_between(1, 5)
    fatal, grade5 = outcome == Outcome.FATAL.value, grade == 5
    return flagged(
        upload.frame(AE).filter(known & (fatal != grade5)),
        domain=AE,
        column="outcome",
        fields=[*label_fields(upload), "outcome", "grade"],
    )


RULE = Rule(
    id="AE-004",
    severity=ERROR,
    description="An adverse event's outcome is FATAL if and only if its grade is 5.",
    reads=(AE,),
    finds=fatal_outcome_not_grade_5,
    message=LABEL + " has outcome {outcome} with grade {grade}; FATAL goes with "
    "grade 5 and grade 5 with FATAL",
    example=change(AE, 3, outcome="RECOVERED/RESOLVED"),
)
