"""BB-001: no two stored samples share a storage position.

A sample with destroyed_date set no longer holds its position.
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union

SAMPLES = "biobank_samples"


def samples_sharing_positions(upload: Upload) -> pl.LazyFrame:
    """Return the stored samples whose position holds another stored sample.

    Each comes with ``occupants``: the ids of the stored samples at its position,
    in file order (a missing id written ``<NA>``).
    """
    if not upload.has_columns(SAMPLES, "storage_position", "destroyed_date"):
        return union([])
    position = pl.col("storage_position")
    shared = (
        upload.frame(SAMPLES)
        .filter(pl.col("destroyed_date").is_null() & position.is_not_null())
        .filter(pl.len().over(position) > 1)
    )
    ids = pl.col("sample_id").cast(pl.String).fill_null("<NA>")
    return flagged(
        shared,
        domain=SAMPLES,
        column="storage_position",
        fields=[ids.str.join(", ").over(position).alias("occupants")],
    )


RULE = Rule(
    id="BB-001",
    severity=ERROR,
    description="No two samples that are not destroyed share a storage_position.",
    reads=(SAMPLES,),
    finds=samples_sharing_positions,
    message="storage position {value} holds more than one stored sample ({occupants})",
    example=change(SAMPLES, 3, storage_position="LN2/R1/B1/A1"),
)
