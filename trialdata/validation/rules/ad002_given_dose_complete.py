"""AD-002: a dose recorded as given has its date, dose level, route and lot.

A value that could not be read is missing here and was already reported (RD-008):
the runner keeps that one finding. A file without the column is reported by the
reader (RD-002), not here.
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union
from trialdata.validation.rules._dosing import ADMIN, given_doses

#: What a given dose must record.
REQUIRED = ("admin_date", "dose_level", "route", "lot_id")


def given_doses_incomplete(upload: Upload) -> pl.LazyFrame:
    """Return, for each required column, the given doses missing it."""
    if not upload.has_columns(ADMIN, "given"):
        return union([])
    doses = given_doses(upload)
    seq = pl.col("admin_seq") if "admin_seq" in upload.columns(ADMIN) else pl.lit(None)
    return union(
        flagged(
            doses.filter(pl.col(column).is_null()),
            domain=ADMIN,
            column=column,
            value=pl.lit(None, pl.String),
            fields=[seq.alias("admin_seq")],
        )
        for column in REQUIRED
        if upload.has_columns(ADMIN, column)
    )


RULE = Rule(
    id="AD-002",
    severity=ERROR,
    description="A given dose (given = Y) has admin_date, dose_level, route and "
    "lot_id.",
    reads=(ADMIN,),
    finds=given_doses_incomplete,
    message="administration {admin_seq} of subject {subject_id} is recorded as given "
    "but {column} is missing",
    example=change("administrations", 0, lot_id=None),
)
