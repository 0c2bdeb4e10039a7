"""Snapshots: named, immutable, content-hashed states of the store.

``freeze`` records the last changeset and a SHA-256 over the content of every domain
table at that point (the domains in registry order, each record's canonical JSON in
key order) together with the stored protocol in force and its version. Record
versions are never changed or deleted (database triggers), so reading the snapshot
later gives the same rows whatever was ingested since; the content hash is checked on
every read.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa

from schemas.domains import DOMAINS
from schemas.protocol import Protocol, parse_protocol
from trialdata.errors import StoreError
from trialdata.findings import FINDING_COLUMNS, Severity
from trialdata.store.accounts import Action, require
from trialdata.store.audit import AuditWriter, next_changeset_id
from trialdata.store.audit_rows import row_json, row_key
from trialdata.store.codec import json_objects, text_columns
from trialdata.store.consistency import StoredDomain, rule_summary, validate_stored
from trialdata.store.engine import write_transaction
from trialdata.store.protocols import StoredProtocol, current_protocol
from trialdata.store.records import read_versions
from trialdata.store.tables import AUDIT_LOG, CHANGESETS, SNAPSHOTS, SUBMISSIONS
from trialdata.validation.rule import SOURCE_FILE, SOURCE_ROW

__all__ = [
    "ERROR_COLUMNS",
    "FreezeRefusedError",
    "Snapshot",
    "content_hash",
    "freeze",
    "list_snapshots",
    "read_snapshot",
    "read_tables",
    "validate_store_tables",
]

#: Columns of :attr:`Snapshot.errors` (and of each error recorded in the audit entry).
ERROR_COLUMNS: tuple[str, ...] = (*FINDING_COLUMNS, "record_key", "submission_id")


def _errors_frame(records: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=list(ERROR_COLUMNS))
    for name in ("row", "submission_id"):
        frame[name] = frame[name].astype("Int64")
    return frame


class FreezeRefusedError(StoreError):
    """The stored trial has error findings; nothing was frozen.

    Parameters
    ----------
    label : str
        The snapshot asked for.
    errors : pandas.DataFrame
        The error findings (:data:`ERROR_COLUMNS`), located at the stored records.
    """

    def __init__(self, label: str, errors: pd.DataFrame) -> None:
        self.label = label
        self.errors = errors
        lines = "\n".join(f"  {line}" for line in rule_summary(errors))
        super().__init__(
            f"snapshot {label!r} refused: the stored trial has {len(errors)} error "
            "finding(s), so its analyses would not match a validated export; nothing "
            "was frozen. Correct the records with an upload, or freeze with "
            f"--allow-errors to record the findings with the snapshot:\n{lines}"
        )


@dataclass(frozen=True)
class Snapshot:
    """A frozen state of the store.

    Attributes
    ----------
    label : str
        Its name.
    through_cs : int
        Last changeset it includes.
    protocol_toml : str
        The protocol in force: the store's version at the freeze.
    content_sha256 : str
        Hash of its content (:func:`content_hash`).
    row_counts : dict of str to int
        Rows per domain.
    tables : dict of str to pandas.DataFrame
        Typed domain tables with ``_source_file`` and ``_source_row``.
    created_at : str
        UTC time of the freeze.
    user : str
        Who froze it.
    errors : pandas.DataFrame
        Error findings of the stored records that the freeze was told to record
        (:data:`ERROR_COLUMNS`); empty when they validated without error.
    audit_head : str
        The audit chain head right after the freeze; empty for a snapshot read back.
    protocol_version : int or None
        The stored protocol version frozen with it (None for snapshots frozen before
        the store kept protocol versions).
    """

    label: str
    through_cs: int
    protocol_toml: str
    content_sha256: str
    row_counts: dict[str, int]
    tables: dict[str, pd.DataFrame]
    created_at: str
    user: str
    errors: pd.DataFrame = field(default_factory=lambda: _errors_frame([]))
    audit_head: str = ""
    protocol_version: int | None = None

    @property
    def protocol(self) -> Protocol:
        """The protocol, parsed and validated."""
        return parse_protocol(tomllib.loads(self.protocol_toml), source=self.label)


def read_tables(conn: sa.Connection, as_of: int | None) -> dict[str, pd.DataFrame]:
    """Return every non-empty domain table as of a changeset (or now).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    as_of : int or None
        Changeset; None for the current data.

    Returns
    -------
    dict of str to pandas.DataFrame
        Domain name to typed table, in registry order, with the record key in
        ``_key``, the owning site in ``_site_id`` and the source columns.
    """
    tables = {}
    for spec in DOMAINS:
        data = read_versions(conn, spec, as_of=as_of)
        if len(data):
            data = data.rename(columns={"_source_file": SOURCE_FILE})
            data[SOURCE_ROW] = data.pop("_source_row")
            tables[spec.name] = data.reset_index(drop=True)
    return tables


def content_hash(tables: dict[str, pd.DataFrame]) -> str:
    """Return the SHA-256 of the content of domain tables.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Typed domain tables with ``_key`` (as from :func:`read_tables`).

    Returns
    -------
    str
        Hexadecimal digest over, for each domain in registry order, its name and the
        canonical JSON of each record in key order.
    """
    digest = hashlib.sha256()
    for spec in DOMAINS:
        data = tables.get(spec.name)
        if data is None or not len(data):
            continue
        order = np.argsort(data["_key"].to_numpy(dtype=str), kind="stable")
        text = text_columns(data.iloc[order], spec)
        digest.update(f"\x1d{spec.name}\n".encode())
        digest.update("\n".join(json_objects(text, spec.columns)).encode())
    return digest.hexdigest()


def _latest_protocol(conn: sa.Connection) -> StoredProtocol:
    """Return the stored protocol in force (the store's, never an upload's)."""
    stored = current_protocol(conn)
    submitted = conn.execute(sa.select(SUBMISSIONS.c.id).limit(1)).first()
    if submitted is None:
        raise StoreError("the store holds no submission yet; nothing to freeze")
    if stored is None:
        raise StoreError(
            "the store holds no protocol (it was made before protocols were kept); a "
            "coordinator stores it with `trialdata protocol set FILE --reason ...`"
        )
    return stored


def _by_rule(findings: pd.DataFrame, severity: Severity) -> dict[str, int]:
    chosen = findings.loc[findings["severity"] == severity, "rule"]
    return {str(k): int(v) for k, v in chosen.value_counts(sort=False).items()}


def _error_records(errors: pd.DataFrame) -> list[dict[str, object]]:
    """Return error findings as JSON-ready records (None for missing values)."""
    return [
        {
            str(name): None
            if pd.isna(value)
            else int(value)
            if name in ("row", "submission_id")
            else str(value)
            for name, value in record.items()
        }
        for record in errors[list(ERROR_COLUMNS)].to_dict("records")
    ]


def validate_store_tables(
    tables: dict[str, pd.DataFrame], protocol: Protocol
) -> pd.DataFrame:
    """Validate stored domain tables (as from :func:`read_tables`) on their own.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Domain name to stored records with ``_rid``, ``_key``, ``_submission_id``
        and the source columns.
    protocol : schemas.protocol.Protocol
        The protocol to check them against.

    Returns
    -------
    pandas.DataFrame
        Every finding (:data:`ERROR_COLUMNS`), located at the stored records.
    """
    by_name = {spec.name: spec for spec in DOMAINS}
    stored = {
        name: StoredDomain(by_name[name], data)
        for name, data in tables.items()
        if len(data)
    }
    return validate_stored(protocol, stored)


def freeze(
    engine: sa.Engine,
    label: str,
    *,
    user: str,
    reason: str | None = None,
    allow_errors: bool = False,
) -> Snapshot:
    """Freeze the current content of the store under a label.

    The stored records are validated first (the same schemas and rules as an upload
    and an export), against the stored protocol in force, which the snapshot
    records with its version; error findings refuse the freeze unless
    ``allow_errors``. Freezing needs the data_manager role.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    label : str
        Name of the snapshot; unique.
    user : str
        Who freezes it (a data manager, see :mod:`trialdata.store.accounts`).
    reason : str, optional
        Why (e.g. "interim analysis cohort 2").
    allow_errors : bool, optional
        Freeze even when the stored records have error findings; the findings are
        recorded in the snapshot's audit entry and returned as
        :attr:`Snapshot.errors`.

    Returns
    -------
    Snapshot
        The snapshot, with its tables.

    Raises
    ------
    FreezeRefusedError
        When the stored records have error findings and ``allow_errors`` is false;
        nothing is frozen.
    StoreError
        When the label is empty, holds control characters or is taken, or the store
        holds no submission.
    """
    label = label.strip()
    if not label:
        raise StoreError("a snapshot needs a non-empty label")
    if not label.isprintable():
        raise StoreError(
            f"snapshot label {label!r} holds control characters (line breaks, tabs); "
            "use printable characters only"
        )
    with write_transaction(engine) as conn:
        require(conn, user, Action.FREEZE)
        taken = conn.execute(
            sa.select(SNAPSHOTS.c.created_at).where(SNAPSHOTS.c.label == label)
        ).scalar()
        if taken is not None:
            raise StoreError(f"snapshot {label!r} exists already (frozen {taken})")
        through = next_changeset_id(conn) - 1
        in_force = _latest_protocol(conn)
        protocol_toml = in_force.toml
        tables = read_tables(conn, through)
        protocol = parse_protocol(tomllib.loads(protocol_toml), source=label)
        findings = validate_store_tables(tables, protocol)
        errors = findings.loc[findings["severity"] == Severity.ERROR].reset_index(
            drop=True
        )
        if len(errors) and not allow_errors:
            raise FreezeRefusedError(label, errors)
        digest = content_hash(tables)
        counts = {name: len(data) for name, data in tables.items()}
        # the snapshot's create entry: its whole row (audit_rows contract), then
        # what the freeze checked (keys that are not columns: not replayed)
        entry: dict[str, object] = {
            "protocol_sha256": hashlib.sha256(
                protocol_toml.encode("utf-8")
            ).hexdigest(),
            "validation": {
                "errors": _by_rule(findings, Severity.ERROR),
                "warnings": _by_rule(findings, Severity.WARNING),
            },
        }
        if len(errors):
            entry["errors_allowed"] = _error_records(errors)
        audit = AuditWriter.start(conn, kind="freeze", user=user, reason=reason)
        row: dict[str, object] = {
            "label": label,
            "changeset_id": audit.changeset_id,
            "through_cs": through,
            "created_at": audit.at,
            "user_name": user,
            "reason": reason,
            "protocol_toml": protocol_toml,
            "content_sha256": digest,
            "row_counts": json.dumps(counts),
            "protocol_version": in_force.version,
        }
        values = {c.name: row.get(c.name) for c in SNAPSHOTS.columns}
        conn.execute(SNAPSHOTS.insert().values(values))
        audit.add(
            "create",
            SNAPSHOTS.name,
            [row_key(SNAPSHOTS, values)],
            new=json.dumps(
                {**json.loads(row_json(SNAPSHOTS, values)), **entry},
                separators=(",", ":"),
                ensure_ascii=False,
            ),
        )
        audit.close(conn)
    return Snapshot(
        label,
        through,
        protocol_toml,
        digest,
        counts,
        tables,
        audit.at,
        user,
        _errors_frame(_error_records(errors)),
        audit.head,
        in_force.version,
    )


def _recorded_errors(conn: sa.Connection, label: str, changeset: int) -> pd.DataFrame:
    """Return the error findings a freeze recorded in its audit entry."""
    span = conn.execute(
        sa.select(CHANGESETS.c.first_seq, CHANGESETS.c.last_seq).where(
            CHANGESETS.c.id == changeset
        )
    ).first()
    if span is None or span.first_seq is None:
        return _errors_frame([])
    text = conn.execute(  # by sequence number: the log's key, not a scan
        sa.select(AUDIT_LOG.c.new_value).where(
            AUDIT_LOG.c.seq.between(span.first_seq, span.last_seq),
            AUDIT_LOG.c.table_name == "snapshots",
            AUDIT_LOG.c.action == "create",
            AUDIT_LOG.c.record_key == label,
        )
    ).scalar()
    entry = json.loads(text) if text else {}
    return _errors_frame(list(entry.get("errors_allowed", [])))


def read_snapshot(engine: sa.Engine, label: str) -> Snapshot:
    """Read a snapshot back, checking its content hash.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    label : str
        The snapshot's label.

    Returns
    -------
    Snapshot
        The snapshot with its tables exactly as frozen.

    Raises
    ------
    StoreError
        When no snapshot has that label, or its content no longer matches its hash.
    """
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(SNAPSHOTS).where(SNAPSHOTS.c.label == label)
        ).first()
        if row is None:
            known = conn.execute(sa.select(SNAPSHOTS.c.label)).scalars().all()
            listing = ", ".join(known) if known else "none"
            raise StoreError(f"no snapshot {label!r}; snapshots: {listing}")
        tables = read_tables(conn, int(row.through_cs))
        errors = _recorded_errors(conn, label, int(row.changeset_id))
    digest = content_hash(tables)
    if digest != row.content_sha256:
        raise StoreError(
            f"snapshot {label!r}: its content no longer matches the hash recorded at "
            f"the freeze ({row.content_sha256}); the store was tampered with"
        )
    return Snapshot(
        label,
        int(row.through_cs),
        str(row.protocol_toml),
        str(row.content_sha256),
        {k: int(v) for k, v in json.loads(row.row_counts).items()},
        tables,
        str(row.created_at),
        str(row.user_name),
        errors,
        protocol_version=None
        if row.protocol_version is None
        else int(row.protocol_version),
    )


def list_snapshots(engine: sa.Engine) -> pd.DataFrame:
    """Return the snapshots of the store, oldest first.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.

    Returns
    -------
    pandas.DataFrame
        Label, through_cs, created_at, user_name, reason and content_sha256.
    """
    with engine.connect() as conn:
        return pd.read_sql(
            sa.select(
                SNAPSHOTS.c.label,
                SNAPSHOTS.c.through_cs,
                SNAPSHOTS.c.created_at,
                SNAPSHOTS.c.user_name,
                SNAPSHOTS.c.reason,
                SNAPSHOTS.c.content_sha256,
            ).order_by(SNAPSHOTS.c.changeset_id),
            conn,
        )
