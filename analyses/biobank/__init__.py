"""Biobank analyses.

Aliquot availability, samples to destroy after consent withdrawal, freeze-thaw,
temperature-excursion, storage-limit and chain-of-custody checks.
"""

from analyses.biobank._flags import SampleFlagResult
from analyses.biobank.availability import AvailabilityResult, tabulate_availability
from analyses.biobank.custody import flag_custody_gaps
from analyses.biobank.quality import (
    DEFAULT_TEMPERATURE_LIMITS_C,
    flag_freeze_thaw,
    flag_storage_limit,
    flag_temperature_excursions,
)
from analyses.biobank.withdrawal import WithdrawalScope, list_samples_to_destroy

__all__ = [
    "DEFAULT_TEMPERATURE_LIMITS_C",
    "AvailabilityResult",
    "SampleFlagResult",
    "WithdrawalScope",
    "flag_custody_gaps",
    "flag_freeze_thaw",
    "flag_storage_limit",
    "flag_temperature_excursions",
    "list_samples_to_destroy",
    "tabulate_availability",
]
