"""XD-016: every cohort is planned by one of the protocol's routes.

A value that is not a route term at all is the schema check's (SC-TERM).
"""

from __future__ import annotations

import polars as pl

from schemas.terms import AdministrationRoute
from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union


def cohorts_by_other_routes(upload: Upload) -> pl.LazyFrame:
    """Return the cohorts planned by a route term the protocol does not allow."""
    if not upload.has_columns("cohorts", "route"):
        return union([])
    allowed = [str(route) for route in upload.protocol.routes]
    route = pl.col("route").cast(pl.String)
    named = "cohort_id" in upload.columns("cohorts")
    cohort = pl.col("cohort_id") if named else pl.lit(None, pl.String)
    return flagged(
        upload.frame("cohorts").filter(
            route.is_in([term.value for term in AdministrationRoute])
            & ~route.is_in(allowed)
        ),
        domain="cohorts",
        column="route",
        fields=[
            cohort.alias("cohort"),
            pl.lit(", ".join(allowed)).alias("allowed"),
        ],
    )


RULE = Rule(
    id="XD-016",
    severity=ERROR,
    description="cohorts.route is one of the protocol's routes.",
    reads=("cohorts",),
    finds=cohorts_by_other_routes,
    message="cohort {cohort} route {value} is not allowed by the protocol "
    "(allowed: {allowed})",
    example=change("cohorts", 0, route="INTRAVENOUS"),
)
