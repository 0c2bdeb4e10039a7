"""Input handling shared by the survival analyses: columns in, clean arrays out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["SurvivalData", "extract_survival", "stratum_key"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SurvivalData:
    """Times, event indicators and optional group and stratum labels, rows aligned.

    Attributes
    ----------
    time : numpy.ndarray
        Follow-up times (float).
    event : numpy.ndarray
        True for an event, False for a censored time.
    group : numpy.ndarray or None
        Integer group code per row (index into ``group_labels``).
    group_labels : list
        Group values in sorted order.
    strata : numpy.ndarray or None
        Integer stratum code per row.
    strata_labels : list
        Stratum values in sorted order.
    n_dropped : int
        Rows dropped because time, event, group or stratum was missing.
    """

    time: FloatArray
    event: BoolArray
    group: IntArray | None
    group_labels: list[object]
    strata: IntArray | None
    strata_labels: list[object]
    n_dropped: int


def stratum_key(frame: pd.DataFrame, strata_cols: Sequence[str]) -> pd.Series:
    """Return one value per row naming its stratum.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows.
    strata_cols : sequence of str
        One or more stratum columns.

    Returns
    -------
    pandas.Series
        The column itself for one stratum column, else a tuple of the row's values.
    """
    if len(strata_cols) == 1:
        return frame[strata_cols[0]]
    return pd.Series(
        list(zip(*(frame[c] for c in strata_cols), strict=True)), index=frame.index
    )


def _codes(values: pd.Series) -> tuple[IntArray, list[object]]:
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), list(uniques)


def extract_survival(
    data: pd.DataFrame,
    *,
    time: str,
    event: str | None,
    cnsr: str | None,
    by: str | None = None,
    strata: str | Sequence[str] | None = None,
) -> SurvivalData:
    """Pull time, event, group and stratum arrays out of a frame.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject.
    time : str
        Column of follow-up times (numeric, non-negative).
    event : str or None
        Column of event indicators (1/True = event). Takes precedence over ``cnsr``.
    cnsr : str or None
        ADaM censoring column (0 = event, positive integer = censored).
    by : str, optional
        Grouping column.
    strata : str or sequence of str, optional
        Stratification column(s); several columns are crossed.

    Returns
    -------
    SurvivalData
        Aligned arrays; rows with a missing value in any used column are dropped.

    Raises
    ------
    KeyError
        If a named column is absent.
    ValueError
        If neither ``event`` nor ``cnsr`` is given, or times are negative.
    """
    if event is None and cnsr is None:
        raise ValueError(
            "give either event= (1 = event) or cnsr= (ADaM CNSR, 0 = event)"
        )
    strata_cols = [strata] if isinstance(strata, str) else list(strata or [])
    status_col = event if event is not None else cnsr
    assert status_col is not None
    needed = [time, status_col, *([by] if by else []), *strata_cols]
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise KeyError(
            f"column(s) {missing} not in the data; columns: {list(data.columns)}"
        )
    frame = data[needed].dropna()
    n_dropped = len(data) - len(frame)
    t = frame[time].to_numpy(dtype=np.float64)
    if np.any(t < 0):
        raise ValueError(f"column {time!r} has negative times")
    status = frame[status_col].to_numpy(dtype=np.float64)
    ev = status != 0 if event is not None else status == 0
    group, group_labels = (None, []) if by is None else _codes(frame[by])
    if strata_cols:
        st, st_labels = _codes(stratum_key(frame, strata_cols))
    else:
        st, st_labels = None, []
    return SurvivalData(
        time=t,
        event=np.asarray(ev, dtype=np.bool_),
        group=group,
        group_labels=group_labels,
        strata=st,
        strata_labels=st_labels,
        n_dropped=n_dropped,
    )


def select_parameter(data: pd.DataFrame, paramcd: str | None) -> pd.DataFrame:
    """Keep the rows of one ADTTE parameter.

    Parameters
    ----------
    data : pandas.DataFrame
        A frame, possibly with a ``PARAMCD`` column holding several parameters.
    paramcd : str or None
        Parameter to keep (``"PFS"``, ``"OS"``, ...). None: the frame must hold at
        most one parameter.

    Returns
    -------
    pandas.DataFrame
        The rows of that parameter (the input itself when there is nothing to
        select).

    Raises
    ------
    ValueError
        If the frame mixes parameters and none was chosen, or the chosen one is
        absent.
    """
    if "PARAMCD" not in data.columns:
        if paramcd is not None:
            raise ValueError(f"paramcd={paramcd!r} given but the data has no PARAMCD")
        return data
    present = list(pd.unique(data["PARAMCD"].dropna()))
    if paramcd is None:
        if len(present) > 1:
            raise ValueError(
                f"the data holds several parameters {present}; choose one with paramcd="
            )
        return data
    if paramcd not in present:
        raise ValueError(f"paramcd={paramcd!r} not in the data; present: {present}")
    return data[data["PARAMCD"] == paramcd]


def combine_by(
    data: pd.DataFrame, by: str | Sequence[str] | None
) -> tuple[pd.DataFrame, str | None]:
    """Cross several grouping columns into one (e.g. route x dose level).

    Parameters
    ----------
    data : pandas.DataFrame
        The input frame (not modified).
    by : str, sequence of str or None
        Grouping column(s).

    Returns
    -------
    tuple
        ``(frame, name)``: with two or more columns, a copy of the frame with an
        added column named ``"col1 / col2"`` whose values are ``"v1 / v2"``, ordered
        as the sorted value tuples (so dose level 10 follows 2); otherwise the
        frame and the single column name unchanged.
    """
    if by is None or isinstance(by, str):
        return data, by
    cols = list(by)
    if len(cols) == 1:
        return data, cols[0]
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise KeyError(
            f"column(s) {missing} not in the data; columns: {list(data.columns)}"
        )
    name = " / ".join(cols)
    complete = data[cols].notna().all(axis=1)
    tuples = list(data.loc[complete, cols].itertuples(index=False, name=None))
    ordered = sorted(set(tuples))
    labels = [" / ".join(str(v) for v in t) for t in ordered]
    lookup = dict(zip(ordered, labels, strict=True))
    values = pd.Series(pd.NA, index=data.index, dtype="object")
    values[complete] = [lookup[t] for t in tuples]
    combined = pd.Categorical(values, categories=labels, ordered=True)
    return data.assign(**{name: combined}), name
