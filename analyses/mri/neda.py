"""NEDA-3 status: no relapse, no confirmed EDSS progression, no new MRI activity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyses._results import AnalysisResult, make_provenance
from analyses.immunomonitoring.groups import derive_first_dose
from analyses.immunomonitoring.mrd import compute_clopper_pearson

__all__ = [
    "NedaResult",
    "compute_edss_threshold",
    "derive_confirmed_progression",
    "summarize_neda3",
]


@dataclass(frozen=True, kw_only=True)
class NedaResult(AnalysisResult):
    """NEDA-3 status per subject and the NEDA-3 proportion per group.

    Attributes
    ----------
    subjects : pandas.DataFrame
        One row per subject: group column, ``relapse``, ``baseline_edss``,
        ``confirmed_progression``, ``mri_activity`` and ``neda3`` (nullable
        booleans; missing when a component cannot be evaluated).
    table : pandas.DataFrame
        Long frame: group column, ``stat`` (``n_evaluable``, ``n_neda3``,
        ``proportion``, ``lower``, ``upper``; Clopper-Pearson) and ``value``.
    """

    subjects: pd.DataFrame
    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Return the long, unrounded frame.

        Returns
        -------
        pandas.DataFrame
            Group column, ``stat``, ``value``.
        """
        return self.table.copy()


def compute_edss_threshold(
    baseline_edss: pd.Series,
    *,
    increase_from_zero: float = 1.5,
    increase_low: float = 1.0,
    increase_high: float = 0.5,
    high_from: float = 5.5,
) -> pd.Series:
    """Return the EDSS increase that counts as progression, given the baseline EDSS.

    Parameters
    ----------
    baseline_edss : pandas.Series
        Baseline EDSS scores.
    increase_from_zero : float, default 1.5
        Increase required from a baseline below 1.0 (i.e. EDSS 0).
    increase_low : float, default 1.0
        Increase required from a baseline of 1.0 up to below ``high_from``.
    increase_high : float, default 0.5
        Increase required from a baseline of ``high_from`` or more.
    high_from : float, default 5.5
        Lowest baseline of the ``increase_high`` band.

    Returns
    -------
    pandas.Series
        Required increase (missing where the baseline is missing).
    """
    b = baseline_edss.astype(float)
    out = pd.Series(
        np.select(
            [b < 1.0, b < high_from], [increase_from_zero, increase_low], increase_high
        ),
        index=b.index,
    )
    return out.where(b.notna())


def derive_confirmed_progression(
    data: pd.DataFrame,
    *,
    baseline_edss: pd.Series,
    confirmation_days: int = 84,
) -> pd.Series:
    """Return, per subject, whether EDSS progression was confirmed.

    A post-baseline assessment is a progression when ``edss >= baseline +
    threshold`` (:func:`compute_edss_threshold`). It is confirmed when the subject's
    EDSS stays at or above that level at every later assessment up to one taken at
    least ``confirmation_days`` after it.

    Parameters
    ----------
    data : pandas.DataFrame
        Post-baseline assessments (``subject_id``, ``assessment_date``, ``edss``).
    baseline_edss : pandas.Series
        Baseline EDSS by subject id.
    confirmation_days : int, default 84
        Minimum time to the confirming assessment (84 days = the 12-week / "3-month"
        confirmed disability progression).

    Returns
    -------
    pandas.Series
        Nullable boolean by subject id; missing for subjects without a baseline EDSS
        or any post-baseline EDSS.
    """
    rows = data.loc[data["edss"].notna()].sort_values(["subject_id", "assessment_date"])
    base = rows["subject_id"].map(baseline_edss).astype(float)
    threshold = base + compute_edss_threshold(base)
    meets = rows["edss"].astype(float) >= threshold
    run = (
        (meets != meets.groupby(rows["subject_id"]).shift())
        .groupby(rows["subject_id"])
        .cumsum()
    )
    run_end = (
        pd.to_datetime(rows["assessment_date"])
        .groupby([rows["subject_id"], run])
        .transform("max")
    )
    span = (run_end - pd.to_datetime(rows["assessment_date"])).dt.days
    confirmed = meets & (span >= confirmation_days)
    result = confirmed.groupby(rows["subject_id"]).any().astype("boolean")
    has_base = result.index.isin(baseline_edss.dropna().index)
    return result.mask(pd.Series(~has_base, index=result.index))


