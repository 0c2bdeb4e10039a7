"""Derive an ADTTE-style time-to-event frame (PFS, OS, RFS, DOR) from the domain tables.

One row per subject and parameter, every event or censoring kept with its reason and
date (ADaM ADTTE names): ``PARAMCD``, ``PARAM``, ``STARTDT`` (origin), ``ADT`` (event or
censoring date), ``AVAL`` (time in ``AVALU``), ``CNSR`` (0 = event, a distinct positive
code per censoring reason), ``EVNTDESC``, ``CNSDTDSC``.

Default rules (FDA 2007 guidance on cancer endpoints, Appendix 3 style; see
``docs/survival.md``), each a named option:

- documented progression / relapse: event (CNSR 0) at the first assessment showing it;
- death without progression and without >= k missed assessments before it: event
  (CNSR 0) at death;
- progression or death after >= k missed scheduled assessments: CNSR 4 at the last
  adequate assessment before it (CNSR 2 at the origin when there is none);
- new anticancer therapy before the event: CNSR 3 at the last adequate assessment on
  or before its start (origin if none);
- alive without event: CNSR 1 at the last adequate assessment;
- no adequate post-origin assessment and no early death: CNSR 2 at the origin;
- OS: death = event (CNSR 0); alive = CNSR 1 at last known alive; no survival-status
  row = CNSR 2 at the last contact on record.

Dates are compared as calendar days (times of day are dropped). An *adequate*
assessment has a response other than missing or ``NE``, or documents
progression. Only assessments after the origin (and on or before ``data_cutoff``) count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from analyses._lookup import lookup

__all__ = [
    "CNSR_CODES",
    "derive_adtte",
    "derive_time_origin",
]

Origin = Literal["first_administration", "enrolment"]
Unit = Literal["days", "weeks", "months", "years"]
Parameter = Literal["PFS", "OS", "RFS", "DOR"]

#: Censoring codes (ADaM CNSR) and their descriptions.
CNSR_CODES: dict[int, str] = {
    1: "LAST ADEQUATE ASSESSMENT",
    2: "NO ADEQUATE POST-BASELINE ASSESSMENT",
    3: "NEW ANTICANCER THERAPY",
    4: "EVENT AFTER MISSED ASSESSMENTS",
}
OS_CNSR_CODES: dict[int, str] = {1: "LAST KNOWN ALIVE", 2: "NO SURVIVAL STATUS"}

_PARAMS = {
    "PFS": "Progression-free survival",
    "OS": "Overall survival",
    "RFS": "Relapse-free survival (from first CR/CRi)",
    "DOR": "Duration of response",
}


def derive_time_origin(
    subjects: pd.DataFrame,
    administrations: pd.DataFrame | None = None,
    *,
    origin: Origin = "first_administration",
) -> pd.Series:
    """Return the time origin (STARTDT) of every subject.

    Parameters
    ----------
    subjects : pandas.DataFrame
        The subjects table (``subject_id``, ``enrolment_date``).
    administrations : pandas.DataFrame, optional
        The administrations table (``subject_id``, ``admin_date``, ``given``);
        required for ``origin="first_administration"``.
    origin : {"first_administration", "enrolment"}
        First given administration (infusion) or enrolment.

    Returns
    -------
    pandas.Series
        Origin date by ``subject_id`` (NaT when the subject has none, e.g. never
        dosed), index = every subject of ``subjects``.
    """
    ids = subjects["subject_id"]
    if origin == "enrolment":
        if "enrolment_date" not in subjects.columns:
            raise KeyError("origin='enrolment' needs subjects.enrolment_date")
        out = pd.to_datetime(subjects["enrolment_date"]).dt.normalize().set_axis(ids)
    elif origin == "first_administration":
        if administrations is None:
            raise ValueError("origin='first_administration' needs administrations")
        given = administrations[administrations["given"].fillna(False).astype(bool)]
        dates = pd.to_datetime(given["admin_date"]).dt.normalize()
        first = dates.groupby(given["subject_id"]).min()
        out = first.reindex(ids)
    else:
        raise ValueError(
            f"origin must be 'first_administration' or 'enrolment', got {origin!r}"
        )
    out.name = "STARTDT"
    out.index.name = "subject_id"
    return out


def _missed(
    gap_days: pd.Series,
    schedule: float | Sequence[float],
    last_day: pd.Series,
    window: float,
) -> pd.Series:
    """Count the scheduled assessments missed between the last one and an event."""
    if isinstance(schedule, int | float):
        interval = float(schedule)
        room = gap_days - window
        n = np.where(room > 0, np.ceil(room / interval) - 1, 0)
        return pd.Series(n, index=gap_days.index)
    days = np.sort(np.asarray(schedule, dtype=float))
    event_day = (last_day + gap_days).to_numpy(dtype=float)
    lo = np.searchsorted(days, last_day.to_numpy(dtype=float) + window, side="right")
    hi = np.searchsorted(days, event_day - window, side="left")
    return pd.Series(np.maximum(hi - lo, 0), index=gap_days.index)


def _last_before(
    keys: pd.DataFrame, assessments: pd.DataFrame, *, inclusive: bool
) -> pd.Series:
    """Last adequate assessment date before (or on) ``keys.date`` per subject."""
    left = keys.dropna(subset=["date"]).sort_values("date")
    right = assessments[["subject_id", "assessment_date"]].sort_values(
        "assessment_date"
    )
    if left.empty:
        return pd.Series(pd.NaT, index=keys["subject_id"], dtype="datetime64[ns]")
    merged = pd.merge_asof(
        left,
        right,
        left_on="date",
        right_on="assessment_date",
        by="subject_id",
        direction="backward",
        allow_exact_matches=inclusive,
    )
    return (
        merged.set_index("subject_id")["assessment_date"]
        .reindex(keys["subject_id"])
        .astype("datetime64[ns]")
    )


def _event_free(
    start: pd.Series,
    assessments: pd.DataFrame,
    death: pd.Series,
    new_therapy: pd.Series,
    *,
    schedule: float | Sequence[float] | None,
    missed_assessments: int,
    window_days: float,
    censor_new_therapy: bool,
    include_start: bool = False,
) -> pd.DataFrame:
    """Event or censoring of a progression-type endpoint for subjects with a start."""
    ids = start.index
    a = assessments.assign(start=lookup(assessments["subject_id"], start))
    a = a[a["start"].notna()]
    after = (
        a["assessment_date"] >= a["start"]
        if include_start
        else (a["assessment_date"] > a["start"])
    )
    a = a[after]
    adequate = a[a["adequate"]]
    first_pd = (
        adequate[adequate["is_progression"]]
        .groupby("subject_id")["assessment_date"]
        .min()
        .reindex(ids)
    )
    death = death.reindex(ids).where(death.reindex(ids) >= start)
    pd_first = first_pd.notna() & (death.isna() | (first_pd <= death))
    event_date = first_pd.where(pd_first, death)
    event_kind = pd.Series(
        np.where(pd_first, "DISEASE PROGRESSION", np.where(death.notna(), "DEATH", "")),
        index=ids,
    )
    last_any = adequate.groupby("subject_id")["assessment_date"].max().reindex(ids)
    keys = pd.DataFrame({"subject_id": ids, "date": event_date.to_numpy()})
    last_before_event = _last_before(keys, adequate, inclusive=False)
    last_before_event.index = ids

    out = pd.DataFrame(index=ids)
    out["STARTDT"] = start
    out["ADT"] = pd.NaT
    out["CNSR"] = pd.array([pd.NA] * len(ids), dtype="Int64")
    out["EVNTDESC"] = ""
    out["CNSDTDSC"] = ""
    has_event = event_date.notna()

    # new anticancer therapy before the event (or with no event)
    nt = new_therapy.reindex(ids)
    nt = nt.where(nt > start)
    by_therapy = (
        censor_new_therapy & nt.notna() & (event_date.isna() | (nt < event_date))
    )
    keys_nt = pd.DataFrame({"subject_id": ids, "date": nt.to_numpy()})
    last_before_nt = _last_before(keys_nt, adequate, inclusive=True)
    last_before_nt.index = ids

    # event after >= k missed scheduled assessments
    anchor = last_before_event.fillna(start)
    if schedule is not None and missed_assessments > 0:
        gap = (event_date - anchor).dt.days.astype(float)
        last_day = (anchor - start).dt.days.astype(float)
        n_missed = _missed(gap, schedule, last_day, window_days)
        by_missed = has_event & ~by_therapy & (n_missed >= missed_assessments)
    else:
        n_missed = pd.Series(0.0, index=ids)
        by_missed = pd.Series(False, index=ids)

    event = has_event & ~by_therapy & ~by_missed
    no_event = ~has_event & ~by_therapy
    out.loc[event, "ADT"] = event_date[event]
    out.loc[event, "CNSR"] = 0
    out.loc[event, "EVNTDESC"] = event_kind[event]
    out.loc[by_therapy, "ADT"] = last_before_nt.fillna(start)[by_therapy]
    out.loc[by_therapy, "CNSR"] = 3
    out.loc[by_missed, "ADT"] = anchor[by_missed]
    out.loc[by_missed, "CNSR"] = 4
    # an event after missed assessments with no adequate assessment before it:
    # "no adequate post-baseline assessment and no early death" (censored at origin)
    never = by_missed & last_before_event.isna()
    out.loc[never, "CNSR"] = 2
    with_last = no_event & last_any.notna()
    out.loc[with_last, "ADT"] = last_any[with_last]
    out.loc[with_last, "CNSR"] = 1
    without = no_event & last_any.isna()
    out.loc[without, "ADT"] = start[without]
    out.loc[without, "CNSR"] = 2
    censored = ~event
    out.loc[censored, "CNSDTDSC"] = (
        out.loc[censored, "CNSR"].astype(int).map(CNSR_CODES).fillna("")
    )
    out["N_MISSED"] = n_missed.where(has_event).astype(float)
    out["ADT"] = pd.to_datetime(out["ADT"])
    return out


def _overall_survival(
    start: pd.Series,
    status: pd.DataFrame,
    last_contact: pd.Series,
) -> pd.DataFrame:
    ids = start.index
    st = status.set_index("subject_id").reindex(ids)
    death = pd.to_datetime(st["death_date"])
    alive = pd.to_datetime(st["last_known_alive_date"])
    out = pd.DataFrame(index=ids)
    out["STARTDT"] = start
    dead = death.notna()
    known = alive.notna() & ~dead
    unknown = ~dead & ~known
    out["ADT"] = death.where(dead, alive.where(known, last_contact.reindex(ids)))
    out["CNSR"] = pd.array(np.where(dead, 0, np.where(known, 1, 2)), dtype="Int64")
    out["EVNTDESC"] = np.where(dead, "DEATH", "")
    out["CNSDTDSC"] = np.where(
        known, OS_CNSR_CODES[1], np.where(unknown, OS_CNSR_CODES[2], "")
    )
    out["N_MISSED"] = np.nan
    return out


def _apply_cutoff(
    frame: pd.DataFrame, column: str, cutoff: pd.Timestamp | None
) -> None:
    if cutoff is not None and column in frame.columns:
        frame.loc[pd.to_datetime(frame[column]) > cutoff, column] = pd.NaT


def derive_adtte(
    subjects: pd.DataFrame,
    administrations: pd.DataFrame | None,
    disease_assessments: pd.DataFrame,
    survival_status: pd.DataFrame,
    *,
    cohorts: pd.DataFrame | None = None,
    parameters: Sequence[Parameter] = ("PFS", "OS"),
    origin: Origin = "first_administration",
    unit: Unit = "days",
    days_per_month: float = 30.4375,
    add_one_day: bool = True,
    assessment_schedule: float | Sequence[float] | None,
    missed_assessments: int = 2,
    assessment_window_days: float = 0.0,
    censor_new_therapy: bool = True,
    progression_responses: Sequence[str] = ("PD", "RELAPSE"),
    remission_responses: Sequence[str] = ("CR", "CRi"),
    response_values: Sequence[str] = ("CR", "CRi", "MLFS", "PR"),
    data_cutoff: str | pd.Timestamp | None = None,
    mrd_relapse_threshold: float | None = None,
) -> pd.DataFrame:
    """Derive ADTTE rows for PFS, OS, RFS and duration of response.

    Parameters
    ----------
    subjects, administrations, disease_assessments, survival_status : pandas.DataFrame
        The domain tables (column names as in ``schemas.domains``).
    cohorts : pandas.DataFrame, optional
        The cohorts table; when given, ``cohort_id``, ``dose_level`` and ``route`` are
        added so results can be compared by dose level or route.
    parameters : sequence of {"PFS", "OS", "RFS", "DOR"}
        Parameters to derive. RFS starts at the first CR/CRi (``remission_responses``)
        and DOR at the first response (``response_values``); both only for subjects
        with such a response, with progression/relapse or death as events.
    origin : {"first_administration", "enrolment"}
        Time origin of PFS and OS (STARTDT).
    unit : {"days", "weeks", "months", "years"}
        Unit of ``AVAL``: days, or days / 7, / ``days_per_month``, / 365.25.
    days_per_month : float
        Days per month for ``unit="months"`` (default 30.4375 = 365.25 / 12).
    add_one_day : bool
        ``AVAL`` in days = ADT - STARTDT + 1 (origin is day 1, the ADaM/admiral
        ``derive_vars_duration`` default) when True; ADT - STARTDT when False.
    assessment_schedule : float, sequence of float or None
        Required (the rule's default is on, but its schedule is trial-specific).
        For the missed-assessment rule: the assessment interval in days (an event
        more than ``missed_assessments * interval + assessment_window_days`` days
        after the last adequate assessment follows that many missed assessments),
        or the scheduled disease-assessment days since the origin (e.g. the
        protocol's assessment visits, day 0 = first dose; a visit is missed when its
        day, widened by the window, lies between the last adequate assessment and
        the event). None disables the rule explicitly.
    missed_assessments : int
        Number of consecutive missed assessments that makes an event censored at
        the last adequate assessment (default 2, FDA).
    assessment_window_days : float
        Visit window added to each scheduled day (default 0).
    censor_new_therapy : bool
        Censor at the last adequate assessment on or before the start of a new
        anticancer therapy begun before the event (default True). A therapy started
        on the event date does not censor.
    progression_responses : sequence of str
        Responses that document progression or relapse, besides ``progression``.
    remission_responses, response_values : sequence of str
        Responses that start RFS and DOR.
    data_cutoff : str or Timestamp, optional
        Assessments, deaths, new therapies and contacts after it are ignored.
    mrd_relapse_threshold : float, optional
        When given (e.g. 0.1 for flow MRD, in %), an assessment with
        ``mrd_pct >= threshold`` after an earlier MRD-negative one (``< threshold``)
        counts as relapse (MRD relapse, ELN 2021) for every parameter. Default None:
        MRD is not used.

    Returns
    -------
    pandas.DataFrame
        One row per subject and parameter: ``subject_id`` (plus ``cohort_id``,
        ``dose_level``, ``route`` with ``cohorts``), ``PARAMCD``, ``PARAM``,
        ``STARTDT``, ``ADT``, ``AVAL``, ``AVALU``, ``CNSR``, ``EVNTDESC``,
        ``CNSDTDSC``, ``N_MISSED`` (scheduled assessments missed before the event).
        Subjects without an origin (never dosed) have missing ``AVAL``/``CNSR``
        and ``CNSDTDSC = "NO TIME ORIGIN"``; analyses drop them.
    """
    unknown = set(parameters) - set(_PARAMS)
    if unknown:
        raise ValueError(
            f"unknown parameters {sorted(unknown)}; known: {list(_PARAMS)}"
        )
    if unit not in ("days", "weeks", "months", "years"):
        raise ValueError(f"unit must be days, weeks, months or years, got {unit!r}")
    cutoff = None if data_cutoff is None else pd.Timestamp(data_cutoff)
    start = derive_time_origin(subjects, administrations, origin=origin)
    if cutoff is not None:
        start = start.where(start <= cutoff)

    assess = disease_assessments.copy()
    assess["assessment_date"] = pd.to_datetime(assess["assessment_date"]).dt.normalize()
    if cutoff is not None:
        assess = assess[assess["assessment_date"] <= cutoff]
    response = assess["response"].astype("string")
    progression = assess["progression"].fillna(False).astype(bool)
    assess["is_progression"] = progression | response.isin(
        progression_responses
    ).fillna(False).astype(bool)
    if mrd_relapse_threshold is not None:
        assess = assess.sort_values(["subject_id", "assessment_date"])
        if "mrd_pct" not in assess.columns:
            raise KeyError("mrd_relapse_threshold needs disease_assessments.mrd_pct")
        mrd = pd.to_numeric(assess["mrd_pct"], errors="coerce")
        negative = (mrd < mrd_relapse_threshold).astype(float)
        # MRD negative at an earlier assessment of the same subject
        before = (
            negative.groupby(assess["subject_id"])
            .cummax()
            .groupby(assess["subject_id"])
        ).shift(1, fill_value=0.0)
        mrd_relapse = (mrd >= mrd_relapse_threshold).fillna(False) & (before > 0)
        assess["is_progression"] = assess["is_progression"] | mrd_relapse.astype(bool)
    assess["adequate"] = (
        (response.notna() & (response != "NE")).fillna(False).astype(bool)
    ) | assess["is_progression"]
    assess["response"] = response

    status = survival_status.copy()
    for col in ("death_date", "last_known_alive_date", "new_therapy_date"):
        status[col] = pd.to_datetime(status[col]).dt.normalize()
        if cutoff is not None:
            if col == "last_known_alive_date":
                status[col] = status[col].where(
                    status[col].isna() | (status[col] <= cutoff), cutoff
                )
            else:
                _apply_cutoff(status, col, cutoff)
    if cutoff is not None:
        # a death after the cut-off: alive at the cut-off
        dead_later = survival_status["death_date"].notna() & status["death_date"].isna()
        status.loc[dead_later, "last_known_alive_date"] = cutoff
    by_id = status.set_index("subject_id")
    death = by_id["death_date"]
    new_therapy = by_id["new_therapy_date"]

    ids = start.index
    has_start = start.notna()
    frames = []

    def event_free(first: pd.Series, include_start: bool) -> pd.DataFrame:
        return _event_free(
            first,
            assess,
            death,
            new_therapy,
            schedule=assessment_schedule,
            missed_assessments=missed_assessments,
            window_days=assessment_window_days,
            censor_new_therapy=censor_new_therapy,
            include_start=include_start,
        )

    for param in parameters:
        if param == "OS":
            contact = assess.groupby("subject_id")["assessment_date"].max().reindex(ids)
            contact = contact.where(contact.notna(), start)
            res = _overall_survival(start[has_start], status, contact)
        elif param == "PFS":
            res = event_free(start[has_start], include_start=False)
        else:
            wanted = remission_responses if param == "RFS" else response_values
            after = assess.assign(origin=assess["subject_id"].map(start))
            after = after[
                (after["assessment_date"] > after["origin"])
                & after["response"].isin(wanted).fillna(False).astype(bool)
            ]
            first = after.groupby("subject_id")["assessment_date"].min()
            res = event_free(first, include_start=True)
        res = res.reindex(ids if param in ("PFS", "OS") else res.index)
        res["PARAMCD"] = param
        res["PARAM"] = _PARAMS[param]
        if param in ("PFS", "OS"):
            missing = ~has_start
            res.loc[missing, "CNSDTDSC"] = "NO TIME ORIGIN"
            res.loc[missing, "EVNTDESC"] = ""
        frames.append(res.reset_index())

    out = pd.concat(frames, ignore_index=True)
    days = (pd.to_datetime(out["ADT"]) - pd.to_datetime(out["STARTDT"])).dt.days.astype(
        float
    ) + (1.0 if add_one_day else 0.0)
    divisor = {"days": 1.0, "weeks": 7.0, "months": days_per_month, "years": 365.25}[
        unit
    ]
    out["AVAL"] = days / divisor
    out["AVALU"] = unit.upper()
    out["CNSR"] = out["CNSR"].astype("Int64")
    if cohorts is not None:
        cohort_of = subjects.set_index("subject_id")["cohort_id"]
        out["cohort_id"] = out["subject_id"].map(cohort_of)
        info = cohorts.set_index("cohort_id")[["dose_level", "route"]]
        out = out.join(info, on="cohort_id")
    columns = [
        "subject_id",
        *(["cohort_id", "dose_level", "route"] if cohorts is not None else []),
        "PARAMCD",
        "PARAM",
        "STARTDT",
        "ADT",
        "AVAL",
        "AVALU",
        "CNSR",
        "EVNTDESC",
        "CNSDTDSC",
        "N_MISSED",
    ]
    order = {p: i for i, p in enumerate(parameters)}
    out = out.sort_values(
        ["PARAMCD", "subject_id"],
        key=lambda s: s.map(order) if s.name == "PARAMCD" else s,
    )
    return out[columns].reset_index(drop=True)
