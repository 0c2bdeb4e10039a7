"""The per-dose-level table a dose-escalation meeting starts from.

From the trial tables (``subjects``, ``cohorts``, ``administrations``,
``adverse_events``) and the protocol:

* a subject is **treated** at the dose level (and route) of their first given
  administration (``given`` true, earliest ``admin_date``, then ``admin_seq``); the
  cohort's planned dose level and route fill in when the administration row lacks them;
* a **DLT** is an adverse event with ``dlt`` true whose onset is within the DLT window:
  ``0 <= onset - first dose <= dlt_window_days`` days (``dlt_window_inclusive=False``
  makes the end exclusive);
* a subject is **DLT-evaluable** when treated and either had a DLT or completed the
  window: followed up to at least first dose + ``dlt_window_days``. Follow-up ends at
  ``data_cutoff`` when given, otherwise at the subject's last record (latest
  administration, AE onset or resolution date, and ``last_contact`` from other domains
  when given, see :func:`derive_contact_dates`), and in both cases no later than a
  consent withdrawal or an ``off_study`` date (e.g. death). Subjects who leave before
  completing the window without a DLT are not evaluable.
  ``evaluable_rule="all_treated"`` counts every treated subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from analyses._results import AnalysisResult, make_provenance
from analyses.dosing import FIRST_DOSE_RULE, first_given_doses
from schemas.protocol import Protocol

__all__ = [
    "DoseLevelTable",
    "derive_contact_dates",
    "derive_dlt_evaluability",
    "tabulate_dose_levels",
]

EvaluableRule = Literal["dlt_or_complete_window", "all_treated"]


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce")


def derive_dlt_evaluability(
    subjects: pd.DataFrame,
    cohorts: pd.DataFrame,
    administrations: pd.DataFrame,
    adverse_events: pd.DataFrame,
    protocol: Protocol,
    *,
    data_cutoff: date | datetime | str | None = None,
    dlt_window_days: int | None = None,
    dlt_window_inclusive: bool = True,
    evaluable_rule: EvaluableRule = "dlt_or_complete_window",
    last_contact: pd.Series | None = None,
    off_study: pd.Series | None = None,
) -> pd.DataFrame:
    """Return one row per subject with treatment, DLT and evaluability status.

    Parameters
    ----------
    subjects, cohorts, administrations, adverse_events : pandas.DataFrame
        Domain tables with the columns of :mod:`schemas.domains`.
    protocol : schemas.protocol.Protocol
        Gives the DLT window and the dose levels.
    data_cutoff : date, datetime or str, optional
        Follow-up of every subject still on study ends here; without it follow-up
        ends at the subject's last record.
    dlt_window_days : int, optional
        DLT window; defaults to ``protocol.dlt_window_days``.
    dlt_window_inclusive : bool, default True
        Whether an onset exactly ``dlt_window_days`` after the first dose counts.
    evaluable_rule : {"dlt_or_complete_window", "all_treated"}
        Who counts as DLT-evaluable.
    last_contact : pandas.Series, optional
        Latest contact date per subject id from other tables (labs, visits, ...;
        see :func:`derive_contact_dates`); extends the last record.
    off_study : pandas.Series, optional
        Date each subject left the study other than by withdrawal (e.g. death), by
        subject id; ends follow-up like a withdrawal.

    Returns
    -------
    pandas.DataFrame
        Columns ``subject_id``, ``cohort_id``, ``treated``, ``first_dose_date``,
        ``dose_level``, ``route``, ``dlt``, ``first_dlt_onset``, ``window_end``,
        ``followup_end``, ``completed_window``, ``withdrawn_in_window``,
        ``evaluable``.
    """
    window = (
        protocol.dlt_window_days if dlt_window_days is None else int(dlt_window_days)
    )
    subj = subjects[["subject_id", "cohort_id"]].copy()
    withdrawal = (
        _dates(subjects["withdrawal_date"])
        if "withdrawal_date" in subjects
        else pd.Series(pd.NaT, index=subjects.index)
    )
    subj["withdrawal_date"] = withdrawal.to_numpy()
    if off_study is not None:
        other = subj["subject_id"].map(_dates(off_study))
        subj["withdrawal_date"] = subj["withdrawal_date"].where(
            other.isna() | (subj["withdrawal_date"] <= other), other
        )
    coh = cohorts[["cohort_id", "dose_level", "route"]].rename(
        columns={"dose_level": "cohort_dose_level", "route": "cohort_route"}
    )
    subj = subj.merge(coh, on="cohort_id", how="left")

    first = (
        first_given_doses(administrations)
        .reset_index()
        .loc[:, ["subject_id", "first_dose_date", "dose_level", "route"]]
        .rename(columns={"dose_level": "admin_dose_level", "route": "admin_route"})
    )
    out = subj.merge(first, on="subject_id", how="left")
    out["treated"] = out["first_dose_date"].notna()
    out["dose_level"] = (
        out["admin_dose_level"]
        .astype("Int64")
        .fillna(out["cohort_dose_level"].astype("Int64"))
    )
    out.loc[~out["treated"], "dose_level"] = pd.NA
    out["route"] = (
        out["admin_route"].astype("string").fillna(out["cohort_route"].astype("string"))
    )
    out.loc[~out["treated"], "route"] = pd.NA

    ae = adverse_events.copy()
    ae["onset_date"] = _dates(ae["onset_date"])
    ae = ae.merge(out[["subject_id", "first_dose_date"]], on="subject_id", how="inner")
    elapsed = (ae["onset_date"] - ae["first_dose_date"]).dt.days
    in_window = (elapsed >= 0) & (
        (elapsed <= window) if dlt_window_inclusive else (elapsed < window)
    )
    is_dlt = ae["dlt"].fillna(False).astype(bool) & in_window.fillna(False)
    first_dlt = ae[is_dlt].groupby("subject_id")["onset_date"].min()
    out["first_dlt_onset"] = out["subject_id"].map(first_dlt)
    out["dlt"] = out["first_dlt_onset"].notna() & out["treated"]

    # last record per subject: administrations and AE dates
    records = [
        administrations[["subject_id"]].assign(d=_dates(administrations["admin_date"])),
        adverse_events[["subject_id"]].assign(d=_dates(adverse_events["onset_date"])),
    ]
    if "resolution_date" in adverse_events:
        records.append(
            adverse_events[["subject_id"]].assign(
                d=_dates(adverse_events["resolution_date"])
            )
        )
    if last_contact is not None:
        records.append(
            pd.DataFrame(
                {"subject_id": last_contact.index, "d": _dates(last_contact).to_numpy()}
            )
        )
    last = pd.concat(records).groupby("subject_id")["d"].max()
    if data_cutoff is not None:
        followup = pd.Series(pd.Timestamp(data_cutoff), index=out.index)
    else:
        followup = out["subject_id"].map(last)
    followup = followup.where(
        out["withdrawal_date"].isna() | (followup <= out["withdrawal_date"]),
        out["withdrawal_date"],
    )
    out["followup_end"] = followup
    out["window_end"] = out["first_dose_date"] + pd.to_timedelta(window, unit="D")
    out["completed_window"] = out["treated"] & (
        out["followup_end"] >= out["window_end"]
    )
    out["withdrawn_in_window"] = (
        out["treated"]
        & out["withdrawal_date"].notna()
        & (out["withdrawal_date"] < out["window_end"])
    )
    if evaluable_rule == "all_treated":
        out["evaluable"] = out["treated"]
    elif evaluable_rule == "dlt_or_complete_window":
        out["evaluable"] = out["treated"] & (out["dlt"] | out["completed_window"])
    else:
        raise ValueError(f"unknown evaluable_rule {evaluable_rule!r}")
    cols = [
        "subject_id",
        "cohort_id",
        "treated",
        "first_dose_date",
        "dose_level",
        "route",
        "dlt",
        "first_dlt_onset",
        "window_end",
        "followup_end",
        "completed_window",
        "withdrawn_in_window",
        "evaluable",
    ]
    return out[cols]


#: Date columns that show a subject was in contact, per domain.
CONTACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "labs": ("lab_date",),
    "mri": ("scan_date",),
    "immunomonitoring": ("collection_date",),
    "disease_assessments": ("assessment_date",),
    "biobank_samples": ("collection_time",),
    "survival_status": ("last_known_alive_date", "death_date"),
}


def derive_contact_dates(
    tables: Mapping[str, pd.DataFrame],
) -> tuple[pd.Series, pd.Series]:
    """Return each subject's last contact date and date of death from other domains.

    Parameters
    ----------
    tables : Mapping of str to pandas.DataFrame
        Domain tables; the ones in :data:`CONTACT_COLUMNS` that are present are used.

    Returns
    -------
    tuple of pandas.Series
        ``last_contact`` and ``death`` (``survival_status.death_date``), indexed by
        subject id; pass them as ``last_contact=`` and ``off_study=``.
    """
    parts = []
    for name, cols in CONTACT_COLUMNS.items():
        data = tables.get(name)
        if data is None or "subject_id" not in data:
            continue
        for col in cols:
            if col in data:
                parts.append(
                    pd.DataFrame(
                        {"subject_id": data["subject_id"], "d": _dates(data[col])}
                    )
                )
    frame = (
        pd.concat(parts)
        if parts
        else pd.DataFrame(
            {"subject_id": pd.Series(dtype=str), "d": pd.Series(dtype="datetime64[ns]")}
        )
    )
    last = frame.dropna().groupby("subject_id")["d"].max()
    surv = tables.get("survival_status")
    if surv is not None and "death_date" in surv:
        death = (
            pd.DataFrame(
                {"subject_id": surv["subject_id"], "d": _dates(surv["death_date"])}
            )
            .dropna()
            .groupby("subject_id")["d"]
            .min()
        )
    else:
        death = pd.Series(dtype="datetime64[ns]")
    return last, death


@dataclass(frozen=True, kw_only=True)
class DoseLevelTable(AnalysisResult):
    """Treated, DLT-evaluable and DLT counts per dose level (and route).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per dose level (per route when ``by_route``): ``route`` (when by
        route), ``dose_level``, ``dose`` (amount and unit), ``treated``,
        ``evaluable``, ``dlt``, ``pending`` (treated, not yet evaluable, no DLT),
        ``not_evaluable`` (withdrawn in window without DLT).
    subjects : pandas.DataFrame
        The per-subject frame of :func:`derive_dlt_evaluability`.
    by_route : bool
        Whether rows are split by route.
    n_doses : int
        Number of protocol dose levels.
    """

    table: pd.DataFrame
    subjects: pd.DataFrame
    by_route: bool
    n_doses: int

    def to_frame(self) -> pd.DataFrame:
        """Return the long frame.

        Returns
        -------
        pandas.DataFrame
            Group columns (``route`` if split, ``dose_level``), ``stat``, ``value``.
        """
        groups = (["route"] if self.by_route else []) + ["dose_level"]
        stats_ = ["treated", "evaluable", "dlt", "pending", "not_evaluable"]
        long = self.table.melt(id_vars=groups, value_vars=stats_, var_name="stat")
        long["value"] = long["value"].astype(float)
        return long

    def summary(self) -> pd.DataFrame:
        """Return the table.

        Returns
        -------
        pandas.DataFrame
            One row per dose level (and route).
        """
        return self.table.copy()

    @property
    def routes(self) -> list[str]:
        """Routes with rows in the table (``["all"]`` when not split)."""
        return list(dict.fromkeys(self.table["route"])) if self.by_route else ["all"]

    def counts(
        self, route: str | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Return DLT-evaluable patients and DLTs per dose level, for a design.

        Parameters
        ----------
        route : str, optional
            Route to select when the table is split by route.

        Returns
        -------
        tuple of numpy.ndarray
            ``n`` and ``y`` over dose levels 1..K.
        """
        t = self.table
        if self.by_route:
            if route is None:
                raise ValueError(f"choose a route: {', '.join(self.routes)}")
            t = t[t["route"] == route]
        t = t.set_index("dose_level").reindex(range(1, self.n_doses + 1), fill_value=0)
        return t["evaluable"].to_numpy(np.int64), t["dlt"].to_numpy(np.int64)

    def current(self, route: str | None = None) -> tuple[int | None, int | None, int]:
        """Return the dose level of the latest treated cohort and its DLTs.

        Parameters
        ----------
        route : str, optional
            Route to select when the table is split by route.

        Returns
        -------
        tuple
            ``(dose_level, dlts_in_last_cohort, subjects_in_last_cohort)``; the dose
            level is None when nobody is treated yet.
        """
        s = self.subjects[self.subjects["treated"]]
        if self.by_route and route is not None:
            s = s[s["route"] == route]
        if s.empty:
            return None, None, 0
        latest = s.sort_values("first_dose_date").iloc[-1]
        cohort = s[s["cohort_id"] == latest["cohort_id"]]
        return int(latest["dose_level"]), int(cohort["dlt"].sum()), len(cohort)


