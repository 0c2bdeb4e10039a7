"""Parse raw text columns to their schema types, reporting every value that fails.

A value that cannot be parsed becomes missing in the typed table and produces one
RD-008 finding naming the file, row, column and the raw text, so no value is lost
silently. Dates must be ISO 8601 (``YYYY-MM-DD`` with an optional ``THH:MM[:SS]``,
fractional seconds and a UTC offset such as ``+01:00`` or ``Z``). A date-time written
with an offset keeps its wall time in the column and its offset, as written, in the
companion column ``_offset_<column>`` (:mod:`trialdata.io.timestamps`); one without
stays naive. Fractional seconds are kept to the microsecond (the store's precision):
a value with nonzero digits beyond the microsecond is an RD-008 error, never
truncated.
A partial date (``YYYY-MM`` or ``YYYY``) in a column that has an imputation flag
column (``onset_date`` → ``onset_date_imputed``) is imputed to the first day of the
month or year, flagged ``D`` or ``M``, and reported as an RD-011 warning; elsewhere a
partial date is an RD-008 error.

Numbers are read as sent or not at all: text that reads as NaN or infinity, a whole
number beyond the 64-bit range (a 20-digit identifier, say) and a whole number too
long to be held exactly are RD-008 errors with the raw text, never a value rounded
or wrapped around. In a number column, a value of 2^53 or more that a double does not
hold as written (``9007199254740993`` would become ``...992``) is an RD-008 error too;
below that, a decimal fraction is read as the nearest double, as any reader of the
number would.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.domains import DomainSpec
from trialdata.findings import FINDING_COLUMNS, Severity, empty_findings
from trialdata.io.text import TEXT_DTYPE, value_text
from trialdata.io.timestamps import offset_column, parse_offsets, split_zoned
from trialdata.validation.rule import SOURCE_FILE, SOURCE_ROW

__all__ = [
    "IMPUTATION_FLAGS",
    "TEXT_DTYPE",
    "normalise_text_columns",
    "parse_table",
]

#: Date columns whose partial values are imputed, and the column holding the flag.
IMPUTATION_FLAGS: dict[str, str] = {"onset_date": "onset_date_imputed"}

_TRUE = frozenset({"y", "yes", "true", "t", "1"})
_FALSE = frozenset({"n", "no", "false", "f", "0"})
_ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}(?::\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?)?$"
_EXPECTED = {
    "integer": "a whole number",
    "float": "a number",
    "boolean": "Y or N",
    "datetime": "an ISO 8601 date (YYYY-MM-DD)",
}


@dataclass
class _Read:
    """A column read to its schema type: values, and what could not be read."""

    values: pd.Series
    bad: pd.Series  # bool: a value sent that could not be read (now missing)
    shown: pd.Series  # the values sent as text (read only where ``bad``)
    too_big: pd.Series | None = None  # bool: a whole number beyond 64 bits
    why: pd.Series | None = None  # a reason after the message, where known
    offsets: pd.Series | None = None  # UTC offsets of date-times, when any
    imputed: pd.Series | None = None  # imputation flags of partial dates


def parse_table(
    raw: pd.DataFrame, spec: DomainSpec
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Convert the known columns of a table as read to their schema types.

    Parameters
    ----------
    raw : pandas.DataFrame
        A table as read (:func:`trialdata.io.readers.read_raw`): text columns, and
        columns a typed source holds typed (numbers, booleans, date-times), with
        :data:`SOURCE_FILE` and :data:`SOURCE_ROW`.
    spec : schemas.domains.DomainSpec
        The domain the table belongs to; only its columns are converted, others are
        copied unchanged.

    Returns
    -------
    typed : pandas.DataFrame
        The same rows, with each schema column of its type.
    findings : pandas.DataFrame
        RD-008 (unreadable) and RD-011 (partial date imputed) findings; the value
        of a finding is the value sent as text (:func:`trialdata.io.text.value_text`
        for one sent typed).

    Notes
    -----
    Text is parsed (see the module notes). A typed column of the schema's type is
    converted directly: whole numbers (also as doubles) to ``Int64``, numbers to
    ``float64``, date-times (any unit, zoned or naive) to ``datetime64[ns]`` with
    their offsets; a double with a fraction or beyond 64 bits in a whole-number
    column, an infinity, a whole number a double cannot hold in a number column and
    a date-time finer than a microsecond or beyond what ``datetime64[ns]`` holds
    are unreadable, as their text would be. Any other typed value (a number in a
    date column, a date or a boolean in a number column) is read as its text.
    """
    typed = normalise_text_columns(raw, spec)
    if typed is raw:  # converted columns replace those read below, in the copy only
        typed = raw.copy(deep=False)
    problems = []
    for column, kind in spec.column_kinds.items():
        if column not in raw.columns or kind == "string":
            continue
        read = _read_column(raw[column], kind, imputable=column in IMPUTATION_FLAGS)
        if read.offsets is not None:
            typed[offset_column(column)] = read.offsets.astype(TEXT_DTYPE)
        imputed = read.imputed
        if imputed is not None and imputed.notna().any():
            flag = IMPUTATION_FLAGS[column]
            existing = (
                typed[flag] if flag in typed else pd.Series(None, index=typed.index)
            )
            typed[flag] = existing.where(imputed.isna(), imputed).astype(object)
            problems.append(
                _findings(
                    raw,
                    spec.name,
                    column,
                    imputed.notna(),
                    "RD-011",
                    Severity.WARNING,
                    "partial date imputed to the first day of the "
                    + imputed.map({"D": "month", "M": "year"}).astype(str),
                    read.shown,
                )
            )
        if read.values is not raw[column]:
            typed[column] = read.values
        bad = read.bad
        if bad.any():
            shown = read.shown.loc[bad[bad].index]
            message = "cannot read " + shown.map(repr) + f" as {_EXPECTED[kind]}"
            too_big = read.too_big
            if too_big is not None and too_big.any():
                message = message.where(
                    ~too_big[bad],
                    message + f": out of range (a whole number from {_INT64_MIN} to "
                    f"{_INT64_MAX})",
                )
            why = read.why
            if why is not None and why[bad].notna().any():
                reason = why[bad]
                message = message.where(reason.isna(), message + ": " + reason)
            problems.append(
                _findings(
                    raw,
                    spec.name,
                    column,
                    bad,
                    "RD-008",
                    Severity.ERROR,
                    message,
                    shown,
                )
            )
    findings = pd.concat(problems, ignore_index=True) if problems else empty_findings()
    return typed, findings


