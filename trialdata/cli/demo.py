"""``trialdata demo OUTDIR``: write a complete demo upload of one of the seed trials."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from trialdata.cli._errors import user_errors
from trialdata.cli._options import FormatOption, OutputFormat
from trialdata.cli._output import emit

__all__ = ["register"]

#: ``trialdata.demo.ANSWER_KEY``, named here for the help text without importing the
#: generators (a test checks that the two agree).
ANSWER_KEY = "_injected_errors.json"


class Archetype(StrEnum):
    """The demo trials."""

    TOLDC_MS = "tolDC-ms"
    NK_AML = "nk-aml"


def demo(
    outdir: Annotated[Path, typer.Argument(help="Folder to write the upload to.")],
    archetype: Annotated[
        Archetype, typer.Option("--archetype", help="Which seed trial.")
    ] = Archetype.TOLDC_MS,
    subjects: Annotated[
        int | None,
        typer.Option(
            "--subjects", min=1, help="Number of subjects (18 tolDC-ms, 12 nk-aml)."
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Random seed (0 or more).")
    ] = 0,
    inject_errors: Annotated[
        bool,
        typer.Option(
            "--inject-errors",
            help=f"Write a dirty site upload and its answer key {ANSWER_KEY}.",
        ),
    ] = False,
    extra_draws: Annotated[
        int,
        typer.Option(
            "--extra-draws",
            min=0,
            help="Unscheduled lab and immunomonitoring draws per subject.",
        ),
    ] = 0,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write into a folder that holds other files than an earlier demo.",
        ),
    ] = False,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Write a demo trial: protocol.toml and one file per domain."""
    from trialdata.demo import InjectionError, write_trial
    from trialdata.errors import InputError

    with user_errors():
        try:
            upload = write_trial(
                outdir,
                archetype.value,
                subjects,
                seed,
                inject=inject_errors,
                extra_draws=extra_draws,
                force=force,
            )
        except (InjectionError, FileExistsError) as error:
            raise InputError(str(error)) from None
        except OSError as error:
            raise InputError(
                f"cannot write: {error.strerror}", file=str(outdir)
            ) from None
    note = f", {len(upload.expected)} injected findings" if inject_errors else ""
    line = (
        f"trialdata: wrote {archetype.value} demo ({len(upload.files)} files{note}) "
        f"to {upload.folder}"
    )
    if output_format == OutputFormat.TEXT:
        print(line, file=sys.stderr)  # the upload is the output; stdout stays empty
        return
    document = {
        "archetype": archetype.value,
        "folder": str(upload.folder),
        "files": [str(path) for path in upload.files],
        "seed": seed,
        "injected_findings": len(upload.expected) if inject_errors else None,
        "answer_key": str(upload.folder / ANSWER_KEY) if inject_errors else None,
    }
    emit(output_format, document, [])


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the command line."""
    app.command("demo")(demo)
