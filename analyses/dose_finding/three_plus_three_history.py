"""Dose histories a 3+3 variant can produce, and the refusal of those it cannot.

A history is the sequence of cohorts as treated, written as R's ``escalation``
package writes outcomes: ``"1NNN 2NTN 2NNN"`` (dose level, then one letter per
DLT-evaluable patient: ``N`` no DLT, ``T`` DLT). :func:`check_history` replays it
through the variant's own rule (:meth:`ThreePlusThree.decide`): patients are taken in
order, every three patients at the current dose complete a cohort and the rule
decides where the next patients go, and the first patient treated elsewhere, or after
the rule said stop, makes the history one the variant cannot produce. The last cohort
may be incomplete (still enrolling). :func:`check_counts` asks the same of counts per
dose, with no order: whether any history the variant can produce ends with them.

Examples of histories refused: more than 3 patients without a DLT at a dose
(``"1NNN 1NNN"``: after 0/3 every variant escalates), 6 treated after 0/3, escalation
after >= 2 DLTs (``"1NTN 1TNN 2NNN"``: 2/6 is too toxic), a skipped dose, a second
cohort at a dose with 2 DLTs in the first three, more than 6 patients at a dose.
R ``escalation::three_plus_three(strict_mode = TRUE)`` refuses such histories too
(checking counts per dose); here the order of the cohorts is checked as well.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from analyses.dose_finding._base import STOP, as_counts

if TYPE_CHECKING:  # pragma: no cover
    from analyses.dose_finding._base import Decision
    from analyses.dose_finding.three_plus_three import ThreePlusThree

__all__ = [
    "Cohort",
    "InconsistentHistoryError",
    "check_counts",
    "check_history",
    "cohort_history",
    "format_history",
    "parse_history",
]

History = str | Sequence[tuple[int, str]]
_TOKEN = re.compile(r"^(\d+)([NT]+)$", flags=re.IGNORECASE)


@dataclass(frozen=True)
class Cohort:
    """One cohort of a dose history.

    Attributes
    ----------
    dose : int
        Dose level (1-based).
    outcomes : str
        One letter per DLT-evaluable patient, in order: ``N`` (no DLT), ``T`` (DLT).
    """

    dose: int
    outcomes: str

    def __str__(self) -> str:
        return f"{self.dose}{self.outcomes}"


class InconsistentHistoryError(ValueError):
    """A dose history (or counts) the chosen 3+3 variant cannot produce.

    Attributes
    ----------
    design : str
        The variant (``"3+3"``, ``"3+3 (escalation only)"``).
    history : str
        The history refused (or the counts, described).
    cohort : int or None
        1-based position of the first cohort the rules do not allow (None for
        counts).
    reason : str
        Why, in words.
    """

    def __init__(
        self,
        design: str,
        history: str,
        reason: str,
        cohort: int | None = None,
        *,
        counts: bool = False,
    ) -> None:
        self.design = design
        self.history = history
        self.cohort = cohort
        self.reason = reason
        what = f"the counts {history}" if counts else f'the dose history "{history}"'
        super().__init__(f"{design} cannot produce {what}: {reason}")


def parse_history(history: History) -> list[Cohort]:
    """Return the cohorts of a history.

    Parameters
    ----------
    history : str or sequence of (int, str)
        ``"1NNN 2NTN"`` (cohorts separated by blanks), or ``[(1, "NNN"), (2,
        "NTN")]``; the letters are case-insensitive.

    Returns
    -------
    list of Cohort
        In order.

    Raises
    ------
    ValueError
        When a cohort is not a dose level followed by ``N`` / ``T`` letters.
    """
    if isinstance(history, str):
        tokens = history.split()
        pairs = []
        for token in tokens:
            match = _TOKEN.match(token)
            if match is None:
                raise ValueError(
                    f"cohort {token!r} of {history!r} is not a dose level followed by "
                    "N (no DLT) / T (DLT) letters, e.g. '2NTN'"
                )
            pairs.append((int(match.group(1)), match.group(2)))
    else:
        pairs = [(int(d), str(o)) for d, o in history]
    cohorts = []
    for dose, outcomes in pairs:
        letters = outcomes.upper()
        if not letters or set(letters) - {"N", "T"}:
            raise ValueError(f"outcomes {outcomes!r} must be N / T letters")
        cohorts.append(Cohort(dose, letters))
    return cohorts


def format_history(cohorts: Sequence[Cohort]) -> str:
    """Return a history in the ``"1NNN 2NTN"`` notation.

    Parameters
    ----------
    cohorts : sequence of Cohort
        The cohorts.

    Returns
    -------
    str
        Cohorts separated by one blank (empty for no cohort).
    """
    return " ".join(str(c) for c in cohorts)


def _prefix(cohorts: Sequence[Cohort], position: int, taken: int) -> str:
    """Return the history up to the first ``taken`` patients of cohort ``position``."""
    cohort = cohorts[position - 1]
    head = [str(c) for c in cohorts[: position - 1]]
    return " ".join([*head, f"{cohort.dose}{cohort.outcomes[:taken]}"])


def check_history(design: ThreePlusThree, history: History) -> Decision:
    """Refuse a history the variant cannot produce; return its decision otherwise.

    Parameters
    ----------
    design : ThreePlusThree
        The variant.
    history : str or sequence of (int, str)
        The cohorts as treated (see :func:`parse_history`).

    Returns
    -------
    Decision
        The variant's decision after the history (for an empty history: treat the
        first cohort at the start dose).

    Raises
    ------
    InconsistentHistoryError
        Naming the history, the first cohort the rules do not allow and why.
    """
    cohorts = parse_history(history)
    text = format_history(cohorts)
    k = design.n_doses
    n = np.zeros(k, dtype=np.int64)
    y = np.zeros(k, dtype=np.int64)
    expected = design.start_dose
    in_cohort = 0
    last: _Step | None = None
    done = ""  # the history up to the last decision

    def refuse(position: int, reason: str) -> InconsistentHistoryError:
        return InconsistentHistoryError(design.name, text, reason, position)

    for position, cohort in enumerate(cohorts, start=1):
        where = f'cohort {position} ("{cohort}")'
        if not 1 <= cohort.dose <= k:
            raise refuse(
                position, f"{where}: dose level {cohort.dose} is not in 1..{k}"
            )
        for taken, letter in enumerate(cohort.outcomes, start=1):
            if last is not None and last.action == "stop":
                raise refuse(
                    position,
                    f'{where} treats patients after the design stopped after "{done}" '
                    f"({last.reason})",
                )
            if cohort.dose != expected:
                after = (
                    f'after "{done}" ({last.reason})'
                    if last is not None
                    else "at the start"
                )
                why = (
                    f"the cohort of 3 at dose level {expected} is not complete "
                    f"({in_cohort} of 3)"
                    if in_cohort
                    else f"the next patients go to dose level {expected}"
                )
                raise refuse(
                    position,
                    f"{after} {why}, but {where} is at dose level {cohort.dose}",
                )
            n[cohort.dose - 1] += 1
            y[cohort.dose - 1] += letter == "T"
            in_cohort += 1
            if in_cohort == design.cohort_size:
                in_cohort = 0
                last = _Step(design, n.copy(), y.copy(), cohort.dose)
                done = _prefix(cohorts, position, taken)
                if last.next_dose is not None:
                    expected = last.next_dose
    return design.decide(n, y, cohorts[-1].dose if cohorts else design.start_dose)


class _Step:
    """The rule's decision after a completed cohort, worded only when needed."""

    def __init__(
        self,
        design: ThreePlusThree,
        n: npt.NDArray[np.int64],
        y: npt.NDArray[np.int64],
        dose: int,
    ) -> None:
        action, nxt, _ = design._update(n[None, :], y[None, :], np.array([dose - 1]))
        self.action = "stop" if int(action[0]) == STOP else "go"
        self.next_dose = None if self.action == "stop" else int(nxt[0]) + 1
        self._args = (design, n, y, dose)

    @property
    def reason(self) -> str:
        design, n, y, dose = self._args
        return design.decide(n, y, dose).reason


