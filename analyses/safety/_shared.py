"""Small pieces shared by the safety tables: population groups, filters, cells, notes.

Each helper is the one definition of a step that several tables take in the same way,
so that they cannot drift apart (the same event filter, the same ``n (%)`` cell, the
same ``(N=..)`` header, the same footnote wording).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from analyses.safety.population import (
    describe_population_rules,
    population_rules,
    select_population,
)
from analyses.safety.stats import RoundingRule, round_value

__all__ = [
    "event_mask",
    "format_count_cell",
    "group_headers",
    "known_group",
    "melt_stats",
    "n_pct_cells",
    "population_groups",
    "population_rules_notes",
    "rounding_note",
    "sort_by_row",
    "subject_day",
]


def with_population(events: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Join each event to its subject's row of the population (inner join).

    The subject's group and flags come from the population: event columns of the
    same names (ADAE rows carry their subject's ``group``) are replaced, not kept
    beside them with suffixes.

    Parameters
    ----------
    events : pandas.DataFrame
        Events with ``subject_id``.
    population : pandas.DataFrame
        One row per subject in the population, with ``subject_id``.

    Returns
    -------
    pandas.DataFrame
        The events of subjects in the population, with the population's columns.
    """
    shared = [c for c in population.columns if c != "subject_id" and c in events]
    return events.drop(columns=shared).merge(population, on="subject_id", how="inner")


def population_groups(
    subjects: pd.DataFrame, by: str | None, population_flag: str
) -> tuple[pd.DataFrame, list[str]]:
    """Select a population and return it with its group labels as plain text.

    Parameters
    ----------
    subjects : pandas.DataFrame
        Subjects with the population flag and ``by``.
    by : str or None
        Column of ``subjects`` splitting the table; ``None`` for one group.
    population_flag : str
        Boolean column of ``subjects`` defining the population.

    Returns
    -------
    pop : pandas.DataFrame
        ``subject_id`` and ``group`` (``str``), as in ``select_population``.
    groups : list of str
        The group labels in display order.
    """
    population = select_population(subjects, by, population_flag=population_flag)
    groups = [str(g) for g in population["group"].cat.categories]
    pop = population.assign(group=population["group"].astype(str))
    return pop, groups


def event_mask(
    data: pd.DataFrame, *, teae_only: bool, where: pd.Series | None
) -> pd.Series:
    """Return the events kept by the TEAE flag and an extra filter.

    Parameters
    ----------
    data : pandas.DataFrame
        Adverse events; ``teae`` is needed when ``teae_only``.
    teae_only : bool
        Keep treatment-emergent events only (a missing flag counts as false).
    where : pandas.Series of bool, optional
        Extra filter aligned with ``data`` by index (missing counts as false).

    Returns
    -------
    pandas.Series of bool
        One value per row of ``data``.
    """
    keep = pd.Series(True, index=data.index)
    if teae_only:
        keep &= data["teae"].astype("boolean").fillna(False).astype(bool)
    if where is not None:
        keep &= where.reindex(data.index).astype("boolean").fillna(False).astype(bool)
    return keep


def known_group(group: str | None, counts: pd.DataFrame) -> str | None:
    """Return ``group`` if it is a column group of ``counts``, else ``None``.

    Parameters
    ----------
    group : str or None
        A group label (e.g. the ``sort_by`` group).
    counts : pandas.DataFrame
        Counts with a categorical ``group`` column.

    Returns
    -------
    str or None
        ``group`` when ``counts`` has it, otherwise ``None``.
    """
    if group is not None and group not in {
        str(g) for g in counts["group"].cat.categories
    }:
        return None
    return group


def subject_day(
    subject_ids: pd.Series, subjects: pd.DataFrame, column: str
) -> pd.Series:
    """Look up a date of each subject and return it as a day (time set to midnight).

    Parameters
    ----------
    subject_ids : pandas.Series
        Subject of each row.
    subjects : pandas.DataFrame
        Subjects (one row each) with ``subject_id`` and ``column``.
    column : str
        The date column (e.g. ``first_dose_date``).

    Returns
    -------
    pandas.Series of datetime64
        Aligned with ``subject_ids``; ``NaT`` where the date is missing.
    """
    dates = subject_ids.map(subjects.set_index("subject_id")[column])
    return pd.to_datetime(dates).dt.normalize()


def format_count_cell(
    n: int, pct: float, events: int | None, *, digits: int, rounding: RoundingRule
) -> str:
    """Format one ``n (x.x%) [events]`` cell; a zero count is shown as ``0``.

    Parameters
    ----------
    n : int
        Subjects with at least one event.
    pct : float
        Unrounded percentage of the denominator.
    events : int or None
        Number of events; ``None`` leaves the bracket out.
    digits : int
        Decimal places of the percentage.
    rounding : {"half_up", "half_even"}
        Rounding rule of the percentage.

    Returns
    -------
    str
        The cell text.
    """
    if n == 0:
        return "0"
    text = f"{n} ({round_value(pct, digits, rounding):.{digits}f}%)"
    return text if events is None else f"{text} [{events}]"


