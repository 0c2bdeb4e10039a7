"""Rules checked outside the cross-domain rules: readers, schemas and the store.

The cross-domain rules describe themselves (:mod:`trialdata.validation.rules`); the
checks made as a file is read (RD-*), as pandera checks a table against its domain
model (SC-*) and as the store takes an upload in (ST-*) are listed here, once, for
``trialdata rules``, ``docs/rules.md`` and the data dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass

from trialdata.findings import Severity

__all__ = ["READER_RULES", "SCHEMA_RULES", "STORE_RULES", "RuleId"]

ERROR, WARNING = Severity.ERROR, Severity.WARNING


@dataclass(frozen=True)
class RuleId:
    """A rule id with what it checks.

    Attributes
    ----------
    id : str
        Rule identifier, e.g. ``"RD-001"``.
    severity : Severity
        Severity of its findings.
    checks : str
        What the rule requires, in one sentence.
    """

    id: str
    severity: Severity
    checks: str


#: Rules of the readers, checked as each file is read.
READER_RULES: tuple[RuleId, ...] = (
    RuleId(
        "RD-001",
        ERROR,
        "Every data file can be read: not empty, UTF-8 CSV text, an .xlsx workbook "
        "(its first sheet is read), Parquet or SAS XPT.",
    ),
    RuleId("RD-002", ERROR, "Every required column of a domain is in its file."),
    RuleId(
        "RD-003",
        WARNING,
        "A column that is not in the domain's dictionary is ignored (reported once).",
    ),
    RuleId("RD-004", ERROR, "No column name appears twice in a header row."),
    RuleId(
        "RD-005",
        ERROR,
        "No column holds direct identifiers (names, initials, full birth dates, "
        "phone numbers, addresses, medical record or national numbers): such a "
        "column is refused and not read.",
    ),
    RuleId(
        "RD-006", ERROR, "Every domain the protocol requires has a file in the upload."
    ),
    RuleId(
        "RD-007",
        WARNING,
        "Every data file is named after its domain (<domain>.csv, .xlsx, .parquet "
        "or .xpt); a file with another name is not read.",
    ),
    RuleId(
        "RD-008",
        ERROR,
        "Every value reads as its column's type (a whole number, a number, Y or N, "
        "an ISO 8601 date or date-time); the value as sent is kept in the finding.",
    ),
    RuleId(
        "RD-009",
        WARNING,
        "CSV columns are separated by commas (a file separated by semicolons, tabs "
        "or bars is read, with this warning).",
    ),
    RuleId("RD-010", ERROR, "One file per domain: two files for a domain."),
    RuleId(
        "RD-011",
        WARNING,
        "An AE onset date is complete: a partial date (YYYY-MM or YYYY) is imputed "
        "to the first day of the month or year and flagged in onset_date_imputed.",
    ),
    RuleId("RD-012", ERROR, "Every CSV line has as many fields as the header row."),
    RuleId(
        "RD-013",
        ERROR,
        "Every data file is a regular file: a symbolic link, folder or pipe is not "
        "read.",
    ),
    RuleId(
        "RD-014",
        ERROR,
        "No workbook cell holds a formula saved without its value, nor an error "
        "value (#DIV/0!, #N/A): such a cell reads as empty although the site meant "
        "a value, so the row is held. A formula saved with its value (as a "
        "spreadsheet program saves it) is read as that value, without a finding.",
    ),
)

#: Rules of the domain models, checked by pandera on every table.
SCHEMA_RULES: tuple[RuleId, ...] = (
    RuleId("SC-NULL", ERROR, "A required value is present."),
    RuleId("SC-TERM", ERROR, "A coded value is one of its column's controlled terms."),
    RuleId("SC-RANGE", ERROR, "A number or date lies in its column's range."),
    RuleId(
        "SC-FORMAT",
        ERROR,
        "An identifier or code has its column's format (e.g. 2-40 letters, digits, "
        "'.', '-' or '_').",
    ),
    RuleId("SC-CHECK", ERROR, "A value passes any other check its column declares."),
    RuleId(
        "SC-TYPE",
        ERROR,
        "A column has its schema type once read (a check of the readers: every "
        "value is converted to its column's type or reported as RD-008 first, so "
        "this finding would be a defect of trialdata, not of the data).",
    ),
    RuleId(
        "SC-KEY",
        ERROR,
        "No two rows of a domain share its key (e.g. subject_id + ae_seq); every "
        "row of a shared key is reported, naming the first.",
    ),
)

#: Rules of the trial store, checked as an upload is ingested.
STORE_RULES: tuple[RuleId, ...] = (
    RuleId(
        "ST-001",
        ERROR,
        "A row to be stored has every key column: a row without its key cannot be "
        "stored and is held in quarantine.",
    ),
    RuleId(
        "ST-002",
        ERROR,
        "A key appears once in an upload's rows to be stored (the same record "
        "twice in one upload is held).",
    ),
    RuleId(
        "ST-PROTOCOL",
        ERROR,
        "An upload's protocol.toml, when sent, is the store's protocol: a "
        "difference is reported field by field and changes nothing (only "
        "`trialdata protocol set` by a coordinator changes the protocol).",
    ),
)
