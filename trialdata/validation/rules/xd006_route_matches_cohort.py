"""XD-006: a given dose's route is allowed by the protocol and is its cohort's.

Routes that are not terms of the route list are reported by the schema (SC-TERM),
and a cohort route the protocol does not allow by XD-016: neither is compared here.
"""

from __future__ import annotations

import polars as pl

from schemas.terms import AdministrationRoute
from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union
from trialdata.validation.rules._dosing import (
    ADMIN,
    cohort_values,
    given_doses,
    sentence,
    text,
)


def doses_off_route(upload: Upload) -> pl.LazyFrame:
    """Return given doses by a route the protocol or the cohort does not allow."""
    if not upload.has_columns(ADMIN, "subject_id", "given", "route"):
        return union([])
    allowed = [str(route) for route in upload.protocol.routes]
    planned = cohort_values(upload, "route", "cohort_route")
    route, cohort_route = pl.col("route"), pl.col("cohort_route")
    off_protocol = ~route.is_in(allowed)
    off_cohort = cohort_route.is_in(allowed) & (route != cohort_route)
    doses = (
        given_doses(upload)
        .filter(route.is_in([term.value for term in AdministrationRoute]))
        .with_columns(pl.col("subject_id").cast(pl.String))
        .join(planned, on="subject_id", how="left", maintain_order="left")
    )
    message = (
        pl.when(off_protocol)
        .then(
            sentence(
                "route ",
                route,
                f" is not allowed by the protocol (allowed: {', '.join(allowed)})",
            )
        )
        .otherwise(
            sentence(
                "route ",
                route,
                " given but subject ",
                text(pl.col("subject_id"), pl.String()),
                "'s cohort is dosed ",
                cohort_route,
            )
        )
    )
    return flagged(
        doses.filter(off_protocol | off_cohort),
        domain=ADMIN,
        column="route",
        fields=[message.alias("message")],
    )


RULE = Rule(
    id="XD-006",
    severity=ERROR,
    description="A given dose's route is allowed by the protocol and equals the "
    "cohort's route (a cohort route the protocol does not allow is left to XD-016).",
    reads=(ADMIN, "subjects", "cohorts"),
    finds=doses_off_route,
    message=None,
    example=change("administrations", 0, route="INTRANODAL"),
)
