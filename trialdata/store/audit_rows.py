"""How a row of a bookkeeping table is written in the audit trail.

Every row the store inserts into a bookkeeping table (everything except the audit log,
the changesets and the ``rec_<domain>`` record tables) is audited as one ``create``
entry: table = the table's name, key = :func:`row_key`, new value = :func:`row_json`.
A later change of one column is an ``update`` entry (field = the column, old and new
value as :func:`value_text`). Replaying these entries reproduces the table exactly,
which is what ``audit verify`` checks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

__all__ = ["plain_value", "row_json", "row_key", "value_text"]


def plain_value(value: Any) -> Any:
    """Return a database value as a JSON-ready Python value.

    Parameters
    ----------
    value : object
        What a driver returns or binds: str, int, float, bool, date, datetime or None.

    Returns
    -------
    object
        str, int, float, bool or None; dates and date-times as ISO 8601 text.
    """
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()  # numpy scalars
    return value


def value_text(value: Any) -> str | None:
    """Return one column value as the text of an ``update`` entry.

    Parameters
    ----------
    value : object
        The value.

    Returns
    -------
    str or None
        None for a missing value, the text itself for a str, JSON otherwise.
    """
    plain = plain_value(value)
    if plain is None or isinstance(plain, str):
        return plain
    return json.dumps(plain)


def row_key(table: sa.Table, values: Mapping[str, Any]) -> str:
    """Return the audit key of a row: its primary key values joined by ``/``.

    Parameters
    ----------
    table : sqlalchemy.Table
        The table.
    values : mapping
        The row, by column name.

    Returns
    -------
    str
        E.g. ``"12"`` or ``"12/labs.csv"``.
    """
    return "/".join(str(plain_value(values[c.name])) for c in table.primary_key)


def row_json(table: sa.Table, values: Mapping[str, Any]) -> str:
    """Return the new value of a row's ``create`` entry: the whole row as JSON.

    Parameters
    ----------
    table : sqlalchemy.Table
        The table.
    values : mapping
        The row, by column name; a column left out is written as null.

    Returns
    -------
    str
        Compact JSON object of every column, in the table's column order.
    """
    return json.dumps(
        {c.name: plain_value(values.get(c.name)) for c in table.columns},
        separators=(",", ":"),
        ensure_ascii=False,
    )
