"""Design adherence: the escalation as it ran, checked against the design's rules.

The escalation sequence is rebuilt from the subject-level analysis dataset (ADSL) and
every dose assignment the design did not allow at that time is a deviation. Each
``escalation_group`` (a route, or ``"pooled"``) is an independent escalation.

A **cohort** is the treated subjects of one ``cohort_id`` in one escalation group at
one dose level (a cohort id reused at another level is another cohort). Untreated
subjects (no dose level or no first dose date) are ignored; treated subjects without
a cohort id or escalation group are reviewed under ``"(no cohort)"`` and
``"(no group)"``. Escalation cohorts are walked in order of their first first-dose
date, and the rules are applied in these steps:

1. **Start dose.** The first escalation cohort must be dosed at the design's start dose
   (``design.start_dose_level``).
2. **Data known at the start.** When a cohort starts (first dose date ``D``), the data
   known at ``D`` are those of the escalation subjects of earlier cohorts dosed on or
   before ``D``: a DLT is known when its onset is on or before ``D`` (a DLT without an
   onset date counts from the end of the subject's window); a subject is
   DLT-evaluable with a known DLT, or when their window ended before ``D``
   (``dlt_window_end < D``) and their follow-up reached the window end. A subject
   without a known DLT whose window has not ended (``dlt_window_end >= D``) and who
   was still followed (``followup_end`` on or after ``D``, or missing) is **pending**.
3. **Premature start.** Pending subjects make the start premature: no design's rule
   may decide while a subject is still in the DLT window (none of the current designs
   allows it), so the cohort is a deviation and has no allowed dose.
4. **The design's decision.** Otherwise the design's
   ``decide(n, y, current, last_cohort_dlts=...)`` decides on the counts of step 2,
   from the level of the previous cohort (the dose actually given, whether or not it
   was allowed) with the DLTs known in the previous cohort. Dosing at another level
   than ``next_dose``, or dosing after the decision was to stop, is a deviation. The
   decision is stateless: the 3+3 variants derive everything they need (expand,
   de-escalate, confirm with six) from the counts per level, as
   :class:`~analyses.dose_finding.ThreePlusThree` does.
5. **Cohort size.** Subjects of a cohort beyond ``cohort_size`` (in dosing order) are
   allowed only as the design's own continuation at the same level: each further
   ``cohort_size`` subjects is checked like a new cohort at the first dose date of its
   first subject (steps 3-4), so a 3+3 expansion entered under the same cohort id
   passes, and subjects dosed together with the first ones are premature.
6. **Maximum sample size.** A cohort that takes the escalation group beyond
   ``design.max_subjects`` escalation subjects is a deviation.
7. **Expansion and backfill.** Expansion and backfill cohorts are listed but never
   checked by steps 1-6 and never counted in the escalation's data. One is a
   deviation when dosed above the highest level the escalation had **cleared** at its
   first dose date: with the data known then (step 2, all escalation subjects), a
   level ``L`` with DLT-evaluable subjects and none pending is cleared when the
   design's decision from ``L`` escalates above ``L``; a decision to stop with an MTD
   clears the MTD.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from analyses._results import AnalysisResult, make_provenance
from analyses.dose_finding._base import Decision, DoseFindingDesign
from analyses.dose_finding.from_protocol import design_from_protocol
from schemas.protocol import Protocol

__all__ = ["REQUIRED_COLUMNS", "DesignAdherence", "review_design_adherence"]

#: The ADSL columns the review reads; other columns are ignored.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "subject_id",
    "cohort_id",
    "cohort_role",
    "escalation_group",
    "dose_level",
    "first_dose_date",
    "dlt",
    "first_dlt_onset",
    "dlt_window_end",
    "followup_end",
)

#: Cohort roles; only escalation cohorts follow the design's step rules.
ROLES: tuple[str, ...] = ("escalation", "expansion", "backfill")

#: Cohort id and escalation group given to treated subjects without one.
NO_COHORT = "(no cohort)"
NO_GROUP = "(no group)"

#: Columns of :attr:`DesignAdherence.sequence`.
SEQUENCE_COLUMNS: tuple[str, ...] = (
    "escalation_group",
    "cohort_id",
    "cohort_role",
    "dose_level",
    "first_dose_date",
    "n_subjects",
    "allowed_dose",
    "decision",
    "deviation",
    "reason",
)

DateArray = npt.NDArray[np.datetime64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, kw_only=True)
class DesignAdherence(AnalysisResult):
    """The escalation sequence as it ran, with the design's decision at each cohort.

    Attributes
    ----------
    design : str
        Name of the protocol's design.
    sequence : pandas.DataFrame
        One row per cohort, by escalation group and first dose date:
        ``escalation_group``, ``cohort_id``, ``cohort_role``, ``dose_level``,
        ``first_dose_date``, ``n_subjects`` (treated), ``allowed_dose`` (Int64: the
        design's next dose when the cohort started; for expansion and backfill cohorts
        the highest level cleared by the escalation; missing when nothing was
        allowed), ``decision`` (the design's decision in words), ``deviation`` and
        ``reason`` (every rule the cohort broke, ``"; "``-separated; empty when none).
    deviations : pandas.DataFrame
        The rows of ``sequence`` with ``deviation`` true.
    """

    design: str
    sequence: pd.DataFrame
    deviations: pd.DataFrame

    @property
    def n_deviations(self) -> int:
        """Number of cohorts with at least one deviation."""
        return int(self.sequence["deviation"].sum())

    def to_frame(self) -> pd.DataFrame:
        """Return the long frame: per escalation group, cohorts, subjects, deviations.

        Returns
        -------
        pandas.DataFrame
            Columns ``escalation_group``, ``stat`` (``n_cohorts``, ``n_subjects``,
            ``n_deviations``) and ``value`` (float).
        """
        seq = self.sequence
        wide = seq.groupby("escalation_group", sort=True).agg(
            n_cohorts=("cohort_id", "size"),
            n_subjects=("n_subjects", "sum"),
            n_deviations=("deviation", "sum"),
        )
        long = wide.reset_index().melt(
            id_vars="escalation_group", var_name="stat", value_name="value"
        )
        long["value"] = long["value"].astype(float)
        return long

    def summary(self) -> pd.DataFrame:
        """Return the sequence for display, dates as ISO 8601 text.

        Returns
        -------
        pandas.DataFrame
            :attr:`sequence` with ``first_dose_date`` as ``YYYY-MM-DD``.
        """
        out = self.sequence.copy()
        out["first_dose_date"] = out["first_dose_date"].dt.strftime("%Y-%m-%d")
        return out

    def to_dict(self) -> dict[str, object]:
        """Return the review as plain data (JSON-ready).

        Returns
        -------
        dict
            ``n_deviations`` and the ``sequence`` of cohorts, missing values as None.
        """
        rows = self.summary().astype(object)
        return {
            "n_deviations": self.n_deviations,
            "sequence": [
                {k: (None if pd.isna(v) else v) for k, v in rec.items()}
                for rec in rows.to_dict(orient="records")
            ],
        }


@dataclass
class _Outcome:
    """What the review found for one cohort (filled while walking)."""

    allowed: int | None = None
    decision: str = ""
    reasons: list[str] = field(default_factory=list)


def review_design_adherence(adsl: pd.DataFrame, protocol: Protocol) -> DesignAdherence:
    """Rebuild the escalation sequence and check every cohort against the design.

    The rules are the numbered steps of this module's documentation
    (:mod:`analyses.dose_finding.adherence`).

    Parameters
    ----------
    adsl : pandas.DataFrame
        Subject-level analysis dataset, one row per subject, with the columns of
        :data:`REQUIRED_COLUMNS` (others are ignored): ``dose_level`` (Int64) and
        ``first_dose_date`` are missing for untreated subjects; ``dlt``,
        ``first_dlt_onset``, ``dlt_window_end`` (last day of the DLT window) and
        ``followup_end`` (last day followed).
    protocol : schemas.protocol.Protocol
        Gives the design (:func:`~analyses.dose_finding.design_from_protocol`), cohort
        size, maximum subjects per escalation group and start dose.

    Returns
    -------
    DesignAdherence
        The sequence, its deviations, and counts per escalation group.

    Raises
    ------
    ValueError
        When a column is missing, a dose level is not a protocol level, a cohort role
        is unknown, or one cohort has subjects of different roles.
    """
    design = design_from_protocol(protocol)
    n_doses = len(protocol.dose_levels)
    subjects, cohorts = _cohorts(_treated_subjects(adsl, n_doses))
    outcomes: dict[int, _Outcome] = {i: _Outcome() for i in cohorts.index}
    for group in cohorts["escalation_group"].unique():
        in_group = cohorts["escalation_group"] == group
        esc = cohorts[in_group & (cohorts["cohort_role"] == "escalation")]
        members = subjects[subjects["cohort"].isin(esc.index)]
        state = _Escalation(
            members, esc, protocol.design.cohort_size, n_doses, design.start_dose
        )
        state.walk(design, outcomes)
        _check_max_subjects(members, esc, protocol.design.max_subjects, outcomes)
        others = cohorts[in_group & (cohorts["cohort_role"] != "escalation")]
        _check_expansion(state, others, design, outcomes)

    sequence = _sequence_frame(cohorts, outcomes)
    return DesignAdherence(
        design=design.name,
        sequence=sequence,
        deviations=sequence[sequence["deviation"]].reset_index(drop=True),
        provenance=make_provenance(
            "review_design_adherence",
            inputs={"adsl": adsl.loc[:, list(REQUIRED_COLUMNS)]},
            **{
                **design.parameters(),
                "cohort_size": protocol.design.cohort_size,
                "max_subjects": protocol.design.max_subjects,
                "start_dose_level": protocol.design.start_dose_level,
            },
        ),
    )


# --- step 0: the treated subjects and their cohorts ---------------------------------


def _treated_subjects(adsl: pd.DataFrame, n_doses: int) -> pd.DataFrame:
    """Return the treated subjects with checked levels and roles, in dosing order."""
    missing = [c for c in REQUIRED_COLUMNS if c not in adsl.columns]
    if missing:
        raise ValueError(f"adsl lacks column(s) {', '.join(missing)}")
    data = adsl.loc[:, list(REQUIRED_COLUMNS)].copy()
    for col in ("first_dose_date", "first_dlt_onset", "dlt_window_end", "followup_end"):
        data[col] = pd.to_datetime(data[col]).astype("datetime64[ns]")
    data["dose_level"] = data["dose_level"].astype("Int64")
    data = data[data["dose_level"].notna() & data["first_dose_date"].notna()].copy()
    for col, missing_as in (("cohort_id", NO_COHORT), ("escalation_group", NO_GROUP)):
        data[col] = data[col].astype(object).where(data[col].notna(), missing_as)
        data[col] = data[col].astype(str)
    bad = data[(data["dose_level"] < 1) | (data["dose_level"] > n_doses)]
    if len(bad):
        first = bad.iloc[0]
        raise ValueError(
            f"adsl row of subject {first['subject_id']}: column dose_level = "
            f"{first['dose_level']} is not a protocol dose level (1..{n_doses})"
        )
    roles = ~data["cohort_role"].isin(ROLES)
    if roles.any():
        first = data[roles].iloc[0]
        raise ValueError(
            f"adsl row of subject {first['subject_id']}: column cohort_role = "
            f"{first['cohort_role']!r} is not one of {', '.join(ROLES)}"
        )
    data["dose_level"] = data["dose_level"].astype("int64")
    data["dlt"] = data["dlt"].fillna(False).astype(bool)
    # a DLT is known from its onset; without an onset date, from the window's end
    known = data["first_dlt_onset"].fillna(data["dlt_window_end"])
    data["dlt_known_from"] = known.where(data["dlt"])
    return data.sort_values(
        ["escalation_group", "first_dose_date", "subject_id"], kind="stable"
    ).reset_index(drop=True)


def _cohorts(subjects: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the subjects tagged with their cohort, and the cohorts in order.

    A cohort is (escalation group, cohort id, dose level); cohorts are numbered by
    group and first dose date, and each subject gets its cohort's number (``cohort``).
    """
    keys = ["escalation_group", "cohort_id", "dose_level"]
    grouped = subjects.groupby(keys, sort=False)
    cohorts = grouped.agg(
        cohort_role=("cohort_role", "first"),
        n_roles=("cohort_role", "nunique"),
        first_dose_date=("first_dose_date", "min"),
        n_subjects=("subject_id", "size"),
    ).reset_index()
    mixed = cohorts[cohorts["n_roles"] > 1]
    if len(mixed):
        row = mixed.iloc[0]
        raise ValueError(
            f"adsl: cohort {row['cohort_id']} of escalation group "
            f"{row['escalation_group']} has subjects of different cohort_role values"
        )
    cohorts = (
        cohorts.drop(columns="n_roles")
        .sort_values(
            ["escalation_group", "first_dose_date", "cohort_id", "dose_level"],
            kind="stable",
        )
        .reset_index(drop=True)
    )
    label = pd.Series(cohorts.index, index=pd.MultiIndex.from_frame(cohorts[keys]))
    tagged = subjects.assign(
        cohort=label.reindex(pd.MultiIndex.from_frame(subjects[keys])).to_numpy()
    )
    return tagged, cohorts


# --- steps 1-5: the escalation walk --------------------------------------------------


def _dl(level: int | None) -> str:
    return "none" if level is None else f"DL{level}"


def _day(date: pd.Timestamp) -> str:
    return f"{date:%Y-%m-%d}"


def _decision_text(decision: Decision) -> str:
    if decision.action == "stop":
        mtd = "no MTD" if decision.mtd is None else f"MTD {_dl(decision.mtd)}"
        return f"stop ({mtd}): {decision.reason}"
    return f"{decision.action}, next {_dl(decision.next_dose)}: {decision.reason}"


class _Escalation:
    """The escalation subjects of one group, split into the units the walk checks.

    A unit is a cohort's first ``cohort_size`` subjects (in dosing order), or each
    further ``cohort_size`` of them (step 5). Units are walked by start date.
    """

    def __init__(
        self,
        members: pd.DataFrame,
        cohorts: pd.DataFrame,
        cohort_size: int,
        n_doses: int,
        start_dose: int,
    ) -> None:
        self.n_doses = n_doses
        self.start_dose = start_dose
        self.cohort_size = cohort_size
        self.cohorts = cohorts
        # members arrive in dosing order within the group
        rank = members.groupby("cohort").cumcount().to_numpy(np.int64)
        chunk = rank // cohort_size
        units = (
            pd.DataFrame(
                {
                    "cohort": members["cohort"].to_numpy(np.int64),
                    "chunk": chunk,
                    "rank": rank,
                    "date": members["first_dose_date"].to_numpy(),
                }
            )
            .groupby(["cohort", "chunk"], sort=False)
            .agg(start=("date", "min"), first=("rank", "min"), last=("rank", "max"))
            .reset_index()
            .sort_values(["start", "cohort", "chunk"], kind="stable")
            .reset_index(drop=True)
        )
        self.units = units
        order = pd.Series(
            units.index, index=pd.MultiIndex.from_frame(units[["cohort", "chunk"]])
        )
        self.unit: IntArray = order.reindex(
            pd.MultiIndex.from_arrays([members["cohort"].to_numpy(np.int64), chunk])
        ).to_numpy(np.int64)
        self.level: IntArray = members["dose_level"].to_numpy(np.int64)
        self.first: DateArray = members["first_dose_date"].to_numpy("datetime64[ns]")
        self.dlt_from: DateArray = members["dlt_known_from"].to_numpy("datetime64[ns]")
        self.window_end: DateArray = members["dlt_window_end"].to_numpy(
            "datetime64[ns]"
        )
        self.followup_end: DateArray = members["followup_end"].to_numpy(
            "datetime64[ns]"
        )

    def known_at(
        self, date: pd.Timestamp, before_unit: int | None = None
    ) -> tuple[IntArray, IntArray, IntArray, npt.NDArray[np.bool_]]:
        """Return evaluable, DLT and pending counts per level known at ``date``.

        This is step 2 of the module's rules.

        Only subjects of units walked before ``before_unit`` (all units when None)
        and dosed on or before ``date`` count. The last item flags the subjects with
        a DLT known at ``date``.
        """
        d = np.datetime64(date, "ns")
        prior = self.first <= d
        if before_unit is not None:
            prior &= self.unit < before_unit
        dlt = prior & (self.dlt_from <= d)
        completed = (
            prior
            & (self.first < d)
            & (self.window_end < d)
            & (self.followup_end >= self.window_end)
        )
        pending = prior & ~dlt & (self.window_end >= d) & ~(self.followup_end < d)
        k = self.n_doses

        def per_level(mask: npt.NDArray[np.bool_]) -> IntArray:
            return np.bincount(self.level[mask] - 1, minlength=k).astype(np.int64)

        return per_level(dlt | completed), per_level(dlt), per_level(pending), dlt

    def walk(self, design: DoseFindingDesign, outcomes: dict[int, _Outcome]) -> None:
        """Check every unit in start order (steps 1, 3, 4, 5)."""
        name = design.name
        size = self.cohort_size
        prev_level: int | None = None
        prev_unit = -1
        ids = self.cohorts["cohort_id"].to_dict()
        levels = self.cohorts["dose_level"].to_dict()
        unit_cohort = self.units["cohort"].to_numpy(np.int64)
        unit_chunk = self.units["chunk"].to_numpy(np.int64)
        unit_start = self.units["start"].to_numpy("datetime64[ns]")
        unit_first = self.units["first"].to_numpy(np.int64)
        unit_last = self.units["last"].to_numpy(np.int64)
        for u in range(len(self.units)):
            cohort = int(unit_cohort[u])
            cid, level = str(ids[cohort]), int(levels[cohort])
            start = pd.Timestamp(unit_start[u])
            out = outcomes[cohort]
            extra = bool(unit_chunk[u] > 0)
            who = f"cohort {cid}"
            if extra:
                a, b = int(unit_first[u]) + 1, int(unit_last[u]) + 1
                span = f"subject {a}" if a == b else f"subjects {a}-{b}"
                who = f"cohort {cid} {span} (beyond the cohort size {size})"
            allowed: int | None
            if prev_level is None:  # step 1
                allowed = self.start_dose
                text = f"start at {_dl(allowed)}"
                if level != allowed:
                    out.reasons.append(
                        f"cohort {cid} started at {_dl(level)}, design starts at "
                        f"{_dl(allowed)}"
                    )
            else:
                n, y, pending, dlt = self.known_at(start, before_unit=u)
                if pending.any():  # step 3
                    allowed = None
                    waiting = " and ".join(
                        f"{int(pending[i])} subject(s) of DL{i + 1}"
                        for i in np.flatnonzero(pending)
                    )
                    text = (
                        f"no decision: {int(pending.sum())} subject(s) still in "
                        "their DLT window"
                    )
                    out.reasons.append(
                        f"{who} started at {_day(start)} while {waiting} "
                        f"{'was' if pending.sum() == 1 else 'were'} still in their "
                        "DLT window"
                    )
                else:  # step 4
                    last_dlts = int(dlt[self.unit == prev_unit].sum())
                    decision = design.decide(
                        n, y, prev_level, last_cohort_dlts=last_dlts
                    )
                    allowed = decision.next_dose
                    text = _decision_text(decision)
                    if decision.action == "stop":
                        out.reasons.append(
                            f"{who} dosed at {_dl(level)} on {_day(start)} after the "
                            f"{name} rule said stop ({decision.reason})"
                        )
                    elif allowed != level:
                        out.reasons.append(
                            f"{who} dosed at {_dl(level)}; the {name} rule allowed "
                            f"{_dl(allowed)} ({decision.reason})"
                        )
            if extra:
                out.decision += f"; {span}: {text}"
            else:
                out.allowed, out.decision = allowed, text
            prev_level, prev_unit = level, u


# --- step 6: maximum sample size ------------------------------------------------------


def _check_max_subjects(
    members: pd.DataFrame,
    cohorts: pd.DataFrame,
    max_subjects: int,
    outcomes: dict[int, _Outcome],
) -> None:
    """Flag cohorts that take the escalation group beyond ``max_subjects``."""
    count = pd.Series(np.arange(1, len(members) + 1), index=members.index)
    reached = count.groupby(members["cohort"]).max()
    over = reached[reached > max_subjects]
    for cohort, total in zip(over.index.to_numpy(), over.to_numpy(), strict=True):
        cid = cohorts.at[int(cohort), "cohort_id"]
        outcomes[int(cohort)].reasons.append(
            f"cohort {cid} takes the escalation to {int(total)} subjects, above "
            f"max_subjects {max_subjects}"
        )


# --- step 7: expansion and backfill --------------------------------------------------


def _cleared_level(
    state: _Escalation, date: pd.Timestamp, design: DoseFindingDesign
) -> int | None:
    """Return the highest level the escalation had cleared at ``date`` (step 7)."""
    n, y, pending, _ = state.known_at(date)
    cleared: list[int] = []
    for i in np.flatnonzero((n > 0) & (pending == 0)):
        level = int(i) + 1
        decision = design.decide(n, y, level)
        if decision.next_dose is not None and decision.next_dose > level:
            cleared.append(level)
        if decision.action == "stop" and decision.mtd is not None:
            cleared.append(decision.mtd)
    return max(cleared) if cleared else None


def _check_expansion(
    state: _Escalation,
    cohorts: pd.DataFrame,
    design: DoseFindingDesign,
    outcomes: dict[int, _Outcome],
) -> None:
    """Check expansion and backfill cohorts against the cleared level (step 7)."""
    starts = cohorts["first_dose_date"].to_numpy("datetime64[ns]")
    levels = cohorts["dose_level"].to_numpy(np.int64)
    ids, roles = cohorts["cohort_id"].to_numpy(), cohorts["cohort_role"].to_numpy()
    for j, cohort in enumerate(cohorts.index.to_numpy(np.int64)):
        start, level = pd.Timestamp(starts[j]), int(levels[j])
        cid, role = ids[j], roles[j]
        cleared = _cleared_level(state, start, design)
        out = outcomes[int(cohort)]
        out.allowed = cleared
        if cleared is None:
            out.decision = f"no level cleared by the escalation on {_day(start)}"
            out.reasons.append(
                f"{role} cohort {cid} dosed at {_dl(level)} on {_day(start)} before "
                "the escalation had cleared any level"
            )
            continue
        out.decision = (
            f"highest level cleared by the escalation on {_day(start)}: {_dl(cleared)}"
        )
        if level > cleared:
            out.reasons.append(
                f"{role} cohort {cid} dosed at {_dl(level)} on {_day(start)}, above "
                f"{_dl(cleared)}, the highest level the escalation had cleared"
            )


# --- the result frame ----------------------------------------------------------------


def _sequence_frame(
    cohorts: pd.DataFrame, outcomes: dict[int, _Outcome]
) -> pd.DataFrame:
    """Assemble one row per cohort from the cohorts and the review's outcomes."""
    found = [outcomes[i] for i in cohorts.index]
    seq = pd.DataFrame(
        {
            "escalation_group": cohorts["escalation_group"].astype(object),
            "cohort_id": cohorts["cohort_id"].astype(object),
            "cohort_role": cohorts["cohort_role"].astype(object),
            "dose_level": cohorts["dose_level"].astype("Int64"),
            "first_dose_date": cohorts["first_dose_date"].astype("datetime64[ns]"),
            "n_subjects": cohorts["n_subjects"].astype("int64"),
            "allowed_dose": pd.array([o.allowed for o in found], dtype="Int64"),
            "decision": pd.Series([o.decision for o in found], dtype=object),
            "deviation": pd.Series([bool(o.reasons) for o in found], dtype=bool),
            "reason": pd.Series(["; ".join(o.reasons) for o in found], dtype=object),
        },
        columns=list(SEQUENCE_COLUMNS),
    )
    return seq.reset_index(drop=True)
