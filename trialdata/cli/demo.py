"""``trialdata demo OUTDIR``: write a complete demo upload of one of the seed trials."""

from __future__ import annotations

import sys
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from trialdata.cli._errors import user_errors
from trialdata.demo import ANSWER_KEY, InjectionError, write_trial
from trialdata.errors import InputError

__all__ = ["register"]


class Archetype(StrEnum):
    """The demo trials."""

    TOLDC_MS = "tolDC-ms"
    NK_AML = "nk-aml"


#: Trial ids of the demo protocols: a folder holding one of them may be rewritten.
_DEMO_TRIAL_IDS = frozenset({"TOLDC-MS-DEMO", "NK-AML-DEMO"})


def _refuse_to_overwrite(outdir: Path) -> None:
    """Refuse a non-empty folder unless it holds an earlier demo trial.

    A mistyped OUTDIR must not overwrite a real site upload with synthetic data.
    """
    if not outdir.is_dir() or not any(outdir.iterdir()):
        return
    try:
        protocol = tomllib.loads((outdir / "protocol.toml").read_text("utf-8"))
        trial_id = protocol.get("trial", {}).get("id")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        trial_id = None
    if trial_id in _DEMO_TRIAL_IDS:
        return
    raise InputError(
        "the folder already holds files and no earlier demo trial; nothing was "
        "written (choose an empty or new folder, or pass --force to write into it)",
        file=str(outdir),
    )


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
) -> None:
    """Write a demo trial: protocol.toml and one file per domain."""
    if not force:
        with user_errors():
            _refuse_to_overwrite(outdir)
    try:
        upload = write_trial(
            outdir,
            archetype.value,
            subjects,
            seed,
            inject=inject_errors,
            extra_draws=extra_draws,
        )
    except (InjectionError, FileExistsError) as error:
        raise InputError(str(error)) from None
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror}", file=str(outdir)) from None
    note = f", {len(upload.expected)} injected findings" if inject_errors else ""
    print(
        f"trialdata: wrote {archetype.value} demo ({len(upload.files)} files{note}) "
        f"to {upload.folder}",
        file=sys.stderr,
    )


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the command line."""
    app.command("demo")(demo)
