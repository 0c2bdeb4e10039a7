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
end of the log is detected too. :func:`verify_audit` recomputes the chain, reading
the log once, column-wise; ``trialdata.store.verify.verify_store`` (``trialdata audit
verify``) also replays the entries against every table (:mod:`trialdata.store.replay`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import sqlalchemy as sa

from trialdata.store._ids import next_id
from trialdata.store.bulk import bulk_insert
from trialdata.store.chain import ChainJob
from trialdata.store.codec import JSON_ESCAPED, _polars_strings
from trialdata.store.fast_read import arrow_column, raw_chunks, select_sql
from trialdata.store.tables import AUDIT_LOG, CHANGESETS

__all__ = [
    "GENESIS",
    "TRAIL_SCHEMA",
    "AuditWriter",
    "VerifyResult",
    "chain_hashes",
    "entry_text",
    "next_changeset_id",
    "read_changesets",
    "read_trail",
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
        ``create``, ``update``, ``delete`` or ``source`` (see
        :mod:`trialdata.store.replay`).
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
        # a str subclass (e.g. SQLAlchemy's quoted_name of ``Table.name``) as plain str
        action, table, field, old, new = (
            str(v) if isinstance(v, str) else v
            for v in (action, table, field, old, new)
        )
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
    """Outcome of :func:`verify_audit` (and of ``trialdata.store.verify``).

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
    n_rows : int
        Rows of the store's tables compared with the replayed trail (0 when only
        the chain was checked).
    last_seq : int
        Sequence number of the last entry (0 for an empty log).
    """

    n_entries: int
    n_changesets: int
    head: str
    problems: tuple[str, ...]
    n_rows: int = 0
    last_seq: int = 0

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems


_MAX_LISTED = 50

#: Columns of an audit entry as :func:`read_trail` returns them, with their types.
TRAIL_SCHEMA: dict[str, Any] = {
    "seq": pl.Int64,
    "changeset_id": pl.Int64,
    "action": pl.String,
    "table_name": pl.String,
    "record_key": pl.String,
    "field": pl.String,
    "old_value": pl.String,
    "new_value": pl.String,
    "hash": pl.String,
}


def read_trail(conn: sa.Connection, chunk: int = 200_000) -> Iterator[pl.DataFrame]:
    """Read the audit log in sequence order, a chunk of entries at a time.

    Rows are read from the driver's cursor and converted column-wise
    (:mod:`trialdata.store.fast_read`).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    chunk : int, optional
        Entries per chunk.

    Yields
    ------
    polars.DataFrame
        Columns :data:`TRAIL_SCHEMA`, ordered by ``seq``.
    """
    names = list(TRAIL_SCHEMA)
    sql = select_sql(conn, AUDIT_LOG.name, names, "seq")
    kinds = ["int" if dtype == pl.Int64 else "str" for dtype in TRAIL_SCHEMA.values()]
    for rows in raw_chunks(conn, sql, chunk):
        columns = zip(*rows, strict=True)
        table = pa.table(
            {
                name: arrow_column(values, kind)
                for name, kind, values in zip(names, kinds, columns, strict=True)
            }
        )
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        yield frame


def read_changesets(conn: sa.Connection) -> pl.DataFrame:
    """Return the changesets table: who, when, why and the seal of each.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.

    Returns
    -------
    polars.DataFrame
        Every column of ``changesets``, ordered by ``id``.
    """
    rows = conn.execute(sa.select(CHANGESETS).order_by(CHANGESETS.c.id)).all()
    schema: dict[str, Any] = {
        "id": pl.Int64,
        "kind": pl.String,
        "at": pl.String,
        "user_name": pl.String,
        "reason": pl.String,
        "submission_id": pl.Int64,
        "first_seq": pl.Int64,
        "last_seq": pl.Int64,
        "n_entries": pl.Int64,
        "head_hash": pl.String,
    }
    names = [str(c.name) for c in CHANGESETS.columns]
    data: list[Sequence[Any]] = (
        list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    )
    return pl.DataFrame(
        [
            pl.Series(name, values, dtype=schema[name], strict=False)
            for name, values in zip(names, data, strict=True)
        ]
    )


def _entry_texts(frame: pl.DataFrame) -> pl.Series:
    """Return :func:`entry_text` of every entry of a frame, column-wise.

    ``frame`` holds the audit columns plus the changeset's ``at``, ``user_name``
    and ``reason`` of each entry.
    """
    literal = {
        name: _json_literal(frame[name])
        for name in (
            "at",
            "user_name",
            "reason",
            "action",
            "table_name",
            "record_key",
            "field",
        )
    }
    return frame.select(
        pl.concat_str(
            [
                pl.lit("["),
                pl.col("seq").cast(pl.String),
                pl.lit(","),
                pl.col("changeset_id").cast(pl.String),
                pl.lit(","),
                literal["at"],
                pl.lit(","),
                literal["user_name"],
                pl.lit(","),
                literal["reason"],
                pl.lit(","),
                literal["action"],
                pl.lit(","),
                literal["table_name"],
                pl.lit(","),
                literal["record_key"],
                pl.lit(","),
                literal["field"],
                pl.lit("]\n"),
                _length_prefixed("old_value"),
                pl.lit("\n"),
                _length_prefixed("new_value"),
            ]
        ).alias("text")
    )["text"]


def _mismatches(previous: str, texts: list[str], stored: list[str]) -> list[int]:
    """Return the positions whose stored hash is not sha256(stored previous + text).

    Each entry is checked against the hash stored before it, so one changed entry
    is reported once (and the entry after it, whose link then breaks).
    """
    sha = hashlib.sha256
    before = [previous, *stored[:-1]]
    try:
        digests = [
            sha(bytes.fromhex(p) + t.encode()).hexdigest()
            for p, t in zip(before, texts, strict=True)
        ]
    except (ValueError, TypeError):  # a stored hash that is not hexadecimal
        digests = [
            sha(_digest_bytes(p) + t.encode()).hexdigest()
            for p, t in zip(before, texts, strict=True)
        ]
    return [i for i, (d, s) in enumerate(zip(digests, stored, strict=True)) if d != s]


def _python_texts(frame: pl.DataFrame) -> list[str]:
    """Return the entries' texts one by one (for values Polars cannot hold)."""
    return [
        entry_text(
            r["seq"],
            r["changeset_id"],
            r["at"],
            r["user_name"],
            r["reason"],
            r["action"],
            r["table_name"],
            r["record_key"],
            r["field"],
            r["old_value"],
            r["new_value"],
        )
        for r in frame.iter_rows(named=True)
    ]


@dataclass
class _Pending:
    """One chunk's chain, being hashed (by a worker process when large)."""

    previous: str
    frame: pl.DataFrame
    texts: pl.Series
    job: ChainJob | None


_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class _ChainCheck:
    """State of :func:`verify_audit` across the chunks of the log.

    A chunk's hashes are computed as one chain from the stored hash before it (in a
    worker process for a large chunk, while the next chunk is read); only when that
    chain differs from the stored hashes is each entry checked against the stored
    hash before it, to name the entries that do not match.
    """

    changesets: pl.DataFrame
    found: list[tuple[float, str]] = field(default_factory=list)
    previous: str = GENESIS
    expected_seq: int = 1
    last_changeset: int | None = None
    n: int = 0
    stats: list[pl.DataFrame] = field(default_factory=list)
    pending: _Pending | None = None
    broken: dict[int, int] = field(default_factory=dict)

    def report(self, message: str, seq: float = float("inf")) -> None:
        self.found.append((seq, message))

    @property
    def problems(self) -> list[str]:
        """The problems, in the order of the entries they concern."""
        return [message for _, message in sorted(self.found, key=lambda p: p[0])]

    def chunk(self, frame: pl.DataFrame) -> None:
        """Check the sequence numbers, links and changesets of one chunk."""
        self._gaps(frame["seq"])
        known = frame["changeset_id"].is_in(self.changesets["id"].implode())
        for cs_id, first in (
            frame.filter(~known)
            .group_by("changeset_id", maintain_order=True)
            .agg(pl.col("seq").first())
            .iter_rows()
        ):
            self.report(
                f"entry {first} belongs to changeset {cs_id}, which is missing", first
            )
        self._order(frame)
        joined = frame.join(
            self.changesets.select(
                pl.col("id").alias("changeset_id"), "at", "user_name", "reason"
            ),
            on="changeset_id",
            how="left",
            maintain_order="left",
        ).with_columns(pl.col("at").fill_null(""), pl.col("user_name").fill_null(""))
        try:
            texts = _entry_texts(joined)
        except pl.exceptions.PolarsError:
            texts = pl.Series("text", _python_texts(joined), dtype=pl.String)
        job = None
        if _HEX64.fullmatch(self.previous):
            job = ChainJob.start(
                self.previous, texts.to_arrow(compat_level=pl.CompatLevel.newest())
            )
        waiting, self.pending = self.pending, _Pending(self.previous, frame, texts, job)
        if waiting is not None:
            self._links(waiting)
        self.previous = str(frame["hash"][-1])
        self.n += len(frame)
        self.stats.append(
            frame.group_by("changeset_id", maintain_order=True).agg(
                pl.len().alias("found"),
                pl.col("seq").min().alias("first"),
                pl.col("seq").max().alias("last"),
                pl.col("hash").last().alias("last_hash"),
            )
        )

    def finish(self) -> None:
        """Check the last chunk's links."""
        if self.pending is not None:
            self._links(self.pending)
            self.pending = None

    def _links(self, chunk: _Pending) -> None:
        """Report the entries of a chunk whose stored hash does not match."""
        stored = chunk.frame["hash"].to_list()
        if chunk.job is not None and chunk.job.result() == stored:
            return
        frame = chunk.frame
        for i in _mismatches(chunk.previous, chunk.texts.to_list(), stored):
            row = frame.row(i, named=True)
            cs_id = int(row["changeset_id"])
            self.broken[cs_id] = self.broken.get(cs_id, 0) + 1
            self.report(
                f"entry {row['seq']} ({row['action']} {row['table_name']} "
                f"{row['record_key']}) does not match its hash: its content, or the "
                "entry before it, was changed",
                row["seq"],
            )

    def _gaps(self, seq: pl.Series) -> None:
        before = seq.shift(1, fill_value=self.expected_seq - 1)
        jumps = pl.DataFrame({"seq": seq, "before": before}).filter(
            pl.col("seq") != pl.col("before") + 1
        )
        for value, previous in jumps.iter_rows():
            if value > previous:
                self.report(
                    f"entries {previous + 1}..{value - 1} are missing "
                    f"(deleted from the audit log)",
                    previous + 0.5,
                )
            else:
                self.report(
                    f"entry {value} appears out of order after {previous}", value
                )
        self.expected_seq = int(seq[-1]) + 1

    def _order(self, frame: pl.DataFrame) -> None:
        """Report entries of a changeset that follow entries of a later one."""
        ids = frame["changeset_id"]
        before = ids.shift(1)
        if self.last_changeset is not None:
            before = before.fill_null(self.last_changeset)
        late = frame.filter((ids < before).fill_null(False))
        for seq, cs_id in late.select("seq", "changeset_id").head(5).iter_rows():
            self.report(
                f"entry {seq} of changeset {cs_id} follows entries of a later "
                "changeset: the log was reordered",
                seq,
            )
        self.last_changeset = int(ids[-1])

    def seals(self) -> pl.DataFrame:
        """Return, per changeset, the entries found: count, first, last, last hash."""
        if not self.stats:
            return pl.DataFrame(
                schema={
                    "changeset_id": pl.Int64,
                    "found": pl.UInt32,
                    "first": pl.Int64,
                    "last": pl.Int64,
                    "last_hash": pl.String,
                }
            )
        return (
            pl.concat(self.stats)
            .group_by("changeset_id", maintain_order=True)
            .agg(
                pl.col("found").sum(),
                pl.col("first").min(),
                pl.col("last").max(),
                pl.col("last_hash").last(),
            )
        )


def verify_audit(
    conn: sa.Connection,
    *,
    expected_head: str | None = None,
    chunk: int = 200_000,
    sink: Callable[[pl.DataFrame], None] | None = None,
) -> VerifyResult:
    """Recompute the hash chain and check it against the changesets.

    Detects an entry whose content was changed (its hash no longer matches), entries
    deleted, inserted or reordered (a gap in sequence numbers, a broken chain), a
    changed changeset (its entries' hashes include who, when and why), entries
    removed from the end (the changeset's recorded head and count no longer match)
    and a changeset without entries (nothing in the chain vouches for it). This is
    the chain alone; ``trialdata.store.verify.verify_store`` also replays the trail
    against the tables.

    The log is read once, a chunk at a time; the entry texts are built column-wise.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    expected_head : str, optional
        Head hash recorded elsewhere (printed by every write command); it must be
        the head of a changeset in the chain, which detects a rewrite of the log up
        to that changeset. Later changesets may follow it.
    chunk : int, optional
        Entries read at a time.
    sink : callable, optional
        Called with every chunk (:data:`TRAIL_SCHEMA` columns), so that a caller can
        use the entries without reading the log again.

    Returns
    -------
    VerifyResult
        What was checked and every problem found.
    """
    check = _ChainCheck(read_changesets(conn))
    last_seq = 0
    for frame in read_trail(conn, chunk):
        check.chunk(frame)
        last_seq = int(frame["seq"][-1])
        if sink is not None:
            sink(frame.drop("hash"))
    check.finish()
    seals = check.changesets.join(
        check.seals(), left_on="id", right_on="changeset_id", how="left"
    ).with_columns(pl.col("found").fill_null(0))
    for cs in seals.iter_rows(named=True):
        found, recorded = int(cs["found"]), int(cs["n_entries"] or 0)
        who = f"changeset {cs['id']} ({cs['kind']} by {cs['user_name']} at {cs['at']})"
        if found != recorded:
            check.report(f"{who} records {recorded} entries; {found} found")
        elif not found:
            check.report(
                f"{who} has no audit entry: nothing in the chain vouches for it"
            )
        elif check.broken.get(int(cs["id"])) == found:
            check.report(
                f"changesets {cs['id']}: none of its {found} entries matches its hash: "
                "its user, time or reason (or every entry) were changed",
                float(cs["first"]),
            )
        elif cs["last_hash"] != cs["head_hash"]:
            check.report(
                f"changeset {cs['id']} head hash does not match its last entry"
            )
        elif (cs["first"], cs["last"]) != (cs["first_seq"], cs["last_seq"]):
            check.report(
                f"changeset {cs['id']} records entries {cs['first_seq']}.."
                f"{cs['last_seq']}; its entries are {cs['first']}..{cs['last']}"
            )
    if expected_head is not None:
        sealed = seals.filter(
            (pl.col("head_hash") == expected_head)
            & (pl.col("last_hash") == expected_head)
        )
        if sealed.is_empty():
            check.report(
                f"the expected head {expected_head} is not in the chain: no changeset "
                "ends with it, so the entries up to it were changed or removed"
            )
    problems = check.problems
    if len(problems) > _MAX_LISTED:
        extra = len(problems) - _MAX_LISTED
        problems = [*problems[:_MAX_LISTED], f"... and {extra} more problems"]
    return VerifyResult(
        check.n,
        len(check.changesets),
        check.previous,
        tuple(problems),
        last_seq=last_seq,
    )
