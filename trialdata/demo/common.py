"""Building blocks shared by the demo trials: timelines, visits, adverse events, labs.

Everything is generated column-wise with numpy from one :class:`numpy.random.Generator`,
so a seed reproduces a trial exactly and thousands of subjects take a second or two.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "LAB_PANEL",
    "STUDY_START",
    "AeTerm",
    "Analyte",
    "LabTest",
    "add_days",
    "add_unscheduled",
    "adverse_events",
    "choose",
    "dose_levels",
    "immunomonitoring",
    "labs",
    "level_values",
    "make_timeline",
    "missing_dates",
    "missing_text",
    "subject_ids",
    "unscheduled_grid",
    "visit_grid",
    "visits_in",
    "with_end",
]

#: First possible consent date of every demo trial. Early enough that every date of
#: the largest demo (1,000 subjects: escalation, 540 days of expansion and 400 days
#: of follow-up, about three years) lies before the day it is written, since a date
#: in the future is an error (XD-024).
STUDY_START = pd.Timestamp("2023-01-09")

#: Follow-up after the first dose, in days, after which no visit is generated.
FOLLOW_UP_DAYS = 400


def choose(condition: Any, yes: Any, no: Any) -> np.ndarray:
    """Return ``numpy.where`` over object values, so that None can be chosen."""
    return np.where(
        np.asarray(condition, dtype=bool),
        np.asarray(yes, dtype=object),
        np.asarray(no, dtype=object),
    )


def missing_dates(n: int) -> pd.Series:
    """Return a datetime64[ns] column of ``n`` NaT, index ``range(n)``."""
    return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")


def missing_text(n: int) -> pd.Series:
    """Return an object column of ``n`` None, index ``range(n)``."""
    return pd.Series([None] * n, dtype=object)


def dose_levels(protocol: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    """Return the protocol's dose levels by level number.

    Parameters
    ----------
    protocol : Mapping
        The protocol data (:func:`trialdata.demo.protocols.protocol_data`).

    Returns
    -------
    dict of int to dict
        Level number to its entry (level, amount, unit and, for some, label).
    """
    return {d["level"]: d for d in protocol["dose_levels"]}


def level_values(
    levels: Mapping[int, Mapping[str, Any]],
    level: np.ndarray,
    key: str,
    dtype: Any = None,
) -> np.ndarray:
    """Return one field of the dose level of each entry of ``level``.

    Parameters
    ----------
    levels : Mapping of int to Mapping
        From :func:`dose_levels`.
    level : numpy.ndarray
        Dose level numbers.
    key : str
        Field of a dose level, e.g. ``"amount"`` or ``"unit"``.
    dtype : optional
        Dtype of the result (inferred by numpy when None).

    Returns
    -------
    numpy.ndarray
        ``levels[level[i]][key]`` for each i.
    """
    return np.array([levels[int(v)][key] for v in level], dtype=dtype)


def subject_ids(prefix: str, n: int) -> np.ndarray:
    """Return ``n`` pseudonymised subject ids such as ``TOL-001``."""
    width = max(3, len(str(n)))
    return np.array([f"{prefix}-{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def add_days(dates: pd.Series, days: Any) -> pd.Series:
    """Return ``dates`` plus a whole number of days (scalar or array)."""
    offsets = pd.to_timedelta(np.asarray(days, dtype="float64"), unit="D")
    return pd.Series(dates.to_numpy() + offsets, index=dates.index)


def make_timeline(
    ids: np.ndarray, first_dose: pd.Series, rng: np.random.Generator
) -> pd.DataFrame:
    """Return each subject's consent, screening and first-dose dates.

    The first doses come from the enrolment (:func:`trialdata.demo.escalation.enrol`);
    consent is 14-28 days before the first dose and screening 0-3 days after consent,
    so screening falls 11-28 days before dosing.

    Parameters
    ----------
    ids : numpy.ndarray
        Subject ids, in enrolment order.
    first_dose : pandas.Series
        Each subject's first dose date, index ``range(n)``.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    pandas.DataFrame
        Columns subject_id, consent, screening, first_dose, withdrawal and death (NaT
        until an archetype sets them) and end (exclusive bound of visit dates).
    """
    n = len(ids)
    first = pd.Series(first_dose.to_numpy().astype("datetime64[ns]"), index=range(n))
    consent = add_days(first, -rng.integers(14, 29, n))
    frame = pd.DataFrame(
        {
            "subject_id": ids,
            "consent": consent,
            "screening": add_days(consent, rng.integers(0, 4, n)),
            "first_dose": first,
            "withdrawal": missing_dates(n),
            "death": missing_dates(n),
        }
    )
    return with_end(frame)


def with_end(timeline: pd.DataFrame) -> pd.DataFrame:
    """Recompute ``end``: the first of withdrawal, death and the end of follow-up."""
    horizon = add_days(timeline["first_dose"], FOLLOW_UP_DAYS)
    end = pd.concat([timeline["withdrawal"], timeline["death"], horizon], axis=1)
    return timeline.assign(end=end.min(axis=1))


def visit_grid(
    timeline: pd.DataFrame, schedule: Sequence[dict[str, Any]], rng: np.random.Generator
) -> pd.DataFrame:
    """Return every subject's scheduled visits dated before the subject's ``end``.

    Visit dates are the first dose plus the visit day, moved by up to two days inside
    the window; SCREENING is the subject's screening date.

    Parameters
    ----------
    timeline : pandas.DataFrame
        From :func:`make_timeline`.
    schedule : sequence of dict
        Protocol visits (name, day, window_before, window_after).
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    pandas.DataFrame
        Columns subject_id, subject (row number in the timeline), visit, day, date.
    """
    n, m = len(timeline), len(schedule)
    days = np.array([v["day"] for v in schedule])
    low = -np.minimum([v["window_before"] for v in schedule], 2)
    high = np.minimum([v["window_after"] for v in schedule], 2)
    jitter = rng.integers(low, high + 1, size=(n, m))
    subject = np.repeat(np.arange(n), m)
    offset = (days[None, :] + jitter).ravel()
    dates = add_days(
        timeline["first_dose"].iloc[subject].reset_index(drop=True), offset
    )
    names = np.tile(np.array([v["name"] for v in schedule], dtype=object), n)
    screening = names == "SCREENING"
    dates[screening] = timeline["screening"].to_numpy()[subject[screening]]
    grid = pd.DataFrame(
        {
            "subject_id": timeline["subject_id"].to_numpy()[subject],
            "subject": subject,
            "visit": names,
            "day": np.tile(days, n),
            "date": dates,
        }
    )
    keep = grid["date"].to_numpy() < timeline["end"].to_numpy()[subject]
    return grid.loc[keep].reset_index(drop=True)


def visits_in(grid: pd.DataFrame, visits: Sequence[str]) -> pd.DataFrame:
    """Return the rows of ``grid`` at the named visits, index reset.

    Parameters
    ----------
    grid : pandas.DataFrame
        Visits (from :func:`visit_grid`).
    visits : sequence of str
        Names of the visits to keep.

    Returns
    -------
    pandas.DataFrame
        The rows whose visit is one of ``visits``, in grid order.
    """
    return grid[grid["visit"].isin(visits)].reset_index(drop=True)


def unscheduled_grid(
    timeline: pd.DataFrame, schedule: Sequence[dict[str, Any]], count: int
) -> pd.DataFrame:
    """Return ``count`` unscheduled draws per subject, on days outside every window.

    Parameters
    ----------
    timeline : pandas.DataFrame
        From :func:`make_timeline`.
    schedule : sequence of dict
        Protocol visits; their windows are avoided so dates never clash with a visit.
    count : int
        Draws per subject (fewer if the follow-up has not enough free days).

    Returns
    -------
    pandas.DataFrame
        Same columns as :func:`visit_grid`, with visit missing.
    """
    busy = np.zeros(FOLLOW_UP_DAYS, dtype=bool)
    for v in schedule:
        lo, hi = v["day"] - v["window_before"], v["day"] + v["window_after"]
        busy[max(lo, 0) : max(hi + 1, 0)] = True
    free = np.flatnonzero(~busy)
    free = free[free > 0]
    if count <= 0 or not len(free):
        return pd.DataFrame(columns=["subject_id", "subject", "visit", "day", "date"])
    chosen = free[np.linspace(0, len(free) - 1, min(count, len(free))).astype(int)]
    n = len(timeline)
    subject = np.repeat(np.arange(n), len(chosen))
    days = np.tile(chosen, n)
    dates = add_days(timeline["first_dose"].iloc[subject].reset_index(drop=True), days)
    grid = pd.DataFrame(
        {
            "subject_id": timeline["subject_id"].to_numpy()[subject],
            "subject": subject,
            "visit": missing_text(len(subject)),
            "day": days,
            "date": dates,
        }
    )
    keep = grid["date"].to_numpy() < timeline["end"].to_numpy()[subject]
    return grid.loc[keep].reset_index(drop=True)


@dataclass(frozen=True)
class AeTerm:
    """One entry of an archetype's adverse-event catalogue.

    Attributes
    ----------
    term, preferred_term, soc : str
        Reported term, MedDRA preferred term and system organ class.
    weight : float
        Relative frequency.
    grades : tuple of float
        Probabilities of grades 1 to 4.
    p_related : float
        Probability the investigator judges it related.
    aesi : str or None
        AE of special interest.
    scale : str
        Grading scale (CTCAE, ASTCT, MAGIC).
    onset_days : tuple of int or None
        Range of onset days after the first dose, when tied to dosing.
    """

    term: str
    preferred_term: str
    soc: str
    weight: float
    grades: tuple[float, float, float, float]
    p_related: float
    aesi: str | None = None
    scale: str = "CTCAE"
    onset_days: tuple[int, int] | None = None


SCALE_VERSION = {"CTCAE": "5.0", "ASTCT": "2019", "MAGIC": "2016"}
CRITERIA = (
    "ser_death",
    "ser_life_threatening",
    "ser_hospitalisation",
    "ser_disability",
    "ser_congenital_anomaly",
    "ser_medically_important",
)
RELATED = np.array(["POSSIBLY RELATED", "PROBABLY RELATED", "DEFINITELY RELATED"])
UNRELATED = np.array(["NOT RELATED", "UNLIKELY RELATED"])


def adverse_events(
    timeline: pd.DataFrame,
    catalogue: Sequence[AeTerm],
    rng: np.random.Generator,
    *,
    rate: float,
    action: str,
    fatal: pd.DataFrame | None = None,
    dlt_term: AeTerm | None = None,
    dlt_onset: np.ndarray | None = None,
) -> pd.DataFrame:
    """Generate adverse events between each subject's first dose and ``end``.

    The DLTs are exactly the events of ``dlt_term`` at ``dlt_onset`` (those the
    escalation's design saw); no catalogue event is flagged as a DLT. Serious events
    are hospitalisations; fatal events (``fatal``) are grade 5.

    Parameters
    ----------
    timeline : pandas.DataFrame
        From :func:`make_timeline`.
    catalogue : sequence of AeTerm
        Terms to draw from.
    rng : numpy.random.Generator
        Random source.
    rate : float
        Mean number of events per subject (Poisson).
    action : str
        Action taken with the product for events that are not DLTs.
    fatal : pandas.DataFrame, optional
        Fatal events to add: columns subject (timeline row), term, preferred_term, soc
        and onset (date); they resolve (fatally) on the subject's death date.
    dlt_term : AeTerm, optional
        The dose-limiting toxicity of the product: grade 3, probably related and
        serious.
    dlt_onset : numpy.ndarray, optional
        Per timeline row, the onset of the subject's DLT (``dlt_term``) in days after
        the first dose; negative for subjects without a DLT.

    Returns
    -------
    pandas.DataFrame
        The adverse_events domain table, typed.
    """
    cat = pd.DataFrame([vars(t) for t in catalogue])
    counts = rng.poisson(rate, len(timeline))
    subject = np.repeat(np.arange(len(timeline)), counts)
    n = len(subject)
    pick = rng.choice(
        len(cat), size=n, p=(cat["weight"] / cat["weight"].sum()).to_numpy()
    )
    chosen = cat.iloc[pick].reset_index(drop=True)
    first = timeline["first_dose"].to_numpy()[subject]
    span = (timeline["end"].to_numpy()[subject] - first).astype("timedelta64[D]")
    span = np.maximum(span.astype(int) - 1, 0)
    offset = np.floor(rng.random(n) * (span + 1)).astype(int)
    tied = chosen["onset_days"].notna().to_numpy()
    if tied.any():
        bounds = np.array([b for b in chosen.loc[tied, "onset_days"]])
        drawn = rng.integers(bounds[:, 0], bounds[:, 1] + 1)
        offset[tied] = np.minimum(drawn, span[tied])
    grade_p = np.array(chosen["grades"].tolist(), dtype=float)
    cum = np.cumsum(grade_p / grade_p.sum(axis=1, keepdims=True), axis=1)
    grade = (rng.random(n)[:, None] > cum[:, :-1]).sum(axis=1) + 1
    related = rng.random(n) < chosen["p_related"].to_numpy()
    relatedness = np.where(
        related,
        RELATED[rng.integers(0, len(RELATED), n)],
        UNRELATED[rng.integers(0, len(UNRELATED), n)],
    )
    onset = pd.Series(first + offset.astype("timedelta64[D]"))
    duration = rng.integers(1, 15, n) + 3 * grade
    resolution = pd.Series(onset.to_numpy() + duration.astype("timedelta64[D]"))
    ongoing = (rng.random(n) < 0.05) | (
        resolution.to_numpy() >= timeline["end"].to_numpy()[subject]
    )
    resolution[ongoing] = pd.NaT
    serious = (grade >= 3) & (rng.random(n) < 0.6)
    dlt = np.zeros(n, dtype=bool)
    events = pd.DataFrame(
        {
            "subject": subject,
            "term": chosen["term"],
            "preferred_term": chosen["preferred_term"],
            "soc": chosen["soc"],
            "onset_date": onset,
            "resolution_date": resolution,
            "grade": grade,
            "grading_scale": chosen["scale"],
            "serious": serious,
            "hospitalisation": serious,
            "relatedness": relatedness,
            "outcome": np.where(
                ongoing, "NOT RECOVERED/NOT RESOLVED", "RECOVERED/RESOLVED"
            ),
            "action_taken": np.where(dlt, "DRUG INTERRUPTED", action),
            "dlt": dlt,
            "aesi": chosen["aesi"],
        }
    )
    if dlt_term is not None and dlt_onset is not None:
        who = np.flatnonzero(np.asarray(dlt_onset) >= 0)
        first_dlt = timeline["first_dose"].to_numpy()[who]
        onset_dlt = first_dlt + np.asarray(dlt_onset)[who].astype("timedelta64[D]")
        if (onset_dlt >= timeline["end"].to_numpy()[who]).any():
            raise ValueError("a DLT is dated after the subject left the study")
        lasting = rng.integers(5, 15, len(who)).astype("timedelta64[D]")
        events = pd.concat(
            [
                events,
                pd.DataFrame(
                    {
                        "subject": who,
                        "term": dlt_term.term,
                        "preferred_term": dlt_term.preferred_term,
                        "soc": dlt_term.soc,
                        "onset_date": onset_dlt,
                        "resolution_date": onset_dlt + lasting,
                        "grade": 3,
                        "grading_scale": dlt_term.scale,
                        "serious": True,
                        "hospitalisation": True,
                        "relatedness": "PROBABLY RELATED",
                        "outcome": "RECOVERED/RESOLVED",
                        "action_taken": "DRUG INTERRUPTED",
                        "dlt": True,
                        "aesi": dlt_term.aesi,
                    }
                ),
            ],
            ignore_index=True,
        )
    if fatal is not None and len(fatal):
        death = timeline["death"].to_numpy()[fatal["subject"].to_numpy()]
        events = pd.concat(
            [
                events,
                pd.DataFrame(
                    {
                        "subject": fatal["subject"].to_numpy(),
                        "term": fatal["term"].to_numpy(),
                        "preferred_term": fatal["preferred_term"].to_numpy(),
                        "soc": fatal["soc"].to_numpy(),
                        "onset_date": fatal["onset"].to_numpy(),
                        "resolution_date": death,
                        "grade": 5,
                        "grading_scale": "CTCAE",
                        "serious": True,
                        "hospitalisation": True,
                        "relatedness": "NOT RELATED",
                        "outcome": "FATAL",
                        "action_taken": "NOT APPLICABLE",
                        "dlt": False,
                        "aesi": None,
                    }
                ),
            ],
            ignore_index=True,
        )
    events = events.sort_values(["subject", "onset_date"], kind="stable")
    events = events.reset_index(drop=True)
    grade5 = events["grade"].to_numpy() == 5
    out = pd.DataFrame(
        {
            "subject_id": timeline["subject_id"].to_numpy()[events["subject"]],
            "ae_seq": pd.array(
                events.groupby("subject").cumcount().to_numpy() + 1, dtype="Int64"
            ),
            "term": events["term"],
            "preferred_term": events["preferred_term"],
            "soc": events["soc"],
            "onset_date": events["onset_date"].astype("datetime64[ns]"),
            "resolution_date": events["resolution_date"].astype("datetime64[ns]"),
            "grade": pd.array(events["grade"].to_numpy(dtype="int64"), dtype="Int64"),
            "grading_scale": events["grading_scale"],
            "grading_version": events["grading_scale"].map(SCALE_VERSION),
            "serious": pd.array(
                events["serious"].to_numpy(dtype=bool), dtype="boolean"
            ),
        }
    )
    for criterion in CRITERIA:
        flag = np.zeros(len(events), dtype=bool)
        if criterion == "ser_hospitalisation":
            flag = events["hospitalisation"].to_numpy(dtype=bool) & ~grade5
        elif criterion == "ser_death":
            flag = grade5
        out[criterion] = pd.array(flag, dtype="boolean")
    out["relatedness"] = events["relatedness"]
    out["outcome"] = events["outcome"]
    out["action_taken"] = events["action_taken"]
    out["dlt"] = pd.array(events["dlt"].to_numpy(dtype=bool), dtype="boolean")
    out["aesi"] = choose(events["aesi"].notna(), events["aesi"], None)
    return out


@dataclass(frozen=True)
class LabTest:
    """A laboratory test of the demo panels, in standard units.

    Attributes
    ----------
    code, unit : str
        LBTESTCD and unit.
    lower, upper : float
        Normal range.
    mean, sd : float
        Distribution of healthy values.
    decimals : int
        Rounding of results.
    """

    code: str
    unit: str
    lower: float
    upper: float
    mean: float
    sd: float
    decimals: int = 1


#: Haematology and chemistry panel in SI units.
LAB_PANEL: tuple[LabTest, ...] = (
    LabTest("WBC", "10^9/L", 4.0, 10.0, 6.5, 1.3),
    LabTest("NEUT", "10^9/L", 1.5, 7.5, 4.0, 1.0),
    LabTest("LYM", "10^9/L", 1.0, 4.0, 2.0, 0.5),
    LabTest("PLAT", "10^9/L", 150.0, 400.0, 260.0, 50.0, 0),
    LabTest("HGB", "g/L", 120.0, 170.0, 140.0, 10.0, 0),
    LabTest("ALT", "U/L", 7.0, 56.0, 25.0, 8.0, 0),
    LabTest("AST", "U/L", 10.0, 40.0, 24.0, 6.0, 0),
    LabTest("ALP", "U/L", 40.0, 130.0, 80.0, 18.0, 0),
    LabTest("BILI", "umol/L", 3.0, 21.0, 10.0, 3.0),
    LabTest("CREAT", "umol/L", 50.0, 110.0, 78.0, 12.0, 0),
)


def labs(
    grid: pd.DataFrame,
    rng: np.random.Generator,
    panel: Sequence[LabTest] = LAB_PANEL,
    factor: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> pd.DataFrame:
    """Return one result per test of ``panel`` for each visit of ``grid``.

    Parameters
    ----------
    grid : pandas.DataFrame
        Visits (from :func:`visit_grid` or :func:`unscheduled_grid`).
    rng : numpy.random.Generator
        Random source.
    panel : sequence of LabTest
        The tests.
    factor : callable, optional
        ``factor(test_codes, study_days) -> multipliers`` for treatment effects
        (e.g. cytopenia after lymphodepletion).

    Returns
    -------
    pandas.DataFrame
        The labs domain table, typed.
    """
    tests = pd.DataFrame([vars(t) for t in panel])
    k, n = len(tests), len(grid)
    row = np.repeat(np.arange(n), k)
    test = np.tile(np.arange(k), n)
    mean, sd = tests["mean"].to_numpy()[test], tests["sd"].to_numpy()[test]
    value = rng.normal(mean, sd)
    codes = tests["code"].to_numpy()[test]
    if factor is not None:
        value = value * factor(codes, grid["day"].to_numpy()[row])
    value = np.maximum(value, 0.1 * tests["lower"].to_numpy()[test] + 0.01)
    decimals = tests["decimals"].to_numpy()[test]
    value = np.where(decimals == 0, np.round(value), np.round(value, 1))
    return pd.DataFrame(
        {
            "subject_id": grid["subject_id"].to_numpy()[row],
            "visit": grid["visit"].to_numpy()[row],
            "lab_date": grid["date"].to_numpy()[row],
            "test_code": codes,
            "value": value,
            "unit": tests["unit"].to_numpy()[test],
            "lower_limit": tests["lower"].to_numpy()[test],
            "upper_limit": tests["upper"].to_numpy()[test],
        }
    )


@dataclass(frozen=True)
class Analyte:
    """An immunomonitoring read-out of a demo trial.

    Attributes
    ----------
    assay, analyte, unit : str
        Assay (controlled term), population or analyte, and unit.
    parent : str or None
        Parent gate for population frequencies.
    lloq, uloq : float or None
        Limits of quantification.
    values : callable
        ``values(days, subject_effect, rng) -> results`` for study days and a
        standard-normal subject effect.
    decimals : int
        Rounding of results.
    """

    assay: str
    analyte: str
    unit: str
    parent: str | None
    lloq: float | None
    uloq: float | None
    values: Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]
    decimals: int = 2

    @property
    def batch_prefix(self) -> str:
        """Prefix of the assay's batch identifiers, e.g. ``FLOW``."""
        return self.assay.split()[0][:4]


def immunomonitoring(
    grid: pd.DataFrame,
    analytes: Sequence[Analyte],
    rng: np.random.Generator,
    n_subjects: int,
    samples: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return one result per analyte for each visit of ``grid``.

    Parameters
    ----------
    grid : pandas.DataFrame
        Immunomonitoring visits.
    analytes : sequence of Analyte
        The read-outs.
    rng : numpy.random.Generator
        Random source.
    n_subjects : int
        Number of subjects (for the subject effects).
    samples : pandas.DataFrame, optional
        subject_id, visit, sample_id of the aliquot measured at each visit.

    Returns
    -------
    pandas.DataFrame
        The immunomonitoring domain table, typed.
    """
    effect = rng.normal(size=(n_subjects, len(analytes)))
    k = len(analytes)
    row = np.repeat(np.arange(len(grid)), k)
    which = np.tile(np.arange(k), len(grid))
    days = grid["day"].to_numpy()[row]
    subject = grid["subject"].to_numpy()[row]
    value = np.empty(len(row))
    for j, analyte in enumerate(analytes):
        here = which == j
        raw = analyte.values(days[here], effect[subject[here], j], rng)
        value[here] = np.round(np.maximum(raw, 0.0), analyte.decimals)

    def per_analyte(attribute: str) -> np.ndarray:
        return np.array([getattr(a, attribute) for a in analytes], dtype=object)[which]

    dates = grid["date"].to_numpy()[row]
    assay = per_analyte("assay")
    result = pd.DataFrame(
        {
            "subject_id": grid["subject_id"].to_numpy()[row],
            "visit": grid["visit"].to_numpy()[row],
            "collection_date": dates,
            "assay": assay,
            "analyte": per_analyte("analyte"),
            "parent_population": per_analyte("parent"),
            "value": value,
            "unit": per_analyte("unit"),
            "lloq": per_analyte("lloq").astype(float),
            "uloq": per_analyte("uloq").astype(float),
            "batch": np.char.add(
                np.char.add(per_analyte("batch_prefix").astype(str), "-"),
                np.char.replace(
                    np.datetime_as_string(dates.astype("datetime64[M]"), unit="M"),
                    "-",
                    "",
                ),
            ).astype(object),
        }
    )
    if samples is not None:
        sample = result.merge(samples, on=["subject_id", "visit"], how="left")
        result.insert(3, "sample_id", sample["sample_id"].to_numpy())
    return result


def add_unscheduled(
    grid: pd.DataFrame,
    timeline: pd.DataFrame,
    schedule: Sequence[dict[str, Any]],
    count: int,
) -> pd.DataFrame:
    """Return ``grid`` plus ``count`` unscheduled draws per subject, in date order.

    Parameters
    ----------
    grid : pandas.DataFrame
        Scheduled visits of one domain.
    timeline : pandas.DataFrame
        Subjects' timelines.
    schedule : sequence of dict
        The protocol's visits.
    count : int
        Unscheduled draws per subject; 0 returns ``grid`` unchanged.

    Returns
    -------
    pandas.DataFrame
        Visits sorted by subject and date, index reset.
    """
    extra = unscheduled_grid(timeline, schedule, count)
    if extra.empty:
        return grid.reset_index(drop=True)
    combined = pd.concat([grid, extra], ignore_index=True)
    return combined.sort_values(["subject", "date"], kind="stable").reset_index(
        drop=True
    )
