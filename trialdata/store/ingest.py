"""Audited ingest of a validated site upload.

One upload is one transaction. Rows that pass every error-level rule are accepted
and written as new record versions; rows that fail are quarantined with their
findings. Nothing is discarded, and nothing is written at all when the upload is
refused (a row of another site, a change without a reason) or when the process dies
half-way.

All or nothing per upload: an upload that was not read in full or is incomplete (a
finding of :data:`~trialdata.validation.runner.INTAKE_RULES`: a file unreadable, a
required domain missing, two files for one domain, a malformed line, a symbolic link
or special file) is refused whole (:class:`UploadRefusedError`) unless the caller
asks to quarantine such files whole (``quarantine_bad_files``): every row read from
them is quarantined, and a file none of whose rows could be read is quarantined as
one entry (key ``<file>#file``). A missing required domain has no file to hold and
always refuses the upload. Every row read is stored, quarantined or refused.

Full-record semantics: an uploaded row is the whole record. A column absent from the
file is a missing value, so a re-upload without an optional column clears that field
(an update, which needs a reason like any other). Records absent from an upload are
left as they are; deleting a record is an explicit action
(:func:`trialdata.store.deletes.delete_records`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import sqlalchemy as sa

from schemas.domains import DOMAINS, DomainSpec
from trialdata.errors import StoreError, UnreadableFileError
from trialdata.findings import FINDING_COLUMNS, Finding, Severity, findings_frame
from trialdata.io.sent import sent_rows
from trialdata.store._ids import next_id
from trialdata.store.accounts import Action, require
from trialdata.store.audit import AuditWriter
from trialdata.store.bulk import bulk_insert, bulk_update
from trialdata.store.bulk_rows import insert_rows, update_rows
from trialdata.store.codec import (
    EXACT_COLUMN,
    CanonicalText,
    canonical_text,
    db_columns,
    duplicated,
    exact_values,
    json_objects,
    json_series,
    key_text,
    none_list,
    object_strings,
)
from trialdata.store.consistency import (
    Consistency,
    Pending,
    StoredDomain,
    check_upload,
)
from trialdata.store.engine import write_transaction
from trialdata.store.protocols import (
    check_protocol_in_force,
    protocol_for_upload,
    read_protocol_file,
    store_protocol,
)
from trialdata.store.queries import update_queries
from trialdata.store.records import next_record_id, read_versions
from trialdata.store.scope import (
    TRIAL_LEVEL,
    coordinating_site,
    row_sites,
    subject_sites,
)
from trialdata.store.tables import (
    FINDINGS,
    QUARANTINE,
    SUBMISSION_FILES,
    SUBMISSIONS,
    record_table,
    record_table_name,
)
from trialdata.validation import PROTOCOL_FILE, ValidationReport
from trialdata.validation.rule import SOURCE_FILE, SOURCE_ROW
from trialdata.validation.runner import INTAKE_RULES

__all__ = ["PAUSE_ENV", "IngestResult", "UploadRefusedError", "ingest_report"]

#: Test hook: when set to a file path, ingest writes that file after the first
#: domain's records are written inside the transaction, then sleeps for a minute, so
#: that a test can kill the process half-way.
PAUSE_ENV = "TRIALDATA_TEST_INGEST_PAUSE"

_LISTED = 20

#: Key of the quarantine entry of a file held whole without a row read from it.
FILE_KEY_SUFFIX = "#file"

#: Intake findings that cannot be held by quarantining a file: there is none.
_NO_FILE_TO_HOLD = frozenset({"RD-006"})


class UploadRefusedError(StoreError):
    """An upload refused whole: it was not read in full or is incomplete.

    Nothing is stored. Raised for findings of
    :data:`~trialdata.validation.runner.INTAKE_RULES` (a missing required domain
    even when bad files may be quarantined).

    Attributes
    ----------
    findings : pandas.DataFrame
        Every finding of the upload (:data:`~trialdata.findings.FINDING_COLUMNS`).
    reasons : pandas.DataFrame
        The findings that refuse it.
    n_rows : int
        Rows read from the upload; all of them are refused.
    """

    def __init__(self, findings: pd.DataFrame, reasons: pd.DataFrame, n_rows: int):
        self.findings = findings
        self.reasons = reasons
        self.n_rows = n_rows
        files = list(dict.fromkeys(reasons["file"].astype(str)))
        lines = [f"  {line}" for line in finding_lines(reasons, _LISTED)]
        super().__init__(
            f"upload refused, nothing stored: {len(files)} file(s) not read in full "
            f"or missing ({', '.join(files)}); {n_rows} row(s) read, 0 stored, "
            f"0 quarantined, {n_rows} refused:\n" + "\n".join(lines)
        )

    @property
    def n_refused(self) -> int:
        """Rows refused: every row read."""
        return self.n_rows


def finding_lines(findings: pd.DataFrame, limit: int = _LISTED) -> list[str]:
    """Return findings as lines naming file, row, column, rule and message.

    Parameters
    ----------
    findings : pandas.DataFrame
        Findings (:data:`~trialdata.findings.FINDING_COLUMNS`).
    limit : int, optional
        Lines at most; a last line says how many more there are.

    Returns
    -------
    list of str
        E.g. ``"labs.csv row 6: RD-012: line has 9 fields, ..."``.
    """
    lines = []
    for row in findings.head(limit).to_dict("records"):
        where = str(row["file"])
        if not pd.isna(row["row"]):
            where += f" row {int(row['row'])}"
        column = "" if pd.isna(row["column"]) else f"{row['column']} "
        lines.append(f"{where}: {column}{row['rule']}: {row['message']}")
    if len(findings) > limit:
        lines.append(f"... and {len(findings) - limit} more")
    return lines


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did.

    Attributes
    ----------
    submission_id : int
        The submission recorded.
    changeset_id : int
        Its changeset in the audit trail.
    site_id : str
        The uploading site.
    n_rows : int
        Rows read.
    n_created, n_updated, n_unchanged : int
        Accepted rows that created a record, changed one, or matched the stored one.
    n_quarantined : int
        Rows quarantined.
    n_released : int
        Earlier quarantined rows superseded by a valid row of this upload.
    n_findings : int
        Findings recorded (validation and store findings).
    audit_head : str
        Hash at the head of the audit chain after this ingest.
    findings : pandas.DataFrame
        The findings of this upload, with ``record_key``, ``query_id`` and
        ``flagged`` (true for a conflict left on a stored record, which is located
        at that record's source file and row).
    quarantine_summary : pandas.DataFrame
        Why rows were quarantined: one row per domain and rule with the number of
        quarantined rows the rule holds (``rows``; a row with two rules counts for
        both), how many findings (``findings``) and the first one's ``column`` and
        ``message``.
    n_flagged : int
        Conflicts with stored records that no row of this upload could be held
        responsible for; they are findings of the upload (on the stored record)
        and ``freeze`` refuses while they last.
    quarantined_files : pandas.DataFrame
        Files held whole (``quarantine_bad_files``): ``domain``, ``file``,
        ``rows`` (rows read from it, all quarantined; 0 when none could be read),
        ``rule`` and ``message`` of its first intake finding.
    n_errors : int
        Error findings of the upload (validation, store and conflicts).
    """

    submission_id: int
    changeset_id: int
    site_id: str
    n_rows: int
    n_created: int
    n_updated: int
    n_unchanged: int
    n_quarantined: int
    n_released: int
    n_findings: int
    audit_head: str
    findings: pd.DataFrame
    quarantine_summary: pd.DataFrame = field(default_factory=lambda: _summary([]))
    n_flagged: int = 0
    quarantined_files: pd.DataFrame = field(default_factory=lambda: _held_files([]))
    n_errors: int = 0

    @property
    def n_stored(self) -> int:
        """Rows accepted: created, updated or unchanged."""
        return self.n_created + self.n_updated + self.n_unchanged

    @property
    def n_files_quarantined(self) -> int:
        """Files held whole, without a row read from them."""
        return int((self.quarantined_files["rows"] == 0).sum())

    @property
    def exit_code(self) -> int:
        """0 when every row was accepted and nothing was wrong, else 1.

        1 when rows or files were quarantined, conflicts flagged, or the upload has
        any error finding (so that ``ingest`` never exits 0 on an upload that
        ``validate`` fails).
        """
        held = self.n_quarantined or self.n_flagged or len(self.quarantined_files)
        return 1 if held or self.n_errors else 0

    def count_line(self) -> str:
        """Return the row counts: rows read = stored + quarantined.

        Returns
        -------
        str
            E.g. ``"16 rows read = 13 stored (0 created, 0 updated, 13 unchanged)
            + 3 quarantined"``, with the files held unread when there are any.
        """
        line = (
            f"{self.n_rows} rows read = {self.n_stored} stored ({self.n_created} "
            f"created, {self.n_updated} updated, {self.n_unchanged} unchanged) + "
            f"{self.n_quarantined} quarantined"
        )
        if self.n_files_quarantined:
            line += (
                f"; {self.n_files_quarantined} file(s) quarantined whole without a "
                "row read"
            )
        return line

    def quarantine_lines(self) -> list[str]:
        """Return one line per domain: rows quarantined, by rule, with an example.

        Returns
        -------
        list of str
            E.g. ``"subjects: 18 quarantined (RD-005: 18 - initials: column holds
            direct identifiers ...)"``, domains in registry order.
        """
        lines = []
        summary = self.quarantine_summary
        for domain, group in summary.groupby("domain", sort=False):
            n = int(group["quarantined"].iloc[0])
            parts = []
            for row in group.to_dict("records"):
                example = "e.g. " if row["findings"] > 1 else ""
                column = "" if pd.isna(row["column"]) else f"{row['column']}: "
                parts.append(
                    f"{row['rule']}: {row['rows']} - {example}{column}{row['message']}"
                )
            lines.append(f"{domain}: {n} quarantined ({'; '.join(parts)})")
        for row in self.quarantined_files.to_dict("records"):
            rows = (
                f"its {row['rows']} row(s) quarantined"
                if row["rows"]
                else "no row could be read"
            )
            lines.append(
                f"{row['domain']}: file {row['file']} quarantined whole, {rows} "
                f"({row['rule']}: {row['message']})"
            )
        return lines


