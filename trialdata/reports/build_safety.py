"""Assemble the DMC safety report of a trial as a format-neutral :class:`Report`.

Numbers come from ``analyses`` (TEAE derivation and SOC/PT tables from
``analyses.safety``, the design decision from ``analyses.dose_finding``, Kaplan-Meier
from ``analyses.survival``, summaries from ``analyses.immunomonitoring`` and
``analyses.mri``) and, for the sections those packages do not cover, from
:mod:`trialdata.reports.report_summaries`. This module only selects, orders and
formats them.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from functools import partial

import numpy as np
import pandas as pd

from analyses._results import AnalysisResult, package_version
from analyses.datasets import AnalysisData
from analyses.dose_finding.escalation import EscalationSummary
from analyses.safety import (
    SafetyResult,
    ShiftTable,
    summarize_deaths,
    summarize_demographics,
    summarize_exposure,
    summarize_teae_overview,
    tabulate_aesi_by_max_grade,
    tabulate_dlt,
    tabulate_grade3_teae,
    tabulate_range_shift,
    tabulate_serious_teae,
    tabulate_teae_by_soc_pt,
    tabulate_teae_leading_to_discontinuation,
)
from schemas.domains import get_domain
from trialdata.reports import report_summaries as rs
from trialdata.reports.figures import plot_escalation_history, plot_kaplan_meier
from trialdata.reports.formatting import (
    format_date,
    format_number,
    pivot_counts,
)
from trialdata.reports.model import (
    Block,
    Figure,
    Paragraph,
    Report,
    ReportProvenance,
    Section,
    Table,
)
from trialdata.trial import Trial

__all__ = ["build_safety_report"]

#: AE of special interest categories reported with a grade table, in order.
AESI_CATEGORIES = ("CRS", "ICANS", "GVHD", "INFUSION REACTION")


def _own(note: str) -> str:
    return f"Computed by trialdata.reports.report_summaries ({note})."


#: Titles of the subjects columns (the schema's data dictionary), for row labels.
_SUBJECT_TITLES = {
    name: str(column.title)
    for name, column in get_domain("subjects").schema.columns.items()
    if column.title
}


def _safety_table(
    result: SafetyResult, ctx: _Context, label: str = "", title: str | None = None
) -> Table:
    """Format an analyses.safety result: its display frame, footnotes and source."""
    ctx.record(title or result.title, result)
    frame = result.display()
    if "variable" in frame.columns:  # data-dictionary titles, e.g. "Weight (kg)"
        variable = frame["variable"].replace(_SUBJECT_TITLES)
        if "label" in frame.columns:  # name a variable once, on its first row
            variable = variable.mask(variable.eq(variable.shift()), "")
        frame = frame.assign(variable=variable)
    if "label" in frame.columns:
        frame = frame.rename(columns={"label": label})
    notes = (
        *result.footnotes,
        ctx.cutoff_note,
        f"Source: analyses.safety.{result.provenance.analysis}.",
    )
    return Table(title or result.title, frame, notes)


def _format_result_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_bool_dtype(values):
            out[column] = values.map({True: "Yes", False: "No"})
        elif pd.api.types.is_integer_dtype(values):
            out[column] = values.astype("Int64").astype(str).replace("<NA>", "")
        elif pd.api.types.is_float_dtype(values):
            whole = values.dropna()
            if len(whole) and (whole == whole.round()).all():
                out[column] = values.map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
            else:
                out[column] = values.map(lambda v: format_number(v, 2))
        elif pd.api.types.is_datetime64_any_dtype(values):
            out[column] = values.map(format_date)
    return out


def _result_table(
    result: AnalysisResult, title: str, source: str, cutoff_note: str
) -> Table:
    return Table(
        title,
        _format_result_frame(result.summary()),
        (cutoff_note, f"Source: {source}; {result.provenance.describe()}"),
    )


class _Context:
    """Everything the section builders share: the trial's analysis datasets."""

    def __init__(self, data: AnalysisData) -> None:
        self.data = data
        self.protocol = data.protocol
        self.tables = data.tables
        self.cutoff = data.cutoff
        self.subjects = data.adsl
        self.safety = data.safety
        self.ae = data.adae
        self.teae = data.teae
        self.escalation: EscalationSummary = data.escalation()
        self.results: dict[str, object] = {}
        self.cutoff_note = data.cutoff_note

    def record(self, key: str, result: object) -> None:
        """Keep an analysis result under ``key`` for the report's JSON twin."""
        self.results[key] = result

    def has(self, name: str) -> bool:
        table = self.tables.get(name)
        return table is not None and len(table) > 0


