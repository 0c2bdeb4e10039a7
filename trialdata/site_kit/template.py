"""Empty upload workbooks, one per domain, as ``trialdata validate`` reads them.

The readers take one file per domain, named after it (``subjects.xlsx``), and read
the first sheet of a workbook, its first filled row being the header. So a template
is one workbook per domain whose first sheet, named after the domain, holds the
header row and nothing else; a site fills in rows below it and sends the workbook
as it is.

The header row is frozen, and each column name carries a note with the column's
description, type, unit, whether it is required, its allowed values and range.
Cells below the header are formatted and validated as the dictionary says:

- allowed values (controlled terminology, or the protocol's sites, routes, dose
  levels, dose units, visits) and booleans (Y or N): a drop-down list. The lists
  live on a hidden sheet ``lists``; a value outside them is refused, or only warned
  about where validation reports it as a warning (unscheduled visits);
- whole numbers and numbers: a number within the column's range;
- dates: a date (a warning only, as ISO 8601 text such as ``2024-01-15T08:30`` is
  read too), shown as ``yyyy-mm-dd`` (``yyyy-mm-dd hh:mm`` for date-times);
- text: stored as text, so that ``007`` or ``5.0`` stay as typed.

A second, visible sheet ``columns`` lists the domain's dictionary. Neither extra
sheet is read by ``trialdata validate``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trialdata.errors import InputError
from trialdata.io.files import DATA_SUFFIXES, check_output, write_output
from trialdata.site_kit.dictionary_tables import COLUMN_FIELDS, column_row
from trialdata.site_kit.model import ColumnEntry, DataDictionary, DomainEntry

__all__ = [
    "BOOLEAN_CHOICES",
    "DATA_ROWS",
    "LISTS_SHEET",
    "TemplateFile",
    "template_workbook",
    "write_templates",
]

#: Hidden sheet holding the values of the drop-down lists.
LISTS_SHEET = "lists"

#: Visible sheet listing the domain's columns.
COLUMNS_SHEET = "columns"

#: The drop-down list of boolean columns (the readers also take yes/no, true/false).
BOOLEAN_CHOICES = ("Y", "N")

#: Last sheet row the formats and validations cover (Excel's last row).
DATA_ROWS = 1_048_576

_DATE_FORMAT = "yyyy-mm-dd"
_DATE_TIME_FORMAT = "yyyy-mm-dd hh:mm"
_TEXT_FORMAT = "@"

#: Columns of the ``columns`` sheet.
_COLUMN_SHEET_FIELDS = (
    "column",
    "title",
    "write_as",
    "unit",
    "column_required",
    "value_required",
    "key",
    "allowed_values",
    "range",
    "description",
    "protocol_notes",
    "rule_ids",
)


def _short(text: str, limit: int) -> str:
    """Cut text to a length Excel accepts (prompts and messages: 255 characters)."""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _note(column: ColumnEntry) -> str:
    """Return the header note of a column."""
    if column.column_required and column.value_required:
        required = "required: the column, and a value in every row"
    elif column.column_required:
        required = "required column (values may be empty)"
    else:
        required = "optional column"
    lines = [f"{column.title}: {column.description}", f"Write: {column.write_as}"]
    if column.pattern_description:
        lines.append(f"Format: {column.pattern_description}")
    if column.unit:
        lines.append(f"Unit: {column.unit}")
    lines.append(required.capitalize())
    if column.allowed_values:
        lines.append("Allowed: " + ", ".join(column.allowed_values))
    if column.range is not None:
        lines.append(f"Range: {column.range.text()}")
    lines += [f"Protocol: {note}" for note in column.protocol_notes]
    return "\n".join(lines)


def _list_values(column: ColumnEntry) -> list[Any]:
    """Return a drop-down's values: numbers for a number column, else text."""
    if column.type == "integer":
        return [int(v) for v in column.allowed_values]
    if column.type == "float":
        return [float(v) for v in column.allowed_values]
    return list(column.allowed_values)


