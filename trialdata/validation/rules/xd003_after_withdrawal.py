"""XD-003: no dose is given and no sample collected after consent is withdrawn.

Doses count only when recorded as given; samples are biobank collections and
immunomonitoring draws. A record on the day of withdrawal is not after it.
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union
from trialdata.validation.rules._dates import DATED_COLUMNS, dated_tables, subject_day

#: What a record of each checked domain is, for messages.
CHECKED: dict[str, str] = {
    "administrations": "dose given",
    "biobank_samples": "sample collected",
    "immunomonitoring": "sample collected",
}


def records_after_withdrawal(upload: Upload) -> pl.LazyFrame:
    """Return given doses and collected samples dated after consent withdrawal."""
    withdrawn = subject_day(upload, "subjects", "withdrawal_date", "withdrawal")
    columns = {name: DATED_COLUMNS[name] for name in CHECKED}
    found = []
    for domain, table, column in dated_tables(upload, columns):
        dosing = domain == "administrations"
        if dosing and "given" not in upload.columns(domain):
            continue
        after = pl.col(column).dt.date() > pl.col("withdrawal")
        if dosing:
            after &= pl.col("given")
        found.append(
            flagged(
                table.join(withdrawn, on="subject_id").filter(after),
                domain=domain,
                column=column,
                fields=["withdrawal", pl.lit(CHECKED[domain]).alias("what")],
            )
        )
    return union(found)


RULE = Rule(
    id="XD-003",
    severity=ERROR,
    description="No dose is given and no sample collected after the subject's "
    "withdrawal_date.",
    reads=("subjects",),
    finds=records_after_withdrawal,
    message="{what} on {value} after subject {subject_id} withdrew consent on "
    "{withdrawal}",
    example=change("immunomonitoring", 1, collection_date="2024-02-16", visit=None),
)
