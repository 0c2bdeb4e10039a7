"""AE-005: a specialised grading scale is used only for the events it is made for.

ASTCT grades cytokine release syndrome (CRS) and neurotoxicity (ICANS), MAGIC graft
versus host disease (GVHD): an event graded on one of them has that AESI. An event
with an AESI outside the term list is skipped (SC-TERM reports it); one without an
AESI is flagged. Any event may be graded on CTCAE (CTCAE v5 has a CRS term).
"""

from __future__ import annotations

import polars as pl

from schemas.terms import Aesi, GradingScale
from trialdata.validation.rule import WARNING, Rule, Upload, change, flagged, union
from trialdata.validation.rules._adverse_events import AE, LABEL, label_fields

#: Adverse events of special interest each specialised grading scale is made for.
SCALE_AESI: dict[str, tuple[str, ...]] = {
    GradingScale.ASTCT.value: (Aesi.CRS.value, Aesi.ICANS.value),
    GradingScale.MAGIC.value: (Aesi.GVHD.value,),
}


def scale_misfits(upload: Upload) -> pl.LazyFrame:
    """Return the adverse events graded on a scale not made for their AESI."""
    if not upload.has_columns(AE, "grading_scale", "aesi"):
        return union([])
    scale, aesi = pl.col("grading_scale"), pl.col("aesi").cast(pl.String)
    misfit = pl.any_horizontal(
        (scale == name) & ~aesi.is_in(fits).fill_null(False)
        for name, fits in SCALE_AESI.items()
    )
    aesi_known = aesi.is_null() | aesi.is_in([term.value for term in Aesi])
    return flagged(
        upload.frame(AE).filter(misfit & aesi_known),
        domain=AE,
        column="grading_scale",
        fields=[
            *label_fields(upload),
            "grading_scale",
            aesi.fill_null("not recorded").alias("aesi"),
        ],
    )


RULE = Rule(
    id="AE-005",
    severity=WARNING,
    description="The grading scale fits the event: ASTCT only for CRS or ICANS, "
    "MAGIC only for GVHD.",
    reads=(AE,),
    finds=scale_misfits,
    message=LABEL + " is graded on {grading_scale} but its AESI is {aesi} (ASTCT is "
    "for CRS and ICANS, MAGIC for GVHD)",
    example=change(AE, 0, grading_scale="ASTCT"),
)