def _bound_formula(value: float, kind: str) -> str:
    """Write a bound for a ``whole`` or ``decimal`` validation."""
    return str(int(value)) if kind == "whole" else repr(float(value))


def _number_validation(column: ColumnEntry, letter: str) -> Any:
    """Return the data validation of a number column (within its range)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    kind = "whole" if column.type == "integer" else "decimal"
    bounds = column.range
    low = None if bounds is None else bounds.minimum
    high = None if bounds is None else bounds.maximum
    low_inclusive = bounds is None or bounds.minimum_inclusive
    high_inclusive = bounds is None or bounds.maximum_inclusive
    if kind == "whole" and low is not None and not low_inclusive:
        low, low_inclusive = int(low) + 1, True
    if kind == "whole" and high is not None and not high_inclusive:
        high, high_inclusive = int(high) - 1, True
    if low is not None and high is not None and not (low_inclusive and high_inclusive):
        cell = f"{letter}2"
        low_op = ">=" if low_inclusive else ">"
        high_op = "<=" if high_inclusive else "<"
        formula = (
            f"AND(ISNUMBER({cell}),{cell}{low_op}{_bound_formula(low, kind)},"
            f"{cell}{high_op}{_bound_formula(high, kind)})"
        )
        return DataValidation(type="custom", formula1=formula, allow_blank=True)
    if low is not None and high is not None:
        return DataValidation(
            type=kind,
            operator="between",
            formula1=_bound_formula(low, kind),
            formula2=_bound_formula(high, kind),
            allow_blank=True,
        )
    if low is not None:
        operator = "greaterThanOrEqual" if low_inclusive else "greaterThan"
        return DataValidation(
            type=kind,
            operator=operator,
            formula1=_bound_formula(low, kind),
            allow_blank=True,
        )
    if high is not None:
        operator = "lessThanOrEqual" if high_inclusive else "lessThan"
        return DataValidation(
            type=kind,
            operator=operator,
            formula1=_bound_formula(high, kind),
            allow_blank=True,
        )
    return DataValidation(
        type=kind,
        operator="between",
        formula1="-1E+300" if kind == "decimal" else "-2147483648",
        formula2="1E+300" if kind == "decimal" else "2147483647",
        allow_blank=True,
    )


class _Lists:
    """The hidden sheet of drop-down values: one sheet column per list."""

    def __init__(self, book: Any) -> None:
        self.sheet = book.create_sheet(LISTS_SHEET)
        self.sheet.sheet_state = "hidden"
        self.count = 0

    def add(self, name: str, values: list[Any]) -> str:
        """Add a list; return the range that holds its values."""
        from openpyxl.utils import get_column_letter

        self.count += 1
        letter = get_column_letter(self.count)
        header = self.sheet.cell(row=1, column=self.count, value=name)
        header.data_type = "s"
        for row, value in enumerate(values, start=2):
            cell = self.sheet.cell(row=row, column=self.count, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # a term such as "-18 to -35 C" stays text
        return f"{LISTS_SHEET}!${letter}$2:${letter}${len(values) + 1}"


def _validation(column: ColumnEntry, letter: str, lists: _Lists) -> Any | None:
    """Return the data validation of a column (None for free text)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    style = "stop"
    if column.allowed_values:
        where = lists.add(f"{column.domain}.{column.name}", _list_values(column))
        check = DataValidation(type="list", formula1=where, allow_blank=True)
        error = "Choose one of the allowed values (see the list)."
        if not column.allowed_strict:
            style = "warning"
            error = "Not one of the listed values: it is reported as a warning."
    elif column.type == "boolean":
        choices = '"' + ",".join(BOOLEAN_CHOICES) + '"'
        check = DataValidation(type="list", formula1=choices, allow_blank=True)
        error = "Y or N."
    elif column.type in ("integer", "float"):
        check = _number_validation(column, letter)
        what = "a whole number" if column.type == "integer" else "a number"
        bounds = f" {column.range.text()}" if column.range is not None else ""
        error = f"Enter {what}{bounds}."
    elif column.type == "datetime":
        check = DataValidation(
            type="date",
            operator="between",
            formula1="DATE(1900,1,1)",
            formula2="DATE(9999,12,31)",
            allow_blank=True,
        )
        style = "warning"
        error = (
            "Not a date cell. ISO 8601 text is read too (YYYY-MM-DD or "
            "YYYY-MM-DDTHH:MM); anything else is reported (RD-008)."
        )
    else:
        return None
    check.errorStyle = style
    check.errorTitle = _short(column.name, 32)
    check.error = _short(error, 255)
    check.promptTitle = _short(column.title, 32)
    check.prompt = _short(f"{column.description} Write: {column.write_as}.", 255)
    check.showErrorMessage = True
    check.showInputMessage = True
    return check


