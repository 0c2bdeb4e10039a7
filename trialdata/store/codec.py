"""Conversions between typed domain tables, database values and canonical text.

Three representations of a value are used by the store:

- *typed*: the pandas dtypes of validated tables (``string[pyarrow]``, ``Int64``,
  ``float64``, ``boolean``, ``datetime64[ns]``);
- *database*: Python objects a driver binds (str, int, float, bool, ISO date-time
  text, None);
- *canonical text*: one exact string per value, used to compare versions, to write the
  audit trail and to hash snapshots: integers in decimal, floats as the shortest text
  that reads back to the same double (``repr``), booleans ``true``/``false``, dates
  ``YYYY-MM-DD`` (``YYYY-MM-DDTHH:MM:SS`` when there is a time of day), missing
  values None.

Every conversion works column by column on whole arrays; there is no loop over rows
in Python except the C-level string encoding of JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring
from typing import Any

import numpy as np
import pandas as pd

from schemas.domains import DomainSpec

__all__ = [
    "TEXT_DTYPE",
    "db_columns",
    "json_objects",
    "key_text",
    "none_list",
    "text_columns",
    "typed_frame",
]

#: dtype of text columns in typed tables.
TEXT_DTYPE = pd.StringDtype("pyarrow")

_TYPED_DTYPES: dict[str, Any] = {
    "string": TEXT_DTYPE,
    "integer": "Int64",
    "float": "float64",
    "boolean": "boolean",
    "datetime": "datetime64[ns]",
}


def _objects(values: pd.Series) -> np.ndarray:
    """Return values as an object array with None for missing values."""
    out: np.ndarray = values.astype(object).to_numpy()
    out[values.isna().to_numpy()] = None
    return out


def none_list(values: pd.Series) -> list[Any]:
    """Return values as a list with None for missing values.

    Parameters
    ----------
    values : pandas.Series
        Any values.

    Returns
    -------
    list
        The values, missing ones (NaN, NA, NaT) as None.
    """
    return list(_objects(values))


def _datetime_text(values: pd.Series, *, date_only: bool) -> np.ndarray:
    stamps = pd.to_datetime(values, errors="coerce")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    raw = stamps.to_numpy(dtype="datetime64[s]")
    text = pd.Series(np.datetime_as_string(raw, unit="s"), dtype=object)
    if date_only:
        text = text.str.removesuffix("T00:00:00")
    out = text.to_numpy(dtype=object)
    out[np.isnat(raw)] = None
    return out


def db_columns(data: pd.DataFrame, spec: DomainSpec) -> list[np.ndarray]:
    """Return the domain's columns of a typed table as driver-ready object arrays.

    Parameters
    ----------
    data : pandas.DataFrame
        Typed table with every column of the domain.
    spec : schemas.domains.DomainSpec
        The domain.

    Returns
    -------
    list of numpy.ndarray
        One object array per column of ``spec.columns``: str, int, float, bool,
        ``YYYY-MM-DDTHH:MM:SS`` text for date-times, None for missing values.
    """
    out = []
    for name in spec.columns:
        kind = spec.column_kinds[name]
        values = data[name]
        if kind == "datetime":
            out.append(_datetime_text(values, date_only=False))
        elif kind == "float":
            floats = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
            column = floats.astype(object)
            column[np.isnan(floats)] = None
            out.append(column)
        else:
            out.append(_objects(values))
    return out


def text_columns(data: pd.DataFrame, spec: DomainSpec) -> dict[str, np.ndarray]:
    """Return the canonical text of every domain column of a typed table.

    Parameters
    ----------
    data : pandas.DataFrame
        Typed table with every column of the domain.
    spec : schemas.domains.DomainSpec
        The domain.

    Returns
    -------
    dict of str to numpy.ndarray
        Column name to object array of str or None.
    """
    out: dict[str, np.ndarray] = {}
    for name in spec.columns:
        kind = spec.column_kinds[name]
        values = data[name]
        if kind == "datetime":
            out[name] = _datetime_text(values, date_only=True)
        elif kind == "float":
            floats = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
            text = floats.astype(str).astype(object)
            text[np.isnan(floats)] = None
            out[name] = text
        elif kind == "boolean":
            flags = values.astype("boolean")
            text = np.where(flags.fillna(False).to_numpy(dtype=bool), "true", "false")
            column = text.astype(object)
            column[flags.isna().to_numpy()] = None
            out[name] = column
        elif kind == "integer":
            numbers = pd.to_numeric(values, errors="coerce").astype("Int64")
            out[name] = _objects(numbers.astype(TEXT_DTYPE))
        else:
            out[name] = _objects(values.astype(TEXT_DTYPE))
    return out


def key_text(text: Mapping[str, np.ndarray], key: Sequence[str]) -> np.ndarray:
    """Return the record key of every row: its key values joined by ``|``.

    Parameters
    ----------
    text : mapping of str to numpy.ndarray
        Canonical text columns (:func:`text_columns`).
    key : sequence of str
        Key columns.

    Returns
    -------
    numpy.ndarray
        Object array of str; None where a key value is missing.
    """
    parts = [text[name] for name in key]
    missing = np.zeros(len(parts[0]), dtype=bool)
    for part in parts:
        missing |= pd.isna(part)
    safe = [np.where(pd.isna(part), "", part).astype(object) for part in parts]
    joined = safe[0]
    for part in safe[1:]:
        joined = joined + "|" + part
    joined = np.asarray(joined, dtype=object)
    joined[missing] = None
    return joined


def _json_values(values: np.ndarray) -> np.ndarray:
    out = np.full(len(values), "null", dtype=object)
    present = ~pd.isna(values)
    if present.any():
        out[present] = list(map(encode_basestring, values[present]))
    return out


def json_objects(text: Mapping[str, np.ndarray], columns: Sequence[str]) -> np.ndarray:
    """Return each row as a compact JSON object of its canonical text values.

    Parameters
    ----------
    text : mapping of str to numpy.ndarray
        Canonical text columns (:func:`text_columns`), all the same length.
    columns : sequence of str
        Columns to include, in this order.

    Returns
    -------
    numpy.ndarray
        Object array of str such as ``{"subject_id":"S01","value":"1.5"}``, equal to
        ``json.dumps(row, ensure_ascii=False, separators=(",", ":"))``.
    """
    n = len(text[columns[0]]) if columns else 0
    out = np.full(n, "{", dtype=object)
    for i, name in enumerate(columns):
        label = ("," if i else "") + encode_basestring(name) + ":"
        out = out + label + _json_values(text[name])
    return out + "}"


def typed_frame(rows: pd.DataFrame, spec: DomainSpec) -> pd.DataFrame:
    """Convert domain columns read from the database back to their typed dtypes.

    Parameters
    ----------
    rows : pandas.DataFrame
        Result of a query with the domain's columns (any driver's value types).
    spec : schemas.domains.DomainSpec
        The domain.

    Returns
    -------
    pandas.DataFrame
        The same rows with the domain columns typed as validation types them; other
        columns are left as they are.
    """
    data = rows.copy()
    for name in spec.columns:
        kind = spec.column_kinds[name]
        values = data[name]
        if kind == "datetime":
            data[name] = pd.to_datetime(values, errors="coerce", format="ISO8601")
            data[name] = data[name].astype("datetime64[ns]")
        elif kind == "boolean":
            data[name] = values.map(
                lambda v: None if v is None or v is pd.NA else bool(v)
            ).astype("boolean")
        elif kind in ("integer", "float"):
            data[name] = pd.to_numeric(values, errors="coerce").astype(
                _TYPED_DTYPES[kind]
            )
        else:
            data[name] = values.astype(TEXT_DTYPE)
    return data