@dataclass
class _Upload:
    """One domain table of the upload, prepared for the store."""

    spec: DomainSpec
    data: pd.DataFrame
    text: CanonicalText
    keys: np.ndarray
    key_series: pl.Series
    rejected: np.ndarray
    files: np.ndarray
    rows: np.ndarray
    subjects: np.ndarray
    store_findings: list[Finding]
    #: file name -> (path, SHA-256) of the files read, to quarantine rows as sent
    sources: dict[str, tuple[Path, str]] = field(default_factory=dict)


def _subject_column(spec: DomainSpec, text: CanonicalText, n: int) -> np.ndarray:
    if "subject_id" in text:
        return text["subject_id"]
    return np.full(n, None, dtype=object)


def _prepare(
    spec: DomainSpec, report: ValidationReport, held: frozenset[str] = frozenset()
) -> _Upload:
    data = report.tables[spec.name]
    text = canonical_text(data, spec)
    key_series = key_text(text.arrow, spec.key)
    keys = np.asarray(key_series.to_numpy(), dtype=object)
    rejected = report.rejected_mask(spec.name).to_numpy(dtype=bool).copy()
    files = object_strings(data[SOURCE_FILE])
    if held:  # files quarantined whole: every row of theirs
        rejected |= np.isin(files.astype(str), list(held))
    rows = pd.to_numeric(data[SOURCE_ROW]).to_numpy(dtype=np.int64)
    subjects = _subject_column(spec, text, len(data))

    def row_error(
        i: int | np.integer, column: str, rule: str, message: str, value: str | None
    ) -> Finding:
        """Return an error-level store finding about row ``i`` of the table.

        Parameters
        ----------
        i : int
            Position of the row in the table.
        column : str
            Column the finding names.
        rule : str
            Rule identifier (``ST-...``).
        message : str
            What is wrong.
        value : str or None
            The offending value.

        Returns
        -------
        trialdata.findings.Finding
            The finding, located by the row's source file, row and subject.
        """
        return Finding(
            spec.name,
            files[i],
            int(rows[i]),
            subjects[i],
            column,
            rule,
            Severity.ERROR,
            message,
            value,
        )

    found: list[Finding] = []
    no_key = pd.isna(keys)
    for i in np.flatnonzero(no_key & ~rejected):
        missing = [c for c in spec.key if text[c][i] is None]
        found.append(
            row_error(
                i,
                missing[0],
                "ST-001",
                f"key column(s) {', '.join(missing)} missing: the row cannot be stored",
                None,
            )
        )
    rejected |= no_key
    repeated = duplicated(key_series, rejected)
    for i in np.flatnonzero(repeated):
        found.append(
            row_error(
                i,
                spec.key[-1],
                "ST-002",
                f"key {keys[i]} ({', '.join(spec.key)}) appears more than once in the "
                "upload",
                keys[i],
            )
        )
    rejected |= repeated
    sources = {f.name: (f.path, f.sha256) for f in report.files if f.sha256}
    return _Upload(
        spec,
        data,
        text,
        keys,
        key_series,
        rejected,
        files,
        rows,
        subjects,
        found,
        sources,
    )


