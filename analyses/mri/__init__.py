"""MS MRI analyses.

New-lesion counts and annualised rates, negative binomial rate ratios, NEDA-3,
brain-volume change and longitudinal-comparability flags.
"""

from analyses.mri.atrophy import PbvcResult, summarize_pbvc
from analyses.mri.event_rates import EventRateResult, estimate_event_rates
from analyses.mri.lesions import LesionCountResult, summarize_new_lesions
from analyses.mri.neda import (
    NedaResult,
    compute_edss_threshold,
    derive_confirmed_progression,
    summarize_neda3,
)
from analyses.mri.rate_ratio import RateRatioResult, estimate_lesion_rate_ratio
from analyses.mri.scans import BaselineScanRule, derive_scan_flags

__all__ = [
    "BaselineScanRule",
    "EventRateResult",
    "LesionCountResult",
    "NedaResult",
    "PbvcResult",
    "RateRatioResult",
    "compute_edss_threshold",
    "derive_confirmed_progression",
    "derive_scan_flags",
    "estimate_event_rates",
    "estimate_lesion_rate_ratio",
    "summarize_neda3",
    "summarize_new_lesions",
    "summarize_pbvc",
]
