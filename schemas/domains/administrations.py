"""Administrations: every planned dose, given or not."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from schemas.domains import _fields
from schemas.terms import AdministrationRoute, values


class Administrations(pa.DataFrameModel):
    """One row per planned administration of the cell product (SDTM EX/EC)."""

    subject_id: Series[_fields.Text] = _fields.subject_id()
    admin_seq: Series[pd.Int64Dtype] = pa.Field(
        ge=1,
        description="Administration number within the subject (1 = first).",
        title="Administration",
    )
    admin_date: Series[pd.Timestamp] = _fields.date(
        "Date (and time) of administration; empty when not given",
        "Administration date",
        nullable=True,
    )
    visit: Series[_fields.Text] | None = _fields.visit()
    given: Series[pd.BooleanDtype] = pa.Field(
        description="Whether the dose was given (Y/N).", title="Given"
    )
    reason_not_given: Series[_fields.Text] = pa.Field(
        nullable=True,
        description="Why a planned dose was not given (required when given = N).",
        title="Reason not given",
    )
    dose_level: Series[pd.Int64Dtype] = pa.Field(
        nullable=True,
        ge=1,
        description="Protocol dose-level index given.",
        title="Dose level",
    )
    dose_amount: Series[float] = pa.Field(
        nullable=True, ge=0, description="Dose given, in dose_unit.", title="Dose"
    )
    dose_unit: Series[_fields.Text] = pa.Field(
        nullable=True,
        description="Dose unit, as in the protocol's dose levels (e.g. 10^6 cells/kg).",
        title="Dose unit",
    )
    route: Series[_fields.Text] = pa.Field(
        nullable=True,
        isin=values(AdministrationRoute),
        description="Route of administration (CDISC C66729).",
        title="Route",
    )
    injection_site: Series[_fields.Text] | None = pa.Field(
        nullable=True,
        description="Anatomical site (lymph node or skin site) for local injections.",
        title="Injection site",
    )
    lot_id: Series[_fields.Text] = _fields.identifier(
        "Product lot administered (product_lots table).", "Lot", nullable=True
    )

    class Config:
        """pandera configuration."""

        name = "administrations"
        strict = False
        unique = ["subject_id", "admin_seq"]
