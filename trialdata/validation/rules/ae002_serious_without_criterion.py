"""AE-002: a serious adverse event has at least one seriousness criterion.

Only the criterion columns the file has are looked at; without any (or without
``serious``) there is nothing to check. A missing criterion counts as not met.
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union
from trialdata.validation.rules._adverse_events import (
    AE,
    LABEL,
    SERIOUSNESS_CRITERIA,
    label_fields,
)


def serious_without_criterion(upload: Upload) -> pl.LazyFrame:
    """Return the serious adverse events with no seriousness criterion = Y."""
    criteria = [c for c in SERIOUSNESS_CRITERIA if upload.has_columns(AE, c)]
    if not criteria or not upload.has_columns(AE, "serious"):
        return union([])
    met = pl.any_horizontal(pl.col(c).fill_null(False) for c in criteria)
    return flagged(
        upload.frame(AE).filter(pl.col("serious").fill_null(False) & ~met),
        domain=AE,
        column="serious",
        fields=[*label_fields(upload), pl.lit(", ".join(criteria)).alias("criteria")],
    )


RULE = Rule(
    id="AE-002",
    severity=ERROR,
    description="A serious adverse event (serious = Y) has at least one seriousness "
    "criterion = Y (when the criterion columns are present).",
    reads=(AE,),
    finds=serious_without_criterion,
    message=LABEL + " is serious but no seriousness criterion ({criteria}) is Y",
    example=change(AE, 1, ser_hospitalisation=False),
)
