"""Time to event: ADTTE derivation, Kaplan-Meier, log-rank, Cox, RMST, figures."""

from analyses.survival._warnings import ConvergenceWarning, SmallSampleWarning
from analyses.survival.cox import CoxResult, estimate_cox
from analyses.survival.derive import CNSR_CODES, derive_adtte, derive_time_origin
from analyses.survival.kaplan_meier import (
    KaplanMeierResult,
    estimate_follow_up,
    estimate_kaplan_meier,
)
from analyses.survival.logrank import LogrankResult, compare_survival
from analyses.survival.plots import plot_kaplan_meier
from analyses.survival.rmst import RmstResult, estimate_rmst

__all__ = [
    "CNSR_CODES",
    "ConvergenceWarning",
    "CoxResult",
    "KaplanMeierResult",
    "LogrankResult",
    "RmstResult",
    "SmallSampleWarning",
    "compare_survival",
    "derive_adtte",
    "derive_time_origin",
    "estimate_cox",
    "estimate_follow_up",
    "estimate_kaplan_meier",
    "estimate_rmst",
    "plot_kaplan_meier",
]
