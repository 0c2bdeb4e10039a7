"""Build the data dictionary of an upload from the schemas, the protocol and the rules.

Every domain of :data:`schemas.domains.DOMAINS` and every column of its pandera model:
name, title, description, type and how to write a value, unit, whether the column and
its values are required, allowed terms, range, pattern, key, and the rules that check
it (the readers' and schema rules its declaration implies, see
:mod:`trialdata.site_kit.schema_rules`, and the cross-domain rules linked by
:mod:`trialdata.site_kit.rule_links`). With a protocol, what it states about columns
is added (:mod:`trialdata.site_kit.protocol_terms`): its sites, routes, dose levels,
dose units and visits become the allowed values of those columns, and the domains it
requires are marked so.

Examples
--------
>>> from trialdata.site_kit.dictionary import build_dictionary
>>> sex = build_dictionary().domain("subjects").columns[3]
>>> sex.name, sex.allowed_values, [r.id for r in sex.rules]
('sex', ('F', 'M', 'U'), ['RD-002', 'SC-NULL', 'SC-TERM', 'SC-TYPE'])
"""

from __future__ import annotations

import hashlib
import tomllib
from importlib import metadata
from pathlib import Path

from schemas.checks import describe_pattern
from schemas.domains import DOMAINS, DomainSpec
from schemas.protocol import Protocol, ProtocolError, parse_protocol
from trialdata.site_kit import declarations
from trialdata.site_kit.model import (
    ColumnEntry,
    DataDictionary,
    DomainEntry,
    ProtocolInfo,
)
from trialdata.site_kit.protocol_terms import ProtocolConstraint, protocol_constraints
from trialdata.site_kit.rule_links import RuleLinks, link_rules, registered_rules
from trialdata.site_kit.schema_rules import (
    IMPUTATION_SUFFIX,
    READER_RULES,
    declared_rules,
)
from trialdata.site_kit.units import unit_of

__all__ = ["build_dictionary", "default_required_domains", "read_protocol"]


def default_required_domains() -> tuple[str, ...]:
    """Return the domains every upload needs when a protocol lists none."""
    default = Protocol.model_fields["required_domains"].default
    return tuple(default)


