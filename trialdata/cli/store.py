"""Trial store commands: freeze, export, delete (and the groups of the other modules).

Every command takes ``--store URL`` (any SQLAlchemy URL or a SQLite file; default
``./trialdata.sqlite``, or the ``TRIALDATA_STORE`` environment variable) and
``--format json`` (one JSON document on stdout with the facts of the text). Who
acts is never an option: it is the operating-system user (SQLite) or the database
login (PostgreSQL), and the accounts of the store say what that user may do
(:mod:`trialdata.store.accounts`). Every command that writes prints the audit chain
head after its change (``audit head <sha256>``; ``audit_head`` in JSON). Exit codes:
0 clean, 1 rows quarantined, conflicts flagged, error findings or an upload refused
because it was not read in full (``ingest``), a freeze refused on the stored
records' error findings (``freeze``) or a tampered audit trail (``audit verify``), 2
usage error, unreadable input or permission denied.

``ingest`` lives in :mod:`trialdata.cli.ingest`, ``queries`` in
:mod:`trialdata.cli.queries`, ``audit`` in :mod:`trialdata.cli.audit`;
:func:`register` adds them all.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from trialdata.cli._errors import user_errors
from trialdata.cli._options import FormatOption, OutputFormat, StoreOption
from trialdata.cli._output import emit, records
from trialdata.errors import TrialDataError

__all__ = ["StoreOption", "head_line", "no_empty_store_left", "register"]


class ExportFormat(StrEnum):
    """File formats of an export."""

    CSV = "csv"
    PARQUET = "parquet"


@contextmanager
def no_empty_store_left(store: str | None) -> Iterator[None]:
    """Remove the SQLite store a command created when the command then fails.

    Parameters
    ----------
    store : str or None
        The ``--store`` option.

    Yields
    ------
    None
        Control to the command body, which may create the store.
    """
    from trialdata.store.engine import missing_sqlite_file, remove_sqlite_store

    new_file = missing_sqlite_file(store)
    try:
        yield
    except TrialDataError:
        if new_file is not None:
            remove_sqlite_store(new_file)
        raise


def head_line(head: str | None) -> str:
    """Return the line a write command prints with the audit head after its change.

    Parameters
    ----------
    head : str or None
        The audit chain head (None: nothing was written).

    Returns
    -------
    str
        ``audit head <sha256>``, or ``audit head unchanged`` when nothing was written.
    """
    return f"audit head {head}" if head else "audit head unchanged (nothing written)"


def freeze(
    label: Annotated[str, typer.Option("--label", help="Name of the snapshot.")],
    store: StoreOption = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why the snapshot is taken.")
    ] = None,
    allow_errors: Annotated[
        bool,
        typer.Option(
            "--allow-errors",
            help="Freeze even when the stored records have error findings; they are "
            "recorded with the snapshot.",
        ),
    ] = False,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Freeze the store's current content as a named, content-hashed snapshot.

    The stored records are validated first, against the store's protocol. Exit 1,
    freezing nothing, while they have error findings (listed by rule), unless
    --allow-errors records them with the snapshot. Needs the data_manager role.
    """
    from trialdata.store.consistency import rule_summary
    from trialdata.store.snapshots import FreezeRefusedError
    from trialdata.store.store import TrialStore

    with user_errors():
        try:
            with TrialStore.open(store, create=False) as opened:
                snap = opened.freeze(label, reason=reason, allow_errors=allow_errors)
        except FreezeRefusedError as refused:
            print(f"trialdata: {refused}", file=sys.stderr, flush=True)
            if output_format == OutputFormat.JSON:
                emit(output_format, _refused_freeze(refused), [])
            raise typer.Exit(1) from None
    rows = sum(snap.row_counts.values())
    lines = [
        f"snapshot {snap.label}: {rows} rows in {len(snap.row_counts)} tables, "
        f"through changeset {snap.through_cs}; sha256 {snap.content_sha256}; "
        f"protocol version {snap.protocol_version}",
        head_line(snap.audit_head),
    ]
    if len(snap.errors):
        lines.append(
            f"recorded with the snapshot (--allow-errors): {len(snap.errors)} error "
            "finding(s) of the stored records:"
        )
        lines.extend(f"  {line}" for line in rule_summary(snap.errors))
    document = {
        "frozen": True,
        "label": snap.label,
        "rows": rows,
        "row_counts": snap.row_counts,
        "through_changeset": snap.through_cs,
        "content_sha256": snap.content_sha256,
        "protocol_version": snap.protocol_version,
        "created_at": snap.created_at,
        "user": snap.user,
        "allow_errors": allow_errors,
        "errors_recorded": records(snap.errors),
        "audit_head": snap.audit_head,
    }
    emit(output_format, document, lines)


def _refused_freeze(refused: Any) -> dict[str, Any]:
    """Return the JSON document of a freeze refused for error findings."""
    return {
        "frozen": False,
        "label": refused.label,
        "n_errors": len(refused.errors),
        "errors": records(refused.errors),
        "audit_head": None,
        "message": str(refused),
    }


def export(
    folder: Annotated[Path, typer.Argument(help="Folder to write the files into.")],
    snapshot: Annotated[str, typer.Option("--snapshot", help="Snapshot label.")],
    store: StoreOption = None,
    file_format: Annotated[
        ExportFormat,
        typer.Option("--file-format", help="File format of the exported files."),
    ] = ExportFormat.CSV,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Write a snapshot's protocol.toml and domain files into a folder."""
    from trialdata.store.store import TrialStore

    with user_errors(), TrialStore.open(store, create=False) as opened:
        written = opened.export(snapshot, folder, format=file_format.value)
    document = {
        "snapshot": snapshot,
        "folder": str(folder),
        "file_format": file_format.value,
        "files": [str(path) for path in written],
    }
    lines = [f"snapshot {snapshot}: {len(written)} files written to {folder}"]
    emit(output_format, document, lines)


def delete(
    domain: Annotated[str, typer.Argument(help="Domain of the records, e.g. labs.")],
    keys: Annotated[
        list[str],
        typer.Argument(help="Record keys (key values joined by '|', as in queries)."),
    ],
    site: Annotated[
        str, typer.Option("--site", help="The site the records belong to.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why; required.")],
    store: StoreOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Delete current records of a site: their history stays (a data manager)."""
    from trialdata.store.store import TrialStore

    with user_errors(), TrialStore.open(store, create=False) as opened:
        head = opened.delete(domain, keys, site=site, reason=reason)
    document = {
        "domain": domain,
        "site": site,
        "deleted": list(keys),
        "reason": reason,
        "audit_head": head,
    }
    lines = [
        f"{domain}: {len(keys)} record(s) of site {site} deleted",
        head_line(head),
    ]
    emit(output_format, document, lines)


def register(app: typer.Typer) -> None:
    """Add the store commands to the command line."""
    from trialdata.cli import ingest, queries
    from trialdata.cli.audit import audit_app

    ingest.register(app)
    app.command("freeze")(freeze)
    app.command("delete")(delete)
    app.command("export")(export)
    queries.register(app)
    app.add_typer(audit_app, name="audit")
