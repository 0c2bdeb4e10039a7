"""The trial's protocol, controlled by the store: versioned, changed by a coordinator.

The store holds the protocol (``protocols``): version 1 comes from the first ingest
into a store without one (made by a coordinator) or from ``trialdata protocol set``;
every later version from ``trialdata protocol set FILE --reason ...`` by a
coordinator. A version records its text, SHA-256, who and why, and what changed
from the version before (``changes``, one ``field: old -> new`` per line, which the
audit trail's ``create`` entry of the version carries too).

The stored protocol rules the store: uploads are validated against it, site scope
(the coordinating site) and the trial id come from it, freezes record it. A site's
upload may still carry a ``protocol.toml``: one that differs from the stored
protocol is a finding (:data:`PROTOCOL_RULE`, naming the fields that differ), never
a change; one that is absent is fine.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from schemas.protocol import Protocol, ProtocolError, parse_protocol
from trialdata.errors import InputError, StoreError, UnreadableFileError
from trialdata.findings import Finding, Severity, findings_frame
from trialdata.io.files import open_regular
from trialdata.store.account_admin import ensure_sites
from trialdata.store.accounts import Action, PermissionDeniedError, require
from trialdata.store.audit import AuditWriter
from trialdata.store.bookkeeping import insert_row
from trialdata.store.engine import write_transaction
from trialdata.store.tables import CHANGESETS, PROTOCOLS, SUBMISSIONS
from trialdata.validation import ValidationReport

__all__ = [
    "PROTOCOL_RULE",
    "Change",
    "StoredProtocol",
    "check_protocol_in_force",
    "current_protocol",
    "parse_protocol_text",
    "protocol_changes",
    "protocol_for_upload",
    "protocol_history",
    "protocol_version",
    "read_protocol_file",
    "set_protocol",
    "store_protocol",
    "upload_protocol_finding",
]

#: Rule of the finding on an upload whose ``protocol.toml`` differs from the store's.
PROTOCOL_RULE = "ST-PROTOCOL"

_LISTED = 10


@dataclass(frozen=True)
class StoredProtocol:
    """One version of the trial's protocol in the store.

    Attributes
    ----------
    version : int
        1, 2, ...
    changeset_id : int
        The changeset that stored it.
    trial_id : str
        The trial.
    user_name : str
        Who stored it.
    reason : str
        Why.
    sha256 : str
        SHA-256 of its text (UTF-8).
    toml : str
        The text.
    changes : str or None
        What changed from the version before, one ``field: old -> new`` per line.
    """

    version: int
    changeset_id: int
    trial_id: str
    user_name: str
    reason: str
    sha256: str
    toml: str
    changes: str | None

    @property
    def protocol(self) -> Protocol:
        """The protocol, parsed and validated."""
        return parse_protocol_text(self.toml, f"stored protocol version {self.version}")


@dataclass(frozen=True)
class Change:
    """One field of a protocol that differs between two versions.

    Attributes
    ----------
    field : str
        Dotted path, e.g. ``dlt_window_days`` or ``sites[2].name``.
    old, new : str
        The values as text; ``(absent)`` when the field is not there.
    """

    field: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.field} {self.old} -> {self.new}"


def parse_protocol_text(text: str, source: str) -> Protocol:
    """Parse and validate protocol text.

    Parameters
    ----------
    text : str
        TOML text.
    source : str
        Where it comes from, for messages.

    Returns
    -------
    schemas.protocol.Protocol
        The protocol.

    Raises
    ------
    InputError
        When it is not TOML or not a valid protocol (every problem listed).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"not valid TOML: {error}", file=source) from None
    try:
        return parse_protocol(data, source=source)
    except ProtocolError as error:
        listing = "; ".join(error.problems)
        raise InputError(f"not a valid protocol: {listing}", file=source) from None


