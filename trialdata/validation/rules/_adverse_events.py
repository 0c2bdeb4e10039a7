"""What the adverse-event rules (AE-001 to AE-005) share.

Their messages name the event as ``AE <ae_seq> (<term>) of subject <subject_id>``
(:data:`LABEL`, with the fields of :func:`label_fields`). A rule skips a check whose
columns the file did not have (``Upload.has_columns``): the reader reports an
absent column once (RD-002).
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import Upload

__all__ = ["AE", "LABEL", "SERIOUSNESS_CRITERIA", "label_fields"]

#: The domain the rules read.
AE = "adverse_events"

#: The seriousness criteria columns (ICH E2A), in schema order.
SERIOUSNESS_CRITERIA: tuple[str, ...] = (
    "ser_death",
    "ser_life_threatening",
    "ser_hospitalisation",
    "ser_disability",
    "ser_congenital_anomaly",
    "ser_medically_important",
)

#: How a message names an adverse event (the fields of :func:`label_fields`).
LABEL = "AE {ae_seq} ({term}) of subject {subject_id}"


def label_fields(upload: Upload) -> list[pl.Expr]:
    """Return the fields :data:`LABEL` names besides ``subject_id`` (missing: ``-``)."""
    present = set(upload.columns(AE))
    return [
        (pl.col(name) if name in present else pl.lit(None)).alias(name)
        for name in ("ae_seq", "term")
    ]
