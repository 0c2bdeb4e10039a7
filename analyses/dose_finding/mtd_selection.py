"""Isotonic DLT-rate estimates and MTD selection (BOIN's ``select.mtd`` rules).

Estimates follow Liu & Yuan (2015) and the BOIN package conventions:

* raw estimate ``phat = (y + a) / (n + 2a)`` with ``a = estimate_offset`` (0.05), i.e.
  the posterior mean under a Beta(0.05, 0.05) prior;
* isotonic regression (PAVA) weighted by ``1 / var`` with
  ``var = (y + a)(n - y + a) / ((n + 2a)^2 (n + 2a + 1))``;
* 95% interval: Beta(y + a, n - y + a) quantiles, isotonically smoothed with the same
  weights; Pr(DLT rate > target): Beta(y + a, n - y + a) tail, smoothed unweighted;
* MTD: among treated, non-eliminated doses, the one whose isotonic estimate is closest
  to the target, after adding ``index * 1e-10`` so that ties resolve to the higher dose
  below the target and the lower dose above it. ``bound_mtd`` keeps only doses whose
  isotonic estimate is at most the de-escalation boundary.

Elimination uses a Beta(1, 1) prior on purpose (see :mod:`.boin`); the estimates use the
Beta(a, a) offsets: the two differ as they do in BOIN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from analyses._results import AnalysisResult
from analyses.dose_finding.isotonic import isotonic_regression_batch

__all__ = ["MTDSelection", "isotonic_estimates", "select_isotonic_batch"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Tie-breaker added per admissible-dose index, as in BOIN's ``select.mtd``.
TIE_BREAK = 1e-10


def _raw(n: FloatArray, y: FloatArray, a: float) -> tuple[FloatArray, FloatArray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        phat = (y + a) / (n + 2 * a)
        var = (y + a) * (n - y + a) / ((n + 2 * a) ** 2 * (n + 2 * a + 1))
    return phat, var


def isotonic_estimates(
    n: npt.ArrayLike,
    y: npt.ArrayLike,
    target: float,
    *,
    estimate_offset: float = 0.05,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Return isotonic DLT-rate estimates with intervals for every treated dose.

    Parameters
    ----------
    n : array_like of int
        Patients per dose level.
    y : array_like of int
        DLTs per dose level.
    target : float
        Target DLT rate (for the overdose probability).
    estimate_offset : float, default 0.05
        Beta(a, a) prior offsets of the estimates (BOIN uses 0.05).
    ci_level : float, default 0.95
        Level of the equal-tailed interval.

    Returns
    -------
    pandas.DataFrame
        One row per dose level: ``dose``, ``n``, ``dlt``, ``phat_raw``, ``phat``
        (isotonic), ``lower``, ``upper``, ``p_overdose`` (Pr(rate > target));
        estimates are NaN for untreated doses.
    """
    n_arr = np.asarray(n, dtype=float)
    y_arr = np.asarray(y, dtype=float)
    treated = n_arr > 0
    a = estimate_offset
    phat, var = _raw(n_arr, y_arr, a)
    alpha = np.where(treated, y_arr + a, 1.0)
    beta_ = np.where(treated, n_arr - y_arr + a, 1.0)
    tail = (1 - ci_level) / 2
    lower = stats.beta.ppf(tail, alpha, beta_)
    upper = stats.beta.ppf(1 - tail, alpha, beta_)
    over = stats.beta.sf(target, alpha, beta_)
    w = np.where(treated, 1 / np.where(treated, var, 1.0), 0.0)[None, :]
    m = treated[None, :]
    return pd.DataFrame(
        {
            "dose": np.arange(1, len(n_arr) + 1),
            "n": n_arr.astype(np.int64),
            "dlt": y_arr.astype(np.int64),
            "phat_raw": np.where(treated, phat, np.nan),
            "phat": isotonic_regression_batch(phat[None, :], w, m)[0],
            "lower": isotonic_regression_batch(lower[None, :], w, m)[0],
            "upper": isotonic_regression_batch(upper[None, :], w, m)[0],
            "p_overdose": isotonic_regression_batch(over[None, :], None, m)[0],
        }
    )


