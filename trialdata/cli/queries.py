"""``trialdata queries``: the query lists per site, answering and closing a query.

``queries`` writes the open (and answered) queries per site as CSV and Excel;
``queries answer`` records a site's answer, ``queries close`` closes a query by hand.
Answering and closing write to the store and print the audit head after them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from trialdata.cli._errors import user_errors
from trialdata.cli._options import FormatOption, OutputFormat, StoreOption
from trialdata.cli._output import emit, records
from trialdata.cli.store import head_line

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["queries_app", "register"]

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
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Write the open (and answered) queries per site as CSV and Excel."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = store
        return
    from trialdata.store.store import TrialStore

    with user_errors():
        with TrialStore.open(store, create=False) as opened:
            frame = opened.queries(site=site, include_closed=include_closed)
            sites = [site] if site is not None else opened.sites()
        written, replaced = _write_queries(frame, output, sites)
    files = ", ".join(str(p) for p in written)
    if not written:
        lines = ["no queries to list; nothing written"]
    elif frame.empty:
        lines = [f"no queries to list; empty lists written: {files}"]
    else:
        lines = [f"{len(frame)} queries written: {files}"]
    if replaced:
        lines.append(
            f"replaced the earlier lists: {', '.join(str(p) for p in replaced)}"
        )
    per_site = frame.groupby("site_id").size() if len(frame) else None
    document = {
        "n_queries": len(frame),
        "by_site": {} if per_site is None else per_site.to_dict(),
        "by_status": {} if frame.empty else frame["status"].value_counts().to_dict(),
        "sites": sites,
        "include_closed": include_closed,
        "files": [str(p) for p in written],
        "replaced": [str(p) for p in replaced],
        "queries": records(frame),
    }
    emit(output_format, document, lines)


def _write_queries(
    frame: pd.DataFrame, output: Path, sites: list[str]
) -> tuple[list[Path], list[Path]]:
    """Write query lists without following links or leaving half-written files.

    The lists are written into a temporary folder beside their targets, then moved
    over them one by one (each move replaces the file in one step; a symbolic link
    at a target is refused before anything is moved). Returns the files written and
    those among them that replaced an earlier file.
    """
    from trialdata.errors import StoreError
    from trialdata.io.files import check_output
    from trialdata.store.queries import query_output, write_query_lists

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
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Record the site's answer to a query (status answered; the query's site)."""
    from trialdata.store.store import TrialStore

    with user_errors(), TrialStore.open(store or ctx.obj, create=False) as opened:
        head = opened.answer_query(query_id, text)
    document = {"query_id": query_id, "status": "answered", "audit_head": head}
    emit(output_format, document, [f"query {query_id} answered", head_line(head)])


@queries_app.command("close")
def close(
    ctx: typer.Context,
    query_id: Annotated[int, typer.Argument(help="Query number.")],
    text: Annotated[str, typer.Option("--text", help="Why it is closed.")],
    store: StoreOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Close a query by hand (the data manager accepts the answer)."""
    from trialdata.store.store import TrialStore

    with user_errors(), TrialStore.open(store or ctx.obj, create=False) as opened:
        head = opened.close_query(query_id, text)
    document = {"query_id": query_id, "status": "closed", "audit_head": head}
    emit(output_format, document, [f"query {query_id} closed", head_line(head)])


def register(app: typer.Typer) -> None:
    """Add the ``queries`` group to the command line."""
    app.add_typer(queries_app, name="queries")
