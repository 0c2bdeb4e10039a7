"""``trialdata report safety``: the DMC safety report of an upload folder or a snapshot.

The format follows the output file's extension (``.html``, ``.pdf``, ``.rtf``,
``.docx``, or ``.xlsx`` for the tables and listings as a workbook). Exit codes: 0 the
report was written, 2 bad usage or unreadable input (one message on stderr).
"""

from __future__ import annotations

import sys
import warnings
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from schemas.protocol import ProtocolError
from trialdata.cli._errors import fail
from trialdata.errors import TrialDataError
from trialdata.io.files import OutputRefusedError, check_output
from trialdata.reports import FORMATS, write_report
from trialdata.trial import Trial, TrialDataWarning

__all__ = ["register"]

report_app = typer.Typer(
    help="Write reports (HTML, PDF, RTF, DOCX, XLSX).", no_args_is_help=True
)


class PageSize(StrEnum):
    """Page sizes of the paged report formats."""

    A4 = "A4"
    LETTER = "letter"


def _from_store(url: str, label: str) -> tuple[Trial, str]:
    """Read a snapshot with ``Trial.from_store`` and return it with its content hash."""
    from trialdata.store import TrialStore

    if "://" not in url and not Path(url).is_file():
        raise fail(f"store {url} does not exist")
    trial = Trial.from_store(url, snapshot=label)
    with TrialStore.open(url) as store:
        listed = store.snapshots()
    digest = listed.loc[listed["label"] == label, "content_sha256"]
    return trial, str(digest.iloc[0]) if len(digest) else trial.content_hash


def safety(
    folder: Annotated[
        Path | None,
        typer.Argument(help="Upload folder with protocol.toml (or use --store)."),
    ] = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Report file; its extension (html, pdf, rtf, docx, xlsx) is the "
            "format. An existing file is replaced in one step (said so); a symbolic "
            "link is refused.",
        ),
    ] = Path("safety_report.html"),
    store: Annotated[
        str | None, typer.Option("--store", help="Trial store URL or SQLite file.")
    ] = None,
    snapshot: Annotated[
        str | None, typer.Option("--snapshot", help="Snapshot label in the store.")
    ] = None,
    cutoff: Annotated[
        str | None,
        typer.Option(
            "--cutoff", help="Data cut-off date YYYY-MM-DD (default: latest date)."
        ),
    ] = None,
    page_size: Annotated[
        PageSize,
        typer.Option(
            "--page-size",
            help="Page size of the PDF, DOCX and RTF (landscape), the same in each.",
        ),
    ] = PageSize.A4,
) -> None:
    """Write the safety report for the Data Monitoring Committee."""
    fmt = output.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise fail(
            f"cannot tell the format of {output}; use one of the extensions "
            + ", ".join(f".{f}" for f in FORMATS)
        )
    if (folder is None) == (store is None):
        raise fail("give either an upload FOLDER or --store URL --snapshot LABEL")
    if store is not None and not snapshot:
        raise fail("--store needs --snapshot LABEL")
    if not output.parent.is_dir():
        raise fail(f"output folder {output.parent} does not exist")
    try:
        replaced = check_output(output)  # a link is refused before any work
    except OutputRefusedError as error:
        raise fail(f"{output}: cannot write the report: {error.reason}") from None
    if cutoff is not None:
        try:
            day = date.fromisoformat(cutoff)
        except ValueError:
            raise fail(f"--cutoff {cutoff!r} is not a date (YYYY-MM-DD)") from None
        try:
            cut: pd.Timestamp | None = pd.Timestamp(day).as_unit("ns")
        except (ValueError, OverflowError):
            raise fail(
                f"--cutoff {cutoff!r} is outside the supported dates "
                f"{pd.Timestamp.min.date()} to {pd.Timestamp.max.date()}"
            ) from None
    else:
        cut = None
    try:
        if folder is not None:
            if not (folder / "protocol.toml").is_file():
                raise fail(f"{folder} is not an upload folder (no protocol.toml)")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", TrialDataWarning)
                trial = Trial.load(folder, on_error="warn")
            for warning in caught:
                if issubclass(warning.category, TrialDataWarning):
                    print(f"trialdata: warning: {warning.message}", file=sys.stderr)
            label, digest = "folder", trial.content_hash
        else:
            assert store is not None and snapshot is not None
            trial, digest = _from_store(store, snapshot)
            label = snapshot
        from trialdata.reports import build_safety_report

        report = build_safety_report(
            trial, snapshot_label=label, snapshot_hash=digest, data_cutoff=cut
        )
    except (TrialDataError, ProtocolError, ValueError, KeyError) as error:
        raise fail(str(error)) from None
    try:
        write_report(report, output, page_size=page_size.value)
    except OSError as error:
        raise fail(f"{output}: cannot write the report: {error.strerror}") from None
    except OutputRefusedError as error:  # a link put there meanwhile
        raise fail(f"{output}: cannot write the report: {error.reason}") from None
    note = " (replaced the earlier file)" if replaced else ""
    print(f"trialdata: safety report written to {output}{note}", file=sys.stderr)


def register(app: typer.Typer) -> None:
    """Add the ``report`` command group to the command line.

    Parameters
    ----------
    app : typer.Typer
        The root application.
    """
    report_app.command("safety")(safety)
    app.add_typer(report_app, name="report")
