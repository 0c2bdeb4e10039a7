"""Design adherence: each cohort dosed at the level the design allowed at the time.

The escalation is rebuilt from the dosing dates with the analysis datasets
(:func:`analyses.datasets.derive_adsl`, at the latest date of the upload) and checked
by :func:`analyses.dose_finding.review_design_adherence`; a cohort the design did not
allow is one finding, on the first given dose of its first subject.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyses.datasets import derive_adsl, latest_date
from analyses.dose_finding.adherence import review_design_adherence
from analyses.dosing import first_given_rows
from trialdata.findings import Severity, findings_frame
from trialdata.validation.context import RuleContext
from trialdata.validation.rules import rule
from trialdata.validation.rules._frames import report

__all__ = ["check_design_adherence"]

ADMIN = "administrations"
#: The domains ADSL reads to rebuild the escalation.
_ESCALATION_DOMAINS = ("subjects", "cohorts", ADMIN, "adverse_events")


@rule(
    "XD-023",
    Severity.WARNING,
    "Every cohort is dosed at the level the protocol's design allowed when it "
    "started (start dose, the design's decision on the DLTs known then, no cohort "
    "started while an earlier subject was in the DLT window, max_subjects; "
    "expansion and backfill no higher than the level cleared).",
    requires=_ESCALATION_DOMAINS,
)
def check_design_adherence(ctx: RuleContext) -> pd.DataFrame:
    """Flag cohorts dosed as the design did not allow (XD-023)."""
    cutoff = latest_date(ctx.tables)
    if cutoff is None:
        return findings_frame([])
    tables = {name: ctx.tables[name] for name in _ESCALATION_DOMAINS}
    for name, key in (("subjects", "subject_id"), ("cohorts", "cohort_id")):
        if key not in tables[name] or tables[name][key].duplicated().any():
            return findings_frame([])  # keys reported by the schema (SC-KEY)
    if "survival_status" in ctx.tables:
        tables["survival_status"] = ctx.tables["survival_status"]
    try:
        adsl = derive_adsl(tables, ctx.protocol, cutoff=cutoff)
        review = review_design_adherence(adsl, ctx.protocol)
    except (KeyError, ValueError):  # columns missing or unusable: reported elsewhere
        return findings_frame([])
    deviations = review.deviations
    if deviations.empty:
        return findings_frame([])
    admin = ctx.tables[ADMIN]
    first = first_given_rows(admin)  # the dose ADSL counts from
    hits: dict[int, str] = {}
    for rec in deviations.to_dict(orient="records"):
        cohort = adsl.loc[
            (adsl["cohort_id"] == rec["cohort_id"])
            & (adsl["dose_level"] == rec["dose_level"])
            & (adsl["escalation_group"] == rec["escalation_group"])
        ].sort_values(["first_dose_date", "subject_id"], kind="mergesort")
        rows = first.reindex(cohort["subject_id"]).dropna()
        if rows.empty:
            continue
        hits[int(rows.iloc[0])] = str(rec["reason"])
    mask = np.zeros(len(admin), dtype=bool)
    mask[list(hits)] = True
    return report(
        admin,
        mask,
        domain=ADMIN,
        rule="XD-023",
        severity=Severity.WARNING,
        column="dose_level",
        message=lambda h: pd.Series([hits[p] for p in sorted(hits)], index=h.index),
    )
