"""Snapshots: named, immutable, content-hashed states of the store.

``freeze`` records the last changeset and a SHA-256 over the content of every domain
table at that point (the domains in registry order, each record's canonical JSON in
key order) together with the protocol of the latest submission. Record versions are
never changed or deleted (database triggers), so reading the snapshot later gives the
same rows whatever was ingested since; the content hash is checked on every read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from schemas.domains import DOMAINS
from schemas.protocol import Protocol, parse_protocol
from trialdata.errors import StoreError
from trialdata.store.audit import AuditWriter, next_changeset_id
from trialdata.store.codec import json_objects, text_columns
from trialdata.store.engine import write_transaction
from trialdata.store.records import read_versions
from trialdata.store.tables import SNAPSHOTS, SUBMISSIONS
from trialdata.validation.context import SOURCE_FILE, SOURCE_ROW

__all__ = [
    "Snapshot",
    "content_hash",
    "freeze",
    "list_snapshots",
    "read_snapshot",
    "read_tables",
]


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
        The protocol in force (of the latest submission).
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
    """

    label: str
    through_cs: int
    protocol_toml: str
    content_sha256: str
    row_counts: dict[str, int]
    tables: dict[str, pd.DataFrame]
    created_at: str
    user: str

    @property
    def protocol(self) -> Protocol:
        """The protocol, parsed and validated."""
        import tomllib

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


def _latest_protocol(conn: sa.Connection, through_cs: int) -> str:
    text = conn.execute(
        sa.select(SUBMISSIONS.c.protocol_toml)
        .where(SUBMISSIONS.c.changeset_id <= through_cs)
        .order_by(SUBMISSIONS.c.id.desc())
        .limit(1)
    ).scalar()
    if text is None:
        raise StoreError("the store holds no submission yet; nothing to freeze")
    return str(text)


def freeze(
    engine: sa.Engine, label: str, *, user: str, reason: str | None = None
) -> Snapshot:
    """Freeze the current content of the store under a label.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    label : str
        Name of the snapshot; unique.
    user : str
        Who freezes it.
    reason : str, optional
        Why (e.g. "interim analysis cohort 2").

    Returns
    -------
    Snapshot
        The snapshot, with its tables.

    Raises
    ------
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
        taken = conn.execute(
            sa.select(SNAPSHOTS.c.created_at).where(SNAPSHOTS.c.label == label)
        ).scalar()
        if taken is not None:
            raise StoreError(f"snapshot {label!r} exists already (frozen {taken})")
        through = next_changeset_id(conn) - 1
        protocol_toml = _latest_protocol(conn, through)
        tables = read_tables(conn, through)
        digest = content_hash(tables)
        counts = {name: len(data) for name, data in tables.items()}
        audit = AuditWriter.start(conn, kind="freeze", user=user, reason=reason)
        audit.add(
            "create",
            "snapshots",
            [label],
            new=json.dumps(
                {
                    "through_cs": through,
                    "content_sha256": digest,
                    "row_counts": counts,
                    "protocol_sha256": hashlib.sha256(
                        protocol_toml.encode("utf-8")
                    ).hexdigest(),
                },
                separators=(",", ":"),
            ),
        )
        conn.execute(
            SNAPSHOTS.insert().values(
                label=label,
                changeset_id=audit.changeset_id,
                through_cs=through,
                created_at=audit.at,
                user_name=user,
                reason=reason,
                protocol_toml=protocol_toml,
                content_sha256=digest,
                row_counts=json.dumps(counts),
            )
        )
        audit.close(conn)
    return Snapshot(
        label, through, protocol_toml, digest, counts, tables, audit.at, user
    )


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
