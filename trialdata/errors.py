"""Errors a user can cause. Messages name the file, and the row and column when known.

The CLI turns these into a one-line message and exit code 2, never a traceback.
"""

from __future__ import annotations

__all__ = [
    "InputError",
    "MissingExtraError",
    "StoreError",
    "TrialDataError",
    "UnreadableFileError",
]


class TrialDataError(Exception):
    """Base class of every error trialdata raises for bad input or bad usage."""


class InputError(TrialDataError):
    """Input that cannot be used, with its location.

    Parameters
    ----------
    message : str
        What is wrong.
    file : str, optional
        The file concerned.
    row : int, optional
        1-based line number in the file (the header is line 1).
    column : str, optional
        The column concerned.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        self.reason = message
        where = ", ".join(
            part
            for part in (
                file,
                f"row {row}" if row is not None else None,
                f"column {column!r}" if column is not None else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class UnreadableFileError(InputError):
    """A file that cannot be read at all (missing, empty, wrong format or encoding)."""


class StoreError(TrialDataError):
    """The trial store refused an operation (site scope, missing reason, lock)."""


class MissingExtraError(TrialDataError):
    """A feature needs an optional package that is not installed.

    The message names the pip extra that brings it, e.g.
    ``PDF output needs WeasyPrint: pip install 'trialdata[pdf]'``.

    Parameters
    ----------
    message : str
        The full message.
    module : str
        The module that could not be imported.
    extra : str
        The trialdata extra that installs it.
    """

    def __init__(self, message: str, *, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(message)
