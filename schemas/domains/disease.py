"""Disease assessments and survival status."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from schemas.domains import _fields
from schemas.terms import Response, values


class DiseaseAssessments(pa.DataFrameModel):
    """One row per disease assessment: AML response and MRD, or MS relapse and EDSS."""

    subject_id: Series[_fields.Text] = _fields.subject_id()
    visit: Series[_fields.Text] | None = _fields.visit()
    assessment_date: Series[pd.Timestamp] = _fields.date(
        "Assessment date", "Assessment date"
    )
    response: Series[_fields.Text] = pa.Field(
        nullable=True,
        isin=values(Response),
        description="Disease response (ELN 2017 for AML).",
        title="Response",
    )
    progression: Series[pd.BooleanDtype] = pa.Field(
        description="Progression or relapse documented at this assessment.",
        title="Progression",
    )
    mrd_pct: Series[float] | None = pa.Field(
        nullable=True,
        ge=0,
        le=100,
        description="Measurable residual disease by flow, % of leukocytes.",
        title="MRD (%)",
    )
    relapse: Series[pd.BooleanDtype] | None = pa.Field(
        nullable=True,
        description="MS clinical relapse since the previous assessment.",
        title="MS relapse",
    )
    edss: Series[float] | None = pa.Field(
        nullable=True,
        ge=0,
        le=10,
        description="Expanded Disability Status Scale score (MS).",
        title="EDSS",
    )

    class Config:
        """pandera configuration."""

        name = "disease_assessments"
        strict = False
        unique = ["subject_id", "assessment_date"]


class SurvivalStatus(pa.DataFrameModel):
    """One row per subject: death, last known alive and new anticancer therapy."""

    subject_id: Series[_fields.Text] = _fields.subject_id(unique=True)
    last_known_alive_date: Series[pd.Timestamp] = _fields.date(
        "Last date the subject was known to be alive", "Last known alive"
    )
    death_date: Series[pd.Timestamp] = _fields.date(
        "Date of death", "Death date", nullable=True
    )
    death_cause: Series[_fields.Text] = pa.Field(
        nullable=True, description="Primary cause of death.", title="Cause of death"
    )
    new_therapy_date: Series[pd.Timestamp] = _fields.date(
        "Start of the first new anticancer or disease-modifying therapy",
        "New therapy start",
        nullable=True,
    )
    new_therapy: Series[_fields.Text] | None = pa.Field(
        nullable=True, description="The new therapy.", title="New therapy"
    )

    class Config:
        """pandera configuration."""

        name = "survival_status"
        strict = False
