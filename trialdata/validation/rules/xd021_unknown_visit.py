"""XD-021: a visit name is one of the protocol's scheduled visits.

Checked only when the protocol lists visits; a missing visit name is not checked
(an unscheduled record).
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import WARNING, Rule, Upload, change, flagged, union
from trialdata.validation.rules._dates import VISIT_DATES


def unknown_visits(upload: Upload) -> pl.LazyFrame:
    """Return the records whose visit the protocol's schedule does not list."""
    names = [visit.name for visit in upload.protocol.visits]
    if not names:
        return union([])
    visit = pl.col("visit").cast(pl.String)
    return union(
        flagged(
            upload.frame(domain).filter(~visit.is_in(names)),
            domain=domain,
            column="visit",
            value=visit,
            fields=[pl.lit(", ".join(names)).alias("schedule")],
        )
        for domain in VISIT_DATES
        if "visit" in upload.columns(domain)
    )


RULE = Rule(
    id="XD-021",
    severity=WARNING,
    description="A visit name is one of the protocol's scheduled visits (when it "
    "lists visits).",
    reads=(),
    finds=unknown_visits,
    message="visit {value} is not in the protocol's schedule ({schedule})",
    example=change("labs", 1, visit="WEEK2"),
)