def _describe(n: npt.NDArray[np.int64], y: npt.NDArray[np.int64]) -> str:
    return ", ".join(
        f"DL{i + 1} {int(b)}/{int(a)}"
        for i, (a, b) in enumerate(zip(n, y, strict=True))
    )


def _hints(
    design: ThreePlusThree, n: npt.NDArray[np.int64], y: npt.NDArray[np.int64]
) -> list[str]:
    """Return the rule(s) the counts break, in words, when one is obvious."""
    hints = [
        f"dose level {i + 1} has {int(n[i])} patients (at most 6)"
        for i in np.flatnonzero(n > 6)
    ]
    toxic = y >= 2
    for i in np.flatnonzero((n > 3) & (y == 0)):
        if not design.allow_deescalation:
            hints.append(
                f"dose level {i + 1} has {int(n[i])} patients without a DLT (after "
                "0/3 the escalation-only variant escalates)"
            )
        elif i + 1 >= len(n) or not toxic[i + 1]:
            hints.append(
                f"dose level {i + 1} has {int(n[i])} patients without a DLT, but "
                "the dose above it was not too toxic (only a de-escalation adds 3 "
                "patients after 0/3)"
            )
    treated = np.flatnonzero(n > 0)
    if toxic.any():
        lowest = int(np.flatnonzero(toxic)[0])
        above = [int(i) for i in treated if i > lowest]
        if not design.allow_deescalation and above:
            hints.append(
                f"dose level {above[-1] + 1} was treated above dose level "
                f"{lowest + 1} with {int(y[lowest])} DLTs (the escalation-only "
                "variant stops there)"
            )
        bad = [i + 1 for i in above if not toxic[i]]
        if design.allow_deescalation and bad:
            hints.append(
                f"dose level(s) {bad} passed above dose level {lowest + 1} with "
                f"{int(y[lowest])} DLTs (a too-toxic dose is only reached from above "
                "by de-escalating from another too-toxic dose)"
            )
    if treated.size:
        if treated.min() + 1 != design.start_dose:
            hints.append(
                f"the lowest dose treated is {treated.min() + 1}, the start dose "
                f"{design.start_dose}"
            )
        gaps = [i + 1 for i in range(treated.min(), treated.max()) if n[i] == 0]
        if gaps:
            hints.append(f"dose level(s) {gaps} skipped")
    partial = np.flatnonzero(n % 3 != 0)
    if partial.size > 1:
        hints.append(
            f"dose levels {[int(i) + 1 for i in partial]} each have an incomplete "
            "cohort (at most one cohort is in progress)"
        )
    return hints


