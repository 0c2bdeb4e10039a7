"""The unit of every numeric column of the domain schemas.

The schemas state units in their column names and descriptions (``weight_kg``,
"lesion volume, mL"); this table gives them one by one for the data dictionary and the
upload templates. A numeric column is either in :data:`UNITS` or in
:data:`DIMENSIONLESS` (numbers, grades and indexes that have no unit); the tests
check that every numeric column of every domain is in one of them, so a column added
to a schema without its unit is noticed.
"""

from __future__ import annotations

__all__ = ["DIMENSIONLESS", "UNITS", "unit_of"]

#: Column name -> unit (the same name means the same quantity in every domain).
UNITS: dict[str, str] = {
    "birth_year": "calendar year",
    "age": "years",
    "weight_kg": "kg",
    "planned_subjects": "subjects",
    "total_cells_1e6": "10^6 cells",
    "viability_pct": "%",
    "purity_pct": "%",
    "cd3_pct": "%",
    "cd16_pct": "%",
    "mrd_pct": "%",
    "pbvc_pct": "%",
    "cd3_t_cells_per_kg": "cells/kg",
    "fold_expansion": "fold",
    "dose_amount": "the row's dose_unit",
    "value": "the row's unit",
    "lower_limit": "the row's unit",
    "upper_limit": "the row's unit",
    "lloq": "the row's unit",
    "uloq": "the row's unit",
    "gd_lesions": "lesions",
    "new_enlarging_t2_lesions": "lesions",
    "t2_lesion_volume_ml": "mL",
    "brain_volume_ml": "mL",
    "freeze_thaw_count": "cycles",
    "temperature_c": "°C",
    "edss": "EDSS points",
}

#: Numeric columns without a unit: sequence numbers, indexes and grades.
DIMENSIONLESS: frozenset[str] = frozenset(
    {"admin_seq", "ae_seq", "event_seq", "dose_level", "grade"}
)


def unit_of(column: str, dose_units: tuple[str, ...] = ()) -> str | None:
    """Return the unit of a column, or None when it has none.

    Parameters
    ----------
    column : str
        Column name.
    dose_units : tuple of str, optional
        The protocol's dose units; ``dose_amount`` then names them.

    Returns
    -------
    str or None
        E.g. ``"kg"``; None for text, dates and dimensionless numbers.
    """
    if column == "dose_amount" and dose_units:
        return "the row's dose_unit: " + " or ".join(dose_units)
    return UNITS.get(column)
