"""The ``trialdata`` command line.

Each command lives in its own module of this package and adds itself to :data:`app`
through a ``register(app)`` function; :data:`COMMAND_MODULES` lists them. Exit codes:
0 clean, 1 findings of severity error, 2 usage error, unreadable input or permission
denied. Errors a user can cause print one message on stderr, never a traceback. No
command takes who acts from its arguments: the store commands act as the
operating-system user (SQLite) or the database login (PostgreSQL).
"""

from __future__ import annotations

import importlib
import sys

import typer

from trialdata.errors import TrialDataError

__all__ = ["COMMAND_MODULES", "app", "main"]

app = typer.Typer(
    name="trialdata",
    help="Validate, store and analyse early-phase cell-therapy trial data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Command modules of this package, each with a ``register(app)`` function.
COMMAND_MODULES: tuple[str, ...] = (
    "validate",
    "demo",
    "dose_finding",
    "store",
    "accounts",
    "protocol",
    "sign",
    "report",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"trialdata.cli.{_name}").register(app)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; the ``trialdata`` console script.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; defaults to ``sys.argv[1:]``.
    """
    try:
        app(args=argv, prog_name="trialdata", standalone_mode=True)
    except TrialDataError as error:
        print(f"trialdata: error: {error}", file=sys.stderr)
        sys.exit(2)
