"""Trial store commands: ingest, audit verify, freeze, export, delete, queries.

Every command takes ``--store URL`` (any SQLAlchemy URL or a SQLite file; default
``./trialdata.sqlite``, or the ``TRIALDATA_STORE`` environment variable). Who acts is
never an option: it is the operating-system user (SQLite) or the database login
(PostgreSQL), and the accounts of the store say what that user may do
(:mod:`trialdata.store.accounts`). Every command that writes prints the audit chain
head after its change (``audit head <sha256>``). Exit codes: 0 clean, 1 rows
quarantined, conflicts flagged, error findings or an upload refused because it was
not read in full (``ingest``), a freeze refused on the stored records' error
findings (``freeze``) or a tampered audit trail (``audit verify``), 2 usage error,
unreadable input or permission denied.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from trialdata.cli._errors import user_errors
from trialdata.cli.audit import audit_app
from trialdata.errors import StoreError, TrialDataError
from trialdata.io.files import check_output
from trialdata.store.consistency import rule_summary
from trialdata.store.engine import missing_sqlite_file, remove_sqlite_store
from trialdata.store.ingest import UploadRefusedError, finding_lines
from trialdata.store.queries import query_output, write_query_lists
from trialdata.store.snapshots import FreezeRefusedError
from trialdata.store.store import TrialStore

__all__ = ["register"]

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="TRIALDATA_STORE",
        help="Store URL (SQLAlchemy) or SQLite file; default ./trialdata.sqlite.",
    ),
]


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


def _say(message: str) -> None:
    print(f"trialdata: {message}", file=sys.stderr, flush=True)


def ingest(
    folder: Annotated[Path, typer.Argument(help="Upload folder with protocol.toml.")],
    site: Annotated[str, typer.Option("--site", help="The uploading site.")],
    store: StoreOption = None,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why; required when stored records change."),
    ] = None,
    quarantine_bad_files: Annotated[
        bool,
        typer.Option(
            "--quarantine-bad-files",
            help="Quarantine a file not read in full (unreadable, a malformed line, "
            "a symbolic link, ...) whole and store the rest, instead of refusing "
            "the upload. A missing required file still refuses it.",
        ),
    ] = False,
) -> None:
    """Validate an upload and store it: valid rows accepted, failing rows quarantined.

    All or nothing per upload: one that was not read in full (an unreadable file, a
    malformed line, a missing required file, a symbolic link) is refused and nothing
    is stored, unless --quarantine-bad-files holds such files whole. Exit 0 when
    every row was accepted, 1 when rows were quarantined, the upload has error
    findings or was refused for its files, 2 on usage errors or an upload that
    cannot be used at all (no protocol, another site's records, a change without
    --reason, permission denied; nothing is stored then).

    The upload is validated against the store's protocol; the folder's own
    protocol.toml may be left out, and one that differs is a finding (ST-PROTOCOL),
    never a change. Into a store without a protocol, the upload's protocol.toml
    becomes its first version (the user who creates a store is its coordinator).
    Who uploads is the operating-system user (SQLite) or the database login
    (PostgreSQL); it needs site_data_entry of the site or data_manager.
    """
    with user_errors():
        new_file = missing_sqlite_file(store)
        try:
            with TrialStore.open(store) as opened:
                result = opened.ingest(
                    folder,
                    site=site,
                    reason=reason,
                    quarantine_bad_files=quarantine_bad_files,
                )
        except TrialDataError as error:
            if new_file is not None:  # refused: leave no empty store behind
                remove_sqlite_store(new_file)
            if isinstance(error, UploadRefusedError):
                _refused(error, quarantine_bad_files)
            raise
    print(
        f"submission {result.submission_id} from site {result.site_id}: "
        f"{result.n_rows} rows read, {result.n_created} created, "
        f"{result.n_updated} updated, {result.n_unchanged} unchanged, "
        f"{result.n_quarantined} quarantined, {result.n_released} released from "
        f"quarantine; {result.n_findings} finding(s)"
    )
    print(f"rows: {result.count_line()}")
    print(f"audit head {result.audit_head}")
    for line in result.quarantine_lines():
        print(f"  {line}")
    if result.n_flagged:
        print(
            f"  {result.n_flagged} conflict(s) with stored records flagged (left in "
            "the store; `trialdata freeze` refuses until they are resolved)"
        )
    errors = result.findings[result.findings["severity"] == "error"]
    for row in errors.head(20).to_dict("records"):
        where = str(row["file"])
        if not pd.isna(row["row"]):
            where += f" row {int(row['row'])}"
        column = "" if pd.isna(row["column"]) else f"{row['column']} "
        label = "flagged" if bool(row.get("flagged", False)) else "quarantined"
        print(f"  {label}: {where}: {column}{row['rule']}: {row['message']}")
    if len(errors) > 20:
        print(f"  ... and {len(errors) - 20} more (see `trialdata queries`)")
    raise typer.Exit(result.exit_code)


def _refused(refused: UploadRefusedError, quarantine_bad_files: bool) -> None:
    """Report an upload refused for its files (nothing stored) and exit with 1."""
    n = refused.n_rows
    print(
        f"upload refused, nothing stored: {n} rows read = 0 stored + 0 quarantined "
        f"+ {refused.n_refused} refused"
    )
    for line in finding_lines(refused.reasons):
        print(f"  refused: {line}")
    errors = refused.findings.loc[refused.findings["severity"] == "error"]
    if len(errors) > len(refused.reasons):
        print(
            f"  ({len(errors)} error finding(s) in all; `trialdata validate` lists "
            "them)"
        )
    hint = (
        "a required file is missing"
        if quarantine_bad_files
        else "send the files again, or ingest with --quarantine-bad-files to store "
        "the rest and hold these files in quarantine"
    )
    _say(f"upload refused: it was not read in full; {hint}")
    raise typer.Exit(1)


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
) -> None:
    """Freeze the store's current content as a named, content-hashed snapshot.

    The stored records are validated first, against the store's protocol. Exit 1,
    freezing nothing, while they have error findings (listed by rule), unless
    --allow-errors records them with the snapshot. Needs the data_manager role.
    """
    with user_errors():
        try:
            with TrialStore.open(store, create=False) as opened:
                snap = opened.freeze(label, reason=reason, allow_errors=allow_errors)
        except FreezeRefusedError as refused:
            print(f"trialdata: {refused}", file=sys.stderr, flush=True)
            raise typer.Exit(1) from None
    rows = sum(snap.row_counts.values())
    print(
        f"snapshot {snap.label}: {rows} rows in {len(snap.row_counts)} tables, "
        f"through changeset {snap.through_cs}; sha256 {snap.content_sha256}; "
        f"protocol version {snap.protocol_version}"
    )
    print(head_line(snap.audit_head))
    if len(snap.errors):
        print(
            f"recorded with the snapshot (--allow-errors): {len(snap.errors)} error "
            "finding(s) of the stored records:"
        )
        for line in rule_summary(snap.errors):
            print(f"  {line}")


def export(
    folder: Annotated[Path, typer.Argument(help="Folder to write the files into.")],
    snapshot: Annotated[str, typer.Option("--snapshot", help="Snapshot label.")],
    store: StoreOption = None,
    file_format: Annotated[
        ExportFormat, typer.Option("--format", help="File format.")
    ] = ExportFormat.CSV,
) -> None:
    """Write a snapshot's protocol.toml and domain files into a folder."""
    with user_errors(), TrialStore.open(store, create=False) as opened:
        written = opened.export(snapshot, folder, format=file_format.value)
    print(f"snapshot {snapshot}: {len(written)} files written to {folder}")


