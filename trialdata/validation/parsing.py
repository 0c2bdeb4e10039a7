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

from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.domains import DomainSpec
from trialdata.findings import FINDING_COLUMNS, Severity, empty_findings
from trialdata.io.timestamps import offset_column, parse_offsets
from trialdata.validation.rule import SOURCE_FILE, SOURCE_ROW

__all__ = [
    "IMPUTATION_FLAGS",
    "TEXT_DTYPE",
    "is_parsed",
    "normalise_text_columns",
    "parse_table",
]

#: dtype of text columns in typed tables (as declared by the schemas).
TEXT_DTYPE = pd.StringDtype("pyarrow")

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


def parse_table(
    raw: pd.DataFrame, spec: DomainSpec
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse the known columns of a raw text table to their schema types.

    Parameters
    ----------
    raw : pandas.DataFrame
        Text values (or None) with :data:`SOURCE_FILE` and :data:`SOURCE_ROW`.
    spec : schemas.domains.DomainSpec
        The domain the table belongs to; only its columns are parsed, others are
        copied unchanged.

    Returns
    -------
    typed : pandas.DataFrame
        The same rows, with each schema column of its type.
    findings : pandas.DataFrame
        RD-008 (unparseable) and RD-011 (partial date imputed) findings.
    """
    typed = normalise_text_columns(raw, spec)
    if typed is raw:  # parsed columns replace text ones below, in the copy only
        typed = raw.copy(deep=False)
    problems = []
    for column, kind in spec.column_kinds.items():
        if column not in raw.columns or kind == "string" or is_parsed(raw[column]):
            continue
        text = raw[column]
        too_big = None
        why: pd.Series | None = None  # a reason after the message, where known
        if kind == "integer":
            values, bad, too_big = _parse_integer(text)
        elif kind == "float":
            values, bad, why = _parse_float(text)
        elif kind == "boolean":
            values, bad = _parse_boolean(text)
        else:
            values, bad, imputed, offsets, why = _parse_datetime(
                text, imputable=column in IMPUTATION_FLAGS
            )
            if offsets is not None:
                typed[offset_column(column)] = offsets.astype(TEXT_DTYPE)
            if imputed.any():
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
                    )
                )
        typed[column] = values
        if bad.any():
            message = "cannot read " + text[bad].map(repr) + f" as {_EXPECTED[kind]}"
            if too_big is not None and too_big.any():
                message = message.where(
                    ~too_big[bad],
                    message + f": out of range (a whole number from {_INT64_MIN} to "
                    f"{_INT64_MAX})",
                )
            if why is not None and why[bad].notna().any():
                reason = why[bad]
                message = message.where(reason.isna(), message + ": " + reason)
            problems.append(
                _findings(
                    raw, spec.name, column, bad, "RD-008", Severity.ERROR, message
                )
            )
    findings = pd.concat(problems, ignore_index=True) if problems else empty_findings()
    return typed, findings


def normalise_text_columns(data: pd.DataFrame, spec: DomainSpec) -> pd.DataFrame:
    """Return the table with its text columns in the schemas' Arrow string dtype.

    Parameters
    ----------
    data : pandas.DataFrame
        A domain table, e.g. built by hand with object columns.
    spec : schemas.domains.DomainSpec
        Its domain.

    Returns
    -------
    pandas.DataFrame
        A copy with text columns as ``string[pyarrow]``, or ``data`` itself when
        they already are.
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
        values = result[column]
        text = values.astype(object).where(values.isna(), values.astype(str))
        result[column] = text.astype(TEXT_DTYPE)
    return result


def _findings(
    raw: pd.DataFrame,
    domain: str,
    column: str,
    mask: pd.Series,
    rule: str,
    severity: Severity,
    message: str | pd.Series,
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
            "value": hits[column],
        }
    )
    return frame[list(FINDING_COLUMNS)]


def is_parsed(values: pd.Series) -> bool:
    """Whether a reader already parsed this column (it is not text)."""
    return not (
        pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)
    )


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
            if _decimal(str(text[index]).strip()) != _decimal(repr(number)):
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
            why[finer[finer].index] = (
                "fractional seconds finer than a microsecond, which the store does "
                "not keep; send at most 6 decimals"
            )
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
