"""``trialdata report safety``: the DMC safety report of an upload folder or a snapshot.

The format follows the output file's extension (``.html``, ``.pdf``, ``.rtf``,
``.docx``, ``.json``, or ``.xlsx`` for the tables and listings as a workbook). The
data come from an upload ``FOLDER`` or from ``--store URL --snapshot LABEL`` (the
store also from ``TRIALDATA_STORE``). Data with error-level findings stop the
command (exit 1, nothing written) unless ``--allow-errors``; the report then states
it on its title page (the validation line of its provenance). ``--format json``
prints a JSON summary of what was written on stdout. Exit codes: 0 the report was
written, 1 refused for error findings, 2 bad usage or unreadable input (one message
on stderr).
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from trialdata.cli._errors import fail, is_protocol_error
from trialdata.cli._options import (
    AllowErrorsOption,
    CutoffOption,
    FormatOption,
    OutputFormat,
    QuietOption,
    SnapshotOption,
    StoreOption,
)
from trialdata.cli._output import emit
from trialdata.cli._source import choose_source, error_gate, load_trial, parse_cutoff
from trialdata.errors import TrialDataError

if TYPE_CHECKING:
    from trialdata.cli._source import ErrorGate, TrialSource
    from trialdata.reports import Report

__all__ = ["REPORT_FORMATS", "register"]

report_app = typer.Typer(
    help="Write reports (HTML, PDF, RTF, DOCX, XLSX, JSON).", no_args_is_help=True
)

#: ``trialdata.reports.FORMATS``, named here so that the command line starts without
#: loading the report model (a test checks that the two agree).
REPORT_FORMATS: tuple[str, ...] = ("html", "pdf", "rtf", "docx", "xlsx", "json")

#: Said on the report's title page (its validation line) under --allow-errors.
ALLOWED_NOTE = "written with --allow-errors: records with errors are included"


class PageSize(StrEnum):
    """Page sizes of the paged report formats."""

    A4 = "A4"
    LETTER = "letter"


def safety(
    ctx: typer.Context,
    folder: Annotated[
        Path | None,
        typer.Argument(help="Upload folder with protocol.toml (or use --store)."),
    ] = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Report file; its extension (html, pdf, rtf, docx, xlsx, json) is "
            "the format. An existing file is replaced in one step (said so); a "
            "symbolic link is refused.",
        ),
    ] = Path("safety_report.html"),
    store: StoreOption = None,
    snapshot: SnapshotOption = None,
    cutoff: CutoffOption = None,
    page_size: Annotated[
        PageSize,
        typer.Option(
            "--page-size",
            help="Page size of the PDF, DOCX and RTF (landscape), the same in each.",
        ),
    ] = PageSize.A4,
    allow_errors: AllowErrorsOption = False,
    output_format: FormatOption = OutputFormat.TEXT,
    quiet: QuietOption = False,
) -> None:
    """Write the safety report for the Data Monitoring Committee.

    Exit 1 without writing anything when the data have error-level findings, unless
    --allow-errors (the report's title page then says so).
    """
    fmt = output.suffix.lower().lstrip(".")
    if fmt not in REPORT_FORMATS:
        raise fail(
            f"cannot tell the format of {output}; use one of the extensions "
            + ", ".join(f".{f}" for f in REPORT_FORMATS)
        )
    store = choose_source(ctx, folder, store, snapshot)
    if not output.parent.is_dir():
        raise fail(f"output folder {output.parent} does not exist")
    from trialdata.io.files import OutputRefusedError, check_output
    from trialdata.progress import progress_steps

    try:
        replaced = check_output(output)  # a link is refused before any work
    except OutputRefusedError as error:
        raise fail(f"{output}: cannot write the report: {error.reason}") from None
    cut = parse_cutoff(cutoff)
    with progress_steps(quiet=quiet) as step:
        try:
            source = load_trial(folder, store, snapshot, step)
            step("building the safety report")
            report = _build(source, cut)
        except (TrialDataError, ValueError, KeyError) as error:
            raise fail(str(error)) from None
        except Exception as error:
            if is_protocol_error(error):
                raise fail(str(error)) from None
            raise
        # data that cannot be analysed stopped above (exit 2); data with error
        # findings stop here (exit 1) unless --allow-errors
        gate = error_gate(source.findings, allow_errors)
        if gate.refused:
            _refuse(gate, output, output_format)
        if gate.n_errors:
            report = _stated(report)
        step(f"writing {output.name}")
        from trialdata.reports import write_report

        try:
            write_report(report, output, page_size=page_size.value)
        except OSError as error:
            raise fail(f"{output}: cannot write the report: {error.strerror}") from None
        except OutputRefusedError as error:  # a link put there meanwhile
            raise fail(f"{output}: cannot write the report: {error.reason}") from None
        except TrialDataError as error:  # e.g. the extra a format needs is missing
            raise fail(str(error)) from None
    note = " (replaced the earlier file)" if replaced else ""
    lines = [f"trialdata: safety report written to {output}{note}"]
    if gate.n_errors:
        lines.append(f"trialdata: {gate.note('the safety report')}")
    if output_format == OutputFormat.TEXT:
        for line in lines:
            print(line, file=sys.stderr)
        return
    emit(output_format, _summary(report, output, fmt, replaced, source, gate), [])


def _build(source: TrialSource, cut: Any) -> Report:
    """Build the safety report of the trial."""
    from trialdata.reports import build_safety_report

    return build_safety_report(
        source.trial,
        snapshot_label=source.label,
        snapshot_hash=source.digest,
        data_cutoff=cut,
    )


def _stated(report: Report) -> Report:
    """Return the report with --allow-errors stated on its title page."""
    provenance = report.provenance
    validation = "; ".join(v for v in (provenance.validation, ALLOWED_NOTE) if v)
    return replace(report, provenance=replace(provenance, validation=validation))


def _refuse(gate: ErrorGate, output: Path, output_format: OutputFormat) -> None:
    """Stop before the report is built: the data have error findings."""
    print(f"trialdata: {gate.note('the safety report')}", file=sys.stderr, flush=True)
    if output_format == OutputFormat.JSON:
        document = {"written": False, "output": str(output), **gate.to_dict()}
        emit(output_format, document, [])
    raise typer.Exit(1)


def _summary(
    report: Report,
    output: Path,
    fmt: str,
    replaced: bool,
    source: TrialSource,
    gate: ErrorGate,
) -> dict[str, Any]:
    """Return the JSON summary of a written report."""
    data = output.read_bytes()
    provenance = report.provenance
    return {
        "written": True,
        "report": "safety",
        "output": str(output),
        "format": fmt,
        "replaced": replaced,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "trial_id": provenance.trial_id,
        "protocol_version": provenance.protocol_version,
        "snapshot_label": source.label,
        "snapshot_hash": provenance.snapshot_hash,
        "source": provenance.source,
        "data_cutoff": provenance.data_cutoff,
        "generated_utc": provenance.generated_utc,
        "validation": provenance.validation,
        "sections": [section.title for section in report.sections],
        "n_tables": len(report.tables()),
        "n_figures": len(report.figures()),
        **gate.to_dict(),
    }


def register(app: typer.Typer) -> None:
    """Add the ``report`` command group to the command line.

    Parameters
    ----------
    app : typer.Typer
        The root application.
    """
    report_app.command("safety")(safety)
    app.add_typer(report_app, name="report")
