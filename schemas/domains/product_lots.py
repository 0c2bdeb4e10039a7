"""Product lots and their release results."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from schemas.domains import _fields
from schemas.terms import ReleaseStatus, values


class ProductLots(pa.DataFrameModel):
    """One row per manufactured cell-product lot with its release testing."""

    lot_id: Series[_fields.Text] = _fields.identifier(
        "Product lot (batch) number.", "Lot", unique=True
    )
    manufacture_date: Series[pd.Timestamp] = _fields.date(
        "Date manufacture finished", "Manufactured"
    )
    release_date: Series[pd.Timestamp] = _fields.date(
        "Date of the QP release decision", "Release date", nullable=True
    )
    expiry_date: Series[pd.Timestamp] | None = _fields.date(
        "Date after which the lot must not be administered", "Expiry", nullable=True
    )
    release_status: Series[_fields.Text] = pa.Field(
        isin=values(ReleaseStatus),
        description="Release decision: RELEASED, REJECTED or PENDING.",
        title="Release status",
    )
    total_cells_1e6: Series[float] = pa.Field(
        nullable=True,
        gt=0,
        description="Total viable cells, 10^6.",
        title="Cells (10^6)",
    )
    viability_pct: Series[float] = pa.Field(
        nullable=True,
        ge=0,
        le=100,
        description="Viable cells, % of total.",
        title="Viability (%)",
    )
    purity_pct: Series[float] = pa.Field(
        nullable=True,
        ge=0,
        le=100,
        description="Target cell population (NK or DC phenotype), % of viable cells.",
        title="Purity (%)",
    )
    cd3_t_cells_per_kg: Series[float] | None = pa.Field(
        nullable=True,
        ge=0,
        description="CD3+ T cells per kg of recipient weight (allogeneic products).",
        title="CD3+ T cells/kg",
    )
    cd3_pct: Series[float] | None = pa.Field(
        nullable=True,
        ge=0,
        le=100,
        description="CD3+ T cells, % of viable cells.",
        title="CD3+ (%)",
    )
    cd16_pct: Series[float] | None = pa.Field(
        nullable=True,
        ge=0,
        le=100,
        description="CD16+ cells, % of NK cells.",
        title="CD16+ (%)",
    )
    fold_expansion: Series[float] | None = pa.Field(
        nullable=True, gt=0, description="Fold expansion in culture.", title="Expansion"
    )
    sterility_passed: Series[pd.BooleanDtype] | None = pa.Field(
        nullable=True,
        description="Sterility, mycoplasma and endotoxin tests all passed.",
        title="Sterility",
    )

    class Config:
        """pandera configuration."""

        name = "product_lots"
        strict = False