def _disposition_section(ctx: _Context) -> Section:
    enrolled = ctx.subjects.copy()
    counts = rs.summarize_disposition(enrolled, cutoff=ctx.cutoff)
    disposition = Table(
        "Enrolment and disposition by dose level and route",
        pivot_counts(counts, row_label="Subjects"),
        (
            "Percentages of the enrolled subjects in each column. Untreated subjects "
            "are shown under their cohort's planned dose level and route.",
            ctx.cutoff_note,
            _own("summarize_disposition"),
        ),
    )
    blocks: list[Block] = [disposition]
    if len(ctx.safety):
        continuous = tuple(c for c in ("age", "weight_kg") if c in ctx.safety.columns)
        demographics = summarize_demographics(
            ctx.safety, "group", continuous=continuous, categorical=("sex",)
        )
        blocks.append(
            _safety_table(
                demographics, ctx, title=f"{demographics.title}, safety population"
            )
        )
    return Section("Enrolment and disposition", tuple(blocks))


def _exposure_section(ctx: _Context) -> Section:
    exposure = summarize_exposure(ctx.tables["administrations"], ctx.safety, "group")
    return Section("Exposure", (_safety_table(exposure, ctx),))


def _escalation_section(ctx: _Context) -> Section:
    safety = ctx.safety
    blocks: list[Block] = []
    dose_labels = {
        d.level: f"DL{d.level} ({d.label or f'{d.amount:g} {d.unit}'})"
        for d in ctx.protocol.dose_levels
    }
    blocks.append(
        Figure(
            "Dose-escalation history",
            partial(
                plot_escalation_history,
                safety[["subject_id", "first_dose_date", "dose_level", "route", "dlt"]],
                dose_labels=dose_labels,
            ),
            "Each marker is one treated subject, in order of first administration, at "
            f"the actual dose level ({ctx.data.rules['actual_dose_level']}); filled "
            "red markers had a DLT in the DLT window. " + ctx.cutoff_note,
        )
    )
    dlt = tabulate_dlt(
        ctx.ae,
        safety,
        "group",
        evaluable_flag="dlt_evaluable",
        dlt_flag="dlt_in_window",
    )
    blocks.append(
        _safety_table(
            dlt, ctx, title="Dose-limiting toxicities by dose level and route"
        )
    )
    blocks.extend(_decision_blocks(ctx))
    blocks.extend(_adherence_blocks(ctx))
    blocks.append(_dlt_listing(ctx))
    return Section("Dose escalation and dose-limiting toxicities", tuple(blocks))


