"""Small vectorised helpers shared by the rule modules.

They keep the rules short: reading a column that may be absent, turning typed values
into text for messages, looking up per-subject facts and reporting the masked rows.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import numpy as np
import pandas as pd

from analyses.dosing import first_given_doses
from schemas.checks import matches_pattern
from schemas.domains._fields import IDENTIFIER_PATTERN
from trialdata.findings import Severity, empty_findings
from trialdata.validation.context import RuleContext, flag_rows, lookup
from trialdata.validation.schema_check import ABSENT_COLUMNS

__all__ = [
    "column_text",
    "day",
    "dosed_subjects",
    "first_dose_dates",
    "has_columns",
    "is_false",
    "is_true",
    "report",
    "subject_fact",
    "text",
    "valid_identifier",
    "valid_term",
]

MessageBuilder = Callable[..., "pd.Series | str"]


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
    return values.astype("boolean").fillna(False).astype(bool)


def is_false(values: pd.Series) -> pd.Series:
    """Return a plain boolean mask of values that are false (missing is not false)."""
    return values.astype("boolean").eq(False).fillna(False).astype(bool)


def day(values: pd.Series) -> pd.Series:
    """Return dates or date-times truncated to the calendar day (missing stays)."""
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values, errors="coerce")
    return values.dt.normalize()


def valid_term(values: pd.Series, terms: type[StrEnum]) -> pd.Series:
    """Return a mask of values that belong to a controlled-term list.

    Values outside the list are reported by the schema step (SC-TERM); rules skip them
    so that one bad value yields one finding.
    """
    return values.isin([member.value for member in terms])


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
    """
    admin = ctx.table("administrations")
    if not has_columns(admin, "subject_id", "admin_date", "given"):
        return pd.Series(dtype="datetime64[ns]")
    assert admin is not None
    first = first_given_doses(admin)
    return day(first.loc[~first["uncertain"], "first_dose_date"])


def dosed_subjects(ctx: RuleContext) -> set[str]:
    """Return the subjects with at least one dose recorded as given."""
    admin = ctx.table("administrations")
    if not has_columns(admin, "subject_id", "given"):
        return set()
    assert admin is not None
    return set(admin.loc[is_true(admin["given"]), "subject_id"].dropna())


def report(
    data: pd.DataFrame,
    mask: pd.Series,
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
    mask : pandas.Series
        Rows to flag; missing counts as false.
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
    mask = mask.reindex(data.index).astype("boolean").fillna(False).astype(bool)
    if not mask.any():
        return empty_findings()
    hits = data.loc[mask]
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
