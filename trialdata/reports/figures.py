"""Report figures as PNG bytes: dose-escalation history and Kaplan-Meier curves.

matplotlib with the non-interactive Agg canvas; every figure is saved with
``bbox_inches="tight"`` so the number-at-risk table under a KM plot is not clipped.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure as MplFigure

__all__ = ["plot_escalation_history", "plot_kaplan_meier", "to_png"]

_ROUTE_MARKERS = ("o", "s", "^", "D", "v")


def to_png(figure: MplFigure, dpi: int = 100) -> bytes:
    """Render a matplotlib figure to PNG bytes.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure.
    dpi : int, default 100
        Resolution.

    Returns
    -------
    bytes
        The PNG file content.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def plot_escalation_history(
    data: pd.DataFrame,
    *,
    dose_labels: Mapping[int, str],
    title: str = "Dose-escalation history",
) -> bytes:
    """Plot subjects in order of first treatment against their dose level, DLTs marked.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per treated subject: ``subject_id``, ``first_dose_date``,
        ``dose_level`` (int), ``route`` and ``dlt`` (bool).
    dose_labels : Mapping of int to str
        Y-axis label of each dose level.
    title : str
        Plot title.

    Returns
    -------
    bytes
        PNG.
    """
    ordered = data.sort_values(["first_dose_date", "subject_id"], kind="mergesort")
    x = np.arange(1, len(ordered) + 1)
    y = ordered["dose_level"].astype(float).to_numpy()
    dlt = ordered["dlt"].astype(bool).to_numpy()
    routes = ordered["route"].astype(str).to_numpy()
    width = min(14.0, max(6.0, 0.18 * len(ordered) + 3))
    fig = MplFigure(figsize=(width, 3.6))
    ax = fig.add_subplot()
    ax.step(x, y, where="mid", color="0.75", linewidth=1, zorder=1)
    for i, route in enumerate(sorted(set(routes))):
        mask = routes == route
        marker = _ROUTE_MARKERS[i % len(_ROUTE_MARKERS)]
        ax.scatter(
            x[mask & ~dlt],
            y[mask & ~dlt],
            marker=marker,
            facecolors="white",
            edgecolors="#1f4e79",
            s=42,
            zorder=2,
            label=f"{route.title()}, no DLT",
        )
        if (mask & dlt).any():
            ax.scatter(
                x[mask & dlt],
                y[mask & dlt],
                marker=marker,
                color="#c00000",
                s=48,
                zorder=3,
                label=f"{route.title()}, DLT",
            )
    levels = sorted(dose_labels)
    ax.set_yticks(levels, [dose_labels[v] for v in levels])
    ax.set_ylim(min(levels) - 0.6, max(levels) + 0.6)
    step = max(1, len(x) // 25)
    ax.set_xticks(x[::step], [str(v) for v in x[::step]])
    ax.set_xlabel("Subject, in order of first treatment")
    ax.set_ylabel("Dose level")
    ax.set_title(title)
    ax.grid(axis="y", color="0.9")
    ax.legend(loc="upper left", fontsize=8, frameon=False, bbox_to_anchor=(1.0, 1.0))
    return to_png(fig)


def plot_kaplan_meier(
    curves: Mapping[object, pd.DataFrame],
    at_risk: pd.DataFrame,
    *,
    title: str,
    xlabel: str = "Days from first dose",
    times: Sequence[float] | None = None,
) -> bytes:
    """Plot Kaplan-Meier step curves with the number at risk under the axis.

    Parameters
    ----------
    curves : Mapping of object to pandas.DataFrame
        Per group, ``time`` and ``surv`` at every distinct time (e.g.
        ``KaplanMeierResult.tables``); censored times are marked where ``n_censor``
        is positive.
    at_risk : pandas.DataFrame
        Groups as rows, times as columns (``KaplanMeierResult.number_at_risk``).
    title : str
        Plot title.
    xlabel : str
        X-axis label.
    times : sequence of float, optional
        X ticks; defaults to the columns of ``at_risk``.

    Returns
    -------
    bytes
        PNG.
    """
    ticks = [float(t) for t in (at_risk.columns if times is None else times)]
    plot_h, row_h, below = 3.6, 0.22, 0.95  # inches: plot, at-risk row, x labels
    below += row_h * (len(at_risk) + 1)
    height = plot_h + below + 0.45
    fig = MplFigure(figsize=(8.5, height))
    ax = fig.add_axes((0.2, below / height, 0.76, plot_h / height))
    for label, table in curves.items():
        t = np.concatenate([[0.0], table["time"].to_numpy(dtype=float)])
        s = np.concatenate([[1.0], table["surv"].to_numpy(dtype=float)])
        (line,) = ax.step(t, s, where="post", label=str(label))
        if "n_censor" in table.columns:
            cens = table["n_censor"].to_numpy() > 0
            ax.plot(
                table["time"].to_numpy(dtype=float)[cens],
                table["surv"].to_numpy(dtype=float)[cens],
                "|",
                color=line.get_color(),
                markersize=8,
            )
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(left=0, right=max(ticks) if ticks else None)
    ax.set_xticks(ticks)
    ax.set_ylabel("Probability")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    ax.grid(color="0.92")
    # number-at-risk rows under the axis, aligned with the x ticks
    transform = ax.get_xaxis_transform()
    first = -0.75 / plot_h  # axes fraction, below the tick labels and x label
    ax.text(
        0, first, "Number at risk", transform=ax.transAxes, fontsize=8, weight="bold"
    )
    for row, (label, counts) in enumerate(at_risk.iterrows(), start=1):
        y = first - row * row_h / plot_h
        ax.text(-0.02, y, str(label), transform=ax.transAxes, ha="right", fontsize=8)
        for tick in ticks:
            value = counts.get(tick, np.nan)
            text = "" if pd.isna(value) else str(int(value))
            ax.text(tick, y, text, transform=transform, ha="center", fontsize=8)
    return to_png(fig)
