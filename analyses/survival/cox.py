"""Cox proportional-hazards regression with R ``coxph`` conventions.

Hazard ratios with Wald confidence intervals, Wald / likelihood-ratio / score tests,
ties by Efron (R's default), Breslow (SAS PROC PHREG's default) or the exact
partial likelihood, and strata. lifelines offers Efron only and stops early by
default; this module fits the model itself (see ``docs/survival.md``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from analyses._results import AnalysisResult, make_provenance
from analyses.survival._cox_core import (
    CoxData,
    Ties,
    crossprod,
    fit_cox,
    linear_predictor,
    score_residuals,
)
from analyses.survival._data import select_parameter
from analyses.survival._warnings import ConvergenceWarning, SmallSampleWarning

__all__ = ["CoxModel", "CoxResult", "concordance", "estimate_cox"]


#: Predictors closer than this times the largest |predictor| are tied (see
#: :func:`risk_ranks`).
RISK_TIE_RTOL = 1e-10


def risk_ranks(risk: npt.NDArray[np.float64], tol: float) -> npt.NDArray[np.int64]:
    """Dense ranks (0-based) of ``risk``, values closer than ``tol`` sharing a rank.

    The distinct values are sorted and a new rank starts wherever the gap to the
    previous distinct value exceeds ``tol``; with ``tol = 0`` these are the ranks of
    R's ``match(risk, sort(unique(risk)))``. The ranks depend only on the values,
    not on the order of the rows.

    Parameters
    ----------
    risk : numpy.ndarray
        Predictor values.
    tol : float
        Absolute tie tolerance (>= 0).

    Returns
    -------
    numpy.ndarray of int
        One rank per value.
    """
    risk = np.asarray(risk, dtype=np.float64)
    if risk.size == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(risk)  # NaNs last
    ordered = risk[order]
    nan = np.isnan(ordered)
    # "not <=" so that a NaN starts a rank of its own; NaNs share it (np.unique)
    step = ~(np.diff(ordered) <= tol) & ~(nan[1:] & nan[:-1])
    ranks = np.empty(risk.size, np.int64)
    ranks[order] = np.concatenate([[0], np.cumsum(step)])
    return ranks


def _concordance_counts(
    time: npt.NDArray[np.float64],
    event: npt.NDArray[np.bool_],
    r_rank: npt.NDArray[np.int64],
) -> tuple[int, int, int]:
    """Concordant, discordant and risk-tied comparable pairs in O(n log n).

    Subject j is comparable with event i when t_j > t_i, or t_j = t_i and j is
    censored. With key_j = 2 rank(t_j) + censored_j and key_i = 2 rank(t_i), that is
    key_j > key_i. The subjects are lined up by decreasing key, and within a key by
    decreasing risk rank (``r_rank``, from :func:`risk_ranks`); an event's
    concordant pairs are then the subjects before it in the line with a lower risk
    rank (those of its own key have a rank at least as high). They are counted by a
    bottom-up merge sort on the risk rank, each level one stable sort that merges
    sorted runs (numpy's timsort): in a merged block, an element of the right half
    has as many left-half elements before it as its merged position less its
    position in the right half. Risk-tied pairs are counted with one sorted array of
    (rank, key). Integer arithmetic only, vectorised.
    """
    n = time.size
    if n == 0 or not event.any():
        return 0, 0, 0
    key = 2 * risk_ranks(time, 0.0) + (~event).astype(np.int64)
    rank = np.asarray(r_rank, dtype=np.int64)
    k_span = int(key.max()) + 1
    # subjects with a greater key than each event's
    above = np.r_[np.cumsum(np.bincount(key, minlength=k_span)[::-1])[::-1], 0]
    greater = int(above[key[event] + 1].sum())
    # risk-tied: same rank, greater key; in (rank, key) order the queries are sorted
    both = np.sort(rank * k_span + key)
    mine = both[(both % k_span) % 2 == 0]  # event keys are even
    ends = np.searchsorted(both, (mine // k_span + 1) * k_span, "left")
    tied = int((ends - np.searchsorted(both, mine, "right")).sum())
    # the line: decreasing key, then decreasing rank. Each element is packed in one
    # integer (rank, position in the line, event bit) so a level moves one array.
    line = np.argsort(-(key * (int(rank.max()) + 1) + rank))
    pbits = max(int(n - 1).bit_length(), 1)
    packed = (rank[line] << (pbits + 1)) | (np.arange(n, dtype=np.int64) << 1)
    packed |= event[line].astype(np.int64)
    pmask = (1 << pbits) - 1
    rbits = int(rank.max()).bit_length() + 1
    idx = np.arange(n, dtype=np.int64)
    conc = 0
    level = 0
    while (1 << level) < n:
        pos = (packed >> 1) & pmask
        left = ((pos >> level) & 1) ^ 1
        # block, then rank, right-half elements first among equal ranks (only a
        # strictly lower rank counts)
        comp = ((pos >> (level + 1)) << rbits) | ((packed >> (pbits + 1)) << 1) | left
        order = np.argsort(comp, kind="stable")
        packed = packed[order]
        pos = (packed >> 1) & pmask
        count = ((pos >> level) & 1) & packed  # right half and an event
        sel = count.astype(bool)
        # merged position less position in the right half (block starts cancel)
        conc += int((idx[sel] - order[sel]).sum()) + (1 << level) * int(sel.sum())
        level += 1
    return conc, greater - conc - tied, tied


def _concordance_counts_counting(
    start: npt.NDArray[np.float64],
    stop: npt.NDArray[np.float64],
    event: npt.NDArray[np.bool_],
    r_rank: npt.NDArray[np.int64],
) -> tuple[int, int, int]:
    """Return the counts of :func:`_concordance_counts` for ``(start, stop]`` rows.

    An event at t is compared with every row at risk at t (start < t <= stop)
    other than the rows with an event at t (tied on time), as R
    ``concordancefit`` does for counting-process data. One pass per event time.
    """
    conc = disc = tied = 0
    for t in np.unique(stop[event]):
        at_risk = (start < t) & (stop >= t)
        dead = at_risk & event & (stop == t)
        others = np.sort(r_rank[at_risk & ~dead])
        for k in r_rank[dead].tolist():
            lo = int(np.searchsorted(others, k, "left"))
            hi = int(np.searchsorted(others, k, "right"))
            conc += lo
            tied += hi - lo
            disc += others.size - hi
    return conc, disc, tied


def concordance(
    time: npt.NDArray[np.float64],
    event: npt.NDArray[np.bool_],
    risk: npt.NDArray[np.float64],
    strata: npt.NDArray[np.int64] | None = None,
    *,
    rtol: float = RISK_TIE_RTOL,
    start: npt.NDArray[np.float64] | None = None,
) -> float:
    """Harrell's concordance as R ``survival::concordance`` for a Cox fit.

    A pair is comparable when the shorter time is an event (an event and a censoring
    at the same time count, the censored subject being the longer). It is
    concordant when the shorter time has the higher risk; ties in risk count 1/2;
    pairs with tied event times are not comparable. Pairs are formed within strata.

    Ties in risk: R (``concordancefit``) ranks the predictor with
    ``match(risk, sort(unique(risk)))``, i.e. exact equality, on a linear predictor
    whose identical covariate rows are bit-identical (see
    :func:`~analyses.survival._cox_core.linear_predictor`). Here values closer than
    ``rtol * max(|risk|)`` are also tied, so a predictor that was computed by a BLAS
    kernel (rows one ulp apart) or from covariates that differ by representation
    error gives the same concordance on every machine; distinct predictors of real
    data differ by far more.

    Parameters
    ----------
    time, event : numpy.ndarray
        Follow-up times and event indicators.
    risk : numpy.ndarray
        Linear predictor (higher = shorter expected survival).
    strata : numpy.ndarray of int, optional
        Stratum per row.
    rtol : float
        Relative tie tolerance (default ``1e-10``; 0 gives R's exact comparison).
    start : numpy.ndarray, optional
        Interval starts of counting-process rows: an event at t is compared with
        the rows at risk at t (``start < t <= time``).

    Returns
    -------
    float
        (concordant + tied / 2) / (concordant + discordant + tied).
    """
    risk = np.asarray(risk, dtype=np.float64)
    if rtol < 0:
        raise ValueError(f"rtol must be >= 0, got {rtol!r}")
    scale = float(np.abs(risk).max()) if risk.size else 0.0
    ranks = risk_ranks(risk, rtol * scale)
    codes = np.zeros(time.size, np.int64) if strata is None else strata
    conc = disc = tied = 0
    for s in np.unique(codes):
        m = codes == s
        if start is None:
            c, d, t = _concordance_counts(time[m], event[m], ranks[m])
        else:
            c, d, t = _concordance_counts_counting(
                start[m], time[m], event[m], ranks[m]
            )
        conc, disc, tied = conc + c, disc + d, tied + t
    total = conc + disc + tied
    return (conc + tied / 2) / total if total else float("nan")


#: How a covariate enters the design: ("numeric", ()), ("bool", ()) or
#: ("factor", levels with the reference first).
DesignSpec = tuple[tuple[str, str, tuple[object, ...]], ...]


@dataclass(frozen=True, eq=False)
class CoxModel:
    """What a fitted Cox model keeps for the methods that need its data.

    Used by :func:`~analyses.survival.proportional_hazards_test`,
    :func:`~analyses.survival.estimate_baseline_hazard` and
    :func:`~analyses.survival.predict_survival`.

    Attributes
    ----------
    data : CoxData
        Centred design, times, events, strata (and interval starts), sorted.
    spec : tuple
        How each covariate was coded (to code new data the same way).
    assign : tuple
        ``(covariate, column indices)`` per covariate (R's ``assign``).
    means : numpy.ndarray
        Column means of the design (R ``fit$means``).
    beta : numpy.ndarray
        Coefficients.
    variance : numpy.ndarray
        The covariance used for inference (robust when the fit was robust).
    strata_columns : tuple of str
        Stratification columns.
    strata_labels : tuple
        Label of each stratum code (``"col=value"``, R style).
    strata_values : tuple
        Values of the stratification columns per stratum code.
    """

    data: CoxData
    spec: DesignSpec
    assign: tuple[tuple[str, tuple[int, ...]], ...]
    means: npt.NDArray[np.float64]
    beta: npt.NDArray[np.float64]
    variance: npt.NDArray[np.float64]
    strata_columns: tuple[str, ...]
    strata_labels: tuple[str, ...]
    strata_values: tuple[tuple[object, ...], ...]

    def design(self, newdata: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Return the design matrix of new covariate values (uncentred).

        Parameters
        ----------
        newdata : pandas.DataFrame
            One row per covariate pattern, with every covariate column.

        Returns
        -------
        numpy.ndarray
            Matrix (rows, terms).
        """
        return _apply_design(self.spec, newdata).to_numpy(dtype=float)


@dataclass(frozen=True, kw_only=True)
class CoxResult(AnalysisResult):
    """A fitted Cox model.

    Attributes
    ----------
    terms : tuple of str
        Model terms (dummy columns for categorical covariates, named as R does:
        column name + level).
    coef, se : tuple of float
        Log hazard ratios and their standard errors.
    conf_level : float
        Level of the Wald intervals.
    loglik_null, loglik_model : float
        Log partial likelihood at beta = 0 and at the estimate.
    lr_test, wald_test, score_test : float
        Likelihood-ratio, Wald and score (log-rank) chi-square statistics, each on
        ``df`` degrees of freedom.
    df : int
        Number of terms.
    n, n_events : int
        Subjects and events used.
    concordance : float
        Harrell's C of the linear predictor (R ``concordance``).
    ties : str
        Tie handling.
    strata : tuple of str
        Stratification columns.
    few_events : bool
        Whether events < ``min_events``.
    converged : bool
        False when the fit ran out of iterations or a coefficient may be infinite
        (monotone likelihood, e.g. no events in one group); a
        :class:`ConvergenceWarning` was issued.
    min_events : int
        The threshold.
    start : str or None
        Interval-start column of counting-process ``(start, stop]`` data.
    robust : bool
        Whether ``se``, the covariance, the Wald tests and intervals are the
        robust (sandwich) ones, as R's ``robust se`` (``cluster=`` or
        ``robust=TRUE``); ``naive_se`` then holds the model-based SEs.
    cluster : str or None
        Cluster column of the robust variance (None: each row its own cluster).
    naive_se : tuple of float or None
        Model-based SEs of a robust fit (R ``se(coef)``).
    robust_score_test : float or None
        R's robust score test (``summary(fit)$robscore``) of a robust fit.
    n_clusters : int or None
        Clusters of a robust fit.
    model : CoxModel or None
        The fitted model's data, for the zph test and predictions.
    """

    terms: tuple[str, ...]
    coef: tuple[float, ...]
    se: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]
    conf_level: float
    loglik_null: float
    loglik_model: float
    lr_test: float
    wald_test: float
    score_test: float
    df: int
    n: int
    n_events: int
    concordance: float
    ties: str
    strata: tuple[str, ...]
    few_events: bool
    min_events: int
    converged: bool = True
    start: str | None = None
    robust: bool = False
    cluster: str | None = None
    naive_se: tuple[float, ...] | None = None
    robust_score_test: float | None = None
    n_clusters: int | None = None
    model: CoxModel | None = field(default=None, repr=False, compare=False)

    @property
    def z(self) -> tuple[float, ...]:
        """Wald z statistics."""
        return tuple(c / s for c, s in zip(self.coef, self.se, strict=True))

    def table(self) -> pd.DataFrame:
        """Return the coefficient table (R ``summary(coxph)``).

        Returns
        -------
        pandas.DataFrame
            ``term, coef, hr, se, z, p_value, hr_lower, hr_upper, conf_level, ties``;
            a robust fit adds ``se_naive`` after ``se`` (R's ``se(coef)``; ``se``
            is then R's ``robust se``, used for z, p and the intervals).
        """
        q = float(stats.norm.ppf(1 - (1 - self.conf_level) / 2))
        coef = np.asarray(self.coef)
        se = np.asarray(self.se)
        z = coef / se
        table = pd.DataFrame(
            {
                "term": self.terms,
                "coef": coef,
                "hr": np.exp(coef),
                "se": se,
                "z": z,
                "p_value": 2 * stats.norm.sf(np.abs(z)),
                "hr_lower": np.exp(coef - q * se),
                "hr_upper": np.exp(coef + q * se),
                "conf_level": self.conf_level,
                "ties": self.ties,
            }
        )
        if self.naive_se is not None:
            table.insert(4, "se_naive", np.asarray(self.naive_se))
        return table

    def summary(self) -> pd.DataFrame:
        """Return the coefficient table (see :meth:`table`).

        Returns
        -------
        pandas.DataFrame
            One row per term.
        """
        return self.table()

    def tests(self) -> pd.DataFrame:
        """Return the global tests: likelihood ratio, Wald and score.

        Returns
        -------
        pandas.DataFrame
            ``test, statistic, df, p_value``.
        """
        stat = [self.lr_test, self.wald_test, self.score_test]
        names = ["likelihood ratio", "wald", "score"]
        if self.robust_score_test is not None:
            stat.append(self.robust_score_test)
            names.append("robust score")
        return pd.DataFrame(
            {
                "test": names,
                "statistic": stat,
                "df": self.df,
                "p_value": [float(stats.chi2.sf(s, self.df)) for s in stat],
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the long analysis-results frame.

        Returns
        -------
        pandas.DataFrame
            ``term`` (None for model-level statistics), ``stat``, ``value``.
        """
        coefs = self.table().drop(columns=["conf_level", "ties"])
        if self.robust_score_test is not None:
            robust_rows = [
                ("robust_score_test", self.robust_score_test),
                ("robust_score_test_p", float(self.tests()["p_value"].iloc[3])),
                ("n_clusters", float(self.n_clusters or 0)),
            ]
        else:
            robust_rows = []
        long = coefs.melt(id_vars="term", var_name="stat", value_name="value")
        p_values = self.tests()["p_value"].to_numpy(dtype=float)
        model_rows = [
            ("loglik_null", self.loglik_null),
            ("loglik_model", self.loglik_model),
            ("lr_test", self.lr_test),
            ("lr_p", float(p_values[0])),
            ("wald_test", self.wald_test),
            ("wald_test_p", float(p_values[1])),
            ("score_test", self.score_test),
            ("score_test_p", float(p_values[2])),
            ("df", float(self.df)),
            ("n", float(self.n)),
            ("n_events", float(self.n_events)),
            ("concordance", self.concordance),
            *robust_rows,
        ]
        model = pd.DataFrame(
            [(None, s, v) for s, v in model_rows], columns=["term", "stat", "value"]
        )
        out = pd.concat([long, model], ignore_index=True)
        out["value"] = out["value"].astype(float)
        return out


def _design_spec(
    data: pd.DataFrame,
    covariates: Sequence[str],
    categorical: Sequence[str],
    reference: Mapping[str, object],
) -> DesignSpec:
    """How each covariate is coded: numeric as is, others treatment-coded (R)."""
    spec = []
    for col in covariates:
        values = data[col]
        factor = col in categorical or col in reference
        if pd.api.types.is_bool_dtype(values) and not factor:
            spec.append((col, "bool", ()))
        elif pd.api.types.is_numeric_dtype(values) and not factor:
            spec.append((col, "numeric", ()))
        else:
            if isinstance(values.dtype, pd.CategoricalDtype):
                levels = list(values.cat.categories)
            else:
                uniq = list(values.dropna().unique())
                numeric = pd.api.types.is_numeric_dtype(values)
                levels = sorted(uniq) if numeric else sorted(uniq, key=str)
            if col in reference:
                ref = reference[col]
                if ref not in levels:
                    raise ValueError(
                        f"reference {ref!r} is not a level of {col!r}: {levels}"
                    )
                levels = [ref] + [v for v in levels if v != ref]
            spec.append((col, "factor", tuple(levels)))
    return tuple(spec)


def _apply_design(spec: DesignSpec, data: pd.DataFrame) -> pd.DataFrame:
    """Return the design columns of ``data`` coded by ``spec`` (R column names)."""
    parts = []
    for col, kind, levels in spec:
        values = data[col]
        if kind == "bool":
            parts.append(values.astype(float).rename(f"{col}TRUE"))
        elif kind == "numeric":
            parts.append(values.astype(float))
        else:
            unknown = set(values.dropna().unique()) - set(levels)
            if unknown:
                raise ValueError(f"{col!r} has levels the model does not: {unknown}")
            for level in levels[1:]:
                parts.append((values == level).astype(float).rename(f"{col}{level}"))
    return pd.concat(parts, axis=1)


def _design(
    data: pd.DataFrame,
    covariates: Sequence[str],
    categorical: Sequence[str],
    reference: Mapping[str, object],
) -> pd.DataFrame:
    """Numeric covariates as they are; others as treatment-coded dummies (R style)."""
    return _apply_design(_design_spec(data, covariates, categorical, reference), data)


def _assign(spec: DesignSpec) -> tuple[tuple[str, tuple[int, ...]], ...]:
    out = []
    col = 0
    for name, kind, levels in spec:
        width = len(levels) - 1 if kind == "factor" else 1
        out.append((name, tuple(range(col, col + width))))
        col += width
    return tuple(out)


def _collapse(values: npt.NDArray[np.float64], codes: npt.NDArray[np.int64]) -> Any:
    """Column sums of ``values`` per cluster code (sequential, BLAS-free)."""
    k = int(codes.max()) + 1
    return np.column_stack(
        [
            np.bincount(codes, weights=values[:, j], minlength=k)
            for j in range(values.shape[1])
        ]
    )


def robust_variance(
    data: CoxData,
    beta: npt.NDArray[np.float64],
    naive: npt.NDArray[np.float64],
    ties: Ties,
    clusters: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.float64], float]:
    """Robust (sandwich) covariance and robust score test, as R ``coxph``.

    The covariance is D'D with D the dfbeta residuals (score residuals times the
    model-based covariance) summed within clusters; the robust score test is
    u'(S'S)^-1 u with S the score residuals at beta = 0 summed within clusters and
    u their total (R ``fit$rscore``).

    Parameters
    ----------
    data : CoxData
        The prepared data.
    beta, naive : numpy.ndarray
        Estimates and their model-based covariance.
    ties : {"efron", "breslow"}
        Tie handling.
    clusters : numpy.ndarray of int
        Cluster code (0..k-1) per row in the data's order.

    Returns
    -------
    tuple
        ``(covariance, robust_score_test)``.
    """
    resid = score_residuals(beta, data, ties)
    dfbeta = np.column_stack(
        [linear_predictor(resid, naive[:, j]) for j in range(naive.shape[1])]
    )
    d = _collapse(dfbeta, clusters)
    s0 = _collapse(score_residuals(np.zeros_like(beta), data, ties), clusters)
    u = s0.sum(axis=0)
    rscore = float(u @ np.linalg.solve(crossprod(s0, s0), u))
    return crossprod(d, d), rscore


def estimate_cox(
    data: pd.DataFrame,
    covariates: Sequence[str],
    *,
    time: str = "AVAL",
    cnsr: str | None = "CNSR",
    event: str | None = None,
    paramcd: str | None = None,
    ties: Ties = "efron",
    strata: str | Sequence[str] | None = None,
    categorical: Sequence[str] = (),
    reference: Mapping[str, object] | None = None,
    conf_level: float = 0.95,
    min_events: int = 10,
    start: str | None = None,
    cluster: str | None = None,
    robust: bool | None = None,
) -> CoxResult:
    """Fit a Cox proportional-hazards model.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject, or per ``(start, time]`` interval with ``start=``.
    covariates : sequence of str
        Covariate columns. Numeric columns enter linearly (so ``dose_level`` as an
        integer is a per-level trend); text or categorical columns are
        treatment-coded with the first level (sorted, or the categorical order) as
        reference, as R's factors.
    time, cnsr, event : str
        Time column (the interval end with ``start=``) and either the ADaM
        ``CNSR`` column (0 = event) or an event column.
    ties : {"efron", "breslow", "exact"}
        Tie handling: R's default Efron, SAS's default Breslow, or the exact
        (discrete) partial likelihood whose score test equals the log-rank test.
    strata : str or sequence of str, optional
        Stratification column(s): separate baseline hazards, as R ``+ strata()``.
    categorical : sequence of str
        Numeric covariates to treat as factors, e.g. ``["dose_level"]`` for one
        hazard ratio per dose level instead of a per-level trend.
    reference : mapping, optional
        Reference level per categorical covariate, e.g. ``{"dose_level": 1}``
        (default: the first level).
    conf_level : float
        Level of the Wald hazard-ratio intervals (default 0.95).
    min_events : int
        Below this many events a :class:`SmallSampleWarning` is issued and
        ``few_events`` set (default 10).
    paramcd : str, optional
        ADTTE parameter to analyse (``"PFS"``, ``"OS"``, ...) when the frame holds
        several; required then.
    start : str, optional
        Interval-start column of counting-process data (R
        ``Surv(start, stop, event)``): each row is at risk on ``(start, time]``,
        so a covariate may change value from one row of a subject to the next
        (time-dependent covariates; build such rows with
        :func:`~analyses.survival.add_time_dependent_covariate`).
    cluster : str, optional
        Cluster column (e.g. the subject of counting-process rows, or the site):
        robust (sandwich) variance summed within clusters, R
        ``coxph(..., cluster = id)``. Implies ``robust=True``.
    robust : bool, optional
        Robust variance (R ``robust = TRUE``; each row its own cluster unless
        ``cluster=``). Default: True with ``cluster=``, else False. Not with
        ``ties="exact"``.

    Returns
    -------
    CoxResult
        Coefficients, hazard ratios with CIs and the global tests.
    """
    if ties not in ("efron", "breslow", "exact"):
        raise ValueError(f"ties must be 'efron', 'breslow' or 'exact', got {ties!r}")
    if event is None and cnsr is None:
        raise ValueError(
            "give either event= (1 = event) or cnsr= (ADaM CNSR, 0 = event)"
        )
    robust = cluster is not None if robust is None else robust
    if cluster is not None and not robust:
        raise ValueError("cluster= gives a robust variance: leave robust unset")
    if robust and ties == "exact":
        raise ValueError("the robust variance needs ties='efron' or 'breslow' (as R)")
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    strata_cols = [strata] if isinstance(strata, str) else list(strata or [])
    status_col = event if event is not None else cnsr
    assert status_col is not None
    data = select_parameter(data, paramcd)
    extra = [c for c in (start, cluster) if c is not None]
    used = data[[time, status_col, *covariates, *strata_cols, *extra]].dropna()
    spec = _design_spec(used, covariates, categorical, dict(reference or {}))
    design = _apply_design(spec, used)
    x_raw = design.to_numpy(dtype=float)
    means = x_raw.mean(axis=0)
    x = x_raw - means
    t = used[time].to_numpy(dtype=float)
    t0 = None if start is None else used[start].to_numpy(dtype=float)
    if t0 is not None and not (t0 < t).all():
        bad = used.loc[~(t0 < t), [start, time]].head(3)
        raise ValueError(f"every interval needs {start} < {time}; e.g.\n{bad}")
    status = used[status_col].to_numpy(dtype=float)
    ev = status != 0 if event is not None else status == 0
    st = None
    labels: tuple[str, ...] = ()
    values: tuple[tuple[object, ...], ...] = ()
    if strata_cols:
        grouped = used.groupby(strata_cols, sort=True, dropna=False)
        st = grouped.ngroup().to_numpy(dtype=np.int64).astype(np.int64)
        keys = [k if isinstance(k, tuple) else (k,) for k in grouped.groups]
        values = tuple(tuple(k) for k in keys)
        labels = tuple(
            ", ".join(f"{c}={v}" for c, v in zip(strata_cols, k, strict=True))
            for k in keys
        )
    cox_data = CoxData(x, t, ev, st, t0)
    beta, cov, ll0, ll, score, problems = fit_cox(cox_data, ties)
    for problem in problems:
        problem = problem.replace("coefficient(s) [", "coefficient(s) of term index [")
        warnings.warn(
            f"Cox model: {problem}; terms {list(design.columns)}",
            ConvergenceWarning,
            stacklevel=2,
        )
    naive_se = None
    rscore = None
    n_clusters = None
    if robust:
        if cluster is None:
            codes = np.arange(len(used), dtype=np.int64)
        else:
            codes = pd.factorize(used[cluster], sort=True)[0].astype(np.int64)
        n_clusters = int(codes.max()) + 1
        naive_se = tuple(float(v) for v in np.sqrt(np.diag(cov)))
        cov, rscore = robust_variance(cox_data, beta, cov, ties, codes)
    wald = float(beta @ np.linalg.solve(cov, beta))
    n_events = int(ev.sum())
    few = n_events < min_events
    if few:
        warnings.warn(
            f"only {n_events} events (< min_events={min_events}): Wald and "
            "likelihood-ratio inference for the Cox model may be unreliable",
            SmallSampleWarning,
            stacklevel=2,
        )
    provenance = make_provenance(
        "estimate_cox",
        inputs={"data": data},
        paramcd=paramcd,
        covariates=covariates,
        time=time,
        cnsr=cnsr,
        event=event,
        ties=ties,
        strata=strata_cols,
        categorical=list(categorical),
        reference={str(k): v for k, v in (reference or {}).items()},
        conf_level=conf_level,
        min_events=min_events,
        start=start,
        cluster=cluster,
        robust=robust,
        variance="robust (sandwich, R coxph)" if robust else "model-based",
        convergence="relative log-likelihood change <= 1e-12",
    )
    model = CoxModel(
        data=cox_data,
        spec=spec,
        assign=_assign(spec),
        means=means,
        beta=beta,
        variance=cov,
        strata_columns=tuple(strata_cols),
        strata_labels=labels,
        strata_values=values,
    )
    return CoxResult(
        provenance=provenance,
        terms=tuple(design.columns),
        coef=tuple(float(b) for b in beta),
        se=tuple(float(s) for s in np.sqrt(np.diag(cov))),
        covariance=tuple(tuple(float(v) for v in row) for row in cov),
        conf_level=conf_level,
        loglik_null=ll0,
        loglik_model=ll,
        lr_test=2 * (ll - ll0),
        wald_test=wald,
        score_test=score,
        df=len(beta),
        n=len(used),
        n_events=n_events,
        concordance=concordance(t, ev, linear_predictor(x, beta), st, start=t0),
        ties=ties,
        strata=tuple(strata_cols),
        few_events=few,
        min_events=min_events,
        converged=not problems,
        start=start,
        robust=robust,
        cluster=cluster,
        naive_se=naive_se,
        robust_score_test=rscore,
        n_clusters=n_clusters,
        model=model,
    )
