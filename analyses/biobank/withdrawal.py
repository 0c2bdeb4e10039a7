"""Samples to destroy after a subject withdraws consent."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from analyses._results import make_provenance
from analyses.biobank._flags import SampleFlagResult, make_flag_result
from schemas.terms import ConsentScope, ConsentStatus

__all__ = ["WithdrawalScope", "list_samples_to_destroy"]

#: Which samples of a subject who left the trial must go.
WithdrawalScope = Literal["trial_only", "all"]


def list_samples_to_destroy(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    *,
    trial_withdrawal_scope: WithdrawalScope = "trial_only",
    as_of: pd.Timestamp | str | None = None,
) -> SampleFlagResult:
    """List the samples that must be destroyed after consent withdrawal.

    Two situations are distinguished:

    * the sample's own ``consent_status`` is ``WITHDRAWN`` (consent fully
      withdrawn): the sample must go whatever its scope (rule
      ``consent_withdrawn``);
    * the subject has a ``withdrawal_date`` (withdrew from the trial) but the
      sample's consent is still active: with ``trial_withdrawal_scope="trial_only"``
      only samples held under ``TRIAL ONLY`` consent must go, because future-research
      consent survives leaving the trial; with ``"all"`` every sample must go (rule
      ``trial_withdrawal``).

    Samples already destroyed (``destroyed_date`` set) are never listed.

    Parameters
    ----------
    data : pandas.DataFrame
        Biobank samples.
    subjects : pandas.DataFrame
        Subjects (``subject_id``, ``withdrawal_date``).
    trial_withdrawal_scope : {"trial_only", "all"}, default "trial_only"
        Which samples a trial withdrawal (with active sample consent) reaches.
    as_of : timestamp or str, optional
        Date to measure how long the destruction is pending (``value`` =
        ``days_since_withdrawal``); missing when not given or when the withdrawal
        date is unknown.

    Returns
    -------
    SampleFlagResult
        One row per sample to destroy.
    """
    withdrawal = subjects.drop_duplicates("subject_id").set_index("subject_id")[
        "withdrawal_date"
    ]
    s = data.assign(withdrawal_date=data["subject_id"].map(withdrawal))
    live = s["destroyed_date"].isna()
    full = live & (s["consent_status"] == ConsentStatus.WITHDRAWN.value)
    left_trial = live & ~full & s["withdrawal_date"].notna()
    if trial_withdrawal_scope == "trial_only":
        left_trial &= s["consent_scope"] == ConsentScope.TRIAL_ONLY.value
    elif trial_withdrawal_scope != "all":
        raise ValueError(f"unknown trial_withdrawal_scope {trial_withdrawal_scope!r}")
    if as_of is None:
        days = pd.Series(np.nan, index=s.index)
    else:
        days = (
            pd.Timestamp(as_of) - pd.to_datetime(s["withdrawal_date"])
        ).dt.days.astype(float)
    parts = []
    for rule, mask, text in (
        ("consent_withdrawn", full, "consent for this sample was withdrawn"),
        ("trial_withdrawal", left_trial, "subject withdrew from the trial; scope "),
    ):
        part = s.loc[mask, ["sample_id", "subject_id", "consent_scope"]].copy()
        part["rule"] = rule
        part["stat"] = "days_since_withdrawal"
        part["value"] = days[mask]
        part["message"] = text + (
            "'" + part["consent_scope"] + "' must go"
            if rule == "trial_withdrawal"
            else ""
        )
        parts.append(part)
    prov = make_provenance(
        "list_samples_to_destroy",
        inputs={"data": data, "subjects": subjects},
        trial_withdrawal_scope=trial_withdrawal_scope,
        as_of=None if as_of is None else str(pd.Timestamp(as_of).date()),
    )
    return make_flag_result(parts, provenance=prov, n_checked=len(data))
