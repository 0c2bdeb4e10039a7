"""Turn errors a user can cause into a one-line message and exit code 2."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from trialdata.errors import TrialDataError

__all__ = ["fail", "is_protocol_error", "user_errors"]


def fail(message: str) -> typer.Exit:
    """Print a usage or input error on stderr and return the exit to raise (code 2).

    Parameters
    ----------
    message : str
        What is wrong, naming the file, option or field.

    Returns
    -------
    typer.Exit
        ``raise fail(...)`` ends the command with exit code 2.
    """
    typer.echo(f"trialdata: error: {message}", err=True)
    return typer.Exit(2)


def is_protocol_error(error: BaseException) -> bool:
    """Return whether an exception is an invalid protocol (``ProtocolError``).

    The protocol model (pydantic) is not imported to find out: when
    ``schemas.protocol`` was never imported, no protocol can have been read.

    Parameters
    ----------
    error : BaseException
        The exception.

    Returns
    -------
    bool
        True for :class:`schemas.protocol.ProtocolError`.
    """
    module = sys.modules.get("schemas.protocol")
    return module is not None and isinstance(error, module.ProtocolError)


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
    except TrialDataError as error:
        raise fail(str(error)) from None
    except Exception as error:
        if is_protocol_error(error):
            raise fail(str(error)) from None
        raise
