"""Sequential enrolment of a demo trial: the escalation its own design would run.

A demo trial is enrolled cohort by cohort, the way a dose-escalation trial runs:

1. Each escalation (one per route when the protocol's ``design.escalation_by`` is
   ``"route"``, else one ``"pooled"`` escalation) starts at the design's start dose.
2. A cohort of ``design.cohort_size`` subjects is dosed, the first subject (the
   sentinel) first and the others one to seven days apart. Each subject's DLT outcome
   is drawn from the archetype's true DLT rate of the cohort's dose level; the first
   cohort of an escalation to reach the highest dose level always has one DLT (the
   DLT the demo shows). A DLT's onset is drawn inside the DLT window.
3. The design (:func:`analyses.dose_finding.design_from_protocol`) decides on the
   DLTs seen so far in that escalation. The next cohort is dosed at its
   ``next_dose`` 3 to 14 days after every subject of the cohort completed the DLT
   window (first dose + ``dlt_window_days``).
4. The escalation ends when the design says stop or when it has treated
   ``design.max_subjects`` subjects. Escalations take subjects cohort by cohort in
   turn while any is open; when subjects run out first, the last cohort may be
   incomplete.
5. Subjects left once every escalation has ended join the expansion cohort of an
   escalation (in turn), dosed at the escalation's MTD (or, should the design select
   none, the highest level whose DLT rate is at most the target). Expansion subjects
   are dosed after the escalation's last cohort completed its window, spread over up
   to 18 months; their DLTs count in safety, never in the design.

Subjects are numbered in order of their first dose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from analyses.dose_finding import design_from_protocol
from schemas.protocol import parse_protocol
from trialdata.demo.common import STUDY_START
from trialdata.demo.protocols import EXPANSION_COHORT

__all__ = ["POOLED", "Cohort", "Enrolment", "enrol"]

#: Escalation key of a pooled escalation (one escalation over every route).
POOLED = "pooled"

#: Days between the end of a cohort's DLT windows and the next cohort's first dose.
REVIEW_DAYS = (3, 14)

#: Days between the doses of two subjects of one escalation cohort.
STAGGER_DAYS = (1, 7)

#: Longest period over which an expansion cohort is dosed, in days.
EXPANSION_SPAN = 540

Role = Literal["escalation", "expansion"]


@dataclass(frozen=True)
class Cohort:
    """One cohort of a demo trial, in the order cohorts were opened.

    Attributes
    ----------
    cohort_id : str
        Cohort identifier: the escalation's prefix, then ``C1``, ``C2``, ... or
        ``EXP`` for the expansion.
    dose_level : int
        Dose level given to every subject of the cohort.
    route : str
        Route of administration.
    role : {"escalation", "expansion"}
        Whether the design's step rules apply to the cohort.
    escalation : str
        The escalation it belongs to: a route, or :data:`POOLED`.
    number : int
        Position among the escalation's cohorts (1-based); 0 for an expansion.
    planned : int
        Planned subjects: the cohort size, or the subjects of an expansion.
    """

    cohort_id: str
    dose_level: int
    route: str
    role: Role
    escalation: str
    number: int
    planned: int


@dataclass(frozen=True)
class Enrolment:
    """Who was dosed when, at which level, and who had a DLT.

    Subjects are in order of their first dose (row ``i`` is the ``i``-th subject).

    Attributes
    ----------
    cohorts : tuple of Cohort
        Every cohort that enrolled a subject, in the order they were opened.
    cohort : numpy.ndarray
        Index into ``cohorts`` of each subject's cohort.
    first_dose : pandas.Series
        Date of each subject's first dose (datetime64[ns], index ``range(n)``).
    dlt_onset : numpy.ndarray
        Onset of each subject's DLT in days after the first dose (0 to
        ``dlt_window_days - 1``); -1 for subjects without a DLT.
    mtd : dict of str to int or None
        The dose level each escalation selected (None while it did not stop).
    """

    cohorts: tuple[Cohort, ...]
    cohort: np.ndarray
    first_dose: pd.Series
    dlt_onset: np.ndarray
    mtd: dict[str, int | None] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of subjects."""
        return len(self.cohort)

    @property
    def cohort_id(self) -> np.ndarray:
        """Each subject's cohort id."""
        return np.array([c.cohort_id for c in self.cohorts], dtype=object)[self.cohort]

    @property
    def level(self) -> np.ndarray:
        """Each subject's dose level."""
        return np.array([c.dose_level for c in self.cohorts], dtype=int)[self.cohort]

    @property
    def route(self) -> np.ndarray:
        """Each subject's route of administration."""
        return np.array([c.route for c in self.cohorts], dtype=object)[self.cohort]

    @property
    def has_dlt(self) -> np.ndarray:
        """Whether each subject had a DLT."""
        return self.dlt_onset >= 0

    def cohort_table(self, description: Callable[[Cohort], str]) -> pd.DataFrame:
        """Return the cohorts domain table.

        Parameters
        ----------
        description : callable
            ``description(cohort) -> str``, the free-text description of a cohort.

        Returns
        -------
        pandas.DataFrame
            The cohorts domain table, typed, one row per cohort in opening order.
        """
        return pd.DataFrame(
            {
                "cohort_id": [c.cohort_id for c in self.cohorts],
                "dose_level": pd.array(
                    [c.dose_level for c in self.cohorts], dtype="Int64"
                ),
                "route": [c.route for c in self.cohorts],
                "planned_subjects": pd.array(
                    [c.planned for c in self.cohorts], dtype="Int64"
                ),
                "description": [description(c) for c in self.cohorts],
            }
        )


