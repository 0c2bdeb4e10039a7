"""XD-019: every custody event is of a sample in biobank_samples."""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union
from trialdata.validation.rules._references import references_to


def events_of_unknown_samples(upload: Upload) -> pl.LazyFrame:
    """Return the custody events of samples that are not in biobank_samples."""
    rows = references_to(
        upload, "custody_events", "sample_id", "biobank_samples", "sample_id"
    )
    if rows is None:
        return union([])
    return flagged(rows, domain="custody_events", column="sample_id")


RULE = Rule(
    id="XD-019",
    severity=ERROR,
    description="Every custody event's sample_id exists in biobank_samples.",
    reads=("custody_events", "biobank_samples"),
    finds=events_of_unknown_samples,
    message="custody event for sample {value}, which is not in biobank_samples",
    example=change("custody_events", 2, sample_id="S-01-V9-PBMC1"),
)
