"""Cohorts: the dose level and route each cohort receives."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from schemas.domains import _fields
from schemas.terms import AdministrationRoute, values


class Cohorts(pa.DataFrameModel):
    """One row per cohort: planned dose level and route."""

    cohort_id: Series[_fields.Text] = _fields.identifier(
        "Cohort identifier.", "Cohort", unique=True
    )
    dose_level: Series[pd.Int64Dtype] = pa.Field(
        ge=1, description="Protocol dose-level index (1 = lowest).", title="Dose level"
    )
    route: Series[_fields.Text] = pa.Field(
        isin=values(AdministrationRoute),
        description="Planned route of administration (CDISC C66729).",
        title="Route",
    )
    planned_subjects: Series[pd.Int64Dtype] | None = pa.Field(
        nullable=True,
        ge=1,
        description="Planned number of subjects.",
        title="Planned n",
    )
    description: Series[_fields.Text] | None = pa.Field(
        nullable=True, description="Free-text description.", title="Description"
    )

    class Config:
        """pandera configuration."""

        name = "cohorts"
        strict = False
