"""Test of proportional hazards for a Cox model, as R ``survival::cox.zph`` (>= 3.0).

The score test of adding ``beta_j * g(t)`` to each covariate's effect, g a
transform of time centred on the event times, evaluated at the fitted model
(R's ``zph1``/``zph2``): per covariate (one test per model term, its columns
together) and GLOBAL, each a chi-square on the term's columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from analyses._results import AnalysisResult, make_provenance
from analyses.survival._cox_core import CoxData, Ties
from analyses.survival.cox import CoxResult

__all__ = ["CoxZphResult", "Transform", "proportional_hazards_test"]

Transform = Literal["km", "rank", "identity", "log"]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, kw_only=True)
class CoxZphResult(AnalysisResult):
    """Proportional-hazards tests of a Cox model (R ``cox.zph(fit)$table``).

    Attributes
    ----------
    terms : tuple of str
        Tested terms, then ``"GLOBAL"`` when the global test was asked for.
    chisq, df, p_value : tuple
        Score-test chi-square, degrees of freedom and p-value per row.
    transform : str
        Time transform.
    """

    terms: tuple[str, ...]
    chisq: tuple[float, ...]
    df: tuple[int, ...]
    p_value: tuple[float, ...]
    transform: str

    def to_frame(self) -> pd.DataFrame:
        """Return the long frame: ``term, stat, value``.

        Returns
        -------
        pandas.DataFrame
            ``chisq``, ``df`` and ``p_value`` per term.
        """
        wide = pd.DataFrame(
            {
                "term": self.terms,
                "chisq": self.chisq,
                "df": [float(d) for d in self.df],
                "p_value": self.p_value,
            }
        )
        long = wide.melt(id_vars="term", var_name="stat", value_name="value")
        order = {t: i for i, t in enumerate(self.terms)}
        long = long.sort_values("term", key=lambda s: s.map(order), kind="stable")
        return long.reset_index(drop=True).astype({"value": float})


def _km_left(data: CoxData) -> FloatArray:
    """1 - S(t-) of the pooled Kaplan-Meier (strata ignored) at each row's time."""
    stop, event = data.stop, data.event
    times, d = np.unique(stop[event], return_counts=True)
    n_risk = stop.size - np.searchsorted(np.sort(stop), times, "left")
    if data.start is not None:
        n_risk = n_risk - (
            stop.size - np.searchsorted(np.sort(data.start), times, "left")
        )
    surv = np.cumprod(1.0 - d / n_risk)
    before = np.searchsorted(times, stop, "left")  # event times strictly before t
    return np.asarray(1.0 - np.r_[1.0, surv][before], dtype=np.float64)


def _time_transform(data: CoxData, transform: str) -> FloatArray:
    if transform == "identity":
        return data.stop.copy()
    if transform == "log":
        return np.log(data.stop)
    if transform == "rank":
        return np.asarray(stats.rankdata(data.stop, method="average"), dtype=float)
    if transform == "km":
        return _km_left(data)
    raise ValueError(
        f"transform must be 'km', 'rank', 'identity' or 'log', got {transform!r}"
    )


def proportional_hazards_test(
    fit: CoxResult,
    transform: Transform = "km",
    *,
    terms: bool = True,
    global_test: bool = True,
) -> CoxZphResult:
    """Test the proportional-hazards assumption, as R ``cox.zph(fit, transform)``.

    Parameters
    ----------
    fit : CoxResult
        A model from :func:`~analyses.survival.estimate_cox` (any ties; the exact
        partial likelihood is tested with Breslow's sums, as R does).
    transform : {"km", "rank", "identity", "log"}
        Time scale g(t): 1 - left-continuous Kaplan-Meier of all rows (R's
        default), rank of the times (average ties), the time itself, or its log.
    terms : bool
        One test per model term (a factor's columns together, df = its columns;
        R's default) or one per column.
    global_test : bool
        Add the GLOBAL test of all columns.

    Returns
    -------
    CoxZphResult
        Chi-square, df and p-value per term and GLOBAL.
    """
    model = fit.model
    if model is None:
        raise ValueError("the fit holds no model data (refit with estimate_cox)")
    data = model.data
    p = data.p
    ties: Ties = "efron" if fit.ties == "efron" else "breslow"
    g_rows = _time_transform(data, transform)
    g_rows = g_rows - g_rows[data.event].mean()
    u = np.zeros(p)
    imat = np.zeros((2 * p, 2 * p))
    for t in data.terms(model.beta, ties):
        s = t.stratum
        g_time = g_rows[s.rows][s.death_pos][s.death_starts]  # per event time
        g = g_time[s.term_time]
        g_dead = g_rows[s.rows][s.death_pos]
        u += (s.x[s.death_pos] * g_dead[:, None]).sum(axis=0)
        u -= (t.mean * g[:, None]).sum(axis=0)
        v = t.variance()
        i0 = v.sum(axis=0)
        i1 = (v * g[:, None, None]).sum(axis=0)
        i2 = (v * (g * g)[:, None, None]).sum(axis=0)
        imat[:p, :p] += i0
        imat[:p, p:] += i1
        imat[p:, :p] += i1
        imat[p:, p:] += i2
    groups = (
        list(model.assign)
        if terms
        else [(name, (j,)) for j, name in enumerate(fit.terms)]
    )
    names, chisq, dfs = [], [], []
    full = np.r_[np.zeros(p), u]
    for name, cols in groups:
        kk = [*range(p), *(p + j for j in cols)]
        vec = full[kk]
        chisq.append(float(vec @ np.linalg.solve(imat[np.ix_(kk, kk)], vec)))
        dfs.append(len(cols))
        names.append(name)
    if global_test:
        chisq.append(float(full @ np.linalg.solve(imat, full)))
        dfs.append(p)
        names.append("GLOBAL")
    pvals = tuple(float(stats.chi2.sf(c, d)) for c, d in zip(chisq, dfs, strict=True))
    provenance = make_provenance(
        "proportional_hazards_test",
        cox_model=fit.provenance.parameters,
        transform=transform,
        terms=terms,
        global_test=global_test,
        method="score test at the fitted coefficients (R survival >= 3 cox.zph)",
    )
    return CoxZphResult(
        provenance=provenance,
        terms=tuple(names),
        chisq=tuple(chisq),
        df=tuple(dfs),
        p_value=pvals,
        transform=transform,
    )
