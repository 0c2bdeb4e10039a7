"""Cells of an Excel workbook whose value cannot be read, although one was meant.

A workbook keeps, next to each formula, the value it last calculated (the *cached*
value), and readers use that value. A program that writes formulas without
calculating them (a script, some exporters) leaves the value out; and a cell may
hold an error value (``#DIV/0!``, ``#N/A``, ``#REF!``), typed or the result of a
failed formula. Either reads as empty, although the site meant a value.
:func:`unread_cells` finds those cells in the worksheet a reader takes (the first
one) so that they can be reported rather than stored as missing. A formula cell
with a saved value, even an empty text, is read as that value.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from xml.etree.ElementTree import Element, ParseError, fromstring, iterparse

__all__ = ["unread_cells"]

_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#: An element named ``f`` (a formula), with or without a namespace prefix, or a
#: cell of type ``e`` (an error value).
_SUSPECT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]|\st=[\"']e[\"']")
_CELL = re.compile(r"^([A-Z]{1,3})(\d+)$")
#: Cell types whose saved value may be an empty text.
_TEXT_TYPES = frozenset({"str", "inlineStr", "s"})


def _local(tag: str) -> str:
    """Return an element's name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _parse(data: bytes) -> Element | None:
    """Parse a small package part (the workbook, its relationships)."""
    try:
        return fromstring(data)
    except ParseError:
        return None


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, str]:
    """Return the relationships of a package part: id -> target part name."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", f"{name}.rels")
    try:
        root = _parse(archive.read(rels))
    except KeyError:
        return {}
    if root is None:
        return {}
    out = {}
    for element in root.iter(f"{{{_RELS}}}Relationship"):
        target = element.get("Target", "")
        if target.startswith("/"):
            path = target.lstrip("/")
        else:
            path = posixpath.normpath(posixpath.join(folder, target))
        out[element.get("Id", "")] = path
    return out


def _first_sheet(archive: zipfile.ZipFile) -> str | None:
    """Return the part name of the workbook's first worksheet, None when unknown."""
    workbook = next(
        (
            target
            for target in _relationships(archive, "").values()
            if target.endswith(".xml") and "workbook" in target.lower()
        ),
        "xl/workbook.xml",
    )
    try:
        root = _parse(archive.read(workbook))
    except KeyError:
        return None
    if root is None:
        return None
    first = next((e for e in root.iter() if _local(e.tag) == "sheet"), None)
    if first is None:
        return None
    return _relationships(archive, workbook).get(first.get(f"{{{_DOC}}}id", ""))


def _column_index(letters: str) -> int:
    """Return the 0-based index of a column name (``A`` -> 0, ``AA`` -> 26)."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def unread_cells(content: bytes) -> dict[tuple[int, int], str]:
    """Return the cells of the first worksheet whose value cannot be read.

    Parameters
    ----------
    content : bytes
        The ``.xlsx`` file.

    Returns
    -------
    dict of (int, int) to str
        ``(row, column)`` (0-based, as in the sheet) -> the cell as sent: for a
        formula saved without a value the formula as written in a spreadsheet
        (``=A2+B2``; ``=`` alone for a shared formula whose text is on another
        cell), for an error value the error (``#DIV/0!``). Empty when there is
        none, or when the file is no xlsx package (the reader reports that).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        sheet = _first_sheet(archive)
        data = archive.read(sheet) if sheet else b""
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, ValueError):
        return {}
    if not _SUSPECT.search(data):
        return {}
    found: dict[tuple[int, int], str] = {}
    row, column = -1, -1
    try:
        for event, element in iterparse(io.BytesIO(data), events=("start", "end")):
            name = _local(element.tag)
            if event == "start":
                if name == "row":
                    number = element.get("r")
                    row = int(number) - 1 if number and number.isdigit() else row + 1
                    column = -1
                continue
            if name != "c":
                if name == "row":
                    element.clear()
                continue
            match = _CELL.match(element.get("r", ""))
            if match:
                row, column = int(match.group(2)) - 1, _column_index(match.group(1))
            else:
                column += 1
            formula = value = None
            for child in element:
                if _local(child.tag) == "f":
                    formula = child
                elif _local(child.tag) == "v":
                    value = child
            kind = element.get("t", "n")
            saved = value is not None and (bool(value.text) or kind in _TEXT_TYPES)
            if kind == "e" and saved and value is not None:
                found[(row, column)] = str(value.text)
            elif formula is not None and not saved:
                found[(row, column)] = "=" + (formula.text or "")
            element.clear()
    except (ParseError, ValueError):
        return found
    return found
