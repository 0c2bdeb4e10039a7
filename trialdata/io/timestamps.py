"""Date-times as text, exactly: fractional seconds and UTC offsets kept.

One convention everywhere (readers, the parser, the store's canonical text):

- a date-time is held as its *wall time* as written (naive ``datetime64[ns]``) plus,
  when it was written with a UTC offset (``2025-02-17T10:30:00+01:00``, a zoned
  Parquet timestamp), that offset as text in a companion column named by
  :func:`offset_column` (``_offset_<column>``; missing for a naive value, which stays
  naive: no zone is invented);
- its text is ``YYYY-MM-DD`` at midnight without an offset, else
  ``YYYY-MM-DDTHH:MM:SS``, followed by ``.ffffff`` when there are microseconds
  (``.fffffffff`` when there are nanoseconds, which the store refuses) and by the
  offset (``+HH:MM``; ``+HH:MM:SS`` for the odd historical offset with seconds);
  ``Z`` and ``+0100`` are read as ``+00:00`` and ``+01:00``;
- the instant in UTC is the wall time minus the offset (:func:`utc_wall`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "OFFSET_PREFIX",
    "iso_text",
    "offset_column",
    "offset_seconds",
    "offset_text",
    "offsets_of",
    "parse_offsets",
    "series_text",
    "split_zoned",
    "utc_wall",
]

#: Prefix of the column holding the UTC offsets of a date-time column.
OFFSET_PREFIX = "_offset_"

_NS_PER_SECOND = 1_000_000_000
_OFFSET = re.compile(r"^(?:(Z)|([+-])(\d{2})(?::?(\d{2})(?::?(\d{2}))?)?)$")


def offset_column(column: str) -> str:
    """Return the name of the column holding a date-time column's UTC offsets.

    Parameters
    ----------
    column : str
        The date-time column.

    Returns
    -------
    str
        ``_offset_<column>``.
    """
    return OFFSET_PREFIX + column


def offset_text(seconds: int) -> str:
    """Return a UTC offset as ISO 8601 text.

    Parameters
    ----------
    seconds : int
        Offset east of UTC, in seconds.

    Returns
    -------
    str
        ``+HH:MM`` (``+HH:MM:SS`` when the offset has seconds); ``+00:00`` for UTC.
    """
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return text + f":{secs:02d}" if secs else text


def offset_seconds(text: str) -> int | None:
    """Return the seconds east of UTC of an offset, None when it is not one.

    Parameters
    ----------
    text : str
        ``Z``, ``+HH``, ``+HHMM``, ``+HH:MM`` or ``+HH:MM:SS`` (or ``-``).

    Returns
    -------
    int or None
        The offset; None for text that is no offset or is 24 hours or more.
    """
    match = _OFFSET.match(text)
    if match is None:
        return None
    if match.group(1):
        return 0
    hours, minutes, secs = (int(g or 0) for g in match.group(3, 4, 5))
    if hours > 23 or minutes > 59 or secs > 59:
        return None
    value = hours * 3600 + minutes * 60 + secs
    return -value if match.group(2) == "-" else value


#: Date-time text that ends in a UTC offset (after a time of day).
_ZONED = r"[T ]\d.*(?:Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)$"
_SPLIT = r"^(?P<wall>.*?\d)(?P<zone>Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)$"


def parse_offsets(text: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Split date-time text into its wall time and its UTC offset.

    Parameters
    ----------
    text : pandas.Series
        Date-time text (stripped), e.g. ``2025-02-17T10:30:00+01:00``.

    Returns
    -------
    wall : pandas.Series
        The text without its offset (the text itself when it has none).
    offsets : pandas.Series
        Canonical offset text (``+01:00``), None where the text has none.
    bad : pandas.Series of bool
        Text whose offset is not a valid one (24 hours or more, minutes over 59).
    """
    offsets = pd.Series(None, index=text.index, dtype=object)
    bad = pd.Series(False, index=text.index)
    strings = pa.array(text.astype(pd.StringDtype("pyarrow")).array)  # no copy
    zoned = pc.fill_null(pc.match_substring_regex(strings, _ZONED), False)
    if not pc.any(zoned).as_py():
        return text, offsets, bad
    wall = text.astype(object)
    chosen = wall[zoned.to_numpy(zero_copy_only=False)]
    parts = chosen.str.extract(_SPLIT)
    wall[chosen.index] = parts["wall"]
    for index, written in parts["zone"].items():
        seconds = offset_seconds(str(written))
        if seconds is None:
            bad[index] = True
        else:
            offsets[index] = offset_text(seconds)
    return wall, offsets, bad


def offsets_of(data: pd.DataFrame, column: str) -> np.ndarray | None:
    """Return a date-time column's offsets as objects, None when it has none.

    Parameters
    ----------
    data : pandas.DataFrame
        A typed table.
    column : str
        Its date-time column.

    Returns
    -------
    numpy.ndarray or None
        Offset text or None per row; None when no row has an offset.
    """
    name = offset_column(column)
    if name not in data.columns:
        return None
    values = data[name]
    present = values.notna().to_numpy()
    if not present.any():
        return None
    out = np.full(len(values), None, dtype=object)
    out[present] = values.to_numpy(dtype=object)[present]
    return out


def _fraction_text(ns: np.ndarray) -> np.ndarray:
    """Return ``.ffffff`` / ``.fffffffff`` / ``""`` for nanoseconds within a second."""
    out = np.full(len(ns), "", dtype=object)
    micro = (ns != 0) & (ns % 1000 == 0)
    nano = ns % 1000 != 0
    if micro.any():
        out[micro] = [f".{v // 1000:06d}" for v in ns[micro].tolist()]
    if nano.any():
        out[nano] = [f".{v:09d}" for v in ns[nano].tolist()]
    return out


