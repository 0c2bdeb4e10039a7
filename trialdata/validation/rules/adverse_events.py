"""Adverse-event consistency rules: dates, seriousness, fatal outcome, grading scale."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.terms import Aesi, GradingScale, Outcome
from trialdata.findings import Severity, findings_frame
from trialdata.validation.context import RuleContext
from trialdata.validation.rules import rule
from trialdata.validation.rules._frames import (
    equal_to,
    has_columns,
    is_false,
    is_true,
    numbers,
    one_of,
    report,
    row_days,
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


def _criterion_flags(ctx: RuleContext) -> dict[str, np.ndarray] | None:
    """Return which seriousness criteria are Y, for the checks against ``serious``.

    Parameters
    ----------
    ctx : RuleContext
        The upload.

    Returns
    -------
    dict of str to numpy.ndarray, or None
        One bool array per criterion column present (missing is false), in schema
        order; None when no criterion column or ``serious`` is present, so that
        AE-002 and AE-003 have nothing to check.
    """
    events = ctx.tables[AE]
    criteria = _criteria(ctx)
    if not criteria or not has_columns(events, "serious"):
        return None
    return {c: is_true(events[c]).to_numpy() for c in criteria}


def _any_criterion(flags: dict[str, np.ndarray]) -> np.ndarray:
    """Return which adverse events have at least one seriousness criterion = Y."""
    return np.logical_or.reduce(list(flags.values()))


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
    onset, resolution = (
        row_days(ctx, events, c) for c in ("onset_date", "resolution_date")
    )
    return report(
        events,
        onset > resolution,  # by calendar day; a missing date is never later
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
    criteria = list(flags)
    return report(
        events,
        is_true(events["serious"]).to_numpy() & ~_any_criterion(flags),
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
        rows = events.index.get_indexer(h.index)
        listed = [", ".join(c for c, yes in flags.items() if yes[r]) for r in rows]
        named = pd.Series(listed, index=h.index, dtype="object")
        return _ae_label(h) + " has serious = N but " + named + " = Y"

    return report(
        events,
        is_false(events["serious"]).to_numpy() & _any_criterion(flags),
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
    outcome, grade = events["outcome"], numbers(events["grade"])
    known = valid_term(outcome, Outcome) & (grade >= 1) & (grade <= 5)
    fatal = equal_to(outcome, Outcome.FATAL.value)
    grade5 = grade == 5
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
    aesi_known = aesi.isna().to_numpy() | valid_term(aesi, Aesi)
    misfit = np.zeros(len(events), dtype=bool)
    for name, fits in SCALE_AESI.items():
        misfit |= equal_to(scale, name) & ~one_of(aesi, list(fits))
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
