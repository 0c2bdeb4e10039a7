"""Domain tables that both demo archetypes assemble the same way.

The archetype modules (:mod:`trialdata.demo.nk_aml`, :mod:`trialdata.demo.tol_dc_ms`)
decide what is drawn and in which order; these helpers only lay the values out as the
domain tables. Helpers that draw from ``rng`` say so; the order of the draws is part
of what a seed reproduces. Cohorts, first doses and DLTs come from the enrolment
(:func:`trialdata.demo.escalation.enrol`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trialdata.demo.common import (
    AeTerm,
    add_unscheduled,
    adverse_events,
    choose,
    missing_dates,
    missing_text,
    visits_in,
)
from trialdata.demo.escalation import Enrolment
from trialdata.demo.samples import Biobank, biobank
from trialdata.validation.rules._dates import DATED_COLUMNS

__all__ = [
    "BloodDraws",
    "birth_years",
    "blood_draws",
    "last_visit_dates",
    "stack_lots",
    "still_alive_after_records",
    "subjects_table",
    "survival_table",
    "trial_adverse_events",
]


def birth_years(
    timeline: pd.DataFrame, age: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Return birth years that fit each subject's age at consent.

    Draws one integer per subject from ``rng`` (birthday before or after consent).

    Parameters
    ----------
    timeline : pandas.DataFrame
        Subjects' timelines (consent dates).
    age : numpy.ndarray
        Age at consent, in years.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    numpy.ndarray
        Birth year of each subject.
    """
    year = timeline["consent"].dt.year.to_numpy()
    return year - age - rng.integers(0, 2, len(age))


def subjects_table(
    ids: np.ndarray,
    timeline: pd.DataFrame,
    withdrawn: np.ndarray,
    *,
    site_id: Any,
    cohort_id: np.ndarray,
    sex: np.ndarray,
    birth_year: np.ndarray,
    age: np.ndarray,
    weight_kg: np.ndarray,
    enrolment_date: pd.Series,
) -> pd.DataFrame:
    """Return the subjects domain table from values drawn by the archetype.

    Arguments are evaluated left to right, so a caller that draws ``site_id``,
    ``sex``, ``birth_year``, ``weight_kg`` and ``enrolment_date`` in the call draws
    them in the order of the table's columns.

    Parameters
    ----------
    ids : numpy.ndarray
        Subject ids.
    timeline : pandas.DataFrame
        Subjects' timelines (consent and withdrawal dates).
    withdrawn : numpy.ndarray
        Whether each subject withdrew consent.
    site_id : str or numpy.ndarray
        Site of every subject, or one per subject.
    cohort_id : numpy.ndarray
        Each subject's cohort id.
    sex : numpy.ndarray
        ``"M"`` or ``"F"``.
    birth_year : numpy.ndarray
        Year of birth (:func:`birth_years`).
    age : numpy.ndarray
        Age at consent.
    weight_kg : numpy.ndarray
        Body weight.
    enrolment_date : pandas.Series
        Date of enrolment.

    Returns
    -------
    pandas.DataFrame
        The subjects domain table, typed.
    """
    return pd.DataFrame(
        {
            "subject_id": ids,
            "site_id": site_id,
            "cohort_id": cohort_id,
            "sex": sex,
            "birth_year": pd.array(birth_year, dtype="Int64"),
            "age": pd.array(age, dtype="Int64"),
            "weight_kg": weight_kg,
            "consent_date": timeline["consent"],
            "enrolment_date": enrolment_date,
            "withdrawal_date": timeline["withdrawal"],
            "withdrawal_reason": choose(withdrawn, "Subject decision", None),
        }
    )


def stack_lots(
    released: pd.DataFrame, failed: pd.DataFrame, failed_subject: np.ndarray
) -> pd.DataFrame:
    """Return the product lots: each subject's rejected lots, then the released one.

    Parameters
    ----------
    released : pandas.DataFrame
        One released lot per subject, row i for subject i.
    failed : pandas.DataFrame
        Rejected lots, with the same columns.
    failed_subject : numpy.ndarray
        Subject (timeline row) of each rejected lot.

    Returns
    -------
    pandas.DataFrame
        The lots ordered by subject, rejected before released, index reset.
    """
    table = pd.concat(
        [
            failed.assign(subject=failed_subject, order=0),
            released.assign(subject=np.arange(len(released)), order=1),
        ],
        ignore_index=True,
    )
    table = table.sort_values(["subject", "order"], kind="stable")
    return table.drop(columns=["subject", "order"]).reset_index(drop=True)


