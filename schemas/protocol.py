"""The protocol model: one ``protocol.toml`` per trial, validated on load.

The protocol states what the data must agree with: the design and its parameters, the
dose levels, the allowed routes, the DLT window, the visit schedule with its windows,
the product release specifications and the sites.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.terms import AdministrationRoute, Aesi, DesignMethod, Indication

__all__ = [
    "AESI_BY_INDICATION",
    "ENDPOINTS_BY_INDICATION",
    "Design",
    "DoseLevel",
    "Protocol",
    "ProtocolError",
    "ReleaseSpecification",
    "Site",
    "TrialInfo",
    "Visit",
    "load_protocol",
    "parse_protocol",
]


class ProtocolError(ValueError):
    """A protocol file cannot be read or does not describe a valid trial.

    Attributes
    ----------
    path : str
        The protocol file.
    problems : list of str
        One line per problem, each naming the offending field.
    """

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid protocol {path}:\n{listing}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrialInfo(_Strict):
    """Identification of the trial."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{1,39}$")
    title: str
    protocol_version: str
    phase: str = "I"
    archetype: str | None = None
    sponsor: str | None = None


class Design(_Strict):
    """Dose-escalation design and its parameters."""

    method: DesignMethod
    target_dlt_rate: float = Field(gt=0, lt=1)
    cohort_size: int = Field(ge=1, le=12)
    max_subjects: int = Field(ge=1)
    start_dose_level: int = Field(default=1, ge=1)
    #: CRM only: prior guesses of the DLT rate per dose level (the skeleton).
    skeleton: tuple[float, ...] | None = None
    #: CRM only: dose-toxicity model.
    crm_model: Literal["empiric", "logistic"] = "empiric"
    #: Interval designs (BOIN, mTPI-2, i3+3): posterior probability cut-off for
    #: eliminating a dose (Pr(DLT rate > target) > cut-off with 3 or more treated).
    elimination_cutoff: float = Field(default=0.95, gt=0.5, lt=1)
    #: 3+3 only: whether the design de-escalates to confirm the MTD with 6 subjects.
    allow_deescalation: bool = True
    #: How escalation runs when the protocol allows several routes: one escalation
    #: over all routes ("pooled") or one per route ("route"). ``max_subjects`` is per
    #: escalation.
    escalation_by: Literal["pooled", "route"] = "pooled"
    #: Cohorts (``cohort_id``) that expand a dose level once the escalation chose it;
    #: their subjects count in safety, never in the design's step rules.
    expansion_cohorts: tuple[str, ...] = ()
    #: Cohorts that backfill a dose level already cleared; counted like expansion.
    backfill_cohorts: tuple[str, ...] = ()
    #: Whether expansion and backfill subjects count in the final MTD estimate (the
    #: isotonic or model estimate once the escalation is complete).
    expansion_in_mtd: bool = True

    @model_validator(mode="after")
    def _skeleton_for_crm(self) -> Design:
        both = set(self.expansion_cohorts) & set(self.backfill_cohorts)
        if both:
            raise ValueError(
                f"cohort(s) {', '.join(sorted(both))} listed as both expansion and "
                "backfill"
            )
        if self.method == DesignMethod.CRM and not self.skeleton:
            raise ValueError("design.skeleton is required for a CRM design")
        if self.skeleton and list(self.skeleton) != sorted(self.skeleton):
            raise ValueError("design.skeleton must increase with dose level")
        return self


class DoseLevel(_Strict):
    """One dose level of the escalation."""

    level: int = Field(ge=1)
    amount: float = Field(gt=0)
    unit: str = Field(min_length=1)
    label: str | None = None


class Visit(_Strict):
    """A scheduled visit with its window, in days relative to the first dose."""

    name: str
    day: int
    window_before: int = Field(default=0, ge=0)
    window_after: int = Field(default=0, ge=0)


class ReleaseSpecification(_Strict):
    """A release criterion a product lot must meet (a column of product_lots)."""

    attribute: str
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _has_a_bound(self) -> ReleaseSpecification:
        if self.min is None and self.max is None:
            raise ValueError(
                f"release specification {self.attribute!r} needs min or max"
            )
        return self


