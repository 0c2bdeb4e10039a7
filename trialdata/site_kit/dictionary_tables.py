"""The data dictionary as tables of cells, shared by its HTML, XLSX and CSV writers.

Cells are text, numbers or None (empty); a writer formats them. Column rows have the
fields of :data:`COLUMN_FIELDS`; the protocol is laid out by
:func:`protocol_sections` from its JSON content, so every field a protocol has is
shown, whatever fields the protocol model gains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trialdata.site_kit.model import ColumnEntry, RuleRef

__all__ = [
    "COLUMN_FIELDS",
    "LIST_SEPARATOR",
    "RULE_FIELDS",
    "Cell",
    "Section",
    "column_row",
    "other_values",
    "protocol_sections",
    "rule_row",
    "yes_no",
]

#: A cell of a table: text, a number, or None for an empty cell.
Cell = str | int | float | None

#: Separator of list items in one cell (allowed values, notes, rules).
LIST_SEPARATOR = " | "

#: Fields of a column's row, in order, with their headers.
COLUMN_FIELDS: tuple[tuple[str, str], ...] = (
    ("column", "Column"),
    ("title", "Title"),
    ("type", "Type"),
    ("write_as", "How to write a value"),
    ("unit", "Unit"),
    ("column_required", "Column required"),
    ("value_required", "Value required"),
    ("key", "Key"),
    ("unique", "Unique"),
    ("allowed_values", "Allowed values"),
    ("allowed_from", "Allowed values from"),
    ("other_values", "Another value is"),
    ("terminology", "Terminology"),
    ("minimum", "Minimum"),
    ("minimum_inclusive", "Minimum allowed"),
    ("maximum", "Maximum"),
    ("maximum_inclusive", "Maximum allowed"),
    ("range", "Range"),
    ("pattern", "Pattern"),
    ("pattern_description", "Pattern in words"),
    ("description", "Description"),
    ("protocol_notes", "Protocol"),
    ("rule_ids", "Rule ids"),
    ("rules", "Rules"),
)

#: Fields of a rule's row, with their headers.
RULE_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "Rule"),
    ("severity", "Severity"),
    ("origin", "Checked by"),
    ("description", "What it checks"),
)

_ORIGINS = {
    "reader": "reader (as the file is read)",
    "schema": "schema (the column's declaration)",
    "rule": "cross-domain or protocol rule",
}


def yes_no(flag: bool) -> str:
    """Return ``"yes"`` or ``"no"``."""
    return "yes" if flag else "no"


def other_values(column: ColumnEntry) -> str | None:
    """Return what a value outside the allowed values gives: an error or a warning."""
    if not column.allowed_values:
        return None
    return "error" if column.allowed_strict else "warning"


def column_row(column: ColumnEntry) -> dict[str, Cell]:
    """Return a column's cells by field (see :data:`COLUMN_FIELDS`).

    Parameters
    ----------
    column : ColumnEntry
        The column.

    Returns
    -------
    dict of str to Cell
        Lists joined with :data:`LIST_SEPARATOR`, flags as ``yes``/``no``, bounds as
        numbers.
    """
    bounds = column.range
    return {
        "column": column.name,
        "title": column.title,
        "type": column.type,
        "write_as": column.write_as,
        "unit": column.unit,
        "column_required": yes_no(column.column_required),
        "value_required": yes_no(column.value_required),
        "key": yes_no(column.key),
        "unique": yes_no(column.unique),
        "allowed_values": LIST_SEPARATOR.join(column.allowed_values) or None,
        "allowed_from": column.allowed_from,
        "other_values": other_values(column),
        "terminology": column.terminology,
        "minimum": None if bounds is None else bounds.minimum,
        "minimum_inclusive": None
        if bounds is None or bounds.minimum is None
        else yes_no(bounds.minimum_inclusive),
        "maximum": None if bounds is None else bounds.maximum,
        "maximum_inclusive": None
        if bounds is None or bounds.maximum is None
        else yes_no(bounds.maximum_inclusive),
        "range": None if bounds is None else bounds.text(),
        "pattern": column.pattern,
        "pattern_description": column.pattern_description,
        "description": column.description,
        "protocol_notes": LIST_SEPARATOR.join(column.protocol_notes) or None,
        "rule_ids": " ".join(rule.id for rule in column.rules) or None,
        "rules": LIST_SEPARATOR.join(
            f"{rule.id} ({rule.severity}): {rule.description}" for rule in column.rules
        )
        or None,
    }


def rule_row(rule: RuleRef) -> dict[str, Cell]:
    """Return a rule's cells by field (see :data:`RULE_FIELDS`)."""
    return {
        "id": rule.id,
        "severity": rule.severity,
        "origin": _ORIGINS.get(rule.origin, rule.origin),
        "description": rule.description,
    }


@dataclass(frozen=True)
class Section:
    """A titled table of the protocol.

    Attributes
    ----------
    title : str
        E.g. ``"dose_levels"``.
    headers : tuple of str
        Column headers.
    rows : tuple of tuple of Cell
        The rows.
    """

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def _cell(value: Any) -> Cell:
    """Return a JSON value as a cell: lists joined, flags as yes/no."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, Sequence):
        return LIST_SEPARATOR.join(str(_cell(v)) for v in value) or None
    return str(value)


def _is_records(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, Mapping) for v in value)
    )


def protocol_sections(content: Mapping[str, Any]) -> list[Section]:
    """Lay out a protocol's JSON content as titled tables.

    Single values of the top level come first as one ``protocol`` table of field
    and value; each mapping (``trial``, ``design``) is a table of its fields; each
    list of records (``dose_levels``, ``sites``, ``visits``...) a table with a row
    per record.

    Parameters
    ----------
    content : Mapping
        The protocol as JSON data (:attr:`ProtocolInfo.content`).

    Returns
    -------
    list of Section
        The tables, in the protocol's field order.
    """
    top: list[tuple[Cell, ...]] = []
    sections: list[Section] = []
    for name, value in content.items():
        if isinstance(value, Mapping):
            rows = tuple((str(k), _cell(v)) for k, v in value.items())
            sections.append(Section(name, ("field", "value"), rows))
        elif _is_records(value):
            headers = tuple(dict.fromkeys(k for record in value for k in record))
            records = tuple(
                tuple(_cell(record.get(h)) for h in headers) for record in value
            )
            sections.append(Section(name, headers, records))
        else:
            top.append((name, _cell(value)))
    if top:
        sections.insert(0, Section("protocol", ("field", "value"), tuple(top)))
    return sections
