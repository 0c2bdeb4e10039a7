"""XD-010: no record is dated after the subject's death.

The death date is the subject's ``death_date`` in survival_status (its first row);
every dated record is checked, and the subject's ``last_known_alive_date`` too. A
record on the day of death is not after it.
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change
from trialdata.validation.rules._dates import DATED_COLUMNS, dated_beyond, subject_day

#: The dated records checked: every subject-level date, and the last known alive.
CHECKED = dict(DATED_COLUMNS, survival_status="last_known_alive_date")


def records_after_death(upload: Upload) -> pl.LazyFrame:
    """Return the dated records of every domain dated after the subject's death."""
    death = subject_day(upload, "survival_status", "death_date", "death")
    return dated_beyond(upload, CHECKED, death, "death", after=True)


RULE = Rule(
    id="XD-010",
    severity=ERROR,
    description="No record is dated after the subject's death_date (survival_status), "
    "including last_known_alive_date.",
    reads=("survival_status",),
    finds=records_after_death,
    message="{column} {value} is after subject {subject_id}'s death on {death}",
    example=change("survival_status", 2, last_known_alive_date="2024-03-05"),
)