class Site(_Strict):
    """A trial site."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
    name: str
    country: str | None = None


#: Time-to-event endpoints an indication calls for when the protocol lists none.
ENDPOINTS_BY_INDICATION: dict[Indication, tuple[str, ...]] = {
    Indication.AML: ("PFS", "OS"),
    Indication.MS: (),
    Indication.OTHER: (),
}

#: AE of special interest categories an indication calls for when the protocol lists
#: none (allogeneic NK cells: cytokine release, neurotoxicity, GvHD, infusion
#: reactions).
AESI_BY_INDICATION: dict[Indication, tuple[Aesi, ...]] = {
    Indication.AML: (Aesi.CRS, Aesi.ICANS, Aesi.GVHD, Aesi.INFUSION_REACTION),
    Indication.MS: (),
    Indication.OTHER: (),
}

#: Demo archetypes and the indication they imply when a protocol names none.
_ARCHETYPE_INDICATION = {"nk-aml": "AML", "tolDC-ms": "MS"}

Endpoint = Literal["PFS", "OS", "RFS", "DOR"]


class Protocol(_Strict):
    """A trial's protocol, as far as the data must agree with it."""

    trial: TrialInfo
    #: The disease treated; selects the endpoints and AESI categories reported.
    #: Without it, the archetype decides (nk-aml: AML, tolDC-ms: MS), else OTHER.
    indication: Indication = Indication.OTHER
    #: Time-to-event endpoints analysed; default: those of the indication.
    endpoints: tuple[Endpoint, ...] | None = None
    #: AESI categories reported with a grade table; default: the indication's.
    aesi_categories: tuple[Aesi, ...] | None = None
    design: Design
    dose_levels: tuple[DoseLevel, ...] = Field(min_length=1)
    routes: tuple[AdministrationRoute, ...] = Field(min_length=1)
    dlt_window_days: int = Field(ge=1)
    visits: tuple[Visit, ...] = ()
    release_specifications: tuple[ReleaseSpecification, ...] = ()
    sites: tuple[Site, ...] = Field(min_length=1)
    #: Domain files every upload must contain.
    required_domains: tuple[str, ...] = (
        "subjects",
        "cohorts",
        "administrations",
        "adverse_events",
    )

    @model_validator(mode="before")
    @classmethod
    def _indication_from_archetype(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "indication" not in data:
            trial = data.get("trial")
            archetype = trial.get("archetype") if isinstance(trial, Mapping) else None
            if archetype in _ARCHETYPE_INDICATION:
                return {**data, "indication": _ARCHETYPE_INDICATION[archetype]}
        return data

    @property
    def analysis_endpoints(self) -> tuple[str, ...]:
        """Time-to-event endpoints to analyse: declared, or the indication's."""
        if self.endpoints is not None:
            return tuple(self.endpoints)
        return ENDPOINTS_BY_INDICATION[self.indication]

    @property
    def reported_aesi(self) -> tuple[str, ...]:
        """AESI categories to report: declared, or the indication's."""
        chosen = self.aesi_categories
        if chosen is None:
            chosen = AESI_BY_INDICATION[self.indication]
        return tuple(str(c) for c in chosen)

    def cohort_role(self, cohort_id: str) -> str:
        """Return ``"escalation"``, ``"expansion"`` or ``"backfill"`` for a cohort.

        Parameters
        ----------
        cohort_id : str
            Cohort identifier.

        Returns
        -------
        str
            The cohort's role in the design.
        """
        if cohort_id in self.design.expansion_cohorts:
            return "expansion"
        if cohort_id in self.design.backfill_cohorts:
            return "backfill"
        return "escalation"

    @model_validator(mode="after")
    def _consistent(self) -> Protocol:
        levels = [d.level for d in self.dose_levels]
        if levels != list(range(1, len(levels) + 1)):
            raise ValueError(
                f"dose_levels must be numbered 1..{len(levels)} in order, got {levels}"
            )
        if self.design.start_dose_level > len(levels):
            raise ValueError("design.start_dose_level is above the highest dose level")
        if self.design.skeleton and len(self.design.skeleton) != len(levels):
            raise ValueError(
                f"design.skeleton has {len(self.design.skeleton)} values for "
                f"{len(levels)} dose levels"
            )
        names = [v.name for v in self.visits]
        if len(set(names)) != len(names):
            raise ValueError("visit names must be unique")
        site_ids = [s.id for s in self.sites]
        if len(set(site_ids)) != len(site_ids):
            raise ValueError("site ids must be unique")
        return self

    def dose_level(self, level: int) -> DoseLevel:
        """Return the dose level with index ``level``.

        Parameters
        ----------
        level : int
            1-based dose-level index.

        Returns
        -------
        DoseLevel
            The dose level.
        """
        return self.dose_levels[level - 1]

    @property
    def site_ids(self) -> tuple[str, ...]:
        """Identifiers of the protocol's sites."""
        return tuple(s.id for s in self.sites)

    @property
    def visit_days(self) -> dict[str, Visit]:
        """The visit schedule by visit name."""
        return {v.name: v for v in self.visits}


def _format_pydantic(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        message = item["msg"]
        if item["type"] == "enum" and "expected" in item.get("ctx", {}):
            message = (
                f"unknown value {item['input']!r}; expected {item['ctx']['expected']}"
            )
        elif item["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append(f"{where}: {message}")
    return problems


def parse_protocol(data: Mapping[str, Any], source: str = "<protocol>") -> Protocol:
    """Validate a protocol given as a mapping (e.g. parsed TOML).

    Parameters
    ----------
    data : Mapping
        The protocol content.
    source : str, optional
        Name of the file it came from, used in error messages.

    Returns
    -------
    Protocol
        The validated protocol.

    Raises
    ------
    ProtocolError
        When any field is missing, unknown or invalid; every problem is listed.
    """
    try:
        return Protocol.model_validate(dict(data))
    except ValidationError as error:
        raise ProtocolError(source, _format_pydantic(error)) from None


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate a ``protocol.toml`` file.

    Parameters
    ----------
    path : str or pathlib.Path
        The protocol file.

    Returns
    -------
    Protocol
        The validated protocol.

    Raises
    ------
    ProtocolError
        When the file is missing, is not valid TOML or does not describe a valid trial.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ProtocolError(
            str(path), [f"cannot read file: {error.strerror}"]
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ProtocolError(
            str(path), [f"not UTF-8 text (byte {error.start})"]
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ProtocolError(str(path), [f"not valid TOML: {error}"]) from None
    return parse_protocol(data, source=str(path))
