"""Safety analyses: TEAE derivation, AE tables, AESI grading, lab grading and shifts.

Every table function returns a :class:`~analyses.safety._base.SafetyResult` with
``to_frame()`` (long, unrounded), ``summary()`` (display frame) and ``to_gt()``
(great_tables), and records every number-changing parameter in its provenance.
"""

from analyses.safety._base import SafetyResult
from analyses.safety.aesi import (
    compute_liver_stage,
    compute_lower_gi_stage,
    compute_skin_stage,
    derive_crs_grade,
    derive_icans_grade,
    derive_magic_grade,
    derive_magic_stages,
)
from analyses.safety.deaths import DeathsTable, summarize_deaths
from analyses.safety.demographics import DemographicsTable, summarize_demographics
from analyses.safety.dlt import DltTable, tabulate_dlt
from analyses.safety.exposure import ExposureSummary, summarize_exposure
from analyses.safety.exposure_adjusted import (
    ExposureAdjustedIncidence,
    derive_exposure_time,
    estimate_exposure_adjusted_incidence,
)
from analyses.safety.grades import (
    MaxGradeTable,
    tabulate_aesi_by_max_grade,
    tabulate_teae_by_max_grade,
)
from analyses.safety.group_tests import (
    GroupTest,
    cochran_mantel_haenszel,
    compare_groups,
    fisher_exact_rxc,
    kruskal_wallis,
    oneway_anova,
    pearson_chisq,
    welch_anova,
)
from analyses.safety.lab_grading import (
    CTCAE_V4,
    CTCAE_V5,
    CtcaeCriterion,
    compute_range_indicator,
    derive_ctcae_grade,
    derive_lab_baseline,
)
from analyses.safety.listings import (
    AdverseEventListing,
    list_adverse_events,
    list_serious_adverse_events,
)
from analyses.safety.overview import summarize_teae_overview
from analyses.safety.poisson_rates import (
    poisson_rate_ci,
    poisson_rate_ratio,
    rate_difference_wald,
)
from analyses.safety.population import (
    derive_combined_group,
    derive_dose_groups,
    derive_safety_population,
    select_population,
)
from analyses.safety.shifts import (
    INDICATOR_CODES,
    ShiftTable,
    read_range_indicator,
    tabulate_grade_shift,
    tabulate_range_shift,
)
from analyses.safety.soc_pt import (
    EventCountTable,
    tabulate_events_by_soc_pt,
    tabulate_grade3_teae,
    tabulate_serious_teae,
    tabulate_teae_by_soc_pt,
    tabulate_teae_leading_to_discontinuation,
)
from analyses.safety.stats import (
    clopper_pearson,
    fisher_exact_p,
    format_p_value,
    risk_difference_ci,
    round_value,
)
from analyses.safety.teae import (
    compute_imputation_flags,
    compute_imputed_dates,
    derive_imputed_onset,
    derive_teae,
)
from analyses.safety.time_to_onset import TimeToOnsetTable, summarize_time_to_onset

__all__ = [
    "CTCAE_V4",
    "CTCAE_V5",
    "INDICATOR_CODES",
    "AdverseEventListing",
    "CtcaeCriterion",
    "DeathsTable",
    "DemographicsTable",
    "DltTable",
    "EventCountTable",
    "ExposureAdjustedIncidence",
    "ExposureSummary",
    "GroupTest",
    "MaxGradeTable",
    "SafetyResult",
    "ShiftTable",
    "TimeToOnsetTable",
    "clopper_pearson",
    "cochran_mantel_haenszel",
    "compare_groups",
    "compute_imputation_flags",
    "compute_imputed_dates",
    "compute_liver_stage",
    "compute_lower_gi_stage",
    "compute_range_indicator",
    "compute_skin_stage",
    "derive_combined_group",
    "derive_crs_grade",
    "derive_ctcae_grade",
    "derive_dose_groups",
    "derive_exposure_time",
    "derive_icans_grade",
    "derive_imputed_onset",
    "derive_lab_baseline",
    "derive_magic_grade",
    "derive_magic_stages",
    "derive_safety_population",
    "derive_teae",
    "estimate_exposure_adjusted_incidence",
    "fisher_exact_p",
    "fisher_exact_rxc",
    "format_p_value",
    "kruskal_wallis",
    "list_adverse_events",
    "list_serious_adverse_events",
    "oneway_anova",
    "pearson_chisq",
    "poisson_rate_ci",
    "poisson_rate_ratio",
    "rate_difference_wald",
    "read_range_indicator",
    "risk_difference_ci",
    "round_value",
    "select_population",
    "summarize_deaths",
    "summarize_demographics",
    "summarize_exposure",
    "summarize_teae_overview",
    "summarize_time_to_onset",
    "tabulate_aesi_by_max_grade",
    "tabulate_dlt",
    "tabulate_events_by_soc_pt",
    "tabulate_grade3_teae",
    "tabulate_grade_shift",
    "tabulate_range_shift",
    "tabulate_serious_teae",
    "tabulate_teae_by_max_grade",
    "tabulate_teae_by_soc_pt",
    "tabulate_teae_leading_to_discontinuation",
    "welch_anova",
]