@dataclass
class _Escalation:
    """The state of one escalation while the trial enrols."""

    key: str
    route: str
    prefix: str
    n: np.ndarray
    y: np.ndarray
    current: int
    start: pd.Timestamp
    used: int = 0
    cohorts: int = 0
    open: bool = True
    reached_top: bool = False
    mtd: int | None = None


@dataclass
class _Draft:
    """Cohorts and subjects as they are enrolled (before numbering)."""

    cohorts: list[Cohort] = field(default_factory=list)
    cohort: list[np.ndarray] = field(default_factory=list)
    dates: list[np.ndarray] = field(default_factory=list)
    onset: list[np.ndarray] = field(default_factory=list)

    def add(self, cohort: Cohort, dates: np.ndarray, onset: np.ndarray) -> None:
        self.cohort.append(np.full(len(dates), len(self.cohorts)))
        self.cohorts.append(cohort)
        self.dates.append(dates)
        self.onset.append(onset)


def _days(count: Any) -> np.ndarray:
    return np.asarray(count, dtype="int64").astype("timedelta64[D]")


def enrol(
    protocol: Mapping[str, Any],
    n_subjects: int,
    rng: np.random.Generator,
    *,
    dlt_rates: Sequence[float],
    dlt_onset: tuple[int, int],
    prefixes: Mapping[str, str],
) -> Enrolment:
    """Enrol a demo trial cohort by cohort, following the protocol's design.

    The steps are those of this module's documentation
    (:mod:`trialdata.demo.escalation`).

    Parameters
    ----------
    protocol : Mapping
        The protocol data (:func:`trialdata.demo.protocols.protocol_data`).
    n_subjects : int
        Number of subjects.
    rng : numpy.random.Generator
        Random source.
    dlt_rates : sequence of float
        True probability of a DLT at each dose level, lowest first.
    dlt_onset : tuple of int
        Earliest and latest onset of a DLT in days after the first dose; clipped to
        the DLT window (0 to ``dlt_window_days - 1``).
    prefixes : Mapping of str to str
        Cohort id prefix of each escalation: per route, or under :data:`POOLED`.

    Returns
    -------
    Enrolment
        Cohorts, each subject's cohort, first dose and DLT.

    Raises
    ------
    ValueError
        When subjects are left for an expansion but no escalation found a dose level
        to expand (every level too toxic).
    """
    spec = parse_protocol(protocol, source="demo protocol")
    design = design_from_protocol(spec)
    plan = spec.design
    window = spec.dlt_window_days
    k = len(spec.dose_levels)
    lo = int(np.clip(dlt_onset[0], 0, window - 1))
    hi = int(np.clip(dlt_onset[1], lo, window - 1))
    routes = [str(r) for r in spec.routes]
    keys = routes if plan.escalation_by == "route" else [POOLED]
    escalations = [
        _Escalation(
            key=key,
            route=routes[0] if key == POOLED else key,
            prefix=prefixes[key],
            n=np.zeros(k, np.int64),
            y=np.zeros(k, np.int64),
            current=design.start_dose,
            start=STUDY_START + pd.Timedelta(days=int(rng.integers(28, 43))),
        )
        for key in keys
    ]
    rates = np.asarray(dlt_rates, dtype=float)
    draft = _Draft()

    def onsets(dlt: np.ndarray) -> np.ndarray:
        days = rng.integers(lo, hi + 1, len(dlt))
        return np.where(dlt, days, -1)

    remaining = n_subjects
    while remaining > 0 and any(e.open for e in escalations):
        for esc in escalations:
            if not esc.open or remaining == 0:
                continue
            take = min(plan.cohort_size, remaining, plan.max_subjects - esc.used)
            level = esc.current
            dlt = rng.random(take) < rates[level - 1]
            if level == k and not esc.reached_top:
                esc.reached_top = True
                if not dlt.any():
                    dlt[rng.integers(0, take)] = True
            gaps = rng.integers(STAGGER_DAYS[0], STAGGER_DAYS[1] + 1, take - 1)
            offsets = np.concatenate([[0], np.cumsum(gaps)])
            dates = np.datetime64(esc.start, "D") + _days(offsets)
            esc.cohorts += 1
            cohort = Cohort(
                f"{esc.prefix}C{esc.cohorts}",
                level,
                esc.route,
                "escalation",
                esc.key,
                esc.cohorts,
                plan.cohort_size,
            )
            draft.add(cohort, dates, onsets(dlt))
            esc.n[level - 1] += take
            esc.y[level - 1] += int(dlt.sum())
            esc.used += take
            remaining -= take
            cleared = dates.max() + _days(window)
            review = int(rng.integers(REVIEW_DAYS[0], REVIEW_DAYS[1] + 1))
            esc.start = pd.Timestamp(cleared + _days(review))
            if remaining == 0:
                break
            decision = design.decide(
                esc.n, esc.y, level, last_cohort_dlts=int(dlt.sum())
            )
            if decision.action == "stop":
                esc.open, esc.mtd = False, decision.mtd
            elif esc.used >= plan.max_subjects:
                esc.open, esc.mtd = False, design.select_mtd(esc.n, esc.y).mtd
            else:
                assert decision.next_dose is not None  # only a stop has none
                esc.current = decision.next_dose
    if remaining > 0:
        _expand(escalations, remaining, draft, rng, plan.target_dlt_rate, rates, onsets)
    dates = np.concatenate(draft.dates)
    order = np.argsort(dates, kind="stable")
    return Enrolment(
        cohorts=tuple(draft.cohorts),
        cohort=np.concatenate(draft.cohort)[order],
        first_dose=pd.Series(dates[order].astype("datetime64[ns]")),
        dlt_onset=np.concatenate(draft.onset)[order],
        mtd={e.key: e.mtd for e in escalations},
    )


