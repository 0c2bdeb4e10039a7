"""Centrally read MRI readouts (multiple sclerosis)."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from schemas.domains import _fields
from schemas.terms import MriPipeline, values


class MriReadouts(pa.DataFrameModel):
    """One row per centrally read brain MRI scan."""

    subject_id: Series[_fields.Text] = _fields.subject_id()
    visit: Series[_fields.Text] | None = _fields.visit()
    scan_date: Series[pd.Timestamp] = _fields.date("Acquisition date", "Scan date")
    gd_lesions: Series[pd.Int64Dtype] = pa.Field(
        nullable=True,
        ge=0,
        description="Number of gadolinium-enhancing T1 lesions.",
        title="Gd+ lesions",
    )
    new_enlarging_t2_lesions: Series[pd.Int64Dtype] = pa.Field(
        nullable=True,
        ge=0,
        description="New or enlarging T2 lesions since the previous scan "
        "(empty on the baseline scan).",
        title="New/enlarging T2",
    )
    t2_lesion_volume_ml: Series[float] = pa.Field(
        nullable=True,
        ge=0,
        description="T2/FLAIR lesion volume, mL.",
        title="T2 volume",
    )
    brain_volume_ml: Series[float] | None = pa.Field(
        nullable=True,
        gt=0,
        description="Whole-brain volume, mL (cross-sectional pipeline).",
        title="Brain volume",
    )
    pbvc_pct: Series[float] = pa.Field(
        nullable=True,
        ge=-20,
        le=20,
        description="Percentage brain volume change since the previous scan "
        "(longitudinal pipeline).",
        title="PBVC (%)",
    )
    scanner_id: Series[_fields.Text] = pa.Field(
        description="Scanner identifier (site, make, model, field strength).",
        title="Scanner",
    )
    protocol_id: Series[_fields.Text] = pa.Field(
        description="Acquisition protocol identifier.", title="MRI protocol"
    )
    pipeline: Series[_fields.Text] = pa.Field(
        isin=values(MriPipeline),
        description="Reading pipeline: cross (single time point) or long "
        "(longitudinal).",
        title="Pipeline",
    )
    reader_id: Series[_fields.Text] = pa.Field(
        description="Central reader (NVEVALID).", title="Reader"
    )

    class Config:
        """pandera configuration."""

        name = "mri"
        strict = False
        unique = ["subject_id", "scan_date"]
