"""The rule catalogue: every registered rule with an example of what it reports.

Each rule has an example: one change to the clean test upload of
:mod:`trialdata.validation.rules.testing` that makes it fire. The examples are run to
produce the example messages of ``docs/rules.md``, so the documentation always shows
what the code reports. Regenerate the page with::

    python -m trialdata.validation.rules.catalogue > docs/rules.md
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.domains import get_domain
from trialdata.findings import findings_frame
from trialdata.io.files import DATA_SUFFIXES, SourceFile
from trialdata.validation.rule_ids import (
    READER_RULES,
    SCHEMA_RULES,
    STORE_RULES,
    RuleId,
)
from trialdata.validation.rules import all_rules, find_rule
from trialdata.validation.rules.testing import clean_records, clean_upload, run_rule
from trialdata.validation.runner import RD_CELL_WITHOUT_VALUE, _read_domain_file

__all__ = [
    "READ_EXAMPLES",
    "CatalogueEntry",
    "ReadExample",
    "catalogue_entries",
    "example_findings",
    "read_example_findings",
    "render_catalogue",
]

Records = dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class ReadExample:
    """A file a rule of the readers (RD-*) fires on.

    Attributes
    ----------
    change : str
        The example file, in words.
    write : callable
        Writes the example file into a folder and returns its path.
    """

    change: str
    write: Callable[[Path], Path]


@dataclass(frozen=True)
class CatalogueEntry:
    """One rule of the catalogue, whatever checks it.

    Attributes
    ----------
    id : str
        Rule identifier.
    stage : str
        Where it is checked: ``reader``, ``schema``, ``cross-domain`` or ``store``.
    severity : str
        ``error`` or ``warning``.
    checks : str
        What the rule requires, in one sentence.
    reads : tuple of str
        Domains a cross-domain rule needs (empty for the others).
    """

    id: str
    stage: str
    severity: str
    checks: str
    reads: tuple[str, ...] = ()


def catalogue_entries() -> list[CatalogueEntry]:
    """Return every rule id: readers, schemas, cross-domain rules, then the store.

    Returns
    -------
    list of CatalogueEntry
        One entry per rule id, in the order ``docs/rules.md`` lists them.
    """
    entries = [
        CatalogueEntry(r.id, "reader", str(r.severity), r.checks) for r in READER_RULES
    ]
    entries += [
        CatalogueEntry(r.id, "schema", str(r.severity), r.checks) for r in SCHEMA_RULES
    ]
    entries += [
        CatalogueEntry(r.id, "cross-domain", str(r.severity), r.description, r.reads)
        for r in all_rules()
    ]
    entries += [
        CatalogueEntry(r.id, "store", str(r.severity), r.checks) for r in STORE_RULES
    ]
    return entries


def _formula_without_value(folder: Path) -> Path:
    """Write labs.xlsx whose result is a formula saved without its value."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["subject_id", "lab_date", "test_code", "value", "unit"])
    sheet.append(["S-01", "2024-01-16", "ALT", "=E7*2", "U/L"])
    path = folder / "labs.xlsx"
    book.save(path)  # openpyxl writes formulas without calculating them
    return path


#: Rules of the readers, checked as a file is read (before its values are parsed),
#: each with an example file.
READ_EXAMPLES: dict[str, ReadExample] = {
    RD_CELL_WITHOUT_VALUE: ReadExample(
        "labs.xlsx row 2: cell D2 holds the formula =E7*2, saved without its "
        "value (as openpyxl writes formulas)",
        _formula_without_value,
    ),
}


