"""Restricted mean survival time (RMST) by group and its between-group difference.

The RMST up to ``tau`` is the area under the Kaplan-Meier curve from 0 to ``tau``;
its standard error is the Greenwood-type estimator of R ``print(survfit, rmean=tau)``
(Klein & Moeschberger 4.5), not lifelines' ``return_variance`` (which returns
Var(min(T, tau)), lifelines issue #1682). The difference between two groups uses
independent samples: se = sqrt(se_A^2 + se_B^2), normal CI and two-sided z-test, as
survRM2's ``rmst2`` unadjusted difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analyses._results import AnalysisResult, make_provenance
from analyses.survival._data import combine_by, extract_survival, select_parameter
from analyses.survival._km_core import km_table, rmst_from_table

__all__ = ["RmstResult", "estimate_rmst"]


@dataclass(frozen=True, kw_only=True)
class RmstResult(AnalysisResult):
    """RMST per group and differences against a reference group.

    Attributes
    ----------
    by : str or None
        Grouping column.
    tau : float
        Restriction time.
    conf_level : float
        Level of the normal confidence intervals.
    reference : object
        Reference group of the differences (difference = group - reference).
    estimates : pandas.DataFrame
        ``group, tau, rmst, se, lower, upper, tau_beyond_follow_up`` (True when tau
        is after the group's last time: the curve is then carried flat to tau, as
        R does; survRM2 refuses such a tau).
    differences : pandas.DataFrame
        ``group, reference, difference, se, lower, upper, z, p_value``.
    """

    by: str | None
    tau: float
    conf_level: float
    reference: object
    estimates: pd.DataFrame
    differences: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """Return per-group RMST with, on each non-reference row, its difference.

        Returns
        -------
        pandas.DataFrame
            ``estimates`` joined with the difference columns (suffix ``_diff``).
        """
        diff = self.differences.drop(columns=["reference"]).add_suffix("_diff")
        diff = diff.rename(columns={"group_diff": "group"})
        return self.estimates.merge(diff, on="group", how="left")

    def to_frame(self) -> pd.DataFrame:
        """Return the long analysis-results frame.

        Returns
        -------
        pandas.DataFrame
            ``group, contrast, stat, value``: per-group rows have ``contrast`` None;
            difference rows have ``contrast = "<group> - <reference>"``.
        """
        g = self.by or "group"
        est = self.estimates.rename(columns={"group": g}).melt(
            id_vars=g, var_name="stat"
        )
        est.insert(1, "contrast", None)
        diff = self.differences.copy()
        diff["contrast"] = (
            diff["group"].astype(str) + " - " + diff["reference"].astype(str)
        )
        diff = diff.drop(columns=["reference"]).rename(columns={"group": g})
        diff = diff.melt(id_vars=[g, "contrast"], var_name="stat")
        out = pd.concat([est, diff], ignore_index=True)
        out["value"] = out["value"].astype(float)
        return out


def estimate_rmst(
    data: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    *,
    tau: float,
    time: str = "AVAL",
    cnsr: str | None = "CNSR",
    event: str | None = None,
    paramcd: str | None = None,
    reference: object = None,
    conf_level: float = 0.95,
) -> RmstResult:
    """Estimate the RMST up to ``tau`` by group and its differences.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per subject.
    by : str or sequence of str, optional
        Grouping column.
        Several columns are crossed (e.g. ``["route", "dose_level"]``) into one
        grouping column named ``"route / dose_level"``.
    tau : float
        Restriction time, pre-specified, in the unit of ``time`` (keyword).
    time, cnsr, event : str
        Time column and either the ADaM ``CNSR`` column (0 = event) or an event column.
    reference : object, optional
        Reference group for the differences (default: the first group in sorted
        order); each other group's difference is group - reference.
    conf_level : float
        Level of the normal confidence intervals (default 0.95).
    paramcd : str, optional
        ADTTE parameter to analyse (``"PFS"``, ``"OS"``, ...) when the frame holds
        several; required then.

    Returns
    -------
    RmstResult
        Per-group RMST with SE and CI, and differences with SE, CI, z and p.
    """
    if tau <= 0:
        raise ValueError(f"tau must be positive, got {tau}")
    data = select_parameter(data, paramcd)
    frame, by_name = combine_by(data, by)
    sd = extract_survival(frame, time=time, event=event, cnsr=cnsr, by=by_name)
    q = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    if sd.group is None:
        labels: list[object] = ["all"]
        masks = [np.ones(sd.time.size, bool)]
    else:
        labels = list(sd.group_labels)
        masks = [sd.group == i for i in range(len(labels))]
    rows = []
    for label, mask in zip(labels, masks, strict=True):
        est, se = rmst_from_table(km_table(sd.time[mask], sd.event[mask]), tau)
        rows.append(
            {
                "group": label,
                "tau": float(tau),
                "rmst": est,
                "se": se,
                "lower": est - q * se,
                "upper": est + q * se,
                # R carries the last KM value flat to tau; survRM2 refuses this
                "tau_beyond_follow_up": bool(sd.time[mask].max() < tau),
            }
        )
    estimates = pd.DataFrame(rows)
    ref = labels[0] if reference is None else reference
    if ref not in labels:
        raise ValueError(f"reference {ref!r} is not a group of {by!r}: {labels}")
    base = estimates[estimates["group"] == ref].iloc[0]
    diffs = []
    for _, row in estimates.iterrows():
        if row["group"] == ref:
            continue
        diff = row["rmst"] - base["rmst"]
        se = float(np.hypot(row["se"], base["se"]))
        z = diff / se
        diffs.append(
            {
                "group": row["group"],
                "reference": ref,
                "difference": diff,
                "se": se,
                "lower": diff - q * se,
                "upper": diff + q * se,
                "z": z,
                "p_value": float(2 * stats.norm.sf(abs(z))),
            }
        )
    differences = pd.DataFrame(
        diffs,
        columns=[
            "group",
            "reference",
            "difference",
            "se",
            "lower",
            "upper",
            "z",
            "p_value",
        ],
    )
    provenance = make_provenance(
        "estimate_rmst",
        inputs={"data": data},
        paramcd=paramcd,
        tau=tau,
        by=by if by is None or isinstance(by, str) else list(by),
        time=time,
        cnsr=cnsr,
        event=event,
        reference=ref,
        conf_level=conf_level,
        se="Greenwood-type (R print.survfit rmean); difference se = sqrt(sum se^2)",
    )
    return RmstResult(
        provenance=provenance,
        by=by_name,
        tau=float(tau),
        conf_level=conf_level,
        reference=ref,
        estimates=estimates,
        differences=differences,
    )