def n_pct_cells(
    counts: pd.DataFrame, *, digits: int, rounding: RoundingRule
) -> list[str]:
    """Format the ``n (x.x%)`` cell of every row of a counts frame.

    Parameters
    ----------
    counts : pandas.DataFrame
        Counts with ``n`` and ``pct`` (unrounded).
    digits, rounding
        Decimal places and rounding rule of the percentage, as in
        :func:`format_count_cell`.

    Returns
    -------
    list of str
        One cell per row, ``0`` for a zero count (see :func:`format_count_cell`).
    """
    return [
        format_count_cell(n, p, None, digits=digits, rounding=rounding)
        for n, p in zip(counts["n"], counts["pct"], strict=True)
    ]


#: Statistics shown for a continuous variable, in display order.
CONTINUOUS_LABELS = ("n", "Mean (SD)", "Median", "Min - Max")


def continuous_cells(
    stats: pd.DataFrame,
    groups: Sequence[str],
    *,
    digits: int,
    rounding: RoundingRule,
) -> dict[str, dict[str, str]]:
    """Format a continuous variable's statistics per group for display.

    Parameters
    ----------
    stats : pandas.DataFrame
        Indexed by group, columns among ``n``, ``mean``, ``sd``, ``median``,
        ``min``, ``max`` (unrounded; missing statistics are allowed).
    groups : sequence of str
        Groups (columns of the display), in order.
    digits : int
        Decimal places of the mean and median; the SD gets one more.
    rounding : {"half_up", "half_even"}
        Rounding rule.

    Returns
    -------
    dict of str to dict of str to str
        For each label of :data:`CONTINUOUS_LABELS`, the cell of each group: ``n``,
        ``mean (sd)``, ``median`` and ``min - max`` (minimum and maximum as
        recorded, ``%g``); empty where a statistic is missing (no values, or no SD
        from one value).
    """
    table = stats.reindex(
        index=list(groups), columns=["n", "mean", "sd", "median", "min", "max"]
    ).astype(float)
    v = {name: dict(zip(groups, table[name].tolist(), strict=True)) for name in table}

    def r(x: float, extra: int = 0) -> str:
        if pd.isna(x):
            return ""
        return f"{round_value(x, digits + extra, rounding):.{digits + extra}f}"

    def mean_sd(g: str) -> str:
        mean, sd = v["mean"][g], v["sd"][g]
        if pd.isna(mean):
            return ""
        return r(mean) if pd.isna(sd) else f"{r(mean)} ({r(sd, 1)})"

    def span(g: str) -> str:
        low, high = v["min"][g], v["max"][g]
        return "" if pd.isna(low) else f"{low:g} - {high:g}"

    return {
        "n": {g: "0" if pd.isna(v["n"][g]) else f"{int(v['n'][g])}" for g in groups},
        "Mean (SD)": {g: mean_sd(g) for g in groups},
        "Median": {g: r(v["median"][g]) for g in groups},
        "Min - Max": {g: span(g) for g in groups},
    }


def group_headers(columns: Iterable[str], counts: pd.DataFrame) -> list[str]:
    """Return column headers ``group (N=..)`` with each group's denominator.

    Parameters
    ----------
    columns : iterable of str
        The group columns of a display frame.
    counts : pandas.DataFrame
        Counts with ``group`` and ``N`` (one denominator per group).

    Returns
    -------
    list of str
        One header per column.
    """
    n_by = counts.drop_duplicates("group").set_index("group")["N"]
    return [f"{g} (N={int(n_by[g])})" for g in columns]


def melt_stats(
    frame: pd.DataFrame,
    id_vars: str | Sequence[str],
    value_vars: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Melt a wide frame into the long ``stat`` / ``value`` frame of ``to_frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Wide frame.
    id_vars : str or sequence of str
        Columns kept as keys.
    value_vars : sequence of str, optional
        Columns melted into ``stat`` / ``value``; all others by default.

    Returns
    -------
    pandas.DataFrame
        The keys, ``stat`` and ``value`` (float).
    """
    long = frame.melt(
        id_vars=id_vars, value_vars=value_vars, var_name="stat", value_name="value"
    )
    long["value"] = long["value"].astype(float)
    return long


def sort_by_row(long: pd.DataFrame) -> pd.DataFrame:
    """Order a long frame by its display ``row`` (stably) and drop that column.

    Parameters
    ----------
    long : pandas.DataFrame
        Frame with a ``row`` column.

    Returns
    -------
    pandas.DataFrame
        Sorted, without ``row``, with a fresh index.
    """
    return (
        long.sort_values("row", kind="mergesort")
        .drop(columns="row")
        .reset_index(drop=True)
    )


def rounding_note(rounding: RoundingRule, digits: int) -> str:
    """Return the footnote sentence on how percentages are rounded.

    Parameters
    ----------
    rounding : {"half_up", "half_even"}
        Rounding rule.
    digits : int
        Decimal places.

    Returns
    -------
    str
        E.g. "Percentages rounded half-up to 1 decimal(s)."
    """
    return f"Percentages rounded {rounding.replace('_', '-')} to {digits} decimal(s)."


def population_rules_notes(subjects: pd.DataFrame) -> tuple[str, ...]:
    """Return the footnote on the recorded population rules, if there are any.

    Parameters
    ----------
    subjects : pandas.DataFrame
        Subjects after the derivations of ``analyses.safety.population``.

    Returns
    -------
    tuple of str
        One sentence (see ``describe_population_rules``), or empty.
    """
    return (describe_population_rules(subjects),) if population_rules(subjects) else ()
