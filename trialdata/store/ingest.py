"""Audited ingest of a validated site upload.

One upload is one transaction. Rows that pass every error-level rule are accepted
and written as new record versions; rows that fail are quarantined with their
findings. Nothing is discarded, and nothing is written at all when the upload is
refused (a row of another site, a change without a reason) or when the process dies
half-way.

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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import sqlalchemy as sa

from schemas.domains import DOMAINS, DomainSpec
from trialdata.errors import StoreError
from trialdata.findings import FINDING_COLUMNS, Finding, Severity, findings_frame
from trialdata.store._ids import next_id, update_by_id
from trialdata.store.audit import AuditWriter
from trialdata.store.bulk import bulk_insert, bulk_update
from trialdata.store.codec import (
    CanonicalText,
    canonical_text,
    db_columns,
    duplicated,
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
    record_table_name,
)
from trialdata.validation import PROTOCOL_FILE, ValidationReport
from trialdata.validation.context import SOURCE_FILE, SOURCE_ROW

__all__ = ["PAUSE_ENV", "IngestResult", "ingest_report"]

#: Test hook: when set to a file path, ingest writes that file after the first
#: domain's records are written inside the transaction, then sleeps for a minute, so
#: that a test can kill the process half-way.
PAUSE_ENV = "TRIALDATA_TEST_INGEST_PAUSE"

_LISTED = 20


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

    @property
    def exit_code(self) -> int:
        """0 when every row was accepted, 1 when rows were quarantined or flagged."""
        return 1 if self.n_quarantined or self.n_flagged else 0

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


def _subject_column(spec: DomainSpec, text: CanonicalText, n: int) -> np.ndarray:
    if "subject_id" in text:
        return text["subject_id"]
    return np.full(n, None, dtype=object)


def _prepare(spec: DomainSpec, report: ValidationReport) -> _Upload:
    data = report.tables[spec.name]
    text = canonical_text(data, spec)
    key_series = key_text(text.arrow, spec.key)
    keys = np.asarray(key_series.to_numpy(), dtype=object)
    rejected = report.rejected_mask(spec.name).to_numpy(dtype=bool).copy()
    files = object_strings(data[SOURCE_FILE])
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
    return _Upload(
        spec, data, text, keys, key_series, rejected, files, rows, subjects, found
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
    if plan.created.any():
        every = bool(plan.created.all())
        chosen = pa.array(plan.created)
        created = {
            k: v if every else v.filter(chosen) for k, v in up.text.arrow.items()
        }
        audit.add(
            "create",
            spec.name,
            _take(up.keys, plan.created),
            new=json_series(created, spec.columns),
            key_series=up.key_series
            if every
            else up.key_series.filter(pl.Series(plan.created)),
        )
    for name, mask in plan.changed_fields.items():
        old = plan.stored_text[name][plan.stored_pos[mask]]
        audit.add("update", spec.name, up.keys[mask], name, old, up.text[name][mask])
    # The entries are hashed (in a child process when many) while the versions are
    # written; the caller's flush writes them.
    audit.hash_pending()
    first = next_record_id(conn, spec.name)
    values = db_columns(
        up.data if write.all() else up.data.loc[write],
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


def _quarantine(
    conn: sa.Connection,
    uploads: list[_Upload],
    audit: AuditWriter,
    *,
    site: str,
    submission: int,
    changeset: int,
) -> tuple[int, int]:
    """Quarantine rejected rows; resolve earlier quarantined rows of the same keys."""
    first = next_id(conn, QUARANTINE.c.id)
    columns: list[list[object]] = [[] for _ in range(9)]
    for up in uploads:
        bad = up.rejected
        if not bad.any():
            continue
        keys = np.where(
            pd.isna(up.keys),
            up.files + "#" + up.rows.astype(str).astype(object),
            up.keys,
        )[bad]
        chosen = pa.array(bad)
        data = json_objects(
            {k: v.filter(chosen) for k, v in up.text.arrow.items()}, up.spec.columns
        )
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
        audit.add(
            "quarantine",
            "quarantine",
            np.asarray([f"{up.spec.name}:{k}" for k in keys], dtype=object),
            new=data,
        )
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
        pairs = list(zip(open_rows["domain"], open_rows["record_key"], strict=True))
        for status, chosen in (("superseded", valid), ("replaced", again)):
            hit = np.array([p in chosen for p in pairs], dtype=bool)
            if status == "replaced":
                hit &= ~np.array([p in valid for p in pairs], dtype=bool)
            ids = open_rows.loc[hit, "id"].astype(int).tolist()
            if not ids:
                continue
            update_by_id(conn, QUARANTINE, ids, status=status, resolved_cs=changeset)
            keys = [f"{d}:{k}" for d, k in np.asarray(pairs, dtype=object)[hit]]
            audit.add("resolve", "quarantine", keys, "status", "quarantined", status)
            if status == "superseded":
                n_released = len(ids)
    n_new = len(columns[0])
    bulk_insert(
        conn,
        QUARANTINE.name,
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
    return n_new, n_released


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


def _quarantine_summary(uploads: list[_Upload], findings: pd.DataFrame) -> pd.DataFrame:
    """Count the quarantined rows of each domain by the rules that hold them.

    A row-level error holds its row; a file-level error (no row) holds every row of
    its file. A row held by two rules counts for both.
    """
    errors = findings.loc[findings["severity"] == Severity.ERROR]
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
) -> Consistency | None:
    """Check the rows to be written against the stored trial; apply its verdict.

    Rows that break a rule next to the stored records (or next to what is left of
    the upload once its failing rows are quarantined) are marked rejected, and the
    plans no longer create or change them. Returns None when nothing needed
    checking: nothing is written, or the store is empty and no row was rejected
    (the upload's own validation saw exactly what the store would hold).
    """
    written = [p.created | p.updated for p in plans]
    if not any(w.any() for w in written):
        return None
    for spec in DOMAINS:
        if spec.name not in stored:
            stored[spec.name] = read_versions(conn, spec)
    empty = all(not len(data) for data in stored.values())
    if empty and not any(up.rejected.any() for up in uploads):
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
    outcome = check_upload(report.protocol, records, pending)
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


def _protocol_text(report: ValidationReport) -> str:
    path = Path(report.folder) / PROTOCOL_FILE
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise StoreError(
            f"{path}: cannot read the protocol: {error.strerror}"
        ) from None


def _check_trial(conn: sa.Connection, trial_id: str) -> None:
    known = conn.execute(
        sa.select(SUBMISSIONS.c.trial_id).order_by(SUBMISSIONS.c.id).limit(1)
    ).scalar()
    if known is not None and known != trial_id:
        raise StoreError(
            f"this store holds trial {known}; the upload's protocol.toml is for trial "
            f"{trial_id}"
        )


def ingest_report(
    engine: sa.Engine,
    report: ValidationReport,
    *,
    site: str,
    user: str,
    reason: str | None = None,
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

    Returns
    -------
    IngestResult
        What was stored.

    Raises
    ------
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
    coordinator = coordinating_site(protocol)
    specs = [spec for spec in DOMAINS if spec.name in report.tables]
    uploads = [_prepare(spec, report) for spec in specs]
    with write_transaction(engine) as conn:
        _check_trial(conn, protocol.trial.id)
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
        outcome = _against_store(conn, report, uploads, plans, stored)
        if reason is None:
            _need_reason(plans)
        submission = next_id(conn, SUBMISSIONS.c.id)
        audit = AuditWriter.start(
            conn, kind="ingest", user=user, reason=reason, submission_id=submission
        )
        changeset = audit.changeset_id
        for number, plan in enumerate(plans):
            _write_records(conn, plan, audit, changeset, submission)
            audit.flush(conn)
            if number == 0:
                _pause_for_tests()
        n_quarantined, n_released = _quarantine(
            conn, uploads, audit, site=site, submission=submission, changeset=changeset
        )
        findings = _findings_with_keys(report, uploads)
        n_flagged = 0
        if outcome is not None:
            findings = pd.concat([findings, outcome.findings], ignore_index=True)
        summary = _quarantine_summary(uploads, findings)
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
        bulk_insert(
            conn,
            FINDINGS.name,
            ["id", "submission_id", "site_id", *finding_columns],
            [
                list(range(first_finding, first_finding + n_findings)),
                [submission] * n_findings,
                [site] * n_findings,
                *(none_list(findings[c]) for c in finding_columns),
            ],
        )
        files = [(f.name, f.domain, f.sha256, f.n_rows) for f in report.files]
        files.append(
            (
                PROTOCOL_FILE,
                None,
                hashlib.sha256(protocol_text.encode("utf-8")).hexdigest(),
                0,
            )
        )
        n_rows = sum(len(up.keys) for up in uploads)
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
        conn.execute(
            SUBMISSION_FILES.insert(),
            [
                {
                    "submission_id": submission,
                    "name": name,
                    "domain": domain,
                    "sha256": digest,
                    "n_rows": rows,
                }
                for name, domain, digest, rows in files
            ],
        )
        audit.add(
            "create",
            "submission_files",
            [f"{submission}/{name}" for name, *_ in files],
            new=[
                json.dumps(
                    {"domain": domain, "sha256": digest, "n_rows": rows},
                    separators=(",", ":"),
                )
                for _, domain, digest, rows in files
            ],
        )
        record = {
            "site_id": site,
            "trial_id": protocol.trial.id,
            "user_name": user,
            "reason": reason,
            "received_at": audit.at,
            "folder": str(report.folder),
            "protocol_sha256": files[-1][2],
            **counts,
        }
        audit.add(
            "create",
            "submissions",
            [str(submission)],
            new=json.dumps(record, separators=(",", ":"), ensure_ascii=False),
        )
        conn.execute(
            SUBMISSIONS.insert().values(
                id=submission,
                changeset_id=changeset,
                protocol_toml=protocol_text,
                **record,
            )
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
    )
