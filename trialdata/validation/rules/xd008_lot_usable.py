"""XD-008: a given dose comes from a released lot, within its release and expiry.

Each dose is matched to its lot's first row in ``product_lots`` (a dose of a lot
that is not there is XD-007's). Dates are compared by calendar day: a dose on the
release or the expiry day is fine. A release status outside the term list is
reported by the schema (SC-TERM), not here.
"""

from __future__ import annotations

import polars as pl

from schemas.terms import ReleaseStatus
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
)

LOTS = "product_lots"


def _day(column: str) -> pl.Expr:
    """Return a date column's calendar day as ``YYYY-MM-DD`` text."""
    return pl.col(column).dt.strftime("%Y-%m-%d")


def doses_from_unusable_lots(upload: Upload) -> pl.LazyFrame:
    """Return given doses of an unreleased lot, before release or after expiry."""
    if not (
        upload.has_columns(ADMIN, "given", "lot_id")
        and upload.has_columns(LOTS, "lot_id")
    ):
        return union([])
    wanted = ("release_status", "release_date", "expiry_date")
    facts = [c for c in wanted if c in upload.columns(LOTS)]
    lots = (
        upload.frame(LOTS)
        .filter(pl.col("lot_id").is_not_null())
        .unique("lot_id", keep="first", maintain_order=True)
        .select(
            pl.col("lot_id").cast(pl.String),
            *(pl.col(c).alias(f"lot_{c}") for c in facts),
        )
    )
    doses = (
        given_doses(upload)
        .with_columns(pl.col("lot_id").cast(pl.String))
        .join(lots, on="lot_id", maintain_order="left")
    )
    lot = pl.col("lot_id")
    found = []
    if upload.has_columns(LOTS, "release_status"):
        status = pl.col("lot_release_status")
        terms = [term.value for term in ReleaseStatus]
        unreleased = status.is_in(terms) & (status != ReleaseStatus.RELEASED.value)
        found.append(
            flagged(
                doses.filter(unreleased),
                domain=ADMIN,
                column="lot_id",
                fields=[
                    sentence(
                        "lot ",
                        lot,
                        " was administered while its release status is ",
                        status,
                    )
                ],
            )
        )
    if upload.has_columns(ADMIN, "admin_date"):
        day = pl.col("admin_date").dt.date()
        dtype = doses.collect_schema()["admin_date"]
        for bound, words in (
            ("release_date", "before the lot's release date"),
            ("expiry_date", "after the lot's expiry date"),
        ):
            if bound not in facts:
                continue
            limit = pl.col(f"lot_{bound}").dt.date()
            outside = day < limit if bound == "release_date" else day > limit
            found.append(
                flagged(
                    doses.filter(outside),
                    domain=ADMIN,
                    column="admin_date",
                    fields=[
                        sentence(
                            "lot ",
                            lot,
                            " administered on ",
                            _day("admin_date"),
                            f", {words} ",
                            _day(f"lot_{bound}"),
                        )
                    ],
                ).with_columns(render_text(pl.col("value"), dtype).alias("value"))
            )
    return union(found)


RULE = Rule(
    id="XD-008",
    severity=ERROR,
    description="A given dose's lot is RELEASED, and the dose is on or after the "
    "lot's release_date and not after its expiry_date.",
    reads=(ADMIN, LOTS),
    finds=doses_from_unusable_lots,
    message=None,
    example=change("product_lots", 0, release_date="2024-01-20"),
)
