"""Operating characteristics of dose-finding designs by simulation.

Common random numbers across designs; chunks can run on a Dask cluster.

Every simulated patient has a tolerance ``u ~ U(0, 1)`` fixed before any design runs:
``u[t, d, j]`` belongs to the ``j``-th patient treated at dose ``d`` in trial ``t``, who
has a DLT when ``u < p_true[d]``. All designs and all scenarios read the same
tolerances (:class:`~analyses.dose_finding.tolerances.PatientTolerances`, a
counter-based generator), so differences between designs are not Monte Carlo noise
between independent streams (common random numbers; Sweeting et al. 2024). Each
tolerance depends only on ``(seed, t, d, j)``: results depend on ``seed`` and
``n_trials`` only, not on the order of scenarios or designs, on ``chunk_size``, nor on
whether chunks run locally or on a cluster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from analyses._optional import import_optional
from analyses._results import AnalysisResult, make_provenance
from analyses.dose_finding._base import DoseFindingDesign, FloatArray
from analyses.dose_finding.tolerances import PatientTolerances

__all__ = ["OperatingCharacteristics", "simulate_oc", "true_mtd"]

#: Default number of trials per chunk (one chunk = one task on a cluster).
CHUNK_SIZE = 10_000


def true_mtd(p_true: npt.ArrayLike, target: float) -> int:
    """Return the true MTD: the dose whose true DLT rate is closest to the target.

    Parameters
    ----------
    p_true : array_like
        True DLT probabilities per dose.
    target : float
        Target DLT rate.

    Returns
    -------
    int
        1-based dose level; ties go to the lower dose.
    """
    p = np.asarray(p_true, dtype=float)
    return int(np.argmin(np.abs(p - target) + np.arange(p.size) * 1e-12)) + 1


def _run_chunk(
    designs: Sequence[DoseFindingDesign],
    scenarios: Sequence[FloatArray],
    targets: Sequence[float],
    seed: int,
    start: int,
    size: int,
) -> dict[str, FloatArray]:
    """Simulate one chunk of trials for every design and scenario; return sums."""
    k = designs[0].n_doses
    u = PatientTolerances(seed, size, offset=start)
    n_d, n_s = len(designs), len(scenarios)
    out = {
        "select": np.zeros((n_d, n_s, k + 1)),
        "n": np.zeros((n_d, n_s, k)),
        "n2": np.zeros((n_d, n_s, k)),
        "y": np.zeros((n_d, n_s, k)),
        "y2": np.zeros((n_d, n_s, k)),
        "total_n2": np.zeros((n_d, n_s)),
        "early": np.zeros((n_d, n_s)),
        "above": np.zeros((n_d, n_s)),
        "trials": np.zeros((n_d, n_s)),
    }
    for j, p in enumerate(scenarios):
        for i, design in enumerate(designs):
            sim = design.simulate(p, u)
            mtd = true_mtd(p, targets[i])
            total = sim.n.sum(axis=1)
            over = sim.n[:, mtd:].sum(axis=1)
            out["select"][i, j] = np.bincount(sim.selected, minlength=k + 1)
            out["n"][i, j] = sim.n.sum(axis=0)
            out["n2"][i, j] = (sim.n.astype(float) ** 2).sum(axis=0)
            out["y"][i, j] = sim.y.sum(axis=0)
            out["y2"][i, j] = (sim.y.astype(float) ** 2).sum(axis=0)
            out["total_n2"][i, j] = (total.astype(float) ** 2).sum()
            out["early"][i, j] = sim.stopped_early.sum()
            out["above"][i, j] = np.where(
                total > 0, over / np.maximum(total, 1), 0.0
            ).sum()
            out["trials"][i, j] = size
    return out


@dataclass(frozen=True, kw_only=True)
class OperatingCharacteristics(AnalysisResult):
    """Simulated operating characteristics of one or more designs.

    Attributes
    ----------
    designs : tuple of str
        Design names, in input order.
    scenarios : dict
        Scenario name -> true DLT probabilities.
    true_mtds : dict
        (design, scenario) -> true MTD used for "% patients above the MTD".
    n_trials : int
        Trials per design and scenario.
    seed : int
        Seed of the patient tolerances.
    table : pandas.DataFrame
        The long results frame (see :meth:`to_frame`).
    """

    designs: tuple[str, ...]
    scenarios: dict[str, tuple[float, ...]]
    true_mtds: dict[tuple[str, str], int]
    n_trials: int
    seed: int
    table: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Return the long, unrounded results.

        Per dose (``dose`` 1..K): ``pct_select``, ``mean_n``, ``sd_n``, ``mean_dlt``,
        ``p_true``; ``dose`` 0 carries ``pct_select`` of no MTD; trial-level rows (dose
        NA): ``pct_early_stop``, ``pct_select_true_mtd``, ``mean_total_n``,
        ``sd_total_n``, ``mean_total_dlt``, ``pct_patients_above_mtd``, ``true_mtd``,
        ``n_trials``.

        Returns
        -------
        pandas.DataFrame
            Columns ``design``, ``scenario``, ``dose``, ``stat``, ``value``.
        """
        return self.table.copy()

    def selection(self) -> pd.DataFrame:
        """Return % selection per dose: one row per design and scenario.

        Returns
        -------
        pandas.DataFrame
            Columns ``design``, ``scenario``, ``none``, then one column per dose.
        """
        sel = self.table[self.table["stat"] == "pct_select"]
        wide = sel.pivot_table(
            index=["design", "scenario"], columns="dose", values="value", sort=False
        )
        wide.columns = ["none" if c == 0 else f"dose {c}" for c in wide.columns]
        return wide.reset_index()

    def summary(self) -> pd.DataFrame:
        """Return one row per design and scenario with the headline figures.

        Returns
        -------
        pandas.DataFrame
            % selection per dose, mean n per dose, and the trial-level statistics.
        """
        t = self.table
        per_dose = t[
            t["dose"].notna() & (t["stat"].isin(["pct_select", "mean_n", "mean_dlt"]))
        ]
        labels = per_dose["stat"] + " " + per_dose["dose"].astype(int).astype(str)
        wide = per_dose.assign(
            col=labels.str.replace("pct_select 0", "pct_select none")
        ).pivot_table(
            index=["design", "scenario"], columns="col", values="value", sort=False
        )
        trial = t[t["dose"].isna()].pivot_table(
            index=["design", "scenario"], columns="stat", values="value", sort=False
        )
        out = wide.join(trial).reset_index()
        out.columns.name = None
        return out


