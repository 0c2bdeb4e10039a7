"""Weighted log-rank tests for k groups, optionally stratified (R ``survdiff``).

Weights follow Fleming-Harrington G(rho, gamma): w(t) = S(t-)^rho (1 - S(t-))^gamma,
with S the Kaplan-Meier of the pooled sample within the stratum, evaluated just
before t. rho = gamma = 0 is the log-rank test; rho = 1, gamma = 0 is R's
``survdiff(rho = 1)``, the Peto & Peto modification of the Gehan-Wilcoxon test
(lifelines' ``weightings="peto"`` is a different weight).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from analyses._results import AnalysisResult, make_provenance
from analyses.survival._data import combine_by, extract_survival, select_parameter
from analyses.survival._warnings import SmallSampleWarning
from analyses.survival.permutation import permutation_logrank_arrays

__all__ = ["LogrankResult", "Weights", "compare_survival", "survdiff_arrays"]

FloatArray = npt.NDArray[np.float64]
Weights = Literal["logrank", "peto-peto", "fleming-harrington"]
Method = Literal["asymptotic", "exact", "monte-carlo"]


def survdiff_arrays(
    time: FloatArray,
    event: npt.NDArray[np.bool_],
    group: npt.NDArray[np.int64],
    n_groups: int,
    strata: npt.NDArray[np.int64] | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Weighted observed, expected and variance matrix, summed over strata.

    Parameters
    ----------
    time, event : numpy.ndarray
        Follow-up times and event indicators.
    group : numpy.ndarray of int
        Group code 0..n_groups-1 per row.
    n_groups : int
        Number of groups.
    strata : numpy.ndarray of int, optional
        Stratum code per row.
    rho, gamma : float
        Fleming-Harrington exponents.

    Returns
    -------
    tuple of numpy.ndarray
        ``(observed, expected, var)`` as R ``survdiff``: observed = sum w d_g,
        expected = sum w d n_g / n, var = sum w^2 d (n-d)/(n(n-1)) (diag(n_g) -
        n_g n_h / n).
    """
    observed = np.zeros(n_groups)
    expected = np.zeros(n_groups)
    var = np.zeros((n_groups, n_groups))
    codes = np.zeros(time.size, np.int64) if strata is None else strata
    for s in np.unique(codes):
        m = codes == s
        t, e, g = time[m], event[m], group[m]
        ut, inv = np.unique(t, return_inverse=True)
        k = ut.size
        d_g = np.zeros((k, n_groups))
        np.add.at(d_g, (inv, g), e.astype(float))
        c_g = np.zeros((k, n_groups))
        np.add.at(c_g, (inv, g), 1.0)
        n_g = c_g[::-1].cumsum(axis=0)[::-1]  # at risk: time >= t
        d = d_g.sum(axis=1)
        n = n_g.sum(axis=1)
        km_after = np.cumprod(1.0 - d / n)
        km_before = np.concatenate([[1.0], km_after[:-1]])
        w = km_before**rho * (1.0 - km_before) ** gamma
        observed += (w[:, None] * d_g).sum(axis=0)
        expected += (w[:, None] * d[:, None] * n_g / n[:, None]).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            kk = np.where(n > 1, w**2 * d * (n - d) / (n * (n - 1)), 0.0)
        var += np.diag((kk[:, None] * n_g).sum(axis=0))
        var -= np.einsum("t,ti,tj->ij", kk / n, n_g, n_g)
    return observed, expected, var


def _chisq(
    observed: FloatArray, expected: FloatArray, var: FloatArray
) -> tuple[float, int]:
    """Return R ``survdiff``'s chi-square: groups with expected > 0, first dropped."""
    use = np.flatnonzero(expected > 0)
    diff = (observed - expected)[use][1:]
    vv = var[np.ix_(use, use)][1:, 1:]
    if diff.size == 0:
        return float("nan"), 0
    chisq = float(diff @ np.linalg.solve(vv, diff))
    return chisq, int(diff.size)


