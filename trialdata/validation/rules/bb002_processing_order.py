"""BB-002: a sample is processed after it is collected, and frozen after that.

Times are compared as recorded, time of day included (not by calendar day). The
times of each pair of columns are written as that pair's findings alone would
write them: with the time of day when one of its flagged times has one.
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import (
    ERROR,
    Rule,
    Upload,
    change,
    flagged,
    render_text,
    union,
)

SAMPLES = "biobank_samples"

#: (later, earlier): each column's time must not be before the other's.
STEPS = (("processing_time", "collection_time"), ("freezing_time", "processing_time"))


def samples_out_of_order(upload: Upload) -> pl.LazyFrame:
    """Return the samples with a processing step timed before the step it follows."""
    schema = upload.frame(SAMPLES).collect_schema()
    found = []
    for later, earlier in STEPS:
        if not upload.has_columns(SAMPLES, later, earlier):
            continue
        rows = upload.frame(SAMPLES).filter(pl.col(later) < pl.col(earlier))
        found.append(
            flagged(
                rows,
                domain=SAMPLES,
                column=later,
                fields=[
                    "sample_id",
                    pl.lit(earlier).alias("earlier"),
                    pl.col(earlier).alias("earlier_time"),
                ],
            ).with_columns(
                render_text(pl.col("value"), schema[later]).alias("value"),
                render_text(pl.col("earlier_time"), schema[earlier]).alias(
                    "earlier_time"
                ),
            )
        )
    return union(found)


RULE = Rule(
    id="BB-002",
    severity=ERROR,
    description="A sample's processing_time is not before its collection_time, "
    "nor its freezing_time before its processing_time.",
    reads=(SAMPLES,),
    finds=samples_out_of_order,
    message="sample {sample_id} has {column} {value} before its {earlier} "
    "{earlier_time}",
    example=change(SAMPLES, 1, freezing_time="2024-01-10T08:30"),
)