def _normalise_scenarios(
    scenarios: Mapping[str, Sequence[float]] | Sequence[Sequence[float]], n_doses: int
) -> dict[str, tuple[float, ...]]:
    items = (
        scenarios.items()
        if isinstance(scenarios, Mapping)
        else ((f"scenario {i + 1}", s) for i, s in enumerate(scenarios))
    )
    out: dict[str, tuple[float, ...]] = {}
    for name, p in items:
        arr = np.asarray(p, dtype=float)
        if arr.shape != (n_doses,):
            raise ValueError(
                f"scenario {name!r} has {arr.size} probabilities; designs have "
                f"{n_doses} doses"
            )
        if ((arr < 0) | (arr > 1)).any():
            raise ValueError(f"scenario {name!r}: probabilities must be in [0, 1]")
        out[str(name)] = tuple(float(v) for v in arr)
    if not out:
        raise ValueError("at least one scenario is required")
    return out


def simulate_oc(
    designs: DoseFindingDesign
    | Sequence[DoseFindingDesign]
    | Mapping[str, DoseFindingDesign],
    scenarios: Mapping[str, Sequence[float]] | Sequence[Sequence[float]],
    *,
    n_trials: int = 10_000,
    seed: int = 1,
    target: float | None = None,
    chunk_size: int = CHUNK_SIZE,
    scheduler: Any = None,
) -> OperatingCharacteristics:
    """Simulate operating characteristics of designs over scenarios.

    Parameters
    ----------
    designs : design, sequence of designs, or mapping name -> design
        Designs with the same number of dose levels.
    scenarios : mapping name -> probabilities, or sequence of probabilities
        True DLT probability per dose for each scenario.
    n_trials : int, default 10000
        Trials per design and scenario.
    seed : int, default 1
        Seed of the patient tolerances (shared by all designs and scenarios).
    target : float, optional
        Target DLT rate defining the true MTD (dose with true rate closest to it);
        defaults to each design's own target (required for 3+3).
    chunk_size : int, default 10000
        Trials per chunk (one task on a cluster); does not change the results.
    scheduler : str or distributed.Client, optional
        Dask scheduler address (or a client) to run chunks on a cluster; chunks run
        locally when omitted. Results are identical either way.

    Returns
    -------
    OperatingCharacteristics
        % selection per dose, mean patients and DLTs per dose, % early stop,
        % patients treated above the true MTD, per design and scenario.
    """
    if isinstance(designs, DoseFindingDesign):
        named = {designs.name: designs}
    elif isinstance(designs, Mapping):
        named = dict(designs)
    else:
        named = {}
        for d in designs:
            name, i = d.name, 2
            while name in named:
                name, i = f"{d.name} #{i}", i + 1
            named[name] = d
    if not named:
        raise ValueError("at least one design is required")
    design_list = list(named.values())
    k = design_list[0].n_doses
    if any(d.n_doses != k for d in design_list):
        raise ValueError("all designs must have the same number of dose levels")
    if n_trials < 1 or chunk_size < 1:
        raise ValueError("n_trials and chunk_size must be >= 1")
    scen = _normalise_scenarios(scenarios, k)
    targets = []
    for name, d in named.items():
        t = target if target is not None else d.target
        if t is None or not np.isfinite(t):
            raise ValueError(f"design {name!r} has no target DLT rate; pass target=")
        targets.append(float(t))
    probs = [np.asarray(p) for p in scen.values()]
    args = [
        (design_list, probs, targets, int(seed), s, min(chunk_size, n_trials - s))
        for s in range(0, n_trials, chunk_size)
    ]
    if scheduler is None:
        parts = [_run_chunk(*a) for a in args]
    else:
        parts = _run_on_dask(scheduler, args)
    sums = {key: np.sum([p[key] for p in parts], axis=0) for key in parts[0]}
    table = _tabulate(list(named), scen, targets, sums)
    mtds = {
        (dn, sn): true_mtd(p, targets[i])
        for i, dn in enumerate(named)
        for sn, p in scen.items()
    }
    return OperatingCharacteristics(
        designs=tuple(named),
        scenarios=scen,
        true_mtds=mtds,
        n_trials=int(n_trials),
        seed=int(seed),
        table=table,
        provenance=make_provenance(
            "simulate_oc",
            n_trials=int(n_trials),
            seed=int(seed),
            chunk_size=int(chunk_size),
            target=target,
            scenarios={k_: list(v) for k_, v in scen.items()},
            designs={n_: d.parameters() for n_, d in named.items()},
            true_mtd_rule="dose with true DLT rate closest to target (ties: lower)",
            common_random_numbers="one U(0,1) per (trial, dose, patient slot)",
        ),
    )