def _decision_blocks(ctx: _Context) -> list[Block]:
    summary = ctx.escalation
    ctx.record("escalation", summary)
    blocks: list[Block] = []
    pooled = summary.escalation_by == "pooled"
    for group in summary.groups:
        where = "" if pooled else f" ({group.name})"
        blocks.append(
            Paragraph(
                f"Design decision{where}, {summary.design} with target DLT rate "
                f"{ctx.protocol.design.target_dlt_rate:g}: {group.describe()}"
            )
        )
        t = group.table
        frame = pd.DataFrame(
            {
                "Dose level": [f"DL{v}" for v in t["dose_level"]],
                "Escalation: treated": t["treated"].astype(str),
                "DLT-evaluable": t["evaluable"].astype(str),
                "With a DLT": t["dlt"].astype(str),
                "Pending": t["pending"].astype(str),
                "Expansion/backfill: treated": t["expansion_treated"].astype(str),
                "Expansion/backfill: with a DLT": t["expansion_dlt"].astype(str),
            }
        )
        scope = "all routes pooled" if pooled else f"route {group.name}"
        blocks.append(
            Table(
                f"DLT data used for the design decision ({scope})",
                frame,
                (
                    "Escalation cohorts feed the design's step rules; expansion and "
                    "backfill subjects are shown beside them"
                    + (
                        " and count in the final MTD estimate."
                        if ctx.protocol.design.expansion_in_mtd
                        else "."
                    ),
                    f"DLT window: {ctx.data.rules['dlt_window']}; DLT-evaluable: "
                    f"{ctx.data.rules['dlt_evaluable']}.",
                    ctx.cutoff_note,
                    "Source: analyses.dose_finding.summarize_escalation.",
                ),
            )
        )
    return blocks


def _adherence_blocks(ctx: _Context) -> list[Block]:
    review = ctx.data.adherence()
    ctx.record("adherence", review)
    n = review.n_deviations
    text = (
        f"Design adherence: the escalation rebuilt from the dosing dates has {n} "
        f"cohort{'s' if n != 1 else ''} dosed as the {review.design} design did not "
        "allow at the time."
    )
    if review.sequence.empty:
        return [Paragraph(text)]
    seq = review.summary()
    frame = pd.DataFrame(
        {
            "Escalation": seq["escalation_group"].astype(str),
            "Cohort": seq["cohort_id"].astype(str),
            "Role": seq["cohort_role"].astype(str),
            "First dose": seq["first_dose_date"].astype(str),
            "Subjects": seq["n_subjects"].astype(str),
            "Dose level": [f"DL{v}" for v in seq["dose_level"]],
            "Allowed": [
                "" if pd.isna(v) else f"DL{int(v)}" for v in seq["allowed_dose"]
            ],
            "Deviation": seq["deviation"].map({True: "Yes", False: "No"}),
            "Reason": seq["reason"].fillna("").astype(str),
        }
    )
    return [
        Paragraph(text),
        Table(
            "Design adherence: cohorts in dosing order",
            frame,
            (
                "Allowed: the dose level the design's rule gave on the data known at "
                "the cohort's first dose (DLTs by then; subjects whose window had "
                "ended); a cohort started while an earlier subject was still in the "
                "DLT window is a deviation.",
                ctx.cutoff_note,
                "Source: analyses.dose_finding.review_design_adherence.",
            ),
        ),
    ]


def _ae_listing(ae: pd.DataFrame) -> pd.DataFrame:
    """List ADAE rows: study day and group come from the analysis datasets."""
    ordered = ae.sort_values(["subject_id", "onset_date", "ae_seq"], kind="mergesort")
    yes_no = {True: "Y", False: "N"}
    return pd.DataFrame(
        {
            "Subject": ordered["subject_id"],
            "Dose level and route": ordered["group"].astype(str).replace("nan", ""),
            "AE": ordered["ae_seq"].astype(str),
            "Reported term": ordered["term"],
            "Preferred term": ordered["preferred_term"],
            "SOC": ordered["soc"],
            "Onset (study day)": [
                f"{format_date(d)} ({'' if pd.isna(s) else int(s)})"
                for d, s in zip(
                    ordered["onset_date"], ordered["study_day"], strict=True
                )
            ],
            "Grade": ordered["grade"].astype(str).replace("<NA>", ""),
            "Serious": ordered["serious"].astype("boolean").map(yes_no).fillna(""),
            "Relatedness": ordered["relatedness"],
            "Outcome": ordered["outcome"],
        }
    )


