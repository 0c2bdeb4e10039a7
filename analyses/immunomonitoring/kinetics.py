"""Kinetics of one analyte over time: NK persistence, chimerism, CD16+ fraction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from analyses._results import AnalysisResult, make_provenance
from analyses.immunomonitoring.lloq import compute_below_lloq

__all__ = ["KineticsResult", "derive_fraction", "summarize_kinetics"]

METRICS: tuple[str, ...] = (
    "n_points",
    "peak",
    "time_to_peak",
    "last_detectable_day",
    "auc",
)
SUMMARIES: tuple[str, ...] = ("n", "mean", "sd", "median", "min", "max")


@dataclass(frozen=True, kw_only=True)
class KineticsResult(AnalysisResult):
    """Per-subject kinetic metrics of one analyte and their summaries per group.

    Attributes
    ----------
    subjects : pandas.DataFrame
        One row per subject: ``subject_id``, the group column and the metrics
        ``n_points``, ``peak``, ``time_to_peak``, ``last_detectable_day``, ``auc``.
    table : pandas.DataFrame
        Long frame: group column, ``subject_id`` (missing on group summaries),
        ``stat`` and ``value``. Subject rows have ``stat`` = metric; group rows have
        ``stat`` = ``<metric>_<summary>`` (n, mean, sd, median, min, max).
    analyte : str
        Analyte analysed.
    """

    subjects: pd.DataFrame
    table: pd.DataFrame
    analyte: str

    def to_frame(self) -> pd.DataFrame:
        """Return the long, unrounded frame.

        Returns
        -------
        pandas.DataFrame
            Group column, ``subject_id``, ``stat``, ``value``.
        """
        return self.table.copy()

    def summary(self) -> pd.DataFrame:
        """Return one row per group and metric with its n, mean, SD, median, min, max.

        Returns
        -------
        pandas.DataFrame
            Group column, ``metric``, then one column per summary statistic; the
            per-subject values are in :attr:`subjects`.
        """
        grp = self.table.loc[self.table["subject_id"].isna()].drop(columns="subject_id")
        by = grp.columns[0]
        split = grp["stat"].str.rsplit("_", n=1, expand=True)
        grp = grp.assign(metric=split[0], summary=split[1])
        wide = grp.pivot_table(
            index=[by, "metric"], columns="summary", values="value", sort=False
        )
        wide.columns.name = None
        return wide[list(SUMMARIES)].reset_index()


def summarize_kinetics(
    data: pd.DataFrame,
    by: str = "dose_level",
    *,
    analyte: str,
    time: str = "study_day",
    start_day: float = 0.0,
    lloq_rule: Literal["zero", "lloq_half", "lloq"] = "zero",
) -> KineticsResult:
    """Peak, time to peak, last detectable day and AUC of one analyte per subject.

    Used for NK-cell persistence in blood (% donor NK of lymphocytes), bone-marrow
    donor chimerism (% donor) and any other analyte followed over time.

    Parameters
    ----------
    data : pandas.DataFrame
        Immunomonitoring rows with ``subject_id``, ``analyte``, ``value``, ``lloq``,
        the time column (e.g. from
        :func:`~analyses.immunomonitoring.derive_study_day`) and the group column.
    by : str, default "dose_level"
        Group column of the summaries.
    analyte : str
        The analyte to analyse (rows of other analytes are ignored).
    time : str, default "study_day"
        Time column, in days since the first dose.
    start_day : float, default 0
        Only results at ``time >= start_day`` enter (0 = from the first infusion).
    lloq_rule : {"zero", "lloq_half", "lloq"}, default "zero"
        Value given to results below the LLOQ for the peak and the AUC. ``"zero"`` is
        the non-compartmental-analysis convention. Such results are never
        "detectable".

    Returns
    -------
    KineticsResult
        Per-subject metrics and their summaries per group. The AUC is the linear
        trapezoid over the subject's observed times (value x days); the time to peak
        is the first time the maximum is reached; the last detectable day is the
        latest time with a result at or above the LLOQ and above zero (missing when
        never detectable).
    """
    rows = data.loc[(data["analyte"] == analyte) & (data[time] >= start_day)]
    rows = rows.loc[rows["value"].notna()]
    frame = rows[["subject_id", by, time, "value", "lloq"]].copy()
    frame = frame.sort_values(["subject_id", time], kind="stable").reset_index(
        drop=True
    )
    below = compute_below_lloq(frame["value"], frame["lloq"])
    factor = {"zero": 0.0, "lloq_half": 0.5, "lloq": 1.0}[lloq_rule]
    frame["_y"] = frame["value"].astype(float).where(~below, frame["lloq"] * factor)
    frame["_t"] = frame[time].astype(float)
    g = frame.groupby("subject_id", sort=True)
    peak_idx = g["_y"].idxmax()
    detectable = (~below) & (frame["_y"] > 0)
    dt = g["_t"].diff()
    mid = (frame["_y"] + g["_y"].shift()) / 2
    auc = (dt * mid).groupby(frame["subject_id"]).sum(min_count=0)
    subjects = pd.DataFrame(
        {
            by: g[by].first(),
            "n_points": g["_y"].count().astype(float),
            "peak": g["_y"].max(),
            "time_to_peak": frame.loc[peak_idx.to_numpy(), "_t"].to_numpy(),
            "last_detectable_day": frame["_t"]
            .where(detectable)
            .groupby(frame["subject_id"])
            .max(),
            "auc": auc,
        }
    )
    subjects.index.name = "subject_id"
    subjects = subjects.reset_index()
    subj_long = subjects.melt(
        id_vars=["subject_id", by], value_vars=list(METRICS), var_name="stat"
    )
    subj_long["_s"] = subj_long["stat"].map({m: i for i, m in enumerate(METRICS)})
    subj_long = subj_long.sort_values(["subject_id", "_s"], kind="stable").drop(
        columns="_s"
    )
    metric_frame = subjects.set_index([by, "subject_id"])[list(METRICS[1:])]
    agg = metric_frame.groupby(level=by).agg(
        ["count", "mean", "std", "median", "min", "max"]
    )
    agg = agg.rename(columns={"count": "n", "std": "sd"}, level=1)
    agg.columns = pd.Index([f"{pair[0]}_{pair[1]}" for pair in agg.columns])
    grp_long = agg.reset_index().melt(id_vars=[by], var_name="stat")
    grp_long["subject_id"] = None
    grp_long["_g"] = grp_long[by].map({k: i for i, k in enumerate(agg.index)})
    order = {c: i for i, c in enumerate(agg.columns)}
    grp_long["_s"] = grp_long["stat"].map(order)
    grp_long = grp_long.sort_values(["_g", "_s"], kind="stable").drop(
        columns=["_g", "_s"]
    )
    table = pd.concat(
        [
            subj_long[[by, "subject_id", "stat", "value"]],
            grp_long[[by, "subject_id", "stat", "value"]],
        ],
        ignore_index=True,
    )
    table["value"] = table["value"].astype(float)
    prov = make_provenance(
        "summarize_kinetics",
        inputs={"data": data},
        by=by,
        analyte=analyte,
        time=time,
        start_day=start_day,
        lloq_rule=lloq_rule,
        auc_method="linear trapezoid over observed times",
    )
    return KineticsResult(
        provenance=prov, subjects=subjects, table=table, analyte=analyte
    )


def derive_fraction(
    data: pd.DataFrame,
    *,
    numerator: str,
    denominator: str,
    analyte: str,
    keys: tuple[str, ...] = ("subject_id", "collection_date"),
    scale: float = 100.0,
) -> pd.DataFrame:
    """Add rows of ``scale * numerator / denominator`` (e.g. % CD16+ among NK cells).

    Parameters
    ----------
    data : pandas.DataFrame
        Immunomonitoring rows holding both analytes (same unit, e.g. cells/uL).
    numerator, denominator : str
        Analyte names of the numerator (e.g. ``"CD56+CD16+ NK"``) and denominator
        (e.g. ``"NK cells"``) populations.
    analyte : str
        Name of the derived analyte.
    keys : tuple of str, default ("subject_id", "collection_date")
        Columns that pair a numerator with its denominator.
    scale : float, default 100
        Multiplier (100 gives percent).

    Returns
    -------
    pandas.DataFrame
        ``data`` with one derived row per pair where both are present; derived rows
        copy the other columns from the denominator row, have unit ``%`` (when
        ``scale`` is 100), no LLOQ/ULOQ, and ``parent_population`` = ``denominator``.

    Raises
    ------
    ValueError
        If a numerator and its denominator have different units.
    """
    num = data.loc[data["analyte"] == numerator, [*keys, "value", "unit"]]
    den = data.loc[data["analyte"] == denominator]
    pair = den.merge(
        num, on=list(keys), how="inner", suffixes=("", "_num"), validate="one_to_one"
    )
    if (pair["unit"] != pair["unit_num"]).any():
        raise ValueError(
            f"{numerator!r} and {denominator!r} are reported in different units"
        )
    pair = pair.drop(columns=["unit_num"])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = scale * pair["value_num"] / pair["value"].where(pair["value"] != 0)
    derived = pair.drop(columns=["value_num"]).assign(
        analyte=analyte,
        value=ratio.astype(float),
        unit="%" if scale == 100.0 else f"x{scale:g}",
        parent_population=denominator,
        lloq=np.nan,
        uloq=np.nan,
    )
    return pd.concat([data, derived[data.columns]], ignore_index=True)
