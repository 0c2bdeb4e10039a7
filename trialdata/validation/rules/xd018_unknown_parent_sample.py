"""XD-018: every biobank aliquot's parent sample is in biobank_samples."""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union
from trialdata.validation.rules._references import references_to

SAMPLES = "biobank_samples"


def aliquots_of_unknown_parents(upload: Upload) -> pl.LazyFrame:
    """Return the samples whose parent sample is not in biobank_samples."""
    rows = references_to(upload, SAMPLES, "parent_sample_id", SAMPLES, "sample_id")
    if rows is None:
        return union([])
    return flagged(
        rows, domain=SAMPLES, column="parent_sample_id", fields=["sample_id"]
    )


RULE = Rule(
    id="XD-018",
    severity=ERROR,
    description="Every biobank parent_sample_id exists in biobank_samples.",
    reads=(SAMPLES,),
    finds=aliquots_of_unknown_parents,
    message="parent sample {value} of sample {sample_id} is not in biobank_samples",
    example=change(SAMPLES, 1, parent_sample_id="S-01-V1-XX"),
)
