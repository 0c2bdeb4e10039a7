"""Demographics and baseline characteristics by group (FDA STF-IG Table 2).

Continuous variables: n, mean, SD (n - 1), median, Q1, Q3, min, max. Categorical
variables: n and percentage of the group's population (missing values are their own
category, shown only when present).

Between-group tests are optional and chosen per variable by name
(``continuous_test``, ``categorical_test``; see :mod:`analyses.safety.group_tests`).
By default there are none: baseline tables describe, and testing baseline differences
between groups the investigators did not assign at random answers no question of the
trial (CONSORT 2010, item 15). A requested test compares the groups of ``by`` (not the
Total column, not subjects with a missing group) on the subjects with a value, and is
named in the footnotes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analyses._results import make_provenance
from analyses.safety._base import SafetyResult
from analyses.safety._shared import continuous_cells
from analyses.safety.group_tests import (
    CATEGORICAL_TESTS,
    CONTINUOUS_TESTS,
    TEST_LABELS,
    GroupTestName,
    compare_groups,
)
from analyses.safety.population import population_rules
from analyses.safety.stats import RoundingRule, format_p_value, round_value

__all__ = ["DemographicsTable", "summarize_demographics"]

_MISSING = "Missing"
#: A test for every variable of a kind, or per variable by name (others untested).
TestChoice = GroupTestName | Mapping[str, GroupTestName] | None


@dataclass(frozen=True, kw_only=True)
class DemographicsTable(SafetyResult):
    """Baseline characteristics per group.

    Attributes
    ----------
    stats : pandas.DataFrame
        ``variable``, ``category`` (empty for continuous variables), ``group``,
        ``stat``, ``value``.
    groups : tuple of str
        Column groups in display order.
    digits : int
        Decimal places of displayed means, SDs and percentages.
    rounding : {"half_up", "half_even"}
        Rounding rule.
    tests : pandas.DataFrame
        One row per tested variable: ``variable``, ``test``, ``method``,
        ``statistic``, ``df`` (tuple), ``p_value``, ``n``, ``notes`` (empty when no
        test was requested).
    """

    stats: pd.DataFrame
    groups: tuple[str, ...]
    digits: int = 1
    rounding: RoundingRule = "half_up"
    tests: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_frame(self) -> pd.DataFrame:
        """Return the long unrounded frame.

        Returns
        -------
        pandas.DataFrame
            ``variable``, ``category``, ``group``, ``stat``, ``value``; a tested
            variable adds rows with an empty ``category`` and ``group`` and the stats
            ``test_statistic``, ``test_df`` (or ``test_df1``, ``test_df2``) and
            ``p_value`` (Fisher's test: ``p_value`` only).
        """
        if self.tests.empty:
            return self.stats.copy()
        rows: list[dict[str, Any]] = []
        for t in self.tests.to_dict(orient="records"):
            # Fisher's r x c test has no statistic, only its p-value
            values = (
                [] if t["test"] == "fisher" else [("test_statistic", t["statistic"])]
            )
            df = tuple(t["df"])
            if len(df) == 1:
                values.append(("test_df", df[0]))
            else:
                values += [(f"test_df{i + 1}", v) for i, v in enumerate(df)]
            values.append(("p_value", t["p_value"]))
            rows += [
                {
                    "variable": t["variable"],
                    "category": "",
                    "group": "",
                    "stat": stat,
                    "value": float(value),
                }
                for stat, value in values
            ]
        return pd.concat([self.stats, pd.DataFrame(rows)], ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Return the display frame: mean (SD), median, min - max, n (%).

        Returns
        -------
        pandas.DataFrame
            ``variable``, ``label`` and one column per group.
        """
        d, rule = self.digits, self.rounding

        def r(x: float) -> str:
            return "" if pd.isna(x) else f"{round_value(x, d, rule):.{d}f}"

        out: list[dict[str, str]] = []
        s = self.stats
        p_values: dict[str, float] = (
            {}
            if self.tests.empty
            else dict(zip(self.tests["variable"], self.tests["p_value"], strict=True))
        )
        for variable in dict.fromkeys(s["variable"]):
            part = s.loc[s["variable"] == variable]
            first = len(out)
            if (part["category"] == "").all():
                v = part.pivot_table(
                    index="group", columns="stat", values="value", aggfunc="first"
                )
                stats = continuous_cells(v, self.groups, digits=d, rounding=rule)
                for label, row in stats.items():
                    out.append({"variable": variable, "label": label, **row})
            else:
                for category in dict.fromkeys(part["category"]):
                    c = part.loc[part["category"] == category].pivot_table(
                        index="group", columns="stat", values="value", aggfunc="first"
                    )
                    cells = {
                        g: f"{int(c.loc[g, 'n'])} ({r(c.loc[g, 'pct'])}%)"
                        for g in self.groups
                    }
                    out.append({"variable": variable, "label": str(category), **cells})
            if p_values:
                p = p_values.get(variable)
                text = "" if p is None else format_p_value(p, rule=rule)
                for k, row in enumerate(out[first:]):
                    row["p-value"] = text if k == 0 else ""
        return pd.DataFrame(out)


def summarize_demographics(
    data: pd.DataFrame,
    by: str | None = None,
    *,
    continuous: Sequence[str] = ("age",),
    categorical: Sequence[str] = ("sex",),
    population_flag: str = "safety",
    total: str | None = "Total",
    digits: int = 1,
    rounding: RoundingRule = "half_up",
    title: str = "Demographics and baseline characteristics",
    continuous_test: TestChoice = None,
    categorical_test: TestChoice = None,
    strata: str | None = None,
) -> DemographicsTable:
    """Summarise baseline characteristics of a population by group.

    Parameters
    ----------
    data : pandas.DataFrame
        Subjects with the population flag, ``by`` and the variables.
    by : str, optional
        Group column (dose level, route, arm).
    continuous : sequence of str, default ("age",)
        Numeric columns.
    categorical : sequence of str, default ("sex",)
        Categorical columns; categories follow a categorical dtype's order, otherwise
        sorted.
    population_flag : str, default "safety"
        Boolean column selecting the population (e.g. ``"itt"``).
    total : str or None, default "Total"
        Label of the all-groups column.
    digits : int, default 1
        Decimal places of means, medians and percentages (SD gets one more).
    rounding : {"half_up", "half_even"}, default "half_up"
        Rounding rule.
    title : str
        Title.
    continuous_test : {"anova", "welch", "kruskal"}, mapping or None, default None
        Between-group test of the continuous variables: one name for all of them,
        or a mapping ``{variable: name}`` (variables not in it are not tested).
        ``anova``: one-way ANOVA F test (R ``aov``); ``welch``: Welch's ANOVA
        (``oneway.test``); ``kruskal``: Kruskal-Wallis (``kruskal.test``). None: no
        test (the convention for baseline tables).
    categorical_test : {"chisq", "chisq_correct", "fisher", "cmh", "cmh_correct"}, \
mapping or None, default None
        The same for the categorical variables: Pearson's chi-square without or with
        Yates' correction (2 x 2 only, ``chisq.test``), Fisher's exact test for r x c
        tables (``fisher.test``), Cochran-Mantel-Haenszel without or with continuity
        correction (2 x 2 x K only, ``mantelhaen.test``; needs ``strata``).
    strata : str, optional
        Stratum column of the CMH tests.

    Returns
    -------
    DemographicsTable
        Statistics per variable and group, and the tests requested.

    Raises
    ------
    ValueError
        When a test is requested without ``by``, for a variable not in the table,
        of the wrong kind for the variable, or a CMH test without ``strata``.
    """
    plan = _test_plan(
        continuous, categorical, continuous_test, categorical_test, by, strata
    )
    pop = data.loc[data[population_flag].astype(bool)].copy()
    if by is None:
        pop["_group"] = "All"
        groups = ["All"]
    else:
        values = pop[by]
        if isinstance(values.dtype, pd.CategoricalDtype):
            groups = [str(c) for c in values.cat.categories if (values == c).any()]
        else:
            groups = [str(v) for v in sorted(values.dropna().unique())]
        pop["_group"] = values.astype("string").fillna(_MISSING)
        if (pop["_group"] == _MISSING).any():
            groups.append(_MISSING)
    if total is not None:
        pop = pd.concat([pop, pop.assign(_group=total)], ignore_index=True)
        groups = [*groups, total]
    rows: list[dict[str, Any]] = []
    for variable in continuous:
        for group in groups:
            v = pd.to_numeric(
                pop.loc[pop["_group"] == group, variable], errors="coerce"
            )
            v = v.dropna()
            stats = {
                "n": float(len(v)),
                "mean": float(v.mean()) if len(v) else np.nan,
                "sd": float(v.std(ddof=1)) if len(v) > 1 else np.nan,
                "median": float(v.median()) if len(v) else np.nan,
                "q1": float(v.quantile(0.25)) if len(v) else np.nan,
                "q3": float(v.quantile(0.75)) if len(v) else np.nan,
                "min": float(v.min()) if len(v) else np.nan,
                "max": float(v.max()) if len(v) else np.nan,
            }
            for stat, value in stats.items():
                rows.append(
                    {
                        "variable": variable,
                        "category": "",
                        "group": group,
                        "stat": stat,
                        "value": value,
                    }
                )
    for variable in categorical:
        col = pop[variable]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = [str(c) for c in col.cat.categories]
        else:
            cats = [str(c) for c in sorted(col.dropna().unique())]
        text = col.astype("string").fillna(_MISSING)
        if (text == _MISSING).any():
            cats.append(_MISSING)
        for group in groups:
            in_group = pop["_group"] == group
            n_group = int(in_group.sum())
            counts = text[in_group].value_counts()
            for category in cats:
                n = int(counts.get(category, 0))
                rows.append(
                    {
                        "variable": variable,
                        "category": category,
                        "group": group,
                        "stat": "n",
                        "value": float(n),
                    }
                )
                rows.append(
                    {
                        "variable": variable,
                        "category": category,
                        "group": group,
                        "stat": "pct",
                        "value": 100.0 * n / n_group if n_group else np.nan,
                    }
                )
    tests = _run_tests(pop, plan, by, strata, total)
    params: dict[str, Any] = {
        "population_rules": population_rules(data),
        "by": by,
        "continuous": list(continuous),
        "categorical": list(categorical),
        "population_flag": population_flag,
        "total": total,
        "digits": digits,
        "rounding": rounding,
        "tests": dict(plan),
        "strata": strata,
    }
    footnotes: tuple[str, ...] = (
        f"Population: subjects with {population_flag} = true; "
        f"columns: {by or 'all subjects'}.",
        "SD with n - 1 denominator; percentages of the subjects in each column. Means, "
        f"medians and percentages rounded {rounding.replace('_', '-')} to {digits} "
        f"decimal(s), SD to {digits + 1}.",
        *_test_notes(tests, by, strata, total),
    )
    return DemographicsTable(
        provenance=make_provenance(
            "summarize_demographics", inputs={"subjects": data}, **params
        ),
        title=title,
        footnotes=footnotes,
        stats=pd.DataFrame(rows),
        groups=tuple(groups),
        digits=digits,
        rounding=rounding,
        tests=tests,
    )


def _test_plan(
    continuous: Sequence[str],
    categorical: Sequence[str],
    continuous_test: TestChoice,
    categorical_test: TestChoice,
    by: str | None,
    strata: str | None,
) -> dict[str, GroupTestName]:
    """Return the test of each tested variable, in table order, checked."""
    plan: dict[str, GroupTestName] = {}
    for variables, choice, allowed, kind in (
        (continuous, continuous_test, CONTINUOUS_TESTS, "continuous"),
        (categorical, categorical_test, CATEGORICAL_TESTS, "categorical"),
    ):
        if choice is None:
            continue
        chosen = (
            dict(choice)
            if isinstance(choice, Mapping)
            else dict.fromkeys(variables, choice)
        )
        unknown = [v for v in chosen if v not in variables]
        if unknown:
            raise ValueError(
                f"tests requested for {unknown}, which are not {kind} variables of "
                "the table"
            )
        for variable, test in chosen.items():
            if test not in allowed:
                raise ValueError(
                    f"{test!r} is not a test of a {kind} variable ({variable}); use "
                    + ", ".join(allowed)
                )
            if test.startswith("cmh") and strata is None:
                raise ValueError(f"the CMH test of {variable} needs strata=")
        plan.update(chosen)
    if plan and by is None:
        raise ValueError("between-group tests need a group column (by)")
    return {v: plan[v] for v in [*continuous, *categorical] if v in plan}


def _run_tests(
    pop: pd.DataFrame,
    plan: Mapping[str, GroupTestName],
    by: str | None,
    strata: str | None,
    total: str | None,
) -> pd.DataFrame:
    """Return one row per tested variable (the groups of ``by``, no Total)."""
    columns = ["variable", "test", "method", "statistic", "df", "p_value", "n", "notes"]
    if not plan or by is None:
        return pd.DataFrame(columns=columns)
    subjects = pop.loc[pop["_group"] != _MISSING]
    if total is not None:
        subjects = subjects.loc[subjects["_group"] != total]
    rows = []
    for variable, test in plan.items():
        result = compare_groups(subjects, variable, "_group", test=test, strata=strata)
        rows.append(
            {
                "variable": variable,
                "test": test,
                "method": result.method,
                "statistic": result.statistic,
                "df": result.df,
                "p_value": result.p_value,
                "n": result.n,
                "notes": result.notes,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _test_notes(
    tests: pd.DataFrame, by: str | None, strata: str | None, total: str | None
) -> tuple[str, ...]:
    """Return the footnotes naming each variable's test and its warnings."""
    if tests.empty:
        return ()
    named = "; ".join(
        f"{t['variable']}: {TEST_LABELS[t['test']]}"
        + (f" stratified by {strata}" if t["test"].startswith("cmh") else "")
        for t in tests.to_dict(orient="records")
    )
    excluded = f", not {total}" if total is not None else ""
    notes = [
        f"P-values compare the columns of {by}{excluded}, on the subjects with a "
        f"value (missing values and groups left out). {named}."
    ]
    for t in tests.to_dict(orient="records"):
        notes += [f"{t['variable']}: {note}." for note in t["notes"]]
    return tuple(notes)