def check_counts(
    design: ThreePlusThree,
    n: npt.ArrayLike,
    y: npt.ArrayLike,
    current: int | None = None,
) -> None:
    """Refuse counts that no history of the variant ends with.

    Parameters
    ----------
    design : ThreePlusThree
        The variant.
    n, y : array_like of int
        Patients and DLTs per dose level.
    current : int, optional
        Dose level of the most recent cohort (then the history must end there);
        one incomplete cohort is allowed, at the dose the rules call next.

    Raises
    ------
    InconsistentHistoryError
        When no history the variant can produce ends with these counts (its
        message lists the rule(s) the counts break when one is obvious).
    """
    target_n, target_y = as_counts(n, y, design.n_doses)
    k = design.n_doses
    size = design.cohort_size

    def matches(
        cn: npt.NDArray[np.int64],
        cy: npt.NDArray[np.int64],
        nxt: int,
        last: int,
        stopped: bool,
    ) -> bool:
        left_n, left_y = target_n - cn, target_y - cy
        if not left_n.any():
            if not cn.any():  # nothing treated yet: the start
                return current is None or current == design.start_dose
            return not left_y.any() and (current is None or last == current - 1)
        # one incomplete cohort at the dose the rules call next
        if stopped or (current is not None and nxt != current - 1):
            return False
        others = np.delete(left_n, nxt)
        return (
            0 < left_n[nxt] < size
            and not others.any()
            and not np.delete(left_y, nxt).any()
        )

    seen: set[tuple[bytes, bytes, int]] = set()
    stack = [
        (np.zeros(k, np.int64), np.zeros(k, np.int64), design.start_dose - 1, -1, False)
    ]
    while stack:
        cn, cy, nxt, last, stopped = stack.pop()
        if matches(cn, cy, nxt, last, stopped):
            return
        if stopped or cn[nxt] + size > target_n[nxt]:
            continue
        for dlts in range(size + 1):
            if cy[nxt] + dlts > target_y[nxt]:
                break
            nn, ny = cn.copy(), cy.copy()
            nn[nxt] += size
            ny[nxt] += dlts
            action, to, _ = design._update(nn[None, :], ny[None, :], np.array([nxt]))
            key = (nn.tobytes(), ny.tobytes(), nxt)
            if key in seen:
                continue
            seen.add(key)
            stack.append((nn, ny, int(to[0]), nxt, bool(action[0] == STOP)))
    hints = _hints(design, target_n, target_y)
    where = "" if current is None else f" with the last cohort at dose level {current}"
    raise InconsistentHistoryError(
        design.name,
        _describe(target_n, target_y),
        "no sequence of cohorts following its rules ends with these counts"
        + where
        + (f" ({'; '.join(hints)})" if hints else ""),
        counts=True,
    )


