"""Write the data dictionary as HTML, XLSX, CSV or JSON.

- HTML: one self-contained page (:mod:`trialdata.site_kit.dictionary_html`).
- XLSX: an ``overview`` sheet (the domains with links to their sheets, the file and
  upload-wide rules, the protocol) and one sheet per domain with a row per column;
  bounds and protocol numbers are numeric cells, text cells are text (never run as
  a formula).
- CSV: one long table, a row per domain and column (the fields of
  :data:`trialdata.site_kit.dictionary_tables.COLUMN_FIELDS` after ``domain``); text
  a spreadsheet would run as a formula gets a leading apostrophe.
- JSON: :meth:`trialdata.site_kit.model.DataDictionary.to_json`, with its
  ``format_version``.
"""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from typing import Any

from trialdata.site_kit.dictionary_html import render_html
from trialdata.site_kit.dictionary_tables import (
    COLUMN_FIELDS,
    RULE_FIELDS,
    Cell,
    column_row,
    protocol_sections,
    rule_row,
    yes_no,
)
from trialdata.site_kit.model import DataDictionary, DomainEntry, RuleRef

__all__ = [
    "DictionaryFormat",
    "render_csv",
    "render_dictionary",
    "render_json",
    "render_xlsx",
]


class DictionaryFormat(StrEnum):
    """Formats of the data dictionary."""

    HTML = "html"
    XLSX = "xlsx"
    CSV = "csv"
    JSON = "json"


def render_json(dictionary: DataDictionary) -> str:
    """Return the dictionary as JSON text (UTF-8, indented, keys in order)."""
    return json.dumps(dictionary.to_json(), indent=2, ensure_ascii=False) + "\n"


#: What a spreadsheet runs as a formula when a text cell starts with it (OWASP).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _defused(value: Cell) -> Cell:
    """Return text a spreadsheet would run as a formula with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def render_csv(dictionary: DataDictionary) -> str:
    """Return the dictionary as one CSV table, a row per domain and column.

    Parameters
    ----------
    dictionary : DataDictionary
        The dictionary.

    Returns
    -------
    str
        CSV text with a header row: ``domain`` then the column fields.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["domain", *(name for name, _ in COLUMN_FIELDS)])
    for domain in dictionary.domains:
        for column in domain.columns:
            cells = column_row(column)
            writer.writerow(
                [domain.name, *(_defused(cells[name]) for name, _ in COLUMN_FIELDS)]
            )
    return out.getvalue()


def render_dictionary(dictionary: DataDictionary, output_format: str) -> bytes:
    """Return the dictionary in a format, as the bytes of the file.

    Parameters
    ----------
    dictionary : DataDictionary
        The dictionary.
    output_format : str
        ``html``, ``xlsx``, ``csv`` or ``json``.

    Returns
    -------
    bytes
        The file's content (text formats in UTF-8).

    Raises
    ------
    ValueError
        For an unknown format.
    """
    chosen = DictionaryFormat(output_format)
    if chosen is DictionaryFormat.XLSX:
        return render_xlsx(dictionary)
    if chosen is DictionaryFormat.HTML:
        return render_html(dictionary).encode("utf-8")
    if chosen is DictionaryFormat.CSV:
        return render_csv(dictionary).encode("utf-8")
    return render_json(dictionary).encode("utf-8")