@dataclass(frozen=True, kw_only=True)
class LogrankResult(AnalysisResult):
    """A weighted log-rank comparison of k groups.

    Attributes
    ----------
    by : str
        Grouping column.
    groups : tuple
        Group labels.
    n : tuple of int
        Subjects per group.
    events : tuple of int
        Events per group.
    observed, expected : tuple of float
        Weighted observed and expected events per group (R ``survdiff``).
    variance : tuple of tuple of float
        Variance matrix of observed - expected.
    chisq : float
        Test statistic.
    df : int
        Degrees of freedom.
    p_value : float
        p-value by ``method``.
    p_value_chisq : float
        Chi-square p-value (R ``survdiff``), whatever the method.
    method : str
        ``"asymptotic"`` (chi-square), ``"exact"`` or ``"monte-carlo"`` (permutation
        log-rank as R ``coin::logrank_test``; two groups, unstratified, rho = 0).
    permutation_z : float or None
        coin's standardised statistic (permutation variance) for the permutation
        methods; its normal p-value is ``p_value_permutation_normal``.
    p_value_permutation_normal : float or None
        coin's asymptotic p-value.
    n_resamples : int or None
        Monte Carlo resamples.
    seed : int or None
        Monte Carlo seed.
    weights : str
        Weight family; ``rho`` and ``gamma`` give its exponents.
    rho, gamma : float
        Fleming-Harrington exponents.
    strata : tuple of str
        Stratification columns (empty: unstratified).
    min_events : int
        Threshold below which ``few_events`` is set and a warning issued.
    few_events : bool
        Whether the total number of events is below ``min_events``.
    trend_scores : tuple of float or None
        Group scores of the test for trend (e.g. the dose levels), when requested.
    trend_chisq, trend_p_value : float or None
        Test for trend: (sum_g s_g (O_g - E_g))^2 / (s' V s) on 1 df.
    """

    by: str
    groups: tuple[object, ...]
    n: tuple[int, ...]
    events: tuple[int, ...]
    observed: tuple[float, ...]
    expected: tuple[float, ...]
    variance: tuple[tuple[float, ...], ...]
    chisq: float
    df: int
    p_value: float
    p_value_chisq: float
    method: str
    permutation_z: float | None
    p_value_permutation_normal: float | None
    n_resamples: int | None
    seed: int | None
    weights: str
    rho: float
    gamma: float
    strata: tuple[str, ...]
    min_events: int
    few_events: bool
    trend_scores: tuple[float, ...] | None = None
    trend_chisq: float | None = None
    trend_p_value: float | None = None

    def to_frame(self) -> pd.DataFrame:
        """Return the long analysis-results frame.

        Returns
        -------
        pandas.DataFrame
            Columns ``<by>``, ``stat``, ``value``: per group ``n``, ``events``,
            ``observed``, ``expected``, ``o_minus_e``, ``variance``; overall (group
            NaN) ``chisq``, ``df``, ``p_value``.
        """
        rows: list[tuple[object, str, float]] = []
        for i, g in enumerate(self.groups):
            rows += [
                (g, "n", float(self.n[i])),
                (g, "events", float(self.events[i])),
                (g, "observed", self.observed[i]),
                (g, "expected", self.expected[i]),
                (g, "o_minus_e", self.observed[i] - self.expected[i]),
                (g, "variance", self.variance[i][i]),
            ]
        rows += [
            (None, "chisq", self.chisq),
            (None, "df", float(self.df)),
            (None, "p_value", self.p_value),
            (None, "p_value_chisq", self.p_value_chisq),
        ]
        if self.trend_chisq is not None:
            rows.append((None, "trend_chisq", self.trend_chisq))
            rows.append((None, "trend_p_value", float(self.trend_p_value or np.nan)))
        if self.permutation_z is not None:
            rows.append((None, "permutation_z", self.permutation_z))
        if self.p_value_permutation_normal is not None:
            rows.append(
                (None, "p_value_permutation_normal", self.p_value_permutation_normal)
            )
        return pd.DataFrame(rows, columns=[self.by, "stat", "value"])

    def summary(self) -> pd.DataFrame:
        """Return the display table: one row per group, the test in the last columns.

        Returns
        -------
        pandas.DataFrame
            ``<by>, n, events, observed, expected, chisq, df, p_value, test``.
        """
        return pd.DataFrame(
            {
                self.by: list(self.groups),
                "n": list(self.n),
                "events": list(self.events),
                "observed": list(self.observed),
                "expected": list(self.expected),
                "chisq": self.chisq,
                "df": self.df,
                "p_value": self.p_value,
                "test": self.describe(),
            }
        )

    def describe(self) -> str:
        """Return a one-line statement of the test and its conventions.

        Returns
        -------
        str
            E.g. ``"log-rank (rho=0, gamma=0), stratified by ecog: chi2 = 0.77 ..."``.
        """
        strat = f", stratified by {', '.join(self.strata)}" if self.strata else ""
        return (
            f"{self.weights} (rho={self.rho:g}, gamma={self.gamma:g}){strat}: "
            f"chi2 = {self.chisq:.4g} on {self.df} df, p = {self.p_value:.4g} "
            f"({self.method})"
        )


