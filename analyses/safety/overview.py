"""TEAE overview (FDA STF-IG Table 7 adapted to dose escalation).

One row per category: any TEAE, related, grade >= 3, serious (and each seriousness
criterion present in the data), leading to discontinuation, fatal, DLT, and each AE of
special interest. Subjects n (%) and events per group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import pandas as pd

from analyses._results import make_provenance
from analyses.safety._counting import compare_groups, count_events
from analyses.safety._shared import population_rules_notes, rounding_note
from analyses.safety.population import population_rules, select_population
from analyses.safety.soc_pt import EventCountTable
from analyses.safety.stats import RiskDifferenceMethod, RoundingRule
from analyses.safety.teae import describe_teae_rule
from schemas.terms import ActionTaken, Aesi, Outcome, Relatedness

__all__ = ["DEFAULT_RELATED", "summarize_teae_overview"]

#: Relatedness terms counted as "related" by default.
DEFAULT_RELATED: tuple[str, ...] = (
    Relatedness.POSSIBLE.value,
    Relatedness.PROBABLE.value,
    Relatedness.DEFINITE.value,
)

_ALL_AESI: tuple[str, ...] = tuple(str(term.value) for term in Aesi)

_SERIOUS_CRITERIA = {
    "ser_death": "Serious: results in death",
    "ser_life_threatening": "Serious: life-threatening",
    "ser_hospitalisation": "Serious: hospitalisation",
    "ser_disability": "Serious: disability",
    "ser_congenital_anomaly": "Serious: congenital anomaly",
    "ser_medically_important": "Serious: other medically important",
}


def _bool(data: pd.DataFrame, column: str) -> pd.Series:
    if column not in data.columns:
        return pd.Series(False, index=data.index)
    return data[column].astype("boolean").fillna(False).astype(bool)


def summarize_teae_overview(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    by: str | None = None,
    *,
    related_terms: Sequence[str] = DEFAULT_RELATED,
    min_grade: int = 3,
    discontinuation: Literal["action_taken"] | str = "action_taken",
    aesi_categories: Sequence[str] = _ALL_AESI,
    population_flag: str = "safety",
    total: str | None = "Total",
    compare_to: str | None = None,
    risk_difference: RiskDifferenceMethod | None = None,
    confidence: float = 0.95,
    digits: int = 1,
    rounding: RoundingRule = "half_up",
    title: str = "Overview of treatment-emergent adverse events",
) -> EventCountTable:
    """Summarise TEAEs by category: subjects n (%) and events per group.

    Parameters
    ----------
    data : pandas.DataFrame
        Adverse events with ``teae`` (see ``derive_teae``), ``relatedness``, ``grade``,
        ``serious``, ``outcome``, ``action_taken``, ``dlt``, ``aesi`` and any ``ser_*``
        criterion flags.
    subjects : pandas.DataFrame
        Subjects with the population flag and the ``by`` column.
    by : str, optional
        Column of ``subjects`` splitting the table.
    related_terms : sequence of str
        Relatedness values counted as related (default possibly, probably, definitely).
    min_grade : int, default 3
        Threshold of the severe-grade row.
    discontinuation : str, default "action_taken"
        ``"action_taken"`` counts TEAEs with action taken ``DRUG WITHDRAWN``; the name
        of a boolean column of ``subjects`` (e.g. ADSL ``DSRAEFL`` read as
        ``discontinued_for_ae``) counts subjects with that flag and a TEAE instead
        (disposition-based, for data whose action taken is blank).
    aesi_categories : sequence of str
        AESI categories to show, each as its own row (zeros included).
    population_flag : str, default "safety"
        Column of ``subjects`` defining the denominator.
    total : str or None, default "Total"
        Label of the all-groups column.
    compare_to : str, optional
        Reference group for Fisher's exact test.
    risk_difference : {"newcombe", "wald", "wald_cc"}, optional
        With ``compare_to``, also the risk difference and its interval (FDA STF-IG
        Table 7).
    confidence : float, default 0.95
        Level of the risk-difference interval.
    digits : int, default 1
        Decimal places of displayed percentages.
    rounding : {"half_up", "half_even"}, default "half_up"
        Rounding rule.
    title : str
        Table title.

    Returns
    -------
    EventCountTable
        One row per category (level ``category``).
    """
    teae = data.loc[_bool(data, "teae")]
    grade = pd.to_numeric(teae["grade"], errors="coerce")
    categories: list[tuple[str, pd.Series]] = [
        ("Any TEAE", pd.Series(True, index=teae.index)),
        ("Related TEAE", teae["relatedness"].isin(list(related_terms))),
        (f"Grade >= {min_grade} TEAE", (grade >= min_grade).fillna(False).astype(bool)),
        ("Serious TEAE", _bool(teae, "serious")),
    ]
    categories += [
        (label, _bool(teae, col))
        for col, label in _SERIOUS_CRITERIA.items()
        if col in teae
    ]
    if discontinuation == "action_taken":
        disc = teae["action_taken"].eq(ActionTaken.DRUG_WITHDRAWN.value).fillna(False)
        disc_note = "action taken = DRUG WITHDRAWN"
    else:
        flagged = subjects.loc[subjects[discontinuation].astype(bool), "subject_id"]
        disc = teae["subject_id"].isin(flagged)
        disc_note = f"subjects with {discontinuation} = true (disposition)"
    categories += [
        ("TEAE leading to discontinuation", disc.astype(bool)),
        (
            "Fatal TEAE",
            teae["outcome"].eq(Outcome.FATAL.value).fillna(False).astype(bool)
            | (grade == 5).fillna(False).astype(bool),
        ),
        ("Dose-limiting toxicity", _bool(teae, "dlt")),
    ]
    aesi = teae["aesi"].astype("string") if "aesi" in teae else None
    for category in aesi_categories:
        mask = (
            aesi.eq(category).fillna(False).astype(bool)
            if aesi is not None
            else pd.Series(False, index=teae.index)
        )
        categories.append((f"AESI: {category}", mask))
    population = select_population(subjects, by, population_flag=population_flag)
    parts = []
    for i, (label, mask) in enumerate(categories):
        counted = count_events(teae.loc[mask.to_numpy()], population, [], total=total)
        parts.append(counted.assign(category=label, row=i, depth=1))
    counts = pd.concat(parts, ignore_index=True)
    counts["group"] = pd.Categorical(
        counts["group"].astype(str),
        categories=list(parts[0]["group"].cat.categories),
        ordered=True,
    )
    counts = counts[["row", "depth", "category", "group", "N", "n", "events", "pct"]]
    p_values = compare_groups(
        counts,
        ["category"],
        compare_to,
        risk_difference=risk_difference,
        confidence=confidence,
    )
    rule, rule_text = describe_teae_rule(data)
    params: dict[str, Any] = {
        "population_rules": population_rules(subjects),
        "by": by,
        "teae_rule": rule,
        "related_terms": list(related_terms),
        "min_grade": min_grade,
        "discontinuation": discontinuation,
        "aesi_categories": list(aesi_categories),
        "population_flag": population_flag,
        "total": total,
        "compare_to": compare_to,
        "risk_difference": risk_difference if compare_to is not None else None,
        "confidence": confidence,
        "digits": digits,
        "rounding": rounding,
    }
    footnotes = [
        f"Population: subjects with {population_flag} = true; N per column is the "
        "denominator. Columns: " + (by or "all subjects") + ".",
        rule_text + " n = subjects with at least one event; [ ] = events.",
        "Related: relatedness in "
        + ", ".join(related_terms)
        + ". Discontinuation: "
        + disc_note
        + ". Fatal: outcome FATAL or grade 5.",
        rounding_note(rounding, digits),
        *population_rules_notes(subjects),
    ]
    return EventCountTable(
        provenance=make_provenance(
            "summarize_teae_overview",
            inputs={"adverse_events": data, "subjects": subjects},
            **params,
        ),
        title=title,
        footnotes=tuple(footnotes),
        counts=counts,
        p_values=p_values,
        levels=("category",),
        digits=digits,
        rounding=rounding,
    )