queries_app = typer.Typer(
    help="Query lists: open findings per site, answers, closing.",
    no_args_is_help=False,
)


@queries_app.callback(invoke_without_command=True)
def queries(
    ctx: typer.Context,
    site: Annotated[str | None, typer.Option("--site", help="Only this site.")] = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            help="Folder for queries_<site>.csv/.xlsx, or one .csv or .xlsx file.",
        ),
    ] = Path("queries"),
    store: StoreOption = None,
    include_closed: Annotated[
        bool, typer.Option("--all", help="Include closed queries.")
    ] = False,
) -> None:
    """Write the open (and answered) queries per site as CSV and Excel."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = store
        return
    with user_errors():
        with TrialStore.open(store, create=False) as opened:
            frame = opened.queries(site=site, include_closed=include_closed)
            sites = [site] if site is not None else opened.sites()
        written, replaced = _write_queries(frame, output, sites)
    files = ", ".join(str(p) for p in written)
    if not written:
        print("no queries to list; nothing written")
    elif frame.empty:
        print(f"no queries to list; empty lists written: {files}")
    else:
        print(f"{len(frame)} queries written: {files}")
    if replaced:
        print(f"replaced the earlier lists: {', '.join(str(p) for p in replaced)}")


def _write_queries(
    frame: pd.DataFrame, output: Path, sites: list[str]
) -> tuple[list[Path], list[Path]]:
    """Write query lists without following links or leaving half-written files.

    The lists are written into a temporary folder beside their targets, then moved
    over them one by one (each move replaces the file in one step; a symbolic link
    at a target is refused before anything is moved). Returns the files written and
    those among them that replaced an earlier file.
    """
    one_file = output.suffix.lower() in (".csv", ".xlsx")
    folder = output.parent if one_file else output
    if output.is_symlink() or folder.is_symlink():
        link = output if output.is_symlink() else folder
        raise StoreError(
            f"{link}: is a symbolic link; outputs are never written through links"
        )
    one_file, folder = query_output(output)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=folder, prefix=".queries."))
    except OSError as error:
        raise StoreError(
            f"{error.filename or folder}: cannot write the query list: "
            f"{error.strerror or error}"
        ) from None
    try:
        made = write_query_lists(
            frame, scratch / output.name if one_file else scratch, sites=sites
        )
        targets = [folder / p.name for p in made]
        replaced = [t for t in targets if check_output(t)]
        for made_file, target in zip(made, targets, strict=True):
            os.replace(made_file, target)
    except OSError as error:
        raise StoreError(
            f"{error.filename or output}: cannot write the query list: "
            f"{error.strerror or error}"
        ) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return targets, replaced


@queries_app.command("answer")
def answer(
    ctx: typer.Context,
    query_id: Annotated[int, typer.Argument(help="Query number.")],
    text: Annotated[str, typer.Option("--text", help="The site's answer.")],
    store: StoreOption = None,
) -> None:
    """Record the site's answer to a query (status answered; the query's site)."""
    with user_errors(), TrialStore.open(store or ctx.obj, create=False) as opened:
        head = opened.answer_query(query_id, text)
    print(f"query {query_id} answered")
    print(head_line(head))


@queries_app.command("close")
def close(
    ctx: typer.Context,
    query_id: Annotated[int, typer.Argument(help="Query number.")],
    text: Annotated[str, typer.Option("--text", help="Why it is closed.")],
    store: StoreOption = None,
) -> None:
    """Close a query by hand (the data manager accepts the answer)."""
    with user_errors(), TrialStore.open(store or ctx.obj, create=False) as opened:
        head = opened.close_query(query_id, text)
    print(f"query {query_id} closed")
    print(head_line(head))


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
) -> None:
    """Delete current records of a site: their history stays (a data manager)."""
    with user_errors(), TrialStore.open(store, create=False) as opened:
        head = opened.delete(domain, keys, site=site, reason=reason)
    print(f"{domain}: {len(keys)} record(s) of site {site} deleted")
    print(head_line(head))


def register(app: typer.Typer) -> None:
    """Add the store commands to the command line."""
    app.command("ingest")(ingest)
    app.command("freeze")(freeze)
    app.command("delete")(delete)
    app.command("export")(export)
    app.add_typer(queries_app, name="queries")
    app.add_typer(audit_app, name="audit")