def _weights(
    weights: Weights, rho: float | None, gamma: float | None
) -> tuple[float, float]:
    if weights == "logrank":
        return 0.0, 0.0
    if weights == "peto-peto":
        return 1.0, 0.0
    if weights == "fleming-harrington":
        if rho is None and gamma is None:
            raise ValueError("weights='fleming-harrington' needs rho= and/or gamma=")
        return float(rho or 0.0), float(gamma or 0.0)
    raise ValueError(
        "weights must be 'logrank', 'peto-peto' or 'fleming-harrington', "
        f"got {weights!r}"
    )


def compare_survival(
    data: pd.DataFrame,
    by: str | Sequence[str],
    *,
    time: str = "AVAL",
    cnsr: str | None = "CNSR",
    event: str | None = None,
    paramcd: str | None = None,
    weights: Weights = "logrank",
    rho: float | None = None,
    gamma: float | None = None,
    strata: str | Sequence[str] | None = None,
    min_events: int = 10,
    method: Method = "asymptotic",
    n_resamples: int = 100_000,
    seed: int | None = 20240101,
    trend: bool | Sequence[float] = False,
) -> LogrankResult:
    """Compare survival between the groups of ``by`` with a weighted log-rank test.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject.
    by : str or sequence of str
        Grouping column (k >= 2 groups).
        Several columns are crossed (e.g. ``["route", "dose_level"]``) into one
        grouping column named ``"route / dose_level"``.
    time, cnsr, event : str
        Time column and either the ADaM ``CNSR`` column (0 = event) or an event column.
    weights : {"logrank", "peto-peto", "fleming-harrington"}
        Weight family: log-rank (R ``survdiff(rho=0)``), Peto-Peto (R ``rho=1``) or
        Fleming-Harrington with ``rho``/``gamma``.
    rho, gamma : float, optional
        Fleming-Harrington exponents (only with ``weights="fleming-harrington"``).
    strata : str or sequence of str, optional
        Stratification column(s), as R ``+ strata()``.
    min_events : int
        Below this many events in total the result is flagged ``few_events`` and a
        :class:`SmallSampleWarning` is issued (default 10).
    method : {"asymptotic", "exact", "monte-carlo"}
        p-value from the chi-square distribution (R ``survdiff``), the exact
        permutation distribution (R ``coin::logrank_test(distribution="exact")``) or
        ``n_resamples`` seeded random permutations. The permutation methods need two
        groups, no strata and log-rank weights.
    n_resamples : int
        Monte Carlo resamples (``method="monte-carlo"``).
    seed : int or None
        Seed of the Monte Carlo generator (reproducible for a fixed seed).
    trend : bool or sequence of float
        Also test for a trend over ordered groups (e.g. dose levels): True uses the
        group values as scores (they must be numeric), or give one score per group
        in sorted group order. The statistic is (sum_g s_g (O_g - E_g))^2 / s'Vs on
        1 df, with the same weights and strata as the main test.
    paramcd : str, optional
        ADTTE parameter to analyse (``"PFS"``, ``"OS"``, ...) when the frame holds
        several; required then.

    Returns
    -------
    LogrankResult
        Observed, expected, variance, chi-square, df and p-value.
    """
    r, gm = _weights(weights, rho, gamma)
    data = select_parameter(data, paramcd)
    frame, by_name = combine_by(data, by)
    assert by_name is not None
    sd = extract_survival(
        frame, time=time, event=event, cnsr=cnsr, by=by_name, strata=strata
    )
    assert sd.group is not None
    k = len(sd.group_labels)
    if k < 2:
        raise ValueError(f"column {by!r} has fewer than two groups")
    obs, exp, var = survdiff_arrays(sd.time, sd.event, sd.group, k, sd.strata, r, gm)
    chisq, df = _chisq(obs, exp, var)
    p_chisq = float(stats.chi2.sf(chisq, df)) if df > 0 else float("nan")
    perm = None
    if method not in ("asymptotic", "exact", "monte-carlo"):
        raise ValueError(
            f"method must be 'asymptotic', 'exact' or 'monte-carlo', got {method!r}"
        )
    if method != "asymptotic":
        if k != 2 or sd.strata is not None or (r, gm) != (0.0, 0.0):
            raise ValueError(
                f"method={method!r} needs two groups, no strata and log-rank weights"
            )
        perm = permutation_logrank_arrays(
            sd.time, sd.event, sd.group == 0, method, n_resamples, seed
        )
    scores: tuple[float, ...] | None = None
    trend_chisq = trend_p = None
    if trend is not False:
        if trend is True:
            try:
                scores = tuple(float(str(g)) for g in sd.group_labels)
            except ValueError:
                raise ValueError(
                    f"trend=True needs numeric values in {by!r}; pass trend=[scores]"
                ) from None
        else:
            scores = tuple(float(v) for v in trend)
            if len(scores) != k:
                raise ValueError(
                    f"trend needs {k} scores, one per group, got {len(scores)}"
                )
        s_vec = np.asarray(scores)
        u = float(s_vec @ (obs - exp))
        trend_chisq = u**2 / float(s_vec @ var @ s_vec)
        trend_p = float(stats.chi2.sf(trend_chisq, 1))
    n = np.bincount(sd.group, minlength=k)
    ev = np.bincount(sd.group, weights=sd.event.astype(float), minlength=k)
    few = bool(ev.sum() < min_events)
    if few:
        warnings.warn(
            f"only {int(ev.sum())} events (< min_events={min_events}): the chi-square "
            "approximation of the log-rank test may be poor; consider method='exact'",
            SmallSampleWarning,
            stacklevel=2,
        )
    strata_cols = (strata,) if isinstance(strata, str) else tuple(strata or ())
    provenance = make_provenance(
        "compare_survival",
        inputs={"data": data},
        paramcd=paramcd,
        by=by if by is None or isinstance(by, str) else list(by),
        time=time,
        cnsr=cnsr,
        event=event,
        weights=weights,
        rho=r,
        gamma=gm,
        strata=list(strata_cols),
        min_events=min_events,
        trend=list(scores) if scores is not None else False,
        method=method,
        n_resamples=n_resamples if method == "monte-carlo" else None,
        seed=seed if method == "monte-carlo" else None,
    )
    return LogrankResult(
        provenance=provenance,
        by=by_name,
        groups=tuple(sd.group_labels),
        n=tuple(int(x) for x in n),
        events=tuple(int(x) for x in ev),
        observed=tuple(float(x) for x in obs),
        expected=tuple(float(x) for x in exp),
        variance=tuple(tuple(float(x) for x in row) for row in var),
        chisq=chisq,
        df=df,
        p_value=p_chisq if perm is None else perm.p_value,
        p_value_chisq=p_chisq,
        method=method,
        permutation_z=None if perm is None else perm.statistic,
        p_value_permutation_normal=None if perm is None else perm.p_value_normal,
        n_resamples=None if perm is None else perm.n_resamples,
        seed=None if perm is None else perm.seed,
        weights=weights,
        rho=r,
        gamma=gm,
        strata=strata_cols,
        min_events=min_events,
        few_events=few,
        trend_scores=scores,
        trend_chisq=trend_chisq,
        trend_p_value=trend_p,
    )
