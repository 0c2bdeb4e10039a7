"""Between-group tests of baseline and disposition tables, computed as R computes them.

Each test returns a :class:`GroupTest` (statistic, degrees of freedom, p-value, the
method in R's words and notes on the data) and matches the R function named:

* :func:`pearson_chisq` -- ``chisq.test(x, correct=)``; Yates' correction applies
  to 2 x 2 tables only, ``min(0.5, |x - E|)`` as in R.
* :func:`fisher_exact_rxc` -- ``fisher.test(x)`` for any r x c table: the exact
  two-sided p-value (tables no more probable than the observed one, relative
  tolerance 1e-7), computed with a network algorithm; for 2 x 2 tables also the
  conditional maximum-likelihood odds ratio and its exact interval.
* :func:`oneway_anova` -- ``aov(y ~ g)`` / ``oneway.test(var.equal=TRUE)``.
* :func:`welch_anova` -- ``oneway.test(y ~ g, var.equal=FALSE)`` (Welch 1951).
* :func:`kruskal_wallis` -- ``kruskal.test(y, g)``, average ranks for ties and the
  ties correction.
* :func:`cochran_mantel_haenszel` -- ``mantelhaen.test(x, correct=)``: for 2 x 2 x K
  the Mantel-Haenszel chi-square (continuity correction 0.5 when ``|delta| >= 0.5``)
  with the Mantel-Haenszel common odds ratio and its Robins-Breslow-Greenland
  interval; for I x J x K the generalised CMH statistic of general association,
  (I - 1)(J - 1) degrees of freedom, without correction.

:func:`compare_groups` picks one of them by name for a variable of a subject-level
frame (what :func:`analyses.safety.summarize_demographics` calls per variable).
Missing values of the variable, the group or the stratum are left out, as R's
``table()`` and model formulae leave out ``NA``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats
from scipy.stats.contingency import odds_ratio

from analyses._results import AnalysisResult, make_provenance
from analyses.safety._fisher_network import fisher_rxc_pvalue

__all__ = [
    "CATEGORICAL_TESTS",
    "CONTINUOUS_TESTS",
    "GroupTest",
    "GroupTestName",
    "cochran_mantel_haenszel",
    "compare_groups",
    "contingency_table",
    "fisher_exact_rxc",
    "kruskal_wallis",
    "oneway_anova",
    "pearson_chisq",
    "welch_anova",
]

#: Test names accepted by :func:`compare_groups`.
GroupTestName = Literal[
    "chisq",
    "chisq_correct",
    "fisher",
    "cmh",
    "cmh_correct",
    "anova",
    "welch",
    "kruskal",
]
#: Tests of a categorical variable (contingency tables).
CATEGORICAL_TESTS = ("chisq", "chisq_correct", "fisher", "cmh", "cmh_correct")
#: Tests of a continuous variable (one-way layouts).
CONTINUOUS_TESTS = ("anova", "welch", "kruskal")

#: Footnote wording of each test.
TEST_LABELS: dict[str, str] = {
    "chisq": "Pearson's chi-square test (no continuity correction)",
    "chisq_correct": (
        "Pearson's chi-square test (Yates' continuity correction for 2 x 2 tables)"
    ),
    "fisher": "Fisher's exact test (two-sided, r x c)",
    "cmh": "Cochran-Mantel-Haenszel test (no continuity correction)",
    "cmh_correct": (
        "Cochran-Mantel-Haenszel test (continuity correction for 2 x 2 x K tables)"
    ),
    "anova": "one-way ANOVA F test",
    "welch": "Welch's one-way ANOVA (unequal variances)",
    "kruskal": "Kruskal-Wallis rank-sum test (ties corrected)",
}


@dataclass(frozen=True, kw_only=True)
class GroupTest(AnalysisResult):
    """The result of one between-group test.

    Attributes
    ----------
    test : str
        Test name (``"chisq"``, ``"fisher"``, ``"anova"``, ...).
    method : str
        The method as R's ``htest`` names it.
    statistic : float
        Test statistic (NaN for Fisher's r x c test, which has none).
    df : tuple of float
        Degrees of freedom: one for chi-square tests, numerator and denominator for
        F tests (Welch's denominator is fractional); empty for Fisher.
    p_value : float
        Two-sided p-value (NaN when the test is not defined for the data, see
        ``notes``).
    n : int
        Observations used.
    variable : str or None
        The variable tested, when known.
    estimates : dict of str to float
        Extra estimates (Fisher 2 x 2 and CMH 2 x 2 x K: ``odds_ratio``,
        ``conf_low``, ``conf_high``).
    notes : tuple of str
        Warnings about the data (small expected counts, too few groups, ...).
    """

    test: str
    method: str
    statistic: float
    df: tuple[float, ...]
    p_value: float
    n: int
    variable: str | None = None
    estimates: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Return the long unrounded frame.

        Returns
        -------
        pandas.DataFrame
            ``variable``, ``test``, ``stat``, ``value``: ``statistic``, ``df`` (or
            ``df1``, ``df2``), ``p_value``, ``n`` and the estimates.
        """
        rows: list[tuple[str, float]] = [("statistic", self.statistic)]
        if len(self.df) == 1:
            rows.append(("df", self.df[0]))
        else:
            rows += [(f"df{i + 1}", v) for i, v in enumerate(self.df)]
        rows += [("p_value", self.p_value), ("n", float(self.n))]
        rows += list(self.estimates.items())
        return pd.DataFrame(
            {
                "variable": self.variable or "",
                "test": self.test,
                "stat": [r[0] for r in rows],
                "value": [float(r[1]) for r in rows],
            }
        )


def _result(
    test: str,
    method: str,
    statistic: float,
    df: Sequence[float],
    p_value: float,
    n: int,
    inputs: Mapping[str, pd.DataFrame],
    *,
    variable: str | None = None,
    estimates: Mapping[str, float] | None = None,
    notes: Sequence[str] = (),
    **parameters: Any,
) -> GroupTest:
    return GroupTest(
        provenance=make_provenance(
            f"group_tests.{test}", inputs=inputs, test=test, **parameters
        ),
        test=test,
        method=method,
        statistic=float(statistic),
        df=tuple(float(v) for v in df),
        p_value=float(p_value),
        n=int(n),
        variable=variable,
        estimates=dict(estimates or {}),
        notes=tuple(notes),
    )


def _counts(table: npt.ArrayLike | pd.DataFrame, ndim: int) -> npt.NDArray[np.float64]:
    x = np.asarray(table, dtype=float)
    if x.ndim != ndim:
        raise ValueError(
            f"expected a {ndim}-dimensional table, got {x.ndim} dimensions"
        )
    if not np.isfinite(x).all() or (x < 0).any():
        raise ValueError("table counts must be finite and non-negative")
    return x


def _table_frame(x: npt.NDArray[np.float64]) -> pd.DataFrame:
    return pd.DataFrame(x.reshape(x.shape[0], -1))


def pearson_chisq(
    table: npt.ArrayLike | pd.DataFrame, *, correct: bool = True
) -> GroupTest:
    """Pearson's chi-square test of independence of an r x c table (R ``chisq.test``).

    Parameters
    ----------
    table : array_like or pandas.DataFrame, shape (r, c)
        Counts (rows: categories, columns: groups, or the reverse).
    correct : bool, default True
        Yates' continuity correction for 2 x 2 tables (R's default): each
        ``|x - E|`` is reduced by ``min(0.5, min |x - E|)``. Ignored for other
        shapes, as in R.

    Returns
    -------
    GroupTest
        Statistic, df ``(r - 1)(c - 1)``, upper-tail chi-square p-value. NaN when a
        row or column sums to zero or the table has fewer than two rows or columns
        (R would test goodness of fit instead); a note flags expected counts below 5
        (R's "approximation may be incorrect" warning).
    """
    x = _counts(table, 2)
    n = x.sum()
    notes: list[str] = []
    corrected = bool(correct and x.shape == (2, 2))
    method = "Pearson's Chi-squared test"
    df = (x.shape[0] - 1) * (x.shape[1] - 1)
    if min(x.shape) < 2:
        notes.append("fewer than two rows or columns: no test of independence")
        stat = p = np.nan
    elif (x.sum(axis=0) == 0).any() or (x.sum(axis=1) == 0).any():
        notes.append("a row or column sums to zero: the statistic is undefined")
        stat = p = np.nan
    else:
        expected = np.outer(x.sum(axis=1), x.sum(axis=0)) / n
        dev = np.abs(x - expected)
        yates = min(0.5, float(dev.min())) if corrected else 0.0
        if yates > 0:  # R names the correction only when it changes the statistic
            method += " with Yates' continuity correction"
        stat = float(((dev - yates) ** 2 / expected).sum())
        p = float(stats.chi2.sf(stat, df))
        small = int((expected < 5).sum())
        if small:
            notes.append(
                f"{small} of {expected.size} expected counts below 5: the chi-square "
                "approximation may be incorrect"
            )
    return _result(
        "chisq_correct" if correct else "chisq",
        method,
        stat,
        (df,),
        p,
        int(n),
        {"table": _table_frame(x)},
        notes=notes,
        correct=correct,
    )


def fisher_exact_rxc(
    table: npt.ArrayLike | pd.DataFrame, *, confidence: float = 0.95
) -> GroupTest:
    """Fisher's exact test for an r x c table (R ``fisher.test``).

    Parameters
    ----------
    table : array_like or pandas.DataFrame, shape (r, c)
        Integer counts.
    confidence : float, default 0.95
        Level of the odds-ratio interval of a 2 x 2 table.

    Returns
    -------
    GroupTest
        The exact two-sided p-value: the probability, with both margins fixed, of
        the tables no more probable than the observed one (relative tolerance
        ``1e-7``, as R). For a 2 x 2 table also the conditional maximum-likelihood
        odds ratio and its exact interval (``estimates``).
    """
    x = _counts(table, 2)
    if (x != np.round(x)).any():
        raise ValueError("Fisher's exact test needs integer counts")
    counts = x.astype(np.int64)
    notes: list[str] = []
    nonempty = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    if min(nonempty.shape, default=0) < 2:
        notes.append(
            "fewer than two non-empty rows or columns: every table with these "
            "margins is the observed one (p = 1)"
        )
    p = fisher_rxc_pvalue(counts)
    estimates: dict[str, float] = {}
    if counts.shape == (2, 2):
        res = odds_ratio(counts, kind="conditional")
        ci = res.confidence_interval(confidence_level=confidence)
        estimates = {
            "odds_ratio": float(res.statistic),
            "conf_low": float(ci.low),
            "conf_high": float(ci.high),
        }
    return _result(
        "fisher",
        "Fisher's Exact Test for Count Data",
        np.nan,
        (),
        p,
        int(counts.sum()),
        {"table": _table_frame(x)},
        estimates=estimates,
        notes=notes,
        confidence=confidence,
    )


def _layout(
    values: npt.ArrayLike | pd.Series, groups: npt.ArrayLike | pd.Series
) -> tuple[list[npt.NDArray[np.float64]], pd.DataFrame, int]:
    """Return the groups' values (missing dropped), the input frame, the dropped."""
    frame = pd.DataFrame(
        {
            "value": pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce"),
            "group": pd.Series(np.asarray(groups, dtype=object)),
        }
    )
    keep = frame["value"].notna() & frame["group"].notna()
    used = frame.loc[keep]
    labels = sorted(used["group"].astype(str).unique())
    parts = [
        used.loc[used["group"].astype(str) == g, "value"].to_numpy(float)
        for g in labels
    ]
    return parts, frame, int((~keep).sum())


def _dropped_note(dropped: int) -> list[str]:
    return [f"{dropped} observation(s) with a missing value or group left out"] * bool(
        dropped
    )


def oneway_anova(
    values: npt.ArrayLike | pd.Series, groups: npt.ArrayLike | pd.Series
) -> GroupTest:
    """One-way analysis of variance F test (R ``aov`` / ``oneway.test``).

    Parameters
    ----------
    values : array_like
        The continuous variable.
    groups : array_like
        Group of each value.

    Returns
    -------
    GroupTest
        ``F = (SS_between / (k - 1)) / (SS_within / (N - k))`` with df ``(k - 1,
        N - k)``. NaN with fewer than two groups or no residual degrees of freedom.
    """
    parts, frame, dropped = _layout(values, groups)
    notes = _dropped_note(dropped)
    k, n = len(parts), sum(len(p) for p in parts)
    if k < 2 or n - k < 1:
        notes.append("fewer than two groups or no residual degrees of freedom")
        stat = p = np.nan
    else:
        grand = np.concatenate(parts).mean()
        between = sum(len(v) * (v.mean() - grand) ** 2 for v in parts)
        within = sum(((v - v.mean()) ** 2).sum() for v in parts)
        stat = float((between / (k - 1)) / (within / (n - k)))
        p = float(stats.f.sf(stat, k - 1, n - k))
    return _result(
        "anova",
        "One-way analysis of means",
        stat,
        (k - 1, n - k),
        p,
        n,
        {"data": frame},
        notes=notes,
    )


def welch_anova(
    values: npt.ArrayLike | pd.Series, groups: npt.ArrayLike | pd.Series
) -> GroupTest:
    """Welch's one-way ANOVA for unequal variances (R ``oneway.test(var.equal=FALSE)``).

    Parameters
    ----------
    values : array_like
        The continuous variable.
    groups : array_like
        Group of each value.

    Returns
    -------
    GroupTest
        Welch's (1951) F with weights ``w_i = n_i / s_i^2`` and df ``(k - 1,
        1 / (3 * tmp))``, ``tmp = sum((1 - w_i / sum(w))^2 / (n_i - 1)) / (k^2 - 1)``.
        NaN when a group has fewer than two values or no spread.
    """
    parts, frame, dropped = _layout(values, groups)
    notes = _dropped_note(dropped)
    k, n = len(parts), sum(len(p) for p in parts)
    sizes = np.array([len(v) for v in parts], dtype=float)
    if k < 2 or (sizes < 2).any():
        notes.append("fewer than two groups, or a group with fewer than two values")
        stat = p = df2 = np.nan
    else:
        var = np.array([v.var(ddof=1) for v in parts])
        if (var == 0).any():
            notes.append("a group has no spread (variance 0): Welch's F is undefined")
            stat = p = df2 = np.nan
        else:
            means = np.array([v.mean() for v in parts])
            w = sizes / var
            tmp = ((1 - w / w.sum()) ** 2 / (sizes - 1)).sum() / (k * k - 1)
            centre = (w * means).sum() / w.sum()
            stat = float(
                (w * (means - centre) ** 2).sum() / ((k - 1) * (1 + 2 * (k - 2) * tmp))
            )
            df2 = float(1 / (3 * tmp))
            p = float(stats.f.sf(stat, k - 1, df2))
    return _result(
        "welch",
        "One-way analysis of means (not assuming equal variances)",
        stat,
        (k - 1, df2),
        p,
        n,
        {"data": frame},
        notes=notes,
    )


def kruskal_wallis(
    values: npt.ArrayLike | pd.Series, groups: npt.ArrayLike | pd.Series
) -> GroupTest:
    """Kruskal-Wallis rank-sum test (R ``kruskal.test``).

    Parameters
    ----------
    values : array_like
        The variable (ranked).
    groups : array_like
        Group of each value.

    Returns
    -------
    GroupTest
        ``H`` from average ranks divided by the ties correction
        ``1 - sum(t^3 - t) / (N^3 - N)``, chi-square with ``k - 1`` df. NaN with
        fewer than two groups or when every value is tied.
    """
    parts, frame, dropped = _layout(values, groups)
    notes = _dropped_note(dropped)
    k = len(parts)
    pooled = np.concatenate(parts) if parts else np.zeros(0)
    n = len(pooled)
    if k < 2:
        notes.append("fewer than two groups")
        stat = p = np.nan
    else:
        ranks = stats.rankdata(pooled)
        _, ties = np.unique(pooled, return_counts=True)
        correction = 1 - float((ties**3 - ties).sum()) / (n**3 - n)
        if correction <= 0:
            notes.append("every value is tied: the statistic is undefined")
            stat = p = np.nan
        else:
            bounds = np.cumsum([0, *[len(v) for v in parts]])
            rank_sums = np.array(
                [ranks[a:b].sum() for a, b in itertools.pairwise(bounds)]
            )
            sizes = np.diff(bounds)
            h = 12 / (n * (n + 1)) * (rank_sums**2 / sizes).sum() - 3 * (n + 1)
            stat = float(h / correction)
            p = float(stats.chi2.sf(stat, k - 1))
    return _result(
        "kruskal",
        "Kruskal-Wallis rank sum test",
        stat,
        (k - 1,),
        p,
        n,
        {"data": frame},
        notes=notes,
    )


def cochran_mantel_haenszel(
    table: npt.ArrayLike, *, correct: bool = True, confidence: float = 0.95
) -> GroupTest:
    """Cochran-Mantel-Haenszel test of an I x J x K table (R ``mantelhaen.test``).

    Parameters
    ----------
    table : array_like, shape (I, J, K)
        Counts; the last axis holds the strata.
    correct : bool, default True
        Continuity correction for 2 x 2 x K tables (R's default): ``|delta| - 0.5``
        when ``|delta| >= 0.5``. Ignored for larger tables, as in R.
    confidence : float, default 0.95
        Level of the common odds ratio's interval (2 x 2 x K).

    Returns
    -------
    GroupTest
        2 x 2 x K: the Mantel-Haenszel chi-square (1 df), the Mantel-Haenszel common
        odds ratio and its Robins-Breslow-Greenland interval. I x J x K: the
        generalised CMH statistic of general association with ``(I - 1)(J - 1)``
        df.

    Raises
    ------
    ValueError
        When the table is not three-dimensional, has fewer than two rows or columns,
        or a stratum has fewer than two observations (R refuses these too).
    """
    x = _counts(table, 3)
    i_dim, j_dim, k_dim = x.shape
    if i_dim < 2 or j_dim < 2:
        raise ValueError("each stratum needs at least two rows and two columns")
    totals = x.sum(axis=(0, 1))
    if (totals < 2).any():
        raise ValueError("sample size in each stratum must be > 1 (R mantelhaen.test)")
    estimates: dict[str, float] = {}
    frame = pd.DataFrame(
        [
            {"row": i, "col": j, "stratum": k, "count": x[i, j, k]}
            for k in range(k_dim)
            for i in range(i_dim)
            for j in range(j_dim)
        ]
    )
    if (i_dim, j_dim) == (2, 2):
        row1, col1 = x[0].sum(axis=0), x[:, 0].sum(axis=0)
        delta = float((x[0, 0] - row1 * col1 / totals).sum())
        yates = 0.5 if correct and abs(delta) >= 0.5 else 0.0
        var = (
            row1 * (totals - row1) * col1 * (totals - col1) / (totals**2 * (totals - 1))
        ).sum()
        stat = (abs(delta) - yates) ** 2 / float(var)
        df: tuple[float, ...] = (1.0,)
        method = "Mantel-Haenszel chi-squared test" + (
            " with continuity correction"
            if correct
            else " without continuity correction"
        )
        a, b, c, d = x[0, 0], x[0, 1], x[1, 0], x[1, 1]
        diag = float((a * d / totals).sum())
        offd = float((b * c / totals).sum())
        ratio = diag / offd if offd > 0 else np.inf
        sd = np.sqrt(
            ((a + d) * a * d / totals**2).sum() / (2 * diag**2)
            + (((a + d) * b * c + (b + c) * a * d) / totals**2).sum()
            / (2 * diag * offd)
            + ((b + c) * b * c / totals**2).sum() / (2 * offd**2)
        )
        z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
        estimates = {
            "odds_ratio": float(ratio),
            "conf_low": float(ratio * np.exp(-z * sd)),
            "conf_high": float(ratio * np.exp(z * sd)),
        }
    else:
        size = (i_dim - 1) * (j_dim - 1)
        dev = np.zeros(size)
        cov = np.zeros((size, size))
        for k in range(k_dim):
            f = x[:, :, k]
            t = totals[k]
            rows, cols = f.sum(axis=1)[:-1], f.sum(axis=0)[:-1]
            # R's column-major c(f[-I, -J]): row index fastest
            dev += (
                f[:-1, :-1].ravel(order="F") - np.outer(rows, cols).ravel(order="F") / t
            )
            cov += np.kron(
                np.diag(t * cols) - np.outer(cols, cols),
                np.diag(t * rows) - np.outer(rows, rows),
            ) / (t**2 * (t - 1))
        stat = math.fsum(dev * _solve(cov, dev))
        df = (float(size),)
        method = "Cochran-Mantel-Haenszel test"
    p = float(stats.chi2.sf(stat, df[0]))
    return _result(
        "cmh_correct" if correct else "cmh",
        method,
        stat,
        df,
        p,
        int(x.sum()),
        {"table": frame},
        estimates=estimates,
        correct=correct,
        confidence=confidence,
    )


def _solve(
    a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Solve ``a x = b`` by Gauss-Jordan elimination with partial pivoting.

    Row operations are element-wise (no BLAS / LAPACK kernel), so the solution is the
    same on every machine, whatever the kernel or thread count.
    """
    m = np.column_stack([a, b]).astype(float)
    size = len(b)
    scale = float(np.abs(a).max()) if a.size else 0.0
    for k in range(size):
        p = k + int(np.argmax(np.abs(m[k:, k])))
        if abs(m[p, k]) <= 1e-12 * scale:
            raise ValueError(
                "the CMH covariance matrix is singular (a row or column is empty in "
                "every stratum); R's mantelhaen.test stops here too"
            )
        m[[k, p]] = m[[p, k]]
        m[k] = m[k] / m[k, k]
        for i in range(size):
            if i != k and m[i, k] != 0:
                m[i] = m[i] - m[i, k] * m[k]
    return m[:, size]


def contingency_table(
    data: pd.DataFrame, variable: str, by: str, strata: str | None = None
) -> tuple[npt.NDArray[np.float64], list[str], list[str], list[str]]:
    """Return the counts of ``variable`` x ``by`` (x ``strata``), missing left out.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject.
    variable, by : str
        Row and column variables.
    strata : str, optional
        Stratum variable (third axis).

    Returns
    -------
    tuple
        Counts (observed categories only, categorical-dtype order kept, otherwise
        sorted) and the row, column and stratum labels.
    """
    columns = [variable, by] + ([strata] if strata else [])
    used = data[columns].dropna()

    def levels(col: str) -> list[str]:
        values = used[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            return [str(c) for c in values.cat.categories if (values == c).any()]
        return [str(v) for v in sorted(values.unique())]

    rows, cols = levels(variable), levels(by)
    layers = levels(strata) if strata else ["all"]
    counts = np.zeros((len(rows), len(cols), len(layers)))
    keys = (
        used[variable].astype(str).map({v: i for i, v in enumerate(rows)}),
        used[by].astype(str).map({v: i for i, v in enumerate(cols)}),
        used[strata].astype(str).map({v: i for i, v in enumerate(layers)})
        if strata
        else pd.Series(0, index=used.index),
    )
    np.add.at(counts, tuple(k.to_numpy(np.int64) for k in keys), 1.0)
    return counts, rows, cols, layers


def compare_groups(
    data: pd.DataFrame,
    variable: str,
    by: str,
    *,
    test: GroupTestName,
    strata: str | None = None,
) -> GroupTest:
    """Test whether ``variable`` differs between the groups of ``by``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject.
    variable : str
        The variable compared.
    by : str
        The group column.
    test : {"chisq", "chisq_correct", "fisher", "cmh", "cmh_correct", "anova", \
"welch", "kruskal"}
        The test (see the module docstring); ``cmh*`` needs ``strata``.
    strata : str, optional
        Stratum column of the CMH test.

    Returns
    -------
    GroupTest
        The result, with ``variable`` set and the rows left out noted.
    """
    if test in ("cmh", "cmh_correct") and strata is None:
        raise ValueError(f"test {test!r} needs a strata column")
    if test in CONTINUOUS_TESTS:
        func = {"anova": oneway_anova, "welch": welch_anova, "kruskal": kruskal_wallis}
        result = func[test](data[variable], data[by].astype(object))
    elif test in CATEGORICAL_TESTS:
        counts, *_ = contingency_table(data, variable, by, strata)
        if test in ("cmh", "cmh_correct"):
            result = cochran_mantel_haenszel(counts, correct=test == "cmh_correct")
        elif test == "fisher":
            result = fisher_exact_rxc(counts[:, :, 0])
        else:
            result = pearson_chisq(counts[:, :, 0], correct=test == "chisq_correct")
        dropped = len(data) - int(counts.sum())
        if dropped:
            result = _with(result, notes=(*result.notes, *_dropped_note(dropped)))
    else:
        names = ", ".join((*CATEGORICAL_TESTS, *CONTINUOUS_TESTS))
        raise ValueError(f"unknown test {test!r}; use one of {names}")
    return _with(result, variable=variable)


def _with(result: GroupTest, **changes: Any) -> GroupTest:
    return replace(result, **changes)
