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
from trialdata.validation.rules import RULES, _load_rule_modules
from trialdata.validation.rules.testing import clean_context, clean_records, run_rule
from trialdata.validation.runner import RD_CELL_WITHOUT_VALUE, _read_domain_file

__all__ = [
    "EXAMPLES",
    "READ_EXAMPLES",
    "ReadExample",
    "example_findings",
    "read_example_findings",
    "render_catalogue",
]

Records = dict[str, list[dict[str, Any]]]


def _set(domain: str, row: int, **values: Any) -> Callable[[Records], None]:
    def change(records: Records) -> None:
        records[domain][row].update(values)

    return change


def _dose_cohort_at(
    cohort: str, level: int, admin_rows: list[int]
) -> Callable[[Records], None]:
    """Move a cohort and its doses to another dose level (same amount per level)."""

    def change(records: Records) -> None:
        for row in records["cohorts"]:
            if row["cohort_id"] == cohort:
                row["dose_level"] = level
        for index in admin_rows:
            records["administrations"][index].update(
                dose_level=level, dose_amount=5.0 * level
            )

    return change


def _header_only(domain: str) -> Callable[[Records], None]:
    """Remove every row of a domain, as a file with only its header row."""

    def change(records: Records) -> None:
        records[domain].clear()

    return change


#: Rule id -> a change to :func:`~trialdata.validation.rules.testing.clean_records`
#: that makes the rule fire.
EXAMPLES: dict[str, Callable[[Records], None]] = {
    "XD-001": _set("labs", 1, subject_id="S-09"),
    "XD-013": _set("subjects", 0, site_id="RTD"),
    "XD-014": _set("subjects", 1, cohort_id="C9"),
    "XD-015": _set("cohorts", 1, dose_level=3),
    "XD-016": _set("cohorts", 0, route="INTRAVENOUS"),
    "XD-007": _set("administrations", 0, lot_id="L-99"),
    "XD-018": _set("biobank_samples", 1, parent_sample_id="S-01-V1-XX"),
    "XD-019": _set("custody_events", 2, sample_id="S-01-V9-PBMC1"),
    "XD-005": _set("administrations", 1, dose_level=2, dose_amount=10.0),
    "XD-006": _set("administrations", 0, route="INTRANODAL"),
    "XD-017": _set("administrations", 0, dose_amount=7.5),
    "XD-008": _set("product_lots", 0, release_date="2024-01-20"),
    "XD-020": _set("product_lots", 1, viability_pct=65.0),
    "AD-001": _set("administrations", 3, reason_not_given=None),
    "AD-002": _set("administrations", 0, lot_id=None),
    "XD-002": _set("adverse_events", 0, onset_date="2023-12-30"),
    "XD-003": _set("immunomonitoring", 1, collection_date="2024-02-16", visit=None),
    "XD-010": _set("survival_status", 2, last_known_alive_date="2024-03-05"),
    "XD-009": _set(
        "adverse_events", 0, dlt=True, onset_date="2024-02-20", resolution_date=None
    ),
    "XD-011": _set("mri", 0, scan_date="2024-01-30"),
    "XD-021": _set("labs", 1, visit="WEEK2"),
    "XD-022": _set("survival_status", 0, last_known_alive_date="2024-01-20"),
    "XD-023": _dose_cohort_at("C2", 2, [2]),
    "AE-001": _set("adverse_events", 0, resolution_date="2024-01-09"),
    "AE-002": _set("adverse_events", 1, ser_hospitalisation=False),
    "AE-003": _set("adverse_events", 0, ser_medically_important=True),
    "AE-004": _set("adverse_events", 3, outcome="RECOVERED/RESOLVED"),
    "AE-005": _set("adverse_events", 0, grading_scale="ASTCT"),
    "XD-004": _set("biobank_samples", 2, destroyed_date=None),
    "BB-001": _set("biobank_samples", 3, storage_position="LN2/R1/B1/A1"),
    "BB-002": _set("biobank_samples", 1, freezing_time="2024-01-10T08:30"),
    "BB-003": _set("custody_events", 2, event_time="2024-01-10T08:30"),
    "LB-001": _set("labs", 1, lower_limit=60.0),
    "XD-024": _set("subjects", 0, consent_date="1900-01-02"),
    "PV-001": _set(
        "subjects", 1, withdrawal_reason="moved; new phone 06-12345678 (Maria Garcia)"
    ),
    # last: the other examples change rows of adverse_events
    "XD-025": _header_only("adverse_events"),
}


@dataclass(frozen=True)
class ReadExample:
    """A rule of the readers (RD-*) with a file it fires on.

    Attributes
    ----------
    severity : str
        ``error`` or ``warning``.
    checks : str
        What the rule checks.
    change : str
        The example file, in words.
    write : callable
        Writes the example file into a folder and returns its path.
    """

    severity: str
    checks: str
    change: str
    write: Callable[[Path], Path]


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
        "error",
        "No workbook cell holds a formula saved without its value, nor an error "
        "value (#DIV/0!, #N/A): such a cell reads as empty although the site "
        "meant a value, so the row is held. A formula saved with its value (as a "
        "spreadsheet program saves it) is read as that value, without a finding.",
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
    EXAMPLES[rule_id](records)
    return run_rule(rule_id, clean_context(records))


def render_catalogue() -> str:
    """Return the rule catalogue as Markdown (the content of ``docs/rules.md``)."""
    _load_rule_modules()
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
    for registered in sorted(RULES, key=lambda r: (r.id[:2] != "XD", r.id)):
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
        "Checked as a file is read, before its values are parsed; the example",
        "messages are what the reader reports on the example file.",
        "",
        "| Rule | Severity | Checks | Example file | Example message |",
        "|---|---|---|---|---|",
    ]
    for rule_id, example in sorted(READ_EXAMPLES.items()):
        findings = read_example_findings(rule_id)
        message = str(findings["message"].iloc[0]) if len(findings) else ""
        lines.append(
            f"| {rule_id} | {example.severity} | {example.checks} | "
            f"{example.change} | {message} |"
        )
    return "\n".join(lines) + "\n"


def _describe(rule_id: str) -> str:
    """Describe an example change in words: domain, row and new values."""
    before = clean_records()
    after = clean_records()
    EXAMPLES[rule_id](after)
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
