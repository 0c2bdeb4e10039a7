"""Small vectorised helpers shared by the rule modules.

They keep the rules short: reading a column that may be absent, turning typed values
into text for messages, looking up per-subject facts and reporting the masked rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.extensions import ExtensionArray

from analyses.dosing import first_given_doses
from schemas.checks import matches_pattern
from schemas.domains._fields import IDENTIFIER_PATTERN
from trialdata.findings import Severity, empty_findings
from trialdata.validation.context import (
    NS_PER_DAY,
    Derived,
    RuleContext,
    Runs,
    arrow_backed_text,
    flag_rows,
    is_in,
    lookup,
    map_values,
)
from trialdata.validation.schema_check import ABSENT_COLUMNS

__all__ = [
    "RUNS_FROM",
    "at_hits",
    "column_text",
    "dated_runs",
    "day",
    "day_numbers",
    "dosed_subjects",
    "equal_to",
    "first_dose_dates",
    "first_dose_dates_of",
    "has_columns",
    "is_false",
    "is_true",
    "keyed_days",
    "keyed_values",
    "not_equal",
    "numbers",
    "one_of",
    "report",
    "row_days",
    "stripped",
    "subject_days",
    "subject_fact",
    "text",
    "valid_identifier",
    "valid_term",
]

MessageBuilder = Callable[..., "pd.Series | str"]
Mask = pd.Series | np.ndarray
ArrayLike = np.ndarray | ExtensionArray


def has_columns(data: pd.DataFrame | None, *columns: str) -> bool:
    """Return whether ``data`` exists and every named column came from its file.

    Columns the runner added because the file lacked them (listed in
    ``data.attrs[ABSENT_COLUMNS]``) count as absent: the reader reports them (RD-002)
    and rules skip them rather than report every row again.

    Parameters
    ----------
    data : pandas.DataFrame or None
        A typed domain table, or None when the upload has none.
    *columns : str
        Column names.

    Returns
    -------
    bool
        True when all columns are present.
    """
    if data is None:
        return False
    absent = set(data.attrs.get(ABSENT_COLUMNS, ()))
    return all(c in data.columns and c not in absent for c in columns)


def is_true(values: pd.Series) -> pd.Series:
    """Return a plain boolean mask of values that are true (missing is false)."""
    if isinstance(values.dtype, pd.BooleanDtype):  # typed tables: one pass
        return _as_mask(values.to_numpy(dtype=bool, na_value=False), values)
    return values.astype("boolean").fillna(False).astype(bool)


def is_false(values: pd.Series) -> pd.Series:
    """Return a plain boolean mask of values that are false (missing is not false)."""
    if isinstance(values.dtype, pd.BooleanDtype):
        return _as_mask(~values.to_numpy(dtype=bool, na_value=True), values)
    return values.astype("boolean").eq(False).fillna(False).astype(bool)


def _as_mask(mask: np.ndarray, values: pd.Series) -> pd.Series:
    """Return a bool array as a Series like ``values`` (same index and name)."""
    return pd.Series(mask, index=values.index, name=values.name)


def day(values: pd.Series) -> pd.Series:
    """Return dates or date-times truncated to the calendar day (missing stays)."""
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values, errors="coerce")
    return values.dt.normalize()


def day_numbers(values: pd.Series) -> np.ndarray:
    """Return the calendar day of each date as a number of days since 1970-01-01.

    Day numbers compare as :func:`day` values do, in NumPy: a missing date is NaN,
    which is neither before nor after anything.

    Parameters
    ----------
    values : pandas.Series
        Dates or date-times (anything else is parsed as :func:`day` does).

    Returns
    -------
    numpy.ndarray of float
        Whole days, NaN where the date is missing.
    """
    if values.dtype.kind != "M":
        values = day(values)
    if isinstance(values.dtype, pd.DatetimeTZDtype):  # its own calendar day
        values = values.dt.tz_localize(None)
    moments = values.to_numpy(dtype="datetime64[ns]").view(np.int64)
    # whole days, floored as datetime64[D] floors them, straight into the float
    # result: one array the size of the table rather than three
    days = np.empty(len(moments))
    np.floor_divide(moments, NS_PER_DAY, out=days, casting="unsafe")
    missing = moments == _NAT
    if missing.any():
        days[missing] = np.nan
    return days


_NAT = np.iinfo(np.int64).min  # NaT as int64


def row_days(ctx: RuleContext | Derived, data: pd.DataFrame, column: str) -> np.ndarray:
    """Return :func:`day_numbers` of a date column, computed once per context."""
    return ctx.derived(data, ("days", column), lambda: day_numbers(data[column]))


def subject_days(
    ctx: RuleContext | Derived, data: pd.DataFrame, column: str
) -> pd.Series:
    """Return each subject's calendar day in a date column, computed once per table.

    Parameters
    ----------
    ctx : RuleContext or Derived
        Where the days are kept.
    data : pandas.DataFrame
        A subject-level table (e.g. ``subjects``) with ``subject_id`` and ``column``.
    column : str
        A date column, e.g. ``consent_date``.

    Returns
    -------
    pandas.Series
        :func:`day` of the subject's first row, indexed by subject id; subjects
        without a date are left out (shared: callers must not modify it).
    """

    def compute() -> pd.Series:
        subject = data["subject_id"]
        first = (subject.notna() & ~subject.duplicated()).to_numpy()
        return day(data[column][first].set_axis(subject[first])).dropna()

    return ctx.derived(data, ("subject_days", column), compute)


def keyed_days(
    ctx: RuleContext,
    data: pd.DataFrame,
    key: str,
    dates: pd.Series,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Return the date of each row's key as a day number: ``dates[data[key]]``.

    The dates are looked up once per distinct key (see
    :meth:`~trialdata.validation.context.RuleContext.codes`), as
    ``map_values(data[key], dates)`` would look them up for each row.

    Parameters
    ----------
    ctx : RuleContext
        The upload.
    data : pandas.DataFrame
        A typed domain table.
    key : str
        Its key column, e.g. ``subject_id``.
    dates : pandas.Series
        Dates indexed by key.
    rows : numpy.ndarray of int, optional
        Positions of the rows wanted (e.g. ``dated_runs(...).starts``); every row by
        default.

    Returns
    -------
    numpy.ndarray of float
        :func:`day_numbers` per row wanted; NaN where the key is missing or unknown.
    """
    return ctx.codes(data, key).lookup(dates, day_numbers, np.nan, rows)