def read_protocol(path: Path) -> tuple[Protocol, ProtocolInfo]:
    """Read and validate a protocol file, with its name and SHA-256.

    The file is read once: the bytes parsed are the bytes hashed and kept (copied
    beside upload templates). Problems are reported as
    :func:`schemas.protocol.load_protocol` reports them.

    Parameters
    ----------
    path : pathlib.Path
        The ``protocol.toml``.

    Returns
    -------
    protocol : schemas.protocol.Protocol
        The validated protocol.
    info : ProtocolInfo
        Its file name, SHA-256 and content.

    Raises
    ------
    schemas.protocol.ProtocolError
        When the file cannot be read or is not a valid protocol; every problem is
        named.
    """
    try:
        raw = path.read_bytes()
    except OSError as error:
        problem = f"cannot read file: {error.strerror or error}"
        raise ProtocolError(str(path), [problem]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        problem = f"not UTF-8 text (byte {error.start})"
        raise ProtocolError(str(path), [problem]) from None
    except tomllib.TOMLDecodeError as error:
        raise ProtocolError(str(path), [f"not valid TOML: {error}"]) from None
    protocol = parse_protocol(data, source=str(path))
    digest = hashlib.sha256(raw).hexdigest()
    content = protocol.model_dump(mode="json")
    return protocol, ProtocolInfo(path.name, digest, content, raw)


def _version() -> str:
    try:
        return metadata.version("trialdata")
    except metadata.PackageNotFoundError:
        return "unknown"


def _write_as(
    kind: str, with_time: bool, pattern: str | None, partial: bool, listed: bool
) -> str:
    """Return how a site writes a value of a column."""
    if kind == "string":
        if listed:
            return "text: one of the allowed values"
        return "text (in the format given)" if pattern else "text"
    if kind == "integer":
        return "whole number"
    if kind == "float":
        return "number, with a decimal point (12.5)"
    if kind == "boolean":
        return "Y or N"
    written = (
        "date-time, ISO 8601: YYYY-MM-DDTHH:MM (a workbook date-time cell is fine)"
        if with_time
        else "date, ISO 8601: YYYY-MM-DD (a workbook date cell is fine)"
    )
    if partial:
        written += "; a partial date YYYY-MM or YYYY is imputed"
    return written


def _column(
    spec: DomainSpec,
    name: str,
    links: RuleLinks,
    constraint: ProtocolConstraint | None,
    dose_units: tuple[str, ...],
) -> ColumnEntry:
    """Return the dictionary entry of one column."""
    column = spec.schema.columns[name]
    kind = spec.column_kinds[name]
    description = str(column.description or "")
    with_time = kind == "datetime" and declarations.is_date_time(name, description)
    terms = declarations.allowed_terms(column)
    allowed, allowed_from, strict = terms, "terminology" if terms else None, True
    linked = links.by_column.get((spec.name, name), ())
    if constraint is not None and constraint.allowed:
        allowed, allowed_from = constraint.allowed, constraint.allowed_from
        # another value is an error when a rule checking the column says so
        strict = any(rule.severity == "error" for rule in linked)
    pattern = declarations.pattern_of(column)
    partial = kind == "datetime" and name + IMPUTATION_SUFFIX in spec.schema.columns
    terminology = None
    if terms:
        terminology = declarations.terminology_name(terms) or "listed in the schema"
    return ColumnEntry(
        domain=spec.name,
        name=name,
        title=str(column.title or name),
        description=description,
        type=kind,
        with_time=with_time,
        write_as=_write_as(kind, with_time, pattern, partial, bool(allowed)),
        unit=unit_of(name, dose_units),
        column_required=bool(column.required),
        value_required=not column.nullable,
        key=name in spec.key,
        unique=bool(column.unique) or spec.key == (name,),
        terminology=terminology,
        allowed_values=allowed,
        allowed_from=allowed_from,
        allowed_strict=strict,
        range=declarations.value_range(column),
        pattern=pattern,
        pattern_description=describe_pattern(pattern) if pattern else None,
        protocol_notes=constraint.notes if constraint is not None else (),
        rules=declared_rules(spec, name, with_time=with_time) + linked,
    )


def _summary(spec: DomainSpec) -> str:
    """Return the first paragraph of a domain model's docstring."""
    text = (spec.model.__doc__ or spec.label).strip()
    return " ".join(text.split("\n\n")[0].split())


def build_dictionary(
    protocol: Protocol | None = None, info: ProtocolInfo | None = None
) -> DataDictionary:
    """Build the data dictionary, generic or for a protocol.

    Parameters
    ----------
    protocol : schemas.protocol.Protocol, optional
        The trial's protocol; without it the dictionary is generic.
    info : ProtocolInfo, optional
        The protocol file's name and SHA-256 (see :func:`read_protocol`); by
        default the protocol's content with no file.

    Returns
    -------
    DataDictionary
        Every domain and column.
    """
    columns = {spec.name: spec.columns for spec in DOMAINS}
    links = link_rules(registered_rules(), columns)
    constraints = protocol_constraints(protocol, columns) if protocol else {}
    dose_units: tuple[str, ...] = ()
    required = default_required_domains()
    if protocol is not None:
        dose_units = tuple(dict.fromkeys(d.unit for d in protocol.dose_levels))
        required = tuple(protocol.required_domains)
        if info is None:
            info = ProtocolInfo("", "", protocol.model_dump(mode="json"))
    domains = tuple(
        DomainEntry(
            name=spec.name,
            label=spec.label,
            description=_summary(spec),
            key=spec.key,
            required_in_upload=spec.name in required,
            columns=tuple(
                _column(
                    spec, name, links, constraints.get((spec.name, name)), dose_units
                )
                for name in spec.columns
            ),
            rules=links.by_domain.get(spec.name, ()),
        )
        for spec in DOMAINS
    )
    return DataDictionary(
        trialdata_version=_version(),
        protocol=info if protocol is not None else None,
        upload_rules=READER_RULES + links.everywhere,
        domains=domains,
    )
