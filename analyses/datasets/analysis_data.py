"""The analysis datasets of a trial, derived once per data snapshot and cut-off.

:func:`derive_analysis_data` applies the cut-off to the domain tables and derives ADSL,
ADAE, ADEX and ADTTE with one set of named rules. :class:`AnalysisData` holds them with
the rules; the CLI, the report and scripts all read it, so that every output states
the same number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd

from analyses._results import Provenance, make_provenance
from analyses.datasets.adae import (
    attach_subject_columns,
    derive_adae,
    derive_adex,
    derive_endpoints,
)
from analyses.datasets.adsl import (
    ActualDoseRule,
    EvaluableRule,
    FollowupRule,
    derive_adsl,
    dlt_window_rule,
)
from analyses.datasets.cutoff import (
    CUTOFF_RULE,
    apply_cutoff,
    latest_date,
    normalise_cutoff,
)
from analyses.dosing import FIRST_DOSE_RULE
from analyses.safety.teae import MissingOnsetRule
from schemas.protocol import Protocol

if TYPE_CHECKING:
    from analyses.dose_finding.adherence import DesignAdherence
    from analyses.dose_finding.escalation import EscalationSummary

__all__ = ["AnalysisData", "derive_analysis_data"]

#: Domains every analysis dataset needs.
REQUIRED_DOMAINS = ("subjects", "cohorts", "administrations", "adverse_events")
#: Domains whose content hashes the provenance records (those the datasets derive
#: from; the trial's content hash covers every table).
PROVENANCE_DOMAINS = (
    *REQUIRED_DOMAINS,
    "disease_assessments",
    "survival_status",
)


@dataclass(frozen=True)
class AnalysisData:
    """A trial's analysis datasets at one cut-off, with the rules that made them.

    Attributes
    ----------
    protocol : schemas.protocol.Protocol
        The trial's protocol.
    cutoff : pandas.Timestamp
        The data cut-off (a date; records dated after it are excluded).
    cutoff_source : str
        ``"given"`` or ``"latest date in the data"``.
    rules : dict
        Every derivation rule, by name (printed in provenance and footnotes).
    tables : Mapping of str to pandas.DataFrame
        The domain tables after the cut-off.
    adsl : pandas.DataFrame
        Subject level (:func:`analyses.datasets.derive_adsl`).
    adae : pandas.DataFrame
        Adverse events (:func:`analyses.datasets.derive_adae`).
    adex : pandas.DataFrame
        Administrations (:func:`analyses.datasets.derive_adex`).
    adtte : pandas.DataFrame
        Time to event for the protocol's endpoints (empty when it has none).
    adlb, adim : pandas.DataFrame
        Labs and immunomonitoring with baseline and change from baseline, derived
        on first use (properties).
    provenance : Provenance
        Input hashes and row counts, rules, version, time.
    """

    protocol: Protocol
    cutoff: pd.Timestamp
    cutoff_source: str
    rules: dict[str, Any]
    tables: Mapping[str, pd.DataFrame] = field(repr=False)
    adsl: pd.DataFrame = field(repr=False)
    adae: pd.DataFrame = field(repr=False)
    adex: pd.DataFrame = field(repr=False)
    adtte: pd.DataFrame = field(repr=False)
    provenance: Provenance = field(repr=False)

    @cached_property
    def adlb(self) -> pd.DataFrame:
        """Labs with baseline (last value on or before the first-dose day) and flags.

        Returns
        -------
        pandas.DataFrame
            :func:`analyses.safety.derive_lab_baseline` of the labs after the cut-off
            (``is_baseline``, ``post_baseline``, ``baseline_value``, baseline limits)
            with the ADSL columns of :data:`SUBJECT_COLUMNS`; empty without labs.
        """
        from analyses.safety.lab_grading import derive_lab_baseline

        labs = self.tables.get("labs")
        if labs is None:
            labs = pd.DataFrame(
                columns=["subject_id", "test_code", "lab_date", "value"]
            )
        derived = derive_lab_baseline(labs.reset_index(drop=True), self.adsl)
        return attach_subject_columns(derived, self.adsl)

    @cached_property
    def adim(self) -> pd.DataFrame:
        """Immunomonitoring results with their baseline and change from baseline.

        Returns
        -------
        pandas.DataFrame
            :func:`analyses.immunomonitoring.derive_change_from_baseline` of the
            results after the cut-off (baseline: the last result on or before the
            first dose; below the LLOQ: LLOQ/2), with the ADSL columns of
            :data:`SUBJECT_COLUMNS`; empty without immunomonitoring.
        """
        from analyses.immunomonitoring.baseline import derive_change_from_baseline

        results = self.tables.get("immunomonitoring")
        if results is None or results.empty:
            empty = pd.DataFrame({"subject_id": pd.Series(dtype="string")})
            return attach_subject_columns(empty, self.adsl)
        derived = derive_change_from_baseline(
            results.reset_index(drop=True),
            administrations=self.tables["administrations"],
        )
        return attach_subject_columns(
            derived.drop(columns=["first_dose_date"], errors="ignore"), self.adsl
        )

    @property
    def safety(self) -> pd.DataFrame:
        """ADSL rows of the safety population (at least one dose given)."""
        data = self.adsl.loc[self.adsl["safety"].astype(bool)].copy()
        data["group"] = data["group"].cat.remove_unused_categories()
        return data.reset_index(drop=True)

    @property
    def teae(self) -> pd.DataFrame:
        """ADAE rows that are treatment-emergent, in the safety population."""
        keep = self.adae["teae"].astype(bool) & self.adae["safety"].astype(bool)
        return self.adae.loc[keep.to_numpy()].reset_index(drop=True)

    @property
    def cutoff_note(self) -> str:
        """The cut-off rule as a footnote sentence."""
        return (
            f"Data cut-off {self.cutoff.date().isoformat()} ({self.cutoff_source}); "
            f"{CUTOFF_RULE}."
        )

    def describe_rules(self) -> list[str]:
        """Return one line per derivation rule, for outputs to print.

        Returns
        -------
        list of str
            ``name: rule`` lines.
        """
        return [f"{name}: {value}" for name, value in self.rules.items()]

    def escalation(self) -> EscalationSummary:
        """Summarise the escalation(s): counts, decision and the MTD once complete.

        Returns
        -------
        analyses.dose_finding.EscalationSummary
            From ADSL and the protocol.
        """
        from analyses.dose_finding.escalation import summarize_escalation

        return summarize_escalation(self.adsl, self.protocol)

    def adherence(self) -> DesignAdherence:
        """Rebuild the escalation from dosing dates and check it against the design.

        Returns
        -------
        analyses.dose_finding.DesignAdherence
            One row per cohort; every dose assignment the design did not allow at
            that time is a deviation.
        """
        from analyses.dose_finding.adherence import review_design_adherence

        return review_design_adherence(self.adsl, self.protocol)


def derive_analysis_data(
    protocol: Protocol,
    tables: Mapping[str, pd.DataFrame],
    *,
    cutoff: object = None,
    dlt_window_days: int | None = None,
    actual_dose_rule: ActualDoseRule = "max",
    evaluable_rule: EvaluableRule = "dlt_or_complete_window",
    followup_rule: FollowupRule = "cutoff",
    teae_worsening: bool = True,
    missing_onset: MissingOnsetRule = "teae",
    assessment_schedule: float | Sequence[float] | None = None,
) -> AnalysisData:
    """Derive a trial's analysis datasets at a cut-off.

    Parameters
    ----------
    protocol : schemas.protocol.Protocol
        The trial's protocol.
    tables : Mapping of str to pandas.DataFrame
        Domain tables without source columns; ``subjects``, ``cohorts``,
        ``administrations`` and ``adverse_events`` are required.
    cutoff : str, date or pandas.Timestamp, optional
        Data cut-off (inclusive); default the latest date recorded in the data.
    dlt_window_days : int, optional
        DLT window (study days 1 to N); default the protocol's.
    actual_dose_rule, evaluable_rule, followup_rule
        See :func:`analyses.datasets.derive_adsl`.
    teae_worsening, missing_onset
        The treatment-emergence rule (:func:`analyses.safety.derive_teae`).
    assessment_schedule : float, sequence of float or None
        Missed-assessment rule of the time-to-event endpoints (None: not applied).

    Returns
    -------
    AnalysisData
        The datasets and their rules.

    Raises
    ------
    ValueError
        When a required domain is missing, the cut-off is not a date, or the data
        hold no date to take the default cut-off from.
    """
    missing = [name for name in REQUIRED_DOMAINS if name not in tables]
    if missing:
        raise ValueError(f"missing domain table(s): {', '.join(missing)}")
    if cutoff is None:
        found = latest_date(tables)
        if found is None:
            raise ValueError("the trial has no dates; give the cut-off explicitly")
        day, source = found, "latest date in the data"
    else:
        day, source = normalise_cutoff(cutoff), "given"
    window = protocol.dlt_window_days if dlt_window_days is None else dlt_window_days
    cut = apply_cutoff(tables, day)
    adsl = derive_adsl(
        cut,
        protocol,
        cutoff=day,
        dlt_window_days=window,
        actual_dose_rule=actual_dose_rule,
        evaluable_rule=evaluable_rule,
        followup_rule=followup_rule,
    )
    adae = derive_adae(
        cut["adverse_events"],
        adsl,
        dlt_window_days=window,
        worsening=teae_worsening,
        missing_onset=missing_onset,
    )
    adex = derive_adex(cut["administrations"], adsl)
    endpoints = protocol.analysis_endpoints
    adtte = derive_endpoints(
        cut, adsl, endpoints, cutoff=day, assessment_schedule=assessment_schedule
    )
    rules: dict[str, Any] = {
        "cutoff": f"{day.date().isoformat()} ({source})",
        "cutoff_rule": CUTOFF_RULE,
        "first_dose": FIRST_DOSE_RULE,
        "actual_dose_level": f"{actual_dose_rule} dose level given",
        "dlt_window": dlt_window_rule(window),
        "dlt_window_days": window,
        "dlt_evaluable": evaluable_rule,
        "followup_end": (
            "cut-off, withdrawal or death, whichever is first"
            if followup_rule == "cutoff"
            else "last dated record, withdrawal or death, whichever is first"
        ),
        "escalation_by": protocol.design.escalation_by,
        "expansion_cohorts": list(protocol.design.expansion_cohorts),
        "backfill_cohorts": list(protocol.design.backfill_cohorts),
        "teae_worsening": teae_worsening,
        "missing_onset": missing_onset,
        "indication": str(protocol.indication),
        "endpoints": list(endpoints),
        "assessment_schedule": assessment_schedule,
        "lab_baseline": "last value on or before the first-dose day",
        "immunomonitoring_baseline": (
            "last result on or before the first dose; below the LLOQ: LLOQ/2"
        ),
    }
    return AnalysisData(
        protocol=protocol,
        cutoff=day,
        cutoff_source=source,
        rules=rules,
        tables=cut,
        adsl=adsl,
        adae=adae,
        adex=adex,
        adtte=adtte,
        provenance=make_provenance(
            "derive_analysis_data",
            inputs={
                name: tables[name] for name in PROVENANCE_DOMAINS if name in tables
            },
            **rules,
        ),
    )
