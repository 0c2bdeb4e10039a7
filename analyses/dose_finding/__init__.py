"""Dose finding: designs, decisions, MTD selection, pathways, operating characteristics.

Designs share one interface (:class:`DoseFindingDesign`): ``decide(n, y, current)``
returns a :class:`Decision` (escalate / stay / de-escalate / stop, next dose, reason),
``select_mtd(n, y)`` the final :class:`MTDSelection`, and ``simulate`` runs many trials
at once for :func:`simulate_oc`. Dose levels are 1-based everywhere. A trial's
escalation is summarised from its subject-level analysis dataset (ADSL, see
:mod:`analyses.datasets`) by :func:`summarize_escalation`.

>>> boin = BOIN(target=0.3, n_doses=5)
>>> boin.decide(n=[3, 3, 0, 0, 0], y=[0, 1, 0, 0, 0], current=2).action
'stay'
"""

from analyses.dose_finding._base import Decision, DoseFindingDesign, SimulatedTrials
from analyses.dose_finding.adherence import DesignAdherence, review_design_adherence
from analyses.dose_finding.boin import BOIN, boin_boundaries
from analyses.dose_finding.crm import CRM, CRMFit, tite_weights
from analyses.dose_finding.crm_model import getprior
from analyses.dose_finding.escalation import (
    EscalationGroup,
    EscalationSummary,
    summarize_escalation,
)
from analyses.dose_finding.from_protocol import design_from_protocol
from analyses.dose_finding.i3plus3 import I3Plus3
from analyses.dose_finding.interval_design import (
    DecisionTable,
    IntervalDesign,
    elimination_boundary,
)
from analyses.dose_finding.isotonic import isotonic_regression
from analyses.dose_finding.mtd_selection import MTDSelection, isotonic_estimates
from analyses.dose_finding.mtpi2 import MTPI2
from analyses.dose_finding.pathways import (
    DoseTransitionPathways,
    dose_transition_pathways,
)
from analyses.dose_finding.plots import (
    plot_decision_table,
    plot_dose_pathways,
    plot_selection,
)
from analyses.dose_finding.simulation import (
    OperatingCharacteristics,
    simulate_oc,
    true_mtd,
)
from analyses.dose_finding.three_plus_three import (
    ExactOC,
    ThreePlusThree,
    prob_escalate_3plus3,
)
from analyses.dose_finding.three_plus_three_history import (
    InconsistentHistoryError,
    cohort_history,
)
from analyses.dose_finding.tite_crm import TITECRM
from analyses.dose_finding.tolerances import PatientTolerances

__all__ = [
    "BOIN",
    "CRM",
    "MTPI2",
    "TITECRM",
    "CRMFit",
    "Decision",
    "DecisionTable",
    "DesignAdherence",
    "DoseFindingDesign",
    "DoseTransitionPathways",
    "EscalationGroup",
    "EscalationSummary",
    "ExactOC",
    "I3Plus3",
    "InconsistentHistoryError",
    "IntervalDesign",
    "MTDSelection",
    "OperatingCharacteristics",
    "PatientTolerances",
    "SimulatedTrials",
    "ThreePlusThree",
    "boin_boundaries",
    "cohort_history",
    "design_from_protocol",
    "dose_transition_pathways",
    "elimination_boundary",
    "getprior",
    "isotonic_estimates",
    "isotonic_regression",
    "plot_decision_table",
    "plot_dose_pathways",
    "plot_selection",
    "prob_escalate_3plus3",
    "review_design_adherence",
    "simulate_oc",
    "summarize_escalation",
    "tite_weights",
    "true_mtd",
]
