"""LB-001: a lab result's normal range is not inverted (lower above upper limit)."""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union

#: Columns the message names besides the limits (written ``-`` when absent).
_DESCRIBED = ("test_code", "lab_date")


def inverted_ranges(upload: Upload) -> pl.LazyFrame:
    """Return the lab results whose lower_limit is above their upper_limit."""
    columns = upload.columns("labs")
    if not {"lower_limit", "upper_limit"} <= set(columns):
        return union([])
    return flagged(
        upload.frame("labs").filter(pl.col("lower_limit") > pl.col("upper_limit")),
        domain="labs",
        column="lower_limit",
        fields=[
            "upper_limit",
            *(
                pl.col(name) if name in columns else pl.lit(None).alias(name)
                for name in _DESCRIBED
            ),
        ],
    )


RULE = Rule(
    id="LB-001",
    severity=ERROR,
    description="A lab result's lower_limit is not above its upper_limit.",
    reads=("labs",),
    finds=inverted_ranges,
    message="normal range of {test_code} on {lab_date} has lower limit {value} above "
    "upper limit {upper_limit}",
    example=change("labs", 1, lower_limit=60.0),
)
