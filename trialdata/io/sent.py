"""Rows of a site's file as sent: each cell's text, for the quarantine to keep.

A quarantined row is kept as the site sent it, not as it was parsed: a value that
could not be read is what needs correcting, and parsing may have changed or dropped
it. The row is read again from its file, as text (no value converted), and only
when the file still holds the bytes that were validated: the SHA-256 recorded then
is checked against the bytes read now. A CSV cell is its text between delimiters
(quotes removed), a cell of a workbook, Parquet or SAS file the reader's exact text
of its value (:func:`trialdata.io.text.value_text`), a workbook formula
saved without its value the formula (``=A2+B2``), an error value the error
(``#DIV/0!``); an empty cell is None.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from trialdata.errors import UnreadableFileError
from trialdata.io.files import DATA_SUFFIXES, SourceFile
from trialdata.io.readers import ROW_COLUMN, read_raw

__all__ = ["sent_rows"]


def _file_rows(path: Path, sha256: str, columns: Sequence[str]) -> dict[int, str]:
    """Return every record of a file as JSON of its cells' text, by source row."""
    source = SourceFile(path, None, DATA_SUFFIXES[path.suffix.lower()])
    raw = read_raw(source)  # no domain: every CSV value is read as text
    if raw.sha256 != sha256:
        raise UnreadableFileError(
            "changed since it was validated (its SHA-256 differs), so the rows "
            "to quarantine cannot be kept as they were sent; validate and ingest "
            "the upload again",
            file=path.name,
        )
    kept = [c for c in raw.data.columns if c in set(columns)]
    cells = raw.data[kept].to_numpy(dtype=object)
    cells[pd.isna(cells)] = None
    unread = {(cell.row, cell.column): cell.sent for cell in raw.unread_cells}
    out: dict[int, str] = {}
    for row, values in zip(raw.data[ROW_COLUMN].tolist(), cells.tolist(), strict=True):
        record = dict(zip(kept, values, strict=True))
        for column in kept:
            sent = unread.get((row, column))
            if sent is not None:
                record[column] = sent
        out[int(row)] = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    return out


def sent_rows(
    sources: Mapping[str, tuple[Path, str]],
    files: Sequence[str] | np.ndarray,
    rows: Sequence[int] | np.ndarray,
    columns: Sequence[str],
) -> np.ndarray:
    """Return rows of an upload's files as sent, as compact JSON objects.

    Parameters
    ----------
    sources : mapping of str to (pathlib.Path, str)
        File name -> its path and the SHA-256 taken when it was validated.
    files : sequence of str
        The file of each row wanted.
    rows : sequence of int
        The source row of each row wanted (the header is row 1).
    columns : sequence of str
        Columns to keep (the domain's); other columns of the file (unknown ones,
        refused identifier columns) are left out.

    Returns
    -------
    numpy.ndarray
        Per row wanted, ``{"column": "text as sent" or null, ...}`` in the file's
        column order; None for a row of a file not in ``sources``.

    Raises
    ------
    UnreadableFileError
        When a file can no longer be read, or no longer holds the bytes validated.
    """
    out = np.full(len(files), None, dtype=object)
    by_file: dict[str, dict[int, str]] = {}
    for i, (name, row) in enumerate(zip(files, rows, strict=True)):
        if name not in sources:
            continue
        if name not in by_file:
            path, sha256 = sources[name]
            by_file[name] = _file_rows(path, sha256, columns)
        out[i] = by_file[name].get(int(row))
    return out
