"""Immunomonitoring analyses.

Change from baseline, LLOQ rules, summaries, mixed models, NK kinetics, MRD
negativity and figures.
"""

from analyses.immunomonitoring.ancova import AncovaResult, estimate_ancova
from analyses.immunomonitoring.baseline import BaselineRule, derive_change_from_baseline
from analyses.immunomonitoring.groups import (
    GROUP_COLUMNS,
    derivation_rules,
    derive_first_dose,
    derive_groups,
    derive_study_day,
)
from analyses.immunomonitoring.kinetics import (
    KineticsResult,
    derive_fraction,
    summarize_kinetics,
)
from analyses.immunomonitoring.lloq import (
    LloqRule,
    UloqRule,
    compute_below_lloq,
    compute_lloq_imputed,
)
from analyses.immunomonitoring.mixed import MixedModelResult, estimate_mixed_model
from analyses.immunomonitoring.mmrm import MmrmResult, estimate_mmrm
from analyses.immunomonitoring.mrd import (
    MrdResult,
    compute_clopper_pearson,
    summarize_mrd_negativity,
)
from analyses.immunomonitoring.plots import plot_mean_ci, plot_spider
from analyses.immunomonitoring.summaries import (
    ImmunoSummaryResult,
    summarize_immunomonitoring,
)
from analyses.immunomonitoring.tobit import CensoredNormalFit, estimate_censored_normal

__all__ = [
    "GROUP_COLUMNS",
    "AncovaResult",
    "BaselineRule",
    "CensoredNormalFit",
    "ImmunoSummaryResult",
    "KineticsResult",
    "LloqRule",
    "MixedModelResult",
    "MmrmResult",
    "MrdResult",
    "UloqRule",
    "compute_below_lloq",
    "compute_clopper_pearson",
    "compute_lloq_imputed",
    "derivation_rules",
    "derive_change_from_baseline",
    "derive_first_dose",
    "derive_fraction",
    "derive_groups",
    "derive_study_day",
    "estimate_ancova",
    "estimate_censored_normal",
    "estimate_mixed_model",
    "estimate_mmrm",
    "plot_mean_ci",
    "plot_spider",
    "summarize_immunomonitoring",
    "summarize_kinetics",
    "summarize_mrd_negativity",
]
