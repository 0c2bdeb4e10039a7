"""Fast set-based writes: COPY on PostgreSQL, ``executemany`` on SQLite.

Both the audited ingest and the benchmark's plain bulk insert go through
:func:`bulk_insert`, so the comparison between them measures the audit and nothing
else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from trialdata.store.rls_writes import copy_target

__all__ = ["bulk_insert", "bulk_update"]


def _quote(conn: sa.Connection, name: str) -> str:
    return str(conn.dialect.identifier_preparer.quote(name))


def bulk_insert(
    conn: sa.Connection,
    table: str,
    columns: Sequence[str],
    data: Sequence[Any],
    constants: Mapping[str, str | int | None] | None = None,
) -> int:
    """Insert rows given column by column, inside the connection's transaction.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection with an open transaction (SQLite or PostgreSQL).
    table : str
        Table name.
    columns : sequence of str
        Column names, in the order of ``data``.
    data : sequence of sequences or arrays
        One sequence of driver-ready values (str, int, float, bool, None) per column,
        all the same length.
    constants : mapping of str to str, int or None, optional
        Columns that take the same value on every row. SQLite gets them as literals
        in the statement (fewer values to bind per row); COPY repeats them.

    Returns
    -------
    int
        Number of rows written.
    """
    if not data or len(data[0]) == 0:
        return 0
    n = len(data[0])
    fixed = dict(constants or {})
    target = _quote(conn, table)
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        columns = [*columns, *fixed]
        data = [*data, *([value] * n for value in fixed.values())]
        rows = zip(*data, strict=True)
        names = ", ".join(_quote(conn, c) for c in columns)
        with (
            copy_target(conn, table, names) as into,
            raw.cursor() as cursor,
            cursor.copy(f"COPY {into} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    else:
        names = ", ".join(_quote(conn, c) for c in [*columns, *fixed])
        marks = ", ".join(["?"] * len(columns) + [_literal(v) for v in fixed.values()])
        rows = zip(*data, strict=True)
        cursor = raw.cursor()
        try:
            cursor.executemany(f"INSERT INTO {target} ({names}) VALUES ({marks})", rows)
        finally:
            cursor.close()
    return len(data[0])


def _literal(value: str | int | None) -> str:
    """Return an SQL literal for a constant column value."""
    if value is None:
        return "NULL"
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"unsupported constant {value!r}")
    if isinstance(value, int):
        return str(int(value))
    return "'" + value.replace("'", "''") + "'"


def bulk_update(
    conn: sa.Connection,
    table: str,
    set_column: str,
    value: Any,
    key_column: str,
    keys: Sequence[Any],
) -> int:
    """Set one column to one value on the rows whose key is in ``keys``.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection with an open transaction.
    table : str
        Table name.
    set_column : str
        Column to set.
    value : Any
        Its new value.
    key_column : str
        Column matched against ``keys``.
    keys : sequence
        Key values of the rows to change.

    Returns
    -------
    int
        Number of keys given.
    """
    if len(keys) == 0:
        return 0
    statement = sa.text(
        f"UPDATE {_quote(conn, table)} SET {_quote(conn, set_column)} = :value "
        f"WHERE {_quote(conn, key_column)} = :key"
    )
    conn.execute(statement, [{"value": value, "key": k} for k in keys])
    return len(keys)
