"""Time to event: ADTTE derivation, Kaplan-Meier, log-rank, Cox, RMST, figures."""

from analyses.survival.kaplan_meier import KaplanMeierResult, estimate_kaplan_meier

__all__ = ["KaplanMeierResult", "estimate_kaplan_meier"]
