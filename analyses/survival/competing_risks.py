"""Cumulative incidence of competing events and Gray's test, with R conventions.

When subjects can fail from several causes (in AML: relapse, and death without
relapse), the probability of failing from one cause by time t is its cumulative
incidence, estimated by Aalen-Johansen. One minus the Kaplan-Meier curve of that
cause, censoring the others, overstates it: it treats subjects who died as if they
could still relapse.

- :func:`estimate_cumulative_incidence`: Aalen-Johansen estimates per cause and
  group, with standard errors and pointwise confidence intervals exactly as R
  ``survfit(Surv(time, factor(status)) ~ group)`` for a multi-state status
  (``pstate``, ``std.err`` by the infinitesimal jackknife, ``conf.type = "log"``);
  Gray's delta-method standard errors (``cmprsk::cuminc``) and the other R
  transforms are named alternatives.
- :func:`compare_cumulative_incidence`: Gray's test per cause, as
  ``cmprsk::cuminc`` (``rho``, strata).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analyses._results import AnalysisResult, make_provenance
from analyses.survival._aj_core import (
    AJConfType,
    AJVariance,
    aalen_johansen,
    survfit_confint,
)
from analyses.survival._competing_data import extract_competing
from analyses.survival._data import combine_by, select_parameter
from analyses.survival._gray_core import gray_scores
from analyses.survival._warnings import SmallSampleWarning

__all__ = [
    "INITIAL_STATE",
    "CumulativeIncidenceResult",
    "GrayTestResult",
    "compare_cumulative_incidence",
    "estimate_cumulative_incidence",
]

#: Name of the state "no event yet" (R ``survfit``'s name for the initial state).
INITIAL_STATE = "(s0)"
ALL = "all"
#: Reciprocal condition number below which Gray's variance matrix is singular.
SINGULAR_RCOND = 1e-7
_CONF_TYPES = ("log", "log-log", "plain", "logit", "arcsin", "none")
_VARIANCES = ("infinitesimal-jackknife", "gray")


@dataclass(frozen=True, kw_only=True)
class CumulativeIncidenceResult(AnalysisResult):
    """Aalen-Johansen cumulative incidence curves, one set per group.

    Attributes
    ----------
    by : str or None
        Grouping column (None: one set labelled ``"all"``).
    group_column : str
        Name of the group column in every frame this result returns.
    causes : tuple
        Cause labels in order.
    tables : Mapping[object, pandas.DataFrame]
        Per group, one row per distinct time (events and censorings) and state
        (:data:`INITIAL_STATE`, then each cause): ``time, state, n_risk, n_event,
        n_censor, estimate, std_err, lower, upper``. ``estimate`` is R's
        ``pstate``: the cumulative incidence of a cause, or the probability of no
        event yet for the initial state.
    variance : str
        ``"infinitesimal-jackknife"`` (R ``survfit``) or ``"gray"`` (``cmprsk``).
    conf_type : str
        Confidence-interval transform (R ``conf.type``).
    conf_level : float
        Confidence level.
    n_dropped : int
        Rows dropped for a missing time, status or group.
    """

    by: str | None
    group_column: str
    causes: tuple[object, ...]
    tables: Mapping[object, pd.DataFrame]
    variance: str
    conf_type: str
    conf_level: float
    n_dropped: int = 0

    @property
    def groups(self) -> list[object]:
        """Group labels in order."""
        return list(self.tables)

    @property
    def states(self) -> list[object]:
        """States in order: :data:`INITIAL_STATE`, then the causes."""
        return [INITIAL_STATE, *self.causes]

    def describe(self) -> str:
        """Return a one-line statement of the method and its conventions.

        Returns
        -------
        str
            Estimator, standard error, interval.
        """
        se = (
            "infinitesimal jackknife (R survfit)"
            if self.variance == "infinitesimal-jackknife"
            else "Gray's delta method (R cmprsk::cuminc)"
        )
        ci = (
            "no CI"
            if self.conf_type == "none"
            else f"{self.conf_level:.0%} pointwise CI, {self.conf_type} transform"
        )
        return f"Aalen-Johansen cumulative incidence; SE {se}; {ci}"

    def cumulative_incidence_at(self, times: Iterable[float]) -> pd.DataFrame:
        """Return the estimates at chosen times (R ``summary(fit, times=)``).

        Parameters
        ----------
        times : iterable of float
            Times in the analysis unit (sorted, repeats dropped). Before the first
            time the estimate is the start (1 for the initial state, 0 for a
            cause, standard error 0); beyond the last follow-up the last estimate is
            carried forward (R ``extend=TRUE``) and ``n_risk`` is 0.

        Returns
        -------
        pandas.DataFrame
            One row per group, state and time: ``n_risk`` (time >= t),
            ``estimate``, ``std_err``, ``lower``, ``upper``, ``conf_type``,
            ``conf_level``.
        """
        t = np.unique(np.asarray(list(times), dtype=float))
        rows = []
        for label, table in self.tables.items():
            for state in self.states:
                sub = table.loc[table["state"] == state]
                times_all = sub["time"].to_numpy()
                pos = np.searchsorted(times_all, t, side="right") - 1
                start = 1.0 if state == INITIAL_STATE else 0.0
                est = np.where(
                    pos >= 0, sub["estimate"].to_numpy()[np.maximum(pos, 0)], start
                )
                se = np.where(
                    pos >= 0, sub["std_err"].to_numpy()[np.maximum(pos, 0)], 0.0
                )
                lower, upper = survfit_confint(
                    est,
                    se,
                    self.conf_type,  # type: ignore[arg-type]
                    self.conf_level,
                )
                risk = np.concatenate([sub["n_risk"].to_numpy(), [0.0]])
                n_risk = risk[np.searchsorted(times_all, t, side="left")]
                rows.append(
                    pd.DataFrame(
                        {
                            self.group_column: [label] * t.size,
                            "state": [state] * t.size,
                            "time": t,
                            "n_risk": n_risk,
                            "estimate": est,
                            "std_err": se,
                            "lower": lower,
                            "upper": upper,
                        }
                    )
                )
        out = pd.concat(rows, ignore_index=True)
        out["conf_type"] = self.conf_type
        out["conf_level"] = self.conf_level
        return out

    def _counts(self) -> pd.DataFrame:
        rows = []
        for label, table in self.tables.items():
            first = table.loc[table["state"] == INITIAL_STATE]
            n = float(first["n_risk"].iloc[0]) if len(first) else 0.0
            for state in self.causes:
                sub = table.loc[table["state"] == state]
                last = sub.iloc[-1] if len(sub) else None
                rows.append(
                    {
                        self.group_column: label,
                        "state": state,
                        "n": n,
                        "n_event": float(sub["n_event"].sum()),
                        "last_time": float(last["time"])
                        if last is not None
                        else np.nan,
                        "estimate": float(last["estimate"])
                        if last is not None
                        else np.nan,
                        "lower": float(last["lower"]) if last is not None else np.nan,
                        "upper": float(last["upper"]) if last is not None else np.nan,
                    }
                )
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """Return the display table: one row per group and cause.

        Returns
        -------
        pandas.DataFrame
            ``<group>, cause, n, n_event, last_time`` and the cumulative incidence
            at the last follow-up time with its CI, then ``method``
            (:meth:`describe`). Use :meth:`cumulative_incidence_at` for landmarks.
        """
        out = self._counts().rename(columns={"state": "cause"})
        out["method"] = self.describe()
        return out

    def to_frame(self) -> pd.DataFrame:
        """Return the long analysis-results frame.

        Returns
        -------
        pandas.DataFrame
            ``<group>, state, time, stat, value``: per group and cause ``n`` and
            ``n_event`` (time NaN), then at every distinct time and state
            ``n_risk``, ``n_event``, ``n_censor``, ``estimate``, ``std_err``,
            ``lower``, ``upper``.
        """
        g = self.group_column
        counts = self._counts()[[g, "state", "n", "n_event"]]
        head = counts.melt(id_vars=[g, "state"], var_name="stat", value_name="value")
        head.insert(2, "time", np.nan)
        cols = ["n_risk", "n_event", "n_censor", "estimate", "std_err"]
        cols += ["lower", "upper"]
        curves = []
        for label, table in self.tables.items():
            long = table[["state", "time", *cols]].melt(
                id_vars=["state", "time"], var_name="stat", value_name="value"
            )
            long.insert(0, g, [label] * len(long))
            curves.append(long)
        out = pd.concat([head, *curves], ignore_index=True)
        out["value"] = out["value"].astype(float)
        return out[[g, "state", "time", "stat", "value"]]


def _check_conf(conf_type: str, conf_level: float, variance: str) -> None:
    if conf_type not in _CONF_TYPES:
        raise ValueError(f"conf_type must be one of {_CONF_TYPES}, got {conf_type!r}")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")
    if variance not in _VARIANCES:
        raise ValueError(f"variance must be one of {_VARIANCES}, got {variance!r}")


def estimate_cumulative_incidence(
    data: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    *,
    time: str = "AVAL",
    status: str = "CAUSE",
    cencode: object = "CENSORED",
    causes: Sequence[object] | None = None,
    paramcd: str | None = None,
    variance: AJVariance = "infinitesimal-jackknife",
    conf_type: AJConfType = "log",
    conf_level: float = 0.95,
) -> CumulativeIncidenceResult:
    """Estimate the cumulative incidence of competing causes, optionally by group.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject, e.g. from :func:`derive_competing_events`.
    by : str or sequence of str, optional
        Grouping column(s); several are crossed (``"route / dose_level"``).
    time : str
        Time column (default ``"AVAL"``).
    status : str
        Column holding ``cencode`` for a censored time and the cause otherwise
        (default ``"CAUSE"``, as :func:`derive_competing_events` writes it).
    cencode : object
        Status value of a censored time (default ``"CENSORED"``; R ``cmprsk``
        uses 0).
    causes : sequence, optional
        Causes in reporting order. Default: R's factor-level order (the categories
        of a categorical column, else the sorted observed values).
    paramcd : str, optional
        ADTTE parameter to analyse when the frame holds several.
    variance : {"infinitesimal-jackknife", "gray"}
        Standard error: the infinitesimal jackknife of R ``survfit`` (default,
        survival >= 3), or Gray's delta method of R ``cmprsk::cuminc`` (the
        initial state then gets the Greenwood standard error).
    conf_type : {"log", "log-log", "plain", "logit", "arcsin", "none"}
        Pointwise CI transform, as R ``survfit(conf.type=)`` (default ``"log"``;
        intervals of a probability 0 are NaN on the log scale, as R's NA).
    conf_level : float
        Confidence level (default 0.95).

    Returns
    -------
    CumulativeIncidenceResult
        Estimates, standard errors and intervals at every distinct time.

    Examples
    --------
    ``ci = estimate_cumulative_incidence(cr, by="dose_level")``, then
    ``ci.cumulative_incidence_at([180, 365])`` and ``ci.summary()``.
    """
    _check_conf(conf_type, conf_level, variance)
    data = select_parameter(data, paramcd)
    frame, by_name = combine_by(data, by)
    cd = extract_competing(
        frame, time=time, status=status, cencode=cencode, causes=causes, by=by_name
    )
    n_causes = len(cd.causes)
    states = [INITIAL_STATE, *cd.causes]
    parts: list[tuple[object, np.ndarray]]
    if cd.group is None:
        parts = [(ALL, np.ones(cd.time.size, bool))]
    else:
        parts = [(lab, cd.group == i) for i, lab in enumerate(cd.group_labels)]
    tables: dict[object, pd.DataFrame] = {}
    for label, mask in parts:
        curve = aalen_johansen(cd.time[mask], cd.cause[mask], n_causes, variance)
        lower, upper = survfit_confint(
            curve.pstate, curve.std_err, conf_type, conf_level
        )
        n_times = curve.time.size
        n_event = np.column_stack([np.zeros(n_times), curve.n_event])
        blocks = [
            pd.DataFrame(
                {
                    "time": curve.time,
                    "state": [state] * n_times,
                    "n_risk": curve.n_risk,
                    "n_event": n_event[:, j],
                    "n_censor": curve.n_censor,
                    "estimate": curve.pstate[:, j],
                    "std_err": curve.std_err[:, j],
                    "lower": lower[:, j],
                    "upper": upper[:, j],
                }
            )
            for j, state in enumerate(states)
        ]
        tables[label] = pd.concat(blocks, ignore_index=True)
    provenance = make_provenance(
        "estimate_cumulative_incidence",
        inputs={"data": data},
        paramcd=paramcd,
        by=by if by is None or isinstance(by, str) else list(by),
        time=time,
        status=status,
        cencode=cencode,
        causes=list(cd.causes),
        estimator="Aalen-Johansen (R survfit, multi-state status)",
        variance=variance,
        conf_type=conf_type,
        conf_level=conf_level,
        n_risk="number with time >= t (R n.risk)",
    )
    return CumulativeIncidenceResult(
        provenance=provenance,
        by=by_name,
        group_column=by_name or "group",
        causes=tuple(cd.causes),
        tables=tables,
        variance=variance,
        conf_type=conf_type,
        conf_level=conf_level,
        n_dropped=cd.n_dropped,
    )


@dataclass(frozen=True, kw_only=True)
class GrayTestResult(AnalysisResult):
    """Gray's test comparing the cumulative incidence of each cause between groups.

    Attributes
    ----------
    by : str
        Grouping column.
    groups : tuple
        Group labels.
    causes : tuple
        Causes tested (those observed), in order.
    n : tuple of int
        Subjects per group.
    events : Mapping[object, tuple of int]
        Per cause, its events per group.
    statistic : tuple of float
        Chi-square statistic per cause (NaN when the variance matrix is singular;
        R ``cuminc`` reports -1 then).
    df : int
        Degrees of freedom (groups - 1).
    p_value : tuple of float
        Chi-square p-value per cause.
    rho : float
        Power of the weight ``(1 - F(t-))^rho``.
    strata : tuple of str
        Stratification columns (empty: unstratified).
    min_events : int
        Threshold below which a cause is flagged in ``few_events``.
    few_events : tuple of bool
        Per cause, whether its events are fewer than ``min_events``.
    n_dropped : int
        Rows dropped for a missing value.
    """

    by: str
    groups: tuple[object, ...]
    causes: tuple[object, ...]
    n: tuple[int, ...]
    events: Mapping[object, tuple[int, ...]]
    statistic: tuple[float, ...]
    df: int
    p_value: tuple[float, ...]
    rho: float
    strata: tuple[str, ...]
    min_events: int
    few_events: tuple[bool, ...]
    n_dropped: int = 0

    def describe(self, cause: object | None = None) -> str:
        """Return a one-line statement of the test (one cause, or all).

        Parameters
        ----------
        cause : object, optional
            The cause to describe; default every cause, separated by ``"; "``.

        Returns
        -------
        str
            E.g. ``"Gray's test (rho=0) of relapse: chi2 = 3.2 on 2 df, p = 0.2"``.
        """
        strat = f", stratified by {', '.join(self.strata)}" if self.strata else ""
        parts = []
        for i, c in enumerate(self.causes):
            if cause is not None and c != cause:
                continue
            parts.append(
                f"Gray's test (rho={self.rho:g}){strat} of {c}: chi2 = "
                f"{self.statistic[i]:.4g} on {self.df} df, p = {self.p_value[i]:.4g}"
            )
        return "; ".join(parts)

    def summary(self) -> pd.DataFrame:
        """Return the display table: one row per cause.

        Returns
        -------
        pandas.DataFrame
            ``cause, events, chisq, df, p_value, test``.
        """
        return pd.DataFrame(
            {
                "cause": list(self.causes),
                "events": [int(sum(self.events[c])) for c in self.causes],
                "chisq": list(self.statistic),
                "df": self.df,
                "p_value": list(self.p_value),
                "test": [self.describe(c) for c in self.causes],
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the long analysis-results frame.

        Returns
        -------
        pandas.DataFrame
            ``<by>, cause, stat, value``: per group ``n`` (cause None) and
            ``events`` per cause; per cause (group None) ``chisq``, ``df``,
            ``p_value``.
        """
        rows: list[tuple[object, object, str, float]] = []
        for i, g in enumerate(self.groups):
            rows.append((g, None, "n", float(self.n[i])))
            for c in self.causes:
                rows.append((g, c, "events", float(self.events[c][i])))
        for i, c in enumerate(self.causes):
            rows += [
                (None, c, "chisq", self.statistic[i]),
                (None, c, "df", float(self.df)),
                (None, c, "p_value", self.p_value[i]),
            ]
        return pd.DataFrame(rows, columns=[self.by, "cause", "stat", "value"])


def _quadratic_form(s: np.ndarray, v: np.ndarray) -> float:
    """``s' v^{-1} s``, NaN when ``v`` is singular (R ``cuminc``: rank < ncol)."""
    sv = np.linalg.svd(v, compute_uv=False)
    if sv.size == 0 or not np.all(np.isfinite(sv)) or sv[-1] <= SINGULAR_RCOND * sv[0]:
        return float("nan")
    return float((s * np.linalg.solve(v, s)).sum())


def compare_cumulative_incidence(
    data: pd.DataFrame,
    by: str | Sequence[str],
    *,
    time: str = "AVAL",
    status: str = "CAUSE",
    cencode: object = "CENSORED",
    causes: Sequence[object] | None = None,
    strata: str | Sequence[str] | None = None,
    rho: float = 0.0,
    paramcd: str | None = None,
    min_events: int = 10,
) -> GrayTestResult:
    """Compare the cumulative incidence of each cause between groups (Gray's test).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject.
    by : str or sequence of str
        Grouping column (k >= 2 groups); several are crossed.
    time, status, cencode, causes
        As :func:`estimate_cumulative_incidence`.
    strata : str or sequence of str, optional
        Stratification column(s): scores and variances are summed over strata, as
        ``cmprsk::cuminc(strata=)``.
    rho : float
        Power of the weight ``(1 - F(t-))^rho`` (default 0, ``cmprsk``'s; larger
        values weight early differences more).
    paramcd : str, optional
        ADTTE parameter to analyse when the frame holds several.
    min_events : int
        A cause with fewer events is flagged in ``few_events`` and a
        :class:`SmallSampleWarning` issued (default 10).

    Returns
    -------
    GrayTestResult
        Statistic, df and p-value per observed cause.
    """
    data = select_parameter(data, paramcd)
    frame, by_name = combine_by(data, by)
    assert by_name is not None
    cd = extract_competing(
        frame,
        time=time,
        status=status,
        cencode=cencode,
        causes=causes,
        by=by_name,
        strata=strata,
    )
    assert cd.group is not None
    k = len(cd.group_labels)
    if k < 2:
        raise ValueError(f"column {by!r} has fewer than two groups")
    observed = [i + 1 for i in range(len(cd.causes)) if (cd.cause == i + 1).any()]
    stat: list[float] = []
    events: dict[object, tuple[int, ...]] = {}
    for code in observed:
        label = cd.causes[code - 1]
        coded = np.where(cd.cause == 0, 0, np.where(cd.cause == code, 1, 2))
        s, v = gray_scores(cd.time, coded, cd.group, k, cd.strata, rho)
        stat.append(_quadratic_form(s, v))
        counts = np.bincount(cd.group[cd.cause == code], minlength=k)
        events[label] = tuple(int(x) for x in counts)
    tested = tuple(cd.causes[c - 1] for c in observed)
    p_values = tuple(
        float(stats.chi2.sf(x, k - 1)) if np.isfinite(x) else float("nan") for x in stat
    )
    few = tuple(sum(events[c]) < min_events for c in tested)
    if any(few):
        low = [c for c, f in zip(tested, few, strict=True) if f]
        warnings.warn(
            f"fewer than min_events={min_events} events of {low}: the chi-square "
            "approximation of Gray's test may be poor",
            SmallSampleWarning,
            stacklevel=2,
        )
    strata_cols = [strata] if isinstance(strata, str) else list(strata or [])
    provenance = make_provenance(
        "compare_cumulative_incidence",
        inputs={"data": data},
        paramcd=paramcd,
        by=by if isinstance(by, str) else list(by),
        time=time,
        status=status,
        cencode=cencode,
        causes=list(cd.causes),
        strata=strata_cols,
        rho=rho,
        min_events=min_events,
        test="Gray (1988), R cmprsk::cuminc",
    )
    return GrayTestResult(
        provenance=provenance,
        by=by_name,
        groups=tuple(cd.group_labels),
        causes=tested,
        n=tuple(int(x) for x in np.bincount(cd.group, minlength=k)),
        events=events,
        statistic=tuple(stat),
        df=k - 1,
        p_value=p_values,
        rho=float(rho),
        strata=tuple(strata_cols),
        min_events=min_events,
        few_events=few,
        n_dropped=cd.n_dropped,
    )
