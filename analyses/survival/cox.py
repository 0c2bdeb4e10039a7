"""Cox proportional-hazards regression with R ``coxph`` conventions.

Hazard ratios with Wald confidence intervals, Wald / likelihood-ratio / score tests,
ties by Efron (R's default), Breslow (SAS PROC PHREG's default) or the exact
partial likelihood, and strata. lifelines offers Efron only and stops early by
default; this module fits the model itself (see ``docs/survival.md``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from analyses._results import AnalysisResult, make_provenance
from analyses.survival._cox_core import Ties, fit_cox, linear_predictor
from analyses.survival._data import select_parameter
from analyses.survival._warnings import ConvergenceWarning, SmallSampleWarning

__all__ = ["CoxResult", "concordance", "estimate_cox"]


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
    uniq, inv = np.unique(risk, return_inverse=True)
    if uniq.size == 0:
        return inv.astype(np.int64)
    # "not <=" so that a NaN (sorted last) starts a rank of its own
    group = np.concatenate([[0], np.cumsum(~(np.diff(uniq) <= tol))])
    return np.asarray(group[inv], dtype=np.int64)


def _concordance_counts(
    time: npt.NDArray[np.float64],
    event: npt.NDArray[np.bool_],
    r_rank: npt.NDArray[np.int64],
) -> tuple[int, int, int]:
    """Concordant, discordant and risk-tied comparable pairs in O(n log n).

    Subject j is comparable with event i when t_j > t_i, or t_j = t_i and j is
    censored. With key_j = 2 rank(t_j) + censored_j and key_i = 2 rank(t_i), that is
    key_j > key_i: subjects are added to a Fenwick tree over risk ranks
    (``r_rank``, from :func:`risk_ranks`) in decreasing key order, and each event
    queries those already added.
    """
    t_rank = np.unique(time, return_inverse=True)[1]
    key = 2 * t_rank + (~event).astype(np.int64)
    r_rank = np.unique(r_rank, return_inverse=True)[1] + 1  # 1-based, dense
    size = int(r_rank.max()) if r_rank.size else 0
    tree = [0] * (size + 1)
    order = np.argsort(-key, kind="stable")
    keys_sorted = key[order]
    starts = np.flatnonzero(np.r_[True, keys_sorted[1:] != keys_sorted[:-1]])
    ends = np.r_[starts[1:], keys_sorted.size]
    conc = disc = tied = 0
    added = 0

    def below(k: int) -> int:  # number added with risk rank <= k
        total = 0
        while k > 0:
            total += tree[k]
            k -= k & -k
        return total

    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        members = order[lo:hi]
        for m in members[event[members]].tolist():
            k = int(r_rank[m])
            lower = below(k - 1)
            same = below(k) - lower
            conc += lower
            tied += same
            disc += added - lower - same
        for m in members.tolist():
            k = int(r_rank[m])
            while k <= size:
                tree[k] += 1
                k += k & -k
        added += hi - lo
    return conc, disc, tied


def concordance(
    time: npt.NDArray[np.float64],
    event: npt.NDArray[np.bool_],
    risk: npt.NDArray[np.float64],
    strata: npt.NDArray[np.int64] | None = None,
    *,
    rtol: float = RISK_TIE_RTOL,
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
        c, d, t = _concordance_counts(time[m], event[m], ranks[m])
        conc, disc, tied = conc + c, disc + d, tied + t
    total = conc + disc + tied
    return (conc + tied / 2) / total if total else float("nan")


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

    @property
    def z(self) -> tuple[float, ...]:
        """Wald z statistics."""
        return tuple(c / s for c, s in zip(self.coef, self.se, strict=True))

    def table(self) -> pd.DataFrame:
        """Return the coefficient table (R ``summary(coxph)``).

        Returns
        -------
        pandas.DataFrame
            ``term, coef, hr, se, z, p_value, hr_lower, hr_upper, conf_level, ties``.
        """
        q = float(stats.norm.ppf(1 - (1 - self.conf_level) / 2))
        coef = np.asarray(self.coef)
        se = np.asarray(self.se)
        z = coef / se
        return pd.DataFrame(
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
        return pd.DataFrame(
            {
                "test": ["likelihood ratio", "wald", "score"],
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
        ]
        model = pd.DataFrame(
            [(None, s, v) for s, v in model_rows], columns=["term", "stat", "value"]
        )
        out = pd.concat([long, model], ignore_index=True)
        out["value"] = out["value"].astype(float)
        return out


def _design(
    data: pd.DataFrame,
    covariates: Sequence[str],
    categorical: Sequence[str],
    reference: Mapping[str, object],
) -> pd.DataFrame:
    """Numeric covariates as they are; others as treatment-coded dummies (R style)."""
    parts = []
    for col in covariates:
        values = data[col]
        factor = col in categorical or col in reference
        if pd.api.types.is_bool_dtype(values) and not factor:
            parts.append(values.astype(float).rename(f"{col}TRUE"))
        elif pd.api.types.is_numeric_dtype(values) and not factor:
            parts.append(values.astype(float))
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
            for level in levels[1:]:
                parts.append((values == level).astype(float).rename(f"{col}{level}"))
    return pd.concat(parts, axis=1)


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
) -> CoxResult:
    """Fit a Cox proportional-hazards model.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject.
    covariates : sequence of str
        Covariate columns. Numeric columns enter linearly (so ``dose_level`` as an
        integer is a per-level trend); text or categorical columns are
        treatment-coded with the first level (sorted, or the categorical order) as
        reference, as R's factors.
    time, cnsr, event : str
        Time column and either the ADaM ``CNSR`` column (0 = event) or an event column.
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
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    strata_cols = [strata] if isinstance(strata, str) else list(strata or [])
    status_col = event if event is not None else cnsr
    assert status_col is not None
    data = select_parameter(data, paramcd)
    used = data[[time, status_col, *covariates, *strata_cols]].dropna()
    design = _design(used, covariates, categorical, dict(reference or {}))
    x = design.to_numpy(dtype=float)
    x = x - x.mean(axis=0)
    t = used[time].to_numpy(dtype=float)
    status = used[status_col].to_numpy(dtype=float)
    ev = status != 0 if event is not None else status == 0
    st = None
    if strata_cols:
        st = (
            used.groupby(strata_cols, sort=True, dropna=False)
            .ngroup()
            .to_numpy(dtype=np.int64)
            .astype(np.int64)
        )
    beta, cov, ll0, ll, score, problems = fit_cox(x, t, ev, st, ties)
    for problem in problems:
        problem = problem.replace("coefficient(s) [", "coefficient(s) of term index [")
        warnings.warn(
            f"Cox model: {problem}; terms {list(design.columns)}",
            ConvergenceWarning,
            stacklevel=2,
        )
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
        convergence="relative log-likelihood change <= 1e-12",
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
        concordance=concordance(t, ev, linear_predictor(x, beta), st),
        ties=ties,
        strata=tuple(strata_cols),
        few_events=few,
        min_events=min_events,
        converged=not problems,
    )
