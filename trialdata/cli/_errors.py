"""Turn errors a user can cause into a one-line message and exit code 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from schemas.protocol import ProtocolError
from trialdata.errors import TrialDataError

__all__ = ["user_errors"]


@contextmanager
def user_errors() -> Iterator[None]:
    """Report :class:`~trialdata.errors.TrialDataError` on stderr and exit with 2.

    Use it around the body of a command so that bad input (a missing folder, an invalid
    protocol, an unreadable file) gives a message naming the file, never a traceback.

    Yields
    ------
    None
        Control to the command body.
    """
    try:
        yield
    except (TrialDataError, ProtocolError) as error:
        typer.echo(f"trialdata: error: {error}", err=True)
        raise typer.Exit(2) from None
