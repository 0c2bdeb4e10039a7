"""The audit trail: append-only entries chained by SHA-256, and its verification.

Every change the store makes is one or more entries of ``audit_log``, grouped in a
changeset (``changesets``: who, when in UTC, why, what kind of action). An entry names
the table, the record key, the field (None for a whole record), the old and the new
value as canonical text; a whole record is a compact JSON object of its fields.

Each entry carries ``hash = sha256(previous_hash + canonical_entry)`` (the previous
hash as its 32 bytes, the entry as UTF-8; stored in hexadecimal),
where ``canonical_entry`` (:func:`entry_text`) is the compact JSON array
``[seq, changeset_id, at, user, reason, action, table, key, field]``, a newline, the
old value, a newline and the new value, each value written as ``-`` when missing or
as ``<length>:<text>`` (so the serialisation is unambiguous without escaping the
values a second time), and the first entry's previous hash is :data:`GENESIS`. The
changeset row, written last in its transaction, records its first and last sequence
numbers, its entry count and the chain head after it, so that removing entries at the
end of the log is detected too. :func:`verify_audit` recomputes everything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa

from trialdata.store._ids import next_id
from trialdata.store.bulk import bulk_insert
from trialdata.store.chain import ChainJob
from trialdata.store.codec import JSON_ESCAPED, _polars_strings
from trialdata.store.tables import AUDIT_LOG, CHANGESETS

__all__ = [
    "GENESIS",
    "AuditWriter",
    "VerifyResult",
    "chain_hashes",
    "entry_text",
    "next_changeset_id",
    "utc_now",
    "verify_audit",
]

#: The "previous hash" of the first entry.
GENESIS = "0" * 64

_AUDIT_COLUMNS = (
    "seq",
    "changeset_id",
    "action",
    "table_name",
    "record_key",
    "field",
    "old_value",
    "new_value",
    "hash",
)


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 text with microseconds and ``Z``.

    Returns
    -------
    str
        E.g. ``2026-11-22T03:14:15.926535Z``.
    """
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _js(value: str | None) -> str:
    """JSON literal of a string or None, as ``json.dumps(..., ensure_ascii=False)``."""
    return "null" if value is None else str(encode_basestring(value))


