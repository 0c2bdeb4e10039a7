"""Validate an upload folder end to end: read, parse, check schemas, run rules."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from schemas.domains import DOMAINS, DomainSpec, get_domain
from schemas.protocol import Protocol, ProtocolError, parse_protocol
from trialdata.errors import InputError, UnreadableFileError
from trialdata.findings import Finding, Severity, findings_frame
from trialdata.io.files import (
    SourceFile,
    discover_upload,
    not_a_regular_file,
    open_regular,
    sha256_of,
)
from trialdata.io.identifiers import find_identifier_columns
from trialdata.io.readers import ROW_COLUMN, RawTable, read_raw
from trialdata.validation._threads import (
    WORKERS,
    map_in_threads,
    map_in_threads_while,
)
from trialdata.validation.parsing import normalise_text_columns, parse_table
from trialdata.validation.report import FileRecord, ValidationReport
from trialdata.validation.rule import ABSENT_COLUMNS, SOURCE_FILE, Upload, to_polars
from trialdata.validation.rules import run_rules
from trialdata.validation.schema_check import check_keys, check_schema

__all__ = [
    "INTAKE_RULES",
    "PROTOCOL_FILE",
    "RD_CELL_WITHOUT_VALUE",
    "RD_MALFORMED_LINE",
    "RD_NOT_A_FILE",
    "load_upload_protocol",
    "validate_folder",
    "validate_tables",
]

#: Name of the protocol file in an upload folder.
PROTOCOL_FILE = "protocol.toml"

#: A CSV line with more or fewer fields than the header (a row-level finding on
#: that line; the line is kept as a record, its value is the line as sent).
RD_MALFORMED_LINE = "RD-012"

#: An entry with a data file's name that is not a regular file (a symbolic link, a
#: folder, a named pipe): refused without being read.
RD_NOT_A_FILE = "RD-013"

#: A workbook cell whose value cannot be read: a formula saved without its value,
#: or an error value such as #DIV/0! (a row-level finding on that cell; a formula
#: with a saved value is read as that value).
RD_CELL_WITHOUT_VALUE = "RD-014"

#: Rules of findings that mean the upload was not read in full or is incomplete: a
#: file unreadable (RD-001), a required domain missing (RD-006), two files for one
#: domain (RD-010), a malformed line (RD-012), a link or special file (RD-013).
#: ``trialdata ingest`` refuses an upload with any of them (or, when asked,
#: quarantines the file whole).
INTAKE_RULES: frozenset[str] = frozenset(
    {"RD-001", "RD-006", "RD-010", RD_MALFORMED_LINE, RD_NOT_A_FILE}
)

Progress = Callable[[str], None]


def _file_finding(
    source: SourceFile | str,
    domain: str,
    rule: str,
    severity: Severity,
    message: str,
    column: str | None = None,
    row: int | None = None,
) -> Finding:
    name = source if isinstance(source, str) else source.name
    return Finding(domain, name, row, None, column, rule, severity, message, column)


def load_upload_protocol(folder: Path) -> Protocol:
    """Load the protocol of an upload folder.

    Parameters
    ----------
    folder : pathlib.Path
        The upload folder.

    Returns
    -------
    schemas.protocol.Protocol
        The validated protocol.

    Raises
    ------
    InputError
        When the folder or its protocol.toml is missing or invalid.
    """
    if not folder.is_dir():
        raise InputError("not a folder", file=str(folder))
    path = folder / PROTOCOL_FILE
    problem = not_a_regular_file(path)
    if problem == "does not exist":
        raise InputError(f"the upload has no {PROTOCOL_FILE}", file=str(folder))
    if problem is not None:  # a link is refused, never read
        raise InputError(f"{RD_NOT_A_FILE}: {problem}", file=str(path))
    try:
        with open_regular(path) as handle:  # no link followed, even one made since
            raw = handle.read()
    except UnreadableFileError as error:
        raise InputError(f"{RD_NOT_A_FILE}: {error.reason}", file=str(path)) from None
    except OSError as error:
        raise InputError(
            f"cannot read file: {error.strerror or error}", file=str(path)
        ) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InputError(
            f"not UTF-8 text (byte {error.start})", file=str(path)
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"not valid TOML: {error}", file=str(path)) from None
    try:
        return parse_protocol(data, source=str(path))
    except ProtocolError as error:
        raise InputError(str(error).split(":", 1)[1].strip(), file=str(path)) from None


#: The SHA-256 of a file read, taken when called (see ``RawTable.sha256``).
Digest = Callable[[], str]

#: A file read: its raw table (None when unreadable), SHA-256 and file findings.
_ReadFile = tuple[pd.DataFrame | None, Digest, list[Finding]]


def _read_domain_file(
    source: SourceFile, spec: DomainSpec, threads: bool | None = None
) -> _ReadFile:
    """Read one domain file to a raw table (``threads``: see ``read_raw``).

    Returns the table (None when the file cannot be read), the file's SHA-256 (to
    be taken later, from the bytes read) and the file-level findings.
    """
    notes: list[Finding] = []
    if source.problem is not None:  # a link or special file: never opened
        notes.append(
            _file_finding(
                source, spec.name, RD_NOT_A_FILE, Severity.ERROR, source.problem
            )
        )
        return None, lambda: "", notes
    try:
        raw = read_raw(source, threads=threads)
    except UnreadableFileError as error:
        notes.append(
            _file_finding(
                source, spec.name, "RD-001", Severity.ERROR, error.reason, row=error.row
            )
        )
        try:
            digest = sha256_of(source.path)
        except (UnreadableFileError, OSError):
            digest = ""  # not even its bytes could be read
        return None, lambda: digest, notes
    for line in raw.malformed:
        what = "more" if line.found > line.expected else "fewer"
        notes.append(
            Finding(
                spec.name,
                source.name,
                line.line,
                None,
                None,
                RD_MALFORMED_LINE,
                Severity.ERROR,
                f"line has {line.found} fields, {what} than the header's "
                f"{line.expected}, so its values cannot be matched to their "
                "columns (a delimiter inside an unquoted value, or a field left "
                "out); the value is the line as sent",
                line.text,
            )
        )
    if raw.delimiter not in (None, ","):
        shown = {"\t": "tab"}.get(raw.delimiter, repr(raw.delimiter))
        notes.append(
            _file_finding(
                source,
                spec.name,
                "RD-009",
                Severity.WARNING,
                f"columns are separated by {shown}, not by commas; read as such",
            )
        )
    for column in raw.duplicated_columns:
        notes.append(
            _file_finding(
                source,
                spec.name,
                "RD-004",
                Severity.ERROR,
                "column appears more than once in the header",
                column,
            )
        )
    data = raw.data
    # one category rather than a million references to one str
    data[SOURCE_FILE] = pd.Categorical.from_codes(
        np.zeros(len(data), dtype=np.int8),  # type: ignore[arg-type]  # array-like
        categories=pd.Index([source.name]),
    )
    columns = [c for c in data.columns if not str(c).startswith("_source_")]
    refused = find_identifier_columns(columns)
    for column in refused:
        notes.append(
            _file_finding(
                source,
                spec.name,
                "RD-005",
                Severity.ERROR,
                "column holds direct identifiers and is refused; the column was not "
                "read — remove it from the export",
                column,
            )
        )
    unknown = [c for c in columns if c not in spec.columns and c not in refused]
    for column in unknown:
        notes.append(
            _file_finding(
                source,
                spec.name,
                "RD-003",
                Severity.WARNING,
                f"unknown column for {spec.name}; ignored",
                column,
            )
        )
    for column in spec.required_columns:
        if column not in columns:
            notes.append(
                _file_finding(
                    source,
                    spec.name,
                    "RD-002",
                    Severity.ERROR,
                    f"required column of {spec.name} is missing",
                    column,
                )
            )
    notes += _unread_cell_findings(raw, spec, set(columns) - set(refused + unknown))
    if refused or unknown:
        data = data.drop(columns=refused + unknown)
    return data, lambda: raw.sha256, notes


def _unread_cell_findings(
    raw: RawTable, spec: DomainSpec, kept: set[str]
) -> list[Finding]:
    """Return RD-014 for each workbook cell whose value cannot be read."""
    if not raw.unread_cells:
        return []
    found = []
    named = raw.data.get("subject_id", pd.Series(None, index=raw.data.index))
    subjects = dict(zip(raw.data[ROW_COLUMN], named, strict=True))
    for cell in raw.unread_cells:
        if cell.column not in kept:
            continue
        subject = subjects.get(cell.row)
        what = (
            f"holds the error value {cell.sent} (e.g. a formula that failed)"
            if cell.is_error
            else "holds a formula saved without its value (the workbook was "
            "written by a program that does not calculate formulas)"
        )
        found.append(
            Finding(
                spec.name,
                raw.source.name,
                cell.row,
                None if pd.isna(subject) else str(subject),
                cell.column,
                RD_CELL_WITHOUT_VALUE,
                Severity.ERROR,
                f"cell {cell.cell} {what}, so the value cannot be read; correct "
                "it and save the workbook in a spreadsheet program, or send the "
                "value itself",
                cell.sent,
            )
        )
    return found


def _with_all_columns(typed: pd.DataFrame, spec: DomainSpec) -> pd.DataFrame:
    """Add absent schema columns as missing values so that rules can address them.

    The added columns are listed in ``attrs[ABSENT_COLUMNS]`` so that the schema check
    does not report their values as missing: the absent column is reported once
    (RD-002) when it is required.
    """
    missing = [c for c in spec.columns if c not in typed.columns]
    if not missing:
        return typed
    dtypes = {
        "integer": "Int64",
        "float": "float64",
        "boolean": "boolean",
        "datetime": "datetime64[ns]",
        "string": "string[pyarrow]",
    }
    combined = typed.copy(deep=False)  # the table's own columns are not copied
    for column in missing:
        dtype = dtypes[spec.column_kinds[column]]
        combined[column] = pd.Series(index=typed.index, dtype=dtype)
    combined.attrs[ABSENT_COLUMNS] = tuple(missing)
    return combined


@dataclass(frozen=True)
class _ParsedDomain:
    """One domain table parsed and checked on its own: its schema and its keys."""

    name: str
    typed: pd.DataFrame
    unparsed: pd.DataFrame  # RD-008 / RD-011
    checked: pd.DataFrame  # SC-*, none on a value already reported as unparsed
    frame: pl.DataFrame  # ``typed`` as the rules' polars queries read it


def _parse_domain(name: str, parts: list[pd.DataFrame]) -> _ParsedDomain:
    """Parse a domain's tables as read to their types, check its schema and keys.

    A domain sent as several files (refused, RD-010, but every row still read)
    has each file's table parsed on its own, as its source typed it, and the typed
    tables stacked. The table is also converted here for the rules' polars
    queries, on the thread that parsed it, while other files are still being read.
    """
    spec = get_domain(name)
    parsed = [parse_table(raw, spec) for raw in parts]
    if len(parsed) == 1:
        typed, unparsed = parsed[0]
    else:
        typed = pd.concat([table for table, _ in parsed], ignore_index=True)
        unparsed = findings_frame([found for _, found in parsed])
    typed = _with_all_columns(typed, spec)
    text_normalised = normalise_text_columns(typed, spec)  # e.g. imputation flags
    frame = to_polars(text_normalised)
    schema = check_schema(text_normalised, spec)
    keys = check_keys(frame, spec)
    checked = _not_reported_again(findings_frame([schema, keys]), unparsed)
    return _ParsedDomain(name, typed, unparsed, checked, frame)


def _not_reported_again(checked: pd.DataFrame, unparsed: pd.DataFrame) -> pd.DataFrame:
    """Drop findings on a file, row and column whose value could not be parsed."""
    if not (len(unparsed) and len(checked)):
        return checked
    seen = pd.MultiIndex.from_frame(unparsed[["file", "row", "column"]])
    again = pd.MultiIndex.from_frame(checked[["file", "row", "column"]])
    return checked.loc[~np.asarray(again.isin(seen))]


def _with_rules(
    protocol: Protocol,
    domains: list[_ParsedDomain],
    digests: dict[str, list[Digest]] | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, dict[str, list[str]]]:
    """Run the cross-domain rules while the files are hashed.

    Returns the typed tables, every finding of the parsed domains (RD-008/RD-011,
    SC-*, rules) and the SHA-256 of each domain's files (``digests``).
    """
    files = digests or {}
    tables = {domain.name: domain.typed for domain in domains}
    unparsed = findings_frame([domain.unparsed for domain in domains])
    frames = {domain.name: domain.frame for domain in domains}

    def rules() -> pd.DataFrame:
        upload = Upload(protocol, tables, frames)
        return _not_reported_again(run_rules(upload), unparsed)

    shas, rule_findings = map_in_threads_while(  # hashlib lets go of the GIL
        lambda domain: [digest() for digest in files.get(domain.name, [])],
        domains,
        rules,
        cost=lambda domain: len(domain.typed),
    )
    checked = [domain.checked for domain in domains]
    findings = findings_frame([unparsed, *checked, rule_findings])
    hashes = {domain.name: sha for domain, sha in zip(domains, shas, strict=True)}
    return tables, findings, hashes


def validate_tables(
    protocol: Protocol, raw_tables: dict[str, pd.DataFrame]
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Parse raw text tables to their types, then check them.

    Parameters
    ----------
    protocol : schemas.protocol.Protocol
        The trial's protocol.
    raw_tables : dict of str to pandas.DataFrame
        Domain name to raw text table with ``_source_file`` and ``_source_row``.

    Returns
    -------
    tables : dict of str to pandas.DataFrame
        Typed tables with every schema column.
    findings : pandas.DataFrame
        RD-008/RD-011, SC-* and rule findings. A value that could not be parsed is
        reported once (RD-008): no schema or rule finding is added on the same file,
        row and column.
    """
    parsed = map_in_threads(
        lambda name: _parse_domain(name, [raw_tables[name]]),
        list(raw_tables),
        cost=lambda name: len(raw_tables[name]),
    )
    tables, findings, _ = _with_rules(protocol, parsed)
    return tables, findings


