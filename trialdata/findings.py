"""Findings: one row per problem found in an upload.

A finding is data. A :class:`pandas.DataFrame` with the columns
:data:`FINDING_COLUMNS` is the validation report and the query list sent back to the
site.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

import pandas as pd

__all__ = [
    "FINDING_COLUMNS",
    "Finding",
    "Severity",
    "empty_findings",
    "findings_frame",
]


class Severity(StrEnum):
    """How serious a finding is: errors quarantine the row, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


#: Columns of a findings frame, in order.
FINDING_COLUMNS: tuple[str, ...] = (
    "domain",
    "file",
    "row",
    "subject_id",
    "column",
    "rule",
    "severity",
    "message",
    "value",
)


@dataclass(frozen=True)
class Finding:
    """One problem in an upload.

    Attributes
    ----------
    domain : str
        Domain table concerned (``"protocol"`` or ``"upload"`` for whole-upload issues).
    file : str
        Source file name.
    row : int or None
        1-based line in the source file (header = 1), None for file-level findings.
    subject_id : str or None
        Subject of the row, when known.
    column : str or None
        Column concerned, when one is.
    rule : str
        Rule identifier, e.g. ``"XD-001"``.
    severity : Severity
        ``error`` or ``warning``.
    message : str
        What is wrong, in words a site can act on.
    value : str or None
        The offending value, as text.
    """

    domain: str
    file: str
    row: int | None
    subject_id: str | None
    column: str | None
    rule: str
    severity: Severity
    message: str
    value: str | None = None


def _empty_template() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in FINDING_COLUMNS})
    frame["row"] = frame["row"].astype("Int64")
    return frame


_EMPTY = _empty_template()


def empty_findings() -> pd.DataFrame:
    """Return an empty findings frame with the right columns and dtypes.

    Returns
    -------
    pandas.DataFrame
        Zero rows, columns :data:`FINDING_COLUMNS` (a new frame each call).
    """
    # With no rows there are no values to share: a shallow copy is a new frame
    # (columns set on it stay its own) at a sixth of the cost of a deep one.
    return _EMPTY.copy(deep=False)


def findings_frame(
    findings: Iterable[Finding] | Sequence[pd.DataFrame],
) -> pd.DataFrame:
    """Build one findings frame from findings or from findings frames.

    Parameters
    ----------
    findings : iterable of Finding, or sequence of pandas.DataFrame
        Individual findings, or frames that already have the finding columns.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FINDING_COLUMNS`, sorted by file, row, column and rule.
    """
    items = list(findings)
    if not items:
        return empty_findings()
    if isinstance(items[0], pd.DataFrame):
        frames = [f for f in items if isinstance(f, pd.DataFrame) and len(f)]
        if not frames:
            return empty_findings()
        dtypes = _EMPTY.dtypes.to_dict()  # one dtype per column: no all-NA guessing
        frame = pd.concat(
            [f[list(FINDING_COLUMNS)].astype(dtypes) for f in frames],
            ignore_index=True,
        )
    else:
        frame = pd.DataFrame([asdict(f) for f in items if isinstance(f, Finding)])
        frame = frame.reindex(columns=list(FINDING_COLUMNS))
    for column in FINDING_COLUMNS:
        if column != "row":  # text: Python objects, None where missing (any pandas)
            values = frame[column].astype(object)
            frame[column] = values.mask(values.isna(), None)
    frame["severity"] = frame["severity"].astype(str).astype(object)
    frame["row"] = frame["row"].astype("Int64")
    frame = frame.sort_values(
        ["file", "row", "column", "rule"], na_position="first", kind="stable"
    )
    return frame.reset_index(drop=True)