def _dlt_listing(ctx: _Context) -> Table:
    dlt = ctx.ae["dlt_in_window"].astype(bool).to_numpy()
    frame = _ae_listing(ctx.ae.loc[dlt])
    return Table(
        "Listing of dose-limiting toxicities",
        frame,
        ("Study day 1 = day of the first administration.", ctx.cutoff_note),
        listing=True,
    )


def _ae_section(ctx: _Context) -> Section:
    by = "group"
    label = "System organ class / preferred term"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        blocks: list[Block] = [
            _safety_table(
                summarize_teae_overview(ctx.ae, ctx.safety, by),
                ctx,
                "Subjects with at least one",
            ),
            _safety_table(tabulate_teae_by_soc_pt(ctx.ae, ctx.safety, by), ctx, label),
            _safety_table(tabulate_grade3_teae(ctx.ae, ctx.safety, by), ctx, label),
            _safety_table(tabulate_serious_teae(ctx.ae, ctx.safety, by), ctx, label),
            _safety_table(
                tabulate_teae_leading_to_discontinuation(ctx.ae, ctx.safety, by),
                ctx,
                label,
            ),
        ]
    return Section("Adverse events", tuple(blocks))


def _aesi_section(ctx: _Context) -> Section | None:
    """AESI by maximum grade: the protocol's categories and any recorded one."""
    declared = list(ctx.protocol.reported_aesi)
    recorded = ctx.teae["aesi"].dropna().astype(str).unique().tolist()
    categories = declared + sorted(c for c in recorded if c not in declared)
    if not categories:
        return None
    result = tabulate_aesi_by_max_grade(
        ctx.ae,
        ctx.safety,
        "group",
        categories=categories,
    )
    named = ", ".join(categories)
    return Section(
        "Adverse events of special interest",
        (
            _safety_table(
                result,
                ctx,
                "AESI category",
                title=f"Adverse events of special interest ({named}) by maximum grade",
            ),
            Paragraph(
                "Categories: those the protocol declares for its indication "
                f"({ctx.protocol.indication}: {', '.join(declared) or 'none'}) and "
                "any other category recorded."
            ),
        ),
    )


def _lab_section(ctx: _Context) -> Section | None:
    if not ctx.has("labs"):
        return None
    labs = ctx.data.adlb
    shift = tabulate_range_shift(
        labs, ctx.safety, "group", post_baseline="most_extreme"
    )
    table = _safety_table(
        shift,
        ctx,
        title="Shift from baseline to the most extreme post-baseline "
        "normal-range category",
    )
    return Section("Laboratory shifts", (_compact_shift(table, shift),))


def _compact_shift(table: Table, shift: ShiftTable) -> Table:
    """Keep the rows of a shift table that count a subject; name each block once.

    A row is a test, group and baseline category; rows where no subject falls are
    left out, and so is a test without post-baseline values. The test and group are
    printed on the first row of their block only.
    """
    counted = shift.counts.groupby(
        ["test_code", "group", "baseline"], observed=True, sort=False
    )["n"].sum()
    kept = set(counted[counted > 0].index)
    frame = table.frame
    keys = zip(frame["test_code"], frame["group"], frame["baseline"], strict=True)
    frame = frame.loc[[key in kept for key in keys]].reset_index(drop=True)
    test = frame["test_code"]
    group = frame["group"].mask(
        test.eq(test.shift()) & frame["group"].eq(frame["group"].shift()), ""
    )
    frame = frame.assign(test_code=test.mask(test.eq(test.shift()), ""), group=group)
    note = (
        "Only baseline categories with at least one subject are shown; tests "
        "without post-baseline values are left out. Counts are unchanged "
        "(see the JSON twin for every cell)."
    )
    return Table(table.title, frame, (note, *table.footnotes), table.listing)


