"""Rule ids that follow from how a column is declared, and the readers' file rules.

Validation reports a column's declaration by rule id: a required column absent from
the file is RD-002; a value that cannot be read as the column's type RD-008; a
partial date where an imputation flag column exists RD-011 (a warning); an empty
value where one is required SC-NULL; a term outside the terminology SC-TERM; a
number out of range SC-RANGE; text not matching the pattern SC-FORMAT; another
declared check SC-CHECK; a column of another type SC-TYPE; a shared key SC-KEY.
:func:`declared_rules` lists the ids that apply to one column, each said of that
column. :data:`READER_RULES` are the rules about whole files and the upload.
"""

from __future__ import annotations

from typing import Any

from schemas.checks import describe_pattern
from trialdata.site_kit import declarations
from trialdata.site_kit.model import RuleRef
from trialdata.validation import rule_ids

__all__ = ["IMPUTATION_SUFFIX", "READER_RULES", "declared_rules", "read_as"]

#: A date column ``<name>`` with a column ``<name>_imputed`` takes partial dates.
IMPUTATION_SUFFIX = "_imputed"

_ERROR, _WARNING = "error", "warning"


#: Reader rules said of one column (:func:`declared_rules`), not of the upload.
_COLUMN_READER_RULES = frozenset({"RD-002", "RD-008", "RD-011"})

#: Rules of the readers about whole files and the upload, checked as files are read
#: (from the one list of reader rules, :data:`trialdata.validation.rule_ids`).
READER_RULES: tuple[RuleRef, ...] = tuple(
    RuleRef(rule.id, str(rule.severity), rule.checks, "reader")
    for rule in rule_ids.READER_RULES
    if rule.id not in _COLUMN_READER_RULES
)

#: How a value of each type is written, as the RD-008 message says it.
_READ_AS = {
    "integer": "a whole number",
    "float": "a number",
    "boolean": "Y or N",
    "datetime": "an ISO 8601 date (YYYY-MM-DD)",
}


def read_as(kind: str, with_time: bool = False) -> str:
    """Return what a value of a column type must read as (RD-008).

    Parameters
    ----------
    kind : str
        ``integer``, ``float``, ``boolean`` or ``datetime``.
    with_time : bool, optional
        For a date, whether it is a date-time.

    Returns
    -------
    str
        E.g. ``"a whole number"``.
    """
    if kind == "datetime" and with_time:
        return "an ISO 8601 date-time (YYYY-MM-DDTHH:MM)"
    return _READ_AS[kind]


def declared_rules(
    spec: Any, name: str, *, with_time: bool = False
) -> tuple[RuleRef, ...]:
    """Return the readers' and schema rules that check one column.

    Parameters
    ----------
    spec : schemas.domains.DomainSpec
        The column's domain.
    name : str
        The column.
    with_time : bool, optional
        For a date, whether it is a date-time (said in RD-008).

    Returns
    -------
    tuple of RuleRef
        RD-* first, then SC-*, each described for this column.
    """
    column = spec.schema.columns[name]
    kind = spec.column_kinds[name]
    found: list[RuleRef] = []

    def add(rule_id: str, severity: str, text: str, origin: str) -> None:
        found.append(RuleRef(rule_id, severity, text, origin))

    if column.required:
        add(
            "RD-002",
            _ERROR,
            "The column must be in the file's header row.",
            "reader",
        )
    if kind != "string":
        add(
            "RD-008",
            _ERROR,
            f"Each value must read as {read_as(kind, with_time)}.",
            "reader",
        )
    flag = name + IMPUTATION_SUFFIX
    if kind == "datetime" and flag in spec.schema.columns:
        add(
            "RD-011",
            _WARNING,
            "A partial date (YYYY-MM or YYYY) is imputed to the first day of the "
            f"month or year and flagged in {flag}.",
            "reader",
        )
    if not column.nullable:
        add("SC-NULL", _ERROR, "Every row needs a value.", "schema")
    terms = declarations.allowed_terms(column)
    if terms:
        add(
            "SC-TERM",
            _ERROR,
            "Each value must be one of the terms: " + ", ".join(terms) + ".",
            "schema",
        )
    bounds = declarations.value_range(column)
    if bounds is not None:
        add("SC-RANGE", _ERROR, f"Each value must be {bounds.text()}.", "schema")
    pattern = declarations.pattern_of(column)
    if pattern is not None:
        add(
            "SC-FORMAT",
            _ERROR,
            f"Each value must be {describe_pattern(pattern)}.",
            "schema",
        )
    for check in declarations.other_checks(column):
        add("SC-CHECK", _ERROR, f"Each value must pass the check {check}.", "schema")
    add(
        "SC-TYPE",
        _ERROR,
        f"A table given already typed (Python API) holds {kind} values here.",
        "schema",
    )
    if name in spec.key:
        add(
            "SC-KEY",
            _ERROR,
            f"No two rows share the key ({', '.join(spec.key)}).",
            "schema",
        )
    return tuple(found)
