"""Adverse-event consistency rules: dates, seriousness, fatal outcome, grading scale."""

from __future__ import annotations

import pandas as pd

from schemas.terms import Aesi, GradingScale, Outcome
from trialdata.findings import Severity, findings_frame
from trialdata.validation.context import RuleContext
from trialdata.validation.rules import rule
from trialdata.validation.rules._frames import (
    day,
    has_columns,
    is_false,
    is_true,
    report,
    text,
    valid_term,
)

__all__ = [
    "SERIOUSNESS_CRITERIA",
    "check_criterion_without_serious",
    "check_fatal_outcome",
    "check_grading_scale",
    "check_onset_before_resolution",
    "check_serious_has_criterion",
]

ERROR, WARNING = Severity.ERROR, Severity.WARNING
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

#: Adverse events of special interest each specialised grading scale is made for.
SCALE_AESI: dict[str, tuple[str, ...]] = {
    GradingScale.ASTCT.value: (Aesi.CRS.value, Aesi.ICANS.value),
    GradingScale.MAGIC.value: (Aesi.GVHD.value,),
}


def _ae_label(h: pd.DataFrame) -> pd.Series:
    """Return 'AE <seq> (<term>) of subject <id>' for messages."""
    return (
        "AE "
        + text(h["ae_seq"])
        + " ("
        + text(h["term"])
        + ") of subject "
        + text(h["subject_id"])
    )


def _criteria(ctx: RuleContext) -> list[str]:
    return [c for c in SERIOUSNESS_CRITERIA if has_columns(ctx.tables[AE], c)]


def _criterion_flags(ctx: RuleContext) -> pd.DataFrame | None:
    """Return which seriousness criteria are Y, for the checks against ``serious``.

    Parameters
    ----------
    ctx : RuleContext
        The upload.

    Returns
    -------
    pandas.DataFrame or None
        One boolean column per criterion column present (missing is false), aligned
        on the adverse events; None when no criterion column or ``serious`` is
        present, so that AE-002 and AE-003 have nothing to check.
    """
    events = ctx.tables[AE]
    criteria = _criteria(ctx)
    if not criteria or not has_columns(events, "serious"):
        return None
    flags = pd.concat([is_true(events[c]) for c in criteria], axis=1)
    flags.columns = pd.Index(criteria)
    return flags


@rule(
    "AE-001",
    ERROR,
    "An adverse event's onset_date is on or before its resolution_date.",
    requires=(AE,),
)
def check_onset_before_resolution(ctx: RuleContext) -> pd.DataFrame:
    """Flag adverse events that resolve before they start (AE-001)."""
    events = ctx.tables[AE]
    if not has_columns(events, "onset_date", "resolution_date"):
        return findings_frame([])
    return report(
        events,
        day(events["onset_date"]).gt(day(events["resolution_date"])),
        domain=AE,
        rule="AE-001",
        severity=ERROR,
        column="resolution_date",
        message=lambda h: (
            _ae_label(h)
            + " resolves on "
            + text(h["resolution_date"])
            + ", before its onset on "
            + text(h["onset_date"])
        ),
    )


@rule(
    "AE-002",
    ERROR,
    "A serious adverse event (serious = Y) has at least one seriousness criterion = Y "
    "(when the criterion columns are present).",
    requires=(AE,),
)
def check_serious_has_criterion(ctx: RuleContext) -> pd.DataFrame:
    """Flag serious adverse events without any seriousness criterion (AE-002)."""
    events = ctx.tables[AE]
    flags = _criterion_flags(ctx)
    if flags is None:
        return findings_frame([])
    criteria = list(flags.columns)
    return report(
        events,
        is_true(events["serious"]) & ~flags.any(axis=1),
        domain=AE,
        rule="AE-002",
        severity=ERROR,
        column="serious",
        message=lambda h: (
            _ae_label(h)
            + " is serious but no seriousness criterion ("
            + ", ".join(criteria)
            + ") is Y"
        ),
    )


@rule(
    "AE-003",
    ERROR,
    "An adverse event with a seriousness criterion = Y is serious (serious = Y).",
    requires=(AE,),
)
def check_criterion_without_serious(ctx: RuleContext) -> pd.DataFrame:
    """Flag non-serious adverse events that have a seriousness criterion (AE-003)."""
    events = ctx.tables[AE]
    flags = _criterion_flags(ctx)
    if flags is None:
        return findings_frame([])

    def message(h: pd.DataFrame) -> pd.Series:
        hit = flags.loc[h.index]
        named = hit.apply(lambda col: col.map({True: col.name + ", ", False: ""}))
        listed = named.sum(axis=1).str.rstrip(", ")
        return _ae_label(h) + " has serious = N but " + listed + " = Y"

    return report(
        events,
        is_false(events["serious"]) & flags.any(axis=1),
        domain=AE,
        rule="AE-003",
        severity=ERROR,
        column="serious",
        message=message,
    )


@rule(
    "AE-004",
    ERROR,
    "An adverse event's outcome is FATAL if and only if its grade is 5.",
    requires=(AE,),
)
def check_fatal_outcome(ctx: RuleContext) -> pd.DataFrame:
    """Flag FATAL outcomes not of grade 5 and grade 5 not FATAL (AE-004)."""
    events = ctx.tables[AE]
    if not has_columns(events, "outcome", "grade"):
        return findings_frame([])
    outcome, grade = events["outcome"], events["grade"]
    known = valid_term(outcome, Outcome) & grade.between(1, 5).fillna(False).astype(
        bool
    )
    fatal = outcome.eq(Outcome.FATAL.value)
    grade5 = grade.eq(5).fillna(False).astype(bool)
    return report(
        events,
        known & (fatal != grade5),
        domain=AE,
        rule="AE-004",
        severity=ERROR,
        column="outcome",
        message=lambda h: (
            _ae_label(h)
            + " has outcome "
            + text(h["outcome"])
            + " with grade "
            + text(h["grade"])
            + "; FATAL goes with grade 5 and grade 5 with FATAL"
        ),
    )


@rule(
    "AE-005",
    WARNING,
    "The grading scale fits the event: ASTCT only for CRS or ICANS, MAGIC only "
    "for GVHD.",
    requires=(AE,),
)
def check_grading_scale(ctx: RuleContext) -> pd.DataFrame:
    """Flag specialised grading scales used for other events (AE-005)."""
    events = ctx.tables[AE]
    if not has_columns(events, "grading_scale", "aesi"):
        return findings_frame([])
    scale, aesi = events["grading_scale"], events["aesi"]
    aesi_known = aesi.isna() | valid_term(aesi, Aesi)
    misfit = pd.Series(False, index=events.index)
    for name, fits in SCALE_AESI.items():
        misfit |= scale.eq(name) & ~aesi.isin(fits)
    return report(
        events,
        misfit & aesi_known,
        domain=AE,
        rule="AE-005",
        severity=WARNING,
        column="grading_scale",
        message=lambda h: (
            _ae_label(h)
            + " is graded on "
            + text(h["grading_scale"])
            + " but its AESI is "
            + text(h["aesi"].fillna("not recorded"))
            + " (ASTCT is for CRS and ICANS, MAGIC for GVHD)"
        ),
    )
