"""``trialdata validate FOLDER``: check an upload and list every finding."""

from __future__ import annotations

import stat
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from trialdata.cli._errors import fail, user_errors
from trialdata.cli._options import QuietOption

if TYPE_CHECKING:
    from trialdata.validation import ValidationReport

__all__ = ["register"]

#: Uploads larger than this many bytes get a progress display on stderr (when stderr
#: is a terminal; see :mod:`trialdata.progress`).
LARGE_UPLOAD_BYTES = 5_000_000


class OutputFormat(StrEnum):
    """Output formats of the validation report."""

    TEXT = "text"
    JSON = "json"
    CSV = "csv"
    HTML = "html"


def _context(report: ValidationReport) -> dict[str, object]:
    from analyses._results import package_version

    return {
        "folder": str(report.folder),
        "trial_id": report.protocol.trial.id,
        "protocol_version": report.protocol.trial.protocol_version,
        "files": [
            {"name": f.name, "domain": f.domain, "rows": f.n_rows, "sha256": f.sha256}
            for f in report.files
        ],
        "package_version": package_version(),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def validate(
    folder: Annotated[Path, typer.Argument(help="Upload folder with protocol.toml.")],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="Report format.")
    ] = OutputFormat.TEXT,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="Write the report here, not stdout. An existing file is replaced "
            "in one step (said so); a symbolic link is refused.",
        ),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Validate an upload: exit 0 when clean, 1 with error findings, 2 on bad input.

    A large upload shows its progress (the file or step under way) on stderr when
    stderr is a terminal, unless --quiet.
    """
    from trialdata.findings_render import render_findings
    from trialdata.io.files import OutputRefusedError, check_output, write_output
    from trialdata.progress import progress_steps
    from trialdata.validation import validate_folder

    if output is not None:
        try:
            check_output(output)  # a link or folder is refused before any work
        except OutputRefusedError as error:
            raise fail(f"{output}: cannot write the report: {error.reason}") from None
    large = _upload_size(folder) > LARGE_UPLOAD_BYTES
    with user_errors(), progress_steps(quiet=quiet or not large) as step:
        report = validate_folder(folder, progress=step)
        step("writing the report")
        text = render_findings(report.findings, output_format.value, _context(report))
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            replaced = write_output(output, text)
        except OutputRefusedError as error:  # a link put there meanwhile
            raise fail(f"{output}: cannot write the report: {error.reason}") from None
        except OSError as error:
            raise fail(f"{output}: cannot write the report: {error.strerror}") from None
        note = " (replaced the earlier file)" if replaced else ""
        print(
            f"trialdata: {report.n_errors} error(s), {report.n_warnings} warning(s); "
            f"report written to {output}{note}",
            file=sys.stderr,
        )
    raise typer.Exit(report.exit_code)


def _upload_size(folder: Path) -> int:
    """Return the bytes of an upload folder's regular files (links not followed)."""
    if not folder.is_dir():
        return 0
    size = 0
    try:
        for entry in folder.iterdir():
            try:
                info = entry.lstat()
            except OSError:
                continue
            size += info.st_size if stat.S_ISREG(info.st_mode) else 0
    except OSError:
        return 0
    return size


def register(app: typer.Typer) -> None:
    """Add the ``validate`` command to the command line."""
    app.command("validate")(validate)
