"""Fine-Gray regression of the subdistribution hazard, as R ``cmprsk::crr``.

The subdistribution hazard ratio (SHR) of a covariate describes its effect on the
cumulative incidence of one cause in the presence of competing causes (Fine & Gray
1999). :func:`estimate_fine_gray` fits the model exactly as ``crr`` (same censoring
weights, Breslow ties, Newton-Raphson with ``gtol``/``maxiter``, robust sandwich
variance) and returns a :class:`FineGrayResult` with the coefficient table (robust
and naive standard errors, SHR with Wald CI, p-values), the pseudo likelihood-ratio
test and predicted cumulative incidence for new covariate values
(``predict.crr``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analyses._results import AnalysisResult, make_provenance
from analyses.survival._competing_data import extract_competing, factor_levels
from analyses.survival._cox_core import linear_predictor
from analyses.survival._data import select_parameter
from analyses.survival._fine_gray_core import fit_fine_gray
from analyses.survival._warnings import ConvergenceWarning, SmallSampleWarning

__all__ = ["FineGrayResult", "estimate_fine_gray"]

#: One model term: (term name, covariate column, level for a dummy or None).
Term = tuple[str, str, object]


@dataclass(frozen=True, kw_only=True)
class FineGrayResult(AnalysisResult):
    """A fitted Fine-Gray model.

    Attributes
    ----------
    terms : tuple of str
        Model terms (dummy columns named column + level, as R's factors).
    coef : tuple of float
        Log subdistribution hazard ratios.
    se : tuple of float
        Robust (sandwich) standard errors: R ``crr``'s ``sqrt(diag(var))``, what
        ``summary.crr`` reports.
    se_naive : tuple of float
        Model-based standard errors, ``sqrt(diag(invinf))``.
    covariance, covariance_naive : tuple of tuple of float
        Robust and model-based variance matrices.
    information : tuple of tuple of float
        Information matrix at the estimate (R ``crr``'s ``inf``).
    score : tuple of float
        Score at the estimate (R ``crr``'s ``score``; 0 up to ``gtol``).
    conf_level : float
        Level of the Wald intervals of the SHR (robust SE).
    loglik, loglik_null : float
        Log pseudo-likelihood at the estimate and at zero.
    lr_test : float
        Pseudo likelihood-ratio statistic ``2 (loglik - loglik_null)`` on ``df``.
    df : int
        Number of terms.
    failcode, cencode : object
        The cause modelled and the censoring code.
    n : int
        Subjects used.
    n_events, n_competing, n_censored : int
        Failures from the cause, from other causes, and censorings.
    n_dropped : int
        Rows dropped for a missing value (R's ``n.missing``).
    converged : bool
        R ``crr``'s ``converged``; False issued a :class:`ConvergenceWarning`.
    iterations : int
        Newton iterations taken.
    gtol, maxiter : float, int
        Convergence settings.
    cengroup : str or None
        Column of the censoring groups (separate censoring distributions).
    few_events : bool
        Whether ``n_events < min_events``.
    min_events : int
        The threshold.
    uftime, bfitj : tuple of float
        Distinct failure times of the cause and the jumps of the baseline
        cumulative subdistribution hazard there (covariates at 0).
    design : tuple
        How each term is built from the data: ``(term, column, level)``, level
        None for a numeric column.
    levels : Mapping[str, tuple]
        Levels of each factor covariate, reference first.
    """

    terms: tuple[str, ...]
    coef: tuple[float, ...]
    se: tuple[float, ...]
    se_naive: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]
    covariance_naive: tuple[tuple[float, ...], ...]
    information: tuple[tuple[float, ...], ...]
    score: tuple[float, ...]
    conf_level: float
    loglik: float
    loglik_null: float
    lr_test: float
    df: int
    failcode: object
    cencode: object
    n: int
    n_events: int
    n_competing: int
    n_censored: int
    n_dropped: int
    converged: bool
    iterations: int
    gtol: float
    maxiter: int
    cengroup: str | None
    few_events: bool
    min_events: int
    uftime: tuple[float, ...]
    bfitj: tuple[float, ...]
    design: tuple[Term, ...]
    levels: Mapping[str, tuple[object, ...]]

    def describe(self) -> str:
        """Return a one-line statement of the model and its conventions.

        Returns
        -------
        str
            Cause, variance, ties, censoring weights, convergence.
        """
        weights = (
            f"censoring Kaplan-Meier within {self.cengroup}"
            if self.cengroup
            else "censoring Kaplan-Meier"
        )
        state = "converged" if self.converged else "NOT converged"
        return (
            f"Fine-Gray subdistribution hazards for {self.failcode} (R cmprsk::crr); "
            f"robust SE; Breslow ties; weights {weights}; {state} "
            f"(gtol={self.gtol:g}, maxiter={self.maxiter})"
        )

    def table(self) -> pd.DataFrame:
        """Return the coefficient table (R ``summary.crr``).

        Returns
        -------
        pandas.DataFrame
            ``term, coef, shr, se, z, p_value, shr_lower, shr_upper, se_naive,
            conf_level``; z, p and the interval use the robust SE.
        """
        q = float(stats.norm.ppf(1 - (1 - self.conf_level) / 2))
        coef = np.asarray(self.coef, dtype=float)
        se = np.asarray(self.se, dtype=float)
        z = coef / se
        return pd.DataFrame(
            {
                "term": self.terms,
                "coef": coef,
                "shr": np.exp(coef),
                "se": se,
                "z": z,
                "p_value": 2 * stats.norm.sf(np.abs(z)),
                "shr_lower": np.exp(coef - q * se),
                "shr_upper": np.exp(coef + q * se),
                "se_naive": np.asarray(self.se_naive, dtype=float),
                "conf_level": self.conf_level,
            }
        )

    def summary(self) -> pd.DataFrame:
        """Return the coefficient table with the model statement.

        Returns
        -------
        pandas.DataFrame
            :meth:`table` plus ``model`` (:meth:`describe`).
        """
        out = self.table()
        out["model"] = self.describe()
        return out

    def tests(self) -> pd.DataFrame:
        """Return the pseudo likelihood-ratio test of all terms (R ``summary.crr``).

        Returns
        -------
        pandas.DataFrame
            ``test, statistic, df, p_value``.
        """
        return pd.DataFrame(
            {
                "test": ["pseudo likelihood ratio"],
                "statistic": [self.lr_test],
                "df": [self.df],
                "p_value": [float(stats.chi2.sf(self.lr_test, self.df))],
            }
        )

    def predict(self, covariates: pd.DataFrame) -> pd.DataFrame:
        """Predicted cumulative incidence of the cause (R ``predict.crr``).

        Parameters
        ----------
        covariates : pandas.DataFrame
            One row per covariate pattern, with the model's covariate columns in
            their original coding (categories as in the data).

        Returns
        -------
        pandas.DataFrame
            Columns ``row`` (the pattern's index label), ``time`` (each distinct
            failure time of the cause) and ``cif``: ``1 - exp(-exp(x'b) B(t))``
            with B the baseline cumulative subdistribution hazard.
        """
        for col, known in self.levels.items():
            if col not in covariates.columns:
                continue
            unknown = sorted(
                {str(v) for v in covariates[col].dropna() if v not in known}
            )
            if unknown:
                raise ValueError(
                    f"{col!r} values {unknown} are not levels of the model: {known}"
                )
        x = _design_from_spec(covariates, self.design)
        eta = linear_predictor(x, np.asarray(self.coef))
        base = np.cumsum(np.asarray(self.bfitj))
        rows = []
        for label, e in zip(covariates.index, eta, strict=True):
            rows.append(
                pd.DataFrame(
                    {
                        "row": [label] * base.size,
                        "time": np.asarray(self.uftime),
                        "cif": 1 - np.exp(-np.exp(e) * base),
                    }
                )
            )
        return pd.concat(rows, ignore_index=True)

    def to_frame(self) -> pd.DataFrame:
        """Return the long analysis-results frame.

        Returns
        -------
        pandas.DataFrame
            ``term`` (None for model-level statistics), ``stat``, ``value``.
        """
        coefs = self.table().drop(columns=["conf_level"])
        long = coefs.melt(id_vars="term", var_name="stat", value_name="value")
        p_lr = float(self.tests()["p_value"].iloc[0])
        model_rows = [
            ("loglik", self.loglik),
            ("loglik_null", self.loglik_null),
            ("lr_test", self.lr_test),
            ("lr_p", p_lr),
            ("df", float(self.df)),
            ("n", float(self.n)),
            ("n_events", float(self.n_events)),
            ("n_competing", float(self.n_competing)),
            ("n_censored", float(self.n_censored)),
            ("n_dropped", float(self.n_dropped)),
            ("converged", float(self.converged)),
            ("iterations", float(self.iterations)),
        ]
        model = pd.DataFrame(
            [(None, s, v) for s, v in model_rows], columns=["term", "stat", "value"]
        )
        out = pd.concat([long, model], ignore_index=True)
        out["value"] = out["value"].astype(float)
        return out


def _levels(values: pd.Series) -> list[object]:
    """Observed levels in R's factor order."""
    return [v for v in factor_levels(values) if (values == v).any()]


def _design_spec(
    data: pd.DataFrame,
    covariates: Sequence[str],
    categorical: Sequence[str],
    reference: Mapping[str, object],
) -> tuple[list[Term], dict[str, tuple[object, ...]]]:
    """Terms as R's treatment contrasts: numeric as is, factors as dummies.

    Returns the terms and the levels of each factor (reference first).
    """
    spec: list[Term] = []
    factor_levels_used: dict[str, tuple[object, ...]] = {}
    for col in covariates:
        values = data[col]
        factor = col in categorical or col in reference
        if pd.api.types.is_bool_dtype(values) and not factor:
            spec.append((f"{col}TRUE", col, True))
        elif pd.api.types.is_numeric_dtype(values) and not factor:
            spec.append((col, col, None))
        else:
            levels = _levels(values)
            if col in reference:
                ref = reference[col]
                if ref not in levels:
                    raise ValueError(
                        f"reference {ref!r} is not a level of {col!r}: {levels}"
                    )
                levels = [ref] + [v for v in levels if v != ref]
            if len(levels) < 2:
                raise ValueError(f"covariate {col!r} has a single level {levels}")
            spec += [(f"{col}{level}", col, level) for level in levels[1:]]
            factor_levels_used[col] = tuple(levels)
    return spec, factor_levels_used


def _design_from_spec(data: pd.DataFrame, spec: Sequence[Term]) -> np.ndarray:
    missing = sorted({col for _, col, _ in spec} - set(data.columns))
    if missing:
        raise KeyError(f"covariate column(s) {missing} not in the data")
    cols = []
    for _, col, level in spec:
        values = data[col]
        if level is None:
            cols.append(values.to_numpy(dtype=float))
        else:
            cols.append((values == level).to_numpy(dtype=float))
    return np.column_stack(cols) if cols else np.zeros((len(data), 0))


def estimate_fine_gray(
    data: pd.DataFrame,
    covariates: str | Sequence[str],
    *,
    time: str = "AVAL",
    status: str = "CAUSE",
    failcode: object | None = None,
    cencode: object = "CENSORED",
    categorical: Sequence[str] = (),
    reference: Mapping[str, object] | None = None,
    cengroup: str | None = None,
    paramcd: str | None = None,
    conf_level: float = 0.95,
    gtol: float = 1e-6,
    maxiter: int = 10,
    min_events: int = 10,
) -> FineGrayResult:
    """Fit a Fine-Gray model for the subdistribution hazard of one cause.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject, e.g. from :func:`derive_competing_events`.
    covariates : str or sequence of str
        Covariate columns. Numeric columns enter linearly; text, categorical and
        ``categorical=`` columns are treatment-coded against their first level
        (sorted, or the categorical order), as R's factors.
    time : str
        Time column (default ``"AVAL"``).
    status : str
        Column with the cause of failure or ``cencode`` (default ``"CAUSE"``).
    failcode : object, optional
        The cause modelled (R ``failcode``). Default: the first cause in R's
        factor-level order (for codes 0/1/2 with ``cencode=0``: 1, R's default).
    cencode : object
        Status value of a censored time (R ``cencode``; default ``"CENSORED"``, as
        :func:`derive_competing_events` writes it; R's default is 0).
    categorical : sequence of str
        Numeric covariates to treat as factors (e.g. ``["dose_level"]``).
    reference : mapping, optional
        Reference level per categorical covariate (default: the first level).
    cengroup : str, optional
        Column of groups with separate censoring distributions (R ``cengroup``).
    paramcd : str, optional
        ADTTE parameter to analyse when the frame holds several.
    conf_level : float
        Level of the Wald intervals of the SHR (default 0.95).
    gtol, maxiter : float, int
        R ``crr``'s convergence tolerance (1e-6) and iteration limit (10).
    min_events : int
        Below this many events of the cause a :class:`SmallSampleWarning` is
        issued and ``few_events`` set (default 10).

    Returns
    -------
    FineGrayResult
        Coefficients, robust and naive SEs, SHRs with CIs, the pseudo LR test.

    Raises
    ------
    ValueError
        If ``failcode`` is not a cause in the data, or the covariates are empty.
    """
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    if not covariates:
        raise ValueError("give at least one covariate")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")
    data = select_parameter(data, paramcd)
    cd = extract_competing(
        data,
        time=time,
        status=status,
        cencode=cencode,
        columns=[*covariates, *([cengroup] if cengroup else [])],
    )
    observed = [c for i, c in enumerate(cd.causes) if (cd.cause == i + 1).any()]
    if failcode is None:
        if not observed:
            raise ValueError(f"no failure of any cause in {status!r}")
        failcode = observed[0]
    code = next((i + 1 for i, c in enumerate(cd.causes) if c == failcode), None)
    if code is None or not (cd.cause == code).any():
        raise ValueError(
            f"failcode {failcode!r} does not occur in {status!r}; causes: {observed}"
        )
    used = cd.frame
    spec, levels = _design_spec(used, covariates, categorical, dict(reference or {}))
    x = _design_from_spec(used, spec)
    ici = np.where(cd.cause == 0, 0, np.where(cd.cause == code, 1, 2))
    cg = None
    if cengroup is not None:
        cg = pd.factorize(used[cengroup], sort=True)[0].astype(np.int64)
    fit = fit_fine_gray(cd.time, ici, x, cg, gtol=gtol, maxiter=maxiter)
    if not fit.converged:
        warnings.warn(
            f"Fine-Gray model did not converge in {maxiter} iterations "
            f"(gtol={gtol:g}); terms {[t for t, _, _ in spec]}",
            ConvergenceWarning,
            stacklevel=2,
        )
    n_events = int((ici == 1).sum())
    few = n_events < min_events
    if few:
        warnings.warn(
            f"only {n_events} events of {failcode!r} (< min_events={min_events}): "
            "Wald inference for the Fine-Gray model may be unreliable",
            SmallSampleWarning,
            stacklevel=2,
        )
    provenance = make_provenance(
        "estimate_fine_gray",
        inputs={"data": data},
        paramcd=paramcd,
        covariates=covariates,
        time=time,
        status=status,
        failcode=failcode,
        cencode=cencode,
        categorical=list(categorical),
        reference={str(k): v for k, v in (reference or {}).items()},
        cengroup=cengroup,
        conf_level=conf_level,
        gtol=gtol,
        maxiter=maxiter,
        min_events=min_events,
        variance="robust sandwich (R crr var)",
        ties="Breslow",
    )
    cov = fit.var
    naive = fit.invinf
    return FineGrayResult(
        provenance=provenance,
        terms=tuple(t for t, _, _ in spec),
        coef=tuple(float(b) for b in fit.coef),
        se=tuple(float(s) for s in np.sqrt(np.diag(cov))),
        se_naive=tuple(float(s) for s in np.sqrt(np.diag(naive))),
        covariance=tuple(tuple(float(v) for v in row) for row in cov),
        covariance_naive=tuple(tuple(float(v) for v in row) for row in naive),
        information=tuple(tuple(float(v) for v in row) for row in fit.inf),
        score=tuple(float(v) for v in fit.score),
        conf_level=conf_level,
        loglik=fit.loglik,
        loglik_null=fit.loglik_null,
        lr_test=2 * (fit.loglik - fit.loglik_null),
        df=len(spec),
        failcode=failcode,
        cencode=cencode,
        n=int(cd.time.size),
        n_events=n_events,
        n_competing=int((ici == 2).sum()),
        n_censored=int((ici == 0).sum()),
        n_dropped=cd.n_dropped,
        converged=fit.converged,
        iterations=fit.iterations,
        gtol=gtol,
        maxiter=maxiter,
        cengroup=cengroup,
        few_events=few,
        min_events=min_events,
        uftime=tuple(float(t) for t in fit.uftime),
        bfitj=tuple(float(b) for b in fit.bfitj),
        design=tuple(spec),
        levels=levels,
    )
