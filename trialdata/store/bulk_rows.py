"""Audited writes of many bookkeeping rows at once (the :mod:`~.audit_rows` contract).

The set-based counterpart of :mod:`trialdata.store.bookkeeping`, for the rows an
ingest writes by the thousand (quarantine, findings, queries): :func:`insert_rows`
inserts rows column by column and queues one ``create`` entry per row (key: the
primary key values joined by ``/``, new value: the whole row as compact JSON, encoded
column-wise, equal to :func:`~trialdata.store.audit_rows.row_json`);
:func:`update_rows` sets columns of rows chosen by ``id`` and queues one ``update``
entry per row and changed column (old and new value as
:func:`~trialdata.store.audit_rows.value_text`). Values are converted to the column's
type first, so that what is stored and what is audited are the same value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa

from trialdata.store.audit import AuditWriter
from trialdata.store.audit_rows import value_text
from trialdata.store.bulk import bulk_insert

__all__ = ["insert_rows", "update_rows"]


def _kind(column: sa.Column[Any]) -> str:
    """Return how a column's values are held: ``int``, ``float``, ``bool``, ``str``.

    Raises
    ------
    TypeError
        For a column of another type (dates, binary): not a bookkeeping column.
    """
    try:
        python = column.type.python_type
    except NotImplementedError:
        python = object
    for kind, held in (("bool", bool), ("int", int), ("float", float), ("str", str)):
        if python is held:
            return kind
    raise TypeError(f"{column.table}.{column.name}: {column.type} is not supported")


_POLARS: dict[str, Any] = {
    "int": pl.Int64,
    "float": pl.Float64,
    "bool": pl.Boolean,
    "str": pl.String,
}


def _converted(kind: str, values: Sequence[Any]) -> list[Any]:
    """Return values as the column's Python type (None stays None)."""
    if kind == "str":
        return [v if v is None or type(v) is str else str(v) for v in values]
    if kind == "int":
        return [v if v is None or type(v) is int else int(v) for v in values]
    if kind == "float":
        return [v if v is None or type(v) is float else float(v) for v in values]
    return [v if v is None or type(v) is bool else bool(v) for v in values]


def insert_rows(
    conn: sa.Connection,
    audit: AuditWriter,
    table: sa.Table,
    columns: Sequence[str],
    data: Sequence[Sequence[Any]],
) -> int:
    """Insert rows given column by column and queue a ``create`` entry for each.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection in the write transaction.
    audit : AuditWriter
        The changeset's writer.
    table : sqlalchemy.Table
        A bookkeeping table.
    columns : sequence of str
        Columns given, in the order of ``data``; the others are NULL.
    data : sequence of sequences
        One sequence of values per column, all the same length.

    Returns
    -------
    int
        Rows written.
    """
    if not data or len(data[0]) == 0:
        return 0
    n = len(data[0])
    given = {
        name: _converted(_kind(table.c[name]), values)
        for name, values in zip(columns, data, strict=True)
    }
    bulk_insert(conn, table.name, list(given), list(given.values()))
    frame = pl.DataFrame(
        [
            pl.Series(
                str(c.name),
                given.get(c.name, [None] * n),
                dtype=_POLARS[_kind(c)],
                strict=False,
            )
            for c in table.columns
        ]
    )
    encoded = frame.select(
        pl.concat_str(
            [pl.col(str(c.name)).cast(pl.String) for c in table.primary_key],
            separator="/",
        ).alias("key"),
        pl.struct(pl.all()).struct.json_encode().alias("json"),
    )
    audit.add(
        "create",
        table.name,
        encoded["key"],
        new=encoded["json"],
        key_series=encoded["key"],
    )
    return n


def update_rows(
    conn: sa.Connection,
    audit: AuditWriter,
    table: sa.Table,
    ids: Sequence[int],
    **values: Any,
) -> int:
    """Set columns of the rows with these ``id`` values; queue an entry per change.

    The rows' current values are read first; a column whose value does not change
    gets no entry.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection in the write transaction.
    audit : AuditWriter
        The changeset's writer.
    table : sqlalchemy.Table
        A bookkeeping table with an integer primary key ``id``.
    ids : sequence of int
        The rows.
    **values : object
        Column name to its new value (the same for every row).

    Returns
    -------
    int
        Rows updated.
    """
    ids = sorted({int(i) for i in ids})
    if not ids:
        return 0
    names = list(values)
    chosen: sa.BindParameter[list[int]] = sa.bindparam("ids", expanding=True)
    old = conn.execute(
        sa.select(table.c.id, *(table.c[name] for name in names)).where(
            table.c.id.in_(chosen)
        ),
        {"ids": ids},
    ).all()
    new = {
        name: _converted(_kind(table.c[name]), [value])[0]
        for name, value in values.items()
    }
    conn.execute(
        sa.update(table).where(table.c.id.in_(chosen)).values(**new), {"ids": ids}
    )
    for position, name in enumerate(names, start=1):
        after = value_text(new[name])
        changed = [
            (str(row[0]), value_text(row[position]))
            for row in old
            if value_text(row[position]) != after
        ]
        if changed:
            audit.add(
                "update",
                table.name,
                [key for key, _ in changed],
                name,
                [before for _, before in changed],
                after,
            )
    return len(old)