def cohort_history(adsl: pd.DataFrame, escalation_group: str | None = None) -> str:
    """Return an escalation's dose history from ADSL, in the ``"1NNN 2NTN"`` notation.

    Parameters
    ----------
    adsl : pandas.DataFrame
        Subject level (:func:`analyses.datasets.derive_adsl`): ``cohort_id``,
        ``cohort_role``, ``escalation_group``, ``dose_level``, ``first_dose_date``,
        ``dlt_evaluable``, ``dlt``.
    escalation_group : str, optional
        The escalation (a route, or ``"pooled"``); needed when there are several.

    Returns
    -------
    str
        The escalation cohorts' DLT-evaluable subjects (``T`` with a DLT, ``N``
        without), cohorts (cohort id and dose level) in order of their first
        dose, subjects in order of first dose then ``subject_id``, as
        :func:`~analyses.dose_finding.summarize_escalation` orders them. Subjects
        not (yet) evaluable are left out.

    Raises
    ------
    ValueError
        When ADSL holds several escalations and none is named.
    """
    esc = adsl.loc[
        adsl["cohort_role"].astype("string").fillna("escalation").eq("escalation")
        & adsl["dose_level"].notna()
        & adsl["first_dose_date"].notna()
    ]
    groups = sorted(esc["escalation_group"].dropna().astype(str).unique())
    if escalation_group is None:
        if len(groups) > 1:
            raise ValueError(f"several escalations {groups}: name one")
    else:
        esc = esc.loc[esc["escalation_group"].astype(str) == str(escalation_group)]
    esc = esc.sort_values(["first_dose_date", "subject_id"], kind="mergesort")
    esc = esc.loc[esc["dlt_evaluable"].astype(bool)]
    key = esc["cohort_id"].astype(str) + "|" + esc["dose_level"].astype(str)
    tokens = []
    for unit in dict.fromkeys(key):
        members = esc.loc[key == unit]
        letters = "".join("T" if d else "N" for d in members["dlt"].astype(bool))
        tokens.append(f"{int(members['dose_level'].iloc[0])}{letters}")
    return " ".join(tokens)
