"""Exposure-adjusted incidence: events per 100 patient-years, by group.

Time at risk runs over each treated subject's **exposure window**: from the first dose
to the end of follow-up (ADSL ``followup_end``: the cut-off, withdrawal or death),
which is the window in which :class:`~analyses.datasets.AnalysisData` flags an event
as treatment emergent (its TEAE rule has no window after the last dose); with
``window_days=N`` the window ends N days after the last dose when that comes first
(the TEAE rule ``derive_teae(window_days=N)``). Days are counted inclusively (``end -
first dose + 1``, as ADaM's ``TRTDURD``) and divided by ``days_per_year`` (365.25).

Two rates, both reported (Kraemer 2009; Zhou et al. 2015):

* **EAIR** (exposure-adjusted incidence rate, "first occurrence"): subjects with at
  least one event in the window divided by their time at risk, which ends on the day
  of each subject's first event (the whole window for subjects without one);
* **EAER** (exposure-adjusted event rate, "all events"): events in the window divided
  by the whole windows.

Intervals are exact Poisson (R ``poisson.test(x, T)``); each group is compared with a
reference group by the exact conditional rate ratio (``poisson.test(c(x1, x2), c(T1,
T2))``) and the rate difference with a Wald interval. Events outside the window are
not counted (their number is stated); an event without an onset date is placed on the
first-dose day (``missing_onset="first_dose"``, as admiral imputes a missing onset
with the first dose as the earliest date) or left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from analyses._results import make_provenance
from analyses.safety._base import SafetyResult
from analyses.safety._shared import population_groups
from analyses.safety.poisson_rates import (
    poisson_rate_ci,
    poisson_rate_ratio,
    rate_difference_wald,
)
from analyses.safety.population import population_rules
from analyses.safety.stats import RoundingRule, format_p_value, round_value
from analyses.safety.teae import TEAE_RULE_ATTR

__all__ = [
    "ExposureAdjustedIncidence",
    "MissingOnsetTime",
    "derive_exposure_time",
    "estimate_exposure_adjusted_incidence",
]

#: Where an event without an onset date is placed in time.
MissingOnsetTime = Literal["first_dose", "exclude"]
#: The label of the rows of all events together (``term=None``).
ANY_EVENT = "Any event"
_MEASURES = ("EAIR", "EAER")


def _days(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce").dt.normalize()


def window_rule(window_days: int | None) -> str:
    """Return the exposure window rule in words.

    Parameters
    ----------
    window_days : int or None
        Days after the last dose, or None for the end of follow-up.

    Returns
    -------
    str
        E.g. "first dose to the end of follow-up (cut-off, withdrawal or death)".
    """
    base = "first dose to the end of follow-up (cut-off, withdrawal or death)"
    if window_days is None:
        return base
    return f"{base} or to {window_days} days after the last dose, whichever is first"


def derive_exposure_time(
    subjects: pd.DataFrame,
    *,
    window_days: int | None = None,
    days_per_year: float = 365.25,
) -> pd.DataFrame:
    """Return each treated subject's treatment duration and exposure window.

    Parameters
    ----------
    subjects : pandas.DataFrame
        ADSL rows: ``subject_id``, ``first_dose_date``, ``last_dose_date`` (from the
        given administrations, ADEX) and ``followup_end``.
    window_days : int or None, default None
        The window ends at ``followup_end`` (None), or ``window_days`` after the last
        dose when that is earlier.
    days_per_year : float, default 365.25
        Days per patient-year.

    Returns
    -------
    pandas.DataFrame
        One row per subject with a first dose: ``subject_id``, ``first_dose_date``,
        ``last_dose_date``, ``treatment_days`` (last - first dose + 1),
        ``window_end``, ``exposure_days`` (window end - first dose + 1) and
        ``patient_years``.

    Raises
    ------
    ValueError
        When a treated subject has no ``followup_end`` or a window ending before the
        first dose.
    """
    first = _days(subjects["first_dose_date"])
    treated = subjects.loc[first.notna()]
    first = first[first.notna()]
    last = _days(treated["last_dose_date"]).fillna(first)
    end = _days(treated["followup_end"])
    if end.isna().any():
        missing = treated.loc[end.isna(), "subject_id"].astype(str).tolist()
        raise ValueError(f"treated subjects without followup_end: {missing}")
    if window_days is not None:
        end = end.where(
            end <= last + pd.Timedelta(days=window_days),
            last + pd.Timedelta(days=window_days),
        )
    exposure_days = (end - first).dt.days + 1
    if (exposure_days < 1).any():
        bad = treated.loc[exposure_days < 1, "subject_id"].astype(str).tolist()
        raise ValueError(f"exposure window ends before the first dose: {bad}")
    return pd.DataFrame(
        {
            "subject_id": treated["subject_id"].to_numpy(),
            "first_dose_date": first.to_numpy(),
            "last_dose_date": last.to_numpy(),
            "treatment_days": ((last - first).dt.days + 1).to_numpy(np.int64),
            "window_end": end.to_numpy(),
            "exposure_days": exposure_days.to_numpy(np.int64),
            "patient_years": (exposure_days / days_per_year).to_numpy(float),
        }
    )


@dataclass(frozen=True, kw_only=True)
class ExposureAdjustedIncidence(SafetyResult):
    """Exposure-adjusted incidence (EAIR) and event (EAER) rates by group.

    Attributes
    ----------
    rates : pandas.DataFrame
        ``term``, ``group``, ``measure`` (``EAIR``, ``EAER``), ``subjects``,
        ``events`` (subjects with an event for EAIR, events for EAER),
        ``patient_years``, ``rate``, ``lower``, ``upper`` (per ``per``
        patient-years).
    comparisons : pandas.DataFrame
        ``term``, ``group``, ``reference``, ``measure``, ``rate_ratio``,
        ``rate_ratio_lower``, ``rate_ratio_upper``, ``rate_ratio_p_value``,
        ``rate_difference``, ``rate_difference_lower``, ``rate_difference_upper``
        (difference per ``per`` patient-years).
    exposure : pandas.DataFrame
        Per group: ``subjects``, ``treatment_days`` (sum), ``treatment_years``,
        ``patient_years`` (sum of the exposure windows).
    subject_exposure : pandas.DataFrame
        Per subject: :func:`derive_exposure_time` with ``group``.
    per : float
        Rates per this many patient-years.
    confidence : float
        Level of the intervals.
    digits : int
        Decimal places of displayed rates.
    rounding : {"half_up", "half_even"}
        Rounding rule of the display.
    """

    rates: pd.DataFrame
    comparisons: pd.DataFrame
    exposure: pd.DataFrame
    subject_exposure: pd.DataFrame = field(repr=False)
    per: float = 100.0
    confidence: float = 0.95
    digits: int = 1
    rounding: RoundingRule = "half_up"

    def to_frame(self) -> pd.DataFrame:
        """Return the long unrounded frame.

        Returns
        -------
        pandas.DataFrame
            ``term``, ``group``, ``reference`` (empty except for comparisons),
            ``measure`` (``EAIR``, ``EAER``, or ``exposure`` for the exposure rows,
            whose term is empty), ``stat``, ``value``.
        """
        keys = ["term", "group", "measure"]
        rates = self.rates.melt(id_vars=keys, var_name="stat", value_name="value")
        rates.insert(2, "reference", "")
        comp = self.comparisons.melt(
            id_vars=[*keys, "reference"], var_name="stat", value_name="value"
        )
        exposure = self.exposure.melt(
            id_vars=["group"], var_name="stat", value_name="value"
        ).assign(term="", reference="", measure="exposure")
        out = pd.concat([exposure, rates, comp], ignore_index=True)
        out["value"] = out["value"].astype(float)
        return out[["term", "group", "reference", "measure", "stat", "value"]]

    def summary(self) -> pd.DataFrame:
        """Return the display frame: one row per term, measure and group.

        Returns
        -------
        pandas.DataFrame
            ``term``, ``measure``, ``group``, ``n``, ``patient-years``, ``rate (CI)``
            per ``per`` patient-years, and against the reference group ``rate ratio
            (CI)``, ``p-value`` and ``difference (CI)``.
        """
        d, rule = self.digits, self.rounding

        def r(x: float) -> str:
            if pd.isna(x):
                return "NE"
            return "Inf" if np.isinf(x) else f"{round_value(x, d, rule):.{d}f}"

        def r2(x: float) -> str:
            if pd.isna(x):
                return "NE"
            return "Inf" if np.isinf(x) else f"{round_value(x, 2, rule):.2f}"

        level = f"{round_value(100 * self.confidence, 1, rule):g}%"
        comp: dict[tuple[str, str, str], Any] = {
            (c["term"], c["group"], c["measure"]): c
            for c in self.comparisons.to_dict(orient="records")
        }
        rows = []
        for rec in self.rates.to_dict(orient="records"):
            key = (rec["term"], rec["group"], rec["measure"])
            row = {
                "term": rec["term"],
                "measure": rec["measure"],
                "group": rec["group"],
                "n": f"{int(rec['events'])}",
                "patient-years": r2(rec["patient_years"]),
                f"rate ({level} CI)": (
                    f"{r(rec['rate'])} ({r(rec['lower'])}, {r(rec['upper'])})"
                ),
                f"rate ratio ({level} CI)": "",
                "p-value": "",
                f"difference ({level} CI)": "",
            }
            if key in comp:
                c = comp[key]
                row[f"rate ratio ({level} CI)"] = (
                    f"{r2(c['rate_ratio'])} ({r2(c['rate_ratio_lower'])}, "
                    f"{r2(c['rate_ratio_upper'])})"
                )
                row["p-value"] = format_p_value(c["rate_ratio_p_value"], rule=rule)
                row[f"difference ({level} CI)"] = (
                    f"{r(c['rate_difference'])} ({r(c['rate_difference_lower'])}, "
                    f"{r(c['rate_difference_upper'])})"
                )
            rows.append(row)
        return pd.DataFrame(rows)


def _event_times(
    events: pd.DataFrame,
    exposure: pd.DataFrame,
    missing_onset: MissingOnsetTime,
) -> tuple[pd.DataFrame, int, int]:
    """Return the events in the window with their day, and the counts left out."""
    ev = events.merge(
        exposure[["subject_id", "first_dose_date", "window_end"]],
        on="subject_id",
        how="inner",
        suffixes=("_event", ""),
    )
    onset = _days(ev["onset_date"])
    no_onset = onset.isna()
    if missing_onset == "first_dose":
        onset = onset.fillna(ev["first_dose_date"])
    first = pd.to_datetime(ev["first_dose_date"])
    end = pd.to_datetime(ev["window_end"])
    inside = onset.notna() & (onset >= first) & (onset <= end)
    kept = ev.loc[inside].assign(_day=((onset - first).dt.days + 1)[inside])
    outside = int((~inside & onset.notna()).sum())
    dropped_no_onset = int((no_onset & ~inside).sum())
    return kept, outside, dropped_no_onset


def _group_rates(
    per_subject: pd.DataFrame, events: pd.DataFrame, groups: list[str]
) -> pd.DataFrame:
    """Return events and time at risk (days) per group for both measures."""
    n_events = events.groupby("subject_id").size()
    first_day = events.groupby("subject_id")["_day"].min()
    s = per_subject.assign(
        _n=per_subject["subject_id"].map(n_events).fillna(0).astype(np.int64),
        _first=per_subject["subject_id"].map(first_day),
    )
    s["_at_risk"] = s["_first"].fillna(s["exposure_days"]).astype(float)
    rows = []
    for group in groups:
        part = s.loc[s["group"] == group]
        rows.append(
            {
                "group": group,
                "measure": "EAIR",
                "subjects": len(part),
                "events": int((part["_n"] > 0).sum()),
                "_days": float(part["_at_risk"].sum()),
            }
        )
        rows.append(
            {
                "group": group,
                "measure": "EAER",
                "subjects": len(part),
                "events": int(part["_n"].sum()),
                "_days": float(part["exposure_days"].sum()),
            }
        )
    return pd.DataFrame(rows)


def estimate_exposure_adjusted_incidence(
    events: pd.DataFrame,
    subjects: pd.DataFrame,
    by: str | None = "group",
    *,
    term: str | None = None,
    window_days: int | None = None,
    missing_onset: MissingOnsetTime = "first_dose",
    reference: str | None = None,
    population_flag: str = "safety",
    total: str | None = "Total",
    per: float = 100.0,
    days_per_year: float = 365.25,
    confidence: float = 0.95,
    digits: int = 1,
    rounding: RoundingRule = "half_up",
    title: str = "Exposure-adjusted incidence of adverse events",
) -> ExposureAdjustedIncidence:
    """Estimate exposure-adjusted incidence (EAIR) and event (EAER) rates by group.

    Parameters
    ----------
    events : pandas.DataFrame
        The events to count (e.g. ``AnalysisData.teae``, or some of its rows):
        ``subject_id``, ``onset_date`` and the ``term`` column.
    subjects : pandas.DataFrame
        ADSL: ``subject_id``, the population flag, ``by``, ``first_dose_date``,
        ``last_dose_date``, ``followup_end``.
    by : str or None, default "group"
        Group column of ``subjects``.
    term : str, optional
        Column of ``events`` giving one block of rows per value (e.g.
        ``"preferred_term"``); by default all events together (``"Any event"``).
    window_days : int or None, default None
        Exposure window: first dose to the end of follow-up (None, the TEAE window
        of the analysis datasets), or to ``window_days`` after the last dose when
        earlier (match the TEAE rule's ``window_days``).
    missing_onset : {"first_dose", "exclude"}, default "first_dose"
        An event without onset date is placed on the first-dose day, or left out.
    reference : str, optional
        Group the others are compared with; default the first group.
    population_flag : str, default "safety"
        Column of ``subjects`` defining the population.
    total : str or None, default "Total"
        Label of the all-subjects rows (not compared).
    per : float, default 100
        Rates per this many patient-years.
    days_per_year : float, default 365.25
        Days per patient-year.
    confidence : float, default 0.95
        Level of every interval.
    digits : int, default 1
        Decimal places of displayed rates.
    rounding : {"half_up", "half_even"}, default "half_up"
        Rounding rule of the display.
    title : str
        Title.

    Returns
    -------
    ExposureAdjustedIncidence
        Rates, comparisons and exposure per group.

    Raises
    ------
    ValueError
        When ``reference`` is not a group, or the data lack a needed column.
    """
    pop, groups = population_groups(subjects, by, population_flag)
    exposure = derive_exposure_time(
        subjects.loc[subjects["subject_id"].isin(pop["subject_id"])],
        window_days=window_days,
        days_per_year=days_per_year,
    ).merge(pop[["subject_id", "group"]], on="subject_id", how="inner")
    ref = groups[0] if reference is None else str(reference)
    if ref not in groups:
        raise ValueError(f"reference group {ref!r} is not one of {groups}")
    compared = [g for g in groups if g != ref]
    per_subject = exposure
    all_groups = list(groups)
    if total is not None:
        per_subject = pd.concat(
            [exposure, exposure.assign(group=total)], ignore_index=True
        )
        all_groups.append(total)
    columns = ["subject_id", "onset_date"] + ([term] if term else [])
    missing = [c for c in columns if c not in events.columns]
    if missing:
        raise ValueError(f"events lack column(s) {missing}")
    kept, outside, dropped = _event_times(events[columns], exposure, missing_onset)
    if term is None:
        blocks = [(ANY_EVENT, kept)]
    else:
        labels = kept[term].astype("string").fillna("(missing)")
        blocks = [(t, kept.loc[labels == t]) for t in sorted(labels.unique())]
    rate_rows, comp_rows = [], []
    for label, block in blocks:
        counts = _group_rates(per_subject, block, all_groups)
        years = counts["_days"] / days_per_year
        rate, low, high = poisson_rate_ci(
            counts["events"], years, confidence=confidence
        )
        rate_rows.append(
            counts.drop(columns="_days").assign(
                term=label,
                patient_years=years,
                rate=per * rate,
                lower=per * low,
                upper=per * high,
            )
        )
        by_key: dict[tuple[str, str], tuple[int, float]] = {
            (g, m): (int(x), float(t))
            for g, m, x, t in zip(
                counts["group"], counts["measure"], counts["events"], years, strict=True
            )
        }
        for group in compared:
            for measure in _MEASURES:
                (x1, t1), (x2, t2) = by_key[(group, measure)], by_key[(ref, measure)]
                if t1 <= 0 or t2 <= 0:
                    continue
                ratio = poisson_rate_ratio(x1, t1, x2, t2, confidence=confidence)
                diff = rate_difference_wald(x1, t1, x2, t2, confidence=confidence)
                comp_rows.append(
                    {
                        "term": label,
                        "group": group,
                        "reference": ref,
                        "measure": measure,
                        "rate_ratio": ratio[0],
                        "rate_ratio_lower": ratio[1],
                        "rate_ratio_upper": ratio[2],
                        "rate_ratio_p_value": ratio[3],
                        "rate_difference": per * diff[0],
                        "rate_difference_lower": per * diff[1],
                        "rate_difference_upper": per * diff[2],
                    }
                )
    rate_columns = [
        "term",
        "group",
        "measure",
        "subjects",
        "events",
        "patient_years",
        "rate",
        "lower",
        "upper",
    ]
    rates = (
        pd.concat(rate_rows, ignore_index=True)[rate_columns]
        if rate_rows
        else pd.DataFrame(columns=rate_columns)
    )
    # display order: term, then EAIR before EAER, then the groups' order
    order = rates.assign(
        _m=rates["measure"].map({m: i for i, m in enumerate(_MEASURES)}),
        _g=rates["group"].map({g: i for i, g in enumerate(all_groups)}),
    )
    rates = (
        rates.loc[order.sort_values(["_m", "_g"], kind="mergesort").index]
        .sort_values("term", kind="mergesort")
        .reset_index(drop=True)
    )
    comp_columns = [
        "term",
        "group",
        "reference",
        "measure",
        "rate_ratio",
        "rate_ratio_lower",
        "rate_ratio_upper",
        "rate_ratio_p_value",
        "rate_difference",
        "rate_difference_lower",
        "rate_difference_upper",
    ]
    comparisons = pd.DataFrame(comp_rows, columns=comp_columns)
    summary = (
        per_subject.groupby("group", sort=False)
        .agg(
            subjects=("subject_id", "size"),
            treatment_days=("treatment_days", "sum"),
            patient_years=("patient_years", "sum"),
        )
        .reindex(all_groups)
        .reset_index()
    )
    summary.insert(3, "treatment_years", summary["treatment_days"] / days_per_year)
    teae_rule = events.attrs.get(TEAE_RULE_ATTR)
    params: dict[str, Any] = {
        "population_rules": population_rules(subjects),
        "by": by,
        "term": term,
        "window_days": window_days,
        "window_rule": window_rule(window_days),
        "missing_onset": missing_onset,
        "reference": ref,
        "population_flag": population_flag,
        "total": total,
        "per": per,
        "days_per_year": days_per_year,
        "confidence": confidence,
        "digits": digits,
        "rounding": rounding,
        "teae_rule": teae_rule,
    }
    level = f"{100 * confidence:g}%"
    footnotes = [
        f"Population: subjects with {population_flag} = true; columns: "
        f"{by or 'all subjects'}. Exposure window: {window_rule(window_days)}; days "
        f"counted inclusively, patient-years = days / {days_per_year:g}.",
        "EAIR: subjects with at least one event / time at risk to the first event "
        "(whole window without one); EAER: events / whole windows. Rates per "
        f"{per:g} patient-years with exact Poisson {level} intervals.",
        f"Rate ratio against {ref}: exact conditional interval and p-value (R "
        "poisson.test); rate difference: Wald interval.",
        (
            "Events without onset date placed on the first-dose day."
            if missing_onset == "first_dose"
            else "Events without onset date left out"
            + (f" ({dropped})." if dropped else ".")
        )
        + (
            f" {outside} event(s) outside the exposure window not counted."
            if outside
            else ""
        ),
    ]
    if isinstance(teae_rule, dict) and teae_rule.get("window_days") != window_days:
        footnotes.append(
            f"Note: the events' TEAE rule has window_days="
            f"{teae_rule.get('window_days')}, the exposure window {window_days}."
        )
    return ExposureAdjustedIncidence(
        provenance=make_provenance(
            "estimate_exposure_adjusted_incidence",
            inputs={"events": events, "subjects": subjects},
            **params,
        ),
        title=title,
        footnotes=tuple(footnotes),
        rates=rates,
        comparisons=comparisons,
        exposure=summary,
        subject_exposure=exposure,
        per=per,
        confidence=confidence,
        digits=digits,
        rounding=rounding,
    )
