"""``trialdata protocol``: the trial's protocol as the store holds it.

The protocol is controlled, not uploaded: ``protocol set FILE --reason ...`` (a
coordinator) stores a new version, and the fields that changed appear in the audit
trail as ``field: old -> new``; ``protocol show`` prints a version, ``protocol
history`` every version. A site's upload never changes it. Exit codes: 0 done, 2
usage error, invalid protocol or permission denied (nothing changed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trialdata.cli._errors import fail, user_errors
from trialdata.cli.store import StoreOption, head_line, no_empty_store_left
from trialdata.store.store import TrialStore

__all__ = ["register"]

protocol_app = typer.Typer(
    help="The trial's protocol, versioned in the store.", no_args_is_help=True
)


@protocol_app.command("set")
def set_(
    file: Annotated[Path, typer.Argument(help="The protocol.toml to store.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; required.")],
    store: StoreOption = None,
) -> None:
    """Store a protocol as the trial's next version (a coordinator)."""
    with user_errors(), no_empty_store_left(store), TrialStore.open(store) as opened:
        stored, changed, head = opened.set_protocol(file, reason=reason)
    if not changed:
        print(
            f"protocol unchanged: {file} describes version {stored.version} in force; "
            "nothing stored"
        )
        print(head_line(None))
        return
    print(f"protocol version {stored.version} stored (sha256 {stored.sha256})")
    for line in (stored.changes or "").splitlines():
        print(f"  {line}")
    print(head_line(head))


@protocol_app.command("show")
def show(
    store: StoreOption = None,
    version: Annotated[
        int | None, typer.Option("--version", help="Version; default the latest.")
    ] = None,
) -> None:
    """Print a stored protocol version (the text as stored)."""
    with user_errors(), TrialStore.open(store, create=False) as opened:
        stored = opened.protocol(version)
    if stored is None:
        raise fail("the store holds no protocol yet (`trialdata protocol set FILE`)")
    print(
        f"# protocol version {stored.version} of trial {stored.trial_id}, stored by "
        f"{stored.user_name} in changeset {stored.changeset_id}: {stored.reason}; "
        f"sha256 {stored.sha256}"
    )
    print(stored.toml, end="" if stored.toml.endswith("\n") else "\n")


@protocol_app.command("history")
def history(store: StoreOption = None) -> None:
    """List every stored protocol version with who, when, why and what changed."""
    with user_errors(), TrialStore.open(store, create=False) as opened:
        frame = opened.protocol_history()
    if frame.empty:
        print("the store holds no protocol yet")
        return
    for row in frame.to_dict("records"):
        print(
            f"version {row['version']}: {row['at']} by {row['user_name']}: "
            f"{row['reason']} (sha256 {row['sha256']})"
        )
        for line in str(row["changes"] or "").splitlines():
            print(f"  {line}")


def register(app: typer.Typer) -> None:
    """Add the ``protocol`` commands to the command line."""
    app.add_typer(protocol_app, name="protocol")
