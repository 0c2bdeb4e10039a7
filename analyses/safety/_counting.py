"""The counting engine of the AE tables: subjects n (%) and events, nested, by group.

Denominators are the subjects of the population in each group; events of subjects
outside the population are not counted. Aggregated levels carry the label ``"ANY"``
(e.g. the SOC row has ``preferred_term == "ANY"``; the overall row has both).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from analyses.safety._shared import with_population
from analyses.safety.stats import (
    RiskDifferenceMethod,
    fisher_exact_p_many,
    risk_difference_ci,
)

__all__ = [
    "ANY",
    "UNCODED",
    "SocOrder",
    "add_fisher",
    "compare_groups",
    "count_events",
    "order_rows",
]

#: Label of an aggregated level (any SOC, any preferred term).
ANY = "ANY"

#: Label of events whose term (SOC or preferred term) is missing.
UNCODED = "UNCODED"

#: Ordering of the first level: by descending frequency or alphabetically.
SocOrder = Literal["frequency", "alphabetical"]


def _with_total(
    population: pd.DataFrame, events: pd.DataFrame, total: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    groups = [str(g) for g in population["group"].cat.categories]
    pop = population.assign(group=population["group"].astype(str))
    ev = events.assign(group=events["group"].astype(str))
    if total is not None and total not in groups:
        pop = pd.concat([pop, pop.assign(group=total)], ignore_index=True)
        ev = pd.concat([ev, ev.assign(group=total)], ignore_index=True)
        groups = [*groups, total]
    return pop, ev, groups


def count_events(
    events: pd.DataFrame,
    population: pd.DataFrame,
    levels: Sequence[str],
    *,
    total: str | None = "Total",
) -> pd.DataFrame:
    """Count subjects and events at every depth of a hierarchy, by group.

    Parameters
    ----------
    events : pandas.DataFrame
        One row per event: ``subject_id`` and the ``levels`` columns.
    population : pandas.DataFrame
        ``subject_id`` and categorical ``group`` (see ``select_population``).
    levels : sequence of str
        Hierarchy columns, outermost first (e.g. ``["soc", "preferred_term"]``).
    total : str or None, default "Total"
        Label of an added all-groups column; ``None`` for none.

    Returns
    -------
    pandas.DataFrame
        Wide counts: ``depth``, the level columns, ``group``, ``N``, ``n``, ``events``,
        ``pct`` (unrounded, 100 n / N), one row per (row key, group), zeros included.
    """
    levels = list(levels)
    ev = events[["subject_id", *levels]].copy()
    # an event without a coded term still counts: it gets its own "UNCODED" row
    for level in levels:
        ev[level] = ev[level].astype("object").where(ev[level].notna(), UNCODED)
    ev = with_population(ev, population)
    pop, ev, groups = _with_total(population, ev, total)
    denominators = pop.groupby("group").size().reindex(groups, fill_value=0)
    parts = []
    for depth in range(len(levels) + 1):
        keys = levels[:depth]
        grouped = ev.groupby([*keys, "group"], observed=True)["subject_id"]
        counted = pd.DataFrame({"n": grouped.nunique(), "events": grouped.size()})
        if keys:
            wide = pd.DataFrame(counted.unstack("group", fill_value=0))
            full_cols = pd.MultiIndex.from_product(
                [["n", "events"], groups], names=[None, "group"]
            )
            wide = wide.reindex(columns=full_cols, fill_value=0)
            long = wide.stack("group", future_stack=True).reset_index()
        else:
            long = (
                counted.reindex(groups, fill_value=0).rename_axis("group").reset_index()
            )
        for level in levels[depth:]:
            long[level] = ANY
        long["depth"] = depth
        parts.append(long)
    out = pd.concat(parts, ignore_index=True)
    out["N"] = out["group"].map(denominators).astype("int64")
    out["n"] = out["n"].astype("int64")
    out["events"] = out["events"].astype("int64")
    out["pct"] = np.where(
        out["N"] > 0, 100.0 * out["n"] / out["N"].where(out["N"] > 0), np.nan
    )
    out["group"] = pd.Categorical(out["group"], categories=groups, ordered=True)
    return out[["depth", *levels, "group", "N", "n", "events", "pct"]]


def order_rows(
    counts: pd.DataFrame,
    levels: Sequence[str],
    *,
    sort_by: str | None,
    first_level: SocOrder = "frequency",
) -> pd.DataFrame:
    """Sort the rows: overall first, then each first-level block with its children.

    Parameters
    ----------
    counts : pandas.DataFrame
        Output of :func:`count_events`.
    levels : sequence of str
        The hierarchy columns.
    sort_by : str or None
        Group whose subject count orders the rows (descending, ties alphabetical);
        ``None`` uses the sum over all groups.
    first_level : {"frequency", "alphabetical"}, default "frequency"
        Order of the first level (SOC); deeper levels are always by frequency.

    Returns
    -------
    pandas.DataFrame
        ``counts`` sorted, with a ``row`` column numbering the display rows.
    """
    levels = list(levels)
    if sort_by is None:
        key_n = counts.groupby([*levels], observed=True)["n"].sum()
    else:
        sel = counts.loc[counts["group"].astype(str) == sort_by]
        if sel.empty:
            raise KeyError(f"sort_by group {sort_by!r} is not a column of the table")
        key_n = sel.set_index(levels)["n"]
    rows = key_n.rename("_n").reset_index()
    rows = rows.merge(counts[["depth", *levels]].drop_duplicates(), on=levels)
    sort_cols: list[str] = ["_d0"]
    asc: list[bool] = [True]
    rows["_d0"] = (rows["depth"] > 0).astype(int)
    for i, level in enumerate(levels):
        parent_n = rows.loc[rows["depth"] == i + 1].set_index(levels[: i + 1])["_n"]
        block_n = rows.set_index(levels[: i + 1]).index.map(parent_n.to_dict())
        rows[f"_n{i}"] = np.asarray(block_n, dtype=float)
        rows[f"_c{i}"] = (rows["depth"] > i + 1).astype(int)
        if i == 0 and first_level == "alphabetical":
            sort_cols += [level, f"_c{i}"]
            asc += [True, True]
        else:
            sort_cols += [f"_n{i}", level, f"_c{i}"]
            asc += [False, True, True]
    rows = rows.sort_values(sort_cols, ascending=asc, kind="mergesort")
    rows["row"] = np.arange(len(rows))
    ordered = counts.merge(rows[[*levels, "row"]], on=levels)
    return ordered.sort_values(["row", "group"], kind="mergesort").reset_index(
        drop=True
    )


COMPARISON_COLUMNS = [
    "group",
    "reference",
    "n",
    "n_ref",
    "p_value",
    "rd",
    "rd_lower",
    "rd_upper",
]


def add_fisher(
    counts: pd.DataFrame,
    levels: Sequence[str],
    reference: str,
    *,
    risk_difference: RiskDifferenceMethod | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Return Fisher exact p-values of every group against a reference group, per row.

    Parameters
    ----------
    counts : pandas.DataFrame
        Output of :func:`count_events` (a ``Total`` column, if any, is skipped).
    levels : sequence of str
        The hierarchy columns.
    reference : str
        The reference group (e.g. placebo or the lowest dose level).
    risk_difference : {"newcombe", "wald", "wald_cc"}, optional
        Also return the difference of proportions (group - reference) and its interval
        by this method; missing otherwise.
    confidence : float, default 0.95
        Level of the risk-difference interval.

    Returns
    -------
    pandas.DataFrame
        The level columns, ``group`` (the compared group), ``reference``, the two
        subject counts ``n`` and ``n_ref``, ``p_value``, and ``rd``, ``rd_lower``,
        ``rd_upper`` (proportions, not percent).
    """
    levels = list(levels)
    groups = [str(g) for g in counts["group"].cat.categories]
    if reference not in groups:
        raise KeyError(f"reference group {reference!r} is not a group of the table")
    ref = counts.loc[counts["group"].astype(str) == reference, [*levels, "n", "N"]]
    out = []
    for group in groups:
        if group in (reference, "Total"):
            continue
        cur = counts.loc[counts["group"].astype(str) == group, [*levels, "n", "N"]]
        both = cur.merge(ref, on=levels, suffixes=("", "_ref"))
        both["p_value"] = fisher_exact_p_many(
            both["n"], both["N"], both["n_ref"], both["N_ref"]
        )
        both["group"] = group
        both["reference"] = reference
        both["rd"] = both["rd_lower"] = both["rd_upper"] = np.nan
        if risk_difference is not None:
            valid = (both["N"] > 0) & (both["N_ref"] > 0)
            if valid.any():
                d, lo, hi = risk_difference_ci(
                    both.loc[valid, "n"],
                    both.loc[valid, "N"],
                    both.loc[valid, "n_ref"],
                    both.loc[valid, "N_ref"],
                    method=risk_difference,
                    confidence=confidence,
                )
                both.loc[valid, "rd"] = d
                both.loc[valid, "rd_lower"] = lo
                both.loc[valid, "rd_upper"] = hi
        out.append(both[[*levels, *COMPARISON_COLUMNS]])
    if not out:
        return pd.DataFrame(columns=[*levels, *COMPARISON_COLUMNS])
    return pd.concat(out, ignore_index=True)


def compare_groups(
    counts: pd.DataFrame,
    levels: Sequence[str],
    compare_to: str | None,
    *,
    risk_difference: RiskDifferenceMethod | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Return the comparisons of a table against ``compare_to``, or none.

    Parameters
    ----------
    counts, levels
        As in :func:`add_fisher`.
    compare_to : str or None
        The reference group; ``None`` for no comparison.
    risk_difference : {"newcombe", "wald", "wald_cc"}, optional
        Passed to :func:`add_fisher`.
    confidence : float, default 0.95
        Passed to :func:`add_fisher`.

    Returns
    -------
    pandas.DataFrame
        :func:`add_fisher` of ``counts`` against ``compare_to``; without one, an empty
        frame with the level and comparison columns.
    """
    if compare_to is None:
        return pd.DataFrame(columns=[*levels, *COMPARISON_COLUMNS])
    return add_fisher(
        counts,
        levels,
        compare_to,
        risk_difference=risk_difference,
        confidence=confidence,
    )