def _safe_level(n: np.ndarray, y: np.ndarray, target: float) -> int | None:
    """Return the highest treated level whose DLT rate is at most ``target``."""
    ok = np.flatnonzero((n > 0) & (y <= target * n))
    return int(ok[-1]) + 1 if ok.size else None


def _expand(
    escalations: Sequence[_Escalation],
    count: int,
    draft: _Draft,
    rng: np.random.Generator,
    target: float,
    rates: np.ndarray,
    onsets: Callable[[np.ndarray], np.ndarray],
) -> None:
    """Enrol ``count`` subjects into the expansion cohorts, shared out in turn."""
    levels = {
        e.key: e.mtd if e.mtd is not None else _safe_level(e.n, e.y, target)
        for e in escalations
    }
    able = [e for e in escalations if levels[e.key] is not None]
    if not able:
        raise ValueError(
            "no escalation found a tolerable dose level: the subjects left cannot "
            "join an expansion cohort"
        )
    shares = [count // len(able) + (i < count % len(able)) for i in range(len(able))]
    for esc, share in zip(able, shares, strict=True):
        if share == 0:
            continue
        level = levels[esc.key]
        assert level is not None
        span = int(np.clip(7 * share, 14, EXPANSION_SPAN))
        offsets = np.sort(rng.integers(0, span, share))
        dates = np.datetime64(esc.start, "D") + _days(offsets)
        dlt = rng.random(share) < rates[level - 1]
        cohort = Cohort(
            f"{esc.prefix}{EXPANSION_COHORT}",
            level,
            esc.route,
            "expansion",
            esc.key,
            0,
            share,
        )
        draft.add(cohort, dates, onsets(dlt))