@dataclass
class _Plan:
    """What the upload does to one domain."""

    upload: _Upload
    sites: np.ndarray
    created: np.ndarray
    updated: np.ndarray
    stored_pos: np.ndarray
    stored: pd.DataFrame
    stored_text: CanonicalText
    changed_fields: dict[str, np.ndarray]


def _where(upload: _Upload, i: int | np.integer) -> str:
    return f"{upload.files[i]} row {int(upload.rows[i])}"


def _plan(
    upload: _Upload,
    stored: pd.DataFrame,
    *,
    site: str,
    coordinator: str,
    subjects: dict[str, str],
    samples: dict[str, str],
    refusals: list[str],
) -> _Plan:
    spec = upload.spec
    sites = row_sites(
        spec.name,
        upload.data,
        site=site,
        coordinator=coordinator,
        subjects=subjects,
        sample_subjects=samples,
    )
    stored_text = canonical_text(stored, spec)
    position = pd.Index(stored["_key"].astype(object)).get_indexer(upload.keys)
    matched = position >= 0
    stored_sites = np.full(len(upload.keys), None, dtype=object)
    if matched.any():
        stored_sites[matched] = stored["_site_id"].to_numpy(dtype=object)[
            position[matched]
        ]
    accepted = ~upload.rejected
    changed_fields: dict[str, np.ndarray] = {}
    differs = np.zeros(len(upload.keys), dtype=bool)
    if matched.any():
        for name in spec.columns:
            new = upload.text[name]
            old = np.full(len(new), None, dtype=object)
            old[matched] = stored_text[name][position[matched]]
            change = matched & accepted & (new != old)
            if change.any():
                changed_fields[name] = change
                differs |= change
    created = accepted & ~matched
    updated = accepted & differs
    if spec.name in TRIAL_LEVEL:
        if site != coordinator:
            for i in np.flatnonzero(created | updated):
                verb = "create" if created[i] else "change"
                refusals.append(
                    f"{_where(upload, i)}: {spec.name} {upload.keys[i]} — only the "
                    f"coordinating site {coordinator} may {verb} {spec.name}"
                )
    else:
        foreign = (sites != site) | (matched & (stored_sites != site))
        if spec.name == "subjects":
            named = upload.text["site_id"]
            foreign |= pd.notna(named) & (named != site)
        for i in np.flatnonzero(foreign):
            owner = stored_sites[i] if stored_sites[i] not in (None, site) else sites[i]
            if owner == site and spec.name == "subjects":
                owner = upload.text["site_id"][i]
            who = f"subject {upload.subjects[i]}" if upload.subjects[i] else "record"
            refusals.append(
                f"{_where(upload, i)}: {spec.name} {upload.keys[i]} — {who} belongs to "
                f"site {owner}, not {site}"
            )
    return _Plan(
        upload, sites, created, updated, position, stored, stored_text, changed_fields
    )


def _refuse(site: str, refusals: list[str]) -> None:
    listed = "\n".join(f"  {line}" for line in refusals[:_LISTED])
    more = (
        f"\n  ... and {len(refusals) - _LISTED} more" if len(refusals) > _LISTED else ""
    )
    raise StoreError(
        f"upload for site {site} refused: it would create or change records that "
        f"site {site} does not own; nothing was stored:\n{listed}{more}"
    )


