"""XD-023: each cohort is dosed at the level the protocol's design allowed then.

The escalation is rebuilt from the dosing dates with the analysis datasets
(:func:`analyses.datasets.derive_adsl`, at the latest date of the upload) and
checked by :func:`analyses.dose_finding.review_design_adherence`, the review the
DMC report shows. A cohort the design did not allow is one finding, on the first
given dose of its first dosed subject (the dose ADSL counts from); where two
cohorts' findings fall on one dose, the later cohort's reason is kept.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import polars as pl

from analyses.datasets import derive_adsl, latest_date
from analyses.dose_finding.adherence import review_design_adherence
from analyses.dosing import first_given_rows
from trialdata.validation.rule import WARNING, Change, Rule, Upload, flagged, union

ADMIN = "administrations"
#: The domains ADSL reads to rebuild the escalation.
ESCALATION_DOMAINS = ("subjects", "cohorts", ADMIN, "adverse_events")
#: What identifies a cohort in the review: its ADSL subjects share these.
_COHORT = ("cohort_id", "dose_level", "escalation_group")


def _deviations(upload: Upload) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Return the review's deviations and ADSL, or None when it cannot be rebuilt.

    Tables with repeated or missing keys are reported by the schema (SC-KEY), and
    missing or unusable columns elsewhere: the review is then not run.
    """
    cutoff = latest_date(upload.tables)
    if cutoff is None:
        return None
    tables = {name: upload.tables[name] for name in ESCALATION_DOMAINS}
    for name, key in (("subjects", "subject_id"), ("cohorts", "cohort_id")):
        if key not in tables[name] or tables[name][key].duplicated().any():
            return None
    if "survival_status" in upload.tables:
        tables["survival_status"] = upload.tables["survival_status"]
    try:
        adsl = derive_adsl(tables, upload.protocol, cutoff=cutoff)
        review = review_design_adherence(adsl, upload.protocol)
    except (KeyError, ValueError):
        return None
    return review.deviations, adsl


def _cohort_keys(frame: pd.DataFrame, *more: str) -> pl.LazyFrame:
    """Return the cohort columns of a small pandas frame, typed alike for joins."""
    return (
        pl.from_pandas(frame[[*_COHORT, *more]])
        .lazy()
        .with_columns(
            pl.col("cohort_id", "escalation_group").cast(pl.String),
            pl.col("dose_level").cast(pl.Float64),
        )
    )


def design_deviations(upload: Upload) -> pl.LazyFrame:
    """Return the first given dose of each cohort the design did not allow."""
    found = _deviations(upload)
    if found is None or found[0].empty:
        return union([])
    deviations, adsl = found
    first_rows = first_given_rows(upload.tables[ADMIN]).rename("position")
    subjects = _cohort_keys(adsl, "subject_id", "first_dose_date").with_columns(
        pl.col("subject_id").cast(pl.String)
    )
    starts = (
        _cohort_keys(deviations, "reason")
        .with_row_index("deviation")
        .join(subjects, on=list(_COHORT))
        .join(_positions(first_rows), on="subject_id", nulls_equal=True)
        .sort(
            "deviation",
            "first_dose_date",
            "subject_id",
            nulls_last=True,
            maintain_order=True,
        )
        .group_by("deviation", maintain_order=True)
        .first()
        .group_by("position", maintain_order=True)
        .last()
        .select("position", pl.col("reason").alias("message"))
    )
    position = pl.int_range(pl.len(), dtype=pl.Int64).alias("position")
    doses = upload.frame(ADMIN).with_columns(position).join(starts, on="position")
    return flagged(doses, domain=ADMIN, column="dose_level", fields=["message"])


def _positions(rows: pd.Series) -> pl.LazyFrame:
    """Return first-dose row positions by subject (``subject_id``, ``position``)."""
    frame = rows.reset_index()
    return (
        pl.from_pandas(frame)
        .lazy()
        .select(
            pl.col("subject_id").cast(pl.String),
            pl.col("position").cast(pl.Int64),
        )
    )


def _dose_cohort_at(cohort: str, level: int, admin_rows: list[int]) -> Change:
    """Return a change moving a cohort and its doses to another dose level."""

    def change(records: dict[str, list[dict[str, Any]]]) -> None:
        for row in records["cohorts"]:
            if row["cohort_id"] == cohort:
                row["dose_level"] = level
        for index in admin_rows:
            records[ADMIN][index].update(dose_level=level, dose_amount=5.0 * level)

    return change


RULE = Rule(
    id="XD-023",
    severity=WARNING,
    description="Every cohort is dosed at the level the protocol's design allowed "
    "when it started (start dose, the design's decision on the DLTs known then, no "
    "cohort started while an earlier subject was in the DLT window, max_subjects; "
    "expansion and backfill no higher than the level cleared).",
    reads=ESCALATION_DOMAINS,
    finds=design_deviations,
    message=None,
    example=_dose_cohort_at("C2", 2, [2]),
)
