"""XD-002: no record is dated before the subject's consent."""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change
from trialdata.validation.rules._dates import DATED_COLUMNS, dated_beyond, subject_day


def records_before_consent(upload: Upload) -> pl.LazyFrame:
    """Return the dated records of every domain dated before the subject's consent."""
    consent = subject_day(upload, "subjects", "consent_date", "consent")
    return dated_beyond(upload, DATED_COLUMNS, consent, "consent", after=False)


RULE = Rule(
    id="XD-002",
    severity=ERROR,
    description="No record is dated before the subject's consent_date "
    "(same day is fine).",
    reads=("subjects",),
    finds=records_before_consent,
    message="{column} {value} is before subject {subject_id}'s consent on {consent}",
    example=change("adverse_events", 0, onset_date="2023-12-30"),
)
