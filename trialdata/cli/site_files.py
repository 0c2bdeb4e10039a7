"""``trialdata dictionary`` and ``trialdata template``: what sites need for an upload.

``dictionary`` writes the data dictionary (every domain and column, with types,
units, allowed values, ranges and the rules that check them) as HTML, XLSX, CSV or
JSON; ``template`` writes empty upload workbooks, one per domain, as ``trialdata
validate`` reads them. With ``--protocol`` both follow the trial's protocol (its
sites, routes, dose levels, visits). Exit codes: 0 written, 2 usage error, invalid
protocol or an output that may not be written (nothing written).

Only typer and light modules are imported here; the schemas, openpyxl and the
validation rules load when a command runs.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from trialdata.cli._errors import fail, user_errors
from trialdata.cli._options import FormatOption, OutputFormat
from trialdata.cli._output import emit

if TYPE_CHECKING:
    from trialdata.site_kit.model import DataDictionary

__all__ = ["register"]


class DictionaryFormat(StrEnum):
    """Formats of the data dictionary."""

    HTML = "html"
    XLSX = "xlsx"
    CSV = "csv"
    JSON = "json"


#: Output file endings and the format they imply when ``--format`` is not given.
_SUFFIX_FORMATS = {
    ".html": DictionaryFormat.HTML,
    ".htm": DictionaryFormat.HTML,
    ".xlsx": DictionaryFormat.XLSX,
    ".csv": DictionaryFormat.CSV,
    ".json": DictionaryFormat.JSON,
}

ProtocolOption = Annotated[
    Path | None,
    typer.Option(
        "--protocol",
        help="The trial's protocol.toml: its sites, routes, dose levels, dose units "
        "and visits become allowed values. Without it: the generic dictionary.",
    ),
]


def _chosen_format(
    output_format: DictionaryFormat | None, output: Path | None
) -> DictionaryFormat:
    """Return the format asked for, or implied by the output file's ending."""
    implied = _SUFFIX_FORMATS.get(output.suffix.lower()) if output else None
    if output_format is None:
        if implied is None:
            raise fail(
                "give --format html, xlsx, csv or json (or an --output file ending "
                "in .html, .xlsx, .csv or .json)"
            )
        return implied
    if implied is not None and implied != output_format:
        raise fail(
            f"--format {output_format} does not match the output file {output} "
            f"(a .{implied} file); change one of them"
        )
    return output_format


def _build(protocol: Path | None) -> DataDictionary:
    """Build the dictionary, generic or for a protocol file (errors: exit 2)."""
    with user_errors():
        from trialdata.site_kit.dictionary import build_dictionary, read_protocol

        if protocol is None:
            return build_dictionary()
        return build_dictionary(*read_protocol(protocol))


def dictionary(
    protocol: ProtocolOption = None,
    output_format: Annotated[
        DictionaryFormat | None,
        typer.Option(
            "--format",
            help="html (one page), xlsx (a sheet per domain), csv (one long table) "
            "or json; default: from the --output file's ending.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="Write here, not stdout (required for xlsx). An existing file is "
            "replaced in one step (said so); a symbolic link is refused.",
        ),
    ] = None,
) -> None:
    """Write the data dictionary: every domain and column, and the rules on them."""
    chosen = _chosen_format(output_format, output)
    if chosen is DictionaryFormat.XLSX and output is None:
        raise fail("--format xlsx writes a workbook: give --output FILE.xlsx")
    from trialdata.io.files import OutputRefusedError, check_output, write_output

    if output is not None:
        try:
            check_output(output)  # a link or folder is refused before any work
        except OutputRefusedError as error:
            raise fail(
                f"{output}: cannot write the dictionary: {error.reason}"
            ) from None
    built = _build(protocol)
    from trialdata.site_kit.dictionary_writers import render_dictionary

    content = render_dictionary(built, chosen.value)
    if output is None:
        sys.stdout.write(content.decode("utf-8"))
        return
    try:
        replaced = write_output(output, content)
    except OutputRefusedError as error:  # a link put there meanwhile
        raise fail(f"{output}: cannot write the dictionary: {error.reason}") from None
    except OSError as error:
        raise fail(f"{output}: cannot write the dictionary: {error.strerror}") from None
    note = " (replaced the earlier file)" if replaced else ""
    columns = sum(len(d.columns) for d in built.domains)
    print(
        f"trialdata: data dictionary ({chosen}, {len(built.domains)} domains, "
        f"{columns} columns) written to {output}{note}",
        file=sys.stderr,
    )


def template(
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            help="Folder to write the workbooks to (created if missing): "
            "<domain>.xlsx each, as trialdata validate reads them.",
        ),
    ],
    protocol: ProtocolOption = None,
    domains: Annotated[
        list[str] | None,
        typer.Option(
            "--domain",
            help="Only this domain (repeat for more); default every domain.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace workbooks already in the folder (by default a folder that "
            "holds one is refused: a filled-in workbook is never overwritten).",
        ),
    ] = False,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Write empty upload workbooks: header row, notes and drop-down lists."""
    built = _build(protocol)
    with user_errors():
        from trialdata.site_kit.template import write_templates

        copied = built.protocol.raw if built.protocol is not None else None
        try:
            written = write_templates(
                built, output, domains or (), replace=force, protocol_toml=copied
            )
        except OSError as error:
            raise fail(f"{output}: cannot write: {error.strerror or error}") from None
    lines = [
        f"wrote {item.path}" + (" (replaced the earlier file)" if item.replaced else "")
        for item in written
    ]
    lines.append(
        f"trialdata validate {output} reads these files once they are filled in"
        + ("" if protocol is not None else " and the folder holds protocol.toml")
    )
    document = {
        "folder": str(output),
        "files": [
            {"path": str(item.path), "replaced": item.replaced} for item in written
        ],
        "protocol": None if protocol is None else str(protocol),
    }
    emit(output_format, document, lines)


def register(app: typer.Typer) -> None:
    """Add the ``dictionary`` and ``template`` commands to the command line."""
    app.command("dictionary")(dictionary)
    app.command("template")(template)
