"""Dosing rules: what was given agrees with the cohort, the protocol and the lot."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.terms import AdministrationRoute, ReleaseStatus
from trialdata.findings import Severity, findings_frame
from trialdata.validation.context import RuleContext, lookup, map_values
from trialdata.validation.rules import rule
from trialdata.validation.rules._frames import (
    at_hits,
    column_text,
    day,
    day_numbers,
    equal_to,
    has_columns,
    is_false,
    is_true,
    keyed_values,
    not_equal,
    numbers,
    one_of,
    report,
    row_days,
    stripped,
    subject_fact,
    text,
    valid_term,
)

__all__ = [
    "check_dose_matches_cohort",
    "check_dose_matches_protocol",
    "check_given_dose_complete",
    "check_lot_meets_specifications",
    "check_lot_usable",
    "check_not_given_reason",
    "check_route_matches_cohort",
]

ERROR = Severity.ERROR
ADMIN = "administrations"


def _admin_label(h: pd.DataFrame) -> pd.Series:
    """Return 'administration <seq> of subject <id>' for messages (``-`` if absent).

    Parameters
    ----------
    h : pandas.DataFrame
        The flagged administrations.

    Returns
    -------
    pandas.Series
        One label per row of ``h``.
    """
    return (
        "administration "
        + column_text(h, "admin_seq")
        + " of subject "
        + column_text(h, "subject_id")
    )


def _cohort_fact(ctx: RuleContext, admin: pd.DataFrame, column: str) -> pd.Series:
    """Return a column of each administration's subject's cohort.

    The cohort's value is looked up once per subject, then once per distinct
    subject of the administrations (:func:`keyed_values`).
    """
    cohorts, subjects = ctx.tables["cohorts"], ctx.table("subjects")
    if not has_columns(cohorts, "cohort_id", column):
        return pd.Series(pd.NA, index=admin.index, dtype="object")
    if not has_columns(subjects, "subject_id", "cohort_id"):
        cohort_id = subject_fact(ctx, admin["subject_id"], "cohort_id")
        return lookup(cohort_id, cohorts, "cohort_id", column)
    assert subjects is not None
    per_subject = lookup(subjects["cohort_id"], cohorts, "cohort_id", column)
    return keyed_values(
        ctx, admin, "subject_id", per_subject.set_axis(subjects["subject_id"])
    )


@rule(
    "XD-005",
    ERROR,
    "A given dose's dose_level equals the dose level of the subject's cohort "
    "(a cohort at a level the protocol lacks is left to XD-015).",
    requires=(ADMIN, "subjects", "cohorts"),
)
def check_dose_matches_cohort(ctx: RuleContext) -> pd.DataFrame:
    """Flag given doses at another dose level than the subject's cohort (XD-005)."""
    admin = ctx.tables[ADMIN]
    if not has_columns(admin, "subject_id", "given", "dose_level"):
        return findings_frame([])
    planned = numbers(
        pd.to_numeric(_cohort_fact(ctx, admin, "dose_level"), errors="coerce")
    )
    # A cohort at a level the protocol lacks is reported once, by XD-015.
    planned[~np.isin(planned, [d.level for d in ctx.protocol.dose_levels])] = np.nan
    given_level = numbers(pd.to_numeric(admin["dose_level"], errors="coerce"))
    mask = is_true(admin["given"]).to_numpy() & (given_level != planned)
    mask &= ~np.isnan(planned) & ~np.isnan(given_level)
    return report(
        admin,
        mask,
        domain=ADMIN,
        rule="XD-005",
        severity=ERROR,
        column="dose_level",
        message=lambda h: (
            "dose level "
            + text(h["dose_level"])
            + " given but subject "
            + text(h["subject_id"])
            + " is in a cohort at dose level "
            + text(at_hits(planned, admin, h).astype("Int64"))
        ),
    )


@rule(
    "XD-006",
    ERROR,
    "A given dose's route is allowed by the protocol and equals the cohort's route "
    "(a cohort route the protocol does not allow is left to XD-016).",
    requires=(ADMIN, "subjects", "cohorts"),
)
def check_route_matches_cohort(ctx: RuleContext) -> pd.DataFrame:
    """Flag doses by a route other than the cohort's or the protocol's (XD-006)."""
    admin = ctx.tables[ADMIN]
    if not has_columns(admin, "subject_id", "given", "route"):
        return findings_frame([])
    allowed = [str(r) for r in ctx.protocol.routes]
    route = admin["route"]
    planned = _cohort_fact(ctx, admin, "route")
    base = is_true(admin["given"]).to_numpy() & valid_term(route, AdministrationRoute)
    off_protocol = base & ~one_of(route, allowed)
    off_cohort = (
        base
        & ~off_protocol
        & one_of(planned, allowed)  # other cohort routes are reported by XD-016
        & not_equal(route, planned)
    )

    def message(h: pd.DataFrame) -> pd.Series:
        cohort_text = (
            "route "
            + text(h["route"])
            + " given but subject "
            + text(h["subject_id"])
            + "'s cohort is dosed "
            + text(planned.loc[h.index].astype("string"))
        )
        protocol_text = (
            "route "
            + text(h["route"])
            + f" is not allowed by the protocol (allowed: {', '.join(allowed)})"
        )
        return protocol_text.where(at_hits(off_protocol, admin, h), cohort_text)

    return report(
        admin,
        off_protocol | off_cohort,
        domain=ADMIN,
        rule="XD-006",
        severity=ERROR,
        column="route",
        message=message,
    )


