"""Change and fold change from baseline of immunomonitoring results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from analyses.immunomonitoring.groups import derive_study_day
from analyses.immunomonitoring.lloq import (
    LloqRule,
    UloqRule,
    compute_below_lloq,
    compute_lloq_imputed,
)

__all__ = ["BaselineRule", "derive_change_from_baseline"]

#: How the baseline result of a subject and analyte is chosen.
BaselineRule = Literal["last_on_or_before_first_dose", "visit", "first"]

_KEYS: tuple[str, ...] = ("subject_id", "assay", "analyte")


def derive_change_from_baseline(
    data: pd.DataFrame,
    by: Sequence[str] = _KEYS,
    *,
    administrations: pd.DataFrame,
    baseline: BaselineRule = "last_on_or_before_first_dose",
    baseline_visit: str | None = None,
    lloq_rule: LloqRule = "lloq_half",
    uloq_rule: UloqRule = "uloq",
    log_base: float = float(np.e),
) -> pd.DataFrame:
    """Add the baseline, change, fold change and log values of each result.

    Parameters
    ----------
    data : pandas.DataFrame
        Immunomonitoring rows (``subject_id``, ``collection_date``, ``assay``,
        ``analyte``, ``value``, ``lloq``, ``uloq``; ``visit`` when
        ``baseline="visit"``).
    by : sequence of str, default ("subject_id", "assay", "analyte")
        Columns identifying one series of results that share a baseline.
    administrations : pandas.DataFrame
        The administrations domain; gives the first-dose date and the study day.
    baseline : {"last_on_or_before_first_dose", "visit", "first"}
        ``"last_on_or_before_first_dose"`` (default): the last non-missing result
        collected on or before the first dose date. ``"visit"``: the result at
        ``baseline_visit``. ``"first"``: the earliest non-missing result.
    baseline_visit : str, optional
        Visit name of the baseline when ``baseline="visit"``.
    lloq_rule : {"lloq_half", "lloq", "censored"}, default "lloq_half"
        Rule for results below the LLOQ (see :func:`compute_lloq_imputed`); the
        derived values use the imputed ``analysis_value``.
    uloq_rule : {"uloq", "keep"}, default "uloq"
        Rule for results above the ULOQ.
    log_base : float, default e
        Base of ``log_value`` and ``log_fold_change``.

    Returns
    -------
    pandas.DataFrame
        A new frame with ``first_dose_date``, ``study_day``, ``below_lloq``,
        ``analysis_value``, ``log_value``, ``is_baseline``, ``baseline_value``,
        ``change`` (value - baseline), ``pct_change`` (100 * change / baseline),
        ``fold_change`` (value / baseline), ``log_fold_change``, and the rules used
        (``lloq_rule``, ``baseline_rule``), which downstream summaries record in their
        provenance.
        Rows whose series has no baseline keep missing derived values.
    """
    keys = list(by)
    out = derive_study_day(
        data.reset_index(drop=True), administrations, date_column="collection_date"
    )
    out["below_lloq"] = compute_below_lloq(out["value"], out["lloq"])
    uloq = out["uloq"] if "uloq" in out.columns else None
    out["analysis_value"] = compute_lloq_imputed(
        out["value"], out["lloq"], uloq, rule=lloq_rule, uloq_rule=uloq_rule
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["log_value"] = np.log(
            out["analysis_value"].where(out["analysis_value"] > 0)
        ) / np.log(log_base)
    has_value = out["analysis_value"].notna()
    date = pd.to_datetime(out["collection_date"])
    if baseline == "last_on_or_before_first_dose":
        eligible = has_value & (date <= out["first_dose_date"])
        pick = "last"
    elif baseline == "first":
        eligible = has_value
        pick = "first"
    elif baseline == "visit":
        if baseline_visit is None:
            raise ValueError("baseline='visit' needs baseline_visit")
        eligible = has_value & (out["visit"] == baseline_visit)
        pick = "last"
    else:
        raise ValueError(f"unknown baseline rule {baseline!r}")
    candidates = (
        out.loc[eligible]
        .assign(_date=date[eligible])
        .sort_values("_date", kind="stable")
    )
    chosen = (
        candidates.groupby(keys, sort=False, dropna=False).tail(1)
        if pick == "last"
        else candidates.groupby(keys, sort=False, dropna=False).head(1)
    )
    out["is_baseline"] = out.index.isin(chosen.index)
    base = chosen[[*keys, "analysis_value"]].rename(
        columns={"analysis_value": "baseline_value"}
    )
    merged = out[keys].merge(base, on=keys, how="left", validate="many_to_one")
    out["baseline_value"] = merged["baseline_value"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["change"] = out["analysis_value"] - out["baseline_value"]
        positive = out["baseline_value"].where(out["baseline_value"] > 0)
        out["pct_change"] = 100.0 * out["change"] / positive
        out["fold_change"] = out["analysis_value"] / positive
        out["log_fold_change"] = out["log_value"] - np.log(positive) / np.log(log_base)
    out["lloq_rule"] = lloq_rule
    out["baseline_rule"] = (
        baseline if baseline != "visit" else f"visit {baseline_visit}"
    )
    return out
