"""Conversions between typed domain tables, database values and canonical text.

Three representations of a value are used by the store:

- *typed*: the pandas dtypes of validated tables (``string[pyarrow]``, ``Int64``,
  ``float64``, ``boolean``, ``datetime64[ns]``);
- *database*: Python objects a driver binds (str, int, float, bool, ISO date or
  date-time text, None);
- *canonical text*: one exact string per value, used to compare versions, to write the
  audit trail and to hash snapshots, rendered by :func:`trialdata.io.text.kind_text`
  (the one rendering of values as text, which the readers and the parser use too):
  integers in decimal, floats as the shortest
  text that reads back to the same double (Arrow's formatting: ``1``, ``0.1``,
  ``1e-7``, ``-0`` for -0.0), booleans ``true``/``false``, dates ``YYYY-MM-DD``
  (``YYYY-MM-DDTHH:MM:SS`` when there is a time of day, with ``.ffffff`` when there
  are microseconds and the UTC offset when the value was written with one, e.g.
  ``2025-02-17T10:30:00.250000+01:00``: see :mod:`trialdata.io.timestamps`),
  missing values None.

Exact values. A typed table holds a date-time written with a UTC offset as its wall
time plus the offset in the companion column ``_offset_<column>``. The database
column holds the instant in UTC; a float column of SQLite cannot hold -0.0 (it
stores 0). Each record version therefore has an ``_exact`` column
(:data:`EXACT_COLUMN`): for the few values its typed columns do not hold as written
(a date-time with an offset, a negative zero) a JSON object of their canonical text,
None for every other row. :func:`db_columns` and :func:`exact_values` write it,
:func:`typed_frame` reads it back, so the canonical text read from the store is the
canonical text written.

Every conversion works column by column on whole arrays; there is no loop over rows
in Python except the C-level string encoding of JSON (and over the few rows with an
``_exact`` entry).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from json.encoder import encode_basestring
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from schemas.domains import DomainSpec
from trialdata.io.text import TEXT_DTYPE, kind_text
from trialdata.io.timestamps import (
    iso_text,
    offset_column,
    offset_text,
    offsets_of,
    split_zoned,
    utc_wall,
)

__all__ = [
    "EXACT_COLUMN",
    "JSON_ESCAPED",
    "TEXT_DTYPE",
    "CanonicalText",
    "canonical_text",
    "db_columns",
    "duplicated",
    "exact_values",
    "json_objects",
    "json_series",
    "json_strings",
    "key_text",
    "none_list",
    "object_strings",
    "plain_columns",
    "text_columns",
    "typed_frame",
]

#: Column of a record table holding the canonical text of the values its typed
#: columns do not hold as written (see the module notes).
EXACT_COLUMN = "_exact"

_TYPED_DTYPES: dict[str, Any] = {
    "string": TEXT_DTYPE,
    "integer": "Int64",
    "float": "float64",
    "boolean": "boolean",
    "datetime": "datetime64[ns]",
}


def _objects(values: pd.Series) -> np.ndarray:
    """Return values as an object array with None for missing values."""
    # a copy: under Copy-on-Write (pandas 3) to_numpy() may be a read-only view
    out: np.ndarray = values.to_numpy(dtype=object, copy=True)
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


def db_columns(
    data: pd.DataFrame,
    spec: DomainSpec,
    text: Mapping[str, np.ndarray] | None = None,
) -> list[np.ndarray]:
    """Return the domain's columns of a typed table as driver-ready object arrays.

    Parameters
    ----------
    data : pandas.DataFrame
        Typed table with every column of the domain.
    spec : schemas.domains.DomainSpec
        The domain.
    text : mapping of str to numpy.ndarray, optional
        The table's canonical text as object arrays (:func:`canonical_text`), when
        already computed: text and date-time columns are then taken from it (only
        those are read).

    Returns
    -------
    list of numpy.ndarray
        One object array per column of ``spec.columns``: str, int, float, bool,
        ISO text for date-times (``YYYY-MM-DD`` at midnight, else
        ``YYYY-MM-DDTHH:MM:SS[.ffffff]``; the UTC instant, without offset, for a
        value written with one), None for missing values. What these do not hold
        as written is in :func:`exact_values`.
    """
    out = []
    for name in spec.columns:
        kind = spec.column_kinds[name]
        values = data[name]
        if kind == "datetime":
            offsets = offsets_of(data, name)
            if offsets is None and text is not None:
                out.append(text[name])
                continue
            wall, zoned = split_zoned(values)
            if offsets is None:
                offsets = zoned
            if offsets is not None:  # the database column holds the UTC instant
                wall = utc_wall(wall, offsets)
            out.append(iso_text(wall))
        elif text is not None and kind == "string":
            out.append(text[name])
        elif kind == "float":
            floats = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
            column = floats.astype(object)
            column[np.isnan(floats)] = None
            out.append(column)
        else:
            out.append(_objects(values))
    return out


def _exact_masks(data: pd.DataFrame, spec: DomainSpec) -> dict[str, np.ndarray]:
    """Return, per column, the rows whose value its database column cannot hold."""
    masks: dict[str, np.ndarray] = {}
    for name in spec.columns:
        kind = spec.column_kinds[name]
        values = data[name]
        if kind == "datetime":
            offsets = offsets_of(data, name)
            naive = values.dtype.kind == "M" and not isinstance(
                values.dtype, pd.DatetimeTZDtype
            )  # datetime64 without a zone
            if offsets is None and not naive:
                offsets = split_zoned(values)[1]
            if offsets is None:
                continue
            mask = pd.notna(offsets) & values.notna().to_numpy()
        elif kind == "float":
            floats = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
            negative = np.signbit(floats)  # -0.0 (SQLite stores 0)
            if not negative.any():
                continue
            mask = negative & (floats == 0)
        else:
            continue
        if mask.any():
            masks[name] = mask
    return masks


def exact_values(data: pd.DataFrame, spec: DomainSpec) -> np.ndarray | None:
    """Return the :data:`EXACT_COLUMN` of rows to be written to a record table.

    Parameters
    ----------
    data : pandas.DataFrame
        Typed rows with every column of the domain (and the ``_offset_<column>``
        companions of date-times written with a UTC offset).
    spec : schemas.domains.DomainSpec
        The domain.

    Returns
    -------
    numpy.ndarray or None
        Per row, a compact JSON object of the canonical text of its values that
        the typed database columns do not hold as written (date-times with an
        offset, -0.0), None for other rows; None when no row has one.
    """
    masks = _exact_masks(data, spec)
    if not masks:
        return None
    rows = np.flatnonzero(np.logical_or.reduce(list(masks.values())))
    text = canonical_text(data.iloc[rows], spec)
    out = np.full(len(data), None, dtype=object)
    for k, i in enumerate(rows):
        kept = {name: text[name][k] for name, mask in masks.items() if mask[i]}
        out[i] = json.dumps(kept, separators=(",", ":"), ensure_ascii=False)
    return out


def _apply_exact(data: pd.DataFrame, spec: DomainSpec, exact: pd.Series) -> None:
    """Put the values held in :data:`EXACT_COLUMN` back into a typed table.

    An entry that cannot be read (the column was tampered with) is left out: the
    typed column's value stands, and the audit trail will not match it.
    """
    for index, entry in exact[exact.notna()].items():
        try:
            values = json.loads(str(entry))
            items = list(values.items())
        except (ValueError, AttributeError):
            continue
        for name, text in items:
            kind = spec.column_kinds.get(name)
            try:
                if kind == "float":
                    data.loc[index, name] = float(text)
                elif kind == "datetime":
                    stamp = pd.Timestamp(str(text))
                    offset = stamp.utcoffset()
                    if offset is None:
                        continue
                    companion = offset_column(name)
                    if companion not in data.columns:
                        data[companion] = pd.Series(
                            pd.NA, index=data.index, dtype=TEXT_DTYPE
                        )
                    data.loc[index, name] = stamp.tz_localize(None)
                    data.loc[index, companion] = offset_text(
                        int(offset.total_seconds())
                    )
            except (ValueError, TypeError, OverflowError):
                continue


#: Columns at least this long are checked for repeated values (see _object_text).
_SHARE_MIN_ROWS = 10_000
_SAMPLE_ROWS = 1_000


def _object_text(strings: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Return Arrow strings as an object array of str, None for missing values.

    A long column whose first rows repeat few values (units, visits, subject ids)
    is dictionary-encoded, so each distinct value becomes one Python string shared
    by its rows: faster, and far less memory, than one string object per row.
    """
    if len(strings) >= _SHARE_MIN_ROWS:
        sample = strings.slice(0, _SAMPLE_ROWS)
        if pc.count_distinct(sample, mode="all").as_py() <= _SAMPLE_ROWS // 10:
            if isinstance(strings, pa.ChunkedArray):
                strings = strings.combine_chunks()
            encoded = pc.dictionary_encode(strings, null_encoding="encode")
            words = encoded.dictionary.to_numpy(zero_copy_only=False)
            codes = encoded.indices.to_numpy(zero_copy_only=False)
            shared: np.ndarray = np.asarray(words, dtype=object)[codes]
            return shared
    out: np.ndarray = np.asarray(strings.to_numpy(zero_copy_only=False), dtype=object)
    return out


