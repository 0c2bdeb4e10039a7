"""Dosing rules: what was given agrees with the cohort, the protocol and the lot."""

from __future__ import annotations

import numpy as np
import pandas as pd

from schemas.terms import AdministrationRoute, ReleaseStatus
from trialdata.findings import Severity, findings_frame
from trialdata.validation.context import RuleContext, lookup, map_values
from trialdata.validation.rules import rule
from trialdata.validation.rules._frames import (
    column_text,
    day,
    day_numbers,
    has_columns,
    is_false,
    is_true,
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
    """Return a column of each administration's subject's cohort."""
    cohorts = ctx.tables["cohorts"]
    cohort_id = subject_fact(ctx, admin["subject_id"], "cohort_id")
    if not has_columns(cohorts, "cohort_id", column):
        return pd.Series(pd.NA, index=admin.index, dtype="object")
    return lookup(cohort_id, cohorts, "cohort_id", column)


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
    planned = pd.to_numeric(_cohort_fact(ctx, admin, "dose_level"), errors="coerce")
    # A cohort at a level the protocol lacks is reported once, by XD-015.
    planned = planned.where(planned.isin([d.level for d in ctx.protocol.dose_levels]))
    given_level = pd.to_numeric(admin["dose_level"], errors="coerce")
    mask = is_true(admin["given"]) & planned.notna() & given_level.notna()
    mask &= given_level.ne(planned).fillna(False).astype(bool)
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
            + text(planned.loc[h.index].astype("Int64"))
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
    base = is_true(admin["given"]) & valid_term(route, AdministrationRoute)
    off_protocol = base & ~route.isin(allowed)
    off_cohort = (
        base
        & ~off_protocol
        & planned.isin(allowed)  # other cohort routes are reported by XD-016
        & route.ne(planned).fillna(False).astype(bool)
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
        return protocol_text.where(off_protocol.loc[h.index], cohort_text)

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
    levels = {d.level: d for d in ctx.protocol.dose_levels}
    level = pd.to_numeric(admin["dose_level"], errors="coerce")
    amount = level.map({k: d.amount for k, d in levels.items()})
    unit = level.map({k: d.unit for k, d in levels.items()})
    base = is_true(admin["given"]) & level.isin(list(levels))
    frames = []
    if has_columns(admin, "dose_amount"):
        given_amount = pd.to_numeric(admin["dose_amount"], errors="coerce")
        close = np.isclose(
            given_amount.to_numpy(dtype=float, na_value=np.nan),
            amount.to_numpy(dtype=float, na_value=np.nan),
            rtol=1e-6,
        )
        mask = base & given_amount.notna() & ~pd.Series(close, index=admin.index)
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
        mask = base & given_unit.notna() & given_unit.ne(unit).fillna(True).astype(bool)
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
    valid = valid_term(status.astype("object"), ReleaseStatus)
    other = status.ne(ReleaseStatus.RELEASED.value).fillna(False).astype(bool)
    return (valid & other).to_numpy(dtype=bool)


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
