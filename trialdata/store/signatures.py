"""Electronic signatures of snapshots and report releases.

A signature records the signer (the acting user, see :mod:`trialdata.store.identity`,
with their printed name from ``users.full_name``), the role it is given under, its
meaning (``reviewed``, ``approved``; which roles may give which meaning is
:data:`trialdata.store.accounts.SIGNING`), the UTC time **of the database server**
(SQLite ``strftime('%Y-%m-%dT%H:%M:%fZ', 'now')``, PostgreSQL ``clock_timestamp()``),
and what it is bound to:

- a snapshot (``trialdata sign LABEL --meaning approved``): its label and content
  hash, recomputed from the stored records when signing (a snapshot whose content no
  longer matches its hash is not signed);
- a report release (``trialdata sign LABEL --report FILE --meaning approved``): the
  snapshot the report was made from (its content hash, as above) and the SHA-256 of
  the report file as released. A report is released only from a snapshot that a
  statistician or the coordinator has ``approved``.

Signatures are append-only rows (``signatures``, database triggers refuse changes),
each written with its ``create`` audit entry in a changeset of kind ``signature``.
:func:`verify_signatures` checks them against the snapshots, the accounts and the
changesets; ``audit verify`` reports what it finds.

The signature relies on the authentication of the session that makes it (the
operating-system login on SQLite, the database login on PostgreSQL); the command
asks for no password of its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from trialdata.errors import InputError, StoreError, UnreadableFileError
from trialdata.io.files import open_regular
from trialdata.store._ids import next_id
from trialdata.store.accounts import ALL_SITES, SIGNING, require_signing
from trialdata.store.audit import AuditWriter
from trialdata.store.bookkeeping import insert_row
from trialdata.store.engine import write_transaction
from trialdata.store.snapshots import content_hash, read_tables
from trialdata.store.tables import (
    CHANGESETS,
    SIGNATURES,
    SNAPSHOTS,
    USER_ROLES,
    USERS,
)

__all__ = [
    "Signature",
    "database_utc_now",
    "file_sha256",
    "list_signatures",
    "sign",
    "signature_frame",
    "signatures_of_file",
    "verify_signatures",
]


@dataclass(frozen=True)
class Signature:
    """One electronic signature.

    Attributes
    ----------
    id : int
        Its number.
    target : str
        ``snapshot`` or ``report``.
    snapshot_label : str
        The snapshot signed, or the one the report was made from.
    content_sha256 : str
        The snapshot's content hash the signature is bound to.
    report_name, report_sha256 : str or None
        The report file's name and SHA-256 (report releases only).
    signer : str
        The account that signed.
    signer_name : str or None
        Its printed name at signing.
    role : str
        The role the signature was given under.
    meaning : str
        What it means: ``reviewed`` or ``approved``.
    signed_at : str
        UTC time of the database server, ISO 8601 with ``Z``.
    reason : str or None
        Why (the signer's comment).
    audit_head : str
        The audit chain head after the signature (empty when read back).
    """

    id: int
    target: str
    snapshot_label: str
    content_sha256: str
    report_name: str | None
    report_sha256: str | None
    signer: str
    signer_name: str | None
    role: str
    meaning: str
    signed_at: str
    reason: str | None
    audit_head: str = ""

    def describe(self) -> str:
        """Return the signature as one line: who, what, meaning, when, bound to what.

        Returns
        -------
        str
            E.g. ``"signature 1: snapshot lock-1 approved by ann (Ann Smith,
            statistician) at 2026-12-07T10:00:00.123Z; content sha256 ..."``.
        """
        printed = f"{self.signer_name}, " if self.signer_name else ""
        who = f"{self.signer} ({printed}{self.role})"
        what = f"snapshot {self.snapshot_label}"
        if self.target == "report":
            what = f"report {self.report_name} (sha256 {self.report_sha256}) of {what}"
        return (
            f"signature {self.id}: {what} {self.meaning} by {who} at "
            f"{self.signed_at}; snapshot content sha256 {self.content_sha256}"
        )


def database_utc_now(conn: sa.Connection) -> str:
    """Return the database server's current UTC time as ISO 8601 text with ``Z``.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.

    Returns
    -------
    str
        E.g. ``2026-12-07T10:00:00.123Z`` (SQLite: milliseconds) or
        ``2026-12-07T10:00:00.123456Z`` (PostgreSQL: microseconds).
    """
    if conn.dialect.name == "postgresql":
        sql = (
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
            '\'YYYY-MM-DD"T"HH24:MI:SS.US"Z"\')'
        )
    else:
        sql = "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
    return str(conn.execute(sa.text(sql)).scalar_one())


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file, never read through a link.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    str
        Hexadecimal digest.

    Raises
    ------
    InputError
        When the file is missing, a link or special file, or cannot be read.
    """
    digest = hashlib.sha256()
    try:
        with open_regular(path) as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except UnreadableFileError as error:
        raise InputError(error.reason, file=str(path)) from None
    except OSError as error:
        raise InputError(
            f"cannot be read: {error.strerror or error}", file=str(path)
        ) from None
    return digest.hexdigest()


