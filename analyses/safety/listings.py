"""Adverse-event listings (all AEs, serious AEs) for DSMB reports.

A listing is one row per event with the subject's group, study day of onset (day 1 =
first dose), duration and the coded and graded fields. ``to_frame()`` gives the counts
behind it (subjects and events per group) so that listings and tables can be
reconciled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analyses._results import make_provenance
from analyses.safety._base import SafetyResult
from analyses.safety._shared import (
    event_mask,
    melt_stats,
    population_groups,
    subject_day,
    with_population,
)
from analyses.safety.population import population_rules

__all__ = ["AdverseEventListing", "list_adverse_events", "list_serious_adverse_events"]

_COLUMNS = [
    "group",
    "subject_id",
    "ae_seq",
    "soc",
    "preferred_term",
    "term",
    "onset_date",
    "onset_date_imputed",
    "onset_day",
    "resolution_date",
    "duration_days",
    "grade",
    "grading_scale",
    "serious",
    "relatedness",
    "outcome",
    "action_taken",
    "dlt",
    "aesi",
    "teae",
]


@dataclass(frozen=True, kw_only=True)
class AdverseEventListing(SafetyResult):
    """One row per adverse event.

    Attributes
    ----------
    listing : pandas.DataFrame
        The events, sorted by group, subject and onset.
    """

    listing: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Return subjects and events listed per group: ``group``, ``stat``, ``value``.

        Returns
        -------
        pandas.DataFrame
            Stats ``subjects`` and ``events``.
        """
        g = self.listing.groupby("group", sort=False)
        wide = pd.DataFrame(
            {"subjects": g["subject_id"].nunique(), "events": g.size()}
        ).reset_index()
        return melt_stats(wide, "group")

    def summary(self) -> pd.DataFrame:
        """Return the listing with dates as ISO text.

        Returns
        -------
        pandas.DataFrame
            The listing for display.
        """
        out = self.listing.copy()
        for col in ("onset_date", "resolution_date"):
            if col in out:
                out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d").fillna("")
        return out


def list_adverse_events(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    by: str | None = None,
    *,
    where: pd.Series | None = None,
    subset: str = "all adverse events",
    teae_only: bool = False,
    population_flag: str = "safety",
    title: str = "Listing of adverse events",
) -> AdverseEventListing:
    """List adverse events of the population, one row per event.

    Parameters
    ----------
    data : pandas.DataFrame
        Adverse events (``subject_id``, ``onset_date`` and any listed column).
    subjects : pandas.DataFrame
        Subjects with the population flag, ``first_dose_date`` and ``by``.
    by : str, optional
        Column of ``subjects`` giving each event's group.
    where : pandas.Series of bool, optional
        Event filter aligned with ``data``.
    subset : str, default "all adverse events"
        Words naming the filter, for the footnote.
    teae_only : bool, default False
        List treatment-emergent events only (listings usually show all).
    population_flag : str, default "safety"
        Column of ``subjects`` defining the population.
    title : str
        Title.

    Returns
    -------
    AdverseEventListing
        The listing.
    """
    keep = event_mask(data, teae_only=teae_only, where=where)
    pop, groups = population_groups(subjects, by, population_flag)
    ev = with_population(data.loc[keep], pop)
    first = subject_day(ev["subject_id"], subjects, "first_dose_date")
    onset = pd.to_datetime(ev["onset_date"]).dt.normalize()
    ev["onset_day"] = (onset - first).dt.days
    ev["onset_day"] = ev["onset_day"].where(ev["onset_day"] < 0, ev["onset_day"] + 1)
    if "resolution_date" in ev:
        end = pd.to_datetime(ev["resolution_date"]).dt.normalize()
        ev["duration_days"] = (end - onset).dt.days + 1
    order = {g: i for i, g in enumerate(groups)}
    ev["_g"] = ev["group"].map(order)
    ev = ev.sort_values(["_g", "subject_id", "onset_date"], kind="mergesort")
    listing = ev[[c for c in _COLUMNS if c in ev.columns]].reset_index(drop=True)
    params: dict[str, Any] = {
        "population_rules": population_rules(subjects),
        "by": by,
        "subset": subset,
        "teae_only": teae_only,
        "population_flag": population_flag,
    }
    footnotes = (
        f"Population: subjects with {population_flag} = true; {subset}"
        f"{' (treatment-emergent only)' if teae_only else ''}.",
        "Onset day: study day, day 1 = day of the first dose (no day 0; days before "
        "the first dose are negative). Duration = resolution - onset + 1 days.",
    )
    return AdverseEventListing(
        provenance=make_provenance(
            "list_adverse_events",
            inputs={"adverse_events": data, "subjects": subjects},
            **params,
        ),
        title=title,
        footnotes=footnotes,
        listing=listing,
    )


def list_serious_adverse_events(
    data: pd.DataFrame, subjects: pd.DataFrame, by: str | None = None, **kwargs: Any
) -> AdverseEventListing:
    """List serious adverse events (DSMB template "listing of SAEs").

    Parameters
    ----------
    data, subjects, by
        As in :func:`list_adverse_events`; ``data`` needs ``serious``.
    **kwargs
        Any other keyword of :func:`list_adverse_events`.

    Returns
    -------
    AdverseEventListing
        The listing.
    """
    kwargs.setdefault("title", "Listing of serious adverse events")
    return list_adverse_events(
        data,
        subjects,
        by,
        where=data["serious"].astype("boolean"),
        subset="serious adverse events",
        **kwargs,
    )