def _death_section(ctx: _Context) -> Section:
    deaths = rs.list_deaths(
        ctx.safety, dlt_window_days=ctx.protocol.dlt_window_days, cutoff=ctx.cutoff
    )
    n = len(deaths)
    paragraph = Paragraph(
        f"{n} death{'s' if n != 1 else ''} in the safety population up to the data "
        "cut-off."
    )
    counts = summarize_deaths(
        ctx.safety[["subject_id", "death_date", "death_cause"]],
        ctx.safety,
        "group",
        adverse_events=ctx.ae,
    )
    if n == 0:
        return Section("Deaths", (paragraph, _safety_table(counts, ctx)))
    frame = pd.DataFrame(
        {
            "Subject": deaths["subject_id"],
            "Dose level and route": deaths["group"],
            "Date of death": deaths["death_date"].map(format_date),
            "Study day": deaths["days_from_first_dose"].astype(str),
            "Within DLT window": deaths["in_dlt_window"].map(
                {True: "Yes", False: "No"}
            ),
            "Cause": deaths["death_cause"].fillna(""),
        }
    )
    return Section(
        "Deaths",
        (
            paragraph,
            _safety_table(counts, ctx),
            Table(
                "Listing of deaths",
                frame,
                (
                    "Study day 1 = day of the first administration.",
                    ctx.cutoff_note,
                    _own("list_deaths"),
                ),
                listing=True,
            ),
        ),
    )


def _efficacy_section(ctx: _Context) -> Section | None:
    """Kaplan-Meier of the protocol's time-to-event endpoints (none: no section)."""
    from analyses.survival import estimate_kaplan_meier

    adtte = ctx.data.adtte
    adtte = adtte.loc[adtte["safety"].astype(bool) & adtte["AVAL"].notna()]
    adtte = adtte.assign(group=adtte["group"].astype(str))
    blocks: list[Block] = []
    names = {
        "PFS": "Progression-free survival",
        "OS": "Overall survival",
        "RFS": "Relapse-free survival",
        "DOR": "Duration of response",
    }
    for param in ctx.protocol.analysis_endpoints:
        data = adtte.loc[adtte["PARAMCD"] == param]
        if data.empty:
            continue
        km = estimate_kaplan_meier(data, by="group")
        ctx.record(f"km_{param}", km)
        top = float(data["AVAL"].max())
        step = _nice_step(top)
        times = list(np.arange(0, top + step, step))
        at_risk = km.number_at_risk(times)
        blocks.append(
            Figure(
                f"{names[param]}: Kaplan-Meier estimate by dose level and route",
                partial(
                    plot_kaplan_meier,
                    km.tables,
                    at_risk,
                    title=names[param],
                    times=times,
                ),
                "Time origin: first administration; tick marks: censored times; "
                "derive_adtte defaults, missed-assessment schedule "
                f"{ctx.data.rules['assessment_schedule']}. "
                + ctx.cutoff_note
                + f" Source: analyses.survival ({km.provenance.analysis}).",
            )
        )
        risk = at_risk.reset_index()
        risk.columns = ["Group", *[f"Day {t:g}" for t in times]]
        median = km.median()
        blocks.append(
            Table(
                f"{names[param]}: number at risk and median",
                risk.astype(str).assign(
                    **{
                        "Median (days)": [
                            format_number(v, 0)
                            for v in median.set_index(km.group_column).reindex(
                                at_risk.index
                            )["median"]
                        ]
                    }
                ),
                (
                    "Number at risk: subjects with follow-up time >= t. Median by "
                    "R print.survfit rules; empty when not reached.",
                    ctx.cutoff_note,
                ),
            )
        )
    if not blocks:
        return None
    return Section("Efficacy", tuple(blocks))


def _nice_step(top: float) -> float:
    for step in (7, 14, 28, 30, 60, 90, 180, 365, 730):
        if top / step <= 8:
            return float(step)
    return float(np.ceil(top / 8))