def _read_column(values: pd.Series, kind: str, *, imputable: bool) -> _Read:
    """Read one column of a schema kind: typed values directly, text by parsing."""
    dtype = values.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(
        dtype
    )
    if kind == "integer" and numeric:
        return _whole_numbers(values)
    if kind == "float" and numeric:
        return _numbers(values)
    if kind == "boolean" and pd.api.types.is_bool_dtype(dtype):
        return _Read(values.astype("boolean"), _none(values), values)
    if kind == "datetime" and pd.api.types.is_datetime64_any_dtype(dtype):
        return _date_times(values)
    text = values if dtype == TEXT_DTYPE else value_text(values)
    if kind == "integer":
        numbers, bad, too_big = _parse_integer(text)
        return _Read(numbers, bad, text, too_big=too_big)
    if kind == "float":
        numbers, bad, why = _parse_float(text)
        return _Read(numbers, bad, text, why=why)
    if kind == "boolean":
        flags, bad = _parse_boolean(text)
        return _Read(flags, bad, text)
    stamps, bad, imputed, offsets, why = _parse_datetime(text, imputable=imputable)
    return _Read(stamps, bad, text, why=why, offsets=offsets, imputed=imputed)


def _none(values: pd.Series) -> pd.Series:
    return pd.Series(False, index=values.index)


def _mask(values: pd.Series, mask: np.ndarray) -> pd.Series:
    return pd.Series(mask, index=values.index)


def _typed_read(
    values: pd.Series, converted: pd.Series, bad: np.ndarray, **notes: pd.Series
) -> _Read:
    """Return a typed column read, with its unreadable values (only) as text."""
    bad_rows = _mask(values, bad)
    shown = value_text(values[bad_rows]) if bad.any() else values.iloc[:0]
    return _Read(converted, bad_rows, shown, **notes)


