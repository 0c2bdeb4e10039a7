"""Kaplan-Meier estimates by group, with R ``survival`` conventions.

Survival, Greenwood standard error and pointwise confidence intervals ("log" as R's
default, "log-log" as SAS and lifelines, or "plain"), number at risk (subjects with
time >= t, as R's ``n.risk``), landmark rates carried forward beyond the last
follow-up (R ``extend=TRUE``), medians and quantiles with confidence intervals by R's
``print.survfit`` or ``quantile.survfit`` rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analyses._results import AnalysisResult, make_provenance
from analyses.survival._data import combine_by, extract_survival, select_parameter
from analyses.survival._km_core import (
    ConfType,
    QuantileRule,
    confint,
    km_table,
    quantile_findq,
    quantile_minmin,
    rmst_from_table,
    surv_at,
)

__all__ = ["KaplanMeierResult", "estimate_follow_up", "estimate_kaplan_meier"]

ALL = "all"


@dataclass(frozen=True, kw_only=True)
class KaplanMeierResult(AnalysisResult):
    """Kaplan-Meier curves, one per group.

    Attributes
    ----------
    by : str or None
        Grouping column (None: one curve labelled ``"all"``).
    group_column : str
        Name of the group column in every frame this result returns.
    tables : Mapping[object, pandas.DataFrame]
        Per group: ``time, n_risk, n_event, n_censor, surv, std_err, lower, upper``
        at every distinct time (events and censorings).
    conf_type : str
        Confidence-interval transform.
    conf_level : float
        Confidence level.
    n_dropped : int
        Rows dropped for a missing time, status or group.
    """

    by: str | None
    group_column: str
    tables: Mapping[object, pd.DataFrame]
    conf_type: ConfType
    conf_level: float
    n_dropped: int = 0

    @property
    def groups(self) -> list[object]:
        """Group labels in order."""
        return list(self.tables)

    def survival_at(self, times: Iterable[float]) -> pd.DataFrame:
        """Return landmark survival at chosen times (R ``summary(fit, times=)``).

        Parameters
        ----------
        times : iterable of float
            Times in the analysis unit (sorted, repeats dropped). Beyond the last
            follow-up the last estimate is carried forward (R; SAS reports these as
            not estimable) and ``n_risk`` is 0.

        Returns
        -------
        pandas.DataFrame
            One row per group and time: ``n_risk`` (time >= t), ``n_event`` and
            ``n_censor`` since the previous requested time, ``surv``, ``std_err``,
            ``lower``, ``upper``, ``conf_type``, ``conf_level``.
        """
        t = np.unique(np.asarray(list(times), dtype=float))  # sorted, no repeats
        rows = []
        for label, table in self.tables.items():
            looked = surv_at(table, t, ["surv", "std_err", "lower", "upper"])
            times_all = table["time"].to_numpy()
            risk_end = np.concatenate([table["n_risk"].to_numpy(), [0.0]])
            n_risk = risk_end[np.searchsorted(times_all, t, side="left")]
            cum_event = np.concatenate([[0.0], table["n_event"].cumsum().to_numpy()])
            cum_cens = np.concatenate([[0.0], table["n_censor"].cumsum().to_numpy()])
            upto = np.searchsorted(times_all, t, side="right")
            ev = cum_event[upto]
            ce = cum_cens[upto]
            frame = pd.DataFrame(
                {
                    self.group_column: label,
                    "time": t,
                    "n_risk": n_risk,
                    "n_event": np.diff(np.concatenate([[0.0], ev])),
                    "n_censor": np.diff(np.concatenate([[0.0], ce])),
                }
            )
            rows.append(pd.concat([frame, looked], axis=1))
        out = pd.concat(rows, ignore_index=True)
        out["conf_type"] = self.conf_type
        out["conf_level"] = self.conf_level
        return out

    def number_at_risk(self, times: Iterable[float]) -> pd.DataFrame:
        """Return the number at risk (time >= t, R's ``n.risk``) by group and time.

        Parameters
        ----------
        times : iterable of float
            Times.

        Returns
        -------
        pandas.DataFrame
            Groups as rows, times as columns.
        """
        at = self.survival_at(times)
        wide = at.pivot(index=self.group_column, columns="time", values="n_risk")
        return wide.reindex(self.groups).astype(int)

    def quantile(
        self,
        probs: Sequence[float] = (0.25, 0.5, 0.75),
        *,
        rule: QuantileRule = "quantile",
    ) -> pd.DataFrame:
        """Quantiles of the event-time distribution with confidence intervals.

        Parameters
        ----------
        probs : sequence of float
            Probabilities (0.5 = median: the time S falls to 0.5).
        rule : {"quantile", "table"}
            ``"quantile"``: R ``quantile.survfit`` (a flat stretch exactly at the
            level gives the midpoint of its start and the next drop, or of its
            start and the last follow-up when the curve ends on it).
            ``"table"``: R ``print.survfit`` (midpoint only when a later drop
            exists; otherwise the start of the flat). The CI limits are where the
            pointwise band crosses the level, by the same rule; NaN = not reached.

        Returns
        -------
        pandas.DataFrame
            ``group, prob, estimate, lower, upper, conf_type, conf_level, rule``.
        """
        if rule not in ("quantile", "table"):
            raise ValueError(f"rule must be 'quantile' or 'table', got {rule!r}")
        rows = []
        for label, table in self.tables.items():
            x = table["time"].to_numpy()
            for p in probs:
                if rule == "quantile":
                    est = quantile_findq(x, table["surv"].to_numpy(), p)
                    lo = quantile_findq(x, table["lower"].to_numpy(), p)
                    hi = quantile_findq(x, table["upper"].to_numpy(), p)
                else:
                    est = quantile_minmin(x, table["surv"].to_numpy(), p)
                    lo = quantile_minmin(x, table["lower"].to_numpy(), p)
                    hi = quantile_minmin(x, table["upper"].to_numpy(), p)
                rows.append(
                    {
                        self.group_column: label,
                        "prob": float(p),
                        "estimate": est,
                        "lower": lo,
                        "upper": hi,
                    }
                )
        out = pd.DataFrame(rows)
        out["conf_type"] = self.conf_type
        out["conf_level"] = self.conf_level
        out["rule"] = rule
        return out

    def median(self, *, rule: QuantileRule = "table") -> pd.DataFrame:
        """Median survival with its confidence interval, as R prints it.

        Parameters
        ----------
        rule : {"table", "quantile"}
            ``"table"`` (default): R ``print.survfit`` / ``summary(fit)$table``.
            ``"quantile"``: R ``quantile(fit, 0.5)``; they differ only when the curve
            ends on a flat stretch exactly at 0.5.

        Returns
        -------
        pandas.DataFrame
            ``group, n, events, median, lower, upper, conf_type, conf_level, rule``.
        """
        q = self.quantile([0.5], rule=rule)
        counts = self._counts()
        out = counts.merge(
            q.drop(columns=["prob"]).rename(columns={"estimate": "median"}),
            on=self.group_column,
        )
        return out

    def rmst(self, tau: float) -> pd.DataFrame:
        """Restricted mean survival time up to ``tau`` with R's standard error.

        Parameters
        ----------
        tau : float
            Restriction time.

        Returns
        -------
        pandas.DataFrame
            ``group, tau, rmst, se`` (R ``print(fit, rmean=tau)``).
        """
        rows = []
        for label, table in self.tables.items():
            est, se = rmst_from_table(table, tau)
            rows.append({self.group_column: label, "tau": tau, "rmst": est, "se": se})
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """Return the display table: n, events, median with CI and quartiles per group.

        Returns
        -------
        pandas.DataFrame
            One row per group; the CI transform and median rule are columns.
        """
        med = self.median()
        q = self.quantile([0.25, 0.75])
        g = self.group_column
        for p, name in ((0.25, "q25"), (0.75, "q75")):
            sub = q[q["prob"] == p][[g, "estimate"]].rename(columns={"estimate": name})
            med = med.merge(sub, on=g)
        return med

    def _counts(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                self.group_column: self.groups,
                "n": [
                    int(t["n_event"].sum() + t["n_censor"].sum())
                    for t in self.tables.values()
                ],
                "events": [int(t["n_event"].sum()) for t in self.tables.values()],
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the long analysis-results frame.

        Returns
        -------
        pandas.DataFrame
            Columns: group column, ``time`` (NaN for whole-curve statistics),
            ``stat`` and ``value``. Whole-curve statistics: ``n``, ``events``,
            ``median``/``median_lcl``/``median_ucl`` (print.survfit rule),
            ``q25``/``q75`` with ``_lcl``/``_ucl`` (quantile.survfit rule). Per time:
            ``n_risk``, ``n_event``, ``n_censor``, ``surv``, ``std_err``, ``lower``,
            ``upper``.
        """
        parts = []
        g = self.group_column
        counts = self._counts().melt(id_vars=g, var_name="stat", value_name="value")
        parts.append(counts)
        med = self.median().set_index(g)[["median", "lower", "upper"]]
        med.columns = ["median", "median_lcl", "median_ucl"]
        parts.append(med.reset_index().melt(id_vars=g, var_name="stat"))
        q = self.quantile([0.25, 0.75])
        for p, name in ((0.25, "q25"), (0.75, "q75")):
            sub = q[q["prob"] == p].set_index(g)[["estimate", "lower", "upper"]]
            sub.columns = [name, f"{name}_lcl", f"{name}_ucl"]
            parts.append(sub.reset_index().melt(id_vars=g, var_name="stat"))
        whole = pd.concat(parts, ignore_index=True)
        whole.insert(1, "time", np.nan)
        curves = []
        cols = ["n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper"]
        for label, table in self.tables.items():
            long = table[["time", *cols]].melt(
                id_vars="time", var_name="stat", value_name="value"
            )
            long.insert(0, g, [label] * len(long))
            curves.append(long)
        out = pd.concat([whole, *curves], ignore_index=True)
        out["value"] = out["value"].astype(float)
        return out[[g, "time", "stat", "value"]]


def estimate_kaplan_meier(
    data: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    *,
    time: str = "AVAL",
    cnsr: str | None = "CNSR",
    event: str | None = None,
    paramcd: str | None = None,
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
) -> KaplanMeierResult:
    """Estimate Kaplan-Meier curves, optionally by group.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject, e.g. an ADTTE frame from :func:`derive_adtte`.
    by : str or sequence of str, optional
        Grouping column (arm, route, dose level).
        Several columns are crossed (e.g. ``["route", "dose_level"]``) into one
        grouping column named ``"route / dose_level"``.
    time : str
        Time column (default ``"AVAL"``).
    cnsr : str or None
        ADaM censoring column (0 = event); used when ``event`` is None.
    event : str, optional
        Event-indicator column (1 = event) instead of ``cnsr``.
    conf_type : {"log", "log-log", "plain"}
        Pointwise CI transform. Default ``"log"`` as R ``survfit``; SAS PROC LIFETEST
        and lifelines use ``"log-log"``.
    conf_level : float
        Confidence level (default 0.95).
    paramcd : str, optional
        ADTTE parameter to analyse (``"PFS"``, ``"OS"``, ...) when the frame holds
        several; required then.

    Returns
    -------
    KaplanMeierResult
        Curves with survival, Greenwood SE and CIs at every distinct time.

    Examples
    --------
    ``km = estimate_kaplan_meier(adtte, by="route", conf_type="log-log")``, then
    ``km.median()``, ``km.survival_at([180, 365])``, ``km.quantile()``.
    """
    if conf_type not in ("log", "log-log", "plain"):
        raise ValueError(
            f"conf_type must be 'log', 'log-log' or 'plain', got {conf_type!r}"
        )
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")
    data = select_parameter(data, paramcd)
    frame, by_name = combine_by(data, by)
    sd = extract_survival(frame, time=time, event=event, cnsr=cnsr, by=by_name)
    tables: dict[object, pd.DataFrame] = {}
    if sd.group is None:
        parts: list[tuple[object, np.ndarray]] = [(ALL, np.ones(sd.time.size, bool))]
    else:
        parts = [(lab, sd.group == i) for i, lab in enumerate(sd.group_labels)]
    for label, mask in parts:
        table = km_table(sd.time[mask], sd.event[mask])
        se, lo, hi = confint(
            table["surv"].to_numpy(),
            table["greenwood"].to_numpy(),
            conf_type,
            conf_level,
        )
        table["std_err"] = se
        table["lower"] = lo
        table["upper"] = hi
        tables[label] = table
    provenance = make_provenance(
        "estimate_kaplan_meier",
        inputs={"data": data},
        paramcd=paramcd,
        by=by if by is None or isinstance(by, str) else list(by),
        time=time,
        cnsr=cnsr,
        event=event,
        conf_type=conf_type,
        conf_level=conf_level,
        n_risk="number with time >= t (R n.risk)",
        median_rule="R print.survfit (table); quartiles R quantile.survfit",
    )
    return KaplanMeierResult(
        provenance=provenance,
        by=by_name,
        group_column=by_name or "group",
        tables=tables,
        conf_type=conf_type,
        conf_level=conf_level,
        n_dropped=sd.n_dropped,
    )


def estimate_follow_up(
    data: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    *,
    time: str = "AVAL",
    cnsr: str | None = "CNSR",
    event: str | None = None,
    paramcd: str | None = None,
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
) -> KaplanMeierResult:
    """Estimate follow-up by the reverse Kaplan-Meier method (censoring as the event).

    The median of the returned curves (``.median()``) is the usual "median
    follow-up" of trial reports (R ``survfit(Surv(time, status == 0) ~ 1)``).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject (usually the OS rows of an ADTTE frame).
    by : str or sequence of str, optional
        Grouping column(s).
        Several columns are crossed (e.g. ``["route", "dose_level"]``) into one
        grouping column named ``"route / dose_level"``.
    time, cnsr, event : str
        Time column and either the ADaM ``CNSR`` column (0 = event) or an event column.
    paramcd : str, optional
        ADTTE parameter to use when the frame holds several.
    conf_type : {"log", "log-log", "plain"}
        Pointwise CI transform (default ``"log"``, R).
    conf_level : float
        Confidence level.

    Returns
    -------
    KaplanMeierResult
        Curves of the probability of still being followed.
    """
    data = select_parameter(data, paramcd)
    frame, by_name = combine_by(data, by)
    status_col = event if event is not None else cnsr
    if status_col is None:
        raise ValueError(
            "give either event= (1 = event) or cnsr= (ADaM CNSR, 0 = event)"
        )
    status = data[status_col].astype(float)
    censored = (status == 0) if event is not None else (status != 0)
    flipped = frame.assign(_followed_=censored.where(status.notna()).astype(float))
    result = estimate_kaplan_meier(
        flipped,
        by_name,
        time=time,
        event="_followed_",
        cnsr=None,
        conf_type=conf_type,
        conf_level=conf_level,
    )
    provenance = make_provenance(
        "estimate_follow_up",
        inputs={"data": data},
        by=by if by is None or isinstance(by, str) else list(by),
        time=time,
        cnsr=cnsr,
        event=event,
        paramcd=paramcd,
        conf_type=conf_type,
        conf_level=conf_level,
        method="reverse Kaplan-Meier",
    )
    return replace(result, provenance=provenance)
