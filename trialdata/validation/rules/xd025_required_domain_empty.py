"""XD-025: every domain the protocol requires has at least one record.

A required file that holds only its header row is reported like a missing one
(RD-006 reports a required file that is not there at all). The finding is about
the whole file: it has no row, subject, column or value.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import polars as pl

from trialdata.validation.rule import ERROR, SOURCE_FILE, Change, Rule, Upload


def file_name(table: pd.DataFrame, domain: str) -> str:
    """Return the source file of a table without rows.

    The file name is kept as the category of the table's source-file column (a
    polars frame without rows has no value to keep it in), else ``<domain>.csv``.
    """
    source = table.get(SOURCE_FILE)
    if source is not None and isinstance(source.dtype, pd.CategoricalDtype):
        names = [str(c) for c in source.cat.categories]
        if names:
            return ", ".join(names)
    return f"{domain}.csv"


def empty_required_domains(upload: Upload) -> pl.LazyFrame:
    """Return one row per required domain whose table has no rows."""
    empty = {
        name: file_name(table, name)
        for name in upload.protocol.required_domains
        if (table := upload.table(name)) is not None and len(table) == 0
    }
    missing = [None] * len(empty)
    return pl.LazyFrame(
        {
            "domain": list(empty),
            "file": list(empty.values()),
            "row": missing,
            "subject_id": missing,
            "column": missing,
            "value": missing,
        },
        schema={
            "domain": pl.String,
            "file": pl.String,
            "row": pl.Int64,
            "subject_id": pl.String,
            "column": pl.String,
            "value": pl.String,
        },
    )


def header_only(domain: str) -> Change:
    """Return a change removing every row of a domain (a file with its header only)."""

    def apply(records: dict[str, list[dict[str, Any]]]) -> None:
        records[domain].clear()

    return apply


RULE = Rule(
    id="XD-025",
    severity=ERROR,
    description="Every domain the protocol requires has at least one record: a "
    "required file with only its header row is reported like a missing one "
    "(RD-006).",
    reads=(),
    finds=empty_required_domains,
    message="required domain {domain} has no records: the file holds only its "
    "header row",
    example=header_only("adverse_events"),
)