def object_strings(values: pd.Series) -> np.ndarray:
    """Return any column as an object array of str (None for missing values).

    Parameters
    ----------
    values : pandas.Series
        Values of any dtype; converted as ``astype("string[pyarrow]")`` does.

    Returns
    -------
    numpy.ndarray
        Object array; rows with the same value share one str when values repeat.
    """
    return _object_text(pa.array(values.astype(TEXT_DTYPE)))


class CanonicalText(Mapping[str, np.ndarray]):
    """The canonical text of a table's domain columns, as object arrays on demand.

    Holds every column as Arrow strings (:attr:`arrow`) and converts a column to an
    object array of str / None (what drivers bind and what versions are compared
    on) the first time it is asked for, so a column nobody reads is never
    converted.

    Parameters
    ----------
    arrow : dict of str to pyarrow.Array or pyarrow.ChunkedArray
        Column name to canonical text.
    objects : dict of str to numpy.ndarray, optional
        Columns already available as object arrays.
    """

    def __init__(
        self,
        arrow: dict[str, pa.Array | pa.ChunkedArray],
        objects: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.arrow = arrow
        self._objects = dict(objects or {})

    def __getitem__(self, name: str) -> np.ndarray:
        """Return one column as an object array (converted once, then kept)."""
        if name not in self._objects:
            self._objects[name] = _object_text(self.arrow[name])
        return self._objects[name]

    def __iter__(self) -> Iterator[str]:
        """Iterate over the column names."""
        return iter(self.arrow)

    def __len__(self) -> int:
        """Return the number of columns."""
        return len(self.arrow)


def canonical_text(data: pd.DataFrame, spec: DomainSpec) -> CanonicalText:
    """Return the canonical text of every domain column of a typed table.

    Parameters
    ----------
    data : pandas.DataFrame
        Typed table with every column of the domain.
    spec : schemas.domains.DomainSpec
        The domain.

    Returns
    -------
    CanonicalText
        Arrow strings for column-wise work (keys, JSON) and object arrays of str or
        None on demand. Text columns are taken from the typed table without copying.
    """
    arrow: dict[str, pa.Array | pa.ChunkedArray] = {}
    objects: dict[str, np.ndarray] = {}
    for name in spec.columns:
        kind = spec.column_kinds[name]
        offsets = offsets_of(data, name) if kind == "datetime" else None
        strings, made = kind_text(data[name], kind, offsets)
        arrow[name] = strings
        if made is not None:
            objects[name] = made
    return CanonicalText(arrow, objects)


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
        Column name to object array of str or None (every column of
        :func:`canonical_text`, converted).
    """
    text = canonical_text(data, spec)
    return {name: text[name] for name in spec.columns}


def duplicated(keys: Any, excluded: np.ndarray) -> np.ndarray:
    """Return which keys appear more than once among the rows not excluded.

    Keys are first compared by a 64-bit hash (cheap, parallel); only rows whose
    hash repeats are compared by their text.

    Parameters
    ----------
    keys : polars.Series, numpy.ndarray or pyarrow.Array
        Record keys (str or None), e.g. from :func:`key_text`.
    excluded : numpy.ndarray
        Boolean mask of rows left out of the comparison.

    Returns
    -------
    numpy.ndarray
        Boolean mask: not excluded and sharing its key with another such row.
    """
    series = _polars_strings("key", keys)
    considered = ~excluded & series.is_not_null().to_numpy()
    out = np.zeros(len(series), dtype=bool)
    rows = np.flatnonzero(considered)
    if len(rows) < 2:
        return out
    chosen = series if len(rows) == len(series) else series.gather(rows)
    maybe = chosen.hash().is_duplicated().to_numpy()
    if maybe.any():
        same = chosen.filter(pl.Series(maybe)).is_duplicated().to_numpy()
        out[rows[maybe]] = same
    return out


def key_text(text: Mapping[str, Any], key: Sequence[str]) -> pl.Series:
    """Return the record key of every row: its key values joined by ``|``.

    Parameters
    ----------
    text : mapping of str to numpy.ndarray or pyarrow.Array
        Canonical text columns (:attr:`CanonicalText.arrow` or
        :func:`text_columns`).
    key : sequence of str
        Key columns.

    Returns
    -------
    polars.Series
        String series named ``key``; null where a key value is missing
        (``.to_numpy()`` gives the object array drivers bind).
    """
    frame = pl.DataFrame([_polars_strings(name, text[name]) for name in key])
    return frame.select(pl.concat_str(list(key), separator="|").alias("key"))["key"]


#: Regular expression matching a character JSON escapes in a string.
JSON_ESCAPED = r'["\\\x00-\x1f]'


def json_strings(values: np.ndarray, *, plain: bool = False) -> pa.Array:
    """Return each value as a JSON literal: a quoted, escaped string or ``null``.

    Parameters
    ----------
    values : numpy.ndarray
        Object array of str or None.
    plain : bool, optional
        The caller knows no value needs escaping (canonical numbers and dates).

    Returns
    -------
    pyarrow.Array
        String array, equal element by element to ``json.dumps(value,
        ensure_ascii=False)``.
    """
    strings = pa.array(values, type=pa.string(), from_pandas=True)
    if not plain and pc.any(pc.match_substring_regex(strings, JSON_ESCAPED)).as_py():
        quoted = pa.array(
            [None if v is None else encode_basestring(v) for v in values],
            type=pa.string(),
        )
    else:
        quoted = pc.binary_join_element_wise('"', strings, '"', "")
    return pc.fill_null(quoted, "null")


def _polars_strings(
    name: str, values: np.ndarray | pa.Array | pa.ChunkedArray | pl.Series
) -> pl.Series:
    if isinstance(values, pl.Series):
        return values.alias(name).cast(pl.String)
    strings = (
        values
        if isinstance(values, pa.Array | pa.ChunkedArray)
        else pa.array(values, type=pa.string(), from_pandas=True)
    )
    series = pl.from_arrow(strings)
    assert isinstance(series, pl.Series)
    return series.alias(name).cast(pl.String)


def json_objects(
    text: Mapping[str, Any],
    columns: Sequence[str],
    plain: Sequence[str] = (),
) -> np.ndarray:
    """Return each row as a compact JSON object of its canonical text values.

    Parameters
    ----------
    text : mapping of str to numpy.ndarray or pyarrow.Array
        Canonical text columns, all the same length.
    columns : sequence of str
        Columns to include, in this order.
    plain : sequence of str, optional
        Accepted for symmetry with :func:`json_strings`; every column is encoded
        the same way.

    Returns
    -------
    numpy.ndarray
        Object array of str such as ``{"subject_id":"S01","value":"1.5"}``, equal to
        ``json.dumps(row, ensure_ascii=False, separators=(",", ":"))`` (encoded by
        Polars, column-wise).
    """
    return json_series(text, columns).to_numpy().astype(object)


def json_series(text: Mapping[str, Any], columns: Sequence[str]) -> pl.Series:
    """Return :func:`json_objects` as a Polars string series.

    Parameters
    ----------
    text : mapping of str to numpy.ndarray or pyarrow.Array
        Canonical text columns, all the same length.
    columns : sequence of str
        Columns to include, in this order.

    Returns
    -------
    polars.Series
        One compact JSON object per row.
    """
    if not columns or len(text[columns[0]]) == 0:
        return pl.Series("json", [], dtype=pl.String)
    frame = pl.DataFrame([_polars_strings(name, text[name]) for name in columns])
    encoded = frame.select(pl.struct(pl.all()).struct.json_encode().alias("json"))
    return encoded["json"]


def plain_columns(spec: DomainSpec) -> tuple[str, ...]:
    """Return the columns whose canonical text never needs JSON escaping.

    Parameters
    ----------
    spec : schemas.domains.DomainSpec
        The domain.

    Returns
    -------
    tuple of str
        Its integer, float, boolean and date-time columns.
    """
    return tuple(c for c in spec.columns if spec.column_kinds[c] != "string")


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
        columns are left as they are. A :data:`EXACT_COLUMN` among them is put back
        into the values it holds (wall times with their ``_offset_<column>``,
        negative zeros) and dropped.
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
    exact = data.pop(EXACT_COLUMN) if EXACT_COLUMN in data.columns else None
    if exact is not None and exact.notna().any():
        _apply_exact(data, spec, exact)
    return data
