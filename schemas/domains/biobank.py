"""Biobank samples and their chain-of-custody events."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from schemas.domains import _fields
from schemas.terms import (
    ConsentScope,
    ConsentStatus,
    CustodyEventType,
    SampleType,
    StorageTemperature,
    values,
)


class BiobankSamples(pa.DataFrameModel):
    """One row per biobank sample or aliquot (MIABIS sample, SPREC pre-analytics)."""

    sample_id: Series[_fields.Text] = _fields.identifier(
        "Persistent pseudonymised sample identifier.", "Sample", unique=True
    )
    parent_sample_id: Series[_fields.Text] = _fields.identifier(
        "Sample this aliquot or derivative was made from.",
        "Parent sample",
        nullable=True,
    )
    subject_id: Series[_fields.Text] = _fields.subject_id()
    visit: Series[_fields.Text] | None = _fields.visit()
    sample_type: Series[_fields.Text] = pa.Field(
        isin=values(SampleType), description="Sample type (MIABIS).", title="Type"
    )
    container: Series[_fields.Text] | None = pa.Field(
        nullable=True,
        description="Primary container (SPREC code, e.g. SHP sodium heparin).",
        title="Container",
    )
    collection_time: Series[pd.Timestamp] = _fields.date(
        "Collection date-time", "Collected"
    )
    processing_time: Series[pd.Timestamp] = _fields.date(
        "Processing start date-time", "Processed", nullable=True
    )
    freezing_time: Series[pd.Timestamp] = _fields.date(
        "Date-time the sample was frozen", "Frozen", nullable=True
    )
    storage_temperature: Series[_fields.Text] = pa.Field(
        nullable=True,
        isin=values(StorageTemperature),
        description="Storage temperature category (MIABIS/SPREC).",
        title="Storage temperature",
    )
    storage_position: Series[_fields.Text] = pa.Field(
        nullable=True,
        description="Freezer/rack/box/position, unique among stored samples.",
        title="Position",
    )
    freeze_thaw_count: Series[pd.Int64Dtype] = pa.Field(
        ge=0, description="Number of freeze-thaw cycles so far.", title="Freeze-thaw"
    )
    consent_scope: Series[_fields.Text] = pa.Field(
        isin=values(ConsentScope),
        description="Uses the subject consented to for this sample.",
        title="Consent scope",
    )
    consent_status: Series[_fields.Text] = pa.Field(
        isin=values(ConsentStatus),
        description="ACTIVE, or WITHDRAWN once the subject withdrew consent.",
        title="Consent status",
    )
    storage_limit_date: Series[pd.Timestamp] | None = _fields.date(
        "Date until which the sample may be stored", "Storage limit", nullable=True
    )
    destroyed_date: Series[pd.Timestamp] = _fields.date(
        "Date the sample was destroyed", "Destroyed", nullable=True
    )
    destruction_reason: Series[_fields.Text] | None = pa.Field(
        nullable=True, description="Why the sample was destroyed.", title="Reason"
    )

    class Config:
        """pandera configuration."""

        name = "biobank_samples"
        strict = False


class CustodyEvents(pa.DataFrameModel):
    """One row per chain-of-custody event of a sample (SDTM BE)."""

    sample_id: Series[_fields.Text] = _fields.identifier(
        "Sample the event belongs to (biobank_samples).", "Sample"
    )
    event_seq: Series[pd.Int64Dtype] = pa.Field(
        ge=1, description="Event number within the sample.", title="Event"
    )
    event_time: Series[pd.Timestamp] = _fields.date("Event date-time", "Time")
    event_type: Series[_fields.Text] = pa.Field(
        isin=values(CustodyEventType), description="Event type.", title="Event type"
    )
    party: Series[_fields.Text] = pa.Field(
        description="Person or organisation holding the sample after the event.",
        title="Custodian",
    )
    location: Series[_fields.Text] = pa.Field(
        nullable=True,
        description="Where the sample is after the event.",
        title="Location",
    )
    temperature_c: Series[float] | None = pa.Field(
        nullable=True,
        ge=-273,
        le=60,
        description="Recorded temperature, degrees C (shipping logger or freezer).",
        title="Temperature (C)",
    )

    class Config:
        """pandera configuration."""

        name = "custody_events"
        strict = False
        unique = ["sample_id", "event_seq"]