def _domain_files(
    folder: Path, protocol: Protocol
) -> tuple[dict[str, list[SourceFile]], list[Finding]]:
    """Group an upload's data files by domain; note unknown and missing files."""
    notes: list[Finding] = []
    by_domain: dict[str, list[SourceFile]] = {}
    for source in discover_upload(folder):
        if source.domain is None:
            notes.append(
                _file_finding(
                    source,
                    "upload",
                    "RD-007",
                    Severity.WARNING,
                    "file name is not a domain ("
                    + ", ".join(spec.name for spec in DOMAINS)
                    + "); file not read",
                )
            )
        else:
            by_domain.setdefault(source.domain, []).append(source)
    for name in protocol.required_domains:
        if name not in by_domain:
            notes.append(
                _file_finding(
                    f"{name}.csv",
                    name,
                    "RD-006",
                    Severity.ERROR,
                    f"required domain file for {name} is missing from the upload",
                )
            )
    return by_domain, notes


#: Relative cost of reading a byte, by format (rough: it only orders the work). Excel
#: is read cell by cell: on the benchmark upload a 55 kB workbook took about as long
#: as 6 MB of CSV. Parquet is compressed; SAS XPT is read row by row by pandas.
_COST_PER_BYTE = {"csv": 1, "parquet": 3, "xpt": 10, "excel": 100}