def _number_format(column: ColumnEntry) -> str | None:
    if column.type == "string":
        return _TEXT_FORMAT
    if column.type == "datetime":
        return _DATE_TIME_FORMAT if column.with_time else _DATE_FORMAT
    return None


def _data_sheet(book: Any, domain: DomainEntry, lists: _Lists) -> None:
    """Fill the first sheet: header, notes, formats, validations, frozen header."""
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = book.active
    sheet.title = domain.name[:31]
    required_fill = PatternFill("solid", fgColor="FFE2B0")
    optional_fill = PatternFill("solid", fgColor="E8EEF4")
    for index, column in enumerate(domain.columns, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index, value=column.name)
        cell.data_type = "s"
        cell.font = Font(bold=True)
        cell.fill = required_fill if column.column_required else optional_fill
        note = _note(column)
        cell.comment = Comment(
            note,
            "trialdata",
            width=360,
            height=min(600, 40 + 16 * (note.count("\n") + len(note) // 55)),
        )
        dimension = sheet.column_dimensions[letter]
        dimension.width = max(12, min(40, len(column.name) + 4))
        number_format = _number_format(column)
        if number_format is not None:
            dimension.number_format = number_format
        check = _validation(column, letter, lists)
        if check is not None:
            sheet.add_data_validation(check)
            check.add(f"{letter}2:{letter}{DATA_ROWS}")
    sheet.freeze_panes = "A2"


def _columns_sheet(book: Any, domain: DomainEntry, dictionary: DataDictionary) -> None:
    """Add the visible sheet listing the domain's columns."""
    from openpyxl.styles import Alignment, Font

    sheet = book.create_sheet(COLUMNS_SHEET)
    headers = dict(COLUMN_FIELDS)
    title = sheet.cell(row=1, column=1, value=f"{domain.label}: {dictionary.title}")
    title.data_type = "s"
    title.font = Font(bold=True)
    for index, name in enumerate(_COLUMN_SHEET_FIELDS, start=1):
        cell = sheet.cell(row=2, column=index, value=headers[name])
        cell.font = Font(bold=True)
    for row, column in enumerate(domain.columns, start=3):
        cells = column_row(column)
        for index, name in enumerate(_COLUMN_SHEET_FIELDS, start=1):
            value = cells[name]
            cell = sheet.cell(row=row, column=index, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "B3"


def template_workbook(dictionary: DataDictionary, domain: str) -> bytes:
    """Return the empty upload workbook of one domain.

    Parameters
    ----------
    dictionary : DataDictionary
        The dictionary (generic, or of the trial's protocol).
    domain : str
        Domain name.

    Returns
    -------
    bytes
        The ``.xlsx`` workbook: the domain's sheet (header row only), the hidden
        ``lists`` sheet and the ``columns`` sheet.
    """
    from openpyxl import Workbook

    entry = dictionary.domain(domain)
    book = Workbook()
    lists = _Lists(book)
    _data_sheet(book, entry, lists)
    _columns_sheet(book, entry, dictionary)
    last = len(book.sheetnames) - 1
    book.move_sheet(LISTS_SHEET, offset=last - book.sheetnames.index(LISTS_SHEET))
    book.active = 0
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class TemplateFile:
    """A file written: its path and whether it replaced a file.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    replaced : bool
        True when a file was there before.
    """

    path: Path
    replaced: bool


def write_templates(
    dictionary: DataDictionary,
    folder: Path,
    domains: Sequence[str] = (),
    *,
    replace: bool = False,
    protocol_toml: bytes | None = None,
) -> list[TemplateFile]:
    """Write the upload workbooks of some or all domains into a folder.

    Parameters
    ----------
    dictionary : DataDictionary
        The dictionary.
    folder : pathlib.Path
        The folder; created when missing (its parent must exist). A symbolic link
        is refused.
    domains : sequence of str, optional
        Domains to write; default every domain.
    replace : bool, optional
        Replace existing files; by default a folder that already holds one of the
        files is refused, so that a filled-in workbook is never overwritten.
    protocol_toml : bytes, optional
        The protocol file's bytes, written as ``protocol.toml`` beside the
        workbooks so that ``trialdata validate FOLDER`` reads them as they are.

    Returns
    -------
    list of TemplateFile
        The files written, workbooks first.

    Raises
    ------
    trialdata.errors.InputError
        For an unknown domain, a folder that cannot be used or a file that would
        be overwritten (nothing is written then).
    """
    known = [d.name for d in dictionary.domains]
    unknown = [name for name in domains if name not in known]
    if unknown:
        raise InputError(
            f"unknown domain {', '.join(unknown)}; known domains: {', '.join(known)}"
        )
    chosen = list(dict.fromkeys(domains)) or known
    _make_folder(folder)
    others = _other_domain_files(folder, chosen)
    if others:
        raise InputError(
            f"already holds {', '.join(others)}: a workbook beside it would be a "
            "second file for the domain, which validation refuses (RD-010); choose "
            "another folder",
            file=str(folder),
        )
    names = [f"{name}.xlsx" for name in chosen]
    if protocol_toml is not None:
        names.append("protocol.toml")
    paths = [folder / name for name in names]
    existing = [path.name for path in paths if check_output(path)]
    if existing and not replace:
        raise InputError(
            f"already holds {', '.join(existing)}; a filled-in file is never "
            "overwritten: choose another folder, or replace them on purpose "
            "(trialdata template --force)",
            file=str(folder),
        )
    contents = [template_workbook(dictionary, name) for name in chosen]
    if protocol_toml is not None:
        contents.append(protocol_toml)
    return [
        TemplateFile(path, write_output(path, content))
        for path, content in zip(paths, contents, strict=True)
    ]


def _other_domain_files(folder: Path, domains: Sequence[str]) -> list[str]:
    """Return the folder's data files of these domains other than their workbook."""
    wanted = set(domains)
    return sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.suffix.lower() in DATA_SUFFIXES
        and entry.stem.lower() in wanted
        and not entry.name.startswith(".")  # not read by validation
        and entry.name != f"{entry.stem.lower()}.xlsx"  # the template itself
    )


def _make_folder(folder: Path) -> None:
    """Create the output folder if needed; refuse a link or a file there."""
    if folder.is_symlink():
        raise InputError(
            "is a symbolic link; outputs are never written through links",
            file=str(folder),
        )
    if folder.exists() and not folder.is_dir():
        raise InputError(
            "is a file, not a folder: templates are one workbook per domain "
            "(<domain>.xlsx, as trialdata validate reads them), written into a "
            "folder",
            file=str(folder),
        )
    if not folder.parent.is_dir():
        raise InputError(f"folder {folder.parent} does not exist", file=str(folder))
    try:
        folder.mkdir(exist_ok=True)
    except OSError as error:
        raise InputError(
            f"cannot create the folder: {error.strerror or error}", file=str(folder)
        ) from None