def _run_on_dask(
    scheduler: Any, args: list[tuple[Any, ...]]
) -> list[dict[str, FloatArray]]:
    Client = import_optional(
        "distributed", "distributed", "Simulating on a Dask scheduler"
    ).Client
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = [client.submit(_run_chunk, *a, pure=False) for a in args]
        return list(client.gather(futures))
    finally:
        if client is not scheduler:
            client.close()


def _sd(sum_x: FloatArray | float, sum_x2: FloatArray | float, t: float) -> float:
    """Sample standard deviation from running sums."""
    mean = float(sum_x) / t
    var = max(float(sum_x2) / t - mean**2, 0.0) * t / max(t - 1, 1)
    return float(np.sqrt(var))


def _tabulate(
    names: list[str],
    scen: dict[str, tuple[float, ...]],
    targets: list[float],
    s: dict[str, FloatArray],
) -> pd.DataFrame:
    rows: list[tuple[str, str, int | None, str, float]] = []
    for i, dn in enumerate(names):
        for j, (sn, p) in enumerate(scen.items()):
            t = float(s["trials"][i, j])
            rows.append((dn, sn, 0, "pct_select", 100 * s["select"][i, j, 0] / t))
            for d in range(len(p)):
                per_dose = {
                    "p_true": p[d],
                    "pct_select": 100 * s["select"][i, j, d + 1] / t,
                    "mean_n": s["n"][i, j, d] / t,
                    "sd_n": _sd(s["n"][i, j, d], s["n2"][i, j, d], t),
                    "mean_dlt": s["y"][i, j, d] / t,
                    "sd_dlt": _sd(s["y"][i, j, d], s["y2"][i, j, d], t),
                }
                rows.extend((dn, sn, d + 1, k, float(v)) for k, v in per_dose.items())
            mtd = true_mtd(p, targets[i])
            total = s["n"][i, j].sum()
            trial = {
                "true_mtd": mtd,
                "pct_select_true_mtd": 100 * s["select"][i, j, mtd] / t,
                "pct_early_stop": 100 * s["early"][i, j] / t,
                "mean_total_n": total / t,
                "sd_total_n": _sd(total, s["total_n2"][i, j], t),
                "mean_total_dlt": s["y"][i, j].sum() / t,
                "pct_patients_above_mtd": 100 * s["above"][i, j] / t,
                "n_trials": t,
            }
            rows.extend((dn, sn, None, k, float(v)) for k, v in trial.items())
    out = pd.DataFrame(rows, columns=["design", "scenario", "dose", "stat", "value"])
    out["dose"] = out["dose"].astype("Int64")
    return out
