"""Exposure: doses received, dose per kg, lots, by dose level and route.

Per group: subjects treated, administrations given and not given, doses per subject,
total dose per subject, dose per kg (directly when the dose unit is per kg, otherwise
from the subject's weight), and the product lots used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analyses._results import make_provenance
from analyses.safety._base import SafetyResult
from analyses.safety._shared import continuous_cells, population_groups
from analyses.safety.population import population_rules
from analyses.safety.stats import RoundingRule

__all__ = ["ExposureSummary", "summarize_exposure"]


@dataclass(frozen=True, kw_only=True)
class ExposureSummary(SafetyResult):
    """Exposure statistics per group.

    Attributes
    ----------
    stats : pandas.DataFrame
        ``group``, ``variable``, ``stat``, ``value``.
    lots : pandas.DataFrame
        ``group``, ``lot_id``, ``administrations``, ``subjects``.
    labels : dict of str to str
        Display label of each variable, with the dose unit when the data have one.
    digits : int
        Decimal places of displayed means and medians (SD one more).
    rounding : {"half_up", "half_even"}
        Rounding rule of the display.
    """

    stats: pd.DataFrame
    lots: pd.DataFrame
    labels: dict[str, str] = field(default_factory=dict)
    digits: int = 1
    rounding: RoundingRule = "half_up"

    def to_frame(self) -> pd.DataFrame:
        """Return the long unrounded frame: group, variable, ``stat``, ``value``.

        Returns
        -------
        pandas.DataFrame
            The statistics.
        """
        return self.stats.copy()

    def summary(self) -> pd.DataFrame:
        """Return the display frame: counts, then n, mean (SD), median, min - max.

        Returns
        -------
        pandas.DataFrame
            ``variable`` (labelled with its unit), ``label`` (the statistic) and one
            column per group.
        """
        groups = list(dict.fromkeys(self.stats["group"]))
        out: list[dict[str, str]] = []
        for variable in dict.fromkeys(self.stats["variable"]):
            part = self.stats.loc[self.stats["variable"] == variable]
            v = part.pivot_table(
                index="group", columns="stat", values="value", aggfunc="first"
            )
            label = self.labels.get(variable, variable)
            if set(part["stat"]) == {"n"}:
                counts = v["n"].reindex(groups)
                cells = {
                    g: "" if pd.isna(n) else f"{int(n)}" for g, n in counts.items()
                }
                out.append({"variable": label, "label": "n", **cells})
                continue
            rows = continuous_cells(
                v, groups, digits=self.digits, rounding=self.rounding
            )
            for stat, cells in rows.items():
                out.append({"variable": label, "label": stat, **cells})
        return pd.DataFrame(out)


def _dose_labels(units: list[str]) -> dict[str, str]:
    """Return the dose variables' labels with their unit, when all doses share one."""
    if len(units) != 1:
        return {}
    unit = units[0].strip()
    base = unit[: -len("/kg")].strip() if unit.lower().endswith("/kg") else unit
    return {
        "dose per administration (per kg)": f"dose per administration ({base}/kg)",
        "cumulative dose per subject (per kg)": (
            f"cumulative dose per subject ({base}/kg)"
        ),
        "cumulative dose per subject": f"cumulative dose per subject ({base})",
    }


def _describe(values: pd.Series) -> dict[str, float]:
    v = values.dropna().astype(float)
    if v.empty:
        return {"n": 0.0}
    return {
        "n": float(len(v)),
        "mean": float(v.mean()),
        "sd": float(v.std(ddof=1)) if len(v) > 1 else np.nan,
        "median": float(v.median()),
        "min": float(v.min()),
        "max": float(v.max()),
    }


