"""Input handling of the competing-risks analyses: a status column in, cause codes out.

The status column holds one value for a censored time (``cencode``) and one value
per cause of failure, as R ``Surv(time, factor(status))`` and ``cmprsk`` take it.
Causes are ordered as R orders factor levels: the categories of a categorical
column (all of them, observed or not), otherwise the sorted observed values
(numbers numerically, text in code-point order, i.e. R's C-locale order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from analyses.survival._data import stratum_key

__all__ = ["CompetingData", "extract_competing", "factor_levels"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CompetingData:
    """Times, cause codes and optional group and stratum codes, rows aligned.

    Attributes
    ----------
    time : numpy.ndarray
        Follow-up times (float).
    cause : numpy.ndarray of int
        0 for a censored time, k for a failure from ``causes[k - 1]``.
    causes : list
        Cause labels in order.
    cencode : object
        The status value of a censored time.
    group : numpy.ndarray of int or None
        Group code per row (index into ``group_labels``).
    group_labels : list
        Group values in order.
    strata : numpy.ndarray of int or None
        Stratum code per row.
    strata_labels : list
        Stratum values in order.
    frame : pandas.DataFrame
        The input rows used (no missing value in a used column), in input order.
    n_dropped : int
        Rows dropped for a missing value in a used column.
    """

    time: FloatArray
    cause: IntArray
    causes: list[object]
    cencode: object
    group: IntArray | None
    group_labels: list[object]
    strata: IntArray | None
    strata_labels: list[object]
    frame: pd.DataFrame
    n_dropped: int


def factor_levels(values: pd.Series) -> list[object]:
    """Return R's factor levels of a column: categories, else sorted values.

    Parameters
    ----------
    values : pandas.Series
        A column.

    Returns
    -------
    list
        The categories of a categorical column (observed or not), otherwise the
        sorted distinct non-missing values as Python scalars (numbers numerically,
        text in code-point order: R's C-locale ``sort``).
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return list(values.cat.categories)
    uniq = [
        v.item() if isinstance(v, np.generic) else v for v in pd.unique(values.dropna())
    ]
    try:
        return sorted(uniq)
    except TypeError:  # mixed types
        return sorted(uniq, key=str)


def _codes(values: pd.Series) -> tuple[IntArray, list[object]]:
    levels = [v for v in factor_levels(values) if (values == v).any()]
    lookup = {v: i for i, v in enumerate(levels)}
    codes = np.array([lookup[v] for v in values], dtype=np.int64)
    return codes, levels


def _same(a: object, b: object) -> bool:
    """Equality of status values, numbers compared numerically (1 == 1.0)."""
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _check_cencode(values: pd.Series, status: str, cencode: object) -> None:
    """Refuse a censoring code of another kind than the status values.

    A text code on a numeric column (or the reverse) would make every censored
    time a cause of its own.
    """
    numeric_codes = pd.api.types.is_numeric_dtype(
        values
    ) and not pd.api.types.is_bool_dtype(values)
    if numeric_codes and isinstance(cencode, str):
        raise ValueError(
            f"cencode={cencode!r} is text but {status!r} holds numbers; give the "
            "numeric censoring code, e.g. cencode=0 (R cmprsk's default)"
        )
    if (
        not numeric_codes
        and isinstance(cencode, int | float)
        and not isinstance(cencode, bool)
    ):
        observed = values.dropna()
        if len(observed) and not any(_same(v, cencode) for v in pd.unique(observed)):
            raise ValueError(
                f"cencode={cencode!r} is a number but {status!r} holds "
                f"{sorted(map(str, pd.unique(observed)))}; give its censoring code"
            )


def extract_competing(
    data: pd.DataFrame,
    *,
    time: str,
    status: str,
    cencode: object,
    causes: Sequence[object] | None = None,
    by: str | None = None,
    strata: str | Sequence[str] | None = None,
    columns: Sequence[str] = (),
) -> CompetingData:
    """Pull times, cause codes, groups and strata out of a frame.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject.
    time : str
        Column of follow-up times (numeric, non-negative).
    status : str
        Column holding ``cencode`` for a censored time and the cause otherwise.
    cencode : object
        Status value of a censored time.
    causes : sequence, optional
        Causes in the order to report them (every observed cause must be listed;
        listed causes need not occur). Default: R's factor-level order (see the
        module docstring).
    by : str, optional
        Grouping column.
    strata : str or sequence of str, optional
        Stratification column(s); several columns are crossed.
    columns : sequence of str
        Further columns (covariates) that must be non-missing for a row to be used.

    Returns
    -------
    CompetingData
        Aligned arrays of the complete rows.

    Raises
    ------
    KeyError
        If a named column is absent.
    ValueError
        If times are negative, or a status value is neither ``cencode`` nor a
        listed cause.
    """
    strata_cols = [strata] if isinstance(strata, str) else list(strata or [])
    needed = list(
        dict.fromkeys(
            [time, status, *([by] if by else []), *strata_cols, *list(columns)]
        )
    )
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise KeyError(
            f"column(s) {missing} not in the data; columns: {list(data.columns)}"
        )
    complete = data[needed].notna().all(axis=1)
    frame = data.loc[complete]
    n_dropped = int((~complete).sum())
    t = frame[time].to_numpy(dtype=np.float64)
    if np.any(t < 0):
        raise ValueError(f"column {time!r} has negative times")
    values = frame[status]
    _check_cencode(data[status], status, cencode)
    censored = np.array([_same(v, cencode) for v in values], dtype=bool)
    if causes is None:
        labels = [v for v in factor_levels(data[status]) if not _same(v, cencode)]
    else:
        labels = [v for v in causes if not _same(v, cencode)]
    lookup = {v: k + 1 for k, v in enumerate(labels)}
    code = np.zeros(len(frame), dtype=np.int64)
    unknown: list[object] = []
    for i, v in enumerate(values):
        if censored[i]:
            continue
        k = lookup.get(v)
        if k is None:  # 1.0 for 1, numpy scalars
            k = next((c for lab, c in lookup.items() if _same(v, lab)), None)
        if k is None:
            unknown.append(v)
        else:
            code[i] = k
    if unknown:
        raise ValueError(
            f"status values {sorted(set(map(str, unknown)))} of {status!r} are "
            f"neither the censoring code {cencode!r} nor a cause {labels}"
        )
    group, group_labels = (None, []) if by is None else _codes(frame[by])
    if strata_cols:
        st, st_labels = _codes(stratum_key(frame, strata_cols))
    else:
        st, st_labels = None, []
    return CompetingData(
        time=t,
        cause=code,
        causes=labels,
        cencode=cencode,
        group=group,
        group_labels=group_labels,
        strata=st,
        strata_labels=st_labels,
        frame=frame,
        n_dropped=n_dropped,
    )
