"""Values as text: the one rendering, shared by the readers, the parser and the store.

A value a site sent as text is parsed once (:mod:`trialdata.validation.parsing`);
every other time a value becomes text, it is rendered here, by one set of
conventions (the store's *canonical text*, :mod:`trialdata.store.codec`):

- integers in decimal (``-12``; also beyond the 64-bit range, ``18446744073709551615``);
- floats as the shortest text that reads back as the same double (Arrow's
  formatting: ``0.1``, ``1e-7``, ``1e+15``, ``-0`` for -0.0, ``inf``);
- booleans ``true`` / ``false``;
- date-times as ISO 8601 (:mod:`trialdata.io.timestamps`): ``YYYY-MM-DD`` at
  midnight, else ``YYYY-MM-DDTHH:MM:SS`` with ``.ffffff`` when there are
  microseconds and the UTC offset when the value has one;
- text as it is; missing values as null.

:func:`kind_text` renders a column of a typed table by its schema kind (the store's
canonical text). :func:`value_text` renders a column of any dtype by the values it
holds, for a value read typed that must become text (a number in a text column, a
date in a number column reported as unreadable, the quarantine's rows as sent): a
number that is whole, as a spreadsheet or a Parquet double holds an integer, is
written as that integer (``12``, not ``12.0`` nor ``1.2e+1``) when below 2^53 (where
a double holds every integer); any other number as a float.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trialdata.io.timestamps import iso_text, split_zoned

__all__ = ["TEXT_DTYPE", "kind_text", "value_text"]

#: dtype of text columns: Arrow-backed strings, missing values as ``pd.NA``.
TEXT_DTYPE = pd.StringDtype("pyarrow")

#: Days since 1970 of 0001-01-01 and 9999-12-31: Arrow and NumPy write these dates
#: the same way (``YYYY-MM-DD``), so the faster Arrow cast is used within them.
_FIRST_DAY, _LAST_DAY = -719_162, 2_932_896
_NS_PER_DAY = 86_400 * 10**9
#: Whole numbers below this size are written as integers (a double holds them all).
_EXACT_BELOW = float(2**53)


def _whole_days(values: pd.Series) -> pa.Array | None:
    """Return date-times as Arrow dates when every one is at midnight (else None).

    The common case of date columns, cast to text by Arrow without a detour
    through Python objects; the same text as :func:`_datetime_text`.
    """
    stamps = pd.to_datetime(values, errors="coerce")
    if getattr(stamps.dt, "tz", None) is not None:
        return None
    raw = stamps.to_numpy()
    if raw.dtype != np.dtype("datetime64[ns]"):  # another unit: never narrowed
        return None
    missing = np.isnat(raw)  # below: a fraction of a second counts
    nanos = raw.astype(np.int64)
    nanos[missing] = 0
    if (nanos % _NS_PER_DAY).any():
        return None
    days = nanos // _NS_PER_DAY
    if len(days) and (days.min() < _FIRST_DAY or days.max() > _LAST_DAY):
        return None
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=missing)


def _datetime_text(values: pd.Series, offsets: np.ndarray | None) -> np.ndarray:
    """Return date-times as ISO text; a zoned column as wall times with offsets."""
    wall, zoned = split_zoned(values)
    return iso_text(wall, zoned if offsets is None else offsets, date_only=True)


def kind_text(
    values: pd.Series, kind: str, offsets: np.ndarray | None = None
) -> tuple[pa.Array | pa.ChunkedArray, np.ndarray | None]:
    """Return a typed column's canonical text, by its schema kind.

    Parameters
    ----------
    values : pandas.Series
        The column, of (or convertible to) its kind's dtype.
    kind : str
        ``string``, ``integer``, ``float``, ``boolean`` or ``datetime``.
    offsets : numpy.ndarray, optional
        A date-time column's UTC offsets (text or None per value).

    Returns
    -------
    text : pyarrow.Array or pyarrow.ChunkedArray
        Arrow strings, null where missing.
    objects : numpy.ndarray or None
        The same as an object array, when it was made on the way (date-times not
        all at midnight), else None.
    """
    if kind == "datetime":
        days = _whole_days(values) if offsets is None else None
        if days is not None:
            return pc.cast(days, pa.string()), None
        objects = _datetime_text(values, offsets)
        return pa.array(objects, type=pa.string(), from_pandas=True), objects
    if kind == "float":
        floats = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
        return pc.cast(pa.array(floats, from_pandas=True), pa.string()), None
    if kind == "boolean":
        return pc.cast(pa.array(values.astype("boolean")), pa.string()), None
    if kind == "integer":
        numbers = pd.to_numeric(values, errors="coerce").astype("Int64")
        return pc.cast(pa.array(numbers), pa.string()), None
    return pa.array(values.astype(TEXT_DTYPE)), None


def _number_text(floats: np.ndarray) -> pa.Array:
    """Return doubles as text: whole ones below 2^53 as integers, others as floats."""
    as_float = pc.cast(pa.array(floats, from_pandas=True), pa.string())
    with np.errstate(invalid="ignore"):
        whole = (
            np.isfinite(floats)
            & (np.abs(floats) < _EXACT_BELOW)
            & (np.floor(floats) == floats)
            & ~((floats == 0) & np.signbit(floats))  # -0.0 keeps its sign: "-0"
        )
    if not whole.any():
        return as_float
    integers = pc.cast(
        pa.array(np.where(whole, floats, 0).astype(np.int64)), pa.string()
    )
    return pc.if_else(pa.array(whole), integers, as_float)


def _python_text(value: object) -> str | None:
    """Return one Python value (not a float) as text; None when missing."""
    if isinstance(value, str):
        return value
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, pd.Timestamp | datetime):
        moment = value.isoformat()
        return moment[:10] if moment.endswith("T00:00:00") else moment
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, np.ndarray):  # a list or map of a Parquet file
        value = value.tolist()
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)  # a decimal, a duration, ...


def value_text(values: pd.Series) -> pd.Series:
    """Return a column of any dtype as text, by the values it holds.

    Parameters
    ----------
    values : pandas.Series
        Integers, floats, booleans, date-times (naive or zoned, any unit), text, or
        Python objects of these kinds, dates, times, decimals, lists and maps (an
        object column, e.g. a workbook column mixing numbers and text).

    Returns
    -------
    pandas.Series
        Text (``string[pyarrow]``), same index, missing where the value is: see the
        module notes. Lists and maps are JSON; times ``HH:MM:SS``.
    """
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype):
        return values.astype(TEXT_DTYPE)
    elif pd.api.types.is_bool_dtype(dtype):
        strings = kind_text(values, "boolean")[0]
    elif pd.api.types.is_integer_dtype(dtype):
        numbers = (
            pa.array(values.array)  # nullable: Int64, UInt64
            if isinstance(dtype, pd.api.extensions.ExtensionDtype)
            else pa.array(values.to_numpy())
        )
        strings = pc.cast(numbers, pa.string())
    elif pd.api.types.is_float_dtype(dtype):
        strings = _number_text(values.to_numpy(dtype="float64", na_value=np.nan))
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        strings = kind_text(values, "datetime")[0]
    else:  # Python objects; their floats are written in one call
        items = values.to_numpy(dtype=object)
        floats = [i for i, v in enumerate(items) if isinstance(v, float | np.floating)]
        texts = [_python_text(v) for v in items]
        if floats:
            numbers = np.asarray(items[floats], dtype="float64")
            for i, text in zip(floats, _number_text(numbers).to_pylist(), strict=True):
                texts[i] = text
        strings = pa.array(texts, type=pa.string())
    return pd.Series(
        pd.arrays.ArrowStringArray(pa.chunked_array([strings], type=pa.string())),
        index=values.index,
        name=values.name,
    ).astype(TEXT_DTYPE)