class _Sheet:
    """Writes rows to a worksheet: text as text, numbers as numbers."""

    def __init__(self, sheet: Any) -> None:
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        from openpyxl.styles import Alignment, Font

        self.sheet = sheet
        self.row = 1
        self._illegal = ILLEGAL_CHARACTERS_RE
        self._bold = Font(bold=True)
        self._title = Font(bold=True, size=14)
        self._wrap = Alignment(wrap_text=True, vertical="top")

    def put(self, column: int, value: Cell, *, bold: bool = False) -> Any:
        cell = self.sheet.cell(row=self.row, column=column)
        if isinstance(value, str):
            cell.value = self._illegal.sub(" ", value)
            cell.data_type = "s"  # text, never a formula
        elif value is not None:
            cell.value = value
        cell.alignment = self._wrap
        if bold:
            cell.font = self._bold
        return cell

    def line(self, values: list[Cell], *, bold: bool = False) -> None:
        for index, value in enumerate(values, start=1):
            self.put(index, value, bold=bold)
        self.row += 1

    def title(self, text: str) -> None:
        self.put(1, text).font = self._title
        self.row += 1

    def skip(self) -> None:
        self.row += 1

    def widths(self, widths: list[int]) -> None:
        from openpyxl.utils import get_column_letter

        for index, width in enumerate(widths, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width


def _rules(sheet: _Sheet, rules: tuple[RuleRef, ...]) -> None:
    sheet.line([header for _, header in RULE_FIELDS], bold=True)
    for rule in rules:
        cells = rule_row(rule)
        sheet.line([cells[name] for name, _ in RULE_FIELDS])


def _domain_sheet(book: Any, domain: DomainEntry) -> None:
    sheet = _Sheet(book.create_sheet(domain.name[:31]))
    sheet.line([header for _, header in COLUMN_FIELDS], bold=True)
    for column in domain.columns:
        cells = column_row(column)
        sheet.line([cells[name] for name, _ in COLUMN_FIELDS])
    sheet.sheet.freeze_panes = "B2"
    widths = {"description": 50, "rules": 80, "write_as": 30, "allowed_values": 40}
    sheet.widths([widths.get(name, 16) for name, _ in COLUMN_FIELDS])
    if domain.rules:
        sheet.skip()
        sheet.title(f"Cross-domain rules on {domain.name}")
        _rules(sheet, domain.rules)


def _overview(book: Any, dictionary: DataDictionary) -> None:
    from openpyxl.worksheet.hyperlink import Hyperlink

    sheet = _Sheet(book.active)
    sheet.sheet.title = "overview"
    sheet.title(dictionary.title)
    sheet.line([f"Written by trialdata {dictionary.trialdata_version}."])
    if dictionary.protocol is not None:
        sheet.line(
            [
                f"Protocol file {dictionary.protocol.source or '(not a file)'}, "
                f"SHA-256 {dictionary.protocol.sha256 or '-'}."
            ]
        )
    sheet.skip()
    sheet.title("Domains")
    sheet.line(
        ["Domain", "Label", "Required in upload", "Columns", "Key", "Description"],
        bold=True,
    )
    for domain in dictionary.domains:
        link = sheet.put(1, domain.name)
        link.hyperlink = Hyperlink(
            ref=link.coordinate, location=f"'{domain.name[:31]}'!A1"
        )
        link.style = "Hyperlink"
        values: list[Cell] = [
            domain.label,
            yes_no(domain.required_in_upload),
            len(domain.columns),
            ", ".join(domain.key),
            domain.description,
        ]
        for index, value in enumerate(values, start=2):
            sheet.put(index, value)
        sheet.row += 1
    sheet.skip()
    sheet.title("Files and upload-wide rules")
    _rules(sheet, dictionary.upload_rules)
    if dictionary.protocol is not None:
        for section in protocol_sections(dictionary.protocol.content):
            sheet.skip()
            sheet.title(f"Protocol: {section.title}")
            sheet.line(list(section.headers), bold=True)
            for row in section.rows:
                sheet.line(list(row))
    sheet.widths([22, 28, 18, 40, 24, 60])


def render_xlsx(dictionary: DataDictionary) -> bytes:
    """Return the dictionary as an XLSX workbook.

    Parameters
    ----------
    dictionary : DataDictionary
        The dictionary.

    Returns
    -------
    bytes
        The workbook: ``overview`` first, then a sheet per domain.
    """
    from openpyxl import Workbook

    book = Workbook()
    _overview(book, dictionary)
    for domain in dictionary.domains:
        _domain_sheet(book, domain)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
