"""SAS dates, date-times and times that pyreadstat cannot convert, converted here.

pyreadstat turns the numbers of a column with a date format (``DATE9.``), a
date-time format or a time format into Python dates, and fails on the whole file
(``OverflowError``) when one of them is beyond the dates Python holds (ten billion
days, say). Read with ``disable_datetime_conversion=True`` instead, such a file's
temporal columns are converted here value by value: a value that is no date is kept
as the number sent and listed, for the caller to report with its row and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

__all__ = ["SasValue", "sas_dates_as_text", "sas_kind"]

# SAS formats pyreadstat reads as dates, date-times and times (its own lists).
_SAS_FORMAT = re.compile(r"^([A-Z][A-Z0-9]+[A-Z])(\d+)?(?(2)(?:\.\d*)?$|\.?$)")
_SAS_DATE_FORMATS = frozenset(
    [
        "WEEKDATE",
        "MMDDYY",
        "DDMMYY",
        "YYMMDD",
        "DATE",
        "DDMMYYB",
        "DDMMYYC",
        "DDMMYYD",
        "DDMMYYN",
        "DDMMYYP",
        "DDMMYYS",
        "MMDDYYB",
        "MMDDYYC",
        "MMDDYYD",
        "MMDDYYN",
        "MMDDYYP",
        "MMDDYYS",
        "WEEKDATX",
        "DTDATE",
        "IS8601DA",
        "E8601DA",
        "B8601DA",
        "YYMMDDB",
        "YYMMDDD",
        "YYMMDDN",
        "YYMMDDP",
        "YYMMDDS",
    ]
)
_SAS_DATETIME_FORMATS = frozenset(
    ["DATETIME", "E8601DT", "DATEAMPM", "MDYAMPM", "IS8601DT", "B8601DT", "B8601DN"]
)
_SAS_TIME_FORMATS = frozenset(
    ["TIME", "HHMM", "TOD", "TIMEAMPM", "IS8601TM", "E8601TM", "B8601TM"]
)
_SAS_ORIGIN = datetime(1960, 1, 1)


@dataclass(frozen=True)
class SasValue:
    """A value of a temporal column that is no date, date-time or time.

    Attributes
    ----------
    position : int
        0-based record number (the record's row is ``position + 2``).
    column : str
        The variable.
    sas_format : str
        Its format, e.g. ``DATE9.``.
    value : float
        The number sent.
    """

    position: int
    column: str
    sas_format: str
    value: float


def sas_kind(sas_format: str | None) -> str | None:
    """Return ``date``, ``datetime`` or ``time`` for a SAS format, else None.

    Parameters
    ----------
    sas_format : str or None
        A variable's format, e.g. ``DATE9.`` or ``DATETIME20.``.

    Returns
    -------
    str or None
        The kind of value pyreadstat reads the format as; None for other formats.
    """
    match = _SAS_FORMAT.match(sas_format or "")
    if match is None:
        return None
    name = match.group(1)
    if name in _SAS_DATE_FORMATS:
        return "date"
    if name in _SAS_DATETIME_FORMATS:
        return "datetime"
    if name in _SAS_TIME_FORMATS:
        return "time"
    return None


def _value_text(value: object, kind: str) -> object:
    """Return a SAS date (days), date-time or time (seconds) as ISO text.

    A value outside the dates Python can hold is returned as sent (a number).
    """
    if not isinstance(value, int | float) or value != value:  # missing or text
        return value
    try:
        if kind == "date":
            return (_SAS_ORIGIN + timedelta(days=int(value))).date().isoformat()
        if kind == "datetime":
            moment = _SAS_ORIGIN + timedelta(seconds=float(value))
            text = moment.isoformat()
            return text[:10] if text.endswith("T00:00:00") else text
        return (datetime.min + timedelta(seconds=float(value))).time().isoformat()
    except (OverflowError, ValueError):
        return value


def sas_dates_as_text(
    data: pd.DataFrame, formats: dict[str, str | None]
) -> tuple[pd.DataFrame, list[SasValue]]:
    """Convert the temporal columns of an XPT file read as numbers to ISO text.

    Parameters
    ----------
    data : pandas.DataFrame
        The file read with ``disable_datetime_conversion=True``.
    formats : dict of str to str or None
        Each variable's SAS format (``meta.original_variable_types``).

    Returns
    -------
    data : pandas.DataFrame
        A copy with dates as ``YYYY-MM-DD``, date-times as ISO text (``YYYY-MM-DD``
        at midnight) and times as ``HH:MM:SS``; a value that is none of these is
        kept as the number sent.
    failed : list of SasValue
        Those values, in column and record order.
    """
    out = data.copy()
    failed: list[SasValue] = []
    for column, sas_format in formats.items():
        kind = sas_kind(sas_format)
        if kind is None or column not in out.columns:
            continue
        values = []
        for position, value in enumerate(out[column].astype(object)):
            text = _value_text(value, kind)
            if isinstance(text, int | float) and text == text:
                failed.append(SasValue(position, column, str(sas_format), float(text)))
            values.append(text)
        out[column] = pd.Series(values, index=out.index, dtype=object)
    return out, failed
