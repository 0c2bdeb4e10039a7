"""Descriptive summaries of immunomonitoring results by group and visit."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pandas.api.typing import DataFrameGroupBy
from scipy import stats

from analyses._results import AnalysisResult, make_provenance
from analyses.immunomonitoring.groups import derivation_rules
from analyses.immunomonitoring.lloq import (
    LloqRule,
    UloqRule,
    compute_below_lloq,
    compute_lloq_imputed,
)
from analyses.immunomonitoring.tobit import estimate_censored_normal

__all__ = ["ImmunoSummaryResult", "summarize_immunomonitoring"]

Variable = Literal["value", "change", "pct_change", "fold_change"]
#: Statistics of :class:`ImmunoSummaryResult`, in display order.
STATS: tuple[str, ...] = (
    "n",
    "n_below_lloq",
    "mean",
    "sd",
    "median",
    "q1",
    "q3",
    "min",
    "max",
    "mean_log",
    "sd_log",
    "geo_mean",
    "geo_mean_lower",
    "geo_mean_upper",
)
#: Statistics of the natural log of the variable: defined only where every value of a
#: group is positive.
LOG_STATS: tuple[str, ...] = (
    "mean_log",
    "sd_log",
    "geo_mean",
    "geo_mean_lower",
    "geo_mean_upper",
)
#: Variables on a ratio scale (positive by nature), which have geometric statistics.
#: A change or percent change from baseline can be zero or negative: it has none.
RATIO_SCALE: tuple[str, ...] = ("value", "fold_change")


@dataclass(frozen=True, kw_only=True)
class ImmunoSummaryResult(AnalysisResult):
    """Descriptive statistics of one immunomonitoring variable per group.

    Attributes
    ----------
    table : pandas.DataFrame
        Long frame: the group columns, ``stat`` and ``value``.
    by : tuple of str
        Group columns.
    variable : str
        Summarised variable (``value``, ``change``, ``pct_change`` or
        ``fold_change``).
    lloq_rule : str
        How results below the LLOQ entered.
    ci_level : float
        Confidence level of the geometric-mean interval.
    footnotes : tuple of str
        Definitions that change a number (here: when the geometric statistics are
        missing, and why), to print under a table of the result.
    """

    table: pd.DataFrame
    by: tuple[str, ...]
    variable: str
    lloq_rule: str
    ci_level: float
    footnotes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Return the long, unrounded frame (group columns, ``stat``, ``value``).

        Returns
        -------
        pandas.DataFrame
            One row per group and statistic.
        """
        return self.table.copy()

    def _repr_html_(self) -> str:
        notes = "".join(
            f"<p><small>{html.escape(note)}</small></p>" for note in self.footnotes
        )
        return super()._repr_html_() + notes


def _plain_stats(
    grouped: DataFrameGroupBy, *, ci_level: float, quantile_method: str
) -> pd.DataFrame:
    x = grouped["_x"]
    lg = grouped["_log"]
    res = pd.DataFrame(
        {
            "n": x.count().astype(float),
            "n_below_lloq": grouped["_below"].sum().astype(float),
            "mean": x.mean(),
            "sd": x.std(ddof=1),
            "median": x.median(),
            "q1": x.quantile(0.25, interpolation=quantile_method),
            "q3": x.quantile(0.75, interpolation=quantile_method),
            "min": x.min(),
            "max": x.max(),
            "mean_log": lg.mean(),
            "sd_log": lg.std(ddof=1),
        }
    )
    # the log statistics are kept only where they cover all n values (see
    # _geometric_undefined), so the interval has n - 1 degrees of freedom
    n = res["n"]
    with np.errstate(invalid="ignore", divide="ignore"):
        tcrit = stats.t.ppf(0.5 + ci_level / 2, n - 1)
        half = tcrit * res["sd_log"] / np.sqrt(n)
    res["geo_mean"] = np.exp(res["mean_log"])
    res["geo_mean_lower"] = np.exp(res["mean_log"] - half)
    res["geo_mean_upper"] = np.exp(res["mean_log"] + half)
    return res


def _geometric_undefined(grouped: DataFrameGroupBy, geometric: bool) -> np.ndarray:
    """Return, per group, whether its geometric statistics are undefined.

    They are undefined for every group of a variable that is not on a ratio scale,
    and for a group with a zero or negative value: its log statistics would describe
    fewer values than its n.
    """
    smallest = grouped["_x"].min().to_numpy(dtype=float)
    if not geometric:
        return np.ones(len(smallest), dtype=bool)
    return ~(smallest > 0)


