"""Figures: dose-transition pathways, decision tables and simulated selection.

Every function returns a :class:`matplotlib.figure.Figure` and draws nothing else.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from analyses.dose_finding.interval_design import DecisionTable
from analyses.dose_finding.pathways import DoseTransitionPathways
from analyses.dose_finding.simulation import OperatingCharacteristics

__all__ = ["plot_decision_table", "plot_dose_pathways", "plot_selection"]

_COLOURS = {"E": "#4daf4a", "S": "#ffd92f", "D": "#ff7f00", "DU": "#e41a1c"}


def plot_dose_pathways(pathways: DoseTransitionPathways) -> Figure:
    """Draw the dose-transition pathways as a tree, one column per cohort.

    Each node shows the next dose (``stop`` when the trial stops); each edge is
    labelled with the cohort outcome (e.g. ``NNT``).

    Parameters
    ----------
    pathways : DoseTransitionPathways
        Result of :func:`dose_transition_pathways`.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    paths = pathways.paths
    children: dict[str, list[str]] = {}
    for row in paths.itertuples():
        if row.path != "":
            children.setdefault(str(row.parent), []).append(str(row.path))
    ypos: dict[str, float] = {}
    counter = [0.0]

    def place(node: str) -> float:
        kids = children.get(node, [])
        if not kids:
            ypos[node] = counter[0]
            counter[0] += 1
        else:
            ypos[node] = sum(place(k) for k in kids) / len(kids)
        return ypos[node]

    place("")
    cohort_of = dict(zip(paths["path"], paths["cohort"].astype(int), strict=True))
    next_of = {
        p: (None if pd.isna(v) else int(v))
        for p, v in zip(paths["path"], paths["next_dose"], strict=True)
    }
    depth = int(paths["cohort"].max()) if len(paths) else 0
    fig = Figure(figsize=(2.2 * (depth + 1), max(3.0, 0.28 * counter[0])))
    ax = fig.add_subplot()
    for node, y in ypos.items():
        x = cohort_of[node]
        nxt = next_of[node]
        label = "stop" if nxt is None else f"{nxt}"
        ax.text(
            x,
            -y,
            label,
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round", "fc": "white", "ec": "grey"},
        )
        for kid in children.get(node, []):
            ky = ypos[kid]
            ax.plot([x, x + 1], [-y, -ky], color="grey", lw=0.6, zorder=0)
            outcome = kid.split(" ")[-1].lstrip("0123456789")
            ax.text(
                x + 0.5,
                -(y + ky) / 2,
                outcome,
                fontsize=6,
                color="dimgrey",
                ha="center",
                va="bottom",
            )
    ax.set_xticks(
        range(depth + 1), ["start"] + [f"cohort {i}" for i in range(1, depth + 1)]
    )
    ax.set_yticks([])
    ax.set_xlim(-0.5, depth + 0.5)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title(
        f"{pathways.design}: dose-transition pathways (next dose at each node)"
    )
    return fig


def plot_decision_table(table: DecisionTable) -> Figure:
    """Draw the decision grid: escalate / stay / de-escalate / eliminate per (n, y).

    Parameters
    ----------
    table : DecisionTable
        Result of ``design.decision_table()``.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    grid = table.grid
    fig = Figure(figsize=(max(4.0, 0.3 * grid["n"].max()), 4.0))
    ax = fig.add_subplot()
    for code, colour in _COLOURS.items():
        part = grid[grid["decision"] == code]
        ax.scatter(part["n"], part["y"], marker="s", s=40, color=colour, label=code)
    ax.set_xlabel("patients treated at the current dose")
    ax.set_ylabel("DLTs")
    ax.legend(title="decision", fontsize=7, loc="upper left")
    ax.set_title(f"{table.design}: decision table")
    return fig


def plot_selection(oc: OperatingCharacteristics, scenario: str | None = None) -> Figure:
    """Draw % selection per dose for every design in one scenario.

    Parameters
    ----------
    oc : OperatingCharacteristics
        Result of :func:`simulate_oc`.
    scenario : str, optional
        Scenario to draw; the first one by default.

    Returns
    -------
    matplotlib.figure.Figure
        Grouped bars, one group per dose (``none`` = no MTD).
    """
    name = next(iter(oc.scenarios)) if scenario is None else scenario
    sel = oc.selection()
    sel = sel[sel["scenario"] == name].set_index("design").drop(columns="scenario")
    fig = Figure(figsize=(7.0, 3.5))
    ax = fig.add_subplot()
    width = 0.8 / max(len(sel), 1)
    for i, (design, row) in enumerate(sel.iterrows()):
        xs = [j + i * width for j in range(len(row))]
        ax.bar(xs, row.to_numpy(float), width=width, label=str(design))
    ax.set_xticks([j + 0.4 - width / 2 for j in range(sel.shape[1])], list(sel.columns))
    ax.set_ylabel("% of trials selecting")
    ax.legend(fontsize=7)
    truth = ", ".join(f"{p:g}" for p in oc.scenarios[name])
    ax.set_title(f"Selection, scenario {name} (true DLT rates {truth})")
    return fig
