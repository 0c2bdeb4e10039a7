"""XD-013: every subject's site is one of the protocol's sites."""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union
from trialdata.validation.rules._references import known_values, unknown_references


def subjects_at_unknown_sites(upload: Upload) -> pl.LazyFrame:
    """Return the subjects enrolled at a site the protocol does not list."""
    if not upload.has_columns("subjects", "site_id"):
        return union([])
    sites = upload.protocol.site_ids
    rows = unknown_references(
        upload.frame("subjects"), "site_id", known_values(sites, "site_id")
    )
    return flagged(
        rows,
        domain="subjects",
        column="site_id",
        fields=[pl.lit(", ".join(sites)).alias("sites")],
    )


RULE = Rule(
    id="XD-013",
    severity=ERROR,
    description="subjects.site_id is one of the protocol's sites.",
    reads=("subjects",),
    finds=subjects_at_unknown_sites,
    message="site {value} is not a protocol site (protocol sites: {sites})",
    example=change("subjects", 0, site_id="RTD"),
)