def _immuno_section(ctx: _Context) -> Section | None:
    if not ctx.has("immunomonitoring"):
        return None
    from analyses.immunomonitoring import summarize_immunomonitoring

    group = ctx.safety.set_index("subject_id")["group"].astype(str)
    data = ctx.tables["immunomonitoring"]
    data = data.assign(group=data["subject_id"].map(group)).dropna(subset=["group"])
    if "visit" not in data.columns or data["visit"].isna().all():
        return None
    data = data.assign(visit=data["visit"].fillna("Unscheduled"))
    result = summarize_immunomonitoring(data, by=("group", "visit"))
    return Section(
        "Immunomonitoring",
        (
            Table(
                "Immunomonitoring: median (n) by dose level, route and visit",
                _immuno_frame(result.summary(), [v.name for v in ctx.protocol.visits]),
                (
                    "Cells: median (number of results). Results below the LLOQ "
                    "replaced by LLOQ/2 (lloq_rule "
                    f"{result.provenance.parameters.get('lloq_rule')!r}). Means, SDs "
                    "and geometric means are in the analysis result's summary().",
                    ctx.cutoff_note,
                    "Source: analyses.immunomonitoring.summarize_immunomonitoring; "
                    + result.provenance.describe(),
                ),
            ),
        ),
    )


def _immuno_frame(wide: pd.DataFrame, visit_order: list[str]) -> pd.DataFrame:
    """One row per analyte and group, one ``median (n)`` column per visit."""
    analyte = wide["analyte"].astype(str)
    if "unit" in wide.columns:
        analyte = analyte + " (" + wide["unit"].astype(str) + ")"
    if "assay" in wide.columns:
        analyte = wide["assay"].astype(str) + ": " + analyte
    cells = wide.assign(
        _analyte=analyte,
        _cell=[
            "" if pd.isna(n) or n == 0 else f"{format_number(m, 2)} ({n:.0f})"
            for m, n in zip(wide["median"], wide["n"], strict=True)
        ],
    )
    table = cells.pivot_table(
        index=["_analyte", "group"],
        columns="visit",
        values="_cell",
        aggfunc="first",
        sort=False,
    )
    known = [v for v in visit_order if v in table.columns]
    table = table[known + sorted(c for c in table.columns if c not in known)]
    table = table.fillna("")
    table = table.loc[(table != "").any(axis=1)].reset_index()
    table.columns = [
        "Assay: analyte (unit)",
        "Dose level and route",
        *table.columns[2:],
    ]
    return table


def _mri_section(ctx: _Context) -> Section | None:
    if not ctx.has("mri"):
        return None
    from analyses.mri import summarize_new_lesions

    group = ctx.safety.set_index("subject_id")["group"].astype(str)
    data = ctx.tables["mri"]
    data = data.assign(group=data["subject_id"].map(group)).dropna(subset=["group"])
    if data.empty:
        return None
    result = summarize_new_lesions(data, by="group")
    return Section(
        "MRI",
        (
            _result_table(
                result,
                "New MRI lesions by dose level and route",
                "analyses.mri.summarize_new_lesions",
                ctx.cutoff_note,
            ),
        ),
    )


def _appendix(ctx: _Context) -> list[Section]:
    s = ctx.subjects.sort_values("subject_id")
    subjects = pd.DataFrame(
        {
            "Subject": s["subject_id"],
            "Site": s["site_id"],
            "Cohort": s["cohort_id"],
            "Dose level and route": s["group"].astype(str),
            "Sex": s["sex"],
            "Age": s["age"].astype(str).replace("<NA>", "")
            if "age" in s.columns
            else "",
            "First dose": s["first_dose_date"].map(format_date),
            "Last dose": s["last_dose_date"].map(format_date),
            "Withdrawn": s["withdrawal_date"].map(format_date),
            "Died": s["death_date"].map(format_date),
        }
    )
    serious = ctx.teae["serious"].astype("boolean").fillna(False).astype(bool)
    sites = "; ".join(f"{site.id}: {site.name}" for site in ctx.protocol.sites)
    return [
        Section(
            "Appendix: subject listings",
            (
                Table(
                    "Listing of enrolled subjects",
                    subjects,
                    (f"Sites: {sites}.", ctx.cutoff_note),
                    listing=True,
                ),
                Table(
                    "Listing of serious treatment-emergent adverse events",
                    _ae_listing(ctx.teae.loc[serious]),
                    ("Study day 1 = day of the first administration.", ctx.cutoff_note),
                    listing=True,
                ),
                Table(
                    "Listing of all adverse events",
                    _ae_listing(ctx.ae).assign(
                        TEAE=ctx.ae.sort_values(
                            ["subject_id", "onset_date", "ae_seq"], kind="mergesort"
                        )["teae"]
                        .map({True: "Y", False: "N"})
                        .to_numpy()
                        if "teae" in ctx.ae
                        else ""
                    ),
                    (
                        "All reported adverse events, treatment-emergent or not. Study "
                        "day 1 = day of the first administration.",
                        ctx.cutoff_note,
                    ),
                    listing=True,
                ),
            ),
            appendix=True,
        )
    ]