#: Tables from this many rows are checked by run of alike rows (see ``dated_runs``);
#: on shorter ones finding the runs costs about what it saves.
RUNS_FROM = 65_536


def dated_runs(ctx: RuleContext | Derived, data: pd.DataFrame, column: str) -> Runs:
    """Return the runs of rows with one subject, visit and day, computed once.

    What the timing rules ask of a record (is it dated before the subject's
    consent, inside its visit's window?) depends only on its ``subject_id``,
    ``visit`` and the calendar day in ``column``; they ask it once per run (see
    :class:`~trialdata.validation.context.Runs`). A row without a date is a run of
    its own.

    Parameters
    ----------
    ctx : RuleContext or Derived
        Where the runs are kept.
    data : pandas.DataFrame
        A typed domain table with ``subject_id`` and ``column``.
    column : str
        Its date column.

    Returns
    -------
    Runs
        One run per row on tables shorter than :data:`RUNS_FROM` rows, or whose
        runs are mostly single rows.
    """

    def compute() -> Runs:
        if len(data) < RUNS_FROM:
            return Runs.each_row(len(data))
        alike = [ctx.codes(data, "subject_id").codes, row_days(ctx, data, column)]
        if has_columns(data, "visit"):
            alike.append(ctx.codes(data, "visit").codes)
        runs = Runs.where_changed(alike)
        return runs if runs.count <= len(data) // 2 else Runs.each_row(len(data))

    return ctx.derived(data, ("runs", column), compute)


def valid_term(values: pd.Series, terms: type[StrEnum]) -> np.ndarray:
    """Return a bool array of the values that belong to a controlled-term list.

    Values outside the list are reported by the schema step (SC-TERM); rules skip them
    so that one bad value yields one finding. A missing value is not a term.
    """
    return one_of(values, [member.value for member in terms])


# The masks below are plain bool arrays, missing counting as false. On the tables of
# a few thousand rows most rules read, a pandas comparison of Arrow text costs a few
# hundred microseconds in building its nullable result; the Arrow kernel itself, a
# few microseconds.