def _read_cost(source: SourceFile) -> float:
    """Return the expected cost of reading a file (to start costly files first)."""
    if source.problem is not None:  # not read at all
        return 0.0
    try:
        size = source.path.lstat().st_size
    except OSError:
        return 0.0
    return size * _COST_PER_BYTE.get(source.format, 1)


def _parsed_on_arrow_threads(costs: dict[Path, float]) -> set[Path]:
    """Return the files worth parsing on Arrow's thread pool, given their read costs.

    Files are read side by side, one per core. Arrow's pool parses a file on every
    core but costs about a quarter more CPU (the benchmark's labs.csv: 0.25 s against
    0.20 s on one thread), so it is used only for a file that costs more than a
    core's share of the whole upload: one the other cores would otherwise wait for.
    """
    share = sum(costs.values()) / WORKERS
    return {path for path, cost in costs.items() if WORKERS > 1 and cost > share}


def _file_notes(files: list[SourceFile], reads: list[_ReadFile]) -> list[Finding]:
    """Return a domain's file findings: RD-010 for several files, then each file's."""
    notes = []
    if len(files) > 1:
        names = ", ".join(f.name for f in files)
        notes += [
            _file_finding(
                source,
                str(source.domain),
                "RD-010",
                Severity.ERROR,
                f"more than one file for this domain: {names}",
            )
            for source in files
        ]
    for _, _, file_notes in reads:
        notes += file_notes
    return notes