def _geometric_note(variable: str, *, geometric: bool, censored: bool) -> str:
    """Return the footnote saying on what the geometric statistics are computed."""
    names = "mean_log, sd_log, geo_mean and its interval"
    if not geometric:
        return (
            f"Geometric statistics ({names}) are not computed for {variable}: a "
            "change from baseline can be zero or negative and has no logarithm; "
            "summarise fold_change for a geometric summary of the change."
        )
    moments = " and, under lloq_rule 'censored', its mean and SD" if censored else ""
    return (
        f"Geometric statistics ({names}) are computed on the natural log of all n "
        f"values of a group; a group with a zero or negative {variable} has none"
        f"{moments} (missing)."
    )


def _tobit_stats(
    frame: pd.DataFrame, by: list[str], *, ci_level: float
) -> pd.DataFrame:
    zcrit = float(stats.norm.ppf(0.5 + ci_level / 2))
    rows = []
    for key, part in frame.groupby(by, sort=False, dropna=False, observed=True):
        fit = estimate_censored_normal(part["_log"], part["_below"])
        mu, s, se = fit.mean, fit.sd, fit.se_mean
        mean = np.exp(mu + s**2 / 2)
        rows.append(
            {
                **dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
                "mean": mean,
                "sd": mean * np.sqrt(np.expm1(s**2)),
                "mean_log": mu,
                "sd_log": s,
                "geo_mean": np.exp(mu),
                "geo_mean_lower": np.exp(mu - zcrit * se),
                "geo_mean_upper": np.exp(mu + zcrit * se),
            }
        )
    return pd.DataFrame(rows).set_index(by)