def summarize_neda3(
    assessments: pd.DataFrame,
    lesions: pd.DataFrame,
    by: str = "route",
    *,
    administrations: pd.DataFrame,
    confirmation_days: int = 84,
    ci_level: float = 0.95,
) -> NedaResult:
    """NEDA-3 per subject and its proportion per group.

    NEDA-3 holds when, after the first dose, there is no relapse, no confirmed EDSS
    progression (+1.5 from 0, +1.0 from 1.0-5.0, +0.5 from 5.5 or more, confirmed
    after ``confirmation_days``) and no new Gd+ or new/enlarging T2 lesion on a
    follow-up scan. Baseline EDSS is the last assessment on or before the first dose.
    A subject is evaluable when all three components can be assessed; a subject with
    a known failing component is not-NEDA even if another is missing.

    Parameters
    ----------
    assessments : pandas.DataFrame
        Disease assessments (``subject_id``, ``assessment_date``, ``relapse``,
        ``edss``).
    lesions : pandas.DataFrame
        Per-subject lesion counts (``LesionCountResult.subjects``: ``subject_id``,
        group column, ``new_gd``, ``new_t2``).
    by : str, default "route"
        Group column, taken from ``lesions``.
    administrations : pandas.DataFrame
        Administrations (first dose date).
    confirmation_days : int, default 84
        Confirmation interval of EDSS progression.
    ci_level : float, default 0.95
        Confidence level of the Clopper-Pearson interval of the proportion.

    Returns
    -------
    NedaResult
        Per-subject components and per-group proportion.
    """
    first = derive_first_dose(administrations)
    a = assessments.assign(first_dose_date=assessments["subject_id"].map(first))
    for optional in ("relapse", "edss"):  # optional columns: missing = not evaluable
        if optional not in a:
            a[optional] = pd.Series(pd.NA, index=a.index, dtype="Float64")
    a = a.sort_values(["subject_id", "assessment_date"], kind="stable")
    pre = a.loc[a["assessment_date"] <= a["first_dose_date"]]
    post = a.loc[a["assessment_date"] > a["first_dose_date"]]
    baseline_edss = pre.loc[pre["edss"].notna()].groupby("subject_id")["edss"].last()
    rel = post.loc[post["relapse"].notna()]
    relapse = rel["relapse"].astype(bool).groupby(rel["subject_id"]).any()
    progression = derive_confirmed_progression(
        post, baseline_edss=baseline_edss, confirmation_days=confirmation_days
    )
    subj = lesions.set_index("subject_id")[[by, "new_gd", "new_t2"]]
    activity = ((subj["new_gd"].fillna(0) > 0) | (subj["new_t2"].fillna(0) > 0)).astype(
        "boolean"
    )
    activity = activity.mask(~subj[["new_gd", "new_t2"]].notna().any(axis=1))
    table_subj = pd.DataFrame({by: subj[by]})
    table_subj["relapse"] = relapse.reindex(table_subj.index).astype("boolean")
    table_subj["baseline_edss"] = baseline_edss.reindex(table_subj.index)
    table_subj["confirmed_progression"] = progression.reindex(table_subj.index).astype(
        "boolean"
    )
    table_subj["mri_activity"] = activity
    comps = table_subj[["relapse", "confirmed_progression", "mri_activity"]]
    any_event = comps.fillna(False).any(axis=1)
    all_known = comps.notna().all(axis=1)
    neda = pd.Series(pd.NA, index=table_subj.index, dtype="boolean")
    neda[any_event] = False
    neda[~any_event & all_known] = True
    table_subj["neda3"] = neda
    table_subj.index.name = "subject_id"
    table_subj = table_subj.reset_index()
    ev = table_subj.loc[table_subj["neda3"].notna()]
    grp = ev.groupby(by, sort=True)["neda3"]
    counts = pd.DataFrame(
        {"n_evaluable": grp.size().astype(float), "n_neda3": grp.sum().astype(float)}
    )
    counts["proportion"] = counts["n_neda3"] / counts["n_evaluable"]
    counts["lower"], counts["upper"] = compute_clopper_pearson(
        counts["n_neda3"], counts["n_evaluable"], ci_level=ci_level
    )
    table = counts.reset_index().melt(id_vars=[by], var_name="stat")
    table["value"] = table["value"].astype(float)
    table = table.sort_values(by, kind="stable").reset_index(drop=True)
    prov = make_provenance(
        "summarize_neda3",
        inputs={"assessments": assessments, "lesions": lesions},
        by=by,
        confirmation_days=confirmation_days,
        edss_thresholds="+1.5 from 0, +1.0 from 1.0-5.0, +0.5 from >=5.5",
        ci_level=ci_level,
        ci_method="Clopper-Pearson exact",
    )
    return NedaResult(provenance=prov, subjects=table_subj, table=table)
