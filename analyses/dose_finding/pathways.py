"""Dose-transition pathways (Yap et al. 2017).

Every possible outcome of the next cohorts and the dose the design would give next.

Paths use the syntax of R ``escalation``: one token per cohort, the dose level followed
by one letter per patient, ``N`` (no DLT) then ``T`` (DLT), e.g. ``"1NNT 1NNN"``.
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
from analyses.dose_finding._base import DoseFindingDesign, long_frame

__all__ = ["DoseTransitionPathways", "dose_transition_pathways"]


@dataclass(frozen=True, kw_only=True)
class DoseTransitionPathways(AnalysisResult):
    """The tree of possible next cohorts and the design's response to each.

    Attributes
    ----------
    design : str
        Design name.
    paths : pandas.DataFrame
        One row per node: ``path`` (``""`` for the root), ``parent``, ``cohort``
        (0 for the root), ``dose`` and ``dlts`` of the last cohort, ``action``,
        ``next_dose`` (NA = stop), ``mtd`` (NA unless stopping with one) and, when true
        rates were given, ``probability`` of reaching the node.
    """

    design: str
    paths: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Return the long frame: ``path``, ``stat``, ``value``.

        Returns
        -------
        pandas.DataFrame
            ``next_dose`` (NaN = stop), ``mtd`` and, if computed, ``probability`` per
            path.
        """
        cols = [c for c in ("next_dose", "mtd", "probability") if c in self.paths]
        return long_frame(self.paths, "path", self.design, value_vars=cols)

    def summary(self) -> pd.DataFrame:
        """Return the paths frame.

        Returns
        -------
        pandas.DataFrame
            One row per node.
        """
        return self.paths.copy()


def _token(dose: int, size: int, dlts: int) -> str:
    return f"{dose}" + "N" * (size - dlts) + "T" * dlts


def dose_transition_pathways(
    design: DoseFindingDesign,
    cohort_sizes: Sequence[int],
    *,
    start_dose: int | None = None,
    n: Sequence[int] | npt.ArrayLike | None = None,
    y: Sequence[int] | npt.ArrayLike | None = None,
    p_true: Sequence[float] | npt.ArrayLike | None = None,
) -> DoseTransitionPathways:
    """Enumerate the design's decisions over every outcome of the next cohorts.

    Parameters
    ----------
    design : DoseFindingDesign
        Any design with ``decide``.
    cohort_sizes : sequence of int
        Size of each future cohort, e.g. ``[3, 3]``.
    start_dose : int, optional
        Dose for the first future cohort; defaults to the design's start dose.
    n, y : sequence of int, optional
        Data already observed per dose level (default none).
    p_true : sequence of float, optional
        True DLT rates; adds the probability of reaching each node.

    Returns
    -------
    DoseTransitionPathways
        One row per node of the tree.
    """
    k = design.n_doses
    n0 = np.zeros(k, np.int64) if n is None else np.asarray(n, np.int64).copy()
    y0 = np.zeros(k, np.int64) if y is None else np.asarray(y, np.int64).copy()
    first = design.start_dose if start_dose is None else int(start_dose)
    p = None if p_true is None else np.asarray(p_true, dtype=float)
    rows: list[dict[str, Any]] = [
        {
            "path": "",
            "parent": pd.NA,
            "cohort": 0,
            "dose": pd.NA,
            "dlts": pd.NA,
            "action": "start",
            "next_dose": first,
            "mtd": pd.NA,
            "probability": 1.0,
        }
    ]
    frontier = [("", n0, y0, first, 1.0)]
    for depth, size in enumerate(cohort_sizes, start=1):
        nxt_frontier = []
        for path, nn, yy, dose, prob in frontier:
            for dlts in range(size + 1):
                n1, y1 = nn.copy(), yy.copy()
                n1[dose - 1] += size
                y1[dose - 1] += dlts
                dec = design.decide(n1, y1, dose, last_cohort_dlts=dlts)
                new_path = (path + " " if path else "") + _token(dose, size, dlts)
                pr = (
                    prob * float(stats.binom.pmf(dlts, size, p[dose - 1]))
                    if p is not None
                    else np.nan
                )
                rows.append(
                    {
                        "path": new_path,
                        "parent": path,
                        "cohort": depth,
                        "dose": dose,
                        "dlts": dlts,
                        "action": dec.action,
                        "next_dose": pd.NA if dec.next_dose is None else dec.next_dose,
                        "mtd": pd.NA if dec.mtd is None else dec.mtd,
                        "probability": pr,
                    }
                )
                if dec.next_dose is not None:
                    nxt_frontier.append((new_path, n1, y1, dec.next_dose, pr))
        frontier = nxt_frontier
    paths = pd.DataFrame(rows).astype(
        {
            "cohort": "int64",
            "dose": "Int64",
            "dlts": "Int64",
            "next_dose": "Int64",
            "mtd": "Int64",
        }
    )
    if p is None:
        paths = paths.drop(columns="probability")
    return DoseTransitionPathways(
        design=design.name,
        paths=paths,
        provenance=make_provenance(
            "dose_transition_pathways",
            cohort_sizes=list(cohort_sizes),
            first_cohort_dose=first,
            n=n0.tolist(),
            y=y0.tolist(),
            p_true=None if p is None else p.tolist(),
            design=design.parameters(),
        ),
    )