def select_isotonic_batch(
    n: IntArray,
    y: IntArray,
    eliminated: BoolArray,
    target: float,
    *,
    estimate_offset: float = 0.05,
    bound: float | None = None,
) -> IntArray:
    """Select the MTD of many trials at once (BOIN ``select.mtd`` rules).

    Parameters
    ----------
    n, y : numpy.ndarray, shape (n_trials, n_doses)
        Patients and DLTs per dose.
    eliminated : numpy.ndarray of bool, shape (n_trials, n_doses)
        Doses excluded from selection.
    target : float
        Target DLT rate.
    estimate_offset : float, default 0.05
        Beta(a, a) offsets of the estimates.
    bound : float, optional
        When given, only doses with isotonic estimate ``<= bound`` are selectable
        (BOIN ``boundMTD=TRUE`` uses the de-escalation boundary λd).

    Returns
    -------
    numpy.ndarray of int, shape (n_trials,)
        Selected dose, 0-based; -1 when no dose is selectable.
    """
    nf = n.astype(float)
    yf = y.astype(float)
    admissible = (n > 0) & ~eliminated
    phat, var = _raw(nf, yf, estimate_offset)
    w = np.where(admissible, 1 / np.where(admissible, var, 1.0), 0.0)
    iso = isotonic_regression_batch(np.where(admissible, phat, 0.0), w, admissible)
    index = np.cumsum(admissible, axis=1)
    iso = iso + index * TIE_BREAK
    ok = admissible.copy()
    if bound is not None:
        ok &= iso <= bound
    distance = np.where(ok, np.abs(iso - target), np.inf)
    chosen = distance.argmin(axis=1)
    return np.where(ok.any(axis=1), chosen, -1).astype(np.int64)


@dataclass(frozen=True, kw_only=True)
class MTDSelection(AnalysisResult):
    """The final MTD of a design with per-dose estimates.

    Attributes
    ----------
    design : str
        Name of the design.
    target : float
        Target DLT rate.
    mtd : int or None
        Selected dose level (1-based); None when no dose is selected.
    estimates : pandas.DataFrame
        One row per dose level (columns depend on the design; always ``dose``, ``n``,
        ``dlt``).
    reason : str
        How the MTD was chosen, in words.
    conventions : dict
        The conventions behind the estimates (offsets, interval method, ...).
    """

    design: str
    target: float
    mtd: int | None
    estimates: pd.DataFrame
    reason: str
    conventions: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Return the long frame: per-dose statistics, then the MTD row.

        Returns
        -------
        pandas.DataFrame
            Columns ``design``, ``dose`` (NA for the MTD row), ``stat``, ``value``.
        """
        stat_cols = [c for c in self.estimates.columns if c != "dose"]
        long = self.estimates.melt(
            id_vars="dose", value_vars=stat_cols, var_name="stat", value_name="value"
        )
        long["value"] = long["value"].astype(float)
        mtd_row = pd.DataFrame(
            {
                "dose": [pd.NA],
                "stat": ["mtd"],
                "value": [np.nan if self.mtd is None else float(self.mtd)],
            }
        )
        out = pd.concat([long, mtd_row], ignore_index=True)
        out["dose"] = out["dose"].astype("Int64")
        out.insert(0, "design", self.design)
        return out

    def summary(self) -> pd.DataFrame:
        """Return the per-dose estimates with the MTD flagged.

        Returns
        -------
        pandas.DataFrame
            The estimates frame plus a boolean ``mtd`` column.
        """
        out = self.estimates.copy()
        out["mtd"] = out["dose"] == (self.mtd if self.mtd is not None else -1)
        return out

    def __str__(self) -> str:
        mtd = "none" if self.mtd is None else f"dose level {self.mtd}"
        return f"{self.design}: MTD = {mtd}. {self.reason}"
