"""What every dose-finding design shares: the decision object and the design interface.

Dose levels are 1-based in every public input and output; arrays inside are 0-based.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from analyses._results import AnalysisResult, make_provenance
from analyses.dose_finding.tolerances import PatientTolerances

__all__ = [
    "ACTIONS",
    "Action",
    "Decision",
    "DoseFindingDesign",
    "SimulatedTrials",
    "Tolerances",
    "as_counts",
    "long_frame",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
#: Patient tolerances: an array (n_trials, n_doses, slots) or computed on demand.
Tolerances = FloatArray | PatientTolerances

Action = Literal["escalate", "stay", "de-escalate", "stop"]
#: Action codes used by the vectorised simulators, in this order.
ACTIONS: tuple[Action, ...] = ("escalate", "stay", "de-escalate", "stop")
ESCALATE, STAY, DEESCALATE, STOP = 0, 1, 2, 3


def as_counts(
    n: Sequence[int] | npt.ArrayLike, y: Sequence[int] | npt.ArrayLike, n_doses: int
) -> tuple[IntArray, IntArray]:
    """Check and convert per-dose patient and DLT counts.

    Parameters
    ----------
    n : sequence of int
        Patients treated (DLT-evaluable) per dose level, lowest first.
    y : sequence of int
        DLTs per dose level.
    n_doses : int
        Number of dose levels the design has.

    Returns
    -------
    tuple of numpy.ndarray
        ``n`` and ``y`` as int64 arrays.

    Raises
    ------
    ValueError
        When lengths differ from ``n_doses``, counts are negative or ``y > n``.
    """
    n_arr = np.asarray(n, dtype=np.int64)
    y_arr = np.asarray(y, dtype=np.int64)
    if n_arr.shape != (n_doses,) or y_arr.shape != (n_doses,):
        raise ValueError(
            f"n and y must each have one entry per dose level ({n_doses}); "
            f"got {n_arr.shape[0] if n_arr.ndim else 0} and "
            f"{y_arr.shape[0] if y_arr.ndim else 0}"
        )
    if (n_arr < 0).any() or (y_arr < 0).any() or (y_arr > n_arr).any():
        raise ValueError("counts must satisfy 0 <= y <= n at every dose level")
    return n_arr, y_arr


@dataclass(frozen=True, kw_only=True)
class Decision(AnalysisResult):
    """The design's decision for the next cohort.

    Attributes
    ----------
    design : str
        Name of the design.
    action : {"escalate", "stay", "de-escalate", "stop"}
        What to do next.
    current_dose : int
        Dose level the decision starts from (1-based).
    next_dose : int or None
        Dose level for the next cohort; None when the trial stops.
    mtd : int or None
        The selected MTD when the trial stops with one, else None.
    reason : str
        The design's reasoning in words.
    """

    design: str
    action: Action
    current_dose: int
    next_dose: int | None
    mtd: int | None
    reason: str

    def to_frame(self) -> pd.DataFrame:
        """Return the decision as a long frame (``stat``, ``value``).

        Returns
        -------
        pandas.DataFrame
            Rows ``current_dose``, ``next_dose`` (NaN when stopping), ``stop``
            (1 or 0) and ``mtd`` (NaN when none).
        """
        return pd.DataFrame(
            {
                "design": self.design,
                "stat": ["current_dose", "next_dose", "stop", "mtd"],
                "value": [
                    float(self.current_dose),
                    np.nan if self.next_dose is None else float(self.next_dose),
                    float(self.action == "stop"),
                    np.nan if self.mtd is None else float(self.mtd),
                ],
            }
        )

    def __str__(self) -> str:
        nxt = (
            "none (stop)" if self.next_dose is None else f"dose level {self.next_dose}"
        )
        mtd = "" if self.mtd is None else f"; MTD = dose level {self.mtd}"
        return (
            f"{self.design}: {self.action} from dose level {self.current_dose}; "
            f"next: {nxt}{mtd}. {self.reason}"
        )


@dataclass(frozen=True)
class SimulatedTrials:
    """Raw outcome of many simulated trials of one design under one scenario.

    Attributes
    ----------
    n : numpy.ndarray, shape (n_trials, n_doses)
        Patients treated per dose.
    y : numpy.ndarray, shape (n_trials, n_doses)
        DLTs per dose.
    selected : numpy.ndarray, shape (n_trials,)
        Selected MTD (1-based), 0 when the trial selects none.
    stopped_early : numpy.ndarray, shape (n_trials,)
        Whether the trial stopped for safety before its planned end.
    """

    n: IntArray
    y: IntArray
    selected: IntArray
    stopped_early: BoolArray


class DoseFindingDesign(ABC):
    """Interface every design implements.

    Attributes
    ----------
    name : str
        Short name used in outputs.
    n_doses : int
        Number of dose levels.
    target : float
        Target DLT rate.
    cohort_size : int
        Patients per cohort.
    n_cohorts : int
        Maximum number of cohorts (maximum sample size ``cohort_size * n_cohorts``).
    start_dose : int
        Starting dose level (1-based).
    """

    name: str
    n_doses: int
    target: float
    cohort_size: int
    n_cohorts: int
    start_dose: int

    @property
    def max_n(self) -> int:
        """Maximum sample size, ``cohort_size * n_cohorts``."""
        return self.cohort_size * self.n_cohorts

    def parameters(self) -> dict[str, Any]:
        """Return every parameter that changes a number, for provenance.

        Returns
        -------
        dict
            ``design`` (the design's name) first, then the design's own parameters
            (see :meth:`_design_parameters`).
        """
        return {"design": self.name, **self._design_parameters()}

    @abstractmethod
    def _design_parameters(self) -> dict[str, Any]:
        """Return the design's own parameters, without its name.

        Subclasses that add parameters extend their parent's dictionary:
        ``{**super()._design_parameters(), "extra": self.extra}``.

        Returns
        -------
        dict
            Parameter names and values, in the order :meth:`parameters` reports them.
        """

    @abstractmethod
    def decide(
        self,
        n: Sequence[int] | npt.ArrayLike,
        y: Sequence[int] | npt.ArrayLike,
        current: int,
        *,
        last_cohort_dlts: int | None = None,
    ) -> Decision:
        """Return the decision for the next cohort.

        Parameters
        ----------
        n : sequence of int
            DLT-evaluable patients per dose level.
        y : sequence of int
            DLTs per dose level.
        current : int
            Dose level of the most recent cohort (1-based).
        last_cohort_dlts : int, optional
            DLTs in the most recent cohort (used by coherence rules).

        Returns
        -------
        Decision
            Action, next dose and reasoning.
        """

    @abstractmethod
    def select_mtd(
        self, n: Sequence[int] | npt.ArrayLike, y: Sequence[int] | npt.ArrayLike
    ) -> Any:
        """Return the final MTD with per-dose estimates (an ``MTDSelection``).

        Parameters
        ----------
        n : sequence of int
            DLT-evaluable patients per dose level.
        y : sequence of int
            DLTs per dose level.

        Returns
        -------
        MTDSelection
            The selected dose and per-dose estimates.
        """

    @abstractmethod
    def simulate(self, p_true: npt.ArrayLike, uniforms: Tolerances) -> SimulatedTrials:
        """Run many trials at once on pre-drawn patient tolerances.

        Parameters
        ----------
        p_true : array_like, shape (n_doses,)
            True DLT probability per dose.
        uniforms : numpy.ndarray (n_trials, n_doses, max_n) or PatientTolerances
            ``uniforms[t, d, j]`` is the tolerance of the ``j``-th patient treated at
            dose ``d`` in trial ``t``: that patient has a DLT when it is below
            ``p_true[d]``. Sharing the tolerances across designs gives common random
            numbers.

        Returns
        -------
        SimulatedTrials
            Per-trial counts, selected MTD and early-stop flags.
        """

    def _check_current(self, current: int) -> int:
        if not 1 <= int(current) <= self.n_doses:
            raise ValueError(f"current dose {current} is not in 1..{self.n_doses}")
        return int(current) - 1

    def _decision(
        self,
        action: Action,
        current0: int,
        next0: int | None,
        mtd0: int | None,
        reason: str,
        n: IntArray,
        y: IntArray,
    ) -> Decision:
        frame = pd.DataFrame({"dose": np.arange(1, self.n_doses + 1), "n": n, "y": y})
        return Decision(
            design=self.name,
            action=action,
            current_dose=current0 + 1,
            next_dose=None if next0 is None else next0 + 1,
            mtd=None if mtd0 is None else mtd0 + 1,
            reason=reason,
            provenance=make_provenance(
                f"{type(self).__name__}.decide",
                inputs={"counts": frame},
                current=current0 + 1,
                **self.parameters(),
            ),
        )


def draw_cohort(
    uniforms: Tolerances,
    p_true: FloatArray,
    rows: IntArray,
    dose: IntArray,
    n_at_dose: IntArray,
    size: int,
) -> IntArray:
    """Count DLTs in the next cohort of each trial from pre-drawn tolerances.

    Parameters
    ----------
    uniforms : numpy.ndarray or PatientTolerances
        Patient tolerances.
    p_true : numpy.ndarray, shape (n_doses,)
        True DLT probabilities.
    rows : numpy.ndarray of int
        Trials that enrol a cohort.
    dose : numpy.ndarray of int
        0-based dose of each of those trials.
    n_at_dose : numpy.ndarray of int
        Patients already treated at that dose (the first free slot).
    size : int
        Cohort size.

    Returns
    -------
    numpy.ndarray of int
        DLTs in each cohort.
    """
    slots = n_at_dose[:, None] + np.arange(size)[None, :]
    if isinstance(uniforms, PatientTolerances):
        u = uniforms.take(rows[:, None], dose[:, None], slots)
    else:
        u = uniforms[rows[:, None], dose[:, None], slots]
    return (u < p_true[dose][:, None]).sum(axis=1).astype(np.int64)


def long_frame(
    frame: pd.DataFrame,
    id_var: str,
    design: str,
    value_vars: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Melt a design's result table into the long ``design``/``stat``/``value`` form.

    Parameters
    ----------
    frame : pandas.DataFrame
        Wide table with one row per ``id_var`` value.
    id_var : str
        Column kept as the row key.
    design : str
        Design name, inserted as the first column.
    value_vars : sequence of str, optional
        Columns melted into ``stat``; default every column but ``id_var``.

    Returns
    -------
    pandas.DataFrame
        Columns ``design``, ``id_var``, ``stat``, ``value``; ``value`` is float with
        NaN where the table held a missing value (NA of a nullable column).
    """
    long = frame.melt(
        id_vars=id_var,
        value_vars=None if value_vars is None else list(value_vars),
        var_name="stat",
        value_name="value",
    )
    long["value"] = long["value"].astype("Float64").astype(float)
    long.insert(0, "design", design)
    return long


def start_trials(
    n_trials: int, n_doses: int, start_dose: int
) -> tuple[IntArray, IntArray, IntArray, BoolArray]:
    """Return the empty state of many simulated trials.

    Parameters
    ----------
    n_trials : int
        Number of trials.
    n_doses : int
        Number of dose levels.
    start_dose : int
        Starting dose level (1-based).

    Returns
    -------
    tuple of numpy.ndarray
        ``n`` and ``y`` (zeros, shape (n_trials, n_doses)), ``cur`` (the 0-based start
        dose of every trial) and ``active`` (all True).
    """
    n = np.zeros((n_trials, n_doses), np.int64)
    y = np.zeros((n_trials, n_doses), np.int64)
    cur = np.full(n_trials, start_dose - 1, np.int64)
    active = np.ones(n_trials, bool)
    return n, y, cur, active


def enrol_cohort(
    uniforms: Tolerances,
    p_true: FloatArray,
    n: IntArray,
    y: IntArray,
    cur: IntArray,
    active: BoolArray,
    size: int,
) -> tuple[IntArray, IntArray, IntArray] | None:
    """Treat the next cohort of every active trial at its current dose.

    ``n`` and ``y`` are updated in place.

    Parameters
    ----------
    uniforms : numpy.ndarray or PatientTolerances
        Patient tolerances (see :func:`draw_cohort`).
    p_true : numpy.ndarray, shape (n_doses,)
        True DLT probabilities.
    n, y : numpy.ndarray of int, shape (n_trials, n_doses)
        Patients and DLTs per trial and dose; the cohort is added to them.
    cur : numpy.ndarray of int, shape (n_trials,)
        0-based current dose of each trial.
    active : numpy.ndarray of bool, shape (n_trials,)
        Trials still enrolling.
    size : int
        Cohort size.

    Returns
    -------
    tuple of numpy.ndarray or None
        ``(rows, dose, dlts)``: the active trials, their 0-based dose and the DLTs in
        their new cohort; None when no trial is active.
    """
    rows = np.flatnonzero(active)
    if rows.size == 0:
        return None
    dose = cur[rows]
    dlts = draw_cohort(uniforms, p_true, rows, dose, n[rows, dose], size)
    n[rows, dose] += size
    y[rows, dose] += dlts
    return rows, dose, dlts
