"""Writes by a login that row-level security limits (PostgreSQL).

A person's login sees only the rows of its sites (:mod:`trialdata.store.row_security`),
which breaks two things the writers do for the store owner:

- the next free key of a table is one more than the highest key *in the table*, not
  among the rows the login sees: :func:`next_key` asks the store's
  ``trialdata_next_id`` function, which counts every row;
- PostgreSQL refuses ``COPY ... FROM`` into a table whose row-level security applies
  to the session: :func:`copy_target` lets the rows be copied into a temporary
  staging table and moves them into the table with one ``INSERT ... SELECT``, which
  the policies check row by row.

For the owner (and on SQLite) both change nothing: :func:`row_security_active` is
false, the writers keep their plain ``max()`` and ``COPY``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

__all__ = ["copy_target", "next_key", "row_security_active"]

#: Name of the temporary staging table (dropped after each use and at commit).
STAGE = "trialdata_copy_stage"


def row_security_active(conn: sa.Connection, table: str) -> bool:
    """Return whether row-level security limits the session on a table.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    table : str
        Table name (in the store's schema, found by the search path).

    Returns
    -------
    bool
        False on SQLite and for the store owner.
    """
    if conn.dialect.name != "postgresql":
        return False
    return bool(
        conn.execute(sa.text("SELECT row_security_active(:t)"), {"t": table}).scalar()
    )


def next_key(conn: sa.Connection, table: str, column: str) -> int | None:
    """Return the next free integer key when the session cannot see every row.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection in the write transaction.
    table : str
        Table name.
    column : str
        Its integer key column (part of the primary key).

    Returns
    -------
    int or None
        One more than the highest key of the whole table; None when the session
        sees every row (then ``max() + 1`` over the table is right and cheaper).
    """
    if not row_security_active(conn, table):
        return None
    return int(
        conn.execute(
            sa.text("SELECT trialdata_next_id(:t, :c)"), {"t": table, "c": column}
        ).scalar_one()
    )


@contextmanager
def copy_target(conn: sa.Connection, table: str, names: str) -> Iterator[str]:
    """Yield the (quoted) table a ``COPY ... FROM`` into ``table`` should write to.

    The table itself when the session is not limited by row-level security;
    otherwise a temporary staging table whose rows are inserted into ``table`` when
    the block ends (and the policies check each one).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection in the write transaction.
    table : str
        Target table name.
    names : str
        The quoted, comma-separated columns the COPY writes.

    Yields
    ------
    str
        Quoted name of the table to ``COPY`` into.
    """
    quote = conn.dialect.identifier_preparer.quote
    target = quote(table)
    if not row_security_active(conn, table):
        yield target
        return
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {STAGE} (LIKE {target} INCLUDING DEFAULTS) "
        "ON COMMIT DROP"
    )
    yield STAGE
    conn.exec_driver_sql(f"INSERT INTO {target} ({names}) SELECT {names} FROM {STAGE}")
    conn.exec_driver_sql(f"DROP TABLE {STAGE}")
