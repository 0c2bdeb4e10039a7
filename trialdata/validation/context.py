"""What a validation rule sees, and how it reports what it finds.

Rules are plain functions ``rule(ctx) -> findings frame``. They read typed domain tables
from a :class:`RuleContext` and build their findings with :func:`flag_rows`, which keeps
every finding tied to its source file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from schemas.protocol import Protocol
from trialdata.findings import FINDING_COLUMNS, Severity, empty_findings

__all__ = [
    "SOURCE_FILE",
    "SOURCE_ROW",
    "RuleContext",
    "flag_rows",
    "lookup",
]

#: Column holding the source file name of each row in a typed domain table.
SOURCE_FILE = "_source_file"
#: Column holding the 1-based source line of each row (the header is line 1).
SOURCE_ROW = "_source_row"


@dataclass(frozen=True)
class RuleContext:
    """The protocol and the typed domain tables of one upload.

    Attributes
    ----------
    protocol : schemas.protocol.Protocol
        The trial's protocol.
    tables : Mapping[str, pandas.DataFrame]
        Domain name to typed table. Every table has the domain's columns that were
        present in the file, parsed to their types (unparseable values are missing and
        already reported), plus :data:`SOURCE_FILE` and :data:`SOURCE_ROW`.
    """

    protocol: Protocol
    tables: Mapping[str, pd.DataFrame]

    def table(self, name: str) -> pd.DataFrame | None:
        """Return a domain table, or None when the upload has none."""
        return self.tables.get(name)

    def has(self, *names: str) -> bool:
        """Return whether every named domain table is present."""
        return all(name in self.tables for name in names)


def flag_rows(
    data: pd.DataFrame,
    mask: pd.Series | None,
    *,
    domain: str,
    rule: str,
    severity: Severity | str,
    message: str | pd.Series,
    column: str | None = None,
    value: pd.Series | None = None,
) -> pd.DataFrame:
    """Build findings for the rows of a domain table where ``mask`` is true.

    Parameters
    ----------
    data : pandas.DataFrame
        A typed domain table with :data:`SOURCE_FILE` and :data:`SOURCE_ROW`.
    mask : pandas.Series of bool, or None
        Rows to flag, aligned on ``data``'s index; missing counts as false. None flags
        every row.
    domain : str
        Domain name of ``data``.
    rule : str
        Rule identifier.
    severity : Severity or str
        ``error`` or ``warning``.
    message : str or pandas.Series
        One message for all rows, or one per row aligned on ``data``'s index.
    column : str, optional
        Column the finding is about; its value is reported unless ``value`` is given.
    value : pandas.Series, optional
        Offending value per row, aligned on ``data``'s index.

    Returns
    -------
    pandas.DataFrame
        One finding per flagged row, columns :data:`trialdata.findings.FINDING_COLUMNS`.
    """
    if mask is None:
        hits = data
    else:
        hits = data.loc[mask.reindex(data.index).fillna(False).astype(bool)]
    if hits.empty:
        return empty_findings()
    if value is None and column is not None and column in hits.columns:
        value = hits[column]
    findings = pd.DataFrame(
        {
            "domain": domain,
            "file": hits[SOURCE_FILE].astype(str),
            "row": hits[SOURCE_ROW].astype("Int64"),
            "subject_id": hits.get("subject_id", None),
            "column": column,
            "rule": rule,
            "severity": str(Severity(severity)),
            "message": message.loc[hits.index]
            if isinstance(message, pd.Series)
            else message,
            "value": _as_text(value.loc[hits.index]) if value is not None else None,
        },
        index=hits.index,
    )
    return findings.reset_index(drop=True)[list(FINDING_COLUMNS)]


def _as_text(values: pd.Series) -> pd.Series:
    """Render values as text for a finding: dates as ISO dates, missing as None."""
    if pd.api.types.is_datetime64_any_dtype(values):
        text = values.dt.strftime("%Y-%m-%d")
    else:
        text = values.astype(str)
    return text.where(values.notna(), None)


def lookup(keys: pd.Series, table: pd.DataFrame, key: str, column: str) -> pd.Series:
    """Return ``table[column]`` for each value of ``keys`` matched on ``table[key]``.

    Parameters
    ----------
    keys : pandas.Series
        Values to look up.
    table : pandas.DataFrame
        Table to look them up in; the first row wins where ``key`` repeats.
    key : str
        Column of ``table`` to match on.
    column : str
        Column of ``table`` to return.

    Returns
    -------
    pandas.Series
        Aligned on ``keys``' index; missing where no row matches.
    """
    mapping = table.drop_duplicates(key).set_index(key)[column]
    return keys.map(mapping)
