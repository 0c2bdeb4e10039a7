"""Integer identifiers of store rows: the next free one, and updates by identifier.

Every bookkeeping table (submissions, changesets, quarantine, findings, queries) and
every record table (``_rid``) numbers its rows itself, one more than the highest
number in use; the writer holds the store's write lock, so no other writer takes the
same numbers.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from trialdata.store.rls_writes import next_key

__all__ = ["next_id", "update_by_id"]


def next_id(conn: sa.Connection, column: sa.ColumnElement[Any]) -> int:
    """Return one more than the highest value of an integer key column.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store (holding the write lock when the number is used).
    column : sqlalchemy.ColumnElement
        The key column, e.g. ``QUERIES.c.id``.

    Returns
    -------
    int
        The next free identifier, 1 for an empty table.
    """
    if isinstance(column, sa.Column) and isinstance(column.table, sa.Table):
        # a login limited by row-level security sees only some rows: ask the
        # store for the highest key of the whole table
        key = next_key(conn, column.table.name, column.name)
        if key is not None:
            return key
    return int(conn.execute(sa.select(sa.func.max(column))).scalar() or 0) + 1


def update_by_id(
    conn: sa.Connection, table: sa.Table, ids: list[int], **values: object
) -> None:
    """Set columns to the same values on the rows whose ``id`` is in ``ids``.

    One ``UPDATE ... WHERE id IN (...)`` statement with an expanding parameter.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection inside the write transaction.
    table : sqlalchemy.Table
        A table with an ``id`` column.
    ids : list of int
        Identifiers of the rows to change.
    **values : object
        Column name to its new value.
    """
    conn.execute(
        sa.update(table)
        .where(table.c.id.in_(sa.bindparam("ids", expanding=True)))
        .values(**values),
        {"ids": ids},
    )