@rule(
    "XD-017",
    ERROR,
    "A given dose's dose_amount and dose_unit equal the protocol's for its dose level.",
    requires=(ADMIN,),
)
def check_dose_matches_protocol(ctx: RuleContext) -> pd.DataFrame:
    """Flag given doses whose amount or unit differ from the protocol's (XD-017)."""
    admin = ctx.tables[ADMIN]
    if not has_columns(admin, "given", "dose_level"):
        return findings_frame([])
    levels = ctx.protocol.dose_levels
    level = numbers(pd.to_numeric(admin["dose_level"], errors="coerce"))
    known = pd.Index([float(d.level) for d in levels])
    at = known.get_indexer(pd.Index(level))  # each dose's level's position, or -1
    amount = pd.Series(
        np.append([d.amount for d in levels], np.nan)[at], index=admin.index
    )
    unit = pd.Series(
        pd.array([d.unit for d in levels], dtype="string").take(at, allow_fill=True),
        index=admin.index,
    )
    base = is_true(admin["given"]).to_numpy() & (at >= 0)
    frames = []
    if has_columns(admin, "dose_amount"):
        given_amount = numbers(pd.to_numeric(admin["dose_amount"], errors="coerce"))
        close = np.isclose(given_amount, amount.to_numpy(), rtol=1e-6)
        mask = base & ~np.isnan(given_amount) & ~close
        frames.append(
            report(
                admin,
                mask,
                domain=ADMIN,
                rule="XD-017",
                severity=ERROR,
                column="dose_amount",
                message=lambda h: (
                    "dose amount "
                    + text(h["dose_amount"])
                    + " does not match dose level "
                    + text(h["dose_level"])
                    + " of the protocol ("
                    + text(amount.loc[h.index])
                    + " "
                    + text(unit.loc[h.index])
                    + ")"
                ),
            )
        )
    if has_columns(admin, "dose_unit"):
        given_unit = stripped(ctx, admin, "dose_unit")
        mask = base & not_equal(given_unit, unit)  # a level's unit is never missing
        frames.append(
            report(
                admin,
                mask,
                domain=ADMIN,
                rule="XD-017",
                severity=ERROR,
                column="dose_unit",
                message=lambda h: (
                    "dose unit "
                    + text(h["dose_unit"])
                    + " differs from the protocol's unit for dose level "
                    + text(h["dose_level"])
                    + " ("
                    + text(unit.loc[h.index])
                    + ")"
                ),
            )
        )
    return findings_frame(frames)


@rule(
    "XD-008",
    ERROR,
    "A given dose's lot is RELEASED, and the dose is on or after the lot's "
    "release_date and not after its expiry_date.",
    requires=(ADMIN, "product_lots"),
)
def check_lot_usable(ctx: RuleContext) -> pd.DataFrame:
    """Flag doses from unreleased lots, before release or after expiry (XD-008)."""
    admin, lots = ctx.tables[ADMIN], ctx.tables["product_lots"]
    if not has_columns(admin, "given", "lot_id") or not has_columns(lots, "lot_id"):
        return findings_frame([])
    lot = ctx.codes(admin, "lot_id")
    given = is_true(admin["given"]).to_numpy() & lot.is_in(lots["lot_id"])
    frames = []
    if has_columns(lots, "release_status"):
        status = _by_lot(lots, "release_status")
        frames.append(
            report(
                admin,
                given & lot.lookup(status, _unreleased, False),
                domain=ADMIN,
                rule="XD-008",
                severity=ERROR,
                column="lot_id",
                message=lambda h: (
                    "lot "
                    + text(h["lot_id"])
                    + " was administered while its release status is "
                    + text(map_values(h["lot_id"], status).astype("string"))
                ),
            )
        )
    if has_columns(admin, "admin_date"):
        when = row_days(ctx, admin, "admin_date")
        for bound, too_early, words in (
            ("release_date", True, "before the lot's release date"),
            ("expiry_date", False, "after the lot's expiry date"),
        ):
            if bound not in lots.columns:
                continue
            limits = _by_lot(lots, bound)
            limit = lot.lookup(limits, day_numbers, np.nan)
            frames.append(
                report(
                    admin,
                    given & (when < limit if too_early else when > limit),
                    domain=ADMIN,
                    rule="XD-008",
                    severity=ERROR,
                    column="admin_date",
                    message=lambda h, limits=limits, words=words: (
                        "lot "
                        + text(h["lot_id"])
                        + " administered on "
                        + text(day(h["admin_date"]))
                        + f", {words} "
                        + text(day(map_values(h["lot_id"], limits)))
                    ),
                )
            )
    return findings_frame(frames)


