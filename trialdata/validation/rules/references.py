"""Referential rules: every reference between tables, and to the protocol, resolves."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.terms import AdministrationRoute
from trialdata.findings import Severity, findings_frame
from trialdata.validation.context import RuleContext
from trialdata.validation.rules import rule
from trialdata.validation.rules._domains import SUBJECT_DOMAINS
from trialdata.validation.rules._frames import (
    MessageBuilder,
    column_text,
    has_columns,
    is_true,
    report,
    text,
    valid_identifier,
    valid_term,
)

__all__ = [
    "check_administered_lot_exists",
    "check_cohort_dose_level",
    "check_cohort_route",
    "check_custody_sample_exists",
    "check_parent_sample_exists",
    "check_subject_cohort",
    "check_subject_exists",
    "check_subject_site",
]

ERROR = Severity.ERROR


def _unknown(
    ctx: RuleContext, data: pd.DataFrame, column: str, known: pd.Series
) -> np.ndarray:
    """Mask of well-formed references in ``data[column]`` not among ``known``."""
    missing = ctx.codes(data, column).is_in(known, negate=True)
    if missing.any():  # the format check only on the few unmatched values
        missing[missing] = valid_identifier(data[column][missing]).to_numpy()
    return missing


def _report_unknown(
    ctx: RuleContext,
    data: pd.DataFrame | None,
    column: str,
    known: pd.DataFrame,
    key: str,
    *,
    domain: str,
    rule: str,
    message: MessageBuilder,
    given_only: bool = False,
) -> pd.DataFrame:
    """Report the rows whose reference ``column`` is not among ``known[key]``.

    Parameters
    ----------
    ctx : RuleContext
        The upload.
    data : pandas.DataFrame or None
        The referring table; nothing is reported when it, ``column`` (or ``given``)
        or ``known[key]`` is absent.
    column : str
        The referring column.
    known : pandas.DataFrame
        The referred table.
    key : str
        Its identifier column.
    domain, rule : str
        Domain of ``data`` and rule identifier (severity ERROR).
    message : callable
        ``message(hits) -> Series or str`` for the flagged rows.
    given_only : bool, optional
        Check only rows with ``given`` = Y (administrations).

    Returns
    -------
    pandas.DataFrame
        The findings, about ``column``; malformed references are left to the schema
        check (see :func:`_unknown`).
    """
    needed = (column, "given") if given_only else (column,)
    if not has_columns(data, *needed) or not has_columns(known, key):
        return findings_frame([])
    assert data is not None
    missing = _unknown(ctx, data, column, known[key])
    if given_only:
        missing &= is_true(data["given"]).to_numpy()
    return report(
        data,
        missing,
        domain=domain,
        rule=rule,
        severity=ERROR,
        column=column,
        message=message,
    )


@rule(
    "XD-001",
    ERROR,
    "Every record's subject_id exists in subjects.",
    requires=("subjects",),
)
def check_subject_exists(ctx: RuleContext) -> pd.DataFrame:
    """Flag records whose subject is not in the subjects table (XD-001)."""
    subjects = ctx.tables["subjects"]
    return findings_frame(
        [
            _report_unknown(
                ctx,
                ctx.table(name),
                "subject_id",
                subjects,
                "subject_id",
                domain=name,
                rule="XD-001",
                message=lambda h: (
                    "subject "
                    + text(h["subject_id"])
                    + " is not in subjects; correct the id or upload the subject"
                ),
            )
            for name in SUBJECT_DOMAINS
        ]
    )


@rule(
    "XD-013",
    ERROR,
    "subjects.site_id is one of the protocol's sites.",
    requires=("subjects",),
)
def check_subject_site(ctx: RuleContext) -> pd.DataFrame:
    """Flag subjects enrolled at a site the protocol does not list (XD-013)."""
    subjects = ctx.tables["subjects"]
    if not has_columns(subjects, "site_id"):
        return findings_frame([])
    sites = pd.Series(ctx.protocol.site_ids, dtype="object")
    listed = ", ".join(ctx.protocol.site_ids)
    return report(
        subjects,
        _unknown(ctx, subjects, "site_id", sites),
        domain="subjects",
        rule="XD-013",
        severity=ERROR,
        column="site_id",
        message=lambda h: (
            "site "
            + text(h["site_id"])
            + f" is not a protocol site (protocol sites: {listed})"
        ),
    )


@rule(
    "XD-014",
    ERROR,
    "subjects.cohort_id exists in cohorts.",
    requires=("subjects", "cohorts"),
)
def check_subject_cohort(ctx: RuleContext) -> pd.DataFrame:
    """Flag subjects whose cohort is not in the cohorts table (XD-014)."""
    return _report_unknown(
        ctx,
        ctx.tables["subjects"],
        "cohort_id",
        ctx.tables["cohorts"],
        "cohort_id",
        domain="subjects",
        rule="XD-014",
        message=lambda h: "cohort " + text(h["cohort_id"]) + " is not in cohorts",
    )


@rule(
    "XD-015",
    ERROR,
    "cohorts.dose_level is one of the protocol's dose levels.",
    requires=("cohorts",),
)
def check_cohort_dose_level(ctx: RuleContext) -> pd.DataFrame:
    """Flag cohorts planned at a dose level the protocol does not define (XD-015)."""
    cohorts = ctx.tables["cohorts"]
    if not has_columns(cohorts, "dose_level"):
        return findings_frame([])
    levels = [d.level for d in ctx.protocol.dose_levels]
    level = cohorts["dose_level"]
    return report(
        cohorts,
        level.notna() & ~level.isin(levels),
        domain="cohorts",
        rule="XD-015",
        severity=ERROR,
        column="dose_level",
        message=lambda h: (
            "cohort "
            + column_text(h, "cohort_id")
            + " has dose level "
            + text(h["dose_level"])
            + f"; the protocol defines levels {levels[0]} to {levels[-1]}"
        ),
    )


@rule(
    "XD-016",
    ERROR,
    "cohorts.route is one of the protocol's routes.",
    requires=("cohorts",),
)
def check_cohort_route(ctx: RuleContext) -> pd.DataFrame:
    """Flag cohorts planned by a route the protocol does not allow (XD-016)."""
    cohorts = ctx.tables["cohorts"]
    if not has_columns(cohorts, "route"):
        return findings_frame([])
    allowed = [str(r) for r in ctx.protocol.routes]
    route = cohorts["route"]
    return report(
        cohorts,
        valid_term(route, AdministrationRoute) & ~route.isin(allowed),
        domain="cohorts",
        rule="XD-016",
        severity=ERROR,
        column="route",
        message=lambda h: (
            "cohort "
            + column_text(h, "cohort_id")
            + " route "
            + text(h["route"])
            + f" is not allowed by the protocol (allowed: {', '.join(allowed)})"
        ),
    )


@rule(
    "XD-007",
    ERROR,
    "The lot of every given administration exists in product_lots.",
    requires=("administrations", "product_lots"),
)
def check_administered_lot_exists(ctx: RuleContext) -> pd.DataFrame:
    """Flag given doses whose lot is not in product_lots (XD-007)."""
    return _report_unknown(
        ctx,
        ctx.tables["administrations"],
        "lot_id",
        ctx.tables["product_lots"],
        "lot_id",
        domain="administrations",
        rule="XD-007",
        message=lambda h: (
            "lot " + text(h["lot_id"]) + " was administered but is not in product_lots"
        ),
        given_only=True,
    )


@rule(
    "XD-018",
    ERROR,
    "Every biobank parent_sample_id exists in biobank_samples.",
    requires=("biobank_samples",),
)
def check_parent_sample_exists(ctx: RuleContext) -> pd.DataFrame:
    """Flag aliquots whose parent sample is not in biobank_samples (XD-018)."""
    samples = ctx.tables["biobank_samples"]
    return _report_unknown(
        ctx,
        samples,
        "parent_sample_id",
        samples,
        "sample_id",
        domain="biobank_samples",
        rule="XD-018",
        message=lambda h: (
            "parent sample "
            + text(h["parent_sample_id"])
            + " of sample "
            + text(h["sample_id"])
            + " is not in biobank_samples"
        ),
    )


@rule(
    "XD-019",
    ERROR,
    "Every custody event's sample_id exists in biobank_samples.",
    requires=("custody_events", "biobank_samples"),
)
def check_custody_sample_exists(ctx: RuleContext) -> pd.DataFrame:
    """Flag custody events of samples that are not in biobank_samples (XD-019)."""
    return _report_unknown(
        ctx,
        ctx.tables["custody_events"],
        "sample_id",
        ctx.tables["biobank_samples"],
        "sample_id",
        domain="custody_events",
        rule="XD-019",
        message=lambda h: (
            "custody event for sample "
            + text(h["sample_id"])
            + ", which is not in biobank_samples"
        ),
    )