def trial_adverse_events(
    timeline: pd.DataFrame,
    catalogue: Sequence[AeTerm],
    rng: np.random.Generator,
    enrolment: Enrolment,
    *,
    rate: float,
    action: str,
    dlt_term: AeTerm,
    fatal: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the adverse events, with the DLTs the escalation's design saw.

    Draws the events (:func:`trialdata.demo.common.adverse_events`); each subject
    with a DLT in ``enrolment`` has one ``dlt_term`` event at its onset.

    Parameters
    ----------
    timeline : pandas.DataFrame
        Subjects' timelines.
    catalogue : sequence of AeTerm
        Terms to draw from.
    rng : numpy.random.Generator
        Random source.
    enrolment : Enrolment
        The enrolment (:func:`trialdata.demo.escalation.enrol`): who had a DLT, when.
    rate : float
        Mean number of events per subject.
    action : str
        Action taken with the product for events that are not DLTs.
    dlt_term : AeTerm
        The product's dose-limiting toxicity.
    fatal : pandas.DataFrame, optional
        Fatal events to add.

    Returns
    -------
    pandas.DataFrame
        The adverse_events domain table, typed.
    """
    return adverse_events(
        timeline,
        catalogue,
        rng,
        rate=rate,
        action=action,
        fatal=fatal,
        dlt_term=dlt_term,
        dlt_onset=enrolment.dlt_onset,
    )


@dataclass(frozen=True)
class BloodDraws:
    """What is drawn at the lab and biobank visits.

    Attributes
    ----------
    lab_grid : pandas.DataFrame
        Lab visits, with unscheduled draws.
    bank : Biobank
        Samples, custody and the aliquot measured at each immunomonitoring visit.
    immuno_grid : pandas.DataFrame
        Immunomonitoring visits (the biobank visits), with unscheduled draws.
    """

    lab_grid: pd.DataFrame
    bank: Biobank
    immuno_grid: pd.DataFrame


def blood_draws(
    grid: pd.DataFrame,
    timeline: pd.DataFrame,
    schedule: Sequence[dict[str, Any]],
    rng: np.random.Generator,
    *,
    site: pd.Series,
    lab_visits: Sequence[str],
    bank_visits: Sequence[str],
    extra_draws: int,
    future_scope: str,
    p_future: float,
) -> BloodDraws:
    """Return the lab and immunomonitoring visits and the biobank collected at them.

    Draws each subject's consent scope, then the biobank
    (:func:`trialdata.demo.samples.biobank`).

    Parameters
    ----------
    grid : pandas.DataFrame
        Every subject's visits (:func:`trialdata.demo.common.visit_grid`).
    timeline : pandas.DataFrame
        Subjects' timelines.
    schedule : sequence of dict
        The protocol's visits.
    rng : numpy.random.Generator
        Random source.
    site : pandas.Series
        Each subject's site.
    lab_visits : sequence of str
        Visits with a lab panel.
    bank_visits : sequence of str
        Visits with a biobank collection and immunomonitoring.
    extra_draws : int
        Unscheduled lab and immunomonitoring draws per subject.
    future_scope : str
        Consent scope of subjects who allow future research.
    p_future : float
        Probability that a subject allows it (the others consent to the trial only).

    Returns
    -------
    BloodDraws
        Lab visits, biobank and immunomonitoring visits.
    """
    lab_grid = add_unscheduled(
        visits_in(grid, lab_visits), timeline, schedule, extra_draws
    )
    bank_grid = visits_in(grid, bank_visits)
    scope = np.where(rng.random(len(timeline)) < p_future, future_scope, "TRIAL ONLY")
    bank = biobank(bank_grid, timeline, rng, site=site, consent_scope=pd.Series(scope))
    immuno_grid = add_unscheduled(bank_grid, timeline, schedule, extra_draws)
    return BloodDraws(lab_grid, bank, immuno_grid)


def last_visit_dates(grid: pd.DataFrame, n: int) -> pd.Series:
    """Return each subject's last visit date (NaT without visits).

    Parameters
    ----------
    grid : pandas.DataFrame
        Visits (subject, date).
    n : int
        Number of subjects.

    Returns
    -------
    pandas.Series
        Last visit date, index ``range(n)``.
    """
    return grid.groupby("subject")["date"].max().reindex(range(n))


def still_alive_after_records(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Return survival_status with no last-known-alive date before a later record.

    A subject is known to be alive on the day of each of its records (a given dose,
    an adverse event's onset, a lab, a scan, a sample, a result, an assessment), so
    the last known alive date is at least the latest of them. Draws nothing.

    Parameters
    ----------
    tables : Mapping of str to pandas.DataFrame
        The domain tables, with ``survival_status``.

    Returns
    -------
    pandas.DataFrame
        A copy of survival_status, ``last_known_alive_date`` raised where a record
        is later.
    """
    survival = tables["survival_status"].copy()
    dated = []
    for domain, column in DATED_COLUMNS.items():  # as XD-022 reads them
        data = tables.get(domain)
        if data is None or column not in data.columns:
            continue
        if domain == "administrations":
            data = data[data["given"].fillna(False).astype(bool)]
        days = pd.to_datetime(data[column]).dt.normalize()
        dated.append(pd.DataFrame({"subject_id": data["subject_id"], "day": days}))
    if not dated:
        return survival
    latest = pd.concat(dated).groupby("subject_id")["day"].max()
    last_record = survival["subject_id"].map(latest)
    known = pd.to_datetime(survival["last_known_alive_date"])
    raised = known.where(~(last_record > known), last_record)
    survival["last_known_alive_date"] = raised.astype(known.dtype)
    return survival


def survival_table(
    subject_id: np.ndarray,
    last_known_alive: np.ndarray,
    *,
    death_date: np.ndarray | None = None,
    death_cause: np.ndarray | None = None,
    new_therapy_date: np.ndarray | None = None,
    new_therapy: np.ndarray | None = None,
) -> pd.DataFrame:
    """Return the survival_status domain table; values not given are missing.

    Parameters
    ----------
    subject_id : numpy.ndarray
        Subject ids.
    last_known_alive : numpy.ndarray
        Date each subject was last known alive.
    death_date, death_cause : numpy.ndarray, optional
        Date and cause of death (missing for everyone when not given).
    new_therapy_date, new_therapy : numpy.ndarray, optional
        Start and name of a new therapy (missing for everyone when not given).

    Returns
    -------
    pandas.DataFrame
        The survival_status domain table, typed.
    """
    n = len(subject_id)
    return pd.DataFrame(
        {
            "subject_id": subject_id,
            "last_known_alive_date": last_known_alive,
            "death_date": missing_dates(n) if death_date is None else death_date,
            "death_cause": missing_text(n) if death_cause is None else death_cause,
            "new_therapy_date": (
                missing_dates(n) if new_therapy_date is None else new_therapy_date
            ),
            "new_therapy": missing_text(n) if new_therapy is None else new_therapy,
        }
    )