def read_protocol_file(path: Path) -> str | None:
    """Read a protocol file as text, never through a link; None when it is absent.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    str or None
        Its text; None when nothing is at the path.

    Raises
    ------
    InputError
        When it is a link or special file, cannot be read, or is not UTF-8.
    """
    if not path.is_symlink() and not path.exists():
        return None
    try:
        with open_regular(path) as handle:
            raw = handle.read()
    except UnreadableFileError as error:
        raise InputError(
            f"cannot read the protocol: {error.reason}", file=str(path)
        ) from None
    except OSError as error:
        raise InputError(
            f"cannot read the protocol: {error.strerror or error}", file=str(path)
        ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"not UTF-8 text (byte {error.start})", file=str(path)
        ) from None


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, item in enumerate(value, start=1):
            _flatten(item, f"{path}[{i}]", out)
    else:
        out[path] = value


_ABSENT = object()


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def protocol_changes(old: Protocol, new: Protocol) -> list[Change]:
    """Return the fields that differ between two protocols.

    Defaults count: a field left out of one file but set to its default in the other
    does not differ.

    Parameters
    ----------
    old, new : schemas.protocol.Protocol
        The protocols.

    Returns
    -------
    list of Change
        In the order of ``new``'s fields, then fields only ``old`` has.
    """
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    _flatten(old.model_dump(mode="json"), "", before)
    _flatten(new.model_dump(mode="json"), "", after)
    names = list(after) + [name for name in before if name not in after]
    return [
        Change(
            name, _shown(before.get(name, _ABSENT)), _shown(after.get(name, _ABSENT))
        )
        for name in names
        if before.get(name, _ABSENT) != after.get(name, _ABSENT)
    ]


def _listed(changes: list[Change], sep: str = "; ") -> str:
    shown = sep.join(str(c) for c in changes[:_LISTED])
    if len(changes) > _LISTED:
        shown += f"{sep}... and {len(changes) - _LISTED} more"
    return shown


def _stored(row: Any) -> StoredProtocol:
    return StoredProtocol(
        int(row.version),
        int(row.changeset_id),
        str(row.trial_id),
        str(row.user_name),
        str(row.reason),
        str(row.sha256),
        str(row.toml),
        None if row.changes is None else str(row.changes),
    )


def current_protocol(conn: sa.Connection) -> StoredProtocol | None:
    """Return the protocol in force: the latest stored version.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.

    Returns
    -------
    StoredProtocol or None
        None while the store holds no protocol.
    """
    row = conn.execute(
        sa.select(PROTOCOLS).order_by(PROTOCOLS.c.version.desc()).limit(1)
    ).first()
    return None if row is None else _stored(row)


def protocol_version(conn: sa.Connection, version: int) -> StoredProtocol:
    """Return one stored version of the protocol.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    version : int
        The version.

    Returns
    -------
    StoredProtocol
        That version.

    Raises
    ------
    StoreError
        When the store has no such version.
    """
    row = None
    if 1 <= version < 2**31:
        row = conn.execute(
            sa.select(PROTOCOLS).where(PROTOCOLS.c.version == version)
        ).first()
    if row is None:
        latest = current_protocol(conn)
        known = f"versions 1..{latest.version}" if latest else "none yet"
        raise StoreError(f"no protocol version {version}; stored: {known}")
    return _stored(row)


def protocol_history(conn: sa.Connection) -> pd.DataFrame:
    """Return every stored protocol version, oldest first, with when it was stored.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.

    Returns
    -------
    pandas.DataFrame
        ``version``, ``at`` (UTC), ``user_name``, ``reason``, ``sha256``,
        ``changes``.
    """
    query = (
        sa.select(
            PROTOCOLS.c.version,
            CHANGESETS.c.at,
            PROTOCOLS.c.user_name,
            PROTOCOLS.c.reason,
            PROTOCOLS.c.sha256,
            PROTOCOLS.c.changes,
        )
        .select_from(
            PROTOCOLS.outerjoin(CHANGESETS, CHANGESETS.c.id == PROTOCOLS.c.changeset_id)
        )
        .order_by(PROTOCOLS.c.version)
    )
    frame = pd.read_sql(query, conn)
    frame["version"] = pd.to_numeric(frame["version"]).astype("Int64")
    return frame