def _whole_numbers(values: pd.Series) -> _Read:
    """Read a typed number column as whole numbers (``Int64``).

    A double is read when it is whole and within 64 bits (exactly: a double that
    is whole is an integer); a fraction, an infinity and a number beyond 64 bits
    (also an unsigned one) are unreadable.
    """
    if values.dtype == "Int64":
        return _Read(values, _none(values), values)
    present = values.notna().to_numpy()
    if pd.api.types.is_integer_dtype(values.dtype):
        if pd.api.types.is_unsigned_integer_dtype(values.dtype):
            numbers = values.to_numpy(dtype="uint64", na_value=0)
            too_big = present & (numbers > _INT64_MAX)
        else:
            too_big = np.zeros(len(values), dtype=bool)
        converted = values.where(~too_big).astype("Int64")
        return _typed_read(values, converted, too_big, too_big=_mask(values, too_big))
    floats = values.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(floats) & (np.floor(floats) == floats)
        # 2^63 is a double; every whole double below it fits in 64 bits
        too_big = whole & ~((floats >= -(2.0**63)) & (floats < 2.0**63))
    readable = whole & ~too_big
    numbers = np.where(readable, floats, 0).astype(np.int64)
    converted = pd.Series(
        pd.arrays.IntegerArray(numbers, ~readable), index=values.index
    )
    return _typed_read(
        values, converted, present & ~readable, too_big=_mask(values, too_big)
    )


def _numbers(values: pd.Series) -> _Read:
    """Read a typed number column as doubles (``float64``).

    An infinity is unreadable, and so is a whole number of 2^53 or more that a
    double does not hold exactly (with the double it would become as the reason).
    """
    floats = values.to_numpy(dtype="float64", na_value=np.nan)
    bad = np.isinf(floats)  # NaN is missing
    if values.dtype == "float64" and not bad.any():  # the common case
        return _Read(values, _none(values), values)
    present = values.notna().to_numpy()
    reasons = np.full(len(values), None, dtype=object)
    if pd.api.types.is_integer_dtype(values.dtype):
        for position in np.flatnonzero(present & (np.abs(floats) >= _EXACT_BELOW)):
            number = float(floats[position])
            if int(values.iloc[position]) != int(number):
                bad[position] = True
                reasons[position] = (
                    "a double does not hold it exactly (it would become "
                    f"{number!r}); send it as it can be held, or as text"
                )
    converted = pd.Series(np.where(bad, np.nan, floats), index=values.index)
    why = pd.Series(reasons, index=values.index)
    return _typed_read(values, converted, bad, why=why)


#: Earliest and latest date-times ``datetime64[ns]`` holds, in nanoseconds.
_NS_RANGE = (pd.Timestamp.min.value, pd.Timestamp.max.value)
#: Nanoseconds per tick of the units a date-time column may have.
_NS_PER_TICK = {"s": 10**9, "ms": 10**6, "us": 10**3}


