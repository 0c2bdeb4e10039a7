"""The protocols of the two demo trials, and a small TOML writer for them.

``tolDC-ms`` follows the RESTORE tolerogenic-DC trials in multiple sclerosis (three
dose levels, intradermal and intranodal cohorts, six injections); ``nk-aml`` follows
the cord-blood NK-cell trial in AML (three dose levels per kg, one infusion).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from schemas.protocol import Protocol, parse_protocol

__all__ = [
    "ARCHETYPES",
    "COHORT_PREFIXES",
    "EXPANSION_COHORT",
    "expansion_cohort_ids",
    "load_demo_protocol",
    "protocol_data",
    "protocol_toml",
]

#: Archetype name to the default number of subjects.
ARCHETYPES: dict[str, int] = {"tolDC-ms": 18, "nk-aml": 12}

#: Cohort id prefix of each escalation of an archetype: per route (tolDC-ms escalates
#: per route) or ``"pooled"`` (nk-aml). Escalation cohorts are the prefix then ``C1``,
#: ``C2``, ...; the expansion cohort is the prefix then ``EXP``.
COHORT_PREFIXES: dict[str, dict[str, str]] = {
    "tolDC-ms": {"INTRADERMAL": "ID-", "INTRANODAL": "IN-"},
    "nk-aml": {"pooled": ""},
}

#: Id of an escalation's expansion cohort, after the escalation's prefix.
EXPANSION_COHORT = "EXP"


def expansion_cohort_ids(archetype: str) -> tuple[str, ...]:
    """Return the ids of the expansion cohorts an archetype may open.

    Parameters
    ----------
    archetype : str
        ``"tolDC-ms"`` or ``"nk-aml"``.

    Returns
    -------
    tuple of str
        One expansion cohort per escalation, e.g. ``("ID-EXP", "IN-EXP")``.
    """
    prefixes = COHORT_PREFIXES[archetype].values()
    return tuple(f"{prefix}{EXPANSION_COHORT}" for prefix in prefixes)


ALL_DOMAINS = (
    "subjects",
    "cohorts",
    "product_lots",
    "administrations",
    "adverse_events",
    "labs",
    "mri",
    "biobank_samples",
    "custody_events",
    "immunomonitoring",
    "disease_assessments",
    "survival_status",
)


def _visit(name: str, day: int, before: int, after: int) -> dict[str, Any]:
    return {"name": name, "day": day, "window_before": before, "window_after": after}


TOLDC_VISITS = [
    _visit("SCREENING", -14, 14, 13),
    _visit("V1", 0, 0, 0),
    _visit("V2", 14, 3, 3),
    _visit("W3", 21, 2, 2),
    _visit("V3", 28, 3, 3),
    _visit("V4", 42, 3, 3),
    _visit("V5", 70, 3, 3),
    _visit("M3", 91, 7, 7),
    _visit("V6", 98, 3, 3),
    _visit("F1", 126, 7, 7),
    _visit("M6", 182, 14, 14),
    _visit("M9", 273, 14, 14),
    _visit("M12", 365, 21, 21),
]

NKAML_VISITS = [
    _visit("SCREENING", -14, 14, 13),
    _visit("D0", 0, 0, 0),
    _visit("D1", 1, 0, 0),
    _visit("D3", 3, 1, 1),
    _visit("D8", 8, 1, 1),
    _visit("D14", 14, 2, 2),
    _visit("D21", 21, 3, 3),
    _visit("D28", 28, 3, 3),
    _visit("M2", 60, 7, 7),
    _visit("M3", 90, 14, 14),
    _visit("M6", 180, 14, 14),
    _visit("M9", 270, 14, 14),
    _visit("M12", 365, 21, 21),
]


def protocol_data(
    archetype: str,
    n_subjects: int,
    *,
    expansion_cohorts: Sequence[str] = (),
) -> dict[str, Any]:
    """Return the protocol of a demo trial as plain data (the TOML content).

    The escalation's size does not depend on the number of subjects:
    ``max_subjects`` is per escalation (per route for tolDC-ms: 9, three cohorts of
    three; nk-aml: 18, the most a 3+3 over three levels can treat). Subjects beyond
    the escalation join the expansion cohorts, which the protocol lists.

    Parameters
    ----------
    archetype : str
        ``"tolDC-ms"`` or ``"nk-aml"``.
    n_subjects : int
        Number of subjects (at least 1).
    expansion_cohorts : sequence of str, optional
        Ids of the trial's expansion cohorts (``design.expansion_cohorts``); none by
        default.

    Returns
    -------
    dict
        Content that :func:`schemas.protocol.parse_protocol` accepts.

    Raises
    ------
    ValueError
        For an unknown archetype or fewer than 1 subject.
    """
    if n_subjects < 1:
        raise ValueError(f"a demo trial needs at least 1 subject, got {n_subjects}")
    expansion = (
        {"expansion_cohorts": list(expansion_cohorts)} if expansion_cohorts else {}
    )
    if archetype == "tolDC-ms":
        return {
            "trial": {
                "id": "TOLDC-MS-DEMO",
                "title": "Tolerogenic dendritic cells in relapsing multiple sclerosis: "
                "intradermal versus intranodal dose escalation (demo data)",
                "protocol_version": "2.0",
                "phase": "I",
                "archetype": archetype,
                "sponsor": "trialdata demo",
            },
            "indication": "MS",
            "design": {
                "method": "BOIN",
                "target_dlt_rate": 0.3,
                "cohort_size": 3,
                "max_subjects": 9,
                "escalation_by": "route",
                **expansion,
            },
            "dose_levels": [
                {"level": i + 1, "amount": amount, "unit": "10^6 cells", "label": label}
                for i, (amount, label) in enumerate(
                    [(5.0, "5 x 10^6"), (10.0, "10 x 10^6"), (15.0, "15 x 10^6")]
                )
            ],
            "routes": ["INTRADERMAL", "INTRANODAL"],
            "dlt_window_days": 28,
            "visits": TOLDC_VISITS,
            "release_specifications": [
                {"attribute": "viability_pct", "min": 70.0},
                {"attribute": "purity_pct", "min": 60.0},
            ],
            "sites": [
                {
                    "id": "BDN",
                    "name": "Hospital Germans Trias i Pujol, Badalona",
                    "country": "ES",
                }
            ],
            "required_domains": list(ALL_DOMAINS),
        }
    if archetype == "nk-aml":
        return {
            "trial": {
                "id": "NK-AML-DEMO",
                "title": "Cord-blood derived NK cells after lymphodepletion in older "
                "patients with AML in remission (demo data)",
                "protocol_version": "1.3",
                "phase": "I",
                "archetype": archetype,
                "sponsor": "trialdata demo",
            },
            "indication": "AML",
            "design": {
                "method": "3+3",
                "target_dlt_rate": 0.3,
                "cohort_size": 3,
                "max_subjects": 18,
                "escalation_by": "pooled",
                **expansion,
            },
            "dose_levels": [
                {"level": i + 1, "amount": amount, "unit": "10^6 cells/kg"}
                for i, amount in enumerate([3.0, 10.0, 30.0])
            ],
            "routes": ["INTRAVENOUS"],
            "dlt_window_days": 28,
            "visits": NKAML_VISITS,
            "release_specifications": [
                {"attribute": "viability_pct", "min": 70.0},
                {"attribute": "purity_pct", "min": 50.0},
                {"attribute": "cd3_t_cells_per_kg", "max": 10000.0},
            ],
            "sites": [
                {
                    "id": "NMG",
                    "name": "Radboud university medical center",
                    "country": "NL",
                },
                {"id": "RTD", "name": "Erasmus MC", "country": "NL"},
            ],
            "required_domains": [d for d in ALL_DOMAINS if d != "mri"],
        }
    known = ", ".join(ARCHETYPES)
    raise ValueError(f"unknown archetype {archetype!r}; choose one of: {known}")


def load_demo_protocol(
    archetype: str, n_subjects: int, *, expansion_cohorts: Sequence[str] = ()
) -> Protocol:
    """Return the validated :class:`~schemas.protocol.Protocol` of a demo trial."""
    data = protocol_data(archetype, n_subjects, expansion_cohorts=expansion_cohorts)
    return parse_protocol(data, source=archetype)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _is_table_array(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, Mapping) for v in value)
    )


def protocol_toml(data: Mapping[str, Any]) -> str:
    """Render protocol data as TOML text.

    Handles what protocols use: scalars and arrays at the top, tables of scalars, and
    arrays of tables of scalars.

    Parameters
    ----------
    data : Mapping
        Protocol content, as from :func:`protocol_data`.

    Returns
    -------
    str
        TOML text that :func:`tomllib.loads` reads back to ``data``.
    """
    lines: list[str] = []
    for key, value in data.items():
        if not isinstance(value, Mapping) and not _is_table_array(value):
            lines.append(f"{key} = {_toml_value(value)}")
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines += ["", f"[{key}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in value.items()]
        elif _is_table_array(value):
            for item in value:
                lines += ["", f"[[{key}]]"]
                lines += [f"{k} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"
