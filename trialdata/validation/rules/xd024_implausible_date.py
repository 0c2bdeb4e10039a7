"""XD-024: no date lies in the future or before the earliest plausible trial date.

A trial record cannot be dated after the day its upload is validated (the upload
date), nor before :data:`EARLIEST_TRIAL_DATE`: an adverse event in 2099 or a consent
in 1900 is a typing error, and left in it moves every derived date (the default
cut-off of the analysis datasets is the latest date of the upload). Dates that look
ahead by design (:data:`FORWARD_DATES`: a lot's expiry, a sample's storage limit)
may lie in the future. Birth years are not dates: the subjects schema holds them to
their own range. Every date (or date-time) column of every domain is checked
(:data:`DATE_COLUMNS`), by calendar day.
"""

from __future__ import annotations

import datetime

import polars as pl

from schemas.domains import DOMAINS
from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union

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


def _as_text(moment: pl.Expr) -> pl.Expr:
    """Return dates as ISO text, with the time of day when one of them has one."""
    timed = (moment != moment.dt.truncate("1d")).any()
    return (
        pl.when(timed)
        .then(moment.dt.strftime("%Y-%m-%dT%H:%M"))
        .otherwise(moment.dt.strftime("%Y-%m-%d"))
    )


def implausible_dates(
    upload: Upload,
    today: datetime.date | None = None,
    earliest: datetime.date = EARLIEST_TRIAL_DATE,
) -> pl.LazyFrame:
    """Return the dates after the upload date or before the earliest plausible date.

    Parameters
    ----------
    upload : Upload
        The upload.
    today : datetime.date, optional
        The upload date: the day validation runs, ``datetime.date.today()`` by
        default. A date (or date-time) on a later calendar day is in the future.
    earliest : datetime.date, optional
        The earliest plausible trial date (:data:`EARLIEST_TRIAL_DATE`).

    Returns
    -------
    polars.LazyFrame
        One row per implausible value (see :func:`~trialdata.validation.rule.flagged`)
        with ``why`` it is; columns of :data:`FORWARD_DATES` are checked against
        ``earliest`` only. The value is the date as text, with the time of day when
        a flagged value of its column has one.
    """
    today = datetime.date.today() if today is None else today
    found = []
    for domain, columns in DATE_COLUMNS.items():
        present = upload.columns(domain)
        for column in columns:
            if column not in present:
                continue
            day = pl.col(column).dt.date()
            early = day < earliest
            late = pl.lit(False) if (domain, column) in FORWARD_DATES else day > today
            why = (
                pl.when(late)
                .then(
                    pl.lit(
                        f"is after the upload date {today.isoformat()}: a date "
                        "cannot lie in the future"
                    )
                )
                .otherwise(
                    pl.lit(
                        f"is before {earliest.isoformat()}, the earliest plausible "
                        "trial date"
                    )
                )
            )
            found.append(
                flagged(
                    upload.frame(domain).filter(early | late),
                    domain=domain,
                    column=column,
                    value=_as_text(pl.col(column).cast(pl.Datetime("ns"))),
                    fields=[why.alias("why")],
                )
            )
    return union(found)


RULE = Rule(
    id="XD-024",
    severity=ERROR,
    description="Every date of every domain is on or before the upload date (the day "
    f"of validation) and on or after {EARLIEST_TRIAL_DATE.isoformat()}; a lot's "
    "expiry_date and a sample's storage_limit_date may lie ahead.",
    reads=(),
    finds=implausible_dates,
    message="{column} {value} {why}",
    example=change("subjects", 0, consent_date="1900-01-02"),
)
