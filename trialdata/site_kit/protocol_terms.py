"""What a protocol states about the columns of an upload.

The protocol sets the values some columns may take (its sites, routes, dose levels,
dose units and scheduled visits) and bounds others (dose amounts per level, the DLT
window, release specifications of product lots). :func:`protocol_constraints` gives
each such column its allowed values and notes for the data dictionary and the upload
templates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from schemas.protocol import Protocol

__all__ = ["ProtocolConstraint", "protocol_constraints"]


@dataclass(frozen=True)
class ProtocolConstraint:
    """What the protocol states about one column.

    Attributes
    ----------
    allowed : tuple of str
        Values the protocol allows (empty: it sets none).
    allowed_from : str or None
        Which part of the protocol sets them, e.g. ``"protocol: sites"``.
    notes : tuple of str
        What else the protocol states about the column.
    """

    allowed: tuple[str, ...] = ()
    allowed_from: str | None = None
    notes: tuple[str, ...] = ()


def _number(value: float) -> str:
    """Write a protocol number without a needless ``.0``."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _in(columns: Mapping[str, Sequence[str]], name: str) -> list[str]:
    """Return the domains that have a column."""
    return [domain for domain, known in columns.items() if name in known]


def protocol_constraints(
    protocol: Protocol, columns: Mapping[str, Sequence[str]]
) -> dict[tuple[str, str], ProtocolConstraint]:
    """Return what a protocol states about each column it constrains.

    Parameters
    ----------
    protocol : schemas.protocol.Protocol
        The validated protocol.
    columns : dict of str to sequence of str
        Every domain's columns.

    Returns
    -------
    dict
        ``(domain, column)`` to its constraint; columns the protocol says nothing
        about are absent.
    """
    found: dict[tuple[str, str], ProtocolConstraint] = {}
    sites = tuple(s.id for s in protocol.sites)
    site_notes = tuple(
        f"{s.id}: {s.name}" + (f" ({s.country})" if s.country else "")
        for s in protocol.sites
    )
    for domain in _in(columns, "site_id"):
        found[(domain, "site_id")] = ProtocolConstraint(
            sites, "protocol: sites", site_notes
        )

    levels = tuple(str(d.level) for d in protocol.dose_levels)
    level_notes = (
        *(
            f"level {d.level}: {_number(d.amount)} {d.unit}"
            + (f" ({d.label})" if d.label else "")
            for d in protocol.dose_levels
        ),
        f"start dose level: {protocol.design.start_dose_level}",
    )
    for domain in _in(columns, "dose_level"):
        found[(domain, "dose_level")] = ProtocolConstraint(
            levels, "protocol: dose_levels", level_notes
        )

    routes = tuple(str(r) for r in protocol.routes)
    for domain in _in(columns, "route"):
        found[(domain, "route")] = ProtocolConstraint(routes, "protocol: routes")

    amounts = tuple(
        f"level {d.level}: {_number(d.amount)} {d.unit}" for d in protocol.dose_levels
    )
    for domain in _in(columns, "dose_amount"):
        found[(domain, "dose_amount")] = ProtocolConstraint(notes=amounts)
    units = tuple(dict.fromkeys(d.unit for d in protocol.dose_levels))
    for domain in _in(columns, "dose_unit"):
        found[(domain, "dose_unit")] = ProtocolConstraint(
            units, "protocol: dose_levels"
        )

    if protocol.visits:
        visits = tuple(v.name for v in protocol.visits)
        schedule = (
            "each visit's study day and window: the protocol's visits "
            f"({len(visits)} scheduled)",
        )
        for domain in _in(columns, "visit"):
            found[(domain, "visit")] = ProtocolConstraint(
                visits, "protocol: visits", schedule
            )

    for domain in _in(columns, "dlt"):
        found[(domain, "dlt")] = ProtocolConstraint(
            notes=(f"DLT window: {protocol.dlt_window_days} days from the first dose",)
        )
    if protocol.reported_aesi:
        for domain in _in(columns, "aesi"):
            found[(domain, "aesi")] = ProtocolConstraint(
                notes=(
                    "AESI categories the trial reports: "
                    + ", ".join(protocol.reported_aesi),
                )
            )

    cohorts = []
    if protocol.design.expansion_cohorts:
        cohorts.append(
            "expansion cohorts: " + ", ".join(protocol.design.expansion_cohorts)
        )
    if protocol.design.backfill_cohorts:
        cohorts.append(
            "backfill cohorts: " + ", ".join(protocol.design.backfill_cohorts)
        )
    if cohorts:
        for domain in _in(columns, "cohort_id"):
            found[(domain, "cohort_id")] = ProtocolConstraint(notes=tuple(cohorts))

    for spec in protocol.release_specifications:
        bounds = []
        if spec.min is not None:
            bounds.append(f">= {_number(spec.min)}")
        if spec.max is not None:
            bounds.append(f"<= {_number(spec.max)}")
        note = (
            "release specification: "
            + " and ".join(bounds)
            + " for a lot to be RELEASED"
        )
        for domain in _in(columns, spec.attribute):
            if domain == "product_lots":
                key = (domain, spec.attribute)
                before = found.get(key, ProtocolConstraint())
                found[key] = ProtocolConstraint(
                    before.allowed, before.allowed_from, (*before.notes, note)
                )
    return found
