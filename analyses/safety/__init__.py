"""Safety analyses: TEAE derivation, AE tables, AESI grading, lab grading and shifts.

Every table function returns a :class:`~analyses.safety._base.SafetyResult` with
``to_frame()`` (long, unrounded), ``summary()`` (display frame) and ``to_gt()``
(great_tables), and records every number-changing parameter in its provenance.
"""

from analyses.safety.population import (
    derive_dose_groups,
    derive_safety_population,
    select_population,
)
from analyses.safety.soc_pt import (
    EventCountTable,
    tabulate_events_by_soc_pt,
    tabulate_grade3_teae,
    tabulate_serious_teae,
    tabulate_teae_by_soc_pt,
)
from analyses.safety.stats import clopper_pearson, fisher_exact_p, round_value
from analyses.safety.teae import (
    compute_imputation_flags,
    compute_imputed_dates,
    derive_imputed_onset,
    derive_teae,
)

__all__ = [
    "EventCountTable",
    "clopper_pearson",
    "compute_imputation_flags",
    "compute_imputed_dates",
    "derive_dose_groups",
    "derive_imputed_onset",
    "derive_safety_population",
    "derive_teae",
    "fisher_exact_p",
    "round_value",
    "select_population",
    "tabulate_events_by_soc_pt",
    "tabulate_grade3_teae",
    "tabulate_serious_teae",
    "tabulate_teae_by_soc_pt",
]
