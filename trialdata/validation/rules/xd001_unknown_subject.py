"""XD-001: every record's subject is in the subjects table."""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union
from trialdata.validation.rules._dates import SUBJECT_DOMAINS
from trialdata.validation.rules._references import references_to


def records_of_unknown_subjects(upload: Upload) -> pl.LazyFrame:
    """Return the records of every subject-level domain whose subject is unknown."""
    found = [
        (domain, references_to(upload, domain, "subject_id", "subjects", "subject_id"))
        for domain in SUBJECT_DOMAINS
    ]
    return union(
        flagged(rows, domain=domain, column="subject_id")
        for domain, rows in found
        if rows is not None
    )


RULE = Rule(
    id="XD-001",
    severity=ERROR,
    description="Every record's subject_id exists in subjects.",
    reads=("subjects",),
    finds=records_of_unknown_subjects,
    message="subject {subject_id} is not in subjects; correct the id or upload "
    "the subject",
    example=change("labs", 1, subject_id="S-09"),
)
