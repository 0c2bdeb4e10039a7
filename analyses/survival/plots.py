"""Kaplan-Meier figure with the number-at-risk table beneath it (matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analyses.survival.kaplan_meier import KaplanMeierResult

__all__ = ["plot_kaplan_meier"]


def _step_points(
    table_time: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([[0.0], table_time])
    y = np.concatenate([[1.0], values])
    return x, y


def plot_kaplan_meier(
    km: KaplanMeierResult,
    *,
    risk_times: Sequence[float] | None = None,
    conf_int: bool = True,
    censor_marks: bool = True,
    xlabel: str = "Time",
    ylabel: str = "Survival probability",
    title: str | None = None,
    figsize: tuple[float, float] = (7.0, 5.0),
    risk_table: bool = True,
) -> Figure:
    """Draw Kaplan-Meier curves with an aligned number-at-risk table.

    Parameters
    ----------
    km : KaplanMeierResult
        Curves from :func:`estimate_kaplan_meier`.
    risk_times : sequence of float, optional
        Times of the number-at-risk columns and of the x ticks (default: the
        automatic x ticks within the data range).
    conf_int : bool
        Shade the pointwise confidence band (transform stated in the figure).
    censor_marks : bool
        Mark censoring times with ``+``.
    xlabel, ylabel, title : str
        Axis labels and title.
    figsize : tuple of float
        Figure size in inches.
    risk_table : bool
        Draw the number-at-risk table (R's ``n.risk``: subjects with time >= t).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, laid out with matplotlib's constrained layout so that no text
        falls outside it.
    """
    fig = Figure(figsize=figsize, layout="constrained")
    groups = km.groups
    if risk_table:
        grid = fig.add_gridspec(2, 1, height_ratios=[4, 0.45 + 0.28 * len(groups)])
        ax: Axes = fig.add_subplot(grid[0])
        ax_risk: Axes | None = fig.add_subplot(grid[1], sharex=ax)
    else:
        ax = fig.add_subplot(1, 1, 1)
        ax_risk = None
    colours = [f"C{i}" for i in range(len(groups))]
    t_max = 0.0
    for colour, (label, table) in zip(colours, km.tables.items(), strict=True):
        time = table["time"].to_numpy(dtype=float)
        t_max = max(t_max, float(time.max()) if time.size else 0.0)
        x, y = _step_points(time, table["surv"].to_numpy(dtype=float))
        name = str(label) if km.by is None else f"{km.by}={label}"
        ax.step(x, y, where="post", color=colour, label=name, linewidth=1.5)
        if conf_int:
            _, lo = _step_points(time, table["lower"].to_numpy(dtype=float))
            _, hi = _step_points(time, table["upper"].to_numpy(dtype=float))
            ax.fill_between(
                x, lo, hi, step="post", color=colour, alpha=0.15, linewidth=0
            )
        if censor_marks:
            cens = table["n_censor"].to_numpy() > 0
            ax.plot(
                time[cens],
                table["surv"].to_numpy(dtype=float)[cens],
                linestyle="none",
                marker="+",
                markersize=8,
                color=colour,
            )
    ax.set_ylim(-0.02, 1.02)
    ax.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])
    ax.set_xlim(0, t_max * 1.02 if t_max > 0 else 1.0)
    if risk_times is None:
        ticks = [float(t) for t in ax.get_xticks() if 0 <= t <= t_max]
    else:
        ticks = [float(t) for t in risk_times]
        ax.set_xlim(0, max(t_max, max(ticks)) * 1.02)
    ax.set_xticks(ticks)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    legend_title = f"{km.conf_level:.0%} CI: {km.conf_type}" if conf_int else None
    ax.legend(
        loc="best",
        frameon=False,
        title=legend_title,
        fontsize="small",
        title_fontsize="small",
    )
    if ax_risk is None:
        ax.set_xlabel(xlabel)
        return fig
    ax.tick_params(labelbottom=False)
    counts = km.number_at_risk(ticks).to_numpy(dtype=int)
    for row, colour in enumerate(colours):
        level = float(len(groups) - 1 - row)
        for col, t in enumerate(ticks):
            ax_risk.text(
                float(t),
                level,
                str(counts[row, col]),
                ha="center",
                va="center",
                fontsize="small",
                color=colour,
            )
    ax_risk.set_ylim(-0.6, len(groups) - 0.4)
    ax_risk.set_yticks(range(len(groups)))
    ax_risk.set_yticklabels([str(g) for g in reversed(groups)], fontsize="small")
    ax_risk.set_xlabel(xlabel)
    ax_risk.set_title("Number at risk", fontsize="small", loc="left")
    for side in ("top", "right", "left"):
        ax_risk.spines[side].set_visible(False)
    ax_risk.tick_params(axis="y", length=0, pad=14)
    return fig