def _date_times(values: pd.Series) -> _Read:
    """Read a typed date-time column as wall times (``datetime64[ns]``) and offsets.

    A zoned value becomes its wall time and UTC offset (see
    :mod:`trialdata.io.timestamps`). A value with nanoseconds (finer than the
    store keeps) or beyond what ``datetime64[ns]`` holds is unreadable.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        wall, offsets = split_zoned(values)
    else:
        wall, offsets = values.to_numpy(), None
    unit = np.datetime_data(wall.dtype)[0]
    ticks = wall.view(np.int64)  # NaT is the smallest int64
    if unit == "ns":
        finer = ticks % 1000 != 0
        if offsets is None and not finer.any():  # the common case: as it is
            return _Read(values, _none(values), values)
        finer &= ~np.isnat(wall)
        outside = np.zeros(len(wall), dtype=bool)
    else:  # seconds to microseconds: nothing finer, maybe beyond nanoseconds
        finer = np.zeros(len(wall), dtype=bool)
        per_tick = _NS_PER_TICK[unit]
        low, high = -(-_NS_RANGE[0] // per_tick), _NS_RANGE[1] // per_tick
        outside = ~np.isnat(wall) & ((ticks < low) | (ticks > high))
    bad = finer | outside
    stamps = wall.copy()
    stamps[bad] = np.datetime64("NaT")
    converted = pd.Series(stamps.astype("datetime64[ns]"), index=values.index)
    notes: dict[str, pd.Series] = {}
    if finer.any():
        why = pd.Series(None, index=values.index, dtype=object)
        why[finer] = _FINER_REASON
        notes["why"] = why
    if offsets is not None:
        kept = ~(np.isnat(wall) | bad)
        if kept.any():
            zones = offsets.copy()
            zones[~kept] = None
            notes["offsets"] = pd.Series(zones, index=values.index, dtype=object)
    return _typed_read(values, converted, bad, **notes)


def normalise_text_columns(data: pd.DataFrame, spec: DomainSpec) -> pd.DataFrame:
    """Return the table with its text columns in the schemas' Arrow string dtype.

    Parameters
    ----------
    data : pandas.DataFrame
        A domain table, e.g. built by hand with object columns, or read from a
        typed source (a number in a text column).
    spec : schemas.domains.DomainSpec
        Its domain.

    Returns
    -------
    pandas.DataFrame
        A copy with text columns as ``string[pyarrow]`` (values of other types as
        :func:`trialdata.io.text.value_text` writes them), or ``data`` itself
        when they already are.
    """
    dtypes = data.dtypes
    convert = [
        column
        for column, kind in spec.column_kinds.items()
        if kind == "string" and column in dtypes and dtypes[column] != TEXT_DTYPE
    ]
    if not convert:
        return data
    result = data.copy(deep=False)  # converted columns are replaced, not changed
    for column in convert:
        result[column] = value_text(result[column])
    return result


def _findings(
    raw: pd.DataFrame,
    domain: str,
    column: str,
    mask: pd.Series,
    rule: str,
    severity: Severity,
    message: str | pd.Series,
    shown: pd.Series,
) -> pd.DataFrame:
    hits = raw.loc[mask]
    frame = pd.DataFrame(
        {
            "domain": domain,
            "file": hits[SOURCE_FILE],
            "row": hits[SOURCE_ROW],
            "subject_id": hits.get("subject_id", None),
            "column": column,
            "rule": rule,
            "severity": str(severity),
            "message": message.reindex(hits.index)
            if isinstance(message, pd.Series)
            else message,
            "value": shown.reindex(hits.index),
        }
    )
    return frame[list(FINDING_COLUMNS)]


def _arrow(text: pd.Series) -> pa.Array:
    """Return the values of a text column as an Arrow string array."""
    return pa.array(text.astype(TEXT_DTYPE).array)


def _parse_float(
    text: pd.Series, *, whole_exact: bool = True
) -> tuple[pd.Series, pd.Series, pd.Series | None]:
    """Parse numbers; return values, unreadable mask and reasons (or None).

    With ``whole_exact``, a value of 2^53 or more that a double does not hold as
    written is unreadable, with the value it would have become as the reason.
    """
    try:  # fast path: every value is a number (Arrow's C++ cast)
        cast = pc.cast(_arrow(text), pa.float64())
        values = pd.Series(cast.to_numpy(zero_copy_only=False), index=text.index)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = pd.to_numeric(text.astype(object), errors="coerce").astype("float64")
    # Arrow reads the text "nan" and "inf" as NaN and infinity; neither is a number a
    # site can mean, so they are reported like any other unreadable value rather
    # than becoming missing or an endless value (a number too large for a double,
    # such as 1e999, reads as infinity too).
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    not_finite = ~np.isfinite(numbers)
    bad = text.notna() & pd.Series(not_finite, index=text.index)
    why = None
    large = np.abs(np.where(not_finite, 0.0, numbers)) >= _EXACT_BELOW
    if whole_exact and large.any():
        why = pd.Series(None, index=text.index, dtype=object)
        for index in text.index[large]:
            number = float(values[index])
            sent = _decimal(str(text[index]).strip())
            # held as written: the double's shortest text, or its exact value
            if sent != _decimal(repr(number)) and sent != Decimal(number):
                bad[index] = True
                why[index] = (
                    "a double does not hold it exactly (it would become "
                    f"{number!r}); send it as it can be held, or as text"
                )
    return values.where(~bad), bad, why


def _decimal(text: str) -> Decimal | None:
    """Return the exact decimal value of number text (None when it is none)."""
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


#: Range of the whole numbers a column can hold (64-bit, as stored).
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
#: Whole numbers of this size and more are not held exactly by a double.
_EXACT_BELOW = 2**53
_WHOLE_TEXT = r"^\s*[+-]?\d+\s*$"


def _parse_integer(text: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse whole numbers; return values, unreadable mask and out-of-range mask.

    A whole number written as digits is read exactly, also beyond what a double
    holds, and so is one written otherwise (``1.5e19``): by its exact decimal value,
    never through the double that rounded it. One beyond the 64-bit range is
    unreadable (``too_big``), never rounded. ``3.0`` and ``1e3`` are read as 3 and
    1000; ``3.5`` is unreadable.
    """
    numbers, bad, _ = _parse_float(text, whole_exact=False)
    fractional = numbers.notna() & (numbers % 1 != 0)
    large = numbers.notna() & (numbers.abs() >= _EXACT_BELOW)
    values = numbers.where(~(fractional | large)).astype("Int64")
    too_big = pd.Series(False, index=text.index)
    if large.any():
        written = text[large].astype(str).str.strip()
        digits = written.str.match(_WHOLE_TEXT)
        for index, sent, whole in zip(
            written.index, written.to_numpy(), digits.to_numpy(), strict=True
        ):
            exact = _decimal(sent)
            if whole:
                number = int(sent)
            elif exact is not None and exact == exact.to_integral_value():
                number = int(exact)
            else:
                fractional[index] = True
                continue
            if _INT64_MIN <= number <= _INT64_MAX:
                values[index] = number
            else:
                too_big[index] = True
    return values, bad | fractional | too_big, too_big


