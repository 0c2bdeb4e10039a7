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
from typing import Annotated

import typer

from trialdata.cli._errors import fail, user_errors
from trialdata.store.accounts import Action, require
from trialdata.store.anchor import (
    Anchor,
    append_anchor,
    create_key,
    read_anchors,
    read_key,
    store_name,
)
from trialdata.store.audit import VerifyResult
from trialdata.store.store import TrialStore
from trialdata.store.verify import consistent_read, verify_store

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="The audit trail: prove the store from it; anchor it outside the store.",
    no_args_is_help=True,
)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="TRIALDATA_STORE",
        help="Store URL (SQLAlchemy) or SQLite file; default ./trialdata.sqlite.",
    ),
]
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
    with opened.engine.connect() as conn:
        require(conn, opened.user, Action.VERIFY, bootstrap=False)


def _report(result: VerifyResult, anchors: list[Anchor | str] | None) -> None:
    """Print what was verified, or every problem; exit 0 or 1."""
    if not result.ok:
        print(f"audit trail TAMPERED: {len(result.problems)} problem(s)")
        for problem in result.problems:
            print(f"  {problem}")
        raise typer.Exit(1)
    print(
        f"audit trail intact: {result.n_entries} entries in "
        f"{result.n_changesets} changesets; head {result.head}"
    )
    print(
        f"data replayed from the trail: {result.n_rows} rows match the tables; "
        "triggers in place; signatures valid"
    )
    if anchors is not None:
        latest = max(a.seq for a in anchors if isinstance(a, Anchor))
        print(
            f"anchors: {len(anchors)} valid, the latest at entry {latest} of "
            f"{result.last_seq}"
        )


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
) -> None:
    """Prove the store from its audit trail; exit 1 when anything was tampered with.

    Recomputes the hash chain; replays the trail into every table (record versions,
    submissions and file hashes, quarantine, findings, queries, snapshots, accounts,
    protocols, signatures) and compares the result with the tables; checks the
    protective triggers (present, enabled, unchanged) and the electronic signatures.
    With --anchors and --key, every anchor's signature is checked and the chain must
    still hold each anchored head at its entry.
    """
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
    _report(result, lines)


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
) -> None:
    """Verify the store, then append a signed checkpoint of its chain to a file.

    The checkpoint (store, last entry, its changeset and hash, UTC time) is signed
    with HMAC-SHA256 by a key the database never sees; `trialdata audit verify
    --anchors FILE --key KEY` then detects a trail rewritten or truncated below it.
    Nothing is anchored (exit 1) when the store does not verify.
    """
    with user_errors():
        if new_key:
            fingerprint = create_key(key)
            print(f"anchor key written to {key} (owner-only; key id {fingerprint})")
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
    if written is None:
        print("nothing anchored: the store does not verify")
        _report(result, None)
        return
    fields = written.fields
    print(
        f"anchored entry {fields['seq']} (changeset {fields['changeset']}), head "
        f"{fields['head']}, in {to}"
    )


@audit_app.command("keygen")
def keygen(
    path: Annotated[Path, typer.Argument(help="Key file to create (must not exist).")],
) -> None:
    """Write a new anchor key to a file readable by its owner only.

    Keep it away from the database server: whoever holds it can sign anchors.
    """
    with user_errors():
        fingerprint = create_key(path)
    print(f"anchor key written to {path} (owner-only; key id {fingerprint})")
