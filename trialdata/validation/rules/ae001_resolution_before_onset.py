"""AE-001: an adverse event does not resolve before its onset.

Dates are compared by calendar day: an event that starts and resolves on the same
day is fine, and a missing date is neither before nor after anything.
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union
from trialdata.validation.rules._adverse_events import AE, LABEL, label_fields


def resolved_before_onset(upload: Upload) -> pl.LazyFrame:
    """Return the adverse events whose resolution day is before their onset day."""
    if not upload.has_columns(AE, "onset_date", "resolution_date"):
        return union([])
    return flagged(
        upload.frame(AE).filter(
            pl.col("onset_date").dt.date() > pl.col("resolution_date").dt.date()
        ),
        domain=AE,
        column="resolution_date",
        fields=[*label_fields(upload), "resolution_date", "onset_date"],
    )


RULE = Rule(
    id="AE-001",
    severity=ERROR,
    description="An adverse event's onset_date is on or before its resolution_date.",
    reads=(AE,),
    finds=resolved_before_onset,
    message=LABEL + " resolves on {resolution_date}, before its onset on {onset_date}",
    example=change(AE, 0, resolution_date="2024-01-09"),
)
