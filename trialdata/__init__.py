"""trialdata: the data side of early-phase cell-therapy clinical trials.

``import trialdata as td`` gives the public API: ``td.schemas`` and ``td.analyses`` are
the data contracts and the statistics.
"""

import analyses
import schemas
from trialdata.errors import InputError, StoreError, TrialDataError, UnreadableFileError
from trialdata.findings import FINDING_COLUMNS, Finding, Severity, findings_frame
from trialdata.trial import Trial, TrialDataWarning
from trialdata.validation import ValidationReport, validate_folder

__all__ = [
    "FINDING_COLUMNS",
    "Finding",
    "InputError",
    "Severity",
    "StoreError",
    "Trial",
    "TrialDataError",
    "TrialDataWarning",
    "UnreadableFileError",
    "ValidationReport",
    "analyses",
    "findings_frame",
    "schemas",
    "validate_folder",
]