def _by_lot(lots: pd.DataFrame, column: str) -> pd.Series:
    """Return a column of product_lots indexed by lot_id.

    Missing and repeated lot ids are kept: the lookups skip them (first lot wins).
    """
    return lots[column].set_axis(lots["lot_id"])


def _unreleased(status: pd.Series) -> np.ndarray:
    """Return which release statuses are valid terms other than RELEASED."""
    released = equal_to(status, ReleaseStatus.RELEASED.value)
    return valid_term(status, ReleaseStatus) & ~released


@rule(
    "XD-020",
    ERROR,
    "A RELEASED lot meets every release specification of the protocol.",
    requires=("product_lots",),
)
def check_lot_meets_specifications(ctx: RuleContext) -> pd.DataFrame:
    """Flag released lots outside a protocol release specification (XD-020)."""
    lots = ctx.tables["product_lots"]
    if not has_columns(lots, "release_status"):
        return findings_frame([])
    released = lots["release_status"].eq(ReleaseStatus.RELEASED.value)
    frames = []
    for spec in ctx.protocol.release_specifications:
        if not has_columns(lots, spec.attribute):
            continue
        result = pd.to_numeric(lots[spec.attribute], errors="coerce")
        low = result.lt(spec.min) if spec.min is not None else False
        high = result.gt(spec.max) if spec.max is not None else False
        bounds = " and ".join(
            part
            for part in (
                f"at least {spec.min:g}" if spec.min is not None else "",
                f"at most {spec.max:g}" if spec.max is not None else "",
            )
            if part
        )
        frames.append(
            report(
                lots,
                released & (low | high),
                domain="product_lots",
                rule="XD-020",
                severity=ERROR,
                column=spec.attribute,
                message=lambda h, spec=spec, bounds=bounds: (
                    "released lot "
                    + column_text(h, "lot_id")
                    + f" has {spec.attribute} "
                    + text(h[spec.attribute])
                    + f"; the release specification requires {bounds}"
                ),
            )
        )
    return findings_frame(frames)


@rule(
    "AD-001",
    ERROR,
    "A planned dose not given (given = N) has a reason_not_given.",
    requires=(ADMIN,),
)
def check_not_given_reason(ctx: RuleContext) -> pd.DataFrame:
    """Flag doses not given without a reason (AD-001)."""
    admin = ctx.tables[ADMIN]
    if not has_columns(admin, "given"):
        return findings_frame([])
    if not has_columns(admin, "reason_not_given"):
        return findings_frame([])  # the missing column is reported by the reader
    reason = stripped(ctx, admin, "reason_not_given")
    missing = reason.isna() | reason.eq("")
    return report(
        admin,
        is_false(admin["given"]) & missing.fillna(True).astype(bool),
        domain=ADMIN,
        rule="AD-001",
        severity=ERROR,
        column="reason_not_given",
        message=lambda h: (
            _admin_label(h) + " was not given but no reason_not_given is recorded"
        ),
    )


@rule(
    "AD-002",
    ERROR,
    "A given dose (given = Y) has admin_date, dose_level, route and lot_id.",
    requires=(ADMIN,),
)
def check_given_dose_complete(ctx: RuleContext) -> pd.DataFrame:
    """Flag given doses missing their date, dose level, route or lot (AD-002)."""
    admin = ctx.tables[ADMIN]
    if not has_columns(admin, "given"):
        return findings_frame([])
    given = is_true(admin["given"])
    frames = []
    for column in ("admin_date", "dose_level", "route", "lot_id"):
        if not has_columns(admin, column):
            continue  # the missing column is reported by the reader
        missing = admin[column].isna()
        frames.append(
            report(
                admin,
                given & missing,
                domain=ADMIN,
                rule="AD-002",
                severity=ERROR,
                column=column,
                message=lambda h, column=column: (
                    _admin_label(h) + f" is recorded as given but {column} is missing"
                ),
            )
        )
    return findings_frame(frames)
