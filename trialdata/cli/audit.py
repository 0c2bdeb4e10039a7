"""The ``trialdata audit`` commands: prove the store from its trail, anchor the trail.

``audit verify`` recomputes the hash chain, replays the trail into every table and
compares the result with the tables, checks the protective triggers and the
electronic signatures, and, with ``--anchors``, the signed checkpoints kept outside
the database. ``audit anchor`` verifies the store and appends a signed checkpoint of
its chain to an anchor file; ``audit keygen`` writes the anchor key. Exit codes: 0
intact, 1 a problem found (the store was tampered with), 2 usage error.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from trialdata.cli._errors import fail, user_errors
from trialdata.cli._options import FormatOption, OutputFormat, StoreOption
from trialdata.cli._output import emit

if TYPE_CHECKING:
    from trialdata.store.anchor import Anchor
    from trialdata.store.audit import VerifyResult
    from trialdata.store.store import TrialStore

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="The audit trail: prove the store from it; anchor it outside the store.",
    no_args_is_help=True,
)

KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        help="Anchor key file (from `trialdata audit keygen`); never stored in the "
        "database.",
    ),
]

_HEAD = re.compile(r"[0-9a-f]{64}")


def _head(expect_head: str | None) -> str | None:
    """Return ``--expect-head`` normalised; exit 2 when it is not a head."""
    if expect_head is None:
        return None
    head = expect_head.strip().lower()
    if not _HEAD.fullmatch(head):
        raise fail(
            f"--expect-head {head!r} is not an audit head (64 hexadecimal "
            "characters, as printed by `trialdata ingest` and the other write "
            "commands)"
        )
    return head


def _may_verify(opened: TrialStore) -> None:
    """Check that the acting user may verify the store (read-only check)."""
    from trialdata.store.accounts import Action, require

    with opened.engine.connect() as conn:
        require(conn, opened.user, Action.VERIFY, bootstrap=False)


def _report(
    result: VerifyResult,
    anchors: list[Anchor | str] | None,
    output_format: OutputFormat,
    extra: dict[str, Any] | None = None,
    lines: list[str] | None = None,
) -> None:
    """Print what was verified, or every problem; exit 0 or 1."""
    from trialdata.store.anchor import Anchor

    text = list(lines or [])
    document: dict[str, Any] = {
        **(extra or {}),
        "intact": result.ok,
        "head": result.head,
        "n_entries": result.n_entries,
        "n_changesets": result.n_changesets,
        "last_seq": result.last_seq,
        "n_rows": result.n_rows,
        "problems": list(result.problems),
    }
    if not result.ok:
        text.append(f"audit trail TAMPERED: {len(result.problems)} problem(s)")
        text.extend(f"  {problem}" for problem in result.problems)
        emit(output_format, document, text)
        raise typer.Exit(1)
    text.append(
        f"audit trail intact: {result.n_entries} entries in "
        f"{result.n_changesets} changesets; head {result.head}"
    )
    text.append(
        f"data replayed from the trail: {result.n_rows} rows match the tables; "
        "triggers in place; signatures valid"
    )
    if anchors is not None:
        latest = max(a.seq for a in anchors if isinstance(a, Anchor))
        text.append(
            f"anchors: {len(anchors)} valid, the latest at entry {latest} of "
            f"{result.last_seq}"
        )
        document["anchors"] = {"n_valid": len(anchors), "latest_seq": latest}
    emit(output_format, document, text)


@audit_app.command("verify")
def verify(
    store: StoreOption = None,
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            help="A head printed by a write command; it must still be in the chain.",
        ),
    ] = None,
    anchors: Annotated[
        Path | None,
        typer.Option(
            "--anchors",
            help="Anchor file (from `trialdata audit anchor`); needs --key.",
        ),
    ] = None,
    key: KeyOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Prove the store from its audit trail; exit 1 when anything was tampered with.

    Recomputes the hash chain; replays the trail into every table (record versions,
    submissions and file hashes, quarantine, findings, queries, snapshots, accounts,
    protocols, signatures) and compares the result with the tables; checks the
    protective triggers (present, enabled, unchanged) and the electronic signatures.
    With --anchors and --key, every anchor's signature is checked and the chain must
    still hold each anchored head at its entry.
    """
    from trialdata.store.anchor import read_anchors, read_key, store_name
    from trialdata.store.store import TrialStore
    from trialdata.store.verify import consistent_read, verify_store

    head = _head(expect_head)
    if (anchors is None) != (key is None):
        raise fail("--anchors and --key go together: the anchors are checked with it")
    with user_errors():
        lines = read_anchors(anchors) if anchors is not None else None
        secret = read_key(key) if key is not None else None
        with TrialStore.open(store, create=False) as opened:
            _may_verify(opened)
            with consistent_read(opened.engine) as conn:
                result = verify_store(
                    conn,
                    expected_head=head,
                    anchors=lines,
                    key=secret,
                    store=store_name(opened.engine),
                )
    _report(result, lines, output_format, {"expected_head": head})


@audit_app.command("anchor")
def anchor(
    to: Annotated[
        Path,
        typer.Option(
            "--to",
            help="Anchor file to append to (created owner-only); keep it outside the "
            "database server, append-only.",
        ),
    ],
    key: Annotated[
        Path,
        typer.Option(
            "--key",
            help="Anchor key file (from `trialdata audit keygen`, or --new-key).",
        ),
    ],
    store: StoreOption = None,
    new_key: Annotated[
        bool,
        typer.Option(
            "--new-key", help="Create the key file first (it must not exist)."
        ),
    ] = False,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Verify the store, then append a signed checkpoint of its chain to a file.

    The checkpoint (store, last entry, its changeset and hash, UTC time) is signed
    with HMAC-SHA256 by a key the database never sees; `trialdata audit verify
    --anchors FILE --key KEY` then detects a trail rewritten or truncated below it.
    Nothing is anchored (exit 1) when the store does not verify.
    """
    from trialdata.store.anchor import append_anchor, create_key, read_key, store_name
    from trialdata.store.store import TrialStore
    from trialdata.store.verify import consistent_read, verify_store

    lines: list[str] = []
    fingerprint = None
    with user_errors():
        if new_key:
            fingerprint = create_key(key)
            lines.append(
                f"anchor key written to {key} (owner-only; key id {fingerprint})"
            )
        secret = read_key(key)
        with TrialStore.open(store, create=False) as opened:
            _may_verify(opened)
            with consistent_read(opened.engine) as conn:
                result = verify_store(conn, store=store_name(opened.engine))
                written = (
                    append_anchor(conn, store_name(opened.engine), secret, to)
                    if result.ok
                    else None
                )
    document: dict[str, Any] = {"anchor_file": str(to), "new_key_id": fingerprint}
    if written is None:
        lines.append("nothing anchored: the store does not verify")
        _report(result, None, output_format, {**document, "anchored": None}, lines)
        return
    fields = written.fields
    lines.append(
        f"anchored entry {fields['seq']} (changeset {fields['changeset']}), head "
        f"{fields['head']}, in {to}"
    )
    document["anchored"] = dict(fields)
    emit(output_format, document, lines)


@audit_app.command("keygen")
def keygen(
    path: Annotated[Path, typer.Argument(help="Key file to create (must not exist).")],
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Write a new anchor key to a file readable by its owner only.

    Keep it away from the database server: whoever holds it can sign anchors.
    """
    from trialdata.store.anchor import create_key

    with user_errors():
        fingerprint = create_key(path)
    document = {"key_file": str(path), "key_id": fingerprint}
    lines = [f"anchor key written to {path} (owner-only; key id {fingerprint})"]
    emit(output_format, document, lines)