def _same(a: Protocol, b: Protocol) -> bool:
    return a.model_dump(mode="json") == b.model_dump(mode="json")


def store_protocol(
    conn: sa.Connection,
    audit: AuditWriter,
    text: str,
    protocol: Protocol,
    *,
    reason: str,
    previous: StoredProtocol | None,
) -> StoredProtocol:
    """Store a new protocol version (and its sites) on the caller's changeset.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection in the write transaction; the caller checked the user's right.
    audit : AuditWriter
        The changeset's writer.
    text : str
        The protocol text.
    protocol : schemas.protocol.Protocol
        The same, parsed.
    reason : str
        Why.
    previous : StoredProtocol or None
        The version in force, if any.

    Returns
    -------
    StoredProtocol
        The new version.
    """
    changes = None
    if previous is not None:
        changes = "\n".join(
            f"{c.field}: {c.old} -> {c.new}"
            for c in protocol_changes(previous.protocol, protocol)
        )
    row = {
        "version": 1 if previous is None else previous.version + 1,
        "changeset_id": audit.changeset_id,
        "trial_id": protocol.trial.id,
        "user_name": audit.user,
        "reason": reason,
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "toml": text,
        "changes": changes,
    }
    insert_row(conn, audit, PROTOCOLS, row)
    ensure_sites(conn, audit, [(s.id, s.name) for s in protocol.sites])
    return StoredProtocol(**row)  # type: ignore[arg-type]


def _check_trial(
    conn: sa.Connection, current: StoredProtocol | None, trial: str
) -> None:
    known = current.trial_id if current is not None else None
    if known is None:
        known = conn.execute(
            sa.select(SUBMISSIONS.c.trial_id).order_by(SUBMISSIONS.c.id).limit(1)
        ).scalar()
    if known is not None and known != trial:
        raise StoreError(
            f"this store holds trial {known}; the protocol is for trial {trial}: one "
            "store holds one trial"
        )


def set_protocol(
    engine: sa.Engine, user: str, text: str, *, reason: str | None, source: str
) -> tuple[StoredProtocol, bool, str | None]:
    """Store a protocol as the trial's next version (coordinators only).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    user : str
        Who acts; must be a coordinator.
    text : str
        The protocol text.
    reason : str
        Why; required.
    source : str
        Where the text comes from (the file), for messages.

    Returns
    -------
    tuple of (StoredProtocol, bool, str or None)
        The version in force afterwards, whether it is new (False when the text
        describes the same protocol as the version in force: nothing is stored), and
        the audit chain head after the change (None when nothing was stored).

    Raises
    ------
    InputError
        When the text is not a valid protocol.
    StoreError
        When the reason is missing, the user is not a coordinator, or the protocol is
        for another trial.
    """
    if reason is None or not reason.strip():
        raise StoreError("a protocol change needs a reason (--reason)")
    protocol = parse_protocol_text(text, source)
    with write_transaction(engine) as conn:
        require(conn, user, Action.SET_PROTOCOL)
        current = current_protocol(conn)
        _check_trial(conn, current, protocol.trial.id)
        if current is not None and _same(current.protocol, protocol):
            return current, False, None
        audit = AuditWriter.start(
            conn, kind="protocol", user=user, reason=reason.strip()
        )
        stored = store_protocol(
            conn, audit, text, protocol, reason=reason.strip(), previous=current
        )
        audit.close(conn)
    return stored, True, audit.head


