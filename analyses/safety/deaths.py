"""Deaths: counts by group (on study, within a window of the last dose) and a listing.

FDA STF-IG Tables 8 and 9: deaths "should be assessed using an on-study analysis"; the
window after the last dose is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analyses._results import make_provenance
from analyses.safety._base import SafetyResult
from analyses.safety._shared import (
    group_headers,
    melt_stats,
    n_pct_cells,
    population_groups,
    rounding_note,
    subject_day,
)
from analyses.safety.population import population_rules
from analyses.safety.stats import RoundingRule
from schemas.terms import Outcome

__all__ = ["DeathsTable", "summarize_deaths"]


@dataclass(frozen=True, kw_only=True)
class DeathsTable(SafetyResult):
    """Deaths per group and the listing of every death.

    Attributes
    ----------
    counts : pandas.DataFrame
        ``group``, ``category``, ``N``, ``n``, ``pct``.
    listing : pandas.DataFrame
        One row per death: ``group``, ``subject_id``, ``death_date``,
        ``days_after_first_dose``, ``days_after_last_dose``, ``death_cause``,
        ``fatal_ae`` (preferred terms of fatal TEAEs).
    digits : int
        Decimal places of displayed percentages.
    rounding : {"half_up", "half_even"}
        Rounding rule.
    """

    counts: pd.DataFrame
    listing: pd.DataFrame
    digits: int = 1
    rounding: RoundingRule = "half_up"

    def to_frame(self) -> pd.DataFrame:
        """Return the long unrounded frame: category, group, ``stat``, ``value``.

        Returns
        -------
        pandas.DataFrame
            Stats ``N``, ``n``, ``pct``.
        """
        return melt_stats(self.counts, ["category", "group"])

    def summary(self) -> pd.DataFrame:
        """Return the display frame: one row per category, ``n (%)`` per group.

        Returns
        -------
        pandas.DataFrame
            ``label`` and one column per group.
        """
        c = self.counts.copy()
        c["cell"] = n_pct_cells(c, digits=self.digits, rounding=self.rounding)
        wide = c.pivot_table(
            index="category",
            columns="group",
            values="cell",
            aggfunc="first",
            sort=False,
        )
        wide.columns = group_headers(wide.columns, c)
        return wide.rename_axis("label").reset_index()


def summarize_deaths(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    by: str | None = None,
    *,
    adverse_events: pd.DataFrame | None = None,
    window_days: int = 30,
    population_flag: str = "safety",
    total: str | None = "Total",
    digits: int = 1,
    rounding: RoundingRule = "half_up",
    title: str = "Deaths",
) -> DeathsTable:
    """Count and list deaths in the safety population.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject with ``subject_id``, ``death_date`` and optionally
        ``death_cause`` (the survival_status table, or subjects with those columns).
    subjects : pandas.DataFrame
        Subjects with the population flag, ``first_dose_date``, ``last_dose_date`` and
        the ``by`` column.
    by : str, optional
        Column of ``subjects`` splitting the table.
    adverse_events : pandas.DataFrame, optional
        Adverse events (with ``teae``, ``outcome``, ``preferred_term``); fatal TEAEs are
        listed beside each death and counted in their own row.
    window_days : int, default 30
        Deaths up to this many days after the last dose are "on treatment".
    population_flag : str, default "safety"
        Column of ``subjects`` defining the denominator.
    total : str or None, default "Total"
        Label of the all-groups column.
    digits : int, default 1
        Decimal places of displayed percentages.
    rounding : {"half_up", "half_even"}, default "half_up"
        Rounding rule.
    title : str
        Table title.

    Returns
    -------
    DeathsTable
        Counts and listing.
    """
    pop, groups = population_groups(subjects, by, population_flag)
    deaths = data.loc[pd.to_datetime(data["death_date"]).notna()].copy()
    deaths = deaths.merge(pop, on="subject_id", how="inner")
    death_day = pd.to_datetime(deaths["death_date"]).dt.normalize()
    first = subject_day(deaths["subject_id"], subjects, "first_dose_date")
    last = subject_day(deaths["subject_id"], subjects, "last_dose_date")
    deaths["days_after_first_dose"] = (death_day - first).dt.days
    deaths["days_after_last_dose"] = (death_day - last).dt.days
    on_treatment = deaths["days_after_last_dose"].le(window_days).fillna(False)
    fatal_subjects: set[str] = set()
    if adverse_events is not None:
        ae = adverse_events
        teae = ae["teae"].astype("boolean").fillna(False) if "teae" in ae else True
        fatal = ae.loc[teae & ae["outcome"].eq(Outcome.FATAL.value).fillna(False)]
        terms = fatal.groupby("subject_id")["preferred_term"].agg(
            lambda s: "; ".join(sorted(set(s)))
        )
        deaths["fatal_ae"] = deaths["subject_id"].map(terms)
        fatal_subjects = set(fatal["subject_id"]) & set(pop["subject_id"])
    categories = {
        "Deaths (on study)": deaths,
        f"Deaths within {window_days} days of the last dose": deaths.loc[on_treatment],
    }
    if adverse_events is not None:
        categories["Subjects with a fatal TEAE"] = pop.loc[
            pop["subject_id"].isin(fatal_subjects)
        ]
    if total is not None:
        pop = pd.concat([pop, pop.assign(group=total)], ignore_index=True)
        categories = {
            k: pd.concat([v, v.assign(group=total)], ignore_index=True)
            for k, v in categories.items()
        }
        groups = [*groups, total]
    n_total = pop.groupby("group").size().reindex(groups, fill_value=0)
    rows = []
    for label, frame in categories.items():
        n = frame.groupby("group")["subject_id"].nunique().reindex(groups, fill_value=0)
        rows.append(
            pd.DataFrame(
                {
                    "category": label,
                    "group": groups,
                    "N": n_total.to_numpy(),
                    "n": n.to_numpy(),
                }
            )
        )
    counts = pd.concat(rows, ignore_index=True)
    counts["pct"] = 100.0 * counts["n"] / counts["N"].where(counts["N"] > 0)
    cols = [
        "group",
        "subject_id",
        "death_date",
        "days_after_first_dose",
        "days_after_last_dose",
        "death_cause",
        "fatal_ae",
    ]
    listing = deaths[[c for c in cols if c in deaths.columns]].sort_values(
        ["group", "subject_id"], kind="mergesort"
    )
    params: dict[str, Any] = {
        "population_rules": population_rules(subjects),
        "by": by,
        "window_days": window_days,
        "population_flag": population_flag,
        "total": total,
        "digits": digits,
        "rounding": rounding,
    }
    footnotes = (
        f"Population: subjects with {population_flag} = true; N per column is the "
        f"denominator. Columns: {by or 'all subjects'}.",
        "On study: every recorded death of a treated subject. On treatment: death up "
        "to "
        f"{window_days} days after the last dose. Fatal TEAE: outcome FATAL.",
        rounding_note(rounding, digits),
    )
    inputs = {"deaths": data, "subjects": subjects}
    if adverse_events is not None:
        inputs["adverse_events"] = adverse_events
    return DeathsTable(
        provenance=make_provenance("summarize_deaths", inputs=inputs, **params),
        title=title,
        footnotes=footnotes,
        counts=counts,
        listing=listing.reset_index(drop=True),
        digits=digits,
        rounding=rounding,
    )
