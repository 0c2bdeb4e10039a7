"""TEAEs by maximum grade: each subject counted once per row, at the worst grade.

This is the gtreg ``tbl_ae`` / tern ``count_occurrences_by_grade`` counting rule (Roche
AET04): within a row (any event, a SOC, a preferred term or an AESI category) a subject
appears in one grade column only, the highest grade of their events in that row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analyses._results import make_provenance
from analyses.safety._base import SafetyResult
from analyses.safety._counting import ANY, count_events, order_rows
from analyses.safety._shared import (
    event_mask,
    group_headers,
    known_group,
    melt_stats,
    n_pct_cells,
    population_rules_notes,
    rounding_note,
    sort_by_row,
    with_population,
)
from analyses.safety.population import population_rules, select_population
from analyses.safety.stats import RoundingRule
from analyses.safety.teae import describe_teae_rule

__all__ = ["MaxGradeTable", "tabulate_aesi_by_max_grade", "tabulate_teae_by_max_grade"]

_GRADES = ["1", "2", "3", "4", "5"]


@dataclass(frozen=True, kw_only=True)
class MaxGradeTable(SafetyResult):
    """Subjects by maximum grade, per row and group.

    Attributes
    ----------
    counts : pandas.DataFrame
        ``row``, ``depth``, the level columns, ``group``, ``grade`` (``"1"``-``"5"``,
        ``">=3"`` and ``"Any"``), ``N``, ``n``, ``pct``.
    levels : tuple of str
        Hierarchy columns.
    digits : int
        Decimal places of displayed percentages.
    rounding : {"half_up", "half_even"}
        Rounding rule of displayed percentages.
    """

    counts: pd.DataFrame
    levels: tuple[str, ...]
    digits: int = 1
    rounding: RoundingRule = "half_up"

    def to_frame(self) -> pd.DataFrame:
        """Return the long unrounded frame: levels, group, grade, ``stat``, ``value``.

        Returns
        -------
        pandas.DataFrame
            Stats ``N``, ``n`` and ``pct`` per row, group and grade.
        """
        long = melt_stats(
            self.counts, ["row", *self.levels, "group", "grade"], ["N", "n", "pct"]
        )
        long["group"] = long["group"].astype(str)
        return sort_by_row(long)

    def summary(self) -> pd.DataFrame:
        """Return the display frame: one row per term and grade, ``n (%)`` per group.

        Returns
        -------
        pandas.DataFrame
            ``label``, ``grade`` and one text column per group.
        """
        c = self.counts
        frame = c.assign(
            cell=n_pct_cells(c, digits=self.digits, rounding=self.rounding)
        )
        wide = frame.pivot_table(
            index=["row", "grade"],
            columns="group",
            values="cell",
            aggfunc="first",
            observed=True,
            sort=False,
        )
        groups = [str(g) for g in c["group"].cat.categories]
        wide = wide[[g for g in groups if g in wide.columns]]
        wide.columns = group_headers(wide.columns, c)
        wide = wide.reset_index()
        first = c.drop_duplicates("row").set_index("row")
        wide.insert(
            0,
            "label",
            [
                "Any adverse event"
                if int(first.loc[r, "depth"]) == 0
                else "  " * (int(first.loc[r, "depth"]) - 1)
                + str(first.loc[r, self.levels[int(first.loc[r, "depth"]) - 1]])
                for r in wide["row"]
            ],
        )
        order = {g: i for i, g in enumerate(["Any", *_GRADES, ">=3"])}
        wide["_o"] = wide["grade"].map(order)
        wide = wide.sort_values(["row", "_o"], kind="mergesort").drop(
            columns=["_o", "row"]
        )
        wide["grade"] = wide["grade"].where(wide["grade"] != "Any", "Any grade")
        return wide.reset_index(drop=True)


def tabulate_teae_by_max_grade(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    by: str | None = None,
    *,
    levels: tuple[str, ...] = ("soc", "preferred_term"),
    grade_column: str = "grade",
    teae_only: bool = True,
    where: pd.Series | None = None,
    population_flag: str = "safety",
    total: str | None = "Total",
    sort_by: str | None = "Total",
    digits: int = 1,
    rounding: RoundingRule = "half_up",
    title: str = "Treatment-emergent adverse events by maximum grade",
) -> MaxGradeTable:
    """Tabulate subjects by the maximum grade of their TEAEs in each row.

    Parameters
    ----------
    data : pandas.DataFrame
        Adverse events with ``subject_id``, the ``levels`` columns, ``grade_column``
        and (when ``teae_only``) ``teae``.
    subjects : pandas.DataFrame
        Subjects with the population flag and the ``by`` column.
    by : str, optional
        Column of ``subjects`` splitting the table (dose level, route, arm).
    levels : tuple of str, default ("soc", "preferred_term")
        Term hierarchy; ``("aesi",)`` gives the AESI-by-grade table.
    grade_column : str, default "grade"
        Grade column (CTCAE, ASTCT or MAGIC grade 1-5).
    teae_only : bool, default True
        Count treatment-emergent events only.
    where : pandas.Series of bool, optional
        Extra event filter aligned with ``data``.
    population_flag : str, default "safety"
        Column of ``subjects`` defining the denominator.
    total : str or None, default "Total"
        Label of the all-groups column.
    sort_by : str or None, default "Total"
        Group whose frequency orders the rows.
    digits : int, default 1
        Decimal places of displayed percentages.
    rounding : {"half_up", "half_even"}, default "half_up"
        Rounding rule of displayed percentages.
    title : str
        Table title.

    Returns
    -------
    MaxGradeTable
        Subjects by maximum grade, with ``"Any"`` and ``">=3"`` rows.
    """
    keep = event_mask(data, teae_only=teae_only, where=where)
    events = data.loc[keep, ["subject_id", *levels]].assign(
        _grade=pd.to_numeric(data.loc[keep, grade_column], errors="coerce")
    )
    population = select_population(subjects, by, population_flag=population_flag)
    base = count_events(events, population, levels, total=total)
    sort_by = known_group(sort_by, base)
    base = order_rows(base, levels, sort_by=sort_by, first_level="frequency")
    groups = [str(g) for g in base["group"].cat.categories]
    ev = with_population(
        events, population.assign(group=population["group"].astype(str))
    )
    if total is not None and total not in set(population["group"].astype(str)):
        ev = pd.concat([ev, ev.assign(group=total)], ignore_index=True)
    parts = []
    for depth in range(len(levels) + 1):
        keys = list(levels[:depth])
        top = ev.groupby([*keys, "group", "subject_id"], observed=True)["_grade"].max()
        worst = top.dropna().astype(int).astype(str).rename("grade").reset_index()
        n = worst.groupby([*keys, "group", "grade"]).size().rename("n").reset_index()
        for level in levels[depth:]:
            n[level] = ANY
        parts.append(n)
    by_grade = pd.concat(parts, ignore_index=True)
    rows = base[["row", "depth", *levels, "group", "N", "n"]].copy()
    rows["group"] = rows["group"].astype(str)
    grid = rows.drop(columns="n").merge(pd.DataFrame({"grade": _GRADES}), how="cross")
    grid = grid.merge(by_grade, on=[*levels, "group", "grade"], how="left")
    grid["n"] = grid["n"].fillna(0).astype("int64")
    ge3_n = (
        grid.loc[grid["grade"].isin(["3", "4", "5"])]
        .groupby(["row", "group"], as_index=False)["n"]
        .sum()
    )
    ge3 = rows.drop(columns="n").merge(ge3_n, on=["row", "group"]).assign(grade=">=3")
    any_rows = rows.assign(grade="Any")
    counts = pd.concat([any_rows, grid, ge3], ignore_index=True)
    counts["pct"] = 100.0 * counts["n"] / counts["N"].where(counts["N"] > 0)
    counts["group"] = pd.Categorical(counts["group"], categories=groups, ordered=True)
    counts = counts.sort_values(["row", "group"], kind="mergesort").reset_index(
        drop=True
    )
    rule, rule_text = describe_teae_rule(data)
    params: dict[str, Any] = {
        "population_rules": population_rules(subjects),
        "by": by,
        "teae_rule": rule if teae_only else None,
        "levels": list(levels),
        "grade_column": grade_column,
        "teae_only": teae_only,
        "population_flag": population_flag,
        "total": total,
        "sort_by": sort_by,
        "digits": digits,
        "rounding": rounding,
    }
    footnotes = (
        f"Population: subjects with {population_flag} = true; N per column is the "
        "denominator.",
        f"Columns: {by or 'all subjects'}. Each subject is counted once per row, at "
        f"the highest {grade_column} of their "
        f"{'treatment-emergent ' if teae_only else ''}events in that row; events "
        "without a grade count in 'Any grade' only.",
        rounding_note(rounding, digits),
        *((rule_text,) if teae_only else ()),
        *population_rules_notes(subjects),
    )
    return MaxGradeTable(
        provenance=make_provenance(
            "tabulate_teae_by_max_grade",
            inputs={"adverse_events": data, "subjects": subjects},
            **params,
        ),
        title=title,
        footnotes=footnotes,
        counts=counts,
        levels=tuple(levels),
        digits=digits,
        rounding=rounding,
    )


def tabulate_aesi_by_max_grade(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    by: str | None = None,
    *,
    categories: Sequence[str] | None = None,
    **kwargs: Any,
) -> MaxGradeTable:
    """Tabulate AEs of special interest (CRS, ICANS, GvHD, infusion reaction) by grade.

    Each subject is counted once per AESI category at the highest grade (ASTCT for
    CRS/ICANS, MAGIC for GvHD, CTCAE otherwise, as recorded in ``grade``).

    Parameters
    ----------
    data : pandas.DataFrame
        Adverse events with ``aesi``, ``grade`` and ``teae``.
    subjects : pandas.DataFrame
        Subjects with the population flag and ``by``.
    by : str, optional
        Column of ``subjects`` splitting the table.
    categories : sequence of str, optional
        AESI categories to count (e.g. those the protocol declares); default all.
    **kwargs
        Any other keyword of :func:`tabulate_teae_by_max_grade`.

    Returns
    -------
    MaxGradeTable
        Rows: any AESI, then each category.
    """
    kwargs.setdefault("title", "Adverse events of special interest by maximum grade")
    return tabulate_teae_by_max_grade(
        data,
        subjects,
        by,
        levels=("aesi",),
        where=data["aesi"].notna()
        if categories is None
        else data["aesi"].isin(list(categories)).fillna(False).astype(bool),
        **kwargs,
    )
