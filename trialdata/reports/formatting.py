"""Numbers to text: the display frames of the report's tables.

Percentages are rounded half-up (SAS ``ROUND``) with ``analyses.safety.round_value``;
a zero count is shown as ``0`` without a percentage.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analyses.safety import round_value

__all__ = [
    "format_date",
    "format_n_pct",
    "format_number",
    "group_headers",
    "pivot_counts",
]


def format_n_pct(n: int, pct: float, *, digits: int = 1) -> str:
    """Format ``n (x.x%)``; ``0`` alone for a zero count, ``n`` alone without a %.

    Parameters
    ----------
    n : int
        Count.
    pct : float
        Unrounded percentage (NaN when the denominator is 0).
    digits : int, default 1
        Decimal places of the percentage (rounded half-up).

    Returns
    -------
    str
        The cell.
    """
    if n == 0:
        return "0"
    if pct is None or np.isnan(pct):
        return str(int(n))
    return f"{int(n)} ({round_value(float(pct), digits, 'half_up'):.{digits}f}%)"


def format_number(value: object, digits: int = 1) -> str:
    """Format a number with fixed decimals (half-up); empty for missing.

    Parameters
    ----------
    value : object
        The number.
    digits : int, default 1
        Decimal places.

    Returns
    -------
    str
        The text.
    """
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return ""
    return f"{round_value(float(value), digits, 'half_up'):.{digits}f}"  # type: ignore[arg-type]


def format_date(value: object) -> str:
    """Format a date as ISO ``YYYY-MM-DD``; empty for missing.

    Parameters
    ----------
    value : object
        A date, timestamp or text.

    Returns
    -------
    str
        The text.
    """
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return ""
    return pd.Timestamp(value).strftime("%Y-%m-%d")  # type: ignore[arg-type]


def group_headers(counts: pd.DataFrame) -> dict[str, str]:
    """Map each group to its header ``group (N=..)`` from a counts frame.

    Parameters
    ----------
    counts : pandas.DataFrame
        ``group`` and ``N`` columns.

    Returns
    -------
    dict of str to str
        Group to header text.
    """
    first = counts.drop_duplicates("group")
    return {
        str(g): f"{g} (N={int(n)})"
        for g, n in zip(first["group"], first["N"], strict=True)
    }


def pivot_counts(
    counts: pd.DataFrame,
    rows: Sequence[str] = ("row",),
    *,
    row_label: str = "",
    digits: int = 1,
) -> pd.DataFrame:
    """Turn long ``n``/``N``/``pct`` counts into a display frame, groups as columns.

    Parameters
    ----------
    counts : pandas.DataFrame
        The ``rows`` columns, ``group``, ``n``, ``N``, ``pct``; rows and groups in
        display order of first appearance.
    rows : sequence of str, default ("row",)
        Columns identifying a display row.
    row_label : str, default ""
        Header of the row-label column (when ``rows`` has one column).
    digits : int, default 1
        Decimal places of percentages.

    Returns
    -------
    pandas.DataFrame
        One text column per row key, then one ``n (%)`` column per group with the
        header ``group (N=..)`` (denominator of the first row).
    """
    rows = list(rows)
    data = counts.assign(
        cell=[
            format_n_pct(int(n), float(p), digits=digits)
            for n, p in zip(counts["n"], counts["pct"], strict=True)
        ]
    )
    headers = group_headers(data)
    groups = list(headers)
    data["_order"] = data.groupby(rows, sort=False).ngroup()
    wide = data.pivot_table(
        index=["_order", *rows], columns="group", values="cell", aggfunc="first"
    )
    wide = wide.reindex(columns=groups).fillna("0")
    wide.columns = [headers[g] for g in groups]
    out = wide.reset_index().drop(columns="_order")
    if len(rows) == 1:
        out = out.rename(columns={rows[0]: row_label})
    return out