def entry_text(
    seq: int,
    changeset_id: int,
    at: str,
    user: str,
    reason: str | None,
    action: str,
    table: str,
    key: str,
    field: str | None,
    old: str | None,
    new: str | None,
) -> str:
    """Return the canonical serialisation of one audit entry.

    Parameters
    ----------
    seq : int
        Sequence number of the entry.
    changeset_id : int
        Its changeset.
    at : str
        UTC time of the changeset.
    user : str
        Who made the change.
    reason : str or None
        Why.
    action : str
        ``create``, ``update``, ``delete``, ``quarantine``, ``resolve``, ...
    table : str
        Table of the record.
    key : str
        Record key.
    field : str or None
        Field changed; None for a whole record.
    old, new : str or None
        Old and new value as canonical text.

    Returns
    -------
    str
        ``json.dumps([seq, ..., field], ensure_ascii=False, separators=(",", ":"))``
        + newline + old + newline + new, each value ``-`` when None and
        ``f"{len(value)}:{value}"`` otherwise.
    """
    head = json.dumps(
        [seq, changeset_id, at, user, reason, action, table, key, field],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return f"{head}\n{_prefixed(old)}\n{_prefixed(new)}"


def _prefixed(value: str | None) -> str:
    return "-" if value is None else f"{len(value)}:{value}"


def _digest_bytes(hex_digest: str) -> bytes:
    """Return the bytes of a stored hexadecimal hash (none when malformed)."""
    try:
        return bytes.fromhex(hex_digest)
    except (ValueError, TypeError):
        return b""


def _json_literal(column: pl.Series) -> pl.Expr:
    """JSON literal of a string column (``null`` when missing), as json.dumps.

    When no value holds a character JSON escapes, quoting is all there is to do;
    otherwise Polars encodes each value.
    """
    name = column.name
    if column.str.contains(JSON_ESCAPED).any():
        wrapped = pl.struct(pl.col(name).alias("v")).struct.json_encode()
        return wrapped.str.strip_prefix('{"v":').str.strip_suffix("}")
    quoted = pl.concat_str([pl.lit('"'), pl.col(name), pl.lit('"')])
    return pl.when(pl.col(name).is_null()).then(pl.lit("null")).otherwise(quoted)


def _length_prefixed(name: str) -> pl.Expr:
    """``-`` when missing, ``<length>:<text>`` otherwise (length in characters)."""
    column = pl.col(name)
    return (
        pl.when(column.is_null())
        .then(pl.lit("-"))
        .otherwise(
            pl.concat_str([column.str.len_chars().cast(pl.String), pl.lit(":"), column])
        )
    )


def chain_hashes(previous: str, texts: Sequence[str]) -> list[str]:
    """Return the chained hashes of consecutive entries.

    Parameters
    ----------
    previous : str
        Hash of the entry before the first one (:data:`GENESIS` for the first entry).
    texts : sequence of str
        Canonical entries (:func:`entry_text`), in sequence order.

    Returns
    -------
    list of str
        ``hash[i] = sha256(bytes(hash[i-1]) + utf8(texts[i]))`` in hexadecimal.
    """
    sha = hashlib.sha256
    digest = bytes.fromhex(previous)
    out: list[str] = []
    append = out.append
    for text in texts:
        digest = sha(digest + text.encode()).digest()
        append(digest.hex())
    return out


def _polars_column(name: str, size: int, values: Any) -> pl.Series:
    """One batch's values of an audit column: a repeated scalar, or one per entry."""
    if values is None or isinstance(values, str):
        return pl.repeat(values, size, dtype=pl.String, eager=True).alias(name)
    if isinstance(values, pl.Series):
        return values.alias(name).cast(pl.String)
    return _polars_strings(name, np.asarray(values, dtype=object))


_VARYING = object()


def _scalar(values: Any) -> Any:
    """Return a batch column's single value, or a marker when it varies per entry."""
    return values if values is None or isinstance(values, str) else _VARYING


def _python_values(index: int, batches: list[tuple[int, tuple[Any, ...]]]) -> list[Any]:
    """Return one audit column over every batch as Python objects."""
    out: list[Any] = []
    for size, values in batches:
        column = values[index]
        if column is None or isinstance(column, str):
            out.extend([column] * size)
        elif isinstance(column, pl.Series):
            out.extend(column.to_list())
        else:
            out.extend(list(column))
    return out


@dataclass
class AuditWriter:
    """Collects the audit entries of one changeset and writes them, chained.

    Entries are added in batches (:meth:`add`), numbered and hashed by
    :meth:`hash_pending` (in the background for a large batch, while the caller
    writes record versions), written with :meth:`flush` (which hashes whatever is
    still queued), and the changeset row is written by :meth:`close`, last.

    Attributes
    ----------
    changeset_id : int
        The changeset.
    kind : str
        What it does: ``ingest``, ``freeze``, ``delete``, ``query``.
    at : str
        UTC time (:func:`utc_now`).
    user : str
        Who.
    reason : str or None
        Why.
    submission_id : int or None
        The submission, for an ingest.
    next_seq : int
        Sequence number of the next entry.
    head : str
        Hash of the last entry written.
    """

    changeset_id: int
    kind: str
    at: str
    user: str
    reason: str | None
    submission_id: int | None
    next_seq: int
    head: str
    first_seq: int | None = None
    n_entries: int = 0
    _pending: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    _hashing: list[tuple[np.ndarray, list[tuple[int, tuple[Any, ...]]], ChainJob]] = (
        field(default_factory=list)
    )
    _hashed_seq: int = 0
    _hashed_head: str = ""

    def __post_init__(self) -> None:
        """Continue the chain from the entry before this changeset."""
        self._hashed_seq = self.next_seq
        self._hashed_head = self.head

    @classmethod
    def start(
        cls,
        conn: sa.Connection,
        *,
        kind: str,
        user: str,
        reason: str | None,
        submission_id: int | None = None,
        changeset_id: int | None = None,
    ) -> AuditWriter:
        """Begin a changeset after the last one in the store.

        The caller holds the store's write lock (see
        :func:`trialdata.store.engine.write_transaction`).

        Parameters
        ----------
        conn : sqlalchemy.Connection
            Connection in the write transaction.
        kind : str
            Kind of changeset.
        user : str
            Who.
        reason : str or None
            Why.
        submission_id : int, optional
            The submission of an ingest.
        changeset_id : int, optional
            Identifier to use; by default the next one.

        Returns
        -------
        AuditWriter
            Ready to take entries.
        """
        last = conn.execute(
            sa.select(AUDIT_LOG.c.seq, AUDIT_LOG.c.hash)
            .order_by(AUDIT_LOG.c.seq.desc())
            .limit(1)
        ).first()
        if changeset_id is None:
            changeset_id = next_changeset_id(conn)
        return cls(
            changeset_id=changeset_id,
            kind=kind,
            at=utc_now(),
            user=user,
            reason=reason,
            submission_id=submission_id,
            next_seq=(int(last[0]) + 1) if last else 1,
            head=str(last[1]) if last else GENESIS,
        )

    def add(
        self,
        action: str,
        table: str,
        keys: Any,
        field: Any = None,
        old: Any = None,
        new: Any = None,
        *,
        key_series: pl.Series | None = None,
    ) -> None:
        """Queue entries, one per key.

        Parameters
        ----------
        action : str
            What happened to each record.
        table : str
            Table of the records.
        keys : sequence of str, numpy.ndarray or polars.Series
            Record keys.
        field, old, new : str, None, sequence, numpy.ndarray or polars.Series
            One value for all entries or one per key.
        key_series : polars.Series, optional
            The same keys as a Polars string series, when the caller has them
            (they are then not converted again for hashing).
        """
        n = len(keys)
        if n == 0:
            return
        self._pending.append((n, (action, table, keys, field, old, new, key_series)))

    def hash_pending(self) -> None:
        """Give the queued entries their sequence numbers and start hashing them.

        For a large batch the chain is computed in a child process
        (:class:`trialdata.store.chain.ChainJob`), so the caller can write record
        versions meanwhile; :meth:`flush` waits for the hashes and writes the entries.
        Entries added after this call go into the next batch.
        """
        if not self._pending:
            return
        self._finish_hashing()
        batches = list(self._pending)
        self._pending.clear()
        n = sum(size for size, _ in batches)
        names = ("action", "table", "key", "field", "old", "new")
        varying: list[pl.Series] = []
        parts: dict[str, pl.Expr] = {}
        for i, name in enumerate(names):
            scalars = {_scalar(b[i]) for _, b in batches}
            literal = name in ("old", "new")
            if len(scalars) == 1 and _VARYING not in scalars:
                # the same value on every entry: its text once, not once per entry
                value = scalars.pop()
                text = _prefixed(value) if literal else _js(value)
                parts[name] = pl.lit(text, dtype=pl.String)
                continue
            column = pl.concat(
                [
                    _polars_column(
                        name, size, b[6] if i == 2 and b[6] is not None else b[i]
                    )
                    for size, b in batches
                ]
            )
            varying.append(column)
            parts[name] = _length_prefixed(name) if literal else _json_literal(column)
        seq = np.arange(self._hashed_seq, self._hashed_seq + n, dtype=np.int64)
        prefix = (
            f",{self.changeset_id},{_js(self.at)},{_js(self.user)},{_js(self.reason)},"
        )
        frame = pl.DataFrame([pl.Series("seq", seq).cast(pl.String), *varying])
        texts = frame.select(
            pl.concat_str(
                [
                    pl.lit("["),
                    pl.col("seq"),
                    pl.lit(prefix),
                    parts["action"],
                    pl.lit(","),
                    parts["table"],
                    pl.lit(","),
                    parts["key"],
                    pl.lit(","),
                    parts["field"],
                    pl.lit("]\n"),
                    parts["old"],
                    pl.lit("\n"),
                    parts["new"],
                ]
            ).alias("text")
        )["text"]
        job = ChainJob.start(
            self._hashed_head, texts.to_arrow(compat_level=pl.CompatLevel.newest())
        )
        self._hashing.append((seq, batches, job))
        self._hashed_seq += n
        self._hashed_head = ""

    def _finish_hashing(self) -> None:
        """Wait for the batch being hashed, so that the next one can continue it."""
        if self._hashing and not self._hashed_head:
            _, _, job = self._hashing[-1]
            self._hashed_head = job.result()[-1]

    def flush(self, conn: sa.Connection) -> int:
        """Write, hash and number the queued entries (continuing the chain).

        Parameters
        ----------
        conn : sqlalchemy.Connection
            Connection in the write transaction.

        Returns
        -------
        int
            Entries written.
        """
        self.hash_pending()
        written = 0
        for seq, batches, job in self._hashing:
            hashes = job.result()
            self._insert(conn, seq, batches, hashes)
            written += len(seq)
        self._hashing.clear()
        self._hashed_head = self.head
        return written

    def _insert(
        self,
        conn: sa.Connection,
        seq: np.ndarray,
        batches: list[tuple[int, tuple[Any, ...]]],
        hashes: list[str],
    ) -> None:
        """Write one hashed batch of entries."""
        n = len(seq)
        constants: dict[str, str | int | None] = {"changeset_id": self.changeset_id}
        varying = ["seq"]
        values: list[Any] = [seq.tolist()]
        for i, name in enumerate(_AUDIT_COLUMNS[2:8]):
            scalars = [_scalar(b[i]) for _, b in batches]
            if _VARYING not in scalars and len(set(scalars)) == 1:
                constants[name] = scalars[0]
            else:
                varying.append(name)
                values.append(_python_values(i, batches))
        bulk_insert(
            conn,
            AUDIT_LOG.name,
            [*varying, "hash"],
            [*values, hashes],
            constants,
        )
        if self.first_seq is None:
            self.first_seq = int(seq[0])
        self.next_seq += n
        self.n_entries += n
        self.head = hashes[-1]

    def close(self, conn: sa.Connection) -> None:
        """Write remaining entries, then the changeset row that seals them.

        Parameters
        ----------
        conn : sqlalchemy.Connection
            Connection in the write transaction.
        """
        self.flush(conn)
        conn.execute(
            CHANGESETS.insert().values(
                id=self.changeset_id,
                kind=self.kind,
                at=self.at,
                user_name=self.user,
                reason=self.reason,
                submission_id=self.submission_id,
                first_seq=self.first_seq,
                last_seq=None if self.first_seq is None else self.next_seq - 1,
                n_entries=self.n_entries,
                head_hash=self.head,
            )
        )


def next_changeset_id(conn: sa.Connection) -> int:
    """Return the identifier the next changeset gets.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.

    Returns
    -------
    int
        One more than the highest changeset identifier, 1 for an empty store.
    """
    return next_id(conn, CHANGESETS.c.id)


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify_audit`.

    Attributes
    ----------
    n_entries : int
        Audit entries read.
    n_changesets : int
        Changesets read.
    head : str
        Hash of the last entry (:data:`GENESIS` for an empty log).
    problems : tuple of str
        One line per problem found; empty when the trail is intact.
    """

    n_entries: int
    n_changesets: int
    head: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems


_MAX_LISTED = 50


def verify_audit(
    conn: sa.Connection, *, expected_head: str | None = None, chunk: int = 200_000
) -> VerifyResult:
    """Recompute the hash chain and check it against the changesets.

    Detects an entry whose content was changed (its hash no longer matches), entries
    deleted, inserted or reordered (a gap in sequence numbers, a broken chain), a
    changed changeset (its entries' hashes include who, when and why) and entries
    removed from the end (the changeset's recorded head and count no longer match).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    expected_head : str, optional
        Head hash recorded elsewhere (printed by ``ingest`` and ``freeze``); when given
        it must equal the head of the chain, which detects the removal of whole
        changesets at the end of the log.
    chunk : int, optional
        Entries read at a time.

    Returns
    -------
    VerifyResult
        What was checked and every problem found.
    """
    problems: list[str] = []

    def report(message: str) -> None:
        problems.append(message)

    by_id: dict[int, Any] = {
        int(row.id): row
        for row in conn.execute(sa.select(CHANGESETS).order_by(CHANGESETS.c.id))
    }
    counts: dict[int, int] = {}
    stored_at: dict[int, str] = {}
    query = (
        sa.select(
            AUDIT_LOG.c.seq,
            AUDIT_LOG.c.changeset_id,
            AUDIT_LOG.c.action,
            AUDIT_LOG.c.table_name,
            AUDIT_LOG.c.record_key,
            AUDIT_LOG.c.field,
            AUDIT_LOG.c.old_value,
            AUDIT_LOG.c.new_value,
            AUDIT_LOG.c.hash,
        )
        .order_by(AUDIT_LOG.c.seq)
        .execution_options(yield_per=chunk)
    )
    previous = GENESIS
    expected_seq = 1
    n = 0
    sha = hashlib.sha256
    result = conn.execute(query)
    for part in result.partitions(chunk):
        for seq, cs_id, action, table, key, fld, old, new, stored in part:
            n += 1
            if seq != expected_seq:
                if seq > expected_seq:
                    report(
                        f"entries {expected_seq}..{seq - 1} are missing "
                        f"(deleted from the audit log)"
                    )
                else:
                    report(f"entry {seq} appears out of order after {expected_seq - 1}")
            expected_seq = seq + 1
            changeset = by_id.get(int(cs_id))
            if changeset is None:
                report(f"entry {seq} belongs to changeset {cs_id}, which is missing")
                at, user, reason = "", "", None
            else:
                at, user, reason = changeset.at, changeset.user_name, changeset.reason
            text = entry_text(
                int(seq),
                int(cs_id),
                at,
                user,
                reason,
                action,
                table,
                key,
                fld,
                old,
                new,
            )
            if sha(_digest_bytes(previous) + text.encode()).hexdigest() != stored:
                report(
                    f"entry {seq} ({action} {table} {key}) does not match its hash: "
                    "its content, or the entry before it, was changed"
                )
            previous = stored
            counts[int(cs_id)] = counts.get(int(cs_id), 0) + 1
            if changeset is not None and seq == changeset.last_seq:
                stored_at[int(cs_id)] = stored
    for cs_id, changeset in by_id.items():
        found = counts.get(cs_id, 0)
        if found != int(changeset.n_entries):
            report(
                f"changeset {cs_id} ({changeset.kind} by {changeset.user_name} at "
                f"{changeset.at}) records {int(changeset.n_entries)} entries; "
                f"{found} found"
            )
        elif found and stored_at.get(cs_id) != changeset.head_hash:
            report(f"changeset {cs_id} head hash does not match its last entry")
    if expected_head is not None and previous != expected_head:
        report(
            f"the chain ends at {previous}, not at the expected head {expected_head}"
        )
    if len(problems) > _MAX_LISTED:
        extra = len(problems) - _MAX_LISTED
        problems = [*problems[:_MAX_LISTED], f"... and {extra} more problems"]
    return VerifyResult(n, len(by_id), previous, tuple(problems))
