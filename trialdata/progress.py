"""Progress of long work on stderr: a spinner with the current step (``rich``).

The display is on only when someone watches: stderr is a terminal and ``--quiet``
was not given. ``TRIALDATA_PROGRESS=1`` forces it on (a CI log that keeps terminal
output, a test), ``TRIALDATA_PROGRESS=0`` off; ``--quiet`` always wins. ``rich`` is
imported only when the display is on, never by ``--help`` or a silent run.

Work reports its steps through a callable taking one short message (the
``progress=`` parameter of :func:`trialdata.validation.validate_folder` has this
form), so the code that does the work never depends on the display::

    with progress_steps(quiet=quiet) as step:
        step("reading the upload")
        ...
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["PROGRESS_ENV", "Step", "progress_enabled", "progress_steps"]

#: Environment variable forcing the display on (``1``) or off (``0``).
PROGRESS_ENV = "TRIALDATA_PROGRESS"

#: A step reporter: called with a short message as each step starts.
Step = Callable[[str], None]

_ON = frozenset({"1", "true", "yes", "on", "always"})
_OFF = frozenset({"0", "false", "no", "off", "never"})


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def progress_enabled(quiet: bool = False, stream: IO[str] | None = None) -> bool:
    """Return whether the progress display is on.

    Parameters
    ----------
    quiet : bool, optional
        ``--quiet`` was given: always off.
    stream : file, optional
        Where the display goes; default ``sys.stderr``.

    Returns
    -------
    bool
        On when not quiet and either :data:`PROGRESS_ENV` forces it or the stream
        is a terminal (and the variable does not turn it off).
    """
    if quiet:
        return False
    setting = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if setting in _ON:
        return True
    if setting in _OFF:
        return False
    return _is_terminal(sys.stderr if stream is None else stream)


def _silent(message: str) -> None:
    """Report nothing (the display is off)."""


@contextmanager
def progress_steps(
    *, quiet: bool = False, console: Console | None = None
) -> Iterator[Step]:
    """Show a spinner with the current step on stderr while the block runs.

    Parameters
    ----------
    quiet : bool, optional
        No display at all.
    console : rich.console.Console, optional
        Where to draw; default a console on stderr. Given, the display is on unless
        ``quiet`` (a test draws into a console writing to a ``StringIO``).

    Yields
    ------
    Step
        Call it with a short message as each step starts; it does nothing when the
        display is off. It may be called from worker threads.
    """
    if quiet or (console is None and not progress_enabled()):
        yield _silent
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    if console is None:
        forced = not _is_terminal(sys.stderr)  # on by TRIALDATA_PROGRESS only
        console = Console(stderr=True, force_terminal=True if forced else None)
    display = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    with display:
        task = display.add_task("starting", total=None)

        def step(message: str) -> None:
            display.update(task, description=message, refresh=True)

        yield step
