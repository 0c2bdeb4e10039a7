"""Controlled terminology used by the domain schemas.

Each list is a :class:`enum.StrEnum`; the schemas accept exactly the enum values and an
unknown term is a finding. Where a CDISC codelist exists the submission values follow it
(codelist code in the docstring); cell-therapy specific lists are our own, documented.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ActionTaken",
    "AdministrationRoute",
    "Aesi",
    "Assay",
    "ConsentScope",
    "ConsentStatus",
    "CustodyEventType",
    "DesignMethod",
    "GradingScale",
    "Indication",
    "MriPipeline",
    "Outcome",
    "Relatedness",
    "ReleaseStatus",
    "Response",
    "SampleType",
    "Sex",
    "StorageTemperature",
    "values",
]


def values(enum: type[StrEnum]) -> list[str]:
    """Return the submission values of a controlled-term enum.

    Parameters
    ----------
    enum : type[StrEnum]
        The controlled-term list.

    Returns
    -------
    list of str
        The allowed values, in definition order.
    """
    return [member.value for member in enum]


class Sex(StrEnum):
    """Sex (CDISC C66731, without UNDIFFERENTIATED)."""

    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class AdministrationRoute(StrEnum):
    """Route of administration (CDISC C66729 submission values)."""

    INTRAVENOUS = "INTRAVENOUS"
    INTRADERMAL = "INTRADERMAL"
    INTRANODAL = "INTRANODAL"
    SUBCUTANEOUS = "SUBCUTANEOUS"
    INTRATHECAL = "INTRATHECAL"


class DesignMethod(StrEnum):
    """Dose-escalation design named in the protocol."""

    THREE_PLUS_THREE = "3+3"
    BOIN = "BOIN"
    CRM = "CRM"
    MTPI2 = "mTPI-2"
    I3PLUS3 = "i3+3"


class Indication(StrEnum):
    """Disease the trial treats; it selects the endpoints and AESI categories."""

    AML = "AML"  # acute myeloid leukaemia: response, relapse, PFS and OS
    MS = "MS"  # multiple sclerosis: relapses, EDSS and MRI, no oncology endpoint
    OTHER = "OTHER"  # endpoints and AESI categories only as the protocol declares


class GradingScale(StrEnum):
    """Scale an adverse-event grade was assigned on."""

    CTCAE = "CTCAE"
    ASTCT = "ASTCT"  # CRS and ICANS consensus grading (Lee et al. 2019)
    MAGIC = "MAGIC"  # acute GvHD (Harris et al. 2016)


class Relatedness(StrEnum):
    """Investigator's causality assessment towards the study product."""

    NOT_RELATED = "NOT RELATED"
    UNLIKELY = "UNLIKELY RELATED"
    POSSIBLE = "POSSIBLY RELATED"
    PROBABLE = "PROBABLY RELATED"
    DEFINITE = "DEFINITELY RELATED"


class Outcome(StrEnum):
    """Outcome of an adverse event (CDISC C66768)."""

    RECOVERED = "RECOVERED/RESOLVED"
    RECOVERING = "RECOVERING/RESOLVING"
    NOT_RECOVERED = "NOT RECOVERED/NOT RESOLVED"
    SEQUELAE = "RECOVERED/RESOLVED WITH SEQUELAE"
    FATAL = "FATAL"
    UNKNOWN = "UNKNOWN"


class ActionTaken(StrEnum):
    """Action taken with the study product (CDISC C66767)."""

    DOSE_INCREASED = "DOSE INCREASED"
    DOSE_NOT_CHANGED = "DOSE NOT CHANGED"
    DOSE_REDUCED = "DOSE REDUCED"
    DRUG_INTERRUPTED = "DRUG INTERRUPTED"
    DRUG_WITHDRAWN = "DRUG WITHDRAWN"
    NOT_APPLICABLE = "NOT APPLICABLE"
    UNKNOWN = "UNKNOWN"


class Aesi(StrEnum):
    """Adverse event of special interest for cell therapy."""

    CRS = "CRS"
    ICANS = "ICANS"
    GVHD = "GVHD"
    INFUSION_REACTION = "INFUSION REACTION"


class ReleaseStatus(StrEnum):
    """Quality-control release decision of a product lot."""

    RELEASED = "RELEASED"
    REJECTED = "REJECTED"
    PENDING = "PENDING"


class MriPipeline(StrEnum):
    """Central-reading pipeline: single time point or longitudinal (icobrain)."""

    CROSS = "cross"
    LONG = "long"


class SampleType(StrEnum):
    """Biobank sample type (MIABIS detailed sample types / SPREC fluid codes)."""

    WHOLE_BLOOD = "WHOLE BLOOD"
    PBMC = "PBMC"
    SERUM = "SERUM"
    PLASMA = "PLASMA"
    BONE_MARROW = "BONE MARROW"
    CSF = "CSF"
    DNA = "DNA"
    RNA = "RNA"
    CELL_PELLET = "CELL PELLET"


class StorageTemperature(StrEnum):
    """Storage temperature category (MIABIS, based on SPREC v3)."""

    ROOM = "RT"
    FRIDGE = "2 to 10 C"
    FREEZER_20 = "-18 to -35 C"
    FREEZER_80 = "-60 to -85 C"
    BELOW_135 = "below -135 C"
    LN2_VAPOUR = "LN2 vapour"
    LN2_LIQUID = "LN2 liquid"


class ConsentScope(StrEnum):
    """What a biobank sample may be used for under the subject's consent."""

    TRIAL_ONLY = "TRIAL ONLY"
    FUTURE_RESEARCH = "FUTURE RESEARCH"
    FUTURE_RESEARCH_GENETIC = "FUTURE RESEARCH INCLUDING GENETIC"


class ConsentStatus(StrEnum):
    """Status of the consent a biobank sample is held under."""

    ACTIVE = "ACTIVE"
    WITHDRAWN = "WITHDRAWN"


class CustodyEventType(StrEnum):
    """Chain-of-custody event of a biobank sample (SDTM BE-style)."""

    COLLECTED = "COLLECTED"
    PROCESSED = "PROCESSED"
    FROZEN = "FROZEN"
    SHIPPED = "SHIPPED"
    RECEIVED = "RECEIVED"
    STORED = "STORED"
    THAWED = "THAWED"
    ALIQUOTED = "ALIQUOTED"
    TEMPERATURE_EXCURSION = "TEMPERATURE EXCURSION"
    DESTROYED = "DESTROYED"


class Assay(StrEnum):
    """Immunomonitoring assay."""

    FLOW_CYTOMETRY = "FLOW CYTOMETRY"
    ELISPOT = "ELISPOT"
    CHIMERISM = "CHIMERISM"
    ELISA = "ELISA"
    QPCR = "QPCR"


class Response(StrEnum):
    """Disease response at an assessment (ELN 2017 for AML; NE = not evaluable)."""

    CR = "CR"
    CRI = "CRi"
    MLFS = "MLFS"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    RELAPSE = "RELAPSE"
    NE = "NE"
