"""Figures of immunomonitoring results: spider plot and mean +/- CI plot."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from analyses.immunomonitoring.summaries import ImmunoSummaryResult

__all__ = ["plot_mean_ci", "plot_spider"]


def plot_spider(
    data: pd.DataFrame,
    by: str = "dose_level",
    *,
    variable: str = "pct_change",
    time: str = "study_day",
) -> Figure:
    """Spider plot: one line per subject over time, coloured by group.

    Parameters
    ----------
    data : pandas.DataFrame
        Rows of one analyte (a ValueError is raised for several) from
        :func:`~analyses.immunomonitoring.derive_change_from_baseline` with the group
        column joined.
    by : str, default "dose_level"
        Group column that sets the colour.
    variable : str, default "pct_change"
        Plotted variable (% change from baseline by default).
    time : str, default "study_day"
        Time axis column.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (one ``Line2D`` per subject plus the zero reference line).
    """
    if "analyte" in data and data["analyte"].nunique() > 1:
        raise ValueError("plot_spider draws one analyte; filter the data to one first")
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    rows = data.loc[data[variable].notna() & data[time].notna()]
    rows = rows.sort_values(["subject_id", time], kind="stable")
    groups = sorted(rows[by].dropna().unique())
    palette = {g: f"C{i % 10}" for i, g in enumerate(groups)}
    labelled: set[object] = set()
    for (subject, group), part in rows.groupby(["subject_id", by], sort=True):
        label = f"{by} {group}" if group not in labelled else None
        labelled.add(group)
        ax.plot(
            part[time].to_numpy(dtype=float),
            part[variable].to_numpy(dtype=float),
            marker="o",
            color=palette[group],
            label=label,
            gid=str(subject),
        )
    ax.axhline(0.0, color="0.5", linewidth=0.8, linestyle="--", gid="reference")
    ax.set_xlabel(time.replace("_", " "))
    ax.set_ylabel(variable.replace("_", " "))
    if groups:
        ax.legend(title=by)
    return fig


def plot_mean_ci(
    result: ImmunoSummaryResult,
    by: str = "dose_level",
    *,
    x: str = "visit",
    center: Literal["geo_mean", "mean"] = "geo_mean",
) -> Figure:
    """Plot the mean (or geometric mean) with its confidence interval per group.

    Parameters
    ----------
    result : ImmunoSummaryResult
        Summary of one analyte by ``by`` and ``x``.
    by : str, default "dose_level"
        Group column: one line per group.
    x : str, default "visit"
        Column on the horizontal axis, in the result's order.
    center : {"geo_mean", "mean"}, default "geo_mean"
        ``"geo_mean"`` plots the geometric mean and its interval from the result;
        ``"mean"`` plots the arithmetic mean with the t interval
        ``mean +/- t(n - 1) * sd / sqrt(n)`` at the result's confidence level.

    Returns
    -------
    matplotlib.figure.Figure
        The figure: one error-bar line per group, one point per ``x`` level.
    """
    wide = result.summary()
    levels = list(dict.fromkeys(wide[x]))
    pos = {lv: i for i, lv in enumerate(levels)}
    groups = list(dict.fromkeys(wide[by]))
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    width = 0.25 / max(len(groups), 1)
    for i, group in enumerate(groups):
        part = wide.loc[wide[by] == group]
        xs = (
            part[x].map(pos).to_numpy(dtype=float) + (i - (len(groups) - 1) / 2) * width
        )
        if center == "geo_mean":
            y = part["geo_mean"].to_numpy(dtype=float)
            lo = part["geo_mean_lower"].to_numpy(dtype=float)
            hi = part["geo_mean_upper"].to_numpy(dtype=float)
        else:
            y = part["mean"].to_numpy(dtype=float)
            n = part["n"].to_numpy(dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                half = (
                    stats.t.ppf(0.5 + result.ci_level / 2, n - 1)
                    * part["sd"].to_numpy(dtype=float)
                    / np.sqrt(n)
                )
            lo, hi = y - half, y + half
        ax.errorbar(
            xs,
            y,
            yerr=np.vstack([y - lo, hi - y]),
            marker="o",
            capsize=3,
            label=f"{by} {group}",
        )
    ax.set_xticks(range(len(levels)), [str(lv) for lv in levels])
    ax.set_xlabel(x)
    label = "geometric mean" if center == "geo_mean" else "mean"
    ax.set_ylabel(f"{result.variable} ({label}, {result.ci_level:.0%} CI)")
    ax.legend(title=by)
    return fig
