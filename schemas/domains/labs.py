"""Laboratory results."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from schemas.domains import _fields


class Labs(pa.DataFrameModel):
    """One row per laboratory result (SDTM LB), in standard units."""

    subject_id: Series[_fields.Text] = _fields.subject_id()
    visit: Series[_fields.Text] | None = _fields.visit()
    lab_date: Series[pd.Timestamp] = _fields.date("Collection date", "Collection date")
    test_code: Series[_fields.Text] = pa.Field(
        matches_pattern={"pattern": r"^[A-Z][A-Z0-9]{0,7}$"},
        description="Test short code (SDTM LBTESTCD), e.g. NEUT, PLAT, ALT.",
        title="Test code",
    )
    value: Series[float] = pa.Field(
        nullable=True, description="Numeric result in standard units.", title="Result"
    )
    unit: Series[_fields.Text] = pa.Field(
        nullable=True,
        description="Unit of value (e.g. 10^9/L, g/L, U/L).",
        title="Unit",
    )
    lower_limit: Series[float] = pa.Field(
        nullable=True, description="Lower limit of the normal range.", title="LLN"
    )
    upper_limit: Series[float] = pa.Field(
        nullable=True, description="Upper limit of the normal range.", title="ULN"
    )

    class Config:
        """pandera configuration."""

        name = "labs"
        strict = False
        unique = ["subject_id", "test_code", "lab_date"]
