"""Time to onset and duration of adverse events (e.g. CRS, ICANS, infusion reactions).

Onset day is counted as SDTM study days: day 1 is the day of the first dose, so an
event on the day of the infusion has onset day 1 (``day_one=True``); with
``day_one=False`` the same event has onset day 0 (days since the first dose). Duration
is ``resolution - onset + 1`` days; ongoing events have no duration and are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analyses._results import make_provenance
from analyses.safety._base import SafetyResult
from analyses.safety._shared import (
    event_mask,
    population_groups,
    subject_day,
    with_population,
)
from analyses.safety.population import population_rules
from analyses.safety.teae import describe_teae_rule

__all__ = ["TimeToOnsetTable", "summarize_time_to_onset"]

_STATS = ("n", "mean", "sd", "median", "q1", "q3", "min", "max")


@dataclass(frozen=True, kw_only=True)
class TimeToOnsetTable(SafetyResult):
    """Onset-day and duration statistics per category and group.

    Attributes
    ----------
    stats : pandas.DataFrame
        ``category``, ``group``, ``measure`` (``onset_day`` or ``duration_days``),
        ``stat``, ``value``; plus ``ongoing`` counts under measure ``duration_days``.
    events : pandas.DataFrame
        The events used, with ``onset_day`` and ``duration_days``.
    """

    stats: pd.DataFrame
    events: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Return the long unrounded frame.

        Returns
        -------
        pandas.DataFrame
            ``category``, ``group``, ``measure``, ``stat``, ``value``.
        """
        return self.stats.copy()

    def summary(self) -> pd.DataFrame:
        """Return the display frame: one row per category, group and measure.

        Returns
        -------
        pandas.DataFrame
            ``n``, ``median (q1-q3)``, ``min-max`` and ``ongoing`` as text.
        """
        wide = self.stats.pivot_table(
            index=["category", "group", "measure"],
            columns="stat",
            values="value",
            aggfunc="first",
            sort=False,
        ).reset_index()

        def num(x: float) -> str:
            return "" if pd.isna(x) else f"{x:g}"

        wide.columns.name = None
        out = wide[["category", "group", "measure"]].copy()
        out["n"] = wide["n"].map(lambda v: f"{int(v)}")
        out["median (Q1-Q3)"] = [
            f"{num(m)} ({num(a)}-{num(b)})" if not pd.isna(m) else ""
            for m, a, b in zip(wide["median"], wide["q1"], wide["q3"], strict=True)
        ]
        out["min-max"] = [
            f"{num(a)}-{num(b)}" if not pd.isna(a) else ""
            for a, b in zip(wide["min"], wide["max"], strict=True)
        ]
        out["ongoing"] = (
            wide["ongoing"].map(lambda v: "" if pd.isna(v) else f"{int(v)}")
            if "ongoing" in wide
            else ""
        )
        return out


def _describe(values: pd.Series) -> dict[str, float]:
    v = values.dropna().astype(float)
    if v.empty:
        return {"n": 0.0} | {s: np.nan for s in _STATS[1:]}
    return {
        "n": float(len(v)),
        "mean": float(v.mean()),
        "sd": float(v.std(ddof=1)) if len(v) > 1 else np.nan,
        "median": float(v.median()),
        "q1": float(v.quantile(0.25)),
        "q3": float(v.quantile(0.75)),
        "min": float(v.min()),
        "max": float(v.max()),
    }


