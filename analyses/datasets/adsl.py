"""ADSL: one row per subject, every subject-level fact derived once.

First and last dose, the actual dose level and route, the escalation each subject
belongs to and their role in it (escalation, expansion, backfill), death, withdrawal,
last contact, follow-up at the cut-off, the DLT window and DLT-evaluability. The CLI,
the report and the analyses all read these columns; nothing downstream derives them
again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from analyses._lookup import lookup
from analyses.datasets.cutoff import _as_dates, last_contact_dates
from analyses.datasets.groups import label_groups
from analyses.dosing import first_given_doses, given_mask
from schemas.protocol import Protocol

__all__ = [
    "ADSL_COLUMNS",
    "ActualDoseRule",
    "EvaluableRule",
    "FollowupRule",
    "derive_adsl",
    "dlt_in_window",
    "dlt_window_rule",
    "study_day",
]

#: How the actual dose level of a subject is read from the given administrations.
ActualDoseRule = Literal["max", "first"]
#: Who counts as DLT-evaluable.
EvaluableRule = Literal["dlt_or_complete_window", "all_treated"]
#: Where follow-up of a subject still on study ends.
FollowupRule = Literal["cutoff", "last_contact"]

#: Columns ADSL adds to the subjects table, in order.
ADSL_COLUMNS = (
    "planned_dose_level",
    "planned_route",
    "cohort_role",
    "first_dose_date",
    "first_dose_uncertain",
    "last_dose_date",
    "n_doses_given",
    "dose_level",
    "route",
    "escalation_group",
    "group",
    "safety",
    "death_date",
    "death_cause",
    "last_known_alive_date",
    "last_contact",
    "cutoff_date",
    "followup_end",
    "dlt_window_end",
    "dlt",
    "first_dlt_onset",
    "completed_window",
    "withdrawn_in_window",
    "dlt_evaluable",
    "dlt_pending",
)


def dlt_window_rule(window_days: int) -> str:
    """Return the DLT window rule in words.

    Parameters
    ----------
    window_days : int
        DLT window in days.

    Returns
    -------
    str
        E.g. "study days 1-28 (day 1 = first dose)".
    """
    return f"study days 1-{window_days} (day 1 = day of the first given dose)"


def _empty_dates(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")


def _days(values: pd.Series) -> pd.Series:
    """Date-times at day resolution (times of day dropped)."""
    return _as_dates(values).dt.normalize().astype("datetime64[ns]")


def _survival_columns(
    subjects: pd.DataFrame, status: pd.DataFrame | None
) -> pd.DataFrame:
    out = pd.DataFrame(index=subjects.index)
    ids = subjects["subject_id"]
    if status is not None and len(status) and "subject_id" in status.columns:
        by_id = status.drop_duplicates("subject_id").set_index("subject_id")
        for column in ("death_date", "last_known_alive_date"):
            if column in by_id.columns:
                out[column] = _days(lookup(ids, by_id[column]))
            else:
                out[column] = _empty_dates(subjects.index)
        cause = by_id["death_cause"] if "death_cause" in by_id.columns else None
        out["death_cause"] = (
            lookup(ids, cause).astype("string")
            if cause is not None
            else pd.Series(pd.NA, index=subjects.index, dtype="string")
        )
    else:  # no survival status: the subjects table's own death columns (SDTM DM)
        out["death_date"] = (
            _days(subjects["death_date"])
            if "death_date" in subjects.columns
            else _empty_dates(subjects.index)
        )
        out["last_known_alive_date"] = _empty_dates(subjects.index)
        out["death_cause"] = (
            subjects["death_cause"].astype("string")
            if "death_cause" in subjects.columns
            else pd.Series(pd.NA, index=subjects.index, dtype="string")
        )
    out.loc[out["death_date"].isna(), "death_cause"] = pd.NA
    return out


def derive_adsl(
    tables: Mapping[str, pd.DataFrame],
    protocol: Protocol,
    *,
    cutoff: pd.Timestamp,
    dlt_window_days: int | None = None,
    actual_dose_rule: ActualDoseRule = "max",
    evaluable_rule: EvaluableRule = "dlt_or_complete_window",
    followup_rule: FollowupRule = "cutoff",
) -> pd.DataFrame:
    """Return the subject-level analysis dataset.

    Parameters
    ----------
    tables : Mapping of str to pandas.DataFrame
        Domain tables after the cut-off (:func:`analyses.datasets.apply_cutoff`),
        without source columns: ``subjects``, ``cohorts``, ``administrations`` and
        ``adverse_events`` are required; ``survival_status`` and the other dated
        domains are used when present.
    protocol : schemas.protocol.Protocol
        Dose levels, routes, how escalation runs, cohort roles and the DLT window.
    cutoff : pandas.Timestamp
        The data cut-off (a date).
    dlt_window_days : int, optional
        DLT window; default ``protocol.dlt_window_days``. A DLT counts when its onset
        is on study days 1 to ``dlt_window_days`` (day 1 = day of the first given
        dose).
    actual_dose_rule : {"max", "first"}, default "max"
        The actual dose level is the highest level given (the conservative choice
        for attributing toxicity) or the level of the first given dose.
    evaluable_rule : {"dlt_or_complete_window", "all_treated"}
        DLT-evaluable: treated and either a DLT in the window or followed up to the
        window's last day (default), or every treated subject.
    followup_rule : {"cutoff", "last_contact"}, default "cutoff"
        Follow-up of a subject still on study (not withdrawn, not dead) ends at the
        cut-off (default), or at their last dated record.

    Returns
    -------
    pandas.DataFrame
        The subjects table (one row per subject, in its order) plus the columns of
        :data:`ADSL_COLUMNS`.
    """
    window = protocol.dlt_window_days if dlt_window_days is None else dlt_window_days
    if window < 1:
        raise ValueError(f"dlt_window_days must be >= 1, got {window}")
    subjects = tables["subjects"].reset_index(drop=True)
    cohorts = tables["cohorts"]
    administrations = tables["administrations"]
    adverse_events = tables["adverse_events"]
    out = subjects.copy()
    ids = out["subject_id"]
    index = out.index

    by_cohort = cohorts.drop_duplicates("cohort_id").set_index("cohort_id")
    out["planned_dose_level"] = pd.array(
        out["cohort_id"].map(by_cohort["dose_level"]).to_numpy(), dtype="Int64"
    )
    out["planned_route"] = out["cohort_id"].map(by_cohort["route"]).astype("string")
    out["cohort_role"] = pd.Series(
        [
            protocol.cohort_role(c) if isinstance(c, str) else "escalation"
            for c in out["cohort_id"]
        ],
        index=index,
        dtype="string",
    )

    first = first_given_doses(administrations)
    out["first_dose_date"] = _days(lookup(ids, first["first_dose_date"]))
    out["first_dose_uncertain"] = (
        lookup(ids, first["uncertain"]).astype("boolean").fillna(False).astype(bool)
    )
    given = administrations.loc[given_mask(administrations).to_numpy()]
    given_dates = _days(given["admin_date"])
    out["last_dose_date"] = _days(
        lookup(ids, given_dates.groupby(given["subject_id"].to_numpy()).max())
    )
    out["n_doses_given"] = pd.array(
        lookup(ids, given.groupby("subject_id").size()).fillna(0).to_numpy(),
        dtype="Int64",
    )
    treated = out["first_dose_date"].notna()
    if actual_dose_rule == "max":
        level = pd.to_numeric(given["dose_level"], errors="coerce")
        actual = level.groupby(given["subject_id"].to_numpy()).max()
    elif actual_dose_rule == "first":
        actual = pd.to_numeric(first["dose_level"], errors="coerce")
    else:
        raise ValueError(f"unknown actual_dose_rule {actual_dose_rule!r}")
    dose_level = pd.Series(
        pd.array(lookup(ids, actual).to_numpy(), dtype="Int64"), index=index
    )
    dose_level = dose_level.fillna(out["planned_dose_level"])
    out["dose_level"] = dose_level.mask(~treated).astype("Int64")
    route = lookup(ids, first["route"]).astype("string").fillna(out["planned_route"])
    out["route"] = route.mask(~treated).astype("string")
    shown_level = out["dose_level"].fillna(out["planned_dose_level"])
    shown_route = out["route"].fillna(out["planned_route"])
    if protocol.design.escalation_by == "route":
        out["escalation_group"] = shown_route.astype("string")
    else:
        out["escalation_group"] = pd.Series("pooled", index=index, dtype="string")
    out["group"] = label_groups(protocol, shown_level, shown_route)
    out["safety"] = treated.astype(bool)

    survival = _survival_columns(out, tables.get("survival_status"))
    for column in ("death_date", "death_cause", "last_known_alive_date"):
        out[column] = survival[column]
    if "withdrawal_date" in out.columns:
        out["withdrawal_date"] = _days(out["withdrawal_date"])
    else:
        out["withdrawal_date"] = _empty_dates(index)
    out["last_contact"] = _days(lookup(ids, last_contact_dates(tables)))
    day = pd.Timestamp(cutoff).normalize()
    out["cutoff_date"] = pd.Series(day, index=index, dtype="datetime64[ns]")

    off_study = out[["withdrawal_date", "death_date"]].min(axis=1)
    if followup_rule == "cutoff":
        end = out["cutoff_date"]
    elif followup_rule == "last_contact":
        end = out["last_contact"]
    else:
        raise ValueError(f"unknown followup_rule {followup_rule!r}")
    followup = pd.concat([end, off_study], axis=1).min(axis=1)
    out["followup_end"] = followup.where(treated).astype("datetime64[ns]")
    out["dlt_window_end"] = (
        out["first_dose_date"] + pd.Timedelta(days=window - 1)
    ).astype("datetime64[ns]")

    dlt_onset = _dlt_onsets(adverse_events, out, window)
    out["first_dlt_onset"] = _days(lookup(ids, dlt_onset))
    out["dlt"] = (out["first_dlt_onset"].notna() & treated).astype(bool)
    completed = treated & (out["followup_end"] >= out["dlt_window_end"])
    out["completed_window"] = completed.fillna(False).astype(bool)
    left_early = off_study.notna() & (off_study < out["dlt_window_end"])
    if evaluable_rule == "dlt_or_complete_window":
        evaluable = treated & (out["dlt"] | out["completed_window"])
    elif evaluable_rule == "all_treated":
        evaluable = treated
    else:
        raise ValueError(f"unknown evaluable_rule {evaluable_rule!r}")
    out["dlt_evaluable"] = evaluable.astype(bool)
    # left before the window ended without a DLT, and so not evaluable
    out["withdrawn_in_window"] = (treated & ~evaluable & left_early).astype(bool)
    out["dlt_pending"] = (
        treated & ~out["dlt_evaluable"] & ~out["withdrawn_in_window"]
    ).astype(bool)
    out.attrs = {}
    return out


def _dlt_onsets(
    adverse_events: pd.DataFrame, adsl: pd.DataFrame, window: int
) -> pd.Series:
    """Return the first DLT onset in the window of each subject with one."""
    if adverse_events.empty:
        return pd.Series(dtype="datetime64[ns]")
    first = lookup(
        adverse_events["subject_id"], adsl.set_index("subject_id")["first_dose_date"]
    )
    day = study_day(adverse_events["onset_date"], first)
    inside = dlt_in_window(adverse_events["dlt"], day, window).to_numpy()
    onset = _days(adverse_events["onset_date"])[inside]
    return onset.groupby(adverse_events["subject_id"].to_numpy()[inside]).min()


def dlt_in_window(dlt: pd.Series, day: pd.Series, window: int) -> pd.Series:
    """Return which events are DLTs of the DLT window (the one rule ADSL and ADAE use).

    Parameters
    ----------
    dlt : pandas.Series
        The investigator's DLT flag (missing counts as not a DLT).
    day : pandas.Series
        Study day of each event's onset (:func:`study_day`; missing when unknown).
    window : int
        DLT window: study days 1 to ``window``.

    Returns
    -------
    pandas.Series of bool
        Aligned on ``dlt``.
    """
    flagged = dlt.astype("boolean").fillna(False).astype(bool)
    inside = day.between(1, window).fillna(False).astype(bool)
    return flagged & inside


def study_day(dates: pd.Series, first_dose: pd.Series) -> pd.Series:
    """Return the study day of each date (day 1 = first dose; no day 0).

    Parameters
    ----------
    dates : pandas.Series
        Dates of the records.
    first_dose : pandas.Series
        First-dose date of each record's subject, aligned on ``dates``.

    Returns
    -------
    pandas.Series
        Int64 study days (ADaM ADY convention: day before the first dose is -1).
    """
    delta = (_days(dates) - _days(first_dose)).dt.days
    day = np.where(delta >= 0, delta + 1, delta)
    result = pd.Series(day, index=dates.index, dtype="Float64")
    return result.where(delta.notna()).astype("Int64")
