"""The 3+3 design in its two classical variants, with exact operating characteristics.

Cohorts of three at the current dose:

* 0/3 DLTs: escalate; 1/3: treat three more at the same dose; 1/6: escalate;
  >= 2 DLTs (of 3 or 6): the dose is too toxic.
* ``allow_deescalation=False`` (escalation only; Storer 1989): stop at the first too
  toxic dose; the MTD is the dose below (possibly with only three patients).
* ``allow_deescalation=True`` (bcrm ``threep3.esc.only=FALSE``; Chang et al. 2006):
  from a too toxic dose, de-escalate when the dose below has fewer than six patients and
  treat three more there; the MTD is the highest dose with at most 1/6 DLTs below a too
  toxic dose.

In both variants the highest dose is selected when it passes (0/3 or 1/6). The
per-cohort rule is written once, vectorised over trials;
:meth:`ThreePlusThree.exact_oc` enumerates
every path exactly, weighting each with its binomial probability.

Histories the variant cannot produce are refused
(:mod:`analyses.dose_finding.three_plus_three_history`):
:meth:`ThreePlusThree.decide_history` replays a cohort history (``"1NNN 2NTN"``) and
decides only when every cohort went where the rules sent it, as R
``escalation::three_plus_three(strict_mode = TRUE)``; ``decide`` and ``select_mtd``
decide on counts alone and, with ``strict=True``, refuse counts no history of the
variant ends with. (Their default stays lenient: the design-adherence review asks
them what the rule says after a deviation.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from analyses._results import AnalysisResult, make_provenance
from analyses.dose_finding._base import (
    DEESCALATE,
    ESCALATE,
    STAY,
    STOP,
    BoolArray,
    Decision,
    DoseFindingDesign,
    FloatArray,
    IntArray,
    SimulatedTrials,
    Tolerances,
    as_counts,
    enrol_cohort,
    start_trials,
)
from analyses.dose_finding.mtd_selection import MTDSelection
from analyses.dose_finding.three_plus_three_history import (
    History,
    check_counts,
    check_history,
)

__all__ = ["ExactOC", "ThreePlusThree", "prob_escalate_3plus3"]


def prob_escalate_3plus3(p: npt.ArrayLike) -> FloatArray:
    """Return the probability that a 3+3 cohort sequence escalates from a dose.

    ``P = (1 - p)^3 + 3 p (1 - p)^2 (1 - p)^3``: 0/3, or 1/3 followed by 0/3.

    Parameters
    ----------
    p : array_like
        True DLT probability.

    Returns
    -------
    numpy.ndarray
        Escalation probability.
    """
    q = 1 - np.asarray(p, dtype=float)
    return np.asarray(q**3 + 3 * (1 - q) * q**2 * q**3, float)


@dataclass(frozen=True, kw_only=True)
class ExactOC(AnalysisResult):
    """Exact operating characteristics of the 3+3 design.

    Attributes
    ----------
    design : str
        Design name and variant.
    p_true : tuple of float
        True DLT probabilities.
    prob_select : pandas.DataFrame
        ``dose`` (0 = no MTD) and ``probability``.
    per_dose : pandas.DataFrame
        ``dose``, ``mean_n``, ``mean_dlt``.
    expected_total_n : float
        Expected sample size.
    """

    design: str
    p_true: tuple[float, ...]
    prob_select: pd.DataFrame
    per_dose: pd.DataFrame
    expected_total_n: float

    def to_frame(self) -> pd.DataFrame:
        """Return the long frame.

        Returns
        -------
        pandas.DataFrame
            Columns ``design``, ``dose`` (0 = none; NA for totals), ``stat``, ``value``.
        """
        sel = self.prob_select.rename(columns={"probability": "value"})
        sel.insert(1, "stat", "prob_select")
        per = self.per_dose.melt(id_vars="dose", var_name="stat", value_name="value")
        tot = pd.DataFrame(
            {
                "dose": [pd.NA],
                "stat": ["expected_total_n"],
                "value": [self.expected_total_n],
            }
        )
        out = pd.concat([sel, per, tot], ignore_index=True)
        out["dose"] = out["dose"].astype("Int64")
        out.insert(0, "design", self.design)
        return out


class ThreePlusThree(DoseFindingDesign):
    """The 3+3 design.

    Parameters
    ----------
    n_doses : int
        Number of dose levels.
    allow_deescalation : bool, default True
        Variant: de-escalate to confirm the MTD with six patients (True) or
        escalation only (False).
    start_dose : int, default 1
        Starting dose level.
    target : float, optional
        Not used by the design; the DLT rate that defines the true MTD when operating
        characteristics are summarised.

    Examples
    --------
    >>> tpt = ThreePlusThree(n_doses=4)
    >>> tpt.decide(n=[3, 3, 0, 0], y=[0, 1, 0, 0], current=2).action
    'stay'
    """

    cohort_size = 3

    def __init__(
        self,
        n_doses: int,
        *,
        allow_deescalation: bool = True,
        start_dose: int = 1,
        target: float | None = None,
    ) -> None:
        if n_doses < 1:
            raise ValueError("n_doses must be >= 1")
        if not 1 <= start_dose <= n_doses:
            raise ValueError(f"start_dose must be in 1..{n_doses}")
        self.n_doses = int(n_doses)
        self.allow_deescalation = bool(allow_deescalation)
        self.start_dose = int(start_dose)
        self.target = float("nan") if target is None else float(target)
        self.n_cohorts = 2 * self.n_doses
        self.name = "3+3" if self.allow_deescalation else "3+3 (escalation only)"

    def _design_parameters(self) -> dict[str, Any]:
        return {
            "n_doses": self.n_doses,
            "allow_deescalation": self.allow_deescalation,
            "start_dose": self.start_dose,
        }

    def _update(
        self, n: IntArray, y: IntArray, cur: IntArray
    ) -> tuple[IntArray, IntArray, IntArray]:
        """Return action code, next dose and MTD of many trials (0-based; -1 none)."""
        rows = np.arange(n.shape[0])
        k = n.shape[1]
        nc, yc = n[rows, cur], y[rows, cur]
        toxic = yc >= 2
        below = np.maximum(cur - 1, 0)
        above = np.minimum(cur + 1, k - 1)
        top = cur == k - 1
        above_toxic = (~top) & (y[rows, above] >= 2)
        action = np.full(n.shape[0], STAY, np.int64)
        nxt = cur.copy()
        mtd = np.full(n.shape[0], -1, np.int64)
        # too toxic current dose
        t_stop = toxic & (
            (cur == 0) | ~np.bool_(self.allow_deescalation) | (n[rows, below] >= 6)
        )
        action[t_stop] = STOP
        mtd[t_stop] = cur[t_stop] - 1  # -1 at the lowest dose: no MTD
        t_down = toxic & ~t_stop
        action[t_down] = DEESCALATE
        nxt[t_down] = below[t_down]
        ok = ~toxic & (nc > 0)
        passed = ok & (((nc == 3) & (yc == 0)) | (nc >= 6))
        expand = ok & (nc == 3) & (yc == 1)
        action[expand] = STAY
        done = passed & (top | (above_toxic & (nc >= 6)))
        action[done] = STOP
        mtd[done] = cur[done]
        confirm = passed & ~top & above_toxic & (nc < 6)
        action[confirm] = STAY
        esc = passed & ~done & ~confirm
        action[esc] = ESCALATE
        nxt[esc] = above[esc]
        return action, nxt, mtd

    def decide(
        self,
        n: Sequence[int] | npt.ArrayLike,
        y: Sequence[int] | npt.ArrayLike,
        current: int,
        *,
        last_cohort_dlts: int | None = None,
        strict: bool = False,
    ) -> Decision:
        """Return the 3+3 decision after the most recent cohort at ``current``.

        Parameters
        ----------
        n : sequence of int
            Patients per dose level (multiples of 3).
        y : sequence of int
            DLTs per dose level.
        current : int
            Dose level of the most recent cohort (1-based).
        last_cohort_dlts : int, optional
            Unused (the rule depends on the counts at the current dose).
        strict : bool, default False
            Refuse counts that no history of this variant ends with (the last
            cohort at ``current``, possibly incomplete). Off by default: the
            design-adherence review asks what the rule says after a deviation.

        Returns
        -------
        Decision
            Action, next dose, MTD when stopping, and the reasoning.

        Raises
        ------
        InconsistentHistoryError
            With ``strict=True``, for counts the variant cannot produce.
        """
        n_arr, y_arr = as_counts(n, y, self.n_doses)
        c = self._check_current(current)
        if strict:
            check_counts(self, n_arr, y_arr, current)
        action, nxt, mtd = self._update(n_arr[None, :], y_arr[None, :], np.array([c]))
        a, nx, m = int(action[0]), int(nxt[0]), int(mtd[0])
        nc, yc = int(n_arr[c]), int(y_arr[c])
        counts = f"{yc}/{nc} DLTs at dose level {c + 1}"
        if nc == 0:
            return self._decision(
                "stay",
                c,
                c,
                None,
                f"Treat 3 patients at dose level {c + 1}.",
                n_arr,
                y_arr,
            )
        if nc not in (3, 6) and yc < 2:
            why = (
                f"{counts}: the 3+3 rules need 3 or 6 DLT-evaluable patients at the "
                f"current dose; {nc} are evaluable. Complete the cohort at dose level "
                f"{c + 1}."
            )
            return self._decision("stay", c, c, None, why, n_arr, y_arr)
        if a == STOP:
            if m < 0:
                why = (
                    f"{counts}: the lowest dose is too toxic (>= 2 DLTs). Stop; no MTD."
                )
            elif m == c:
                why = (
                    f"{counts}: the dose passes and "
                    + (
                        "it is the highest dose level"
                        if c == self.n_doses - 1
                        else f"dose level {c + 2} was too toxic"
                    )
                    + f"; MTD = dose level {c + 1}."
                )
            else:
                why = f"{counts}: >= 2 DLTs, too toxic; MTD = dose level {m + 1}."
            return self._decision(
                "stop", c, None, None if m < 0 else m, why, n_arr, y_arr
            )
        if a == DEESCALATE:
            why = (
                f"{counts}: >= 2 DLTs, too toxic; dose level {c} has fewer than 6 "
                "patients, so treat 3 more there."
            )
            return self._decision("de-escalate", c, nx, None, why, n_arr, y_arr)
        if a == ESCALATE:
            return self._decision(
                "escalate", c, nx, None, f"{counts}: escalate.", n_arr, y_arr
            )
        why = (
            f"{counts}: treat 3 more patients at the same dose."
            if yc == 1
            else f"{counts}: next dose too toxic; confirm this dose with 3 more."
        )
        return self._decision("stay", c, c, None, why, n_arr, y_arr)

    def decide_history(self, history: History) -> Decision:
        """Return the decision after a cohort history, refusing impossible histories.

        Parameters
        ----------
        history : str or sequence of (int, str)
            The cohorts as treated, ``"1NNN 2NTN 2NNN"`` (dose level, then ``N`` /
            ``T`` per DLT-evaluable patient; the last cohort may be incomplete), or
            ``[(1, "NNN"), (2, "NTN")]``. :func:`cohort_history` writes it from ADSL.

        Returns
        -------
        Decision
            The variant's decision after the last cohort.

        Raises
        ------
        InconsistentHistoryError
            When a cohort went where this variant's rules did not send it (e.g. 6
            patients after 0/3, escalation after >= 2 DLTs, a skipped dose), naming
            the history, the cohort and the rule.
        """
        return check_history(self, history)

    def check_counts(
        self,
        n: Sequence[int] | npt.ArrayLike,
        y: Sequence[int] | npt.ArrayLike,
        current: int | None = None,
    ) -> None:
        """Refuse counts that no history of this variant ends with.

        Parameters
        ----------
        n, y : sequence of int
            Patients and DLTs per dose level.
        current : int, optional
            Dose level of the most recent cohort.

        Raises
        ------
        InconsistentHistoryError
            Naming the counts and the rule(s) they break.
        """
        check_counts(self, n, y, current)

    def select_mtd(
        self,
        n: Sequence[int] | npt.ArrayLike,
        y: Sequence[int] | npt.ArrayLike,
        *,
        strict: bool = False,
    ) -> MTDSelection:
        """Return the MTD implied by completed 3+3 counts.

        The MTD is the highest dose that passed (0/3 or <= 1/6) below the lowest too
        toxic dose (>= 2 DLTs); with de-escalation the MTD must have six patients unless
        it is the highest dose.

        Parameters
        ----------
        n : sequence of int
            Patients per dose level.
        y : sequence of int
            DLTs per dose level.
        strict : bool, default False
            Refuse counts that no history of this variant ends with.

        Returns
        -------
        MTDSelection
            The MTD (None when no dose qualifies) and the raw counts per dose.

        Raises
        ------
        InconsistentHistoryError
            With ``strict=True``, for counts the variant cannot produce.
        """
        n_arr, y_arr = as_counts(n, y, self.n_doses)
        if strict:
            check_counts(self, n_arr, y_arr)
        toxic = np.flatnonzero(y_arr >= 2)
        limit = int(toxic[0]) if toxic.size else self.n_doses
        passed = ((n_arr == 3) & (y_arr == 0)) | ((n_arr >= 6) & (y_arr <= 1))
        if self.allow_deescalation and toxic.size:
            passed &= n_arr >= 6
        cands = np.flatnonzero(passed[:limit])
        mtd = int(cands[-1]) + 1 if cands.size else None
        est = pd.DataFrame(
            {
                "dose": np.arange(1, self.n_doses + 1),
                "n": n_arr,
                "dlt": y_arr,
                "rate": np.where(n_arr > 0, y_arr / np.maximum(n_arr, 1), np.nan),
            }
        )
        return MTDSelection(
            design=self.name,
            target=self.target,
            mtd=mtd,
            estimates=est,
            reason=(
                "Highest dose that passed (0/3 or <= 1/6 DLTs) below the first dose "
                "with "
                ">= 2 DLTs."
                if mtd
                else "No dose passed."
            ),
            conventions={
                "variant": "with de-escalation"
                if self.allow_deescalation
                else "escalation only"
            },
            provenance=make_provenance(
                "ThreePlusThree.select_mtd",
                inputs={"counts": est[["dose", "n", "dlt"]]},
                **self.parameters(),
            ),
        )

    def simulate(self, p_true: npt.ArrayLike, uniforms: Tolerances) -> SimulatedTrials:
        """Run many 3+3 trials at once on pre-drawn patient tolerances.

        Parameters
        ----------
        p_true : array_like, shape (n_doses,)
            True DLT probabilities.
        uniforms : numpy.ndarray (n_trials, n_doses, >= 6) or PatientTolerances
            Patient tolerances.

        Returns
        -------
        SimulatedTrials
            Counts and selected MTD (0 = none); ``stopped_early`` marks trials that
            stopped because the lowest dose was too toxic.
        """
        p = np.asarray(p_true, dtype=float)
        t_n = len(uniforms)
        n, y, cur, active = start_trials(t_n, self.n_doses, self.start_dose)
        selected = np.full(t_n, -1, np.int64)
        for _ in range(3 * self.n_doses + 1):
            step = enrol_cohort(uniforms, p, n, y, cur, active, 3)
            if step is None:
                break
            rows, d, _ = step
            action, nxt, mtd = self._update(n[rows], y[rows], d)
            stop = action == STOP
            selected[rows[stop]] = mtd[stop]
            cur[rows] = nxt
            active[rows[stop]] = False
        stopped: BoolArray = selected < 0
        return SimulatedTrials(n=n, y=y, selected=selected + 1, stopped_early=stopped)

    def exact_oc(self, p_true: npt.ArrayLike) -> ExactOC:
        """Return exact operating characteristics by enumerating every path.

        Parameters
        ----------
        p_true : array_like, shape (n_doses,)
            True DLT probabilities.

        Returns
        -------
        ExactOC
            Selection probabilities (dose 0 = no MTD), expected patients and DLTs per
            dose, expected sample size.
        """
        p = np.asarray(p_true, dtype=float)
        k = self.n_doses
        n = np.zeros((1, k), np.int64)
        y = np.zeros((1, k), np.int64)
        cur = np.array([self.start_dose - 1])
        prob = np.array([1.0])
        sel = np.zeros(k + 1)
        mean_n = np.zeros(k)
        mean_y = np.zeros(k)
        outcomes = np.arange(4)
        while prob.size:
            m = prob.size
            rep = np.repeat(np.arange(m), 4)
            dl = np.tile(outcomes, m)
            n, y, cur = n[rep].copy(), y[rep].copy(), cur[rep]
            prob = prob[rep] * stats.binom.pmf(dl, 3, p[cur])
            rows = np.arange(n.shape[0])
            n[rows, cur] += 3
            y[rows, cur] += dl
            action, nxt, mtd = self._update(n, y, cur)
            stop = action == STOP
            np.add.at(sel, mtd[stop] + 1, prob[stop])
            mean_n += (prob[stop, None] * n[stop]).sum(axis=0)
            mean_y += (prob[stop, None] * y[stop]).sum(axis=0)
            keep = ~stop & (prob > 0)
            n, y, cur, prob = n[keep], y[keep], nxt[keep], prob[keep]
        return ExactOC(
            design=self.name,
            p_true=tuple(float(v) for v in p),
            prob_select=pd.DataFrame({"dose": np.arange(k + 1), "probability": sel}),
            per_dose=pd.DataFrame(
                {"dose": np.arange(1, k + 1), "mean_n": mean_n, "mean_dlt": mean_y}
            ),
            expected_total_n=float(mean_n.sum()),
            provenance=make_provenance(
                "ThreePlusThree.exact_oc",
                p_true=[float(v) for v in p],
                **self.parameters(),
            ),
        )
