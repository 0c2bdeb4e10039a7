"""Subjects: one row per enrolled subject."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from schemas.domains import _fields
from schemas.terms import Sex, values


class Subjects(pa.DataFrameModel):
    """One row per enrolled subject (SDTM DM).

    Direct identifiers are never accepted: the subject id is a pseudonym and only the
    birth year (not the full birth date) may be recorded.
    """

    subject_id: Series[_fields.Text] = _fields.subject_id(unique=True)
    site_id: Series[_fields.Text] = _fields.identifier(
        "Site identifier as listed in the protocol's sites.", "Site"
    )
    cohort_id: Series[_fields.Text] = _fields.identifier(
        "Cohort the subject was enrolled into (cohorts table).", "Cohort"
    )
    sex: Series[_fields.Text] = pa.Field(
        isin=values(Sex), description="Sex: F, M or U (unknown).", title="Sex"
    )
    birth_year: Series[pd.Int64Dtype] | None = pa.Field(
        nullable=True,
        ge=1900,
        le=2100,
        description="Year of birth (full birth dates are direct identifiers).",
        title="Birth year",
    )
    age: Series[pd.Int64Dtype] | None = pa.Field(
        nullable=True, ge=0, le=120, description="Age in years at consent.", title="Age"
    )
    weight_kg: Series[float] | None = pa.Field(
        nullable=True,
        gt=0,
        le=400,
        description="Body weight in kg at baseline (for cells/kg dosing).",
        title="Weight (kg)",
    )
    consent_date: Series[pd.Timestamp] = _fields.date(
        "Date informed consent was signed", "Consent date"
    )
    enrolment_date: Series[pd.Timestamp] | None = _fields.date(
        "Date the subject was enrolled", "Enrolment date", nullable=True
    )
    withdrawal_date: Series[pd.Timestamp] = _fields.date(
        "Date consent was withdrawn; empty while consent stands",
        "Consent withdrawal date",
        nullable=True,
    )
    withdrawal_reason: Series[_fields.Text] | None = pa.Field(
        nullable=True,
        description="Reason for withdrawal or discontinuation, as reported.",
        title="Withdrawal reason",
    )

    class Config:
        """pandera configuration."""

        name = "subjects"
        strict = False
