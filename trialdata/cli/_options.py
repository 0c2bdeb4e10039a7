"""Options shared by the commands: one name, one help text, one env var each.

This module is imported when the command line starts (typer reads every command's
signature to build ``--help``), so it imports nothing but typer: the types used in
option annotations must be light.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

__all__ = [
    "STORE_ENV",
    "AllowErrorsOption",
    "CutoffOption",
    "FormatOption",
    "OutputFormat",
    "QuietOption",
    "SnapshotOption",
    "StoreOption",
]

#: Environment variable every command that reads or writes a store falls back to.
STORE_ENV = "TRIALDATA_STORE"


class OutputFormat(StrEnum):
    """What a command prints on stdout: text for people, JSON for pipelines."""

    TEXT = "text"
    JSON = "json"


StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar=STORE_ENV,
        help="Store URL (SQLAlchemy) or SQLite file; default ./trialdata.sqlite.",
    ),
]

SnapshotOption = Annotated[
    str | None,
    typer.Option("--snapshot", help="Snapshot label in the store (with --store)."),
]

CutoffOption = Annotated[
    str | None,
    typer.Option(
        "--cutoff",
        help="Data cut-off date YYYY-MM-DD (inclusive); default: the latest date in "
        "the data. Records after it are excluded.",
    ),
]

FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        help="Output on stdout: text, or json (one JSON document with the same facts).",
    ),
]

QuietOption = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress on stderr."),
]

AllowErrorsOption = Annotated[
    bool,
    typer.Option(
        "--allow-errors",
        help="Go on although the data have error-level findings (exit 1 otherwise); "
        "the output says so.",
    ),
]
