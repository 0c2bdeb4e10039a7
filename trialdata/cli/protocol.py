"""``trialdata protocol``: the trial's protocol as the store holds it.

The protocol is controlled, not uploaded: ``protocol set FILE --reason ...`` (a
coordinator) stores a new version, and the fields that changed appear in the audit
trail as ``field: old -> new``; ``protocol show`` prints a version, ``protocol
history`` every version. A site's upload never changes it. Every command takes
``--format json``. Exit codes: 0 done, 2 usage error, invalid protocol or
permission denied (nothing changed).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from trialdata.cli._errors import fail, user_errors
from trialdata.cli._options import FormatOption, OutputFormat, StoreOption
from trialdata.cli._output import emit, records
from trialdata.cli.store import head_line, no_empty_store_left

if TYPE_CHECKING:
    from trialdata.store.protocols import StoredProtocol

__all__ = ["register"]

protocol_app = typer.Typer(
    help="The trial's protocol, versioned in the store.", no_args_is_help=True
)


def _open(store: str | None, *, create: bool = False) -> Any:
    from trialdata.store.store import TrialStore

    return TrialStore.open(store, create=create)


def _facts(stored: StoredProtocol) -> dict[str, Any]:
    """Return a stored version's facts (without its text)."""
    return {
        "version": stored.version,
        "trial_id": stored.trial_id,
        "changeset_id": stored.changeset_id,
        "user_name": stored.user_name,
        "reason": stored.reason,
        "sha256": stored.sha256,
        "changes": (stored.changes or "").splitlines(),
    }


@protocol_app.command("set")
def set_(
    file: Annotated[Path, typer.Argument(help="The protocol.toml to store.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; required.")],
    store: StoreOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Store a protocol as the trial's next version (a coordinator)."""
    with (
        user_errors(),
        no_empty_store_left(store),
        _open(store, create=True) as opened,
    ):
        stored, changed, head = opened.set_protocol(file, reason=reason)
    document = {"stored": changed, **_facts(stored), "audit_head": head}
    if not changed:
        lines = [
            f"protocol unchanged: {file} describes version {stored.version} in "
            "force; nothing stored",
            head_line(None),
        ]
        document["audit_head"] = None
        emit(output_format, document, lines)
        return
    lines = [f"protocol version {stored.version} stored (sha256 {stored.sha256})"]
    lines.extend(f"  {line}" for line in (stored.changes or "").splitlines())
    lines.append(head_line(head))
    emit(output_format, document, lines)


@protocol_app.command("show")
def show(
    store: StoreOption = None,
    version: Annotated[
        int | None, typer.Option("--version", help="Version; default the latest.")
    ] = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Print a stored protocol version (the text as stored)."""
    with user_errors(), _open(store) as opened:
        stored = opened.protocol(version)
    if stored is None:
        raise fail("the store holds no protocol yet (`trialdata protocol set FILE`)")
    text = (
        f"# protocol version {stored.version} of trial {stored.trial_id}, stored by "
        f"{stored.user_name} in changeset {stored.changeset_id}: {stored.reason}; "
        f"sha256 {stored.sha256}\n"
        + stored.toml
        + ("" if stored.toml.endswith("\n") else "\n")
    )
    emit(output_format, {**_facts(stored), "toml": stored.toml}, text)


@protocol_app.command("history")
def history(
    store: StoreOption = None, output_format: FormatOption = OutputFormat.TEXT
) -> None:
    """List every stored protocol version with who, when, why and what changed."""
    with user_errors(), _open(store) as opened:
        frame = opened.protocol_history()
    if frame.empty:
        emit(output_format, {"versions": []}, ["the store holds no protocol yet"])
        return
    lines = []
    for row in frame.to_dict("records"):
        lines.append(
            f"version {row['version']}: {row['at']} by {row['user_name']}: "
            f"{row['reason']} (sha256 {row['sha256']})"
        )
        lines.extend(f"  {line}" for line in str(row["changes"] or "").splitlines())
    versions = records(frame)
    for entry in versions:
        entry["changes"] = str(entry.get("changes") or "").splitlines()
    emit(output_format, {"versions": versions}, lines)


def register(app: typer.Typer) -> None:
    """Add the ``protocol`` commands to the command line."""
    app.add_typer(protocol_app, name="protocol")
