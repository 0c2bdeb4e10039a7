"""The safety population and the treatment-group column every safety table splits by.

Denominators come from the subjects table, never from the subjects who happen to have an
adverse event (the most frequent denominator bug in AE tables, Tplyr #76).
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from analyses.dosing import first_given_doses, given_mask

__all__ = [
    "MISSING_GROUP",
    "POPULATION_RULES_ATTR",
    "ActualRule",
    "derive_combined_group",
    "derive_dose_groups",
    "derive_safety_population",
    "describe_population_rules",
    "population_rules",
    "select_population",
]

#: Label of subjects in the population whose group value is missing.
MISSING_GROUP = "Missing"

#: How the actual dose level of a subject is read from its given administrations.
ActualRule = Literal["max", "first"]


#: Key of ``DataFrame.attrs`` where the derivations of this module record their rules.
POPULATION_RULES_ATTR = "population_rules"


def _record(data: pd.DataFrame, name: str, rule: str) -> None:
    rules = dict(data.attrs.get(POPULATION_RULES_ATTR, {}))
    rules[name] = rule
    data.attrs[POPULATION_RULES_ATTR] = rules


def population_rules(data: pd.DataFrame) -> dict[str, str]:
    """Return the rules recorded on a subjects frame by this module's derivations.

    Parameters
    ----------
    data : pandas.DataFrame
        Subjects after :func:`derive_safety_population` / :func:`derive_dose_groups`.

    Returns
    -------
    dict of str to str
        E.g. ``{"safety_population": "at least one given administration",
        "actual_dose_level": "max dose level given"}``; empty when none was recorded.
    """
    return dict(data.attrs.get(POPULATION_RULES_ATTR, {}))


def describe_population_rules(data: pd.DataFrame) -> str:
    """Return the recorded population rules as a footnote sentence (empty if none).

    Parameters
    ----------
    data : pandas.DataFrame
        Subjects after the derivations of this module.

    Returns
    -------
    str
        E.g. "Derived: safety_population = at least one given administration."
    """
    rules = population_rules(data)
    if not rules:
        return ""
    return "Derived: " + "; ".join(f"{k} = {v}" for k, v in rules.items()) + "."


def _given(administrations: pd.DataFrame) -> pd.DataFrame:
    return administrations.loc[given_mask(administrations)]


def derive_safety_population(
    data: pd.DataFrame,
    administrations: pd.DataFrame,
    *,
    flag: str | None = None,
) -> pd.DataFrame:
    """Add the safety-population flag and first/last dose dates to the subjects table.

    Parameters
    ----------
    data : pandas.DataFrame
        The subjects table (one row per subject, ``subject_id``).
    administrations : pandas.DataFrame
        The administrations table (``subject_id``, ``admin_date``, ``given``).
    flag : str, optional
        Name of an existing boolean or ``"Y"``/``"N"`` column of ``data`` that defines
        the safety population (e.g. ADSL ``SAFFL``). By default a subject is in the
        safety population when at least one administration has ``given`` true.

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` with ``safety`` (bool), ``first_dose_date`` and
        ``last_dose_date`` (dates of the first and last given administration).
    """
    out = data.copy()
    given = _given(administrations)
    first = first_given_doses(administrations)["first_dose_date"]
    last = given.groupby("subject_id")["admin_date"].max()
    out["first_dose_date"] = out["subject_id"].map(first)
    out["last_dose_date"] = out["subject_id"].map(last)
    if flag is None:
        out["safety"] = out["subject_id"].isin(given["subject_id"])
    else:
        raw = out[flag]
        if raw.dtype == object or pd.api.types.is_string_dtype(raw):
            out["safety"] = raw.astype("string").str.upper().eq("Y").fillna(False)
        else:
            out["safety"] = raw.astype("boolean").fillna(False).astype(bool)
        out["safety"] = out["safety"].astype(bool)
    _record(out, "safety_population", flag or "at least one given administration")
    return out


def derive_dose_groups(
    data: pd.DataFrame,
    administrations: pd.DataFrame,
    cohorts: pd.DataFrame,
    *,
    actual_rule: ActualRule = "max",
) -> pd.DataFrame:
    """Add planned and actual dose level and route columns to the subjects table.

    Parameters
    ----------
    data : pandas.DataFrame
        The subjects table (``subject_id``, ``cohort_id``).
    administrations : pandas.DataFrame
        The administrations table (``subject_id``, ``given``, ``dose_level``, ``route``,
        ``admin_date``).
    cohorts : pandas.DataFrame
        The cohorts table (``cohort_id``, ``dose_level``, ``route``).
    actual_rule : {"max", "first"}, default "max"
        The actual dose level is the highest level given (``max``, the conservative
        choice for toxicity attribution) or the level of the first given dose.

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` with ``planned_dose_level``, ``planned_route``,
        ``actual_dose_level`` and ``actual_route``.
    """
    out = data.copy()
    by_cohort = cohorts.set_index("cohort_id")
    out["planned_dose_level"] = out["cohort_id"].map(by_cohort["dose_level"])
    out["planned_route"] = out["cohort_id"].map(by_cohort["route"])
    given = _given(administrations).sort_values(["subject_id", "admin_date"])
    if actual_rule == "max":
        level = given.groupby("subject_id")["dose_level"].max()
    else:
        level = given.groupby("subject_id")["dose_level"].first()
    route = given.groupby("subject_id")["route"].first()
    out["actual_dose_level"] = out["subject_id"].map(level).astype("Int64")
    out["actual_route"] = out["subject_id"].map(route)
    _record(out, "actual_dose_level", f"{actual_rule} dose level given")
    return out


def select_population(
    data: pd.DataFrame, by: str | None, *, population_flag: str = "safety"
) -> pd.DataFrame:
    """Return ``subject_id`` and the group column of the subjects in a population.

    Parameters
    ----------
    data : pandas.DataFrame
        Subjects with the population flag column.
    by : str or None
        The group column (dose level, route, arm); ``None`` for a single group.
    population_flag : str, default "safety"
        Boolean column selecting the population.

    Returns
    -------
    pandas.DataFrame
        Columns ``subject_id`` and ``group``: a categorical of the group labels as text,
        ordered by the categories of ``by`` when it is categorical, else by its
        sorted values (``"All"`` when ``by`` is None; subjects
        whose group is missing are labelled ``"Missing"`` and placed last).
    """
    if population_flag not in data.columns:
        raise KeyError(
            f"population flag column {population_flag!r} not in subjects; "
            "call derive_safety_population first"
        )
    selected = data.loc[data[population_flag].astype(bool)]
    out = pd.DataFrame({"subject_id": selected["subject_id"].to_numpy()})
    if by is None:
        out["group"] = pd.Categorical(["All"] * len(out), categories=["All"])
        return out
    values = selected[by]
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.dropna().astype(str))
        order = [str(c) for c in values.cat.categories if str(c) in present]
    else:
        order = [str(v) for v in sorted(values.dropna().unique())]
    labels = values.astype("string").fillna(MISSING_GROUP).to_numpy()
    if (labels == MISSING_GROUP).any():
        order.append(MISSING_GROUP)
    out["group"] = pd.Categorical(labels, categories=order)
    return out


def derive_combined_group(
    data: pd.DataFrame,
    columns: list[str],
    *,
    name: str = "dose_level_route",
    sep: str = " / ",
) -> pd.DataFrame:
    """Add one group column combining several (e.g. dose level and route).

    The new column is an ordered categorical whose order follows the sorted value
    tuples, so ``by=name`` gives columns "1 / INTRADERMAL", "1 / INTRANODAL",
    "2 / INTRADERMAL", ... in dose order.

    Parameters
    ----------
    data : pandas.DataFrame
        Subjects.
    columns : list of str
        Columns to combine, outermost first.
    name : str, default "dose_level_route"
        Name of the new column.
    sep : str, default " / "
        Separator of the parts in the label.

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` with ``name``; missing when any part is missing.
    """
    out = data.copy()
    parts = out[columns]
    complete = parts.notna().all(axis=1)
    labels = parts.astype("string").agg(sep.join, axis=1).where(complete)
    keys = parts.loc[complete].drop_duplicates()
    keys = keys.sort_values(columns, kind="mergesort")
    order = list(dict.fromkeys(keys.astype("string").agg(sep.join, axis=1)))
    out[name] = pd.Categorical(labels, categories=order, ordered=True)
    return out