def _parse_boolean(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    lowered = text.str.strip().str.lower()
    values = pd.Series(pd.NA, index=text.index, dtype="boolean")
    values[lowered.isin(_TRUE)] = True
    values[lowered.isin(_FALSE)] = False
    return values, text.notna() & values.isna()


def _strict_dates(text: pa.Array) -> pa.Array:
    """Parse ``YYYY-M-D`` dates; null where the text is not one or not a real date.

    Arrow's strptime accepts one-digit months and days but rolls impossible dates
    over (``2024-02-30`` becomes 2024-03-01), so a parsed date counts only when its
    month and day are the ones written.
    """
    parsed = pc.strptime(text, format="%Y-%m-%d", unit="ns", error_is_null=True)
    parts = pc.extract_regex(text, r"^\s*\d{4}-(?P<month>\d{1,2})-(?P<day>\d{1,2})$")
    written = pc.and_(
        pc.equal(
            pc.cast(pc.struct_field(parts, "month"), pa.int64()), pc.month(parsed)
        ),
        pc.equal(pc.cast(pc.struct_field(parts, "day"), pa.int64()), pc.day(parsed)),
    )
    return pc.if_else(
        pc.fill_null(written, False), parsed, pa.scalar(None, parsed.type)
    )


#: Fractional seconds with a nonzero digit beyond the microsecond.
_FINER_THAN_MICROSECONDS = r"\.\d{6}\d*[1-9]"
_FINER_REASON = (
    "fractional seconds finer than a microsecond, which the store does not keep; "
    "send at most 6 decimals"
)


def _parse_datetime(
    text: pd.Series, *, imputable: bool
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series | None, pd.Series | None]:
    """Parse ISO 8601 dates and date-times.

    Returns the wall times, the unparseable mask, the imputation flags, the UTC
    offsets (None when no value has one) and the reasons of some unparseable values
    (None when there are none).
    """
    parsed_dates = _strict_dates(_arrow(text))
    values = pd.Series(
        parsed_dates.to_numpy(zero_copy_only=False),
        index=text.index,
        dtype="datetime64[ns]",
    )
    pending = text.notna() & values.isna()
    imputed = pd.Series(None, index=text.index, dtype=object)
    offsets: pd.Series | None = None
    why: pd.Series | None = None
    if pending.any():
        rest = text[pending].str.strip()
        wall, zone, bad_zone = parse_offsets(rest)
        wall = wall.astype(TEXT_DTYPE)
        iso = wall.str.match(_ISO_DATETIME) & ~bad_zone
        finer = iso & wall.str.contains(_FINER_THAN_MICROSECONDS, regex=True)
        iso &= ~finer
        parsed = pd.to_datetime(
            wall[iso].str.replace(" ", "T", regex=False),
            format="ISO8601",
            errors="coerce",
        )
        values.loc[parsed.index] = parsed
        kept = zone[iso].notna() & parsed.notna()
        if kept.any():
            offsets = pd.Series(None, index=text.index, dtype=object)
            offsets[kept[kept].index] = zone[kept[kept].index]
        if finer.any():
            why = pd.Series(None, index=text.index, dtype=object)
            why[finer[finer].index] = _FINER_REASON
        if imputable:
            month = rest.str.fullmatch(r"\d{4}-\d{2}")
            year = rest.str.fullmatch(r"\d{4}")
            partial = rest[month | year]
            filled = partial.where(~year[partial.index], partial + "-01") + "-01"
            imputed_values = pd.to_datetime(filled, format="%Y-%m-%d", errors="coerce")
            values.loc[imputed_values.index] = imputed_values
            ok = imputed_values.notna()
            imputed.loc[ok[ok].index] = year[ok[ok].index].map({True: "M", False: "D"})
        pending = text.notna() & values.isna()
    return values.astype("datetime64[ns]"), pending, imputed, offsets, why