def validate_folder(
    folder: str | Path,
    *,
    progress: Progress | None = None,
    protocol: Protocol | None = None,
) -> ValidationReport:
    """Validate an upload folder: its protocol and every domain file.

    Parameters
    ----------
    folder : str or pathlib.Path
        Folder holding ``protocol.toml`` and one file per domain
        (``<domain>.csv|.xlsx|.parquet|.xpt``).
    progress : callable, optional
        Called with a short message as each step starts (for progress display).
    protocol : schemas.protocol.Protocol, optional
        Validate against this protocol (a trial store's) instead of the folder's
        ``protocol.toml``, which is then not read and need not exist.

    Returns
    -------
    ValidationReport
        Typed tables with every row read, and every finding.

    Raises
    ------
    InputError
        When the folder or its protocol cannot be used at all.
    """
    folder = Path(folder)
    say = progress or (lambda message: None)
    if protocol is None:
        protocol = load_upload_protocol(folder)
    elif not folder.is_dir():
        raise InputError("not a folder", file=str(folder))
    by_domain, notes = _domain_files(folder, protocol)

    costs = {f.path: _read_cost(f) for files in by_domain.values() for f in files}
    threaded = _parsed_on_arrow_threads(costs)

    def read_and_parse(name: str) -> tuple[list[_ReadFile], _ParsedDomain | None]:
        spec = get_domain(name)
        reads = []
        for source in by_domain[name]:
            say(f"reading {source.name}")
            reads.append(_read_domain_file(source, spec, source.path in threaded))
        parts = [data for data, _, _ in reads if data is not None]
        if not parts:
            return reads, None
        return reads, _parse_domain(name, parts)  # several: refused (RD-010)

    names = list(by_domain)
    results = map_in_threads(
        read_and_parse,
        names,
        cost=lambda name: sum(costs[f.path] for f in by_domain[name]),
    )
    domains: list[_ParsedDomain] = []
    digests: dict[str, list[Digest]] = {}
    for name, (reads, parsed) in zip(names, results, strict=True):
        notes += _file_notes(by_domain[name], reads)
        if parsed is not None:
            domains.append(parsed)
            digests[name] = [digest for _, digest, _ in reads]
    say("checking keys and cross-domain rules")
    tables, findings, hashes = _with_rules(protocol, domains, digests)
    records: list[FileRecord] = []
    for name, (reads, _) in zip(names, results, strict=True):
        shas = hashes.get(name) or [digest() for _, digest, _ in reads]
        files = zip(by_domain[name], reads, shas, strict=True)
        records += [
            FileRecord(source.path, name, sha, 0 if data is None else len(data))
            for source, (data, _, _), sha in files
        ]
    all_findings = findings_frame([findings_frame(notes), findings])
    return ValidationReport(folder, protocol, tables, all_findings, records)
