"""Where an escalation stands: counts, the decision and, once complete, the MTD.

Reads the subject-level analysis dataset (ADSL, :func:`analyses.datasets.derive_adsl`):
who was treated, at which dose level, in which escalation (one per route or pooled, as
the protocol says) and in which role, and who is DLT-evaluable with a DLT. Only the
escalation cohorts feed the design's step rules; expansion and backfill subjects are
counted beside them and, when the protocol says so, in the final MTD estimate.

An escalation is **complete** when the design stops (e.g. 3+3 has found its MTD, or
every dose is too toxic) or when it has treated ``max_subjects`` escalation subjects
and none is still within the DLT window; its MTD is then stated: for 3+3 the rule's
MTD, for the interval and model designs their final selection (isotonic or model
estimate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analyses._results import AnalysisResult, make_provenance
from analyses.dose_finding._base import Decision, DoseFindingDesign
from analyses.dose_finding.from_protocol import design_from_protocol
from analyses.dose_finding.three_plus_three import ThreePlusThree
from schemas.protocol import Protocol

__all__ = ["EscalationGroup", "EscalationSummary", "summarize_escalation"]

#: The per-dose-level counts of an escalation, in column order.
COUNT_COLUMNS = (
    "treated",
    "evaluable",
    "dlt",
    "pending",
    "not_evaluable",
    "expansion_treated",
    "expansion_evaluable",
    "expansion_dlt",
)

#: Estimate columns kept from a design's MTD selection.
_ESTIMATE_COLUMNS = (
    "dose",
    "n",
    "dlt",
    "phat",
    "lower",
    "upper",
    "p_overdose",
    "ptox",
    "ptox_lower",
    "ptox_upper",
    "p_exceeds_target",
    "rate",
)


@dataclass(frozen=True)
class EscalationGroup:
    """One escalation (a route, or all routes pooled).

    Attributes
    ----------
    name : str
        The escalation group (a route, or ``"pooled"``).
    table : pandas.DataFrame
        One row per protocol dose level: ``dose_level`` and :data:`COUNT_COLUMNS`.
    status : {"not started", "ongoing", "complete", "undecidable"}
        Where the escalation stands.
    current_dose : int or None
        Dose level of the most recent escalation cohort.
    last_cohort_dlts : int or None
        DLTs in that cohort.
    decision : Decision or None
        The design's decision for the next cohort (None before the first).
    mtd : int or None
        The MTD, stated once the escalation is complete (None: not yet, or no dose
        tolerated).
    mtd_reason : str
        How the MTD was chosen, or why there is none.
    estimates : pandas.DataFrame or None
        Per-dose estimates of the final selection (DLT rates).
    note : str
        Anything the reader must know (e.g. subjects still within the window).
    """

    name: str
    table: pd.DataFrame
    status: str
    current_dose: int | None
    last_cohort_dlts: int | None
    decision: Decision | None
    mtd: int | None
    mtd_reason: str
    estimates: pd.DataFrame | None
    note: str

    @property
    def n(self) -> np.ndarray:
        """DLT-evaluable escalation subjects per dose level (the design's ``n``)."""
        return self.table["evaluable"].to_numpy(np.int64)

    @property
    def y(self) -> np.ndarray:
        """Subjects with a DLT per dose level (the design's ``y``)."""
        return self.table["dlt"].to_numpy(np.int64)

    def describe(self) -> str:
        """Return where the escalation stands in one paragraph (CLI and report).

        Returns
        -------
        str
            Status, the design's decision, the MTD when complete, and notes.
        """
        dec = self.decision
        if self.status == "not started":
            start = "" if dec is None else f" at dose level {dec.current_dose}"
            text = f"Not started: no subject treated yet; start{start}."
        elif self.status == "undecidable" or dec is None:
            text = f"Decision: none; {self.mtd_reason}."
        else:
            nxt = "none (stop)" if dec.next_dose is None else f"DL{dec.next_dose}"
            text = (
                f"Decision ({dec.design}): {dec.action} from DL{dec.current_dose}; "
                f"next cohort: {nxt}. {dec.reason}"
            )
            if self.status == "complete":
                mtd = "none" if self.mtd is None else f"DL{self.mtd}"
                text += f" Escalation complete; MTD: {mtd} ({self.mtd_reason})."
            else:
                text += " Escalation ongoing; MTD not yet stated."
        if self.note:
            text += f" Note: {self.note}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Return the group as plain data (JSON-ready).

        Returns
        -------
        dict
            Name, status, counts per dose level, decision, MTD and estimates.
        """
        dec = self.decision
        return {
            "escalation_group": self.name,
            "status": self.status,
            "current_dose": self.current_dose,
            "last_cohort_dlts": self.last_cohort_dlts,
            "action": None if dec is None else dec.action,
            "next_dose": None if dec is None else dec.next_dose,
            "reason": None if dec is None else dec.reason,
            "mtd": self.mtd,
            "mtd_reason": self.mtd_reason,
            "note": self.note,
            "dose_levels": [
                {k: int(v) for k, v in rec.items()}
                for rec in self.table.to_dict(orient="records")
            ],
            "estimates": None
            if self.estimates is None
            else [
                {k: (None if pd.isna(v) else float(v)) for k, v in rec.items()}
                for rec in self.estimates.to_dict(orient="records")
            ],
        }


@dataclass(frozen=True, kw_only=True)
class EscalationSummary(AnalysisResult):
    """Every escalation of a trial: counts, decision and MTD.

    Attributes
    ----------
    design : str
        The design's name.
    design_parameters : dict
        The design's parameters.
    escalation_by : {"pooled", "route"}
        How escalation runs, from the protocol.
    groups : tuple of EscalationGroup
        One per escalation.
    """

    design: str
    design_parameters: dict[str, Any]
    escalation_by: str
    groups: tuple[EscalationGroup, ...]

    def group(self, name: str) -> EscalationGroup:
        """Return the escalation ``name`` (a route, or ``"pooled"``).

        Parameters
        ----------
        name : str
            The escalation group.

        Returns
        -------
        EscalationGroup
            The group.
        """
        for item in self.groups:
            if item.name == name:
                return item
        known = ", ".join(g.name for g in self.groups)
        raise KeyError(f"no escalation {name!r}; the trial has: {known}")

    @property
    def complete(self) -> bool:
        """Whether every escalation is complete."""
        return bool(self.groups) and all(g.status == "complete" for g in self.groups)

    def to_frame(self) -> pd.DataFrame:
        """Return the long frame: counts per dose level and per-group results.

        Returns
        -------
        pandas.DataFrame
            ``escalation_group``, ``dose_level`` (missing on group rows), ``stat``,
            ``value``: the counts of :data:`COUNT_COLUMNS` per dose level and
            ``current_dose``, ``next_dose``, ``mtd`` and ``complete`` per group.
        """
        parts = []
        for item in self.groups:
            long = item.table.melt(
                id_vars=["dose_level"], value_vars=list(COUNT_COLUMNS), var_name="stat"
            )
            long.insert(0, "escalation_group", item.name)
            parts.append(long)
            dec = item.decision
            parts.append(
                pd.DataFrame(
                    {
                        "escalation_group": item.name,
                        "dose_level": pd.NA,
                        "stat": ["current_dose", "next_dose", "mtd", "complete"],
                        "value": [
                            item.current_dose,
                            None if dec is None else dec.next_dose,
                            item.mtd,
                            float(item.status == "complete"),
                        ],
                    }
                )
            )
        out = pd.concat(parts, ignore_index=True)
        out["dose_level"] = out["dose_level"].astype("Int64")
        out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(float)
        return out

    def summary(self) -> pd.DataFrame:
        """Return the counts per escalation and dose level.

        Returns
        -------
        pandas.DataFrame
            ``escalation_group``, ``dose_level`` and :data:`COUNT_COLUMNS`.
        """
        return pd.concat(
            [g.table.assign(escalation_group=g.name) for g in self.groups],
            ignore_index=True,
        )[["escalation_group", "dose_level", *COUNT_COLUMNS]]

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as plain data (JSON-ready).

        Returns
        -------
        dict
            Design, parameters and one entry per escalation.
        """
        return {
            "design": self.design,
            "design_parameters": self.design_parameters,
            "escalation_by": self.escalation_by,
            "complete": self.complete,
            "escalations": [g.to_dict() for g in self.groups],
        }


def _counts(
    subjects: pd.DataFrame, levels: np.ndarray, prefix: str = ""
) -> dict[str, np.ndarray]:
    level = subjects["dose_level"].astype("Int64")

    def per_level(mask: pd.Series) -> np.ndarray:
        counted = level[mask.to_numpy(bool)].value_counts()
        return counted.reindex(levels, fill_value=0).to_numpy(np.int64)

    evaluable = subjects["dlt_evaluable"].astype(bool)
    return {
        f"{prefix}treated": per_level(pd.Series(True, index=subjects.index)),
        f"{prefix}evaluable": per_level(evaluable),
        f"{prefix}dlt": per_level(evaluable & subjects["dlt"].astype(bool)),
        f"{prefix}pending": per_level(subjects["dlt_pending"].astype(bool)),
        f"{prefix}not_evaluable": per_level(
            subjects["withdrawn_in_window"].astype(bool)
        ),
    }


def _estimates(design: DoseFindingDesign, n: np.ndarray, y: np.ndarray) -> Any:
    selection = design.select_mtd(n, y)
    keep = [c for c in _ESTIMATE_COLUMNS if c in selection.estimates]
    return selection, selection.estimates[keep].reset_index(drop=True)


def _summarize_group(
    name: str,
    escalation: pd.DataFrame,
    expansion: pd.DataFrame,
    design: DoseFindingDesign,
    protocol: Protocol,
) -> EscalationGroup:
    levels = np.arange(1, len(protocol.dose_levels) + 1)
    own = _counts(escalation, levels)
    extra = _counts(expansion, levels, "expansion_")
    table = pd.DataFrame(
        {
            "dose_level": levels,
            **own,
            **{k: v for k, v in extra.items() if k in COUNT_COLUMNS},
        }
    )[["dose_level", *COUNT_COLUMNS]]
    n, y = own["evaluable"], own["dlt"]
    pending = int(own["pending"].sum())
    note = (
        f"{pending} treated subject(s) still within the DLT window and not yet "
        "evaluable."
        if pending
        else ""
    )
    if escalation.empty:
        decision = design.decide(np.zeros_like(n), np.zeros_like(y), design.start_dose)
        return EscalationGroup(
            name, table, "not started", None, None, decision, None, "", None, note
        )
    ordered = escalation.sort_values(
        ["first_dose_date", "subject_id"], kind="mergesort"
    )
    latest = ordered.iloc[-1]
    current = int(latest["dose_level"])
    cohort = ordered.loc[
        (ordered["cohort_id"] == latest["cohort_id"])
        & (ordered["dose_level"] == current)
    ]
    last_dlts = int((cohort["dlt"] & cohort["dlt_evaluable"]).sum())
    try:
        decision = design.decide(n, y, current, last_cohort_dlts=last_dlts)
    except ValueError as error:
        return EscalationGroup(
            name,
            table,
            "undecidable",
            current,
            last_dlts,
            None,
            None,
            f"the {design.name} design cannot be applied to these counts: {error}",
            None,
            note,
        )
    max_subjects = protocol.design.max_subjects
    stopped = decision.action == "stop"
    full = len(escalation) >= max_subjects and pending == 0
    if not (stopped or full):
        return EscalationGroup(
            name,
            table,
            "ongoing",
            current,
            last_dlts,
            decision,
            None,
            "not stated: the escalation is ongoing",
            None,
            note,
        )
    final_n, final_y = n, y
    if protocol.design.expansion_in_mtd:
        final_n = n + extra["expansion_evaluable"]
        final_y = y + extra["expansion_dlt"]
    why_complete = (
        "the design stopped"
        if stopped
        else f"{len(escalation)} escalation subjects treated (maximum {max_subjects})"
    )
    if isinstance(design, ThreePlusThree):
        selection, estimates = _estimates(design, n, y)
        mtd = decision.mtd if stopped else selection.mtd
        reason = f"3+3 rules ({why_complete})"
    else:
        selection, estimates = _estimates(design, final_n, final_y)
        # a design that stops without an MTD has found every dose too toxic
        mtd = None if stopped and decision.mtd is None else selection.mtd
        reason = f"{design.name} final selection ({why_complete}): {selection.reason}"
        if protocol.design.expansion_in_mtd and extra["expansion_evaluable"].any():
            reason += " Expansion and backfill subjects included."
    if mtd is None:
        reason += " No dose is tolerated." if stopped else " No MTD selected."
    return EscalationGroup(
        name,
        table,
        "complete",
        current,
        last_dlts,
        decision,
        mtd,
        reason,
        estimates,
        note,
    )


def summarize_escalation(adsl: pd.DataFrame, protocol: Protocol) -> EscalationSummary:
    """Summarise every escalation of a trial from its subject-level dataset.

    Parameters
    ----------
    adsl : pandas.DataFrame
        The subject-level dataset (:func:`analyses.datasets.derive_adsl`):
        ``safety``, ``cohort_id``, ``cohort_role``, ``escalation_group``,
        ``dose_level``, ``first_dose_date``, ``dlt``, ``dlt_evaluable``,
        ``dlt_pending``, ``withdrawn_in_window``.
    protocol : schemas.protocol.Protocol
        The design, its parameters and how escalation runs.

    Returns
    -------
    EscalationSummary
        One entry per escalation (the protocol's routes when escalating per route,
        else one pooled escalation).
    """
    design = design_from_protocol(protocol)
    treated = adsl.loc[adsl["safety"].astype(bool)]
    treated = treated.loc[
        treated["dose_level"].between(1, len(protocol.dose_levels)).fillna(False)
    ]
    if protocol.design.escalation_by == "route":
        names = [str(r) for r in protocol.routes]
    else:
        names = ["pooled"]
    groups = []
    for name in names:
        mine = treated.loc[treated["escalation_group"] == name]
        role = mine["cohort_role"].astype(str)
        groups.append(
            _summarize_group(
                name,
                mine.loc[role.eq("escalation").to_numpy()],
                mine.loc[~role.eq("escalation").to_numpy()],
                design,
                protocol,
            )
        )
    return EscalationSummary(
        provenance=make_provenance(
            "summarize_escalation",
            inputs={"adsl": adsl},
            design=design.name,
            escalation_by=protocol.design.escalation_by,
            max_subjects=protocol.design.max_subjects,
            expansion_in_mtd=protocol.design.expansion_in_mtd,
        ),
        design=design.name,
        design_parameters=design.parameters(),
        escalation_by=protocol.design.escalation_by,
        groups=tuple(groups),
    )
