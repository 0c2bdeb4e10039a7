"""Anchors: signed checkpoints of the audit chain, kept outside the database.

Whoever can write the database can rewrite the whole trail and recompute every
hash; the chain then verifies. An anchor fixes a point of the chain where the
database cannot reach it: one JSON line

``{"at": ..., "changeset": ..., "head": ..., "key_id": ..., "mac": ..., "prev": ...,
"seq": ..., "store": ..., "v": 1}``

appended to an anchor file: the store (its URL, password hidden), the sequence number
and changeset of the last entry, its hash (the head), the UTC time, the fingerprint
of the key, the MAC of the line before (so that a line removed from the middle of the
file is noticed) and ``mac``: HMAC-SHA256 over the other fields (compact JSON, keys
sorted) with a secret key kept in a file the database never sees.

Verification (:func:`check_anchors`) checks every line's signature and link and that
the chain still holds each anchored head at its sequence number, so a trail
truncated below an anchor, rewritten (hashes recomputed) or rehashed after it is
caught. Key and anchor files are never opened through a symbolic link; the key file
is created owner-only and refused when others may read it; anchors are appended with
``O_APPEND`` and synced to disk. Keep the anchor file on another machine or an
append-only medium (``chattr +a``), and the key away from the database server.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from trialdata.errors import StoreError
from trialdata.store.audit import utc_now
from trialdata.store.tables import AUDIT_LOG

__all__ = [
    "Anchor",
    "append_anchor",
    "check_anchors",
    "create_key",
    "read_anchors",
    "read_key",
    "store_name",
]

#: Format version of an anchor line.
VERSION = 1

_KEY_BYTES = 32

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class Anchor:
    """One anchor line.

    Attributes
    ----------
    line : int
        Its line number in the anchor file.
    fields : dict
        Every field of the line as read.
    """

    line: int
    fields: dict[str, Any]

    @property
    def seq(self) -> int:
        """Sequence number of the anchored entry."""
        return int(self.fields["seq"])

    @property
    def head(self) -> str:
        """Hash of the anchored entry."""
        return str(self.fields["head"])


def store_name(engine: sa.Engine) -> str:
    """Return how anchors name a store: its URL with the password hidden.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.

    Returns
    -------
    str
        E.g. ``sqlite:////data/trial.sqlite``.
    """
    return engine.url.render_as_string(hide_password=True)


def _fingerprint(key: bytes) -> str:
    return hashlib.sha256(b"trialdata anchor key\n" + key).hexdigest()[:16]


def _signed_text(fields: dict[str, Any]) -> bytes:
    body = {name: value for name, value in fields.items() if name != "mac"}
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def _mac(key: bytes, fields: dict[str, Any]) -> str:
    return hmac.new(key, _signed_text(fields), hashlib.sha256).hexdigest()


def create_key(path: Path) -> str:
    """Write a new random key to a new file readable by its owner only.

    Parameters
    ----------
    path : pathlib.Path
        The key file; it must not exist.

    Returns
    -------
    str
        The key's fingerprint (as anchors record it).

    Raises
    ------
    StoreError
        When the file exists (a key is never overwritten) or cannot be written.
    """
    key = secrets.token_bytes(_KEY_BYTES)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
    try:
        descriptor = os.open(path, flags, 0o600)
    except FileExistsError:
        raise StoreError(
            f"{path}: exists already; a key file is never overwritten"
        ) from None
    except OSError as error:
        raise StoreError(
            f"{path}: cannot create the key file: {error.strerror}"
        ) from None
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, (key.hex() + "\n").encode("ascii"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return _fingerprint(key)


def _open_regular(path: Path, flags: int, what: str, mode: int = 0o600) -> int:
    """Open a file without following a link; refuse anything but a regular file."""
    try:
        descriptor = os.open(path, flags | _NOFOLLOW, mode)
    except FileNotFoundError:
        raise StoreError(f"{path}: no such {what}") from None
    except OSError as error:
        if path.is_symlink():
            raise StoreError(
                f"{path}: is a symbolic link; the {what} is never read or written "
                "through a link"
            ) from None
        raise StoreError(f"{path}: cannot open the {what}: {error.strerror}") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise StoreError(f"{path}: the {what} is not a regular file")
    return descriptor


def read_key(path: Path) -> bytes:
    """Read an anchor key, refusing a link or a file others may read.

    Parameters
    ----------
    path : pathlib.Path
        The key file (from :func:`create_key`).

    Returns
    -------
    bytes
        The key.

    Raises
    ------
    StoreError
        When the file is missing, a link, not a regular file, readable by group or
        others, or does not hold a key.
    """
    descriptor = _open_regular(path, os.O_RDONLY, "key file")
    try:
        mode = os.fstat(descriptor).st_mode
        if mode & 0o077:
            raise StoreError(
                f"{path}: the key file may be read by others (mode "
                f"{stat.S_IMODE(mode):o}); make it owner-only (chmod 600)"
            )
        text = os.read(descriptor, 4096).decode("ascii", errors="replace").strip()
    finally:
        os.close(descriptor)
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != _KEY_BYTES:
        raise StoreError(
            f"{path}: not an anchor key ({2 * _KEY_BYTES} hexadecimal characters)"
        )
    return key


def read_anchors(path: Path) -> list[Anchor | str]:
    """Read an anchor file: an :class:`Anchor` per line, or why a line is not one.

    Parameters
    ----------
    path : pathlib.Path
        The anchor file.

    Returns
    -------
    list
        Per line, the anchor or a problem naming the line.

    Raises
    ------
    StoreError
        When the file is missing, a link or not a regular file.
    """
    descriptor = _open_regular(path, os.O_RDONLY, "anchor file")
    with os.fdopen(descriptor, "rb") as handle:
        data = handle.read()
    out: list[Anchor | str] = []
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            fields = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            fields = None
        wanted = ("v", "store", "seq", "changeset", "head", "at", "prev", "mac")
        if not isinstance(fields, dict) or any(name not in fields for name in wanted):
            out.append(f"anchor file {path} line {number}: not an anchor line")
            continue
        out.append(Anchor(number, fields))
    return out


def _chain_point(conn: sa.Connection) -> tuple[int, int, str] | None:
    """Return the last entry of the chain: its seq, changeset and hash."""
    row = conn.execute(
        sa.select(AUDIT_LOG.c.seq, AUDIT_LOG.c.changeset_id, AUDIT_LOG.c.hash)
        .order_by(AUDIT_LOG.c.seq.desc())
        .limit(1)
    ).first()
    return None if row is None else (int(row[0]), int(row[1]), str(row[2]))


def append_anchor(conn: sa.Connection, store: str, key: bytes, to: Path) -> Anchor:
    """Append a signed anchor of the chain's current head to an anchor file.

    The caller verifies the store first: an anchor vouches for the trail up to it.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    store : str
        The store's name (:func:`store_name`).
    key : bytes
        The anchor key (:func:`read_key`).
    to : pathlib.Path
        The anchor file; created (owner-only) when missing.

    Returns
    -------
    Anchor
        The anchor written.

    Raises
    ------
    StoreError
        When the trail is empty, the file is a link or not a regular file, its last
        line is not a valid anchor of this key, or it cannot be written.
    """
    point = _chain_point(conn)
    if point is None:
        raise StoreError("the audit trail is empty: nothing to anchor")
    seq, changeset, head = point
    previous: str | None = None
    if to.exists() or to.is_symlink():
        lines = read_anchors(to)
        if lines:
            last = lines[-1]
            if isinstance(last, str):
                raise StoreError(f"{last}; not appending to a damaged anchor file")
            if not hmac.compare_digest(_mac(key, last.fields), str(last.fields["mac"])):
                raise StoreError(
                    f"anchor file {to} line {last.line}: its signature does not match "
                    "this key; not appending (another key, or the file was changed)"
                )
            previous = str(last.fields["mac"])
    fields: dict[str, Any] = {
        "v": VERSION,
        "store": store,
        "seq": seq,
        "changeset": changeset,
        "head": head,
        "at": utc_now(),
        "key_id": _fingerprint(key),
        "prev": previous,
    }
    fields["mac"] = _mac(key, fields)
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    created = not to.exists()
    descriptor = _open_regular(
        to, os.O_WRONLY | os.O_APPEND | os.O_CREAT, "anchor file"
    )
    try:
        os.write(descriptor, (text + "\n").encode("utf-8"))
        os.fsync(descriptor)
    except OSError as error:
        raise StoreError(f"{to}: cannot write the anchor: {error.strerror}") from None
    finally:
        os.close(descriptor)
    if created:
        _sync_folder(to.parent)
    return Anchor(0, fields)


def _sync_folder(folder: Path) -> None:
    """Make a new file's name durable (fsync of its folder, where supported)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def check_anchors(
    conn: sa.Connection, store: str, key: bytes, anchors: Sequence[Anchor | str]
) -> list[str]:
    """Check anchors against the key and the store's chain.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    store : str
        The store's name (:func:`store_name`).
    key : bytes
        The anchor key.
    anchors : sequence
        The anchor file's lines (:func:`read_anchors`).

    Returns
    -------
    list of str
        Problems, each naming the line; empty when every anchor holds.
    """
    problems = [a for a in anchors if isinstance(a, str)]
    valid = [a for a in anchors if isinstance(a, Anchor)]
    if not valid:
        return [*problems, "the anchor file holds no anchor"]
    point = _chain_point(conn)
    last_seq = 0 if point is None else point[0]
    seqs = sorted({a.seq for a in valid if isinstance(a.fields.get("seq"), int)})
    stored: dict[int, tuple[int, str]] = {}
    for start in range(0, len(seqs), 500):
        part = seqs[start : start + 500]
        for seq, changeset, digest in conn.execute(
            sa.select(
                AUDIT_LOG.c.seq, AUDIT_LOG.c.changeset_id, AUDIT_LOG.c.hash
            ).where(AUDIT_LOG.c.seq.in_(part))
        ):
            stored[int(seq)] = (int(changeset), str(digest))
    previous: str | None = None
    for anchor in valid:
        fields = anchor.fields
        where = f"anchor line {anchor.line} (entry {fields.get('seq')})"
        if not hmac.compare_digest(_mac(key, fields), str(fields["mac"])):
            other = fields.get("key_id") not in (None, _fingerprint(key))
            problems.append(
                f"{where}: its signature does not match: "
                + (
                    "it was signed with another key"
                    if other
                    else "the line was changed, or the key is not the one it was "
                    "signed with"
                )
            )
            previous = str(fields["mac"])
            continue
        if fields["prev"] != previous:
            problems.append(
                f"{where}: does not follow the line before it: anchor lines were "
                "removed or reordered"
            )
        previous = str(fields["mac"])
        if fields["store"] != store:
            problems.append(
                f"{where}: anchors store {fields['store']}, not this store ({store})"
            )
            continue
        seq = anchor.seq
        if seq > last_seq:
            problems.append(
                f"{where}: the audit trail ends at entry {last_seq}: entries after it "
                "were removed (the trail was truncated)"
            )
        elif seq not in stored:
            problems.append(f"{where}: entry {seq} is missing from the audit trail")
        elif stored[seq] != (int(fields["changeset"]), anchor.head):
            problems.append(
                f"{where}: the trail no longer holds the anchored head {anchor.head} "
                f"at entry {seq}: the trail was rewritten"
            )
    return problems