#: Days since 1970 of 0001-01-01 and 9999-12-31: Arrow and NumPy write these dates
#: the same way (``YYYY-MM-DD``), so the faster Arrow cast is used within them.
_FIRST_DAY, _LAST_DAY = -719_162, 2_932_896


def _day_text(days: np.ndarray) -> np.ndarray:
    """Return ``YYYY-MM-DD`` for an array of ``datetime64[D]`` (no missing values)."""
    numbers = days.astype(np.int64)
    if len(numbers) and (numbers.min() < _FIRST_DAY or numbers.max() > _LAST_DAY):
        out: np.ndarray = np.datetime_as_string(days, unit="D").astype(object)
        return out
    text = pc.cast(pa.array(days), pa.string())
    return np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)


#: Units a date-time array may have, and their ticks per second.
_TICKS_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def _datetimes(values: np.ndarray) -> np.ndarray:
    """Return date-times in their own unit (s to ns), never narrowed to another.

    Casting a date of the year 3000 held in microseconds to nanoseconds would wrap
    it around to 1830 without a word; its unit is kept instead.
    """
    array = np.asarray(values)
    if array.dtype.kind != "M":
        array = np.asarray(pd.to_datetime(pd.Series(array)).to_numpy())
    if np.datetime_data(array.dtype)[0] not in _TICKS_PER_SECOND:
        array = array.astype("datetime64[s]")  # days, minutes: whole seconds
    return array


def iso_text(
    wall: np.ndarray, offsets: np.ndarray | None = None, *, date_only: bool = True
) -> np.ndarray:
    """Return date-times as ISO 8601 text (see the module notes).

    Parameters
    ----------
    wall : numpy.ndarray
        ``datetime64`` wall times in any unit from seconds to nanoseconds (NaT
        where missing).
    offsets : numpy.ndarray, optional
        Offset text (or None) per value.
    date_only : bool, optional
        Write a naive value at midnight as ``YYYY-MM-DD`` (default).

    Returns
    -------
    numpy.ndarray
        Object array of str, None where missing.
    """
    wall = _datetimes(wall)
    missing = np.isnat(wall)
    out = np.full(len(wall), None, dtype=object)
    if missing.all():
        return out
    present = wall[~missing]
    ticks_per_second = _TICKS_PER_SECOND[np.datetime_data(wall.dtype)[0]]
    ns = (present.astype(np.int64) % ticks_per_second) * (
        _NS_PER_SECOND // ticks_per_second
    )
    seconds = present.astype("datetime64[s]")
    given = None if offsets is None else offsets[~missing]
    zoned = np.zeros(len(present), dtype=bool)
    if given is not None:
        zoned = pd.notna(given)
    text = np.empty(len(present), dtype=object)
    if date_only:
        day = (seconds.astype(np.int64) % 86_400 == 0) & (ns == 0) & ~zoned
    else:
        day = np.zeros(len(present), dtype=bool)
    if day.any():
        text[day] = _day_text(present[day].astype("datetime64[D]"))
    if not day.all():
        rest = ~day
        text[rest] = np.datetime_as_string(seconds[rest], unit="s").astype(object)
        fraction = ns[rest]
        if fraction.any():
            text[rest] = text[rest] + _fraction_text(fraction)
    if given is not None and zoned.any():
        text[zoned] = text[zoned] + np.asarray(given[zoned], dtype=object)
    out[~missing] = text
    return out


def utc_wall(wall: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Return the UTC instants of wall times written with offsets.

    Parameters
    ----------
    wall : numpy.ndarray
        ``datetime64`` wall times.
    offsets : numpy.ndarray
        Offset text per value (None for a naive value, which is returned as is).

    Returns
    -------
    numpy.ndarray
        ``datetime64`` in the same unit: wall time minus offset, the wall time
        where naive.
    """
    written = pd.Series(offsets, dtype=object)
    seconds = {
        text: offset_seconds(str(text)) or 0 for text in written.dropna().unique()
    }
    shift = written.map(seconds).fillna(0).to_numpy(dtype=np.int64)
    values = _datetimes(wall)
    return values - shift.astype("timedelta64[s]")  # in the values' own unit


def split_zoned(values: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """Return date-times as wall times and offsets.

    Parameters
    ----------
    values : pandas.Series
        ``datetime64`` values, naive or with a time zone (a zoned value becomes its
        wall time in that zone with the offset of that instant).

    Returns
    -------
    wall : numpy.ndarray
        ``datetime64`` wall times, in the values' own unit.
    offsets : numpy.ndarray or None
        Offset text per value; None for naive values.
    """
    stamps = pd.to_datetime(values, errors="coerce")
    tz = getattr(stamps.dt, "tz", None)
    if tz is None:
        return _datetimes(stamps.to_numpy()), None
    local = stamps.dt.tz_localize(None)
    utc = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    shift = (local - utc).dt.total_seconds().to_numpy(dtype="float64", na_value=0.0)
    seconds = np.rint(shift).astype(np.int64)
    texts = {int(s): offset_text(int(s)) for s in np.unique(seconds)}
    offsets = np.asarray([texts[int(s)] for s in seconds], dtype=object)
    return _datetimes(local.to_numpy()), offsets


def series_text(values: pd.Series) -> np.ndarray:
    """Return a typed date-time column as exact text, as a site's file holds it.

    Parameters
    ----------
    values : pandas.Series
        ``datetime64`` values, naive or with a time zone (see :func:`split_zoned`).

    Returns
    -------
    numpy.ndarray
        Object array of str (see :func:`iso_text`), None where missing.
    """
    wall, offsets = split_zoned(values)
    return iso_text(wall, offsets)