def _from_row(row: Mapping[Any, Any], head: str = "") -> Signature:
    return Signature(
        int(row["id"]),
        str(row["target"]),
        str(row["snapshot_label"]),
        str(row["content_sha256"]),
        row["report_name"],
        row["report_sha256"],
        str(row["signer"]),
        row["signer_name"],
        str(row["role"]),
        str(row["meaning"]),
        str(row["signed_at"]),
        row["reason"],
        head,
    )


def _snapshot_hash(conn: sa.Connection, label: str) -> tuple[str, str]:
    """Return a snapshot's recorded and recomputed content hash."""
    row = conn.execute(
        sa.select(SNAPSHOTS.c.through_cs, SNAPSHOTS.c.content_sha256).where(
            SNAPSHOTS.c.label == label
        )
    ).first()
    if row is None:
        known = ", ".join(conn.execute(sa.select(SNAPSHOTS.c.label)).scalars())
        raise StoreError(f"no snapshot {label!r}; snapshots: {known or 'none'}")
    recomputed = content_hash(read_tables(conn, int(row.through_cs)))
    return str(row.content_sha256), recomputed


def sign(
    engine: sa.Engine,
    user: str,
    label: str,
    *,
    meaning: str,
    reason: str | None = None,
    report: Path | None = None,
) -> Signature:
    """Sign a snapshot, or the release of a report made from it.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    user : str
        The signer (the acting user).
    label : str
        The snapshot.
    meaning : str
        ``reviewed`` or ``approved`` (see :data:`~trialdata.store.accounts.SIGNING`).
    reason : str, optional
        The signer's comment.
    report : pathlib.Path, optional
        The report file released (its SHA-256 is bound to the signature).

    Returns
    -------
    Signature
        The signature, with the audit head after it.

    Raises
    ------
    PermissionDeniedError
        When the signer may not sign with that meaning.
    StoreError
        When the snapshot does not exist or its content no longer matches its hash,
        a report's snapshot is not approved, or the same signature exists.
    InputError
        When the report file cannot be read (or is a link).
    """
    meaning = meaning.strip().lower()
    target = "report" if report is not None else "snapshot"
    report_name = report_sha = None
    if report is not None:
        report_sha = file_sha256(report)
        report_name = report.name
    why = reason.strip() if reason and reason.strip() else None
    with write_transaction(engine) as conn:
        grant = require_signing(conn, user, target, meaning)
        recorded, recomputed = _snapshot_hash(conn, label)
        if recorded != recomputed:
            raise StoreError(
                f"snapshot {label!r}: its content no longer matches the hash recorded "
                f"at the freeze ({recorded}); it is not signed"
            )
        same = [
            SIGNATURES.c.snapshot_label == label,
            SIGNATURES.c.signer == user,
            SIGNATURES.c.meaning == meaning,
            SIGNATURES.c.target == target,
        ]
        if report_sha is not None:
            same.append(SIGNATURES.c.report_sha256 == report_sha)
            approved = conn.execute(
                sa.select(SIGNATURES.c.id).where(
                    SIGNATURES.c.snapshot_label == label,
                    SIGNATURES.c.target == "snapshot",
                    SIGNATURES.c.meaning == "approved",
                    SIGNATURES.c.content_sha256 == recorded,
                )
            ).first()
            if approved is None:
                raise StoreError(
                    f"a report is released only from an approved snapshot; snapshot "
                    f"{label!r} has no 'approved' signature (`trialdata sign {label} "
                    "--meaning approved`)"
                )
        if conn.execute(sa.select(SIGNATURES.c.id).where(*same)).first() is not None:
            raise StoreError(
                f"{user} signed this {target} as {meaning} already; nothing changed"
            )
        full_name = conn.execute(
            sa.select(USERS.c.full_name).where(USERS.c.user_name == user)
        ).scalar()
        signed_at = database_utc_now(conn)
        audit = AuditWriter.start(conn, kind="signature", user=user, reason=why)
        row = {
            "id": next_id(conn, SIGNATURES.c.id),
            "changeset_id": audit.changeset_id,
            "target": target,
            "snapshot_label": label,
            "content_sha256": recorded,
            "report_name": report_name,
            "report_sha256": report_sha,
            "signer": user,
            "signer_name": full_name,
            "role": grant.role,
            "meaning": meaning,
            "signed_at": signed_at,
            "reason": why,
        }
        insert_row(conn, audit, SIGNATURES, row)
        audit.close(conn)
    return _from_row(row, audit.head)


