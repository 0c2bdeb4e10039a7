"""Immunomonitoring results: flow cytometry, ELISpot, chimerism, cytokines."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from schemas.domains import _fields
from schemas.terms import Assay, values


class Immunomonitoring(pa.DataFrameModel):
    """One row per immunomonitoring result (SDTM CP/IS/LB-style)."""

    subject_id: Series[_fields.Text] = _fields.subject_id()
    visit: Series[_fields.Text] | None = _fields.visit()
    collection_date: Series[pd.Timestamp] = _fields.date(
        "Sample collection date", "Collected"
    )
    sample_id: Series[_fields.Text] | None = pa.Field(
        nullable=True, description="Biobank sample measured.", title="Sample"
    )
    assay: Series[_fields.Text] = pa.Field(
        isin=values(Assay), description="Assay.", title="Assay"
    )
    analyte: Series[_fields.Text] = pa.Field(
        description="Cell population (e.g. Treg CD4+CD25+CD127-, CD56dim CD16+ NK), "
        "antigen or analyte measured.",
        title="Population/analyte",
    )
    parent_population: Series[_fields.Text] = pa.Field(
        nullable=True,
        description="Parent gate for population frequencies (e.g. CD4+ T cells).",
        title="Parent population",
    )
    value: Series[float] = pa.Field(
        nullable=True,
        description="Result; below LLOQ results carry the reported value and "
        "below_lloq = Y.",
        title="Value",
    )
    unit: Series[_fields.Text] = pa.Field(
        description="Unit: %, cells/uL, SFU/10^6 PBMC, pg/mL, % donor.", title="Unit"
    )
    lloq: Series[float] = pa.Field(
        nullable=True, ge=0, description="Lower limit of quantification.", title="LLOQ"
    )
    uloq: Series[float] = pa.Field(
        nullable=True, gt=0, description="Upper limit of quantification.", title="ULOQ"
    )
    batch: Series[_fields.Text] = pa.Field(
        nullable=True, description="Assay run or plate batch.", title="Batch"
    )

    class Config:
        """pandera configuration."""

        name = "immunomonitoring"
        strict = False
        unique = ["subject_id", "collection_date", "assay", "analyte"]
