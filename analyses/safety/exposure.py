"""Exposure: doses received, dose per kg, lots, by dose level and route.

Per group: subjects treated, administrations given and not given, doses per subject,
total dose per subject, dose per kg (directly when the dose unit is per kg, otherwise
from the subject's weight), and the product lots used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analyses._results import make_provenance
from analyses.safety._base import SafetyResult
from analyses.safety._shared import population_groups
from analyses.safety.population import population_rules

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
    """

    stats: pd.DataFrame
    lots: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Return the long unrounded frame: group, variable, ``stat``, ``value``.

        Returns
        -------
        pandas.DataFrame
            The statistics.
        """
        return self.stats.copy()

    def summary(self) -> pd.DataFrame:
        """Return the display frame: rows per variable and statistic, columns per group.

        Returns
        -------
        pandas.DataFrame
            Values shown with 4 significant digits.
        """
        wide = self.stats.pivot_table(
            index=["variable", "stat"],
            columns="group",
            values="value",
            aggfunc="first",
            sort=False,
        )
        groups = list(dict.fromkeys(self.stats["group"]))
        wide = wide[groups].map(lambda v: "" if pd.isna(v) else f"{v:.4g}")
        return wide.reset_index()


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
    }
    footnotes = (
        f"Population: subjects with {population_flag} = true; "
        f"columns: {by or 'all subjects'}.",
        "Dose units in the data: "
        + (", ".join(units) or "none")
        + ". Doses in a per-kg "
        f"unit are used as recorded; absolute doses are divided by {weight_column} "
        "(and per-kg doses multiplied by it for the cumulative absolute dose).",
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
    )
