"""Adverse events by system organ class and preferred term: subjects n (%) and events.

One function does the counting for every subset (all TEAEs, serious, grade >= 3, DLTs,
leading to discontinuation); the named wrappers fix the subset and the title.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analyses._results import make_provenance
from analyses.safety._base import SafetyResult
from analyses.safety._counting import (
    SocOrder,
    compare_groups,
    count_events,
    order_rows,
)
from analyses.safety._shared import (
    event_mask,
    format_count_cell,
    group_headers,
    known_group,
    melt_stats,
    population_rules_notes,
    rounding_note,
    sort_by_row,
)
from analyses.safety.population import population_rules, select_population
from analyses.safety.stats import (
    RiskDifferenceMethod,
    RoundingRule,
    format_p_value,
    round_value,
)
from analyses.safety.teae import describe_teae_rule

__all__ = [
    "EventCountTable",
    "format_count_cell",
    "tabulate_events_by_soc_pt",
    "tabulate_grade3_teae",
    "tabulate_serious_teae",
    "tabulate_teae_by_soc_pt",
    "tabulate_teae_leading_to_discontinuation",
]


@dataclass(frozen=True, kw_only=True)
class EventCountTable(SafetyResult):
    """Subjects n (%) and event counts in a hierarchy of terms, by group.

    Attributes
    ----------
    counts : pandas.DataFrame
        Rows in display order: ``row``, ``depth``, the level columns, ``group``, ``N``,
        ``n``, ``events``, ``pct``.
    p_values : pandas.DataFrame
        Level columns, ``group``, ``reference``, ``n``, ``n_ref``, ``p_value`` (empty
        without comparison).
    levels : tuple of str
        Hierarchy columns (e.g. ``("soc", "preferred_term")``).
    digits : int
        Decimal places of displayed percentages.
    rounding : {"half_up", "half_even"}
        Rounding rule of displayed percentages and p-values.
    """

    counts: pd.DataFrame
    p_values: pd.DataFrame
    levels: tuple[str, ...]
    digits: int = 1
    rounding: RoundingRule = "half_up"

    @property
    def groups(self) -> list[str]:
        """The column groups, in display order (a total column last)."""
        return [str(g) for g in self.counts["group"].cat.categories]

    def to_frame(self) -> pd.DataFrame:
        """Return the long unrounded frame: levels, ``group``, ``stat``, ``value``.

        Returns
        -------
        pandas.DataFrame
            Stats ``N``, ``n``, ``pct``, ``events`` per row and group, and ``p_value``
            per row and compared group.
        """
        keys = [*self.levels, "group"]
        long = melt_stats(self.counts, ["row", *keys], ["N", "n", "pct", "events"])
        long["group"] = long["group"].astype(str)
        if not self.p_values.empty:
            p = self.p_values.merge(
                self.counts[["row", *self.levels]].drop_duplicates(),
                on=list(self.levels),
            )
            stats = ["p_value", "rd", "rd_lower", "rd_upper"]
            p = melt_stats(p, ["row", *keys], stats)
            p = p.loc[p["stat"].eq("p_value") | p["value"].notna()]
            p["stat"] = p["stat"].replace(
                {
                    "rd": "risk_difference",
                    "rd_lower": "rd_lower",
                    "rd_upper": "rd_upper",
                }
            )
            long = pd.concat(
                [long, p[["row", *keys, "stat", "value"]]], ignore_index=True
            )
        long["value"] = long["value"].astype(float)
        return sort_by_row(long)

    def summary(self) -> pd.DataFrame:
        """Return the display frame: one row per term, ``n (%) [events]`` per group.

        Returns
        -------
        pandas.DataFrame
            A ``label`` column (indented by depth), one text column per group and one
            p-value column per compared group (blank when neither group has the event).
        """
        c = self.counts

        def pct(x: float) -> str:
            return f"{round_value(100 * x, self.digits, self.rounding):.{self.digits}f}"

        cells = [
            format_count_cell(n, pct, ev, digits=self.digits, rounding=self.rounding)
            for n, pct, ev in zip(c["n"], c["pct"], c["events"], strict=True)
        ]
        frame = c.assign(cell=cells)
        wide = frame.pivot_table(
            index="row", columns="group", values="cell", aggfunc="first", observed=True
        )
        wide = wide[[g for g in self.groups if g in wide.columns]]
        wide.columns = group_headers(wide.columns, c)
        labels = c.drop_duplicates("row").set_index("row")
        wide.insert(
            0, "label", [_label(labels.loc[r], self.levels) for r in wide.index]
        )
        if not self.p_values.empty:
            p = self.p_values.merge(
                c[["row", *self.levels]].drop_duplicates(), on=list(self.levels)
            )
            for group, part in p.groupby("group", sort=False):
                ref = part["reference"].iloc[0]
                col = f"p ({ref} vs {group})"
                part = part.set_index("row").reindex(wide.index)
                text = part["p_value"].map(
                    lambda v: format_p_value(v, rule=self.rounding)
                )
                no_events = (part["n"] == 0) & (part["n_ref"] == 0)
                wide[col] = text.where(~no_events, "")
                if part["rd"].notna().any():
                    wide[f"RD % ({group} - {ref})"] = [
                        "" if pd.isna(d) else f"{pct(d)} ({pct(lo)}, {pct(hi)})"
                        for d, lo, hi in zip(
                            part["rd"], part["rd_lower"], part["rd_upper"], strict=True
                        )
                    ]
        return wide.reset_index(drop=True)


def _label(row: pd.Series, levels: tuple[str, ...]) -> str:
    depth = int(row["depth"])
    if depth == 0:
        return "Any adverse event" if levels else "Subjects with an event"
    return "  " * (depth - 1) + str(row[levels[depth - 1]])


def _check_columns(data: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise KeyError(f"adverse events lack column(s) {missing}")


def tabulate_events_by_soc_pt(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    by: str | None = None,
    *,
    where: pd.Series | None = None,
    subset: str = "all TEAEs",
    teae_only: bool = True,
    population_flag: str = "safety",
    levels: tuple[str, ...] = ("soc", "preferred_term"),
    total: str | None = "Total",
    sort_by: str | None = "Total",
    soc_order: SocOrder = "frequency",
    compare_to: str | None = None,
    risk_difference: RiskDifferenceMethod | None = None,
    confidence: float = 0.95,
    digits: int = 1,
    rounding: RoundingRule = "half_up",
    title: str = "Treatment-emergent adverse events by system organ class and "
    "preferred term",
) -> EventCountTable:
    """Tabulate subjects with events (n, %) and events by SOC and preferred term.

    Parameters
    ----------
    data : pandas.DataFrame
        Adverse events with ``subject_id``, the ``levels`` columns and, when
        ``teae_only``, the ``teae`` flag from ``derive_teae``.
    subjects : pandas.DataFrame
        Subjects with the population flag and the ``by`` column.
    by : str, optional
        Column of ``subjects`` that splits the table (e.g. ``planned_dose_level``,
        ``actual_dose_level``, ``planned_route``, ``cohort_id``). None: one group.
    where : pandas.Series of bool, optional
        Extra event filter aligned with ``data`` (e.g. serious events only).
    subset : str, default "all TEAEs"
        Words naming the ``where`` subset, for the footnote.
    teae_only : bool, default True
        Count treatment-emergent events only.
    population_flag : str, default "safety"
        Boolean column of ``subjects`` that defines the denominator.
    levels : tuple of str, default ("soc", "preferred_term")
        Term hierarchy; ``("soc", "term")`` counts verbatim terms.
    total : str or None, default "Total"
        Label of the all-groups column; None for none.
    sort_by : str or None, default "Total"
        Group whose frequency orders the rows (descending); None sums the groups.
    soc_order : {"frequency", "alphabetical"}, default "frequency"
        Order of the SOC blocks.
    compare_to : str, optional
        Reference group for Fisher's exact test of every other group.
    risk_difference : {"newcombe", "wald", "wald_cc"}, optional
        With ``compare_to``, also the risk difference (group - reference) and its
        interval by this method (FDA STF-IG Table 7 column).
    confidence : float, default 0.95
        Level of the risk-difference interval.
    digits : int, default 1
        Decimal places of displayed percentages.
    rounding : {"half_up", "half_even"}, default "half_up"
        Rounding rule of displayed percentages.
    title : str
        Table title.

    Returns
    -------
    EventCountTable
        The counts, p-values and their provenance.
    """
    _check_columns(data, ["subject_id", *levels] + (["teae"] if teae_only else []))
    events = data.loc[event_mask(data, teae_only=teae_only, where=where)]
    population = select_population(subjects, by, population_flag=population_flag)
    counts = count_events(events, population, levels, total=total)
    sort_by = known_group(sort_by, counts)
    counts = order_rows(counts, levels, sort_by=sort_by, first_level=soc_order)
    p_values = compare_groups(
        counts,
        levels,
        compare_to,
        risk_difference=risk_difference,
        confidence=confidence,
    )
    rule, rule_text = describe_teae_rule(data)
    params: dict[str, Any] = {
        "population_rules": population_rules(subjects),
        "by": by,
        "subset": subset,
        "teae_only": teae_only,
        "teae_rule": rule if teae_only else None,
        "population_flag": population_flag,
        "levels": list(levels),
        "total": total,
        "sort_by": sort_by,
        "soc_order": soc_order,
        "compare_to": compare_to,
        "risk_difference": risk_difference if compare_to is not None else None,
        "confidence": confidence,
        "digits": digits,
        "rounding": rounding,
    }
    footnotes = [
        f"Population: subjects with {population_flag} = true in the subjects table; "
        "percentages use the number of these subjects in each column (N) as "
        "denominator.",
        f"Columns: {by or 'all subjects'}. Events: "
        f"{'treatment-emergent' if teae_only else 'all'} adverse events, {subset}.",
        "n = subjects with at least one event (a subject is counted once per row); "
        "[ ] = number of events.",
        f"Rows ordered by descending frequency in {sort_by or 'all groups'}"
        f"{'; SOCs alphabetically' if soc_order == 'alphabetical' else ''}. "
        + rounding_note(rounding, digits),
    ]
    if teae_only:
        footnotes.append(rule_text)
    footnotes.extend(population_rules_notes(subjects))
    if compare_to is not None:
        footnotes.append(
            f"p: two-sided Fisher's exact test of each group against {compare_to}."
        )
        if risk_difference is not None:
            footnotes.append(
                f"RD: difference in percentage of subjects (group - {compare_to}), "
                f"{round(100 * confidence)}% CI by the {risk_difference} method; "
                "not adjusted for multiplicity."
            )
    return EventCountTable(
        provenance=make_provenance(
            "tabulate_events_by_soc_pt",
            inputs={"adverse_events": data, "subjects": subjects},
            **params,
        ),
        title=title,
        footnotes=tuple(footnotes),
        counts=counts,
        p_values=p_values,
        levels=tuple(levels),
        digits=digits,
        rounding=rounding,
    )


def tabulate_teae_by_soc_pt(
    data: pd.DataFrame, subjects: pd.DataFrame, by: str | None = None, **kwargs: Any
) -> EventCountTable:
    """Tabulate all TEAEs by SOC and preferred term (FDA STF-IG Table 14).

    Parameters
    ----------
    data, subjects, by
        As in :func:`tabulate_events_by_soc_pt`.
    **kwargs
        Any other keyword of :func:`tabulate_events_by_soc_pt`.

    Returns
    -------
    EventCountTable
        The table.
    """
    return tabulate_events_by_soc_pt(data, subjects, by, **kwargs)


def tabulate_serious_teae(
    data: pd.DataFrame, subjects: pd.DataFrame, by: str | None = None, **kwargs: Any
) -> EventCountTable:
    """Tabulate serious TEAEs by SOC and preferred term (FDA STF-IG Table 10).

    Parameters
    ----------
    data, subjects, by
        As in :func:`tabulate_events_by_soc_pt`; ``data`` needs ``serious``.
    **kwargs
        Any other keyword of :func:`tabulate_events_by_soc_pt`.

    Returns
    -------
    EventCountTable
        The table.
    """
    kwargs.setdefault(
        "title", "Serious treatment-emergent adverse events by SOC and preferred term"
    )
    return tabulate_events_by_soc_pt(
        data,
        subjects,
        by,
        where=data["serious"].astype("boolean"),
        subset="serious events only",
        **kwargs,
    )


def tabulate_grade3_teae(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    by: str | None = None,
    *,
    min_grade: int = 3,
    **kwargs: Any,
) -> EventCountTable:
    """Tabulate TEAEs of grade >= ``min_grade`` by SOC and preferred term.

    Parameters
    ----------
    data, subjects, by
        As in :func:`tabulate_events_by_soc_pt`; ``data`` needs ``grade``.
    min_grade : int, default 3
        Lowest grade counted.
    **kwargs
        Any other keyword of :func:`tabulate_events_by_soc_pt`.

    Returns
    -------
    EventCountTable
        The table.
    """
    kwargs.setdefault(
        "title", f"Grade >= {min_grade} treatment-emergent adverse events by SOC and PT"
    )
    grade = pd.to_numeric(data["grade"], errors="coerce")
    return tabulate_events_by_soc_pt(
        data,
        subjects,
        by,
        where=(grade >= min_grade),
        subset=f"grade >= {min_grade} only",
        **kwargs,
    )


def tabulate_teae_leading_to_discontinuation(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    by: str | None = None,
    *,
    action: str = "DRUG WITHDRAWN",
    **kwargs: Any,
) -> EventCountTable:
    """Tabulate TEAEs leading to treatment discontinuation by SOC and PT (STF-IG T12).

    Parameters
    ----------
    data, subjects, by
        As in :func:`tabulate_events_by_soc_pt`; ``data`` needs ``action_taken``.
    action : str, default "DRUG WITHDRAWN"
        Action-taken value meaning permanent discontinuation (CDISC C66767).
    **kwargs
        Any other keyword of :func:`tabulate_events_by_soc_pt`.

    Returns
    -------
    EventCountTable
        The table. When action taken is blank in the data (as in the CDISC pilot), this
        table is empty: use the disposition flag in ``summarize_teae_overview``.
    """
    kwargs.setdefault("title", "TEAEs leading to discontinuation by SOC and PT")
    return tabulate_events_by_soc_pt(
        data,
        subjects,
        by,
        where=data["action_taken"].eq(action),
        subset=f"action taken = {action}",
        **kwargs,
    )
