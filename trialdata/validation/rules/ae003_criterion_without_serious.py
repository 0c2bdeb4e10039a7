"""AE-003: an adverse event with a seriousness criterion is serious.

Only the criterion columns the file has are looked at; without any (or without
``serious``) there is nothing to check. A missing ``serious`` is not N.
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


def criterion_without_serious(upload: Upload) -> pl.LazyFrame:
    """Return the adverse events with serious = N and a seriousness criterion = Y."""
    criteria = [c for c in SERIOUSNESS_CRITERIA if upload.has_columns(AE, c)]
    if not criteria or not upload.has_columns(AE, "serious"):
        return union([])
    met = [pl.col(c).fill_null(False) for c in criteria]
    named = pl.concat_str(  # the criteria met, by name
        [pl.when(yes).then(pl.lit(c)) for c, yes in zip(criteria, met, strict=True)],
        separator=", ",
        ignore_nulls=True,
    )
    return flagged(
        upload.frame(AE).filter(~pl.col("serious") & pl.any_horizontal(met)),
        domain=AE,
        column="serious",
        fields=[*label_fields(upload), named.alias("criteria")],
    )


RULE = Rule(
    id="AE-003",
    severity=ERROR,
    description="An adverse event with a seriousness criterion = Y is serious "
    "(serious = Y).",
    reads=(AE,),
    finds=criterion_without_serious,
    message=LABEL + " has serious = N but {criteria} = Y",
    example=change(AE, 0, ser_medically_important=True),
)