def summarize_time_to_onset(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    by: str | None = None,
    *,
    category: str = "aesi",
    first_only: bool = True,
    day_one: bool = True,
    teae_only: bool = True,
    population_flag: str = "safety",
    total: str | None = "Total",
    title: str = "Time to onset and duration of adverse events of special interest",
) -> TimeToOnsetTable:
    """Summarise onset day and duration of events by category and group.

    Parameters
    ----------
    data : pandas.DataFrame
        Adverse events with ``subject_id``, ``onset_date``, ``resolution_date``, the
        ``category`` column and (when ``teae_only``) ``teae``.
    subjects : pandas.DataFrame
        Subjects with ``first_dose_date``, the population flag and ``by``.
    by : str, optional
        Column of ``subjects`` splitting the table.
    category : str, default "aesi"
        Column whose values are summarised separately (events where it is missing are
        dropped); e.g. ``"preferred_term"``.
    first_only : bool, default True
        Use each subject's first event per category (time to first onset); otherwise
        every event.
    day_one : bool, default True
        Count the first-dose day as day 1 (SDTM study day) rather than day 0.
    teae_only : bool, default True
        Use treatment-emergent events only.
    population_flag : str, default "safety"
        Column of ``subjects`` defining the population.
    total : str or None, default "Total"
        Label of the all-groups summary.
    title : str
        Table title.

    Returns
    -------
    TimeToOnsetTable
        Statistics and the events used.
    """
    keep = event_mask(data, teae_only=teae_only, where=data[category].notna())
    ev = data.loc[keep].copy()
    pop, groups = population_groups(subjects, by, population_flag)
    ev = with_population(ev, pop)
    first = subject_day(ev["subject_id"], subjects, "first_dose_date")
    onset = pd.to_datetime(ev["onset_date"]).dt.normalize()
    ev["onset_day"] = (onset - first).dt.days + (1 if day_one else 0)
    resolution = pd.to_datetime(ev["resolution_date"]).dt.normalize()
    ev["duration_days"] = (resolution - onset).dt.days + 1
    ev["ongoing"] = resolution.isna()
    if first_only:
        ev = ev.sort_values(["subject_id", category, "onset_date"], kind="mergesort")
        ev = ev.drop_duplicates(["subject_id", category])
    frames = ev
    if total is not None:
        frames = pd.concat([ev, ev.assign(group=total)], ignore_index=True)
        groups = [*groups, total]
    rows: list[dict[str, Any]] = []
    for (cat, group), part in frames.groupby([category, "group"], sort=True):
        for measure in ("onset_day", "duration_days"):
            for stat, value in _describe(part[measure]).items():
                rows.append(
                    {
                        "category": cat,
                        "group": group,
                        "measure": measure,
                        "stat": stat,
                        "value": value,
                    }
                )
        rows.append(
            {
                "category": cat,
                "group": group,
                "measure": "duration_days",
                "stat": "ongoing",
                "value": float(part["ongoing"].sum()),
            }
        )
    stats = pd.DataFrame(
        rows, columns=["category", "group", "measure", "stat", "value"]
    )
    if not stats.empty:
        stats["_g"] = stats["group"].map({g: i for i, g in enumerate(groups)})
        stats = stats.sort_values(["category", "_g"], kind="mergesort").drop(
            columns="_g"
        )
    rule, rule_text = describe_teae_rule(data)
    params: dict[str, Any] = {
        "population_rules": population_rules(subjects),
        "by": by,
        "teae_rule": rule if teae_only else None,
        "category": category,
        "first_only": first_only,
        "day_one": day_one,
        "teae_only": teae_only,
        "population_flag": population_flag,
        "total": total,
    }
    footnotes = (
        "Onset day: "
        + (
            "day 1 = day of first dose (study day)"
            if day_one
            else "days since the first dose (day 0 = dosing day)"
        )
        + "; "
        f"{'first event per subject and category' if first_only else 'every event'}.",
        "Duration: resolution date - onset date + 1 days, for resolved events; ongoing "
        "events are counted separately.",
        *((rule_text,) if teae_only else ()),
    )
    return TimeToOnsetTable(
        provenance=make_provenance(
            "summarize_time_to_onset",
            inputs={"adverse_events": data, "subjects": subjects},
            **params,
        ),
        title=title,
        footnotes=footnotes,
        stats=stats.reset_index(drop=True),
        events=ev.reset_index(drop=True),
    )