def _validation_status(findings: pd.DataFrame) -> str:
    if "severity" not in findings.columns:
        return ""
    severity = findings["severity"].astype(str).str.lower()
    errors, warns = int((severity == "error").sum()), int((severity == "warning").sum())
    status = f"{errors} error(s), {warns} warning(s)"
    if errors:
        status += " - records with errors are included; see 'trialdata validate'"
    return status


def build_safety_report(
    trial: Trial,
    *,
    snapshot_label: str = "folder",
    snapshot_hash: str | None = None,
    data_cutoff: str | pd.Timestamp | None = None,
    generated_utc: datetime | None = None,
) -> Report:
    """Build the DMC safety report of a trial.

    Parameters
    ----------
    trial : trialdata.Trial
        The trial (from a folder or a store snapshot).
    snapshot_label : str, default "folder"
        Store snapshot label, or ``"folder"``.
    snapshot_hash : str, optional
        Content hash of the snapshot; defaults to ``trial.content_hash``.
    data_cutoff : str or pandas.Timestamp, optional
        Data cut-off date (inclusive); defaults to the latest date in the data.
    generated_utc : datetime, optional
        Generation time (UTC); defaults to now.

    Returns
    -------
    Report
        The report, ready for any writer.

    Raises
    ------
    ValueError
        When the trial has no subjects or no date to take the cut-off from.
    """
    if not len(trial.table("subjects")):
        raise ValueError("the trial has no subjects; nothing to report")
    data = trial.analysis_data(data_cutoff)
    cutoff = data.cutoff
    ctx = _Context(data)
    info = trial.protocol.trial
    when = generated_utc or datetime.now(UTC)
    provenance = ReportProvenance(
        trial_id=info.id,
        trial_title=info.title,
        protocol_version=info.protocol_version,
        snapshot_label=snapshot_label,
        snapshot_hash=snapshot_hash or trial.content_hash,
        source=trial.source,
        data_cutoff=format_date(cutoff),
        package_version=package_version(),
        generated_utc=when.astimezone(UTC).isoformat(timespec="seconds"),
        validation=_validation_status(trial.findings),
    )
    sections: list[Section] = [_disposition_section(ctx)]
    if len(ctx.safety):
        sections += [
            _exposure_section(ctx),
            _escalation_section(ctx),
            _ae_section(ctx),
        ]
        for optional in (
            _aesi_section,
            _lab_section,
            _death_section,
            _efficacy_section,
            _immuno_section,
            _mri_section,
        ):
            section = optional(ctx)
            if section is not None:
                sections.append(section)
    else:
        sections.append(
            Section(
                "Safety",
                (Paragraph("No subject has been treated up to the data cut-off."),),
            )
        )
    sections += _appendix(ctx)
    return Report(
        title=f"{info.id}: safety report for the Data Monitoring Committee",
        provenance=provenance,
        sections=tuple(sections),
        results=dict(ctx.results),
        rules=dict(data.rules),
    )
