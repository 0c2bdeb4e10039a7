"""Adverse events."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from schemas.domains import _fields
from schemas.terms import ActionTaken, Aesi, GradingScale, Outcome, Relatedness, values


def _flag(description: str, title: str) -> Any:
    return pa.Field(nullable=True, description=description, title=title)


class AdverseEvents(pa.DataFrameModel):
    """One row per adverse event (SDTM AE), coded to MedDRA SOC and preferred term."""

    subject_id: Series[_fields.Text] = _fields.subject_id()
    ae_seq: Series[pd.Int64Dtype] = pa.Field(
        ge=1, description="Event number within the subject.", title="AE number"
    )
    term: Series[_fields.Text] = pa.Field(
        description="Verbatim term as reported by the site.", title="Reported term"
    )
    preferred_term: Series[_fields.Text] = pa.Field(
        description="MedDRA preferred term (AEDECOD).", title="Preferred term"
    )
    soc: Series[_fields.Text] = pa.Field(
        description="MedDRA primary system organ class (AESOC).", title="SOC"
    )
    onset_date: Series[pd.Timestamp] = _fields.date("Onset date", "Onset")
    onset_date_imputed: Series[_fields.Text] | None = pa.Field(
        nullable=True,
        isin=["D", "M", "Y"],
        description="Onset date imputation flag: D day, M month, Y year imputed.",
        title="Onset imputed",
    )
    resolution_date: Series[pd.Timestamp] = _fields.date(
        "Resolution date; empty when ongoing", "Resolution", nullable=True
    )
    grade: Series[pd.Int64Dtype] = pa.Field(
        ge=1, le=5, description="Toxicity grade 1-5 on grading_scale.", title="Grade"
    )
    grading_scale: Series[_fields.Text] = pa.Field(
        isin=values(GradingScale),
        description="Scale of the grade: CTCAE, ASTCT (CRS/ICANS) or MAGIC (GvHD).",
        title="Grading scale",
    )
    grading_version: Series[_fields.Text] = pa.Field(
        description="Version of the grading scale, e.g. 5.0 for CTCAE v5.0.",
        title="Scale version",
    )
    serious: Series[pd.BooleanDtype] = pa.Field(
        description="Serious adverse event (AESER).", title="Serious"
    )
    ser_death: Series[pd.BooleanDtype] | None = _flag("Results in death.", "Death")
    ser_life_threatening: Series[pd.BooleanDtype] | None = _flag(
        "Is life threatening.", "Life threatening"
    )
    ser_hospitalisation: Series[pd.BooleanDtype] | None = _flag(
        "Requires or prolongs hospitalisation.", "Hospitalisation"
    )
    ser_disability: Series[pd.BooleanDtype] | None = _flag(
        "Persistent or significant disability.", "Disability"
    )
    ser_congenital_anomaly: Series[pd.BooleanDtype] | None = _flag(
        "Congenital anomaly or birth defect.", "Congenital anomaly"
    )
    ser_medically_important: Series[pd.BooleanDtype] | None = _flag(
        "Other medically important event.", "Medically important"
    )
    relatedness: Series[_fields.Text] = pa.Field(
        isin=values(Relatedness),
        description="Causality towards the study product.",
        title="Relatedness",
    )
    outcome: Series[_fields.Text] = pa.Field(
        isin=values(Outcome), description="Outcome (CDISC C66768).", title="Outcome"
    )
    action_taken: Series[_fields.Text] = pa.Field(
        isin=values(ActionTaken),
        description="Action taken with the study product (CDISC C66767).",
        title="Action taken",
    )
    dlt: Series[pd.BooleanDtype] = pa.Field(
        description="Dose-limiting toxicity as judged by the safety review.",
        title="DLT",
    )
    aesi: Series[_fields.Text] = pa.Field(
        nullable=True,
        isin=values(Aesi),
        description="AE of special interest: CRS, ICANS, GVHD or INFUSION REACTION.",
        title="AESI",
    )

    class Config:
        """pandera configuration."""

        name = "adverse_events"
        strict = False
        unique = ["subject_id", "ae_seq"]
