"""Shared machinery of the interval designs (BOIN, mTPI-2, i3+3).

Each design reduces to a decision for every (patients, DLTs) pair at the current dose:
escalate, stay or de-escalate. On top of that the three share BOIN's safety rules:

* dose elimination: the current dose and all higher doses are eliminated when
  ``Pr(p > target | y, n) > cutoff_eli`` under a Beta(1, 1) prior, for ``n >= 3``;
  the trial stops with no MTD when the lowest dose is eliminated;
* optional extra-safe stop at the lowest dose (cut-off ``cutoff_eli - offset``);
* ``n_earlystop``: the trial ends when the current dose has that many patients and
  the next cohort would stay there (BOIN 2.7.2 ``get.oc``);
* escalation never enters an eliminated dose; "escalate" at the top dose and
  "de-escalate" at the lowest dose mean stay;
* the final MTD is chosen by isotonic regression (:mod:`.mtd_selection`).

The per-cohort update is written once, vectorised over trials, and used both by
:meth:`IntervalDesign.decide` (one trial) and :meth:`IntervalDesign.simulate`.
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
    Action,
    BoolArray,
    Decision,
    DoseFindingDesign,
    FloatArray,
    IntArray,
    SimulatedTrials,
    Tolerances,
    as_counts,
    enrol_cohort,
    long_frame,
    start_trials,
)
from analyses.dose_finding.mtd_selection import (
    MTDSelection,
    isotonic_estimates,
    select_isotonic_batch,
)

__all__ = [
    "CodeTable",
    "DecisionTable",
    "EquivalenceIntervalDesign",
    "IntervalDesign",
    "elimination_boundary",
]

#: Decision codes in decision grids.
CODE_NAMES = {ESCALATE: "E", STAY: "S", DEESCALATE: "D", 3: "DU"}


def elimination_boundary(
    target: float, max_n: int, *, cutoff_eli: float = 0.95, min_n: int = 3
) -> FloatArray:
    """Return the smallest DLT count that eliminates a dose, for n = 0..max_n.

    A dose is eliminated when ``1 - pbeta(target, y + 1, n - y + 1) > cutoff_eli``
    (Beta(1, 1) prior), only for ``n >= min_n``.

    The posterior tail ``Pr(p > target | y, n)`` equals ``Pr(Binomial(n + 1, target)
    <= y)``, which increases with y, so the boundary of each n is found by one
    search over y: it starts at the binomial quantile and steps up while the tail is
    at most the cut-off, then down while the count below also eliminates. Every
    comparison uses the tail itself (``scipy.stats.beta.sf``), so the boundaries are
    those of a scan of every (n, y) pair, in O(max_n) time and memory instead of
    O(max_n^2).

    Parameters
    ----------
    target : float
        Target DLT rate.
    max_n : int
        Largest number of patients.
    cutoff_eli : float, default 0.95
        Posterior probability cut-off.
    min_n : int, default 3
        Fewest patients for which elimination applies.

    Returns
    -------
    numpy.ndarray of float, shape (max_n + 1,)
        Boundary per n; ``inf`` where no count eliminates (n < min_n or none).

    Examples
    --------
    >>> elimination_boundary(0.3, 6).tolist()
    [inf, inf, inf, 3.0, 3.0, 4.0, 4.0]
    """
    n = np.arange(int(max_n) + 1, dtype=np.int64)

    def eliminates(y: IntArray, m: IntArray) -> BoolArray:
        # y = m + 1 stands for "no count eliminates", y = -1 for "below 0"
        inside = (y >= 0) & (y <= m)
        yy = np.clip(y, 0, m)
        tail = stats.beta.sf(target, yy + 1, m - yy + 1)
        return np.asarray(np.where(inside, tail > cutoff_eli, y > m), dtype=bool)

    quantile = stats.binom.ppf(min(max(float(cutoff_eli), 0.0), 1.0), n + 1, target)
    guess = np.clip(np.nan_to_num(quantile, nan=0.0), 0, n + 1).astype(np.int64)
    # up while the guess does not eliminate, then down while the count below does
    todo = ~eliminates(guess, n)
    while todo.any():
        guess[todo] += 1
        todo[todo] = ~eliminates(guess[todo], n[todo])
    todo = eliminates(guess - 1, n)
    while todo.any():
        guess[todo] -= 1
        todo[todo] = eliminates(guess[todo] - 1, n[todo])
    found = (guess <= n) & (n >= min_n)
    return np.where(found, guess.astype(float), np.inf)


@dataclass(frozen=True)
class CodeTable:
    """The escalate / stay / de-escalate code of every (n, y) pair of a design.

    Either a full grid (``grid[n, y]``, for rules without a closed form such as
    mTPI-2's) or, for rules that are two integer boundaries per n (BOIN), the
    boundaries alone, which take O(max_n) memory instead of O(max_n^2).

    Attributes
    ----------
    grid : numpy.ndarray of int, optional
        Codes, shape (max_n + 1, max_n + 1).
    escalate_le : numpy.ndarray of int, optional
        Escalate when ``y <= escalate_le[n]``.
    deescalate_ge : numpy.ndarray of int, optional
        De-escalate when ``y >= deescalate_ge[n]`` (this wins over escalation);
        otherwise stay.
    """

    grid: IntArray | None = None
    escalate_le: IntArray | None = None
    deescalate_ge: IntArray | None = None

    def __call__(self, n: npt.ArrayLike, y: npt.ArrayLike) -> IntArray:
        """Return the codes of the pairs ``(n[i], y[i])``.

        Parameters
        ----------
        n, y : array_like of int
            Patients and DLTs (broadcast together).

        Returns
        -------
        numpy.ndarray of int
            ``ESCALATE``, ``STAY`` or ``DEESCALATE`` per pair.
        """
        n_arr = np.asarray(n, dtype=np.int64)
        y_arr = np.asarray(y, dtype=np.int64)
        if self.grid is not None:
            return np.asarray(self.grid[n_arr, y_arr], dtype=np.int64)
        if self.escalate_le is None or self.deescalate_ge is None:
            raise ValueError("a CodeTable needs a grid or both boundaries")
        return np.where(
            y_arr >= self.deescalate_ge[n_arr],
            DEESCALATE,
            np.where(y_arr <= self.escalate_le[n_arr], ESCALATE, STAY),
        ).astype(np.int64)

    def row(self, n: int) -> IntArray:
        """Return the codes for y = 0..n at one n.

        Parameters
        ----------
        n : int
            Number of patients.

        Returns
        -------
        numpy.ndarray of int, shape (n + 1,)
            Codes by number of DLTs.
        """
        ys = np.arange(n + 1)
        return self(np.full(n + 1, n), ys)


@dataclass(frozen=True, kw_only=True)
class DecisionTable(AnalysisResult):
    """Decision boundaries by number of patients at the current dose.

    Attributes
    ----------
    design : str
        Name of the design.
    boundaries : pandas.DataFrame
        One row per n: ``escalate_if_dlt_le``, ``deescalate_if_dlt_ge``,
        ``eliminate_if_dlt_ge`` (nullable integers; NA when no count qualifies).
    grid : pandas.DataFrame
        One row per (n, y): the decision code E, S, D or DU.
    """

    design: str
    boundaries: pd.DataFrame
    grid: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Return the boundaries in long form.

        Returns
        -------
        pandas.DataFrame
            Columns ``design``, ``n``, ``stat``, ``value`` (NaN when none).
        """
        return long_frame(self.boundaries, "n", self.design)

    def summary(self) -> pd.DataFrame:
        """Return the boundaries, one row per n.

        Returns
        -------
        pandas.DataFrame
            The boundary table.
        """
        return self.boundaries.copy()

    def wide(self) -> pd.DataFrame:
        """Return the decision grid as a table of codes, rows y and columns n.

        Returns
        -------
        pandas.DataFrame
            Decision code per (y, n); empty string where y > n.
        """
        return (
            self.grid.pivot(index="y", columns="n", values="decision")
            .fillna("")
            .rename_axis(index="DLTs", columns="patients")
        )


class IntervalDesign(DoseFindingDesign):
    """Base of BOIN, mTPI-2 and i3+3 (see the module docstring for shared rules).

    Parameters
    ----------
    target : float
        Target DLT rate.
    n_doses : int
        Number of dose levels.
    cohort_size : int, default 3
        Patients per cohort.
    n_cohorts : int, default 10
        Maximum number of cohorts.
    start_dose : int, default 1
        Starting dose level.
    cutoff_eli : float, default 0.95
        Posterior cut-off for dose elimination.
    extrasafe : bool, default False
        Stop early when the lowest dose is too toxic at ``cutoff_eli - offset``.
    offset : float, default 0.05
        Offset of the extra-safe rule.
    n_earlystop : int, default 100
        Stop when the current dose has this many patients and the decision is to
        stay (BOIN 2.7.2).
    min_n_eliminate : int, default 3
        Fewest patients for which elimination applies.
    estimate_offset : float, default 0.05
        Beta(a, a) prior offsets of the MTD-selection estimates.
    """

    name = "interval design"

    def __init__(
        self,
        target: float,
        n_doses: int,
        *,
        cohort_size: int = 3,
        n_cohorts: int = 10,
        start_dose: int = 1,
        cutoff_eli: float = 0.95,
        extrasafe: bool = False,
        offset: float = 0.05,
        n_earlystop: int = 100,
        min_n_eliminate: int = 3,
        estimate_offset: float = 0.05,
    ) -> None:
        if not 0 < target < 1:
            raise ValueError(f"target must be in (0, 1), got {target}")
        if n_doses < 1:
            raise ValueError(f"n_doses must be >= 1, got {n_doses}")
        if not 1 <= start_dose <= n_doses:
            raise ValueError(f"start_dose must be in 1..{n_doses}, got {start_dose}")
        if cohort_size < 1 or n_cohorts < 1:
            raise ValueError("cohort_size and n_cohorts must be >= 1")
        self.target = float(target)
        self.n_doses = int(n_doses)
        self.cohort_size = int(cohort_size)
        self.n_cohorts = int(n_cohorts)
        self.start_dose = int(start_dose)
        self.cutoff_eli = float(cutoff_eli)
        self.extrasafe = bool(extrasafe)
        self.offset = float(offset)
        self.n_earlystop = int(n_earlystop)
        self.min_n_eliminate = int(min_n_eliminate)
        self.estimate_offset = float(estimate_offset)

    # ------------------------------------------------------------------ rules
    def _codes(self, max_n: int) -> IntArray:
        """Return E/S/D codes for every (n, y), shape (max_n + 1, max_n + 1).

        Designs whose rule is a grid override this; designs whose rule is two
        boundaries per n override :meth:`_code_table` instead.
        """
        raise NotImplementedError(f"{type(self).__name__} defines no decision rule")

    def _code_table(self, max_n: int) -> CodeTable:
        """Return the decision codes for n, y = 0..max_n (default: the full grid)."""
        return CodeTable(grid=self._codes(max_n))

    @property
    def _table_n(self) -> int:
        return max(self.max_n, self.n_earlystop, 1)

    def _rules(self, max_n: int) -> tuple[CodeTable, FloatArray]:
        cache: dict[int, tuple[CodeTable, FloatArray]] = self.__dict__.setdefault(
            "_rules_cache", {}
        )
        # rules for more patients answer every smaller n as well
        larger = [m for m in cache if m >= max_n]
        if larger:
            return cache[min(larger)]
        codes = self._code_table(max_n)
        elim = elimination_boundary(
            self.target, max_n, cutoff_eli=self.cutoff_eli, min_n=self.min_n_eliminate
        )
        cache[max_n] = (codes, elim)
        return cache[max_n]

    def _selection_bound(self) -> float | None:
        return None

    def _design_parameters(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "n_doses": self.n_doses,
            "cohort_size": self.cohort_size,
            "n_cohorts": self.n_cohorts,
            "start_dose": self.start_dose,
            "cutoff_eli": self.cutoff_eli,
            "extrasafe": self.extrasafe,
            "offset": self.offset,
            "n_earlystop": self.n_earlystop,
            "min_n_eliminate": self.min_n_eliminate,
            "estimate_offset": self.estimate_offset,
        }

    def decision_table(self, max_n: int | None = None) -> DecisionTable:
        """Return the decision boundaries for n = 1..max_n patients at a dose.

        Parameters
        ----------
        max_n : int, optional
            Largest n; defaults to the maximum sample size.

        Returns
        -------
        DecisionTable
            Boundaries (escalate if DLTs <= ..., de-escalate if >= ..., eliminate if
            >= ...) and the full (n, y) decision grid.
        """
        top = self.max_n if max_n is None else int(max_n)
        codes, elim = self._rules(top)
        rows: list[dict[str, Any]] = []
        grid: list[dict[str, Any]] = []
        for n in range(1, top + 1):
            ys = np.arange(n + 1)
            c = codes.row(n)
            c[ys >= elim[n]] = 3
            grid.extend(
                {"n": n, "y": int(v), "decision": CODE_NAMES[int(k)]}
                for v, k in zip(ys, c, strict=True)
            )
            esc = ys[c == ESCALATE]
            de = ys[c >= DEESCALATE]
            rows.append(
                {
                    "n": n,
                    "escalate_if_dlt_le": int(esc.max()) if esc.size else pd.NA,
                    "deescalate_if_dlt_ge": int(de.min()) if de.size else pd.NA,
                    "eliminate_if_dlt_ge": int(elim[n])
                    if np.isfinite(elim[n])
                    else pd.NA,
                }
            )
        boundaries = pd.DataFrame(rows).astype(
            {
                "escalate_if_dlt_le": "Int64",
                "deescalate_if_dlt_ge": "Int64",
                "eliminate_if_dlt_ge": "Int64",
            }
        )
        return DecisionTable(
            design=self.name,
            boundaries=boundaries,
            grid=pd.DataFrame(grid),
            provenance=make_provenance(
                f"{type(self).__name__}.decision_table", max_n=top, **self.parameters()
            ),
        )

    # ------------------------------------------------------- one-step update
    def _update(
        self,
        n: IntArray,
        y: IntArray,
        cur: IntArray,
        eliminated: BoolArray,
        codes: CodeTable,
        elim: FloatArray,
    ) -> tuple[IntArray, BoolArray, BoolArray, BoolArray, BoolArray]:
        """Apply BOIN's after-cohort rules to many trials.

        Returns the next dose, the updated elimination mask, and flags: stopped for
        safety (no MTD), stopped by ``n_earlystop``, and the elimination hit at the
        current dose (for reasons).
        """
        rows = np.arange(n.shape[0])
        nc = n[rows, cur]
        yc = y[rows, cur]
        hit = yc >= elim[nc]
        eliminated = eliminated | (
            hit[:, None] & (np.arange(n.shape[1])[None, :] >= cur[:, None])
        )
        safety = hit & (cur == 0)
        if self.extrasafe:
            safety |= (cur == 0) & self._extrasafe_stop(n[:, 0], y[:, 0])
        code = codes(nc, yc)
        code = np.where(hit, DEESCALATE, code)
        top = n.shape[1] - 1
        up = np.minimum(cur + 1, top)
        can_up = (code == ESCALATE) & (cur < top) & ~eliminated[rows, up]
        down = (code == DEESCALATE) & (cur > 0)
        nxt = np.where(can_up, cur + 1, np.where(down, cur - 1, cur))
        # BOIN 2.7.2: n.earlystop ends the trial only when the next cohort would stay
        end_n = (nc >= self.n_earlystop) & (nxt == cur) & ~safety
        return nxt.astype(np.int64), eliminated, safety, end_n, hit

    def _extrasafe_stop(self, n0: IntArray, y0: IntArray) -> BoolArray:
        """Return the extra-safe rule at the lowest dose.

        Parameters
        ----------
        n0 : numpy.ndarray of int
            Patients at the lowest dose, one entry per trial.
        y0 : numpy.ndarray of int
            DLTs at the lowest dose.

        Returns
        -------
        numpy.ndarray of bool
            True where ``n0 >= 3`` and ``Pr(p > target | y0, n0) > cutoff_eli -
            offset`` under a Beta(1, 1) prior (whether or not ``extrasafe`` is set).
        """
        tail = stats.beta.sf(self.target, y0 + 1, n0 - y0 + 1)
        return np.asarray((n0 >= 3) & (tail > self.cutoff_eli - self.offset), bool)

    def _eliminated_from_counts(
        self, n: IntArray, y: IntArray, elim: FloatArray
    ) -> BoolArray:
        hit = (n >= self.min_n_eliminate) & (y >= elim[n])
        return np.logical_or.accumulate(hit, axis=-1)

    # ------------------------------------------------------------- decisions
    def decide(
        self,
        n: Sequence[int] | npt.ArrayLike,
        y: Sequence[int] | npt.ArrayLike,
        current: int,
        *,
        last_cohort_dlts: int | None = None,
    ) -> Decision:
        """Return the decision after the most recent cohort at ``current``.

        Parameters
        ----------
        n : sequence of int
            DLT-evaluable patients per dose level.
        y : sequence of int
            DLTs per dose level.
        current : int
            Dose level of the most recent cohort (1-based).
        last_cohort_dlts : int, optional
            Unused by interval designs (accepted for a common interface).

        Returns
        -------
        Decision
            Action, next dose, MTD when stopping, and the reasoning.
        """
        n_arr, y_arr = as_counts(n, y, self.n_doses)
        c = self._check_current(current)
        table_n = max(self._table_n, int(n_arr.max()))
        codes, elim = self._rules(table_n)
        nc, yc = int(n_arr[c]), int(y_arr[c])
        if nc == 0:
            return self._decision(
                "stay",
                c,
                c,
                None,
                f"No patient has been treated at dose level {c + 1} yet: treat the "
                "next cohort there.",
                n_arr,
                y_arr,
            )
        previous = self._eliminated_from_counts(n_arr, y_arr, elim)[None, :]
        nxt, _, safety, end_n, hit = self._update(
            n_arr[None, :], y_arr[None, :], np.array([c]), previous, codes, elim
        )
        counts = f"{yc} DLT(s) in {nc} patient(s) at dose level {c + 1}"
        rule = self._explain(nc, yc, codes, elim)
        if bool(safety[0]):
            why = (
                f"{counts}: Pr(DLT rate > {self.target:g}) exceeds the elimination "
                "cut-off at the lowest dose, so every dose is too toxic. Stop; "
                "no MTD."
            )
            return self._decision("stop", c, None, None, why, n_arr, y_arr)
        if bool(end_n[0]) or n_arr.sum() >= self.max_n:
            sel = self.select_mtd(n_arr, y_arr)
            which = (
                f"dose level {c + 1} reached n_earlystop = {self.n_earlystop}"
                if bool(end_n[0])
                else f"the maximum sample size {self.max_n} is reached"
            )
            mtd0 = None if sel.mtd is None else sel.mtd - 1
            return self._decision(
                "stop",
                c,
                None,
                mtd0,
                f"{counts}; {which}. Stop and select the MTD. {sel.reason}",
                n_arr,
                y_arr,
            )
        n1 = int(nxt[0])
        action: Action = "escalate" if n1 > c else "de-escalate" if n1 < c else "stay"
        extra = ""
        if bool(hit[0]):
            extra = f" Dose level {c + 1} and above are eliminated."
        code = int(codes(nc, yc))
        if code == ESCALATE and n1 == c:
            extra += (
                " Escalation is not possible (highest dose or next dose eliminated),"
                " so stay."
            )
        if code == DEESCALATE and n1 == c and not bool(hit[0]):
            extra += " De-escalation is not possible from the lowest dose, so stay."
        return self._decision(
            action,
            c,
            n1,
            None,
            f"{counts}: {rule}{extra}",
            n_arr,
            y_arr,
        )

    def _explain(self, n: int, y: int, codes: CodeTable, elim: FloatArray) -> str:
        code = int(codes(n, y))
        if y >= elim[n]:
            return (
                f"Pr(DLT rate > {self.target:g} | data) > {self.cutoff_eli:g} with a "
                "Beta(1, 1) prior: eliminate and de-escalate."
            )
        return {ESCALATE: "escalate.", STAY: "stay.", DEESCALATE: "de-escalate."}[code]

    def select_mtd(
        self, n: Sequence[int] | npt.ArrayLike, y: Sequence[int] | npt.ArrayLike
    ) -> MTDSelection:
        """Select the MTD by isotonic regression (BOIN ``select.mtd`` rules).

        Parameters
        ----------
        n : sequence of int
            Patients per dose level.
        y : sequence of int
            DLTs per dose level.

        Returns
        -------
        MTDSelection
            The MTD (None when no dose qualifies) and, per dose, the isotonic estimate
            with its 95% interval and Pr(DLT rate > target).
        """
        n_arr, y_arr = as_counts(n, y, self.n_doses)
        _, elim = self._rules(max(int(n_arr.max()), 3))
        eliminated = self._eliminated_from_counts(n_arr, y_arr, elim)
        stop = bool(eliminated[0])
        if self.extrasafe:
            stop |= bool(self._extrasafe_stop(n_arr[:1], y_arr[:1])[0])
        bound = self._selection_bound()
        chosen = int(
            select_isotonic_batch(
                n_arr[None, :],
                y_arr[None, :],
                eliminated[None, :],
                self.target,
                estimate_offset=self.estimate_offset,
                bound=bound,
            )[0]
        )
        estimates = isotonic_estimates(
            n_arr, y_arr, self.target, estimate_offset=self.estimate_offset
        )
        estimates["eliminated"] = eliminated
        if stop:
            mtd = None
            reason = "The lowest dose is too toxic (eliminated); no MTD."
        elif chosen < 0:
            mtd = None
            reason = "No treated, non-eliminated dose qualifies; no MTD."
        else:
            mtd = chosen + 1
            reason = (
                f"Dose level {mtd} has the isotonic DLT-rate estimate closest to the "
                f"target {self.target:g} among treated, non-eliminated doses"
                + (f" with estimate <= {bound:.4g}" if bound is not None else "")
                + " (ties: higher dose below the target, lower dose above)."
            )
        return MTDSelection(
            design=self.name,
            target=self.target,
            mtd=mtd,
            estimates=estimates,
            reason=reason,
            conventions={
                "estimate_prior": f"Beta({self.estimate_offset:g}, "
                f"{self.estimate_offset:g})",
                "isotonic": "PAVA weighted by 1/posterior variance",
                "interval": "equal-tailed 95% Beta quantiles, isotonic",
                "elimination_prior": "Beta(1, 1)",
            },
            provenance=make_provenance(
                f"{type(self).__name__}.select_mtd",
                inputs={"counts": estimates[["dose", "n", "dlt"]]},
                **self.parameters(),
            ),
        )

    # ------------------------------------------------------------ simulation
    def simulate(self, p_true: npt.ArrayLike, uniforms: Tolerances) -> SimulatedTrials:
        """Run many trials at once on pre-drawn patient tolerances.

        Parameters
        ----------
        p_true : array_like, shape (n_doses,)
            True DLT probability per dose.
        uniforms : numpy.ndarray (n_trials, n_doses, >= max_n) or PatientTolerances
            Patient tolerances (see :meth:`DoseFindingDesign.simulate`).

        Returns
        -------
        SimulatedTrials
            Counts, selected MTD (1-based, 0 = none) and early-stop flags.
        """
        p = np.asarray(p_true, dtype=float)
        n_trials = len(uniforms)
        codes, elim = self._rules(self._table_n)
        n, y, cur, active = start_trials(n_trials, self.n_doses, self.start_dose)
        eliminated = np.zeros((n_trials, self.n_doses), bool)
        safety_stop = np.zeros(n_trials, bool)
        for i in range(self.n_cohorts):
            step = enrol_cohort(uniforms, p, n, y, cur, active, self.cohort_size)
            if step is None:
                break
            rows, d, _ = step
            if i == self.n_cohorts - 1:
                # as BOIN get.oc: the last cohort ends the trial; select.mtd then
                # applies the elimination rule to the final counts
                break
            nxt, elim_rows, safety, end_n, _ = self._update(
                n[rows], y[rows], d, eliminated[rows], codes, elim
            )
            eliminated[rows] = elim_rows
            cur[rows] = nxt
            safety_stop[rows] = safety
            active[rows] = ~(safety | end_n)
        selected = select_isotonic_batch(
            n,
            y,
            self._eliminated_from_counts(n, y, elim),
            self.target,
            estimate_offset=self.estimate_offset,
            bound=self._selection_bound(),
        )
        no_mtd = safety_stop.copy()
        if self.extrasafe:
            no_mtd |= self._extrasafe_stop(n[:, 0], y[:, 0])
        selected = np.where(no_mtd, -1, selected)
        return SimulatedTrials(
            n=n,
            y=y,
            selected=(selected + 1).astype(np.int64),
            stopped_early=safety_stop,
        )


class EquivalenceIntervalDesign(IntervalDesign):
    """Base of the interval designs with an equivalence interval (mTPI-2, i3+3).

    Parameters
    ----------
    target : float
        Target DLT rate.
    n_doses : int
        Number of dose levels.
    eps1, eps2 : float, default 0.05
        Equivalence interval [target - eps1, target + eps2].
    **kwargs
        Sample size, start dose and safety rules of :class:`IntervalDesign`.
    """

    def __init__(
        self,
        target: float,
        n_doses: int,
        *,
        eps1: float = 0.05,
        eps2: float = 0.05,
        **kwargs: Any,
    ) -> None:
        super().__init__(target, n_doses, **kwargs)
        self.eps1 = float(eps1)
        self.eps2 = float(eps2)

    def _design_parameters(self) -> dict[str, Any]:
        return {**super()._design_parameters(), "eps1": self.eps1, "eps2": self.eps2}
