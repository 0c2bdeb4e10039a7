"""Reading many rows fast: DBAPI cursor chunks turned into Arrow columns.

``audit verify`` reads every audit entry and every record version of a store, which
may be millions of rows. SQLAlchemy's result rows cost more than the driver's own
fetching, so these rows are read from the driver's cursor inside the caller's
transaction (on PostgreSQL a server-side cursor, so that the client holds one chunk
at a time) and each chunk is converted column by column into Arrow arrays.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

__all__ = ["arrow_column", "pandas_frame", "raw_chunks", "select_sql"]


def select_sql(
    conn: sa.Connection, table: str, columns: Sequence[str], order_by: str
) -> str:
    """Return ``SELECT columns FROM table ORDER BY order_by`` with quoted names.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection whose dialect quotes the names.
    table : str
        Table name.
    columns : sequence of str
        Columns, in order.
    order_by : str
        Column to order by.

    Returns
    -------
    str
        The statement.
    """
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    return f"SELECT {names} FROM {quote(table)} ORDER BY {quote(order_by)}"


def raw_chunks(
    conn: sa.Connection, sql: str, chunk: int = 200_000
) -> Iterator[list[tuple[Any, ...]]]:
    """Run a query on the driver's cursor and yield its rows a chunk at a time.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection (inside the caller's transaction).
    sql : str
        A ``SELECT`` statement without parameters.
    chunk : int, optional
        Rows per chunk.

    Yields
    ------
    list of tuple
        Rows as the driver returns them.
    """
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with driver.cursor(name=f"trialdata_read_{uuid.uuid4().hex[:12]}") as cursor:
            cursor.itersize = chunk
            cursor.execute(sql)
            while rows := cursor.fetchmany(chunk):
                yield rows
        return
    cursor = driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk):
            yield rows
    finally:
        cursor.close()


def arrow_column(values: Sequence[Any], kind: str) -> pa.Array:
    """Return one column of driver values as an Arrow array.

    Parameters
    ----------
    values : sequence
        The values (None for missing ones).
    kind : str
        ``str`` or ``int`` (converted strictly), or ``any`` (type inferred; a column
        of mixed types becomes strings of their ``str``).

    Returns
    -------
    pyarrow.Array
        The column.
    """
    if kind == "str":
        return pa.array(values, type=pa.string())
    if kind == "int":
        return pa.array(values, type=pa.int64())
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(
            [None if v is None else str(v) for v in values], type=pa.string()
        )


_PANDAS_TYPES = {
    pa.string(): pd.StringDtype("pyarrow"),
    pa.large_string(): pd.StringDtype("pyarrow"),
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def pandas_frame(columns: dict[str, pa.Array]) -> pd.DataFrame:
    """Return Arrow columns as a pandas frame without object-array blocks.

    Text becomes ``string[pyarrow]``, integers ``Int64``, booleans ``boolean``,
    floats and date-times NumPy; a column with no value is an object column of None.

    Parameters
    ----------
    columns : dict of str to pyarrow.Array
        Column name to values.

    Returns
    -------
    pandas.DataFrame
        The frame.
    """
    out: dict[str, pd.Series] = {}
    for name, array in columns.items():
        if pa.types.is_null(array.type):
            out[name] = pd.Series(np.full(len(array), None, dtype=object))
        else:
            out[name] = array.to_pandas(types_mapper=_PANDAS_TYPES.get)
    return pd.DataFrame(out, copy=False)
