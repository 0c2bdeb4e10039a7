"""Analysis datasets: every fact about a trial derived once (ADaM-like).

``derive_analysis_data`` applies the data cut-off and derives the subject-level
dataset (ADSL: first and last dose, dose level, route, escalation and cohort role,
death, last contact, follow-up, DLT window and evaluability), adverse events (ADAE:
study day, treatment emergence, DLT within the window), exposure (ADEX) and time to
event for the protocol's endpoints (ADTTE). The CLI, the report and scripts read
them; no other module derives these facts.
"""

from analyses.datasets.adae import (
    SUBJECT_COLUMNS,
    attach_subject_columns,
    derive_adae,
    derive_adex,
    derive_endpoints,
)
from analyses.datasets.adsl import (
    ADSL_COLUMNS,
    derive_adsl,
    dlt_window_rule,
    study_day,
)
from analyses.datasets.analysis_data import AnalysisData, derive_analysis_data
from analyses.datasets.cutoff import (
    CUTOFF_RULE,
    DATE_COLUMNS,
    apply_cutoff,
    last_contact_dates,
    latest_date,
    normalise_cutoff,
)
from analyses.datasets.groups import ROUTE_ABBREVIATIONS, group_label, label_groups

__all__ = [
    "ADSL_COLUMNS",
    "CUTOFF_RULE",
    "DATE_COLUMNS",
    "ROUTE_ABBREVIATIONS",
    "SUBJECT_COLUMNS",
    "AnalysisData",
    "apply_cutoff",
    "attach_subject_columns",
    "derive_adae",
    "derive_adex",
    "derive_adsl",
    "derive_analysis_data",
    "derive_endpoints",
    "dlt_window_rule",
    "group_label",
    "label_groups",
    "last_contact_dates",
    "latest_date",
    "normalise_cutoff",
    "study_day",
]