def read_example_findings(rule_id: str) -> Any:
    """Read the example file of a reader rule and return that rule's findings.

    Parameters
    ----------
    rule_id : str
        Rule identifier (a key of :data:`READ_EXAMPLES`).

    Returns
    -------
    pandas.DataFrame
        The rule's findings on its example file.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = READ_EXAMPLES[rule_id].write(Path(folder))
        domain = path.stem
        source = SourceFile(path, domain, DATA_SUFFIXES[path.suffix])
        _, _, notes = _read_domain_file(source, get_domain(domain))
    found = findings_frame(notes)
    return found.loc[found["rule"] == rule_id].reset_index(drop=True)


def example_findings(rule_id: str) -> Any:
    """Run a rule on the clean test upload changed by its example.

    Parameters
    ----------
    rule_id : str
        Rule identifier.

    Returns
    -------
    pandas.DataFrame
        The rule's findings.
    """
    records = clean_records()
    find_rule(rule_id).example(records)
    return run_rule(rule_id, clean_upload(records))


def render_catalogue() -> str:
    """Return the rule catalogue as Markdown (the content of ``docs/rules.md``)."""
    lines = [
        "# Validation rules",
        "",
        "Cross-domain and protocol rules run after the readers (RD-*) and the",
        "per-table schema checks (SC-*). A rule runs only when the domains it requires",
        "are in the upload. Values that could not be read, or that are not allowed",
        "terms, are reported once by the reader or the schema check and do not make a",
        "rule fire.",
        "Dates are compared by calendar day.",
        "",
        "Generated by `python -m trialdata.validation.rules.catalogue`; the example",
        "messages are what each rule reports on the test upload of",
        "`trialdata.validation.rules.testing` after the change shown.",
        "",
        "| Rule | Severity | Requires | Checks | Example change | Example message |",
        "|---|---|---|---|---|---|",
    ]
    for registered in all_rules():
        findings = example_findings(registered.id)
        message = str(findings["message"].iloc[0]) if len(findings) else ""
        change = _describe(registered.id)
        requires = ", ".join(registered.requires) or "(any)"
        lines.append(
            f"| {registered.id} | {registered.severity} | {requires} | "
            f"{registered.description} | {change} | {message} |"
        )
    lines += [
        "",
        "## Rules of the readers",
        "",
        "Checked as a file is read, before its values are parsed; an example",
        "message is what the reader reports on the example file.",
        "",
        "| Rule | Severity | Checks | Example file | Example message |",
        "|---|---|---|---|---|",
    ]
    for rule in READER_RULES:
        example = READ_EXAMPLES.get(rule.id)
        change = message = ""
        if example is not None:
            findings = read_example_findings(rule.id)
            message = str(findings["message"].iloc[0]) if len(findings) else ""
            change = example.change
        lines.append(
            f"| {rule.id} | {rule.severity} | {rule.checks} | {change} | {message} |"
        )
    lines += _table(
        "Rules of the domain models",
        "Checked by pandera on every table, against the domain's model in",
        "`schemas/domains/` (the data dictionary, `trialdata dictionary`, says what",
        "each column allows).",
        rules=SCHEMA_RULES,
    )
    lines += _table(
        "Rules of the trial store",
        "Checked by `trialdata ingest` as an upload's rows are stored.",
        rules=STORE_RULES,
    )
    return "\n".join(lines) + "\n"


def _table(title: str, *intro: str, rules: tuple[RuleId, ...]) -> list[str]:
    """Return a catalogue section: a title, its introduction and its rules."""
    lines = ["", f"## {title}", "", *intro, "", "| Rule | Severity | Checks |"]
    lines.append("|---|---|---|")
    lines += [f"| {r.id} | {r.severity} | {r.checks} |" for r in rules]
    return lines


def _describe(rule_id: str) -> str:
    """Describe an example change in words: domain, row and new values."""
    before = clean_records()
    after = clean_records()
    find_rule(rule_id).example(after)
    for domain, rows in after.items():
        if not rows and before[domain]:
            return f"{domain}: every row removed (only the header row left)"
        for number, (old, new) in enumerate(zip(before[domain], rows, strict=True)):
            changed = {k: v for k, v in new.items() if old.get(k) != v}
            if changed:
                values = ", ".join(f"{k} = {v!r}" for k, v in changed.items())
                return f"{domain} row {number + 2}: {values}"
    return ""


if __name__ == "__main__":
    print(render_catalogue(), end="")