def summarize_exposure(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    by: str | None = "actual_dose_level",
    *,
    weight_column: str = "weight_kg",
    population_flag: str = "safety",
    total: str | None = "Total",
    digits: int = 1,
    rounding: RoundingRule = "half_up",
    title: str = "Exposure to the cell product",
) -> ExposureSummary:
    """Summarise administrations per subject and group.

    Parameters
    ----------
    data : pandas.DataFrame
        Administrations: ``subject_id``, ``given``, ``dose_amount``, ``dose_unit``,
        ``lot_id``, ``route``.
    subjects : pandas.DataFrame
        Subjects with the population flag, ``by`` and (for per-kg doses of absolute
        units) ``weight_column``.
    by : str or None, default "actual_dose_level"
        Column of ``subjects`` splitting the table (e.g. ``actual_route``).
    weight_column : str, default "weight_kg"
        Body weight used to express absolute doses per kg.
    population_flag : str, default "safety"
        Column of ``subjects`` defining the population.
    total : str or None, default "Total"
        Label of the all-groups column.
    digits : int, default 1
        Decimal places of displayed means and medians (SD one more).
    rounding : {"half_up", "half_even"}, default "half_up"
        Rounding rule of the display.
    title : str
        Title.

    Returns
    -------
    ExposureSummary
        Statistics per group and the lots used.
    """
    pop, groups = population_groups(subjects, by, population_flag)
    adm = data.merge(pop, on="subject_id", how="inner")
    given = adm["given"].astype("boolean").fillna(False).astype(bool)
    adm = adm.assign(_given=given)
    unit = adm["dose_unit"].astype("string").str.lower().fillna("")
    per_kg_unit = unit.str.contains("/kg")
    amount = pd.to_numeric(adm["dose_amount"], errors="coerce")
    weights = (
        adm["subject_id"].map(subjects.set_index("subject_id")[weight_column])
        if weight_column in subjects
        else pd.Series(np.nan, index=adm.index)
    )
    adm["dose_per_kg"] = np.where(
        per_kg_unit, amount, amount / pd.to_numeric(weights, errors="coerce")
    )
    adm["dose_abs"] = np.where(
        per_kg_unit, amount * pd.to_numeric(weights, errors="coerce"), amount
    )
    if total is not None:
        pop = pd.concat([pop, pop.assign(group=total)], ignore_index=True)
        adm = pd.concat([adm, adm.assign(group=total)], ignore_index=True)
        groups = [*groups, total]
    rows: list[dict[str, Any]] = []
    for group in groups:
        subj = pop.loc[pop["group"] == group, "subject_id"]
        part = adm.loc[adm["group"] == group]
        g = part.loc[part["_given"]]
        by_subject = g.groupby("subject_id")
        # a subject's cumulative dose is missing (not 0) when a dose cannot be
        # expressed in the unit (e.g. no body weight for a per-kg total)
        gaps = g[["dose_abs", "dose_per_kg"]].isna().groupby(g["subject_id"]).any()
        totals = by_subject[["dose_abs", "dose_per_kg"]].sum().mask(gaps)
        per_subject = pd.DataFrame(
            {
                "doses": by_subject.size().reindex(subj, fill_value=0),
                "total_dose": totals["dose_abs"].reindex(subj),
                "total_per_kg": totals["dose_per_kg"].reindex(subj),
            }
        )
        rows.append(
            {
                "group": group,
                "variable": "subjects",
                "stat": "n",
                "value": float(len(subj)),
            }
        )
        rows.append(
            {
                "group": group,
                "variable": "administrations given",
                "stat": "n",
                "value": float(len(g)),
            }
        )
        rows.append(
            {
                "group": group,
                "variable": "administrations not given",
                "stat": "n",
                "value": float((~part["_given"]).sum()),
            }
        )
        rows.append(
            {
                "group": group,
                "variable": "product lots used",
                "stat": "n",
                "value": float(g["lot_id"].nunique()) if "lot_id" in g else np.nan,
            }
        )
        for variable, values in (
            ("doses per subject", per_subject["doses"]),
            ("dose per administration (per kg)", g["dose_per_kg"]),
            ("cumulative dose per subject (per kg)", per_subject["total_per_kg"]),
            ("cumulative dose per subject", per_subject["total_dose"]),
        ):
            for stat, value in _describe(values).items():
                rows.append(
                    {"group": group, "variable": variable, "stat": stat, "value": value}
                )
    stats = pd.DataFrame(rows)
    lots = (
        adm.loc[adm["_given"]]
        .groupby(["group", "lot_id"], sort=True)
        .agg(administrations=("_given", "size"), subjects=("subject_id", "nunique"))
        .reset_index()
        if "lot_id" in adm
        else pd.DataFrame(columns=["group", "lot_id", "administrations", "subjects"])
    )
    units = sorted(set(data["dose_unit"].dropna().astype(str)))
    params: dict[str, Any] = {
        "population_rules": population_rules(subjects),
        "by": by,
        "weight_column": weight_column,
        "population_flag": population_flag,
        "total": total,
        "digits": digits,
        "rounding": rounding,
    }
    footnotes = (
        f"Population: subjects with {population_flag} = true; "
        f"columns: {by or 'all subjects'}.",
        "Dose units in the data: "
        + (", ".join(units) or "none")
        + ". Doses in a per-kg "
        f"unit are used as recorded; absolute doses are divided by {weight_column} "
        "(and per-kg doses multiplied by it for the cumulative absolute dose).",
        f"Means and medians rounded {rounding.replace('_', '-')} to {digits} "
        f"decimal(s), SD to {digits + 1}; minimum and maximum as recorded.",
    )
    return ExposureSummary(
        provenance=make_provenance(
            "summarize_exposure",
            inputs={"administrations": data, "subjects": subjects},
            **params,
        ),
        title=title,
        footnotes=footnotes,
        stats=stats,
        lots=lots,
        labels=_dose_labels(units),
        digits=digits,
        rounding=rounding,
    )
