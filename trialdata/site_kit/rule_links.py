"""Which cross-domain and protocol rules check which columns.

A rule states the columns it is about when it can (``columns``, as ``domain.column``
or a bare column name for that column in every domain). A rule that states none is
linked to the columns its description names: ``subjects.site_id`` names that column
of that domain; a bare ``consent_date`` names the column of that name in every
domain that has one (``visit`` in "A visit's date lies within its window" is the
visit of every domain). Only lower-case names written as in the schemas count, so
"DLT" in prose does not name the ``dlt`` column but "dlt = Y" does.

Only a rule's ``id``, ``severity``, ``description``, ``requires`` (the domains it
reads) and, when present, ``columns`` are used.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trialdata.site_kit.model import RuleRef

__all__ = ["RuleLinks", "link_rules", "registered_rules"]

#: An identifier as the schemas write column names, optionally after ``domain.``.
_NAME = re.compile(r"(?<![\w.])(?:([a-z][a-z0-9_]*)\.)?([a-z][a-z0-9_]*)(?![\w])")


def registered_rules() -> list[Any]:
    """Return every cross-domain and protocol rule of the validation package.

    Returns
    -------
    list
        The rules, each with ``id``, ``severity``, ``description`` and
        ``requires``, in the package's catalogue order when it has one, else by id.
    """
    module = importlib.import_module("trialdata.validation.rules")
    every = getattr(module, "all_rules", None)
    if callable(every):
        return list(every())
    loader = getattr(module, "_load_rule_modules", None)
    if callable(loader):
        loader()
    return sorted(module.RULES, key=lambda r: (r.id[:2] != "XD", r.id))


@dataclass(frozen=True)
class RuleLinks:
    """Rules by column and by domain.

    Attributes
    ----------
    by_column : dict
        ``(domain, column)`` to the rules that check that column.
    by_domain : dict
        Domain name to the rules that read it or check one of its columns.
    everywhere : tuple of RuleRef
        Rules that read no domain in particular (they run on every upload).
    """

    by_column: dict[tuple[str, str], tuple[RuleRef, ...]]
    by_domain: dict[str, tuple[RuleRef, ...]]
    everywhere: tuple[RuleRef, ...]


def _named_columns(
    text: Iterable[str], columns: Mapping[str, Sequence[str]]
) -> set[tuple[str, str]]:
    """Return the ``(domain, column)`` pairs that names in ``text`` refer to."""
    found: set[tuple[str, str]] = set()
    for item in text:
        for match in _NAME.finditer(item):
            domain, name = match.group(1), match.group(2)
            if domain in columns:
                if name in columns[domain]:
                    found.add((domain, name))
            else:  # a bare name ("e.g" is no domain either)
                found |= {(d, name) for d, known in columns.items() if name in known}
    return found


def _stated_columns(rule: Any) -> tuple[str, ...]:
    """Return the columns a rule states it checks (empty when it states none)."""
    stated = getattr(rule, "columns", None) or ()
    return tuple(str(c).replace("*.", "") for c in stated)


def link_rules(rules: Sequence[Any], columns: Mapping[str, Sequence[str]]) -> RuleLinks:
    """Link each rule to the columns and domains it checks.

    Parameters
    ----------
    rules : sequence
        Rules with ``id``, ``severity``, ``description`` and ``requires``.
    columns : dict of str to sequence of str
        Every domain's columns.

    Returns
    -------
    RuleLinks
        The rules of every column and domain, each in the order given.
    """
    by_column: dict[tuple[str, str], list[RuleRef]] = {}
    by_domain: dict[str, list[RuleRef]] = {name: [] for name in columns}
    everywhere: list[RuleRef] = []
    for rule in rules:
        ref = RuleRef(str(rule.id), str(rule.severity), str(rule.description), "rule")
        stated = _stated_columns(rule)
        named = _named_columns(stated or [ref.description], columns)
        for pair in sorted(named):
            by_column.setdefault(pair, []).append(ref)
        reads = tuple(getattr(rule, "requires", ()) or ())
        if not reads:
            everywhere.append(ref)
        domains = {d for d in reads if d in by_domain} | {d for d, _ in named}
        for domain in domains:
            by_domain[domain].append(ref)
    return RuleLinks(
        {pair: tuple(refs) for pair, refs in by_column.items()},
        {name: tuple(refs) for name, refs in by_domain.items()},
        tuple(everywhere),
    )