def tabulate_dose_levels(
    subjects: pd.DataFrame,
    cohorts: pd.DataFrame,
    administrations: pd.DataFrame,
    adverse_events: pd.DataFrame,
    protocol: Protocol,
    *,
    by_route: bool | None = None,
    data_cutoff: date | datetime | str | None = None,
    dlt_window_days: int | None = None,
    dlt_window_inclusive: bool = True,
    evaluable_rule: EvaluableRule = "dlt_or_complete_window",
    last_contact: pd.Series | None = None,
    off_study: pd.Series | None = None,
) -> DoseLevelTable:
    """Tabulate treated, DLT-evaluable subjects and DLTs per dose level.

    Parameters
    ----------
    subjects, cohorts, administrations, adverse_events : pandas.DataFrame
        Domain tables.
    protocol : schemas.protocol.Protocol
        Dose levels, routes and DLT window.
    by_route : bool, optional
        Split by route; default: when the protocol allows several routes.
    data_cutoff, dlt_window_days, dlt_window_inclusive, evaluable_rule
        See :func:`derive_dlt_evaluability`.
    last_contact, off_study : pandas.Series, optional
        See :func:`derive_dlt_evaluability` and :func:`derive_contact_dates`.

    Returns
    -------
    DoseLevelTable
        Counts per dose level (and route) with every protocol dose level present.
    """
    per = derive_dlt_evaluability(
        subjects,
        cohorts,
        administrations,
        adverse_events,
        protocol,
        data_cutoff=data_cutoff,
        dlt_window_days=dlt_window_days,
        dlt_window_inclusive=dlt_window_inclusive,
        evaluable_rule=evaluable_rule,
        last_contact=last_contact,
        off_study=off_study,
    )
    split = len(protocol.routes) > 1 if by_route is None else bool(by_route)
    treated = per[per["treated"]].copy()
    treated["pending"] = ~treated["evaluable"] & ~treated["withdrawn_in_window"]
    treated["not_evaluable"] = ~treated["evaluable"] & treated["withdrawn_in_window"]
    groups = (["route"] if split else []) + ["dose_level"]
    agg = treated.groupby(groups, observed=True)[
        ["treated", "evaluable", "dlt", "pending", "not_evaluable"]
    ].sum()
    levels = [d.level for d in protocol.dose_levels]
    index: pd.Index
    if split:
        routes = [str(r) for r in protocol.routes]
        index = pd.MultiIndex.from_product([routes, levels], names=groups)
    else:
        index = pd.Index(levels, name="dose_level")
    table = agg.reindex(index, fill_value=0).astype("int64").reset_index()
    table["dose_level"] = table["dose_level"].astype("int64")
    dose_label = {d.level: f"{d.amount:g} {d.unit}" for d in protocol.dose_levels}
    table.insert(
        len(groups), "dose", table["dose_level"].map(dose_label).astype("string")
    )
    window = (
        protocol.dlt_window_days if dlt_window_days is None else int(dlt_window_days)
    )
    return DoseLevelTable(
        table=table,
        subjects=per,
        by_route=split,
        n_doses=len(levels),
        provenance=make_provenance(
            "tabulate_dose_levels",
            inputs={
                "subjects": subjects,
                "cohorts": cohorts,
                "administrations": administrations,
                "adverse_events": adverse_events,
            },
            by_route=split,
            data_cutoff=None
            if data_cutoff is None
            else str(pd.Timestamp(data_cutoff).date()),
            dlt_window_days=window,
            dlt_window_inclusive=dlt_window_inclusive,
            evaluable_rule=evaluable_rule,
            first_dose=FIRST_DOSE_RULE,
            other_contacts=last_contact is not None,
            off_study_dates=off_study is not None,
        ),
    )
