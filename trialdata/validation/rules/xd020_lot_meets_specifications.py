"""XD-020: a released lot meets every release specification of the protocol.

A specification names a column of ``product_lots`` and a minimum, a maximum or
both. Lots not RELEASED are not held to it (a rejected lot is expected to fail).
"""

from __future__ import annotations

import polars as pl

from schemas.protocol import ReleaseSpecification
from trialdata.validation.rule import (
    ERROR,
    Rule,
    Upload,
    change,
    flagged,
    render_text,
    union,
)
from trialdata.validation.rules._dosing import sentence, text

LOTS = "product_lots"

#: What ``pandas.to_numeric`` made of a missing date-time: the smallest int64.
_MISSING_MOMENT = -(2**63)


def _as_number(column: str, dtype: pl.DataType) -> pl.Expr:
    """Return a column as numbers, as ``pandas.to_numeric(errors="coerce")`` reads it.

    Numbers stay, booleans are 1 and 0, text is parsed (unreadable: missing) and
    date-times are nanoseconds since 1970 (a missing one the smallest int64, as
    pandas has it).
    """
    value = pl.col(column)
    if dtype == pl.String:
        return value.str.strip_chars().cast(pl.Float64, strict=False)
    if dtype == pl.Datetime:
        return value.dt.epoch("ns").fill_null(_MISSING_MOMENT)
    return value.cast(pl.Float64, strict=False)


def _required(spec: ReleaseSpecification) -> str:
    """Return what a specification requires, e.g. ``at least 70 and at most 100``."""
    parts = []
    if spec.min is not None:
        parts.append(f"at least {spec.min:g}")
    if spec.max is not None:
        parts.append(f"at most {spec.max:g}")
    return " and ".join(parts)


def lots_out_of_specification(upload: Upload) -> pl.LazyFrame:
    """Return, for each specification, the released lots outside it."""
    if not upload.has_columns(LOTS, "release_status"):
        return union([])
    lots = upload.frame(LOTS)
    dtypes = lots.collect_schema()
    released = lots.filter(pl.col("release_status") == "RELEASED")
    lot = (
        text(pl.col("lot_id"), dtypes["lot_id"]) if "lot_id" in dtypes else pl.lit("-")
    )
    found = []
    for spec in upload.protocol.release_specifications:
        if not upload.has_columns(LOTS, spec.attribute):
            continue
        dtype = dtypes[spec.attribute]
        result = _as_number(spec.attribute, dtype)
        outside = pl.lit(False)
        if spec.min is not None:
            outside |= result < spec.min
        if spec.max is not None:
            outside |= result > spec.max
        rows = flagged(
            released.filter(outside),
            domain=LOTS,
            column=spec.attribute,
            fields=[lot.alias("lot")],
        )
        found.append(
            rows.with_columns(render_text(pl.col("value"), dtype).alias("value"))
            .with_columns(
                sentence(
                    "released lot ",
                    pl.col("lot"),
                    f" has {spec.attribute} ",
                    pl.col("value").fill_null("-"),
                    f"; the release specification requires {_required(spec)}",
                )
            )
            .drop("lot")
        )
    return union(found)


RULE = Rule(
    id="XD-020",
    severity=ERROR,
    description="A RELEASED lot meets every release specification of the protocol.",
    reads=(LOTS,),
    finds=lots_out_of_specification,
    message=None,
    example=change("product_lots", 1, viability_pct=65.0),
)
