"""Audited writes of single bookkeeping rows (the :mod:`~.audit_rows` contract).

An inserted row is one ``create`` entry (key :func:`row_key`, new value
:func:`row_json`); a changed column is one ``update`` entry (field = the column, old
and new value as :func:`value_text`). Both happen on the caller's connection, inside
its write transaction and changeset, so that replaying the trail reproduces the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from trialdata.store.audit import AuditWriter
from trialdata.store.audit_rows import row_json, row_key, value_text

__all__ = ["insert_row", "update_column"]


def insert_row(
    conn: sa.Connection, audit: AuditWriter, table: sa.Table, row: Mapping[str, Any]
) -> None:
    """Insert one row and queue its ``create`` entry.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection in the write transaction.
    audit : AuditWriter
        The changeset's writer.
    table : sqlalchemy.Table
        A bookkeeping table.
    row : mapping
        The row by column name; a column left out is NULL.
    """
    values = {c.name: row.get(c.name) for c in table.columns}
    conn.execute(table.insert().values(values))
    audit.add(
        "create", table.name, [row_key(table, values)], new=[row_json(table, values)]
    )


def update_column(
    conn: sa.Connection,
    audit: AuditWriter,
    table: sa.Table,
    key: Mapping[str, Any],
    column: str,
    old: Any,
    new: Any,
) -> None:
    """Change one column of one row and queue its ``update`` entry.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection in the write transaction.
    audit : AuditWriter
        The changeset's writer.
    table : sqlalchemy.Table
        A bookkeeping table.
    key : mapping
        The row's primary key values by column name.
    column : str
        The column changed.
    old, new : object
        Its value before and after.
    """
    where = [table.c[name] == value for name, value in key.items()]
    conn.execute(sa.update(table).where(*where).values({column: new}))
    audit.add(
        "update",
        table.name,
        [row_key(table, key)],
        column,
        value_text(old),
        value_text(new),
    )