def _need_reason(plans: list[_Plan]) -> None:
    lines: list[str] = []
    total = 0
    for plan in plans:
        up = plan.upload
        for i in np.flatnonzero(plan.updated):
            total += 1
            if len(lines) < _LISTED:
                fields = [n for n, m in plan.changed_fields.items() if m[i]]
                old = plan.stored_text
                pos = plan.stored_pos[i]
                changes = ", ".join(
                    f"{n} {old[n][pos]!r} -> {up.text[n][i]!r}" for n in fields
                )
                lines.append(
                    f"  {_where(up, i)}: {up.spec.name} {up.keys[i]}: {changes}"
                )
    if total:
        more = f"\n  ... and {total - len(lines)} more" if total > len(lines) else ""
        raise StoreError(
            f"the upload changes {total} stored record(s); a change needs a reason "
            "(--reason); nothing was stored:\n" + "\n".join(lines) + more
        )


def _pause_for_tests() -> None:
    marker = os.environ.get(PAUSE_ENV)
    if marker:
        Path(marker).write_text("records written, transaction open\n")
        time.sleep(60)


def _take(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return the masked values; the array itself when every row is selected.

    Selecting all of a large object array still touches every object (its reference
    count), which is slow when the objects are scattered in memory.
    """
    return values if mask.all() else values[mask]


def _same_text(values: np.ndarray) -> bool:
    """Whether an object array holds one and the same str throughout."""
    return (
        len(values) > 0
        and isinstance(values[0], str)
        and bool((values == values[0]).all())
    )


def _shared_source(plan: _Plan, write: np.ndarray) -> dict[str, str]:
    """Return the site and source file all versions written share (empty if not)."""
    shared: dict[str, str] = {}
    for name, values in (("_site_id", plan.sites), ("_source_file", plan.upload.files)):
        chosen = _take(values, write)
        if not _same_text(chosen):
            return {}
        shared[name] = str(chosen[0])
    return shared


def _provenance(
    plan: _Plan, mask: np.ndarray, shared: dict[str, str]
) -> dict[str, pl.Series]:
    """Provenance of each version written, as text for its entry.

    The source row always; the site and source file only when the versions do not
    all share them (the changeset's ``source`` entry with key ``""`` holds those).
    """
    up = plan.upload
    out: dict[str, pl.Series] = {}
    if not shared:
        for name, values in (("_site_id", plan.sites), ("_source_file", up.files)):
            out[name] = pl.Series(name, _take(values, mask), dtype=pl.String)
    out["_source_row"] = pl.Series("_source_row", _take(up.rows, mask)).cast(pl.String)
    return out


def _write_records(
    conn: sa.Connection,
    plan: _Plan,
    audit: AuditWriter,
    changeset: int,
    submission: int,
) -> None:
    up = plan.upload
    spec = up.spec
    write = plan.created | plan.updated
    n = int(write.sum())
    if n == 0:
        return
    # provenance in the trail, so that audit verify rebuilds every version
    shared = _shared_source(plan, write)
    if shared:  # one entry for the site and file of every version written
        audit.add("source", spec.name, [""], new=json.dumps(shared, ensure_ascii=False))
    if plan.created.any():
        every = bool(plan.created.all())
        chosen = pa.array(plan.created)
        created = {
            k: v if every else v.filter(chosen) for k, v in up.text.arrow.items()
        }
        source = _provenance(plan, plan.created, shared)
        audit.add(
            "create",
            spec.name,
            _take(up.keys, plan.created),
            new=json_series({**created, **source}, [*spec.columns, *source]),
            key_series=up.key_series
            if every
            else up.key_series.filter(pl.Series(plan.created)),
        )
    for name, mask in plan.changed_fields.items():
        old = plan.stored_text[name][plan.stored_pos[mask]]
        audit.add("update", spec.name, up.keys[mask], name, old, up.text[name][mask])
    if plan.updated.any():  # where each changed record's new version comes from
        source = _provenance(plan, plan.updated, shared)
        audit.add(
            "source",
            spec.name,
            up.keys[plan.updated],
            new=json_series(source, list(source)),
        )
    # The entries are hashed (in a child process when many) while the versions are
    # written; the caller's flush writes them.
    audit.hash_pending()
    first = next_record_id(conn, spec.name)
    rows = up.data if write.all() else up.data.loc[write]
    values = db_columns(
        rows,
        spec,
        {
            name: _take(up.text[name], write)
            for name in spec.columns
            if spec.column_kinds[name] in ("string", "datetime")
        },
    )
    columns = ["_rid", *spec.columns, "_key", "_source_row"]
    data = [
        list(range(first, first + n)),
        *values,
        _take(up.keys, write),
        _take(up.rows, write).tolist(),
    ]
    exact = exact_values(rows, spec)  # a UTC offset, a -0.0: see codec
    if exact is not None:
        columns.append(EXACT_COLUMN)
        data.append(exact)
    constants: dict[str, str | int | None] = {
        "_created_cs": changeset,
        "_submission_id": submission,
    }
    for name, per_row in (("_site_id", plan.sites), ("_source_file", up.files)):
        written = _take(per_row, write)
        if _same_text(written):  # usually one site and one file: bound once
            constants[name] = str(written[0])
        else:
            columns.append(name)
            data.append(written)
    bulk_insert(conn, record_table_name(spec.name), columns, data, constants)
    if plan.updated.any():
        old_rids = (
            plan.stored["_rid"]
            .to_numpy(dtype=object)[plan.stored_pos[plan.updated]]
            .tolist()
        )
        bulk_update(
            conn, record_table_name(spec.name), "_ended_cs", changeset, "_rid", old_rids
        )


def _as_sent(up: _Upload, bad: np.ndarray) -> np.ndarray:
    """Return rejected rows as sent (:func:`trialdata.io.sent.sent_rows`), as JSON.

    A row of a table not read from a file of the upload (a report built in code)
    is kept as its canonical text.

    Raises
    ------
    StoreError
        When a file changed since it was validated (nothing is stored then).
    """
    try:
        sent = sent_rows(up.sources, up.files[bad], up.rows[bad], up.spec.columns)
    except UnreadableFileError as error:
        raise StoreError(f"{error}; nothing was stored") from None
    if pd.isna(sent).any():
        chosen = pa.array(bad)
        parsed = json_objects(
            {k: v.filter(chosen) for k, v in up.text.arrow.items()}, up.spec.columns
        )
        sent = np.where(pd.isna(sent), parsed, sent)
    return sent


def _quarantine(
    conn: sa.Connection,
    uploads: list[_Upload],
    audit: AuditWriter,
    *,
    site: str,
    submission: int,
    changeset: int,
    unread: pd.DataFrame,
    held_domains: frozenset[str] = frozenset(),
) -> tuple[int, int]:
    """Quarantine rejected rows; resolve earlier quarantined rows of the same keys.

    ``unread`` lists the files held whole without a row read from them
    (``domain``, ``file``, ``sha256``, ``rule``, ``message``); each is one entry,
    key ``<file>#file``, its data the file's name, SHA-256 and finding. Such an
    entry is resolved by a later upload of the site that reads that domain.
    """
    first = next_id(conn, QUARANTINE.c.id)
    columns: list[list[object]] = [[] for _ in range(9)]
    for row in unread.to_dict("records"):
        file_key = f"{row['file']}{FILE_KEY_SUFFIX}"
        entry = json.dumps(
            {
                "file": row["file"],
                "sha256": row["sha256"] or None,
                "rows_read": 0,
                "rule": row["rule"],
                "message": row["message"],
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )
        for target, value in zip(
            columns,
            (
                row["domain"],
                file_key,
                None,
                row["file"],
                None,
                entry,
                site,
                submission,
                "quarantined",
            ),
            strict=True,
        ):
            target.append(value)
    for up in uploads:
        bad = up.rejected
        if not bad.any():
            continue
        keys = np.where(
            pd.isna(up.keys),
            up.files + "#" + up.rows.astype(str).astype(object),
            up.keys,
        )[bad]
        data = _as_sent(up, bad)
        n = len(keys)
        for target, values in zip(
            columns,
            (
                [up.spec.name] * n,
                keys.tolist(),
                up.subjects[bad].tolist(),
                up.files[bad].tolist(),
                up.rows[bad].tolist(),
                data.tolist(),
                [site] * n,
                [submission] * n,
                ["quarantined"] * n,
            ),
            strict=True,
        ):
            target.extend(values)
    # Earlier quarantined rows of this site whose key this upload brings again.
    open_rows = pd.read_sql(
        sa.select(QUARANTINE.c.id, QUARANTINE.c.domain, QUARANTINE.c.record_key).where(
            QUARANTINE.c.status == "quarantined", QUARANTINE.c.site_id == site
        ),
        conn,
    )
    n_released = 0
    if len(open_rows):
        valid = {(u.spec.name, k) for u in uploads for k in u.keys[~u.rejected]}
        again = {(u.spec.name, k) for u in uploads for k in u.keys[u.rejected]}
        # a file held whole earlier: resolved once the domain is read again
        for domain, key in zip(
            open_rows["domain"], open_rows["record_key"], strict=True
        ):
            if not str(key).endswith(FILE_KEY_SUFFIX):
                continue
            if domain in held_domains:
                again.add((domain, key))
            elif any(u.spec.name == domain for u in uploads):
                valid.add((domain, key))
        pairs = list(zip(open_rows["domain"], open_rows["record_key"], strict=True))
        for status, chosen in (("superseded", valid), ("replaced", again)):
            hit = np.array([p in chosen for p in pairs], dtype=bool)
            if status == "replaced":
                hit &= ~np.array([p in valid for p in pairs], dtype=bool)
            ids = open_rows.loc[hit, "id"].astype(int).tolist()
            if not ids:
                continue
            # audited per column (update entries), like every bookkeeping row
            update_rows(
                conn, audit, QUARANTINE, ids, status=status, resolved_cs=changeset
            )
            if status == "superseded":
                n_released = len(ids)
    n_new = len(columns[0])
    insert_rows(  # each row's create entry holds the whole row
        conn,
        audit,
        QUARANTINE,
        (
            "id",
            "domain",
            "record_key",
            "subject_id",
            "source_file",
            "source_row",
            "data",
            "site_id",
            "submission_id",
            "status",
        ),
        [list(range(first, first + n_new)), *columns],
    )
    return n_new - len(unread), n_released  # rows; the files held are not rows


_SUMMARY_COLUMNS = (
    "domain",
    "quarantined",
    "rule",
    "rows",
    "findings",
    "column",
    "message",
)


def _summary(records: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=list(_SUMMARY_COLUMNS))


_HELD_COLUMNS = ("domain", "file", "rows", "rule", "message", "sha256")


def _held_files(records: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=list(_HELD_COLUMNS)).astype({"rows": int})


def _with_stored_domains(
    engine: sa.Engine, report: ValidationReport
) -> ValidationReport:
    """Return the report with missing required domains the store holds made warnings.

    Uploads may be partial: a required domain whose file is missing from the
    upload but whose records the store already holds is not missing from the trial
    (the check against the stored trial sees those records). Its RD-006 finding
    stays, as a warning saying so.
    """
    findings = report.findings
    missing = (findings["rule"] == "RD-006") & (findings["severity"] == Severity.ERROR)
    if not missing.any():
        return report
    held: set[str] = set()
    with engine.connect() as conn:
        for name in set(findings.loc[missing, "domain"].astype(str)):
            table = record_table(name)
            current = sa.select(table.c._rid).where(table.c._ended_cs.is_(None))
            if conn.execute(current.limit(1)).first() is not None:
                held.add(name)
    if not held:
        return report
    stands = missing & findings["domain"].isin(held)
    changed = findings.copy()
    changed.loc[stands, "severity"] = str(Severity.WARNING)
    changed.loc[stands, "message"] = (
        changed.loc[stands, "message"].astype(str)
        + "; the stored records of this domain stand (a partial upload)"
    )
    return replace(report, findings=changed)


def _intake(report: ValidationReport, quarantine_bad_files: bool) -> pd.DataFrame:
    """Refuse an upload not read in full, or return the files to hold whole.

    Raises
    ------
    UploadRefusedError
        When the upload has an intake finding (see the module notes) and bad files
        are not to be quarantined, or a required domain is missing (from the upload
        and the store).
    """
    findings = report.findings
    intake = findings.loc[
        (findings["severity"] == Severity.ERROR) & findings["rule"].isin(INTAKE_RULES)
    ]
    if intake.empty:
        return _held_files([])
    refusing = (
        intake.loc[intake["rule"].isin(_NO_FILE_TO_HOLD)]
        if quarantine_bad_files
        else intake
    )
    if len(refusing):
        n_rows = sum(len(table) for table in report.tables.values())
        shown = refusing if quarantine_bad_files else intake
        raise UploadRefusedError(findings, shown.reset_index(drop=True), n_rows)
    digests = {f.name: f.sha256 for f in report.files}
    records: list[dict[str, object]] = []
    for name, group in intake.groupby("file", sort=False):
        domain = str(group["domain"].iloc[0])
        table = report.tables.get(domain)
        rows = 0
        if table is not None:
            rows = int((table[SOURCE_FILE].astype(str) == str(name)).sum())
        records.append(
            {
                "domain": domain,
                "file": str(name),
                "rows": rows,
                "rule": str(group["rule"].iloc[0]),
                "message": str(group["message"].iloc[0]),
                "sha256": digests.get(str(name), ""),
            }
        )
    return _held_files(records)


def _quarantine_summary(
    uploads: list[_Upload],
    findings: pd.DataFrame,
    held_files: frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Count the quarantined rows of each domain by the rules that hold them.

    A row-level error holds its row; a file-level error (no row), or an intake
    finding of a file quarantined whole (``held_files``), holds every row of its
    file. A row held by two rules counts for both.
    """
    errors = findings.loc[findings["severity"] == Severity.ERROR]
    if held_files:
        whole = errors["rule"].isin(INTAKE_RULES) & errors["file"].isin(held_files)
        errors = errors.assign(row=errors["row"].where(~whole))
    records: list[dict[str, object]] = []
    for up in uploads:
        bad = up.rejected
        mine = errors.loc[errors["domain"] == up.spec.name]
        if not bad.any() or mine.empty:
            continue
        held = pd.DataFrame(
            {"file": up.files[bad].astype(str), "row": up.rows[bad].astype(np.int64)}
        )
        by_row = mine.loc[mine["row"].notna(), ["rule", "file", "row"]].astype(
            {"file": str, "row": np.int64}
        )
        by_file = mine.loc[mine["row"].isna(), ["rule", "file"]].astype({"file": str})
        pairs = pd.concat(
            [
                by_row.merge(held, on=["file", "row"]),
                by_file.merge(held, on="file"),
            ],
            ignore_index=True,
        ).drop_duplicates()
        counts = pairs.groupby("rule", sort=False).size()
        n_findings = mine.groupby("rule", sort=False).size()
        first = mine.drop_duplicates("rule").set_index("rule")
        for rule in mine["rule"].drop_duplicates():
            if rule not in counts.index:
                continue
            records.append(
                {
                    "domain": up.spec.name,
                    "quarantined": int(bad.sum()),
                    "rule": str(rule),
                    "rows": int(counts[rule]),
                    "findings": int(n_findings[rule]),
                    "column": first.loc[rule, "column"],
                    "message": str(first.loc[rule, "message"]),
                }
            )
    return _summary(records)


def _against_store(
    conn: sa.Connection,
    report: ValidationReport,
    uploads: list[_Upload],
    plans: list[_Plan],
    stored: dict[str, pd.DataFrame],
    held: frozenset[str] = frozenset(),
    *,
    first_upload: bool = False,
) -> Consistency | None:
    """Check the rows to be written against the stored trial; apply its verdict.

    Rows that break a rule next to the stored records (or next to what is left of
    the upload once its failing rows are quarantined) are marked rejected, and the
    plans no longer create or change them. ``held`` names the domains of files
    quarantined whole without a row read: the view has them (empty when nothing is
    stored), so that rows that needed them are orphans. Returns None when nothing
    needed checking: nothing is written, or the store is empty, no row was rejected
    and no file held (the upload's own validation saw exactly what the store would
    hold). ``first_upload`` says the store has no submission yet (so no record).
    """
    written = [p.created | p.updated for p in plans]
    if not any(w.any() for w in written):
        return None
    alone = not held and not any(up.rejected.any() for up in uploads)
    if alone and first_upload:  # nothing stored: no need to read every domain
        return None
    for spec in DOMAINS:
        if spec.name not in stored:
            stored[spec.name] = read_versions(conn, spec)
    empty = all(not len(data) for data in stored.values())
    if empty and alone:
        return None
    pending = {
        up.spec.name: Pending(
            spec=up.spec,
            text=up.text,
            keys=up.keys,
            files=up.files,
            rows=up.rows,
            subjects=up.subjects,
            written=w,
            replaces=np.where(plan.updated, plan.stored_pos, -1),
            changed=plan.changed_fields,
        )
        for up, plan, w in zip(uploads, plans, written, strict=True)
    }
    records = {
        spec.name: StoredDomain(spec, stored[spec.name])
        for spec in DOMAINS
        if len(stored[spec.name])
    }
    outcome = check_upload(report.protocol, records, pending, held=held)
    for up, plan in zip(uploads, plans, strict=True):
        extra = outcome.rejected.get(up.spec.name)
        if extra is None or not extra.any():
            continue
        up.rejected |= extra
        plan.created = plan.created & ~extra
        plan.updated = plan.updated & ~extra
        plan.changed_fields = {
            name: mask & ~extra
            for name, mask in plan.changed_fields.items()
            if (mask & ~extra).any()
        }
    return outcome


def _findings_with_keys(
    report: ValidationReport, uploads: list[_Upload]
) -> pd.DataFrame:
    """All findings of the upload (validation and store), each with its record key."""
    extra = [f for up in uploads for f in up.store_findings]
    frame = findings_frame([report.findings, findings_frame(extra)])
    lookup: dict[tuple[str, int], str] = {}
    wanted = set(frame.loc[frame["row"].notna(), "file"].astype(str))
    for up in uploads:
        present = pd.notna(up.keys) & np.isin(up.files, list(wanted))
        if not present.any():
            continue
        lookup.update(
            zip(
                zip(up.files[present], up.rows[present].tolist(), strict=True),
                up.keys[present],
                strict=True,
            )
        )
    frame["record_key"] = [
        None if pd.isna(row) else lookup.get((str(file), int(row)))
        for file, row in zip(frame["file"], frame["row"], strict=True)
    ]
    return frame


def _protocol_text(report: ValidationReport) -> str | None:
    """Return the upload's ``protocol.toml`` text (never through a link) or None."""
    return read_protocol_file(Path(report.folder) / PROTOCOL_FILE)


def _check_trial(conn: sa.Connection, trial_id: str) -> bool:
    """Refuse an upload of another trial; return whether the store has no upload."""
    known = conn.execute(
        sa.select(SUBMISSIONS.c.trial_id).order_by(SUBMISSIONS.c.id).limit(1)
    ).scalar()
    if known is not None and known != trial_id:
        raise StoreError(
            f"this store holds trial {known}; the upload's protocol.toml is for trial "
            f"{trial_id}"
        )
    return known is None


def ingest_report(
    engine: sa.Engine,
    report: ValidationReport,
    *,
    site: str,
    user: str,
    reason: str | None = None,
    quarantine_bad_files: bool = False,
) -> IngestResult:
    """Store a validated upload: accept valid rows, quarantine the others, audit all.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        An open store (:func:`trialdata.store.engine.open_store_engine`).
    report : trialdata.validation.ValidationReport
        The validated upload (:func:`trialdata.validation.validate_folder`).
    site : str
        The uploading site; must be a site of the protocol.
    user : str
        Who uploads.
    reason : str, optional
        Why; required when the upload changes stored records.
    quarantine_bad_files : bool, optional
        Quarantine a file that was not read in full (unreadable, a malformed
        line, two files for a domain, a link or special file) whole, with its
        findings, and store the rest; by default such an upload is refused.

    Returns
    -------
    IngestResult
        What was stored.

    Raises
    ------
    UploadRefusedError
        When the upload was not read in full or is incomplete (see the module
        notes). Nothing is stored then.
    StoreError
        When the site is not in the protocol, the store holds another trial, the
        upload would create or change another site's records, or it changes stored
        records without a reason. Nothing is stored then.
    """
    protocol = report.protocol
    if site not in protocol.site_ids:
        raise StoreError(
            f"site {site!r} is not a site of trial {protocol.trial.id}; the protocol "
            f"lists {', '.join(protocol.site_ids)}"
        )
    reason = reason.strip() if reason and reason.strip() else None
    protocol_text = _protocol_text(report)
    # the stored protocol rules; an upload's protocol.toml that differs is a finding
    report, in_force = protocol_for_upload(engine, report, protocol_text)
    report = _with_stored_domains(engine, report)
    held_files = _intake(report, quarantine_bad_files)
    held = frozenset(held_files["file"])
    unread = held_files.loc[held_files["rows"] == 0]
    # domains held without a row read and absent from the upload's tables
    held_domains = frozenset(set(unread["domain"]) - set(report.tables))
    coordinator = coordinating_site(protocol)
    specs = [spec for spec in DOMAINS if spec.name in report.tables]
    uploads = [_prepare(spec, report, held) for spec in specs]
    with write_transaction(engine) as conn:
        require(conn, user, Action.INGEST, site=site)
        check_protocol_in_force(conn, in_force, user)
        first_upload = _check_trial(conn, protocol.trial.id)
        stored = {spec.name: read_versions(conn, spec) for spec in specs}
        by_name = {spec.name: spec for spec in DOMAINS}
        for name in ("subjects", "biobank_samples"):
            if name not in stored:
                stored[name] = read_versions(conn, by_name[name])
        subjects = subject_sites(stored["subjects"], report.tables.get("subjects"))
        samples = dict(
            zip(
                stored["biobank_samples"]["_key"].astype(str),
                stored["biobank_samples"]["subject_id"].astype(str),
                strict=True,
            )
        )
        if "biobank_samples" in report.tables:
            uploaded = report.tables["biobank_samples"][["sample_id", "subject_id"]]
            uploaded = uploaded.dropna()
            for sample, subject in zip(
                uploaded["sample_id"].astype(str),
                uploaded["subject_id"].astype(str),
                strict=True,
            ):
                samples.setdefault(sample, subject)
        refusals: list[str] = []
        plans = [
            _plan(
                up,
                stored[up.spec.name],
                site=site,
                coordinator=coordinator,
                subjects=subjects,
                samples=samples,
                refusals=refusals,
            )
            for up in uploads
        ]
        if refusals:
            _refuse(site, refusals)
        outcome = _against_store(
            conn,
            report,
            uploads,
            plans,
            stored,
            held_domains,
            first_upload=first_upload,
        )
        if reason is None:
            _need_reason(plans)
        submission = next_id(conn, SUBMISSIONS.c.id)
        audit = AuditWriter.start(
            conn, kind="ingest", user=user, reason=reason, submission_id=submission
        )
        changeset = audit.changeset_id
        if in_force is None and protocol_text is not None:  # the trial's first
            store_protocol(
                conn,
                audit,
                protocol_text,
                protocol,
                reason=f"protocol.toml of the first upload (submission {submission}, "
                f"site {site})",
                previous=None,
            )
        for number, plan in enumerate(plans):
            _write_records(conn, plan, audit, changeset, submission)
            audit.flush(conn)
            if number == 0:
                _pause_for_tests()
        n_quarantined, n_released = _quarantine(
            conn,
            uploads,
            audit,
            site=site,
            submission=submission,
            changeset=changeset,
            unread=unread,
            held_domains=frozenset(held_files["domain"]),
        )
        findings = _findings_with_keys(report, uploads)
        n_flagged = 0
        if outcome is not None:
            findings = pd.concat([findings, outcome.findings], ignore_index=True)
        summary = _quarantine_summary(uploads, findings, held)
        findings["flagged"] = False
        if outcome is not None and len(outcome.flagged):
            n_flagged = len(outcome.flagged)
            flagged = outcome.flagged.assign(flagged=True)
            findings = pd.concat([findings, flagged], ignore_index=True)
        touched = {up.spec.name for up in uploads} | {"upload", "protocol"}
        findings["query_id"] = update_queries(
            conn,
            findings,
            audit,
            site=site,
            submission=submission,
            changeset=changeset,
            domains=touched,
        )
        first_finding = next_id(conn, FINDINGS.c.id)
        n_findings = len(findings)
        finding_columns = [*FINDING_COLUMNS, "record_key", "query_id"]
        insert_rows(  # each finding's create entry holds the whole row
            conn,
            audit,
            FINDINGS,
            ["id", "submission_id", "site_id", *finding_columns],
            [
                list(range(first_finding, first_finding + n_findings)),
                [submission] * n_findings,
                [site] * n_findings,
                *(none_list(findings[c]) for c in finding_columns),
            ],
        )
        files = [(f.name, f.domain, f.sha256, f.n_rows) for f in report.files]
        # the upload's own protocol.toml, as sent (none: "" in submissions)
        protocol_sha256 = ""
        if protocol_text is not None:
            protocol_sha256 = hashlib.sha256(protocol_text.encode("utf-8")).hexdigest()
            files.append((PROTOCOL_FILE, None, protocol_sha256, 0))
        n_rows = sum(len(up.keys) for up in uploads)
        n_errors = int((findings["severity"] == Severity.ERROR).sum())
        counts = {
            "n_rows": n_rows,
            "n_created": int(sum(p.created.sum() for p in plans)),
            "n_updated": int(sum(p.updated.sum() for p in plans)),
            "n_quarantined": n_quarantined,
            "n_released": n_released,
            "n_findings": n_findings,
        }
        counts["n_unchanged"] = (
            n_rows - n_quarantined - counts["n_created"] - counts["n_updated"]
        )
        record = {
            "site_id": site,
            "trial_id": protocol.trial.id,
            "user_name": user,
            "reason": reason,
            "received_at": audit.at,
            "folder": str(report.folder),
            "protocol_sha256": protocol_sha256,
            **counts,
        }
        record.update(
            id=submission, changeset_id=changeset, protocol_toml=protocol_text or ""
        )
        # the whole row in the trail, the protocol text included
        insert_rows(
            conn, audit, SUBMISSIONS, list(record), [[v] for v in record.values()]
        )
        insert_rows(  # after their submission; file names with their SHA-256
            conn,
            audit,
            SUBMISSION_FILES,
            ["submission_id", "name", "domain", "sha256", "n_rows"],
            [[submission] * len(files), *(list(c) for c in zip(*files, strict=True))],
        )
        audit.close(conn)
    return IngestResult(
        submission_id=submission,
        changeset_id=changeset,
        site_id=site,
        n_rows=n_rows,
        n_created=counts["n_created"],
        n_updated=counts["n_updated"],
        n_unchanged=counts["n_unchanged"],
        n_quarantined=n_quarantined,
        n_released=n_released,
        n_findings=n_findings,
        audit_head=audit.head,
        findings=findings,
        quarantine_summary=summary,
        n_flagged=n_flagged,
        quarantined_files=held_files,
        n_errors=n_errors,
    )
