"""Counting-process ``(start, stop]`` rows with time-dependent covariates (``tmerge``).

A covariate that changes during follow-up (GvHD onset, MRD conversion, a second
infusion) cannot enter a Cox model as a baseline column: the subject's follow-up is
split at each change so that every row carries the value in force on its interval
``(start, stop]``, and :func:`~analyses.survival.estimate_cox` fits it with
``start=``. :func:`add_time_dependent_covariate` does the split as R
``tmerge(data, changes, id = id, x = tdc(time, value))``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["add_time_dependent_covariate"]


def add_time_dependent_covariate(
    data: pd.DataFrame,
    changes: pd.DataFrame,
    name: str,
    *,
    id: str = "subject_id",
    time: str = "AVAL",
    start: str = "tstart",
    cnsr: str | None = "CNSR",
    event: str | None = None,
    change_time: str = "day",
    value: str | None = None,
    initial: float | None = None,
) -> pd.DataFrame:
    """Split follow-up at covariate changes, as R ``tmerge(..., tdc())``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject (``start`` is then added as 0: follow-up from time 0
        to ``time``), or ``(start, time]`` rows from an earlier call, to add a
        second covariate.
    changes : pandas.DataFrame
        One row per change: ``id``, ``change_time`` (on the scale of ``time``) and
        optionally ``value``. Rows with a missing time are ignored.
    name : str
        Name of the new covariate column.
    id : str
        Subject column of both frames.
    time : str
        End of each interval (the follow-up time of a one-row-per-subject frame).
    start : str
        Start column (created when absent).
    cnsr, event : str
        The status column: ADaM ``CNSR`` (0 = event; the intervals before the
        last get 1, censored) or, when ``event`` is given, an event column (the
        intervals before the last get 0). Only the interval that ends at the
        original end keeps the status.
    change_time : str
        Time of the change in ``changes``.
    value : str, optional
        Value the covariate takes from the change on; without it the covariate is
        an indicator (0 before the first change, 1 from it on), R ``tdc(time)``.
    initial : float, optional
        Value before a subject's first change (and for subjects without a
        change). Default as R: 0 for an indicator, missing (NaN) for a valued
        covariate (``tdc(time, value)``; such rows drop out of a model).

    Returns
    -------
    pandas.DataFrame
        ``data``'s columns, ``start`` and ``name``, one row per interval, sorted
        by subject and start. A change at or before the start of follow-up
        applies from the start, a change at or after its end is ignored; the
        covariate changes at the change time: it has the new value on the
        interval that starts there.
    """
    status = event if event is not None else cnsr
    if status is None:
        raise ValueError("give either event= (1 = event) or cnsr= (ADaM CNSR)")
    censored = 0 if event is not None else 1
    if name in data.columns:
        raise ValueError(f"data already has a column {name!r}")
    rows = data.reset_index(drop=True).copy()
    if start not in rows.columns:
        rows[start] = 0.0
    rows["_row"] = np.arange(len(rows))
    t0 = rows[start].to_numpy(dtype=float)
    t1 = rows[time].to_numpy(dtype=float)
    if not (t0 < t1).all():
        raise ValueError(f"every interval needs {start} < {time}")
    keep = [id, change_time] + ([value] if value is not None else [])
    ch = changes[keep].dropna(subset=[change_time]).copy()
    ch[change_time] = ch[change_time].astype(float)
    # interval boundaries: the starts, the ends and the changes strictly inside
    pairs = rows[[id, "_row", start, time]].merge(ch[[id, change_time]], on=id)
    inside = pairs[
        (pairs[change_time] > pairs[start]) & (pairs[change_time] < pairs[time])
    ]
    bounds = pd.DataFrame(
        {
            "_row": np.concatenate(
                [
                    rows["_row"].to_numpy(),
                    rows["_row"].to_numpy(),
                    inside["_row"].to_numpy(),
                ]
            ),
            "_t": np.concatenate([t0, t1, inside[change_time].to_numpy(dtype=float)]),
        }
    )
    bounds = bounds.drop_duplicates().sort_values(["_row", "_t"], kind="stable")
    nxt = bounds.groupby("_row")["_t"].shift(-1)
    pieces = pd.DataFrame(
        {
            "_row": bounds["_row"].to_numpy(),
            "_a": bounds["_t"].to_numpy(),
            "_b": nxt.to_numpy(),
        }
    ).dropna(subset=["_b"])
    out = rows.drop(columns=[start, time]).merge(pieces, on="_row")
    last = out["_b"].to_numpy() == t1[out["_row"].to_numpy()]
    out.loc[~last, status] = censored
    out[start] = out["_a"]
    out[time] = out["_b"]
    # the value in force on (a, b]: the latest change at or before a
    ch = ch.rename(columns={change_time: "_a"})
    ch["_value"] = 1.0 if value is None else ch[value].astype(float)
    ch = ch.drop_duplicates(subset=[id, "_a"], keep="last").sort_values("_a")
    out = out.sort_values("_a", kind="stable")
    out = pd.merge_asof(
        out, ch[[id, "_a", "_value"]], on="_a", by=id, direction="backward"
    )
    default = (0.0 if value is None else np.nan) if initial is None else initial
    out[name] = out["_value"].fillna(default)
    out = out.sort_values(["_row", "_a"], kind="stable").reset_index(drop=True)
    columns = [c for c in data.columns if c not in (start, time)]
    return out[[*columns, start, time, name]]