def _filled(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Return an Arrow boolean result as a bool array, null as false."""
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def equal_to(values: pd.Series, value: str | float) -> np.ndarray:
    """Return which values equal ``value``, as ``values.eq(value)`` (missing: false)."""
    text = arrow_backed_text(values)
    if text is not None and isinstance(value, str):
        return _filled(pc.equal(text, pa.scalar(value, text.type)))
    return values.eq(value).to_numpy(dtype=bool, na_value=False)


def not_equal(left: pd.Series, right: pd.Series) -> np.ndarray:
    """Return where two aligned columns both have a value and differ (``ne``)."""
    texts = arrow_backed_text(left), arrow_backed_text(right)
    if texts[0] is not None and texts[1] is not None:
        return _filled(pc.not_equal(*texts))
    differs = left.ne(right) & left.notna() & right.notna()
    return differs.to_numpy(dtype=bool, na_value=False)


def one_of(values: pd.Series, allowed: Iterable[object]) -> np.ndarray:
    """Return which values are in ``allowed``, as ``values.isin`` (missing: false)."""
    return is_in(values, allowed).to_numpy(dtype=bool)


def numbers(values: pd.Series) -> np.ndarray:
    """Return a numeric column as a float array, NaN where missing."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iuf":
        return values.to_numpy(dtype=float)  # no missing value but NaN
    return values.to_numpy(dtype=float, na_value=np.nan)


def keyed_values(
    ctx: RuleContext, data: pd.DataFrame, key: str, mapping: pd.Series
) -> pd.Series:
    """Return ``map_values(data[key], mapping)``, looked up once per distinct key.

    Parameters
    ----------
    ctx, data, key
        As for :func:`keyed_days`: the upload, a typed domain table and its key
        column.
    mapping : pandas.Series
        Values indexed by key (the first wins where a key repeats).

    Returns
    -------
    pandas.Series
        Aligned on ``data``, of ``mapping``'s dtype; missing where the key is
        missing or unknown.
    """
    codes = ctx.codes(data, key)
    if not codes.textual:
        return map_values(data[key], mapping)
    where = pd.Series(np.arange(len(mapping)), index=mapping.index)
    positions = codes.lookup(where, np.asarray, -1)  # the first of a repeated key
    return pd.Series(mapping.array.take(positions, allow_fill=True), index=data.index)


def valid_identifier(values: pd.Series) -> pd.Series:
    """Return a mask of identifiers with the schemas' identifier format."""
    return matches_pattern(values, pattern=IDENTIFIER_PATTERN) & values.notna()


def text(values: pd.Series) -> pd.Series:
    """Render values for a message: ISO dates, ``12.5``, and ``-`` when missing."""
    if pd.api.types.is_datetime64_any_dtype(values):
        has_time = bool((values.dropna() != values.dropna().dt.normalize()).any())
        rendered = values.dt.strftime("%Y-%m-%dT%H:%M" if has_time else "%Y-%m-%d")
    elif pd.api.types.is_float_dtype(values):
        rendered = values.map(lambda v: f"{v:g}", na_action="ignore")
    elif pd.api.types.is_bool_dtype(values):
        rendered = values.map({True: "Y", False: "N"})
    else:
        rendered = values.astype("string")
    return rendered.astype("string").fillna("-")


def stripped(ctx: RuleContext, data: pd.DataFrame, column: str) -> pd.Series:
    """Return ``data[column].astype("string").str.strip()``, one strip per value.

    Stripping runs in Python, value by value; doing it once per distinct value and
    spreading the results over the rows gives the same text for far fewer calls.

    Parameters
    ----------
    ctx : RuleContext
        The upload.
    data : pandas.DataFrame
        A typed domain table.
    column : str
        A text column.

    Returns
    -------
    pandas.Series of string
        Aligned on ``data``; missing where the value is missing.
    """
    values = ctx.codes(data, column)
    if not values.textual or not len(values.distinct):
        return _strip(data[column])
    rows = _strip(values.distinct).array.take(values.codes, allow_fill=True)
    return pd.Series(rows, index=data.index, name=column)


def _strip(values: pd.Series) -> pd.Series:
    """Return values as text without surrounding white space."""
    return values.astype("string").str.strip()


def column_text(data: pd.DataFrame, column: str) -> pd.Series:
    """Render a column for a message, or ``-`` on every row when the column is absent.

    Parameters
    ----------
    data : pandas.DataFrame
        Rows of a typed domain table (usually the flagged rows).
    column : str
        Column to render.

    Returns
    -------
    pandas.Series
        :func:`text` of the column, aligned on ``data``.
    """
    return text(data.get(column, pd.Series("-", index=data.index)))


def subject_fact(ctx: RuleContext, subject_ids: pd.Series, column: str) -> pd.Series:
    """Return a column of the subjects table for each subject id.

    Parameters
    ----------
    ctx : RuleContext
        The upload.
    subject_ids : pandas.Series
        Subject identifiers.
    column : str
        Column of ``subjects`` to return.

    Returns
    -------
    pandas.Series
        Aligned on ``subject_ids``; missing for unknown subjects or when the subjects
        table or column is absent.
    """
    subjects = ctx.table("subjects")
    if not has_columns(subjects, "subject_id", column):
        return pd.Series(pd.NA, index=subject_ids.index, dtype="object")
    assert subjects is not None
    return lookup(subject_ids, subjects, "subject_id", column)


def first_dose_dates(ctx: RuleContext) -> pd.Series:
    """Return each dosed subject's first given dose date (calendar day).

    A subject whose first dose is uncertain, because a given dose numbered at or
    before the earliest dated one has no (readable) date, is left out: rules that
    count days from the first dose skip that subject rather than count from the
    wrong dose.

    Parameters
    ----------
    ctx : RuleContext
        The upload.

    Returns
    -------
    pandas.Series
        Indexed by subject id; subjects with no given dose of known date are absent.
        Computed once per context: callers must not modify it.
    """
    admin = ctx.table("administrations")
    if not has_columns(admin, "subject_id", "admin_date", "given"):
        return pd.Series(dtype="datetime64[ns]")
    assert admin is not None
    return first_dose_dates_of(ctx, admin)


def first_dose_dates_of(ctx: RuleContext | Derived, admin: pd.DataFrame) -> pd.Series:
    """Return :func:`first_dose_dates` of an administrations table, computed once.

    Parameters
    ----------
    ctx : RuleContext or Derived
        Where the dates are kept.
    admin : pandas.DataFrame
        An administrations table with ``subject_id``, ``admin_date`` and ``given``.

    Returns
    -------
    pandas.Series
        As :func:`first_dose_dates` (shared: callers must not modify it).
    """
    return ctx.derived(admin, "first_dose_dates", lambda: _first_dose_dates(admin))


def _first_dose_dates(admin: pd.DataFrame) -> pd.Series:
    """Return :func:`first_dose_dates` of an administrations table."""
    first = first_given_doses(admin)
    return day(first.loc[~first["uncertain"], "first_dose_date"])


def dosed_subjects(ctx: RuleContext) -> pd.Index:
    """Return the subjects with at least one dose recorded as given (distinct ids)."""
    admin = ctx.table("administrations")
    if not has_columns(admin, "subject_id", "given"):
        return pd.Index([], dtype=object)
    assert admin is not None
    dosed = admin["subject_id"][is_true(admin["given"]).to_numpy()]
    return pd.Index(dosed.dropna().unique())


def at_hits(values: ArrayLike, data: pd.DataFrame, hits: pd.DataFrame) -> pd.Series:
    """Return the flagged rows' values, from one value per row of ``data``.

    Parameters
    ----------
    values : numpy.ndarray or pandas extension array
        One value per row of ``data``.
    data : pandas.DataFrame
        A typed domain table.
    hits : pandas.DataFrame
        The rows of ``data`` that were flagged (as :func:`report` gives them).

    Returns
    -------
    pandas.Series
        Aligned on ``hits``.
    """
    return pd.Series(values, index=data.index).loc[hits.index]


def report(
    data: pd.DataFrame,
    mask: Mask,
    *,
    domain: str,
    rule: str,
    severity: Severity,
    column: str | None,
    message: MessageBuilder,
    value: pd.Series | None = None,
) -> pd.DataFrame:
    """Report the masked rows, building messages only for the rows flagged.

    Parameters
    ----------
    data : pandas.DataFrame
        A typed domain table.
    mask : pandas.Series or numpy.ndarray
        Rows to flag: a Series aligned on ``data``'s index (missing counts as false)
        or a bool array with one value per row.
    domain, rule : str
        Domain and rule identifier.
    severity : Severity
        Severity of the findings.
    column : str or None
        Column the findings are about.
    message : callable
        ``message(hits) -> Series or str`` for the flagged rows only.
    value : pandas.Series, optional
        Offending values; defaults to ``data[column]``.

    Returns
    -------
    pandas.DataFrame
        The findings.
    """
    flagged = _flagged(data, mask)
    if not flagged.any():
        return empty_findings()
    hits = data.loc[flagged]
    if value is None and column is not None and column in hits.columns:
        rendered = text(hits[column]).astype(object)
        value = rendered.mask(hits[column].isna().to_numpy(), other=np.nan)
    elif value is not None:
        value = value.loc[hits.index]
    return flag_rows(
        hits,
        None,
        domain=domain,
        rule=rule,
        severity=severity,
        message=message(hits),
        column=column,
        value=value,
    )


def _flagged(data: pd.DataFrame, mask: Mask) -> np.ndarray:
    """Return the rows of ``data`` a mask flags, as a bool array (missing is false)."""
    if isinstance(mask, np.ndarray):
        return mask.astype(bool, copy=False)
    if mask.dtype == bool and mask.index.equals(data.index):
        return mask.to_numpy()
    aligned = mask.reindex(data.index).astype("boolean").fillna(False)
    return aligned.to_numpy(dtype=bool)