def _to_long(res: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Melt a one-row-per-group statistics frame, keeping group and stat order."""
    wide = res[list(STATS)].reset_index()
    wide["_group"] = np.arange(len(wide))
    long = wide.melt(id_vars=[*cols, "_group"], var_name="stat", value_name="value")
    order = {s: i for i, s in enumerate(STATS)}
    long["_stat"] = long["stat"].map(order)
    long = long.sort_values(["_group", "_stat"], kind="stable")
    return long.drop(columns=["_group", "_stat"]).reset_index(drop=True)


def summarize_immunomonitoring(
    data: pd.DataFrame,
    by: Sequence[str] = ("dose_level", "visit"),
    *,
    variable: Variable = "value",
    lloq_rule: LloqRule = "lloq_half",
    uloq_rule: UloqRule = "uloq",
    ci_level: float = 0.95,
    quantile_method: Literal[
        "linear", "lower", "higher", "midpoint", "nearest"
    ] = "linear",
) -> ImmunoSummaryResult:
    """Summarise an immunomonitoring variable per group (e.g. dose level x visit).

    Statistics: n, n below LLOQ, mean, SD (n - 1), median, Q1, Q3, min, max, mean and
    SD of the natural log, geometric mean with a ``ci_level`` confidence interval.
    Results of different analytes are never pooled: ``assay``, ``analyte`` and
    ``unit`` are always added to the group columns when present.

    Every statistic describes the same n values. The log statistics (mean and SD of
    the log, geometric mean and its interval) are therefore computed only for the
    ratio-scale variables ``value`` and ``fold_change``, and are missing for a group
    with a zero or negative value. A ``change`` or ``pct_change`` from baseline can
    be zero or negative: its log statistics are missing for every group (summarise
    ``fold_change`` for a geometric summary of the change). The result's
    ``footnotes`` and the provenance parameter ``geometric_stats`` say so.

    Parameters
    ----------
    data : pandas.DataFrame
        Immunomonitoring rows with the group columns joined (see
        :func:`~analyses.immunomonitoring.derive_groups`). For ``variable="value"`` the
        raw domain rows suffice; for the change variables use the output of
        :func:`~analyses.immunomonitoring.derive_change_from_baseline`.
    by : sequence of str, default ("dose_level", "visit")
        Group columns, e.g. ``("route", "visit")``.
    variable : {"value", "change", "pct_change", "fold_change"}, default "value"
        Variable summarised.
    lloq_rule : {"lloq_half", "lloq", "censored"}, default "lloq_half"
        Results below the LLOQ. With ``"lloq_half"`` / ``"lloq"`` they are replaced by
        LLOQ/2 / LLOQ and every statistic is computed on the replaced values; the
        geometric-mean interval is the t interval of the mean log. With ``"censored"``
        (``variable="value"`` only; fewer than two results above the LLOQ give
        missing means) the mean and SD of the log are the maximum
        likelihood estimates of a left-censored normal (Tobit) on the log scale, the
        geometric-mean interval is the Wald interval ``exp(mu +/- z * se)``, and the
        arithmetic mean and SD are the log-normal moments ``exp(mu + s^2/2)`` and
        ``mean * sqrt(exp(s^2) - 1)``; median, quartiles, min and max use the LLOQ in
        place of censored results (exact wherever they fall above the LLOQ). For
        change variables the rule must match the one used to derive them.
    uloq_rule : {"uloq", "keep"}, default "uloq"
        Results above the ULOQ become the ULOQ or keep their value.
    ci_level : float, default 0.95
        Confidence level of the geometric-mean interval.
    quantile_method : str, default "linear"
        Quantile interpolation (``"linear"`` is R type 7).

    Returns
    -------
    ImmunoSummaryResult
        Long frame of statistics per group.
    """
    group_cols = [
        c for c in ("assay", "analyte", "unit") if c in data.columns and c not in by
    ]
    cols = [*group_cols, *by]
    frame = data.reset_index(drop=True)
    time_col = next((c for c in ("study_day", "collection_date") if c in frame), None)
    if time_col is not None:
        frame = frame.sort_values(time_col, kind="stable").reset_index(drop=True)
    if variable == "value":
        below = compute_below_lloq(frame["value"], frame["lloq"])
        uloq = frame["uloq"] if "uloq" in frame.columns else None
        x = compute_lloq_imputed(
            frame["value"], frame["lloq"], uloq, rule=lloq_rule, uloq_rule=uloq_rule
        )
    else:
        if lloq_rule == "censored":
            raise ValueError("lloq_rule='censored' applies to variable='value' only")
        if "lloq_rule" in frame.columns and (frame["lloq_rule"] != lloq_rule).any():
            raise ValueError(
                f"{variable} was derived under another LLOQ rule than {lloq_rule!r}"
            )
        x = frame[variable].astype(float)
        below = frame["below_lloq"].astype(bool)
    work = frame[cols].copy()
    work["_x"] = x.to_numpy()
    work["_below"] = below.to_numpy()
    work = work.loc[work["_x"].notna()]
    geometric = variable in RATIO_SCALE
    censored = lloq_rule == "censored"
    if geometric:
        work["_log"] = np.log(work["_x"].where(work["_x"] > 0))
    else:  # a change can be zero or negative: no log scale
        work["_log"] = np.nan
    grouped = work.groupby(cols, sort=False, dropna=False, observed=True)
    res = _plain_stats(grouped, ci_level=ci_level, quantile_method=quantile_method)
    log_based = list(LOG_STATS)
    if censored:
        tob = _tobit_stats(work, cols, ci_level=ci_level)
        for col in tob.columns:  # NaN where the censored fit is not estimable
            res[col] = tob[col].reindex(res.index).to_numpy()
        log_based = list(tob.columns)  # the mean and SD come from the log fit too
    # geometric statistics describe all n values of their group or are missing
    res.loc[_geometric_undefined(grouped, geometric), log_based] = np.nan
    note = _geometric_note(variable, geometric=geometric, censored=censored)
    long = _to_long(res, cols)
    prov = make_provenance(
        "summarize_immunomonitoring",
        inputs={"data": data},
        by=list(by),
        variable=variable,
        lloq_rule=lloq_rule,
        uloq_rule=uloq_rule,
        ci_level=ci_level,
        quantile_method=quantile_method,
        upstream=derivation_rules(data) if variable != "value" else {},
        geometric_stats=(
            "all n values, missing for a group with a value <= 0"
            if geometric
            else f"not computed: {variable} can be <= 0"
        ),
    )
    return ImmunoSummaryResult(
        provenance=prov,
        table=long,
        by=tuple(by),
        variable=variable,
        lloq_rule=lloq_rule,
        ci_level=ci_level,
        footnotes=(note,),
    )
