"""The ``trialdata`` command line.

Each command lives in its own module of this package and adds itself to :data:`app`
through a ``register(app)`` function; :data:`COMMAND_MODULES` lists them. Exit codes:
0 clean, 1 findings of severity error, 2 usage error, unreadable input or permission
denied. Errors a user can cause print one message on stderr, never a traceback. No
command takes who acts from its arguments: the store commands act as the
operating-system user (SQLite) or the database login (PostgreSQL).

Start-up is kept light: the command modules import only typer and the option types
at module level, and load pandas, the store, the validation and the reports inside
the command that needs them, so that ``trialdata --help`` and ``trialdata
--version`` answer at once. Help is plain text (no ``rich`` at start-up).
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from trialdata.errors import TrialDataError

__all__ = ["COMMAND_MODULES", "app", "main", "version_line"]

app = typer.Typer(
    name="trialdata",
    help="Validate, store and analyse early-phase cell-therapy trial data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich loads only for progress displays
)

#: Command modules of this package, each with a ``register(app)`` function.
COMMAND_MODULES: tuple[str, ...] = (
    "validate",
    "rules",
    "demo",
    "dose_finding",
    "store",
    "accounts",
    "protocol",
    "sign",
    "report",
    "site_files",
)


def version_line() -> str:
    """Return ``trialdata X.Y.Z``, the installed distribution's version.

    Returns
    -------
    str
        The line ``trialdata --version`` prints (``unknown`` when the package is
        run from a tree that was never installed).
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("trialdata")
    except PackageNotFoundError:
        number = "unknown"
    return f"trialdata {number}"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(version_line())
        raise typer.Exit(0)


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print the version (trialdata X.Y.Z) and exit.",
        ),
    ] = False,
) -> None:
    """Validate, store and analyse early-phase cell-therapy trial data."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"trialdata.cli.{_name}").register(app)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; the ``trialdata`` console script.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; defaults to ``sys.argv[1:]``.
    """
    if (sys.argv[1:] if argv is None else argv) == ["--version"]:
        print(version_line())  # without building every command's options first
        sys.exit(0)
    try:
        app(args=argv, prog_name="trialdata", standalone_mode=True)
    except TrialDataError as error:
        print(f"trialdata: error: {error}", file=sys.stderr)
        sys.exit(2)
