"""XD-022: no record shows a subject alive after its last known alive date.

A record dated after the subject's ``last_known_alive_date`` (survival_status)
shows the subject alive on a later day: the survival_status row is out of date, or
the record's date is wrong. One finding per subject, on its first survival_status
row, names the latest such record (the first in domain and row order on a tie) and
how many there are. A dose counts only when given; a record after the subject's
death (XD-010) and a dose or sample after withdrawal (XD-003) are no proof of life
and are left to those rules.
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import (
    SOURCE_FILE,
    SOURCE_ROW,
    WARNING,
    Rule,
    Upload,
    change,
    flagged,
    union,
)
from trialdata.validation.rules._dates import DATED_COLUMNS, dated_tables, subject_day

#: Domains whose records after withdrawal are left to XD-003.
WITHDRAWAL_CHECKED = ("administrations", "biobank_samples", "immunomonitoring")

#: Columns of :func:`records_after`.
_RECORDS = pl.Schema(
    {
        "subject_id": pl.String(),
        "day": pl.Date(),
        "order": pl.Int32(),
        "position": pl.UInt32(),
        "file": pl.String(),
        "row": pl.Int64(),
        "column": pl.String(),
        "moment": pl.Datetime("ns"),
    }
)


def records_after(upload: Upload) -> pl.LazyFrame:
    """Return the records that show a subject alive after its last known alive day.

    Parameters
    ----------
    upload : Upload
        The upload.

    Returns
    -------
    polars.LazyFrame
        One row per record: ``subject_id``, ``day`` (its calendar day), ``order``
        and ``position`` (its domain's place in :data:`DATED_COLUMNS` and its row's
        place in the table, for ties), ``file``, ``row``, ``column`` and ``moment``
        (its date).
    """
    alive = subject_day(upload, "survival_status", "last_known_alive_date", "alive")
    death = subject_day(upload, "survival_status", "death_date", "death")
    withdrawn = subject_day(upload, "subjects", "withdrawal_date", "withdrawal")
    found = []
    for order, (domain, table, column) in enumerate(
        dated_tables(upload, DATED_COLUMNS)
    ):
        dosing = domain == "administrations"
        if dosing and "given" not in upload.columns(domain):
            continue
        day = pl.col(column).dt.date()
        table = (
            table.with_row_index("position")
            .join(alive, on="subject_id")
            .join(death, on="subject_id", how="left")
        )
        shows = (day > pl.col("alive")) & ~(day > pl.col("death")).fill_null(False)
        if domain in WITHDRAWAL_CHECKED:
            table = table.join(withdrawn, on="subject_id", how="left")
            shows &= ~(day > pl.col("withdrawal")).fill_null(False)
        if dosing:
            shows &= pl.col("given").fill_null(False)
        found.append(
            table.filter(shows).select(
                "subject_id",
                day.alias("day"),
                pl.lit(order).alias("order"),
                "position",
                pl.col(SOURCE_FILE).cast(pl.String).alias("file"),
                pl.col(SOURCE_ROW).cast(pl.Int64).alias("row"),
                pl.lit(column).alias("column"),
                pl.col(column).cast(pl.Datetime("ns")).alias("moment"),
            )
        )
    if not found:
        return pl.LazyFrame(schema=_RECORDS)
    return pl.concat(found)


def latest_records(later: pl.LazyFrame) -> pl.LazyFrame:
    """Return each subject's latest record of :func:`records_after`, described.

    Returns
    -------
    polars.LazyFrame
        ``subject_id``, ``latest`` (``file row N (column date)``, the date with its
        time of day when one of the latest records of its domain has one) and
        ``count`` (how many records the subject has after its last known alive day).
    """
    moment = pl.col("moment")
    timed = (moment != moment.dt.truncate("1d")).any().over("order")
    when = (
        pl.when(timed)
        .then(moment.dt.strftime("%Y-%m-%dT%H:%M"))
        .otherwise(moment.dt.strftime("%Y-%m-%d"))
    )
    latest = (
        later.sort(["day", "order", "position"], descending=[True, False, False])
        .unique("subject_id", keep="first", maintain_order=True)
        .select(
            "subject_id",
            pl.format("{} row {} ({} {})", "file", "row", "column", when).alias(
                "latest"
            ),
        )
    )
    return latest.join(later.group_by("subject_id").len("count"), on="subject_id")


def stale_last_known_alive(upload: Upload) -> pl.LazyFrame:
    """Return each subject's first survival_status row that a later record outdates."""
    if not {"subject_id", "last_known_alive_date"} <= set(
        upload.columns("survival_status")
    ):
        return union([])
    subject = pl.col("subject_id")
    count = pl.col("count")
    more = (
        pl.when(count > 1)
        .then(pl.format(" (the latest of {} records after it)", count))
        .otherwise(pl.lit(""))
    )
    return flagged(
        upload.frame("survival_status")
        .filter(subject.is_not_null() & subject.is_first_distinct())
        .join(latest_records(records_after(upload)), on="subject_id"),
        domain="survival_status",
        column="last_known_alive_date",
        fields=["latest", more.alias("more")],
    )


RULE = Rule(
    id="XD-022",
    severity=WARNING,
    description="A subject's last_known_alive_date (survival_status) is on or after "
    "every record that shows the subject alive (a given dose, an adverse event's "
    "onset, a lab, an MRI scan, a sample, an immunomonitoring result, a disease "
    "assessment); records after death (XD-010) and doses or samples after "
    "withdrawal (XD-003) are left to those rules.",
    reads=("survival_status",),
    finds=stale_last_known_alive,
    message="last_known_alive_date {value} is before {latest}, which shows subject "
    "{subject_id} alive later{more}; update last_known_alive_date or correct the "
    "record's date",
    example=change("survival_status", 0, last_known_alive_date="2024-01-20"),
)
