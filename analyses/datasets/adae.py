"""ADAE, ADEX and ADTTE: event-level datasets keyed to ADSL.

Each record carries its subject's group, dose level, route, escalation and cohort role
from ADSL, and its study day counted from the ADSL first dose, so that no table derives
them again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from analyses.datasets.adsl import dlt_in_window, study_day
from analyses.safety.teae import MissingOnsetRule, derive_teae

__all__ = [
    "SUBJECT_COLUMNS",
    "attach_subject_columns",
    "derive_adae",
    "derive_adex",
    "derive_endpoints",
]

#: ADSL columns copied onto every event-level record.
SUBJECT_COLUMNS = (
    "group",
    "dose_level",
    "route",
    "escalation_group",
    "cohort_role",
    "safety",
    "first_dose_date",
)


def attach_subject_columns(
    data: pd.DataFrame, adsl: pd.DataFrame, columns: Sequence[str] = SUBJECT_COLUMNS
) -> pd.DataFrame:
    """Return ``data`` with its subjects' ADSL columns.

    Records of subjects ADSL does not have get missing values and ``safety`` false.

    Parameters
    ----------
    data : pandas.DataFrame
        Records with ``subject_id``.
    adsl : pandas.DataFrame
        The subject-level dataset.
    columns : sequence of str
        ADSL columns to copy.

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` with the columns (categorical ``group`` kept categorical).
    """
    out = data.copy()
    by_id = adsl.set_index("subject_id")
    for column in columns:
        values = out["subject_id"].map(by_id[column])
        if isinstance(by_id[column].dtype, pd.CategoricalDtype):
            values = pd.Series(
                pd.Categorical(
                    values.astype(object),
                    categories=by_id[column].cat.categories,
                    ordered=by_id[column].cat.ordered,
                ),
                index=out.index,
            )
        elif column == "safety":
            values = values.astype("boolean").fillna(False).astype(bool)
        else:
            values = values.astype(by_id[column].dtype)
        out[column] = values
    return out


def derive_adae(
    adverse_events: pd.DataFrame,
    adsl: pd.DataFrame,
    *,
    dlt_window_days: int,
    teae_window_days: int | None = None,
    worsening: bool = True,
    missing_onset: MissingOnsetRule = "teae",
) -> pd.DataFrame:
    """Return the adverse-event analysis dataset.

    Parameters
    ----------
    adverse_events : pandas.DataFrame
        The adverse events after the cut-off.
    adsl : pandas.DataFrame
        The subject-level dataset (:func:`analyses.datasets.derive_adsl`).
    dlt_window_days : int
        The DLT window of ADSL (study days 1 to ``dlt_window_days``).
    teae_window_days, worsening, missing_onset
        The treatment-emergence rule (:func:`analyses.safety.derive_teae`).

    Returns
    -------
    pandas.DataFrame
        The events plus ``study_day`` (onset, day 1 = first dose), ``teae``,
        ``teae_reason``, ``dlt_in_window`` (flagged DLT with onset in the window of
        a treated subject: the DLTs every table counts) and the ADSL columns of
        :data:`SUBJECT_COLUMNS`.
    """
    teae = derive_teae(
        adverse_events.reset_index(drop=True),
        adsl[["subject_id", "first_dose_date", "last_dose_date"]],
        window_days=teae_window_days,
        worsening=worsening,
        missing_onset=missing_onset,
    )
    rule = dict(teae.attrs)
    out = attach_subject_columns(teae, adsl)
    out["study_day"] = study_day(out["onset_date"], out["first_dose_date"])
    in_window = dlt_in_window(out["dlt"], out["study_day"], dlt_window_days)
    out["dlt_in_window"] = (in_window & out["safety"]).astype(bool)
    out.attrs = rule
    return out


def derive_adex(administrations: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """Return the exposure analysis dataset.

    Parameters
    ----------
    administrations : pandas.DataFrame
        The administrations after the cut-off.
    adsl : pandas.DataFrame
        The subject-level dataset.

    Returns
    -------
    pandas.DataFrame
        The administrations plus ``study_day`` and the ADSL columns of
        :data:`SUBJECT_COLUMNS`.
    """
    out = attach_subject_columns(administrations.reset_index(drop=True), adsl)
    out["study_day"] = study_day(out["admin_date"], out["first_dose_date"])
    return out


def derive_endpoints(
    tables: Mapping[str, pd.DataFrame],
    adsl: pd.DataFrame,
    endpoints: Sequence[str],
    *,
    cutoff: pd.Timestamp,
    assessment_schedule: float | Sequence[float] | None = None,
) -> pd.DataFrame:
    """Return the time-to-event dataset (ADTTE) of the protocol's endpoints.

    Parameters
    ----------
    tables : Mapping of str to pandas.DataFrame
        Domain tables after the cut-off.
    adsl : pandas.DataFrame
        The subject-level dataset.
    endpoints : sequence of str
        Parameters to derive (``PFS``, ``OS``, ``RFS``, ``DOR``); none gives an
        empty frame.
    cutoff : pandas.Timestamp
        The data cut-off (censoring date of subjects followed beyond it).
    assessment_schedule : float, sequence of float or None
        The missed-assessment rule of :func:`analyses.survival.derive_adtte` (None:
        not applied).

    Returns
    -------
    pandas.DataFrame
        ADTTE rows with the ADSL columns of :data:`SUBJECT_COLUMNS`.
    """
    from analyses.survival.derive import derive_adtte

    needed = ("disease_assessments", "survival_status")
    if not endpoints or any(name not in tables for name in needed):
        empty = pd.DataFrame(
            {
                "subject_id": pd.Series(dtype="string"),
                "PARAMCD": pd.Series(dtype="string"),
                "AVAL": pd.Series(dtype="float"),
                "CNSR": pd.Series(dtype="Int64"),
            }
        )
        return attach_subject_columns(empty, adsl)
    adtte = derive_adtte(
        tables["subjects"],
        tables["administrations"],
        tables["disease_assessments"],
        tables["survival_status"],
        parameters=tuple(endpoints),  # type: ignore[arg-type]
        assessment_schedule=assessment_schedule,
        data_cutoff=cutoff,
    )
    return attach_subject_columns(adtte.reset_index(drop=True), adsl)
