"""XD-017: a given dose's amount and unit are the protocol's for its dose level.

Amounts are equal within a relative 1e-6 (as ``numpy.isclose``), units after
surrounding white space is removed. Doses at a level the protocol lacks are not
compared.
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
from trialdata.validation.rules._dosing import (
    ADMIN,
    given_doses,
    sentence,
    stripped,
    text,
)


def _close(given: pl.Expr, planned: pl.Expr) -> pl.Expr:
    """Return ``numpy.isclose(given, planned, rtol=1e-6)`` (infinities: equal)."""
    finite = given.is_finite() & planned.is_finite()
    near = (given - planned).abs() <= 1e-8 + 1e-6 * planned.abs()
    return pl.when(finite).then(near).otherwise(given == planned)


def doses_off_protocol(upload: Upload) -> pl.LazyFrame:
    """Return given doses whose amount or unit is not the protocol's for the level."""
    if not upload.has_columns(ADMIN, "given", "dose_level"):
        return union([])
    levels = upload.protocol.dose_levels
    protocol = pl.LazyFrame(
        {
            "protocol_level": [float(d.level) for d in levels],
            "amount": [d.amount for d in levels],
            "unit": [d.unit for d in levels],
        },
        schema={"protocol_level": pl.Float64, "amount": pl.Float64, "unit": pl.String},
    )
    doses = (
        given_doses(upload)
        .with_columns(pl.col("dose_level").cast(pl.Float64).alias("protocol_level"))
        .join(protocol, on="protocol_level", maintain_order="left")
    )
    dtypes = doses.collect_schema()
    level = text(pl.col("dose_level"), dtypes["dose_level"])
    found = []
    if upload.has_columns(ADMIN, "dose_amount"):
        amount = pl.col("dose_amount")
        found.append(
            flagged(
                doses.filter(amount.is_not_null() & ~_close(amount, pl.col("amount"))),
                domain=ADMIN,
                column="dose_amount",
                value=render_text(amount, dtypes["dose_amount"]),
                fields=[
                    sentence(
                        "dose amount ",
                        text(amount, dtypes["dose_amount"]),
                        " does not match dose level ",
                        level,
                        " of the protocol (",
                        text(pl.col("amount"), pl.Float64()),
                        " ",
                        pl.col("unit"),
                        ")",
                    )
                ],
            )
        )
    if upload.has_columns(ADMIN, "dose_unit"):
        unit = pl.col("dose_unit")
        found.append(
            flagged(
                doses.filter(stripped("dose_unit") != pl.col("unit")),
                domain=ADMIN,
                column="dose_unit",
                value=render_text(unit, dtypes["dose_unit"]),
                fields=[
                    sentence(
                        "dose unit ",
                        text(unit, dtypes["dose_unit"]),
                        " differs from the protocol's unit for dose level ",
                        level,
                        " (",
                        pl.col("unit"),
                        ")",
                    )
                ],
            )
        )
    return union(found)


RULE = Rule(
    id="XD-017",
    severity=ERROR,
    description="A given dose's dose_amount and dose_unit equal the protocol's for "
    "its dose level.",
    reads=(ADMIN,),
    finds=doses_off_protocol,
    message=None,
    example=change("administrations", 0, dose_amount=7.5),
)