def list_signatures(conn: sa.Connection, label: str | None = None) -> list[Signature]:
    """Return the signatures, oldest first.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    label : str, optional
        Only those of this snapshot (and its reports).

    Returns
    -------
    list of Signature
        The signatures.
    """
    query = sa.select(SIGNATURES).order_by(SIGNATURES.c.id)
    if label is not None:
        query = query.where(SIGNATURES.c.snapshot_label == label)
    return [_from_row(row._mapping) for row in conn.execute(query)]


def signatures_of_file(conn: sa.Connection, path: Path) -> list[Signature]:
    """Return the report-release signatures bound to a file's SHA-256.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    path : pathlib.Path
        A report file.

    Returns
    -------
    list of Signature
        The signatures whose ``report_sha256`` is the file's (empty when the file
        was changed after it was signed, or never signed).
    """
    digest = file_sha256(path)
    query = (
        sa.select(SIGNATURES)
        .where(SIGNATURES.c.report_sha256 == digest)
        .order_by(SIGNATURES.c.id)
    )
    return [_from_row(row._mapping) for row in conn.execute(query)]


def _held_role(
    grants: dict[tuple[str, str], tuple[int, int | None]], role: str, changeset: int
) -> bool:
    """Whether a trial-wide grant of ``role`` was active at ``changeset``."""
    span = grants.get((role, ALL_SITES))
    if span is None:
        return False
    granted, revoked = span
    return granted <= changeset and (revoked is None or revoked > changeset)


