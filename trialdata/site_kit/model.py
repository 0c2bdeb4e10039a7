"""The data dictionary as data: domains, columns and the rules that check them.

:func:`trialdata.site_kit.dictionary.build_dictionary` fills these classes; the writers
of :mod:`trialdata.site_kit.dictionary_writers` and the upload templates of
:mod:`trialdata.site_kit.template` read them. :meth:`DataDictionary.to_json` is the
JSON format (its ``format_version`` is :data:`FORMAT_VERSION`, raised whenever a field
changes meaning or is removed; added fields keep the version).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trialdata.io.files import DATA_SUFFIXES

__all__ = [
    "FORMAT_VERSION",
    "ColumnEntry",
    "DataDictionary",
    "DomainEntry",
    "ProtocolInfo",
    "RuleRef",
    "ValueRange",
]

#: Version of the JSON structure written by :meth:`DataDictionary.to_json`.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class RuleRef:
    """A validation rule as the dictionary shows it.

    Attributes
    ----------
    id : str
        Rule id, e.g. ``"SC-TERM"`` or ``"XD-013"``.
    severity : str
        ``"error"`` or ``"warning"``.
    description : str
        What it checks; for the readers' and schema rules, said of the column.
    origin : str
        ``"reader"`` (RD-*: checked as a file is read), ``"schema"`` (SC-*: the
        column's declaration) or ``"rule"`` (a cross-domain or protocol rule).
    """

    id: str
    severity: str
    description: str
    origin: str

    def to_json(self) -> dict[str, str]:
        """Return the rule as JSON data."""
        return {
            "id": self.id,
            "severity": self.severity,
            "description": self.description,
            "origin": self.origin,
        }


@dataclass(frozen=True)
class ValueRange:
    """The range a number must lie in; a missing bound is open.

    Attributes
    ----------
    minimum, maximum : int or float or None
        The bounds.
    minimum_inclusive, maximum_inclusive : bool
        Whether a value equal to the bound is allowed.
    """

    minimum: int | float | None = None
    minimum_inclusive: bool = True
    maximum: int | float | None = None
    maximum_inclusive: bool = True

    def text(self) -> str:
        """Return the range in words, e.g. ``"> 0 and <= 400"``."""
        parts = []
        if self.minimum is not None:
            parts.append(f"{'>=' if self.minimum_inclusive else '>'} {self.minimum}")
        if self.maximum is not None:
            parts.append(f"{'<=' if self.maximum_inclusive else '<'} {self.maximum}")
        return " and ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """Return the range as JSON data."""
        return {
            "minimum": self.minimum,
            "minimum_inclusive": self.minimum_inclusive,
            "maximum": self.maximum,
            "maximum_inclusive": self.maximum_inclusive,
            "text": self.text(),
        }


@dataclass(frozen=True)
class ColumnEntry:
    """One column of a domain.

    Attributes
    ----------
    domain, name : str
        Where it is: ``subjects`` and ``sex``.
    title : str
        Short human name.
    description : str
        What it holds, from the schema.
    type : str
        ``string``, ``integer``, ``float``, ``boolean`` or ``datetime``.
    with_time : bool
        For a date, whether it is a date-time (a time of day is expected).
    write_as : str
        How a site writes a value, e.g. ``"Y or N"``.
    unit : str or None
        Unit of a number; None for text, dates and dimensionless numbers.
    column_required : bool
        Whether the column must be in the file (RD-002 when absent).
    value_required : bool
        Whether every row needs a value (SC-NULL when empty).
    key : bool
        Whether the column is part of the domain's key.
    unique : bool
        Whether no two rows may share a value of the column alone.
    terminology : str or None
        The controlled terminology the schema accepts (e.g. ``"Sex (CDISC C66731,
        without UNDIFFERENTIATED)"``).
    allowed_values : tuple of str
        The values allowed: the terminology's, or the protocol's where the protocol
        narrows or sets them (sites, routes, dose levels, visits). Empty: any value.
    allowed_from : str or None
        Where ``allowed_values`` come from, e.g. ``"terminology"`` or ``"protocol:
        sites"``.
    allowed_strict : bool
        True when another value is an error. For values the protocol sets, it is
        an error when a rule that checks the column has error severity; otherwise
        (e.g. unscheduled visits, checked by warning rules) another value is sent
        and reported as a warning, or not checked at all.
    range : ValueRange or None
        Bounds of a number.
    pattern : str or None
        Regular expression a text value must match in full.
    pattern_description : str or None
        The pattern in words.
    protocol_notes : tuple of str
        What the protocol states about the column (dose amounts per level, the DLT
        window, release specifications...).
    rules : tuple of RuleRef
        The rules that check the column.
    """

    domain: str
    name: str
    title: str
    description: str
    type: str
    with_time: bool
    write_as: str
    unit: str | None
    column_required: bool
    value_required: bool
    key: bool
    unique: bool
    terminology: str | None
    allowed_values: tuple[str, ...]
    allowed_from: str | None
    allowed_strict: bool
    range: ValueRange | None
    pattern: str | None
    pattern_description: str | None
    protocol_notes: tuple[str, ...]
    rules: tuple[RuleRef, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the column as JSON data."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "type": self.type,
            "with_time": self.with_time,
            "write_as": self.write_as,
            "unit": self.unit,
            "column_required": self.column_required,
            "value_required": self.value_required,
            "key": self.key,
            "unique": self.unique,
            "terminology": self.terminology,
            "allowed_values": list(self.allowed_values),
            "allowed_from": self.allowed_from,
            "allowed_strict": self.allowed_strict,
            "range": None if self.range is None else self.range.to_json(),
            "pattern": self.pattern,
            "pattern_description": self.pattern_description,
            "protocol_notes": list(self.protocol_notes),
            "rules": [rule.to_json() for rule in self.rules],
        }


@dataclass(frozen=True)
class DomainEntry:
    """One domain: its file, key and columns.

    Attributes
    ----------
    name : str
        Domain name, the stem of its file (``subjects.csv``).
    label : str
        Human name.
    description : str
        What a row is, from the schema.
    key : tuple of str
        Columns that identify a row.
    required_in_upload : bool
        Whether every upload must hold a file for the domain (with a protocol: its
        ``required_domains``; without: the protocol model's default).
    columns : tuple of ColumnEntry
        In the schema's order.
    rules : tuple of RuleRef
        Cross-domain and protocol rules that read the domain or check one of its
        columns.
    """

    name: str
    label: str
    description: str
    key: tuple[str, ...]
    required_in_upload: bool
    columns: tuple[ColumnEntry, ...]
    rules: tuple[RuleRef, ...]

    @property
    def file_names(self) -> tuple[str, ...]:
        """The file names the readers accept for the domain."""
        return tuple(f"{self.name}{suffix}" for suffix in DATA_SUFFIXES)

    def to_json(self) -> dict[str, Any]:
        """Return the domain as JSON data."""
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "file_names": list(self.file_names),
            "key": list(self.key),
            "required_in_upload": self.required_in_upload,
            "rules": [rule.to_json() for rule in self.rules],
            "columns": [column.to_json() for column in self.columns],
        }


@dataclass(frozen=True)
class ProtocolInfo:
    """The protocol a dictionary was made for.

    Attributes
    ----------
    source : str
        The protocol file's name.
    sha256 : str
        SHA-256 of the file's bytes.
    content : dict
        The validated protocol as JSON data (every field, defaults filled in).
    raw : bytes
        The file's bytes as read (hashed, parsed, and copied beside templates);
        empty when the protocol did not come from a file.
    """

    source: str
    sha256: str
    content: dict[str, Any]
    raw: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class DataDictionary:
    """The data dictionary of an upload.

    Attributes
    ----------
    trialdata_version : str
        Version of the package that wrote it.
    protocol : ProtocolInfo or None
        The protocol; None for the generic dictionary.
    upload_rules : tuple of RuleRef
        Rules about whole files and the upload (RD-* of the readers) and rules that
        run on every domain.
    domains : tuple of DomainEntry
        Every domain, in the schemas' order.
    """

    trialdata_version: str
    protocol: ProtocolInfo | None
    upload_rules: tuple[RuleRef, ...]
    domains: tuple[DomainEntry, ...]

    @property
    def title(self) -> str:
        """Title of the dictionary: the trial's, or generic."""
        if self.protocol is None:
            return "trialdata data dictionary (generic, no protocol)"
        trial = self.protocol.content["trial"]
        return (
            f"Data dictionary of trial {trial['id']} "
            f"(protocol version {trial['protocol_version']})"
        )

    def domain(self, name: str) -> DomainEntry:
        """Return a domain by name.

        Parameters
        ----------
        name : str
            Domain name.

        Returns
        -------
        DomainEntry
            The domain.

        Raises
        ------
        KeyError
            When the dictionary has no such domain.
        """
        for entry in self.domains:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """Return the dictionary as JSON data (the structure of the JSON format)."""
        protocol = None
        if self.protocol is not None:
            protocol = {
                "source": self.protocol.source,
                "sha256": self.protocol.sha256,
                "content": self.protocol.content,
            }
        return {
            "format_version": FORMAT_VERSION,
            "generator": f"trialdata {self.trialdata_version}",
            "title": self.title,
            "protocol": protocol,
            "upload_rules": [rule.to_json() for rule in self.upload_rules],
            "domains": [domain.to_json() for domain in self.domains],
        }
