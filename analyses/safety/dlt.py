"""Dose-limiting toxicities by dose level, with exact intervals and a listing.

Per dose level: subjects treated (safety population), subjects DLT-evaluable, subjects
with at least one DLT, the DLT rate among the evaluable and its Clopper-Pearson
interval. The DLT window and DLT-evaluability are derived once, in the analysis
datasets (:mod:`analyses.datasets`: ADAE ``dlt_in_window``, ADSL ``dlt_evaluable``);
this table counts the flags it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analyses._results import make_provenance
from analyses.safety._base import SafetyResult
from analyses.safety._shared import (
    melt_stats,
    population_groups,
    population_rules_notes,
    rounding_note,
    subject_day,
    with_population,
)
from analyses.safety.population import population_rules
from analyses.safety.stats import RoundingRule, clopper_pearson, round_value

__all__ = ["DltTable", "tabulate_dlt"]

#: Footnote of the DLT definition, by DLT flag column.
_DLT_FLAG_NOTES = {
    "dlt": "DLT: adverse events flagged as dose-limiting by the safety review.",
    "dlt_in_window": (
        "DLT: adverse events flagged as dose-limiting by the safety review with onset "
        "in the DLT window (dlt_in_window = true)."
    ),
}


@dataclass(frozen=True, kw_only=True)
class DltTable(SafetyResult):
    """DLTs by dose level and the listing of DLT events.

    Attributes
    ----------
    counts : pandas.DataFrame
        One row per group: ``group``, ``treated``, ``evaluable``, ``with_dlt``,
        ``dlt_events``, ``rate``, ``ci_lower``, ``ci_upper``.
    listing : pandas.DataFrame
        One row per DLT event: ``group``, ``subject_id``, ``preferred_term``,
        ``grade``, ``onset_day`` (day 1 = first dose), ``outcome``, ``evaluable``.
    confidence : float
        Level of the intervals.
    digits : int
        Decimal places of displayed rates.
    rounding : {"half_up", "half_even"}
        Rounding rule of displayed rates.
    """

    counts: pd.DataFrame
    listing: pd.DataFrame
    confidence: float = 0.95
    digits: int = 1
    rounding: RoundingRule = "half_up"

    def to_frame(self) -> pd.DataFrame:
        """Return the long unrounded frame: ``group``, ``stat``, ``value``.

        Returns
        -------
        pandas.DataFrame
            Stats ``treated``, ``evaluable``, ``with_dlt``, ``dlt_events``, ``rate``,
            ``ci_lower``, ``ci_upper`` per group (rates as proportions).
        """
        return melt_stats(self.counts, ["group"])

    def summary(self) -> pd.DataFrame:
        """Return the display frame, one row per dose level.

        Returns
        -------
        pandas.DataFrame
            Treated, evaluable, ``n/N (x%)`` with DLT and the exact CI in percent.
        """
        c = self.counts

        def pct(x: float) -> str:
            if np.isnan(x):
                return ""
            return f"{round_value(100 * x, self.digits, self.rounding):.{self.digits}f}"

        level = round(100 * self.confidence)
        return pd.DataFrame(
            {
                "Dose level": c["group"].astype(str),
                "Treated": c["treated"].astype(int),
                "DLT-evaluable": c["evaluable"].astype(int),
                "Subjects with DLT": [
                    f"{k}/{n} ({pct(r)}%)" if n > 0 else f"{k}/0"
                    for k, n, r in zip(
                        c["with_dlt"], c["evaluable"], c["rate"], strict=True
                    )
                ],
                f"{level}% CI (exact)": [
                    f"{pct(lo)}-{pct(hi)}%" if not np.isnan(lo) else ""
                    for lo, hi in zip(c["ci_lower"], c["ci_upper"], strict=True)
                ],
                "DLT events": c["dlt_events"].astype(int),
            }
        )


def tabulate_dlt(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    by: str = "actual_dose_level",
    *,
    evaluable_flag: str | None = None,
    dlt_flag: str = "dlt",
    population_flag: str = "safety",
    confidence: float = 0.95,
    digits: int = 1,
    rounding: RoundingRule = "half_up",
    title: str = "Dose-limiting toxicities by dose level",
) -> DltTable:
    """Tabulate subjects with DLT by dose level with exact (Clopper-Pearson) intervals.

    Parameters
    ----------
    data : pandas.DataFrame
        Adverse events with ``subject_id``, ``dlt``, ``preferred_term``, ``grade``,
        ``onset_date`` and ``outcome``.
    subjects : pandas.DataFrame
        Subjects with the population flag, ``first_dose_date`` and the ``by`` column.
    by : str, default "actual_dose_level"
        Dose-level column (actual by default: a DLT belongs to the dose received).
    evaluable_flag : str, optional
        Boolean column of ``subjects`` marking DLT-evaluable subjects (ADSL's
        ``dlt_evaluable``: a DLT in the window or followed to its last day). By
        default every treated subject is evaluable.
    dlt_flag : str, default "dlt"
        Boolean column of ``data`` marking the DLT events to count: ``"dlt"`` is the
        investigator's flag alone; ADAE's ``dlt_in_window`` (the flag with onset in
        the DLT window, :func:`analyses.datasets.derive_adae`) is the one the DLT
        window applies to.
    population_flag : str, default "safety"
        Column of ``subjects`` defining the treated subjects.
    confidence : float, default 0.95
        Level of the exact intervals.
    digits : int, default 1
        Decimal places of displayed percentages.
    rounding : {"half_up", "half_even"}, default "half_up"
        Rounding rule.
    title : str
        Table title.

    Returns
    -------
    DltTable
        Counts per dose level and the DLT listing.
    """
    pop, groups = population_groups(subjects, by, population_flag)
    subj = subjects.set_index("subject_id")
    if evaluable_flag is None:
        pop["evaluable"] = True
    else:
        pop["evaluable"] = (
            pop["subject_id"].map(subj[evaluable_flag]).astype("boolean").fillna(False)
        ).astype(bool)
    flagged = data[dlt_flag].astype("boolean").fillna(False).astype(bool)
    dlt = data.loc[flagged].copy()
    first = subject_day(dlt["subject_id"], subjects, "first_dose_date")
    dlt["onset_day"] = (
        pd.to_datetime(dlt["onset_date"]).dt.normalize() - first
    ).dt.days + 1
    # the subject's group comes from ``subjects`` (ADAE rows may carry their own)
    dlt = with_population(dlt, pop)
    counted = dlt.loc[dlt["evaluable"]]
    treated = pop.groupby("group").size().reindex(groups, fill_value=0)
    evaluable = (
        pop.loc[pop["evaluable"]].groupby("group").size().reindex(groups, fill_value=0)
    )
    with_dlt = (
        counted.groupby("group")["subject_id"].nunique().reindex(groups, fill_value=0)
    )
    events = counted.groupby("group").size().reindex(groups, fill_value=0)
    n_eval = evaluable.to_numpy(dtype=float)
    k = with_dlt.to_numpy(dtype=float)
    rate = np.where(n_eval > 0, k / np.where(n_eval > 0, n_eval, 1), np.nan)
    lower = np.full(len(groups), np.nan)
    upper = np.full(len(groups), np.nan)
    ok = n_eval > 0
    if ok.any():
        lower[ok], upper[ok] = clopper_pearson(k[ok], n_eval[ok], confidence=confidence)
    counts = pd.DataFrame(
        {
            "group": groups,
            "treated": treated.to_numpy(),
            "evaluable": evaluable.to_numpy(),
            "with_dlt": with_dlt.to_numpy(),
            "dlt_events": events.to_numpy(),
            "rate": rate,
            "ci_lower": lower,
            "ci_upper": upper,
        }
    )
    cols = [
        "group",
        "subject_id",
        "preferred_term",
        "grade",
        "onset_day",
        "outcome",
        "evaluable",
    ]
    listing = dlt[[c for c in cols if c in dlt.columns]].sort_values(
        ["group", "subject_id", "onset_day"], kind="mergesort"
    )
    params: dict[str, Any] = {
        "population_rules": population_rules(subjects),
        "by": by,
        "evaluable_flag": evaluable_flag,
        "dlt_flag": dlt_flag,
        "population_flag": population_flag,
        "confidence": confidence,
        "digits": digits,
        "rounding": rounding,
    }
    footnotes = (
        f"Treated: subjects with {population_flag} = true, by {by}. DLT-evaluable: "
        + (
            f"subjects with {evaluable_flag} = true."
            if evaluable_flag
            else "all treated."
        )
        + " Rate = subjects with a DLT / DLT-evaluable subjects.",
        _DLT_FLAG_NOTES.get(dlt_flag, f"DLT: adverse events with {dlt_flag} = true.")
        + f" {round(100 * confidence)}% CI: exact (Clopper-Pearson).",
        rounding_note(rounding, digits),
        *population_rules_notes(subjects),
    )
    return DltTable(
        provenance=make_provenance(
            "tabulate_dlt",
            inputs={"adverse_events": data, "subjects": subjects},
            **params,
        ),
        title=title,
        footnotes=footnotes,
        counts=counts,
        listing=listing.reset_index(drop=True),
        confidence=confidence,
        digits=digits,
        rounding=rounding,
    )
