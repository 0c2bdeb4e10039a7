"""Demographics and baseline characteristics by group (FDA STF-IG Table 2).

Continuous variables: n, mean, SD (n - 1), median, Q1, Q3, min, max. Categorical
variables: n and percentage of the group's population (missing values are their own
category, shown only when present).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analyses._results import make_provenance
from analyses.safety._base import SafetyResult
from analyses.safety._shared import continuous_cells
from analyses.safety.population import population_rules
from analyses.safety.stats import RoundingRule, round_value

__all__ = ["DemographicsTable", "summarize_demographics"]

_MISSING = "Missing"


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
    """

    stats: pd.DataFrame
    groups: tuple[str, ...]
    digits: int = 1
    rounding: RoundingRule = "half_up"

    def to_frame(self) -> pd.DataFrame:
        """Return the long unrounded frame.

        Returns
        -------
        pandas.DataFrame
            ``variable``, ``category``, ``group``, ``stat``, ``value``.
        """
        return self.stats.copy()

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
        for variable in dict.fromkeys(s["variable"]):
            part = s.loc[s["variable"] == variable]
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

    Returns
    -------
    DemographicsTable
        Statistics per variable and group.
    """
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
    params: dict[str, Any] = {
        "population_rules": population_rules(data),
        "by": by,
        "continuous": list(continuous),
        "categorical": list(categorical),
        "population_flag": population_flag,
        "total": total,
        "digits": digits,
        "rounding": rounding,
    }
    footnotes = (
        f"Population: subjects with {population_flag} = true; "
        f"columns: {by or 'all subjects'}.",
        "SD with n - 1 denominator; percentages of the subjects in each column. Means, "
        f"medians and percentages rounded {rounding.replace('_', '-')} to {digits} "
        f"decimal(s), SD to {digits + 1}.",
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
    )