def verify_signatures(conn: sa.Connection) -> list[str]:
    """Check every signature against its snapshot, its signer and its changeset.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.

    Returns
    -------
    list of str
        One line per problem: a signature bound to a hash that no longer matches its
        snapshot (the snapshot's recorded hash, or its content recomputed from the
        record versions), a snapshot that is gone, an unknown or disabled signer, a
        role not allowed for the meaning or not held at signing, a changeset that is
        missing or not the signer's. Empty when every signature holds.
    """
    problems: list[str] = []
    signatures = list_signatures(conn)
    if not signatures:
        return problems
    snapshots = {
        str(r.label): r
        for r in conn.execute(
            sa.select(
                SNAPSHOTS.c.label, SNAPSHOTS.c.through_cs, SNAPSHOTS.c.content_sha256
            )
        )
    }
    recomputed: dict[str, str] = {}
    users = {
        str(r.user_name): r
        for r in conn.execute(sa.select(USERS.c.user_name, USERS.c.disabled_cs))
    }
    grants: dict[str, dict[tuple[str, str], tuple[int, int | None]]] = {}
    for r in conn.execute(sa.select(USER_ROLES)):
        revoked = None if r.revoked_cs is None else int(r.revoked_cs)
        grants.setdefault(str(r.user_name), {})[(str(r.role), str(r.site_id))] = (
            int(r.granted_cs),
            revoked,
        )
    changesets = {
        int(r.id): r
        for r in conn.execute(
            sa.select(CHANGESETS.c.id, CHANGESETS.c.kind, CHANGESETS.c.user_name)
        )
    }
    cs_of = {
        int(r.id): int(r.changeset_id)
        for r in conn.execute(sa.select(SIGNATURES.c.id, SIGNATURES.c.changeset_id))
    }
    for sig in signatures:
        name = f"signature {sig.id} ({sig.target} {sig.snapshot_label} {sig.meaning})"
        cs = cs_of[sig.id]
        snapshot = snapshots.get(sig.snapshot_label)
        if snapshot is None:
            problems.append(f"{name}: its snapshot {sig.snapshot_label!r} is missing")
        else:
            if snapshot.content_sha256 != sig.content_sha256:
                problems.append(
                    f"{name}: bound to content hash {sig.content_sha256}, but the "
                    f"snapshot records {snapshot.content_sha256}"
                )
            if sig.snapshot_label not in recomputed:
                tables = read_tables(conn, int(snapshot.through_cs))
                recomputed[sig.snapshot_label] = content_hash(tables)
            if recomputed[sig.snapshot_label] != sig.content_sha256:
                problems.append(
                    f"{name}: bound to content hash {sig.content_sha256}, but the "
                    f"snapshot's records now hash to {recomputed[sig.snapshot_label]}"
                )
        if sig.target == "report" and not sig.report_sha256:
            problems.append(f"{name}: a report signature without the report's hash")
        roles = SIGNING.get((sig.target, sig.meaning))
        if roles is None:
            problems.append(
                f"{name}: {sig.meaning!r} is not a meaning of a {sig.target}"
            )
        elif sig.role not in roles:
            problems.append(
                f"{name}: role {sig.role} may not sign a {sig.target} as {sig.meaning}"
            )
        account = users.get(sig.signer)
        if account is None:
            problems.append(f"{name}: signer {sig.signer!r} has no account")
        else:
            if account.disabled_cs is not None and int(account.disabled_cs) <= cs:
                problems.append(
                    f"{name}: signer {sig.signer} was disabled when signing"
                )
            if not _held_role(grants.get(sig.signer, {}), sig.role, cs):
                problems.append(
                    f"{name}: signer {sig.signer} did not hold {sig.role} when signing "
                    f"(changeset {cs})"
                )
        changeset = changesets.get(cs)
        if changeset is None:
            problems.append(f"{name}: its changeset {cs} is missing")
        elif changeset.kind != "signature" or changeset.user_name != sig.signer:
            problems.append(
                f"{name}: its changeset {cs} is a {changeset.kind} by "
                f"{changeset.user_name}, not a signature by {sig.signer}"
            )
    return problems


def signature_frame(signatures: list[Signature]) -> pd.DataFrame:
    """Return signatures as a table (for listings).

    Parameters
    ----------
    signatures : list of Signature
        The signatures.

    Returns
    -------
    pandas.DataFrame
        One row per signature, the :class:`Signature` fields as columns.
    """
    columns = [f for f in Signature.__dataclass_fields__ if f != "audit_head"]
    return pd.DataFrame(
        [{c: getattr(s, c) for c in columns} for s in signatures], columns=columns
    )
