"""Time to event: ADTTE derivation, Kaplan-Meier, log-rank, Cox, RMST, figures."""

from analyses.survival._warnings import ConvergenceWarning, SmallSampleWarning
from analyses.survival.competing_events import derive_competing_events
from analyses.survival.competing_risks import (
    CumulativeIncidenceResult,
    GrayTestResult,
    compare_cumulative_incidence,
    estimate_cumulative_incidence,
)
from analyses.survival.counting_process import add_time_dependent_covariate
from analyses.survival.cox import CoxResult, estimate_cox
from analyses.survival.cox_predict import (
    BaselineHazardResult,
    CoxSurvivalResult,
    estimate_baseline_hazard,
    predict_survival,
)
from analyses.survival.cox_zph import CoxZphResult, proportional_hazards_test
from analyses.survival.derive import CNSR_CODES, derive_adtte, derive_time_origin
from analyses.survival.fine_gray import FineGrayResult, estimate_fine_gray
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
    "BaselineHazardResult",
    "ConvergenceWarning",
    "CoxResult",
    "CoxSurvivalResult",
    "CoxZphResult",
    "CumulativeIncidenceResult",
    "FineGrayResult",
    "GrayTestResult",
    "KaplanMeierResult",
    "LogrankResult",
    "RmstResult",
    "SmallSampleWarning",
    "add_time_dependent_covariate",
    "compare_cumulative_incidence",
    "compare_survival",
    "derive_adtte",
    "derive_competing_events",
    "derive_time_origin",
    "estimate_baseline_hazard",
    "estimate_cox",
    "estimate_cumulative_incidence",
    "estimate_fine_gray",
    "estimate_follow_up",
    "estimate_kaplan_meier",
    "estimate_rmst",
    "plot_kaplan_meier",
    "predict_survival",
    "proportional_hazards_test",
]