def upload_protocol_finding(
    stored: StoredProtocol, text: str | None, file: str = "protocol.toml"
) -> Finding | None:
    """Return the finding on an upload's protocol that differs from the stored one.

    Parameters
    ----------
    stored : StoredProtocol
        The protocol in force.
    text : str or None
        The upload's ``protocol.toml`` text; None when the upload has none.
    file : str, optional
        Its file name.

    Returns
    -------
    trialdata.findings.Finding or None
        An error naming the fields that differ (or why the file is not a protocol);
        None when the upload has no protocol or the same one.
    """
    if text is None:
        return None
    applies = (
        f"the stored protocol (version {stored.version}) applies and the upload's is "
        "not stored; a coordinator changes the protocol with `trialdata protocol set`"
    )
    try:
        uploaded = parse_protocol_text(text, file)
    except InputError as error:
        message = f"{file} is not the trial's protocol: {error.reason}; {applies}"
        return Finding(
            "protocol", file, None, None, None, PROTOCOL_RULE, Severity.ERROR, message
        )
    changes = protocol_changes(stored.protocol, uploaded)
    if not changes:
        return None
    message = (
        f"{file} differs from the trial's stored protocol in {len(changes)} field(s): "
        f"{_listed(changes)}; {applies}"
    )
    return Finding(
        "protocol",
        file,
        None,
        None,
        None,
        PROTOCOL_RULE,
        Severity.ERROR,
        message,
    )


def protocol_for_upload(
    engine: sa.Engine, report: ValidationReport, text: str | None
) -> tuple[ValidationReport, StoredProtocol | None]:
    """Check an upload against the stored protocol before it is ingested.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    report : trialdata.validation.ValidationReport
        The upload, validated against the stored protocol (or, for a store without
        one, against its own ``protocol.toml``, which then becomes version 1).
    text : str or None
        The upload's ``protocol.toml`` text; None when it has none.

    Returns
    -------
    tuple of (ValidationReport, StoredProtocol or None)
        The report with the :data:`PROTOCOL_RULE` finding added when the upload's
        protocol differs, and the protocol in force (None when the store has none).

    Raises
    ------
    StoreError
        When the store has no protocol and the upload none either, or the report was
        validated against another protocol than the stored one.
    """
    with engine.connect() as conn:
        stored = current_protocol(conn)
    if stored is None:
        if text is None:
            raise StoreError(
                "the store holds no protocol yet and the upload has no protocol.toml; "
                "a coordinator stores it with `trialdata protocol set` (or ingests "
                "an upload that has one)"
            )
        return report, None
    if stored.trial_id != report.protocol.trial.id:
        raise StoreError(
            f"this store holds trial {stored.trial_id}; the upload's protocol.toml is "
            f"for trial {report.protocol.trial.id}"
        )
    if not _same(stored.protocol, report.protocol):
        changes = protocol_changes(stored.protocol, report.protocol)
        raise StoreError(
            "the upload was validated against another protocol than the store's "
            f"(version {stored.version}; {_listed(changes)}); validate it against the "
            "stored protocol (`TrialStore.ingest(folder)` and `trialdata ingest` do)"
        )
    finding = upload_protocol_finding(stored, text)
    if finding is None:
        return report, stored
    findings = findings_frame([report.findings, findings_frame([finding])])
    return replace(report, findings=findings), stored


def check_protocol_in_force(
    conn: sa.Connection, seen: StoredProtocol | None, user: str
) -> None:
    """Inside an ingest's transaction: the protocol checked is still the one in force.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection in the ingest's write transaction.
    seen : StoredProtocol or None
        What :func:`protocol_for_upload` found.
    user : str
        Who ingests; without a stored protocol the upload's becomes version 1, which
        needs a coordinator.

    Raises
    ------
    StoreError
        When another version was stored meanwhile.
    PermissionDeniedError
        When the upload would store the first protocol and the user is not a
        coordinator.
    """
    now = current_protocol(conn)
    if (now and now.version) != (seen and seen.version):
        raise StoreError(
            "the trial's protocol changed while the upload was checked (now version "
            f"{now.version if now else 'none'}); nothing was stored: ingest it again"
        )
    if now is None:
        try:
            require(conn, user, Action.SET_PROTOCOL)
        except PermissionDeniedError as error:
            raise PermissionDeniedError(
                user,
                Action.SET_PROTOCOL,
                "the store holds no protocol yet: the first upload stores its "
                f"protocol.toml, which needs a coordinator ({error})",
            ) from None
