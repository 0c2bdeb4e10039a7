"""XD-007: the lot of every given dose is in product_lots.

A dose not given may name a lot that was never made (or released).
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union
from trialdata.validation.rules._references import unknown_references


def doses_of_unknown_lots(upload: Upload) -> pl.LazyFrame:
    """Return the given doses whose lot is not in product_lots."""
    if not (
        upload.has_columns("administrations", "lot_id", "given")
        and upload.has_columns("product_lots", "lot_id")
    ):
        return union([])
    given = upload.frame("administrations").filter(pl.col("given"))
    lots = upload.frame("product_lots").select("lot_id")
    return flagged(
        unknown_references(given, "lot_id", lots),
        domain="administrations",
        column="lot_id",
    )


RULE = Rule(
    id="XD-007",
    severity=ERROR,
    description="The lot of every given administration exists in product_lots.",
    reads=("administrations", "product_lots"),
    finds=doses_of_unknown_lots,
    message="lot {value} was administered but is not in product_lots",
    example=change("administrations", 0, lot_id="L-99"),
)
