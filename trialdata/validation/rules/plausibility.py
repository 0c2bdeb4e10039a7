"""Plausibility: dates that cannot be true, and required domains without records.

A trial record cannot be dated after the day its upload is validated (the upload
date), nor before :data:`EARLIEST_TRIAL_DATE`: an adverse event in 2099 or a consent
in 1900 is a typing error, and left in it moves every derived date (the default
cut-off of the analysis datasets is the latest date of the upload). Dates that look
ahead by design (:data:`FORWARD_DATES`: a lot's expiry, a sample's storage limit)
may lie in the future. Birth years are not dates: the subjects schema holds them to
their own range.

A domain the protocol requires must hold records: a required file with only its
header row is reported as the missing file is (RD-006).
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

from schemas.domains import DOMAINS
from trialdata.findings import Finding, Severity, findings_frame
from trialdata.validation.context import NS_PER_DAY, SOURCE_FILE, RuleContext
from trialdata.validation.rules import rule
from trialdata.validation.rules._frames import has_columns, report, text

__all__ = [
    "DATE_COLUMNS",
    "EARLIEST_TRIAL_DATE",
    "FORWARD_DATES",
    "check_date_plausibility",
    "check_required_domains_have_records",
    "find_implausible_dates",
]

#: The earliest plausible date of any trial record: consent, dosing, sampling,
#: assessments, lot manufacture. Cell-therapy trials with today's data standards
#: started well after it; a date before it is a typing error.
EARLIEST_TRIAL_DATE = datetime.date(1990, 1, 1)

#: Date columns that look ahead by design and may lie after the upload date.
FORWARD_DATES: frozenset[tuple[str, str]] = frozenset(
    {("product_lots", "expiry_date"), ("biobank_samples", "storage_limit_date")}
)

#: Every date (or date-time) column of every domain, from the schemas.
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    spec.name: tuple(c for c in spec.columns if spec.column_kinds[c] == "datetime")
    for spec in DOMAINS
}

_NAT = np.iinfo(np.int64).min  # NaT as int64


def _day_start(day: datetime.date) -> int:
    """Return midnight of a calendar day as nanoseconds since 1970-01-01."""
    return (day - datetime.date(1970, 1, 1)).days * NS_PER_DAY


def _moments(values: pd.Series) -> np.ndarray:
    """Return a date column as int64 nanoseconds, NaT as int64's minimum."""
    if values.dtype.kind != "M" and not isinstance(values.dtype, pd.DatetimeTZDtype):
        values = pd.to_datetime(values, errors="coerce")
    if isinstance(values.dtype, pd.DatetimeTZDtype):  # its own calendar day
        values = values.dt.tz_localize(None)
    return values.to_numpy(dtype="datetime64[ns]").view(np.int64)


def _within(
    values: pd.Series, earliest: datetime.date, latest: datetime.date | None
) -> bool:
    """Return whether every date of a column lies in [earliest, latest] (by day).

    Decided on the column's lowest and highest value (missing values are skipped),
    without a pass over the rows; False when the column is not typed as dates.
    """
    if values.dtype.kind != "M" or not len(values):
        return False
    low, high = values.min(), values.max()
    if pd.isna(low):
        return True  # no date at all
    if low.date() < earliest:
        return False
    return latest is None or high.date() <= latest


def find_implausible_dates(
    ctx: RuleContext,
    today: datetime.date | None = None,
    earliest: datetime.date = EARLIEST_TRIAL_DATE,
) -> pd.DataFrame:
    """Report dates after the upload date or before the earliest plausible date.

    Parameters
    ----------
    ctx : RuleContext
        The upload.
    today : datetime.date, optional
        The upload date: the day validation runs, ``datetime.date.today()`` by
        default. A date (or date-time) on a later calendar day is in the future.
    earliest : datetime.date, optional
        The earliest plausible trial date (:data:`EARLIEST_TRIAL_DATE`).

    Returns
    -------
    pandas.DataFrame
        One XD-024 error per implausible value, naming its file, row, column and
        value; columns of :data:`FORWARD_DATES` are checked against ``earliest``
        only.
    """
    today = datetime.date.today() if today is None else today
    tomorrow = _day_start(today + datetime.timedelta(days=1))
    first = _day_start(earliest)
    frames = []
    for name, columns in DATE_COLUMNS.items():
        data = ctx.table(name)
        if data is None or not len(data):
            continue
        for column in columns:
            if not has_columns(data, column):
                continue
            forward = (name, column) in FORWARD_DATES
            if _within(data[column], earliest, None if forward else today):
                continue  # decided on the column's lowest and highest date
            moments = _moments(data[column])
            early = (moments < first) & (moments != _NAT)
            late = np.zeros_like(early) if forward else moments >= tomorrow
            bad = early | late
            if not bad.any():
                continue
            # why each flagged row is flagged, in the order report() gives the rows
            why = np.where(
                late[bad],
                f"is after the upload date {today.isoformat()}: a date cannot lie "
                "in the future",
                f"is before {earliest.isoformat()}, the earliest plausible trial date",
            )
            frames.append(
                report(
                    data,
                    bad,
                    domain=name,
                    rule="XD-024",
                    severity=Severity.ERROR,
                    column=column,
                    message=lambda h, c=column, w=why: (
                        c + " " + text(h[c]) + " " + pd.Series(w, index=h.index)
                    ),
                )
            )
    return findings_frame(frames)


@rule(
    "XD-024",
    Severity.ERROR,
    "Every date of every domain is on or before the upload date (the day of "
    f"validation) and on or after {EARLIEST_TRIAL_DATE.isoformat()}; a lot's "
    "expiry_date and a sample's storage_limit_date may lie ahead.",
    requires=(),
)
def check_date_plausibility(ctx: RuleContext) -> pd.DataFrame:
    """Flag dates in the future or implausibly early (XD-024), as of today."""
    return find_implausible_dates(ctx)


@rule(
    "XD-025",
    Severity.ERROR,
    "Every domain the protocol requires has at least one record: a required file "
    "with only its header row is reported like a missing one (RD-006).",
    requires=(),
)
def check_required_domains_have_records(ctx: RuleContext) -> pd.DataFrame:
    """Flag required domain tables that have no rows (XD-025)."""
    findings = []
    for name in ctx.protocol.required_domains:
        data = ctx.table(name)
        if data is None or len(data):
            continue  # a missing file is RD-006
        findings.append(
            Finding(
                name,
                _file_name(data, name),
                None,
                None,
                None,
                "XD-025",
                Severity.ERROR,
                f"required domain {name} has no records: the file holds only its "
                "header row",
            )
        )
    return findings_frame(findings)


def _file_name(data: pd.DataFrame, domain: str) -> str:
    """Return the source file of a table with no rows (its category, if kept)."""
    source = data.get(SOURCE_FILE)
    if source is not None and isinstance(source.dtype, pd.CategoricalDtype):
        names = [str(c) for c in source.cat.categories]
        if names:
            return ", ".join(names)
    return f"{domain}.csv"
