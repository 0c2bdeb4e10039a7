"""``audit verify``: the chain, the data it implies, the triggers, the anchors.

:func:`verify_store` checks, in one read-only transaction (one consistent view even
while an ingest writes):

1. the hash chain and the changesets (:func:`trialdata.store.audit.verify_audit`),
   reading the log once;
2. the tables against the replayed trail (:mod:`trialdata.store.replay`): every
   record version, submission, file hash, quarantine row, finding, query, snapshot,
   account, protocol version and signature must be what the entries say, and a table
   without entries must be empty; an empty or deleted trail in a store that holds
   data is a problem, never "intact";
3. the protective triggers (:mod:`trialdata.store.guards`);
4. the electronic signatures (:func:`trialdata.store.signatures.verify_signatures`);
5. optionally the anchors kept outside the database (:mod:`trialdata.store.anchor`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

import sqlalchemy as sa

from trialdata.store.anchor import Anchor, check_anchors, store_name
from trialdata.store.audit import VerifyResult, read_changesets, verify_audit
from trialdata.store.guards import check_triggers
from trialdata.store.replay import TrailCollector, replay_store

__all__ = ["consistent_read", "verify_engine", "verify_store"]


def verify_store(
    conn: sa.Connection,
    *,
    expected_head: str | None = None,
    anchors: Sequence[Anchor | str] | None = None,
    key: bytes | None = None,
    store: str | None = None,
    chunk: int = 200_000,
) -> VerifyResult:
    """Verify a store: chain, replayed data, triggers, signatures and anchors.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store (best inside one transaction: see
        :func:`verify_engine`).
    expected_head : str, optional
        A head printed by a write command; it must still be in the chain.
    anchors : sequence, optional
        Lines of an anchor file (:func:`trialdata.store.anchor.read_anchors`);
        checked with ``key``.
    key : bytes, optional
        The anchor key.
    store : str, optional
        The store's name in anchors; by default its URL without password.
    chunk : int, optional
        Audit entries read at a time.

    Returns
    -------
    VerifyResult
        Entries and changesets read, the head, rows compared, every problem.
    """
    trail = TrailCollector()
    chain = verify_audit(conn, expected_head=expected_head, chunk=chunk, sink=trail)
    problems = list(chain.problems)
    replayed = replay_store(conn, trail, read_changesets(conn))
    if chain.n_entries == 0 and replayed.n_rows:
        held = sorted(t for t, n in replayed.row_counts.items() if n)
        problems.insert(
            0,
            f"the audit trail is empty but the store holds {replayed.n_rows} rows "
            f"({', '.join(held)}): the trail was deleted",
        )
    problems.extend(replayed.problems)
    problems.extend(check_triggers(conn))
    problems.extend(_signature_problems(conn))
    if anchors is not None:
        if key is None:
            raise ValueError("anchors are checked with their key")
        name = store if store is not None else store_name(conn.engine)
        problems.extend(check_anchors(conn, name, key, anchors))
    return replace(chain, problems=tuple(problems), n_rows=replayed.n_rows)


def _signature_problems(conn: sa.Connection) -> list[str]:
    """Problems of the electronic signatures (bound to snapshot hashes)."""
    try:
        from trialdata.store.signatures import verify_signatures
    except ImportError:  # a version without signatures
        return []
    return list(verify_signatures(conn))


@contextmanager
def consistent_read(engine: sa.Engine) -> Iterator[sa.Connection]:
    """Open one read transaction that sees one state of the store throughout.

    ``REPEATABLE READ`` on PostgreSQL; on SQLite a read transaction (its snapshot is
    fixed by the first read).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.

    Yields
    ------
    sqlalchemy.Connection
        Connection inside the transaction (rolled back at the end: nothing is
        written).
    """
    options = (
        {"isolation_level": "REPEATABLE READ"}
        if engine.dialect.name == "postgresql"
        else {}
    )
    with engine.connect().execution_options(**options) as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


def verify_engine(
    engine: sa.Engine,
    *,
    expected_head: str | None = None,
    anchors: Sequence[Anchor | str] | None = None,
    key: bytes | None = None,
) -> VerifyResult:
    """Verify a store in one read-only transaction (:func:`consistent_read`).

    See :func:`verify_store` for the parameters.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    expected_head : str, optional
        A head printed by a write command.
    anchors : sequence, optional
        Lines of an anchor file.
    key : bytes, optional
        The anchor key.

    Returns
    -------
    VerifyResult
        What was checked and every problem found.
    """
    with consistent_read(engine) as conn:
        return verify_store(
            conn,
            expected_head=expected_head,
            anchors=anchors,
            key=key,
            store=store_name(engine),
        )
