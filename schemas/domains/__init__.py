"""One pandera model per domain, and the registry that describes them.

The registry is what readers, validation and the store iterate over: each
:class:`DomainSpec` names the domain, its model, its key and its column types.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandera.pandas as pa

from schemas.domains.administrations import Administrations
from schemas.domains.adverse_events import AdverseEvents
from schemas.domains.biobank import BiobankSamples, CustodyEvents
from schemas.domains.cohorts import Cohorts
from schemas.domains.disease import DiseaseAssessments, SurvivalStatus
from schemas.domains.immunomonitoring import Immunomonitoring
from schemas.domains.labs import Labs
from schemas.domains.mri import MriReadouts
from schemas.domains.product_lots import ProductLots
from schemas.domains.subjects import Subjects

__all__ = [
    "DOMAINS",
    "Administrations",
    "AdverseEvents",
    "BiobankSamples",
    "Cohorts",
    "CustodyEvents",
    "DiseaseAssessments",
    "DomainSpec",
    "Immunomonitoring",
    "Labs",
    "MriReadouts",
    "ProductLots",
    "Subjects",
    "SurvivalStatus",
    "get_domain",
]

#: Logical column types used by readers to parse raw text before validation.
ColumnKind = str  # one of "string", "integer", "float", "boolean", "datetime"


@dataclass(frozen=True)
class DomainSpec:
    """Description of one domain table.

    Attributes
    ----------
    name : str
        Domain name; also the stem of its file in an upload folder.
    model : type[pandera.pandas.DataFrameModel]
        The pandera model that validates it.
    key : tuple of str
        Columns that identify a row uniquely.
    label : str
        Human-readable name.
    """

    name: str
    model: type[pa.DataFrameModel]
    key: tuple[str, ...]
    label: str

    @cached_property
    def schema(self) -> pa.DataFrameSchema:
        """The pandera schema object of the model."""
        return self.model.to_schema()

    @cached_property
    def value_schema(self) -> pa.DataFrameSchema:
        """The schema without its uniqueness and type checks, for checking values.

        Validation checks the two itself, once per table rather than per column:
        the model's key (its ``Config.unique`` or unique column) for duplicates, with
        the first row of each key (``trialdata.validation.schema_check.check_keys``),
        and each column's type against the model's (``check_schema``). pandera would
        search the keys a second time and, for some types, format a message for
        every passing column. Columns that may be missing and have no check are
        left out, as there is nothing to check in them.
        """
        columns = self.schema.columns
        schema = self.schema.update_columns(
            {name: {"unique": False, "dtype": None} for name in columns}
        ).remove_columns(
            [name for name, c in columns.items() if c.nullable and not c.checks]
        )
        schema.unique = None
        return schema

    @cached_property
    def column_kinds(self) -> dict[str, ColumnKind]:
        """Logical type of every column: string, integer, float, boolean or datetime."""
        kinds: dict[str, ColumnKind] = {}
        for name, column in self.schema.columns.items():
            dtype = str(column.dtype).lower()
            if "datetime" in dtype or "timestamp" in dtype:
                kinds[name] = "datetime"
            elif "int" in dtype:
                kinds[name] = "integer"
            elif "float" in dtype:
                kinds[name] = "float"
            elif "bool" in dtype:
                kinds[name] = "boolean"
            else:
                kinds[name] = "string"
        return kinds

    @cached_property
    def required_columns(self) -> tuple[str, ...]:
        """Columns that must be present in every file of this domain."""
        return tuple(n for n, c in self.schema.columns.items() if c.required)

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """Every column the schema knows, in definition order."""
        return tuple(self.schema.columns)

    @cached_property
    def has_subject(self) -> bool:
        """Whether rows of this domain belong to a subject."""
        return "subject_id" in self.schema.columns


DOMAINS: tuple[DomainSpec, ...] = (
    DomainSpec("subjects", Subjects, ("subject_id",), "Subjects"),
    DomainSpec("cohorts", Cohorts, ("cohort_id",), "Cohorts"),
    DomainSpec("product_lots", ProductLots, ("lot_id",), "Product lots"),
    DomainSpec(
        "administrations",
        Administrations,
        ("subject_id", "admin_seq"),
        "Administrations",
    ),
    DomainSpec(
        "adverse_events", AdverseEvents, ("subject_id", "ae_seq"), "Adverse events"
    ),
    DomainSpec("labs", Labs, ("subject_id", "test_code", "lab_date"), "Laboratory"),
    DomainSpec("mri", MriReadouts, ("subject_id", "scan_date"), "MRI readouts"),
    DomainSpec("biobank_samples", BiobankSamples, ("sample_id",), "Biobank samples"),
    DomainSpec(
        "custody_events", CustodyEvents, ("sample_id", "event_seq"), "Custody events"
    ),
    DomainSpec(
        "immunomonitoring",
        Immunomonitoring,
        ("subject_id", "collection_date", "assay", "analyte"),
        "Immunomonitoring",
    ),
    DomainSpec(
        "disease_assessments",
        DiseaseAssessments,
        ("subject_id", "assessment_date"),
        "Disease assessments",
    ),
    DomainSpec("survival_status", SurvivalStatus, ("subject_id",), "Survival status"),
)

_BY_NAME = {spec.name: spec for spec in DOMAINS}


def get_domain(name: str) -> DomainSpec:
    """Return the spec of a domain by name.

    Parameters
    ----------
    name : str
        Domain name, e.g. ``"adverse_events"``.

    Returns
    -------
    DomainSpec
        The domain's description.

    Raises
    ------
    KeyError
        If no domain has that name; the message lists the known domains.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        known = ", ".join(_BY_NAME)
        raise KeyError(f"unknown domain {name!r}; known domains: {known}") from None
