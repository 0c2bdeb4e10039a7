"""Layout decisions the report writers share, independent of any markup.

The writers (:mod:`.html`, :mod:`.rtf`, :mod:`.docx`, :mod:`.export`) each encode and
escape text in their own format; what they have in common is decided here once: the
body rows of a table (with the placeholder row of an empty table), the cell font size
of Word-like formats, the provenance as a two-column frame, and the pixel size of a
figure,
and which characters XML-based formats cannot hold.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator

import pandas as pd

from trialdata.reports.model import Report, Table

__all__ = [
    "NO_RECORDS",
    "body_rows",
    "cell_half_points",
    "png_size",
    "provenance_frame",
    "xml_safe",
]

#: Text shown in place of the rows of a table without records.
NO_RECORDS = "No records."


def body_rows(table: Table) -> Iterator[list[str]]:
    """Yield the body rows of a table; one placeholder row when it has no records.

    Parameters
    ----------
    table : Table
        The table.

    Yields
    ------
    list of str
        The cells of a row, in column order. For an empty table, a single row
        holding :data:`NO_RECORDS` in the first column and empty cells after it.
    """
    if not len(table.frame):
        yield [NO_RECORDS] + [""] * (len(table.frame.columns) - 1)
        return
    for values in table.frame.itertuples(index=False, name=None):
        yield list(values)


def cell_half_points(table: Table) -> int:
    """Return the font size of a table's cells in half-points (RTF and DOCX).

    Parameters
    ----------
    table : Table
        The table.

    Returns
    -------
    int
        14 (7 pt) for a listing, 16 (8 pt) for a summary table.
    """
    return 14 if table.listing else 16


def provenance_frame(report: Report) -> pd.DataFrame:
    """Return the report's provenance as an ``Item`` / ``Value`` frame.

    Parameters
    ----------
    report : Report
        The report whose provenance is tabulated.

    Returns
    -------
    pandas.DataFrame
        One row per provenance item, in display order.
    """
    rows = report.provenance.rows()
    return pd.DataFrame({"Item": [k for k, _ in rows], "Value": [v for _, v in rows]})


def png_size(png: bytes) -> tuple[int, int]:
    """Return the pixel width and height of a PNG image from its header.

    Parameters
    ----------
    png : bytes
        The PNG file content.

    Returns
    -------
    tuple of int
        Width and height in pixels.
    """
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


#: Characters XML 1.0 cannot hold (DOCX and XLSX are XML inside a zip).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: object) -> str:
    """Return ``str(text)`` with the characters XML cannot hold replaced by a space.

    Parameters
    ----------
    text : object
        Any value; it is converted with ``str``.

    Returns
    -------
    str
        The text, control characters other than tab, newline and carriage return
        replaced by spaces.
    """
    return _INVALID_XML.sub(" ", str(text))
