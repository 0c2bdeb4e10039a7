"""Finding the domain files of an upload folder, and opening and writing files safely.

Nothing here follows a symbolic link. A data file that is a link, a folder, a named
pipe or any other entry that is not a regular file is listed with the reason it is
not read (:attr:`SourceFile.problem`); files are opened with ``O_NOFOLLOW`` and
checked to be regular files on the open handle, so that a link put in place between
listing and reading is refused too. Outputs are written to a temporary file beside
the target and moved over it (:func:`write_output`, :func:`replacing`): a link at the
target is refused, never written through, and a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from schemas.domains import DOMAINS
from trialdata.errors import InputError, UnreadableFileError

__all__ = [
    "DATA_SUFFIXES",
    "OutputRefusedError",
    "SourceFile",
    "check_output",
    "discover_upload",
    "not_a_regular_file",
    "open_regular",
    "replacing",
    "sha256_of",
    "write_output",
]

#: File endings read as data, mapped to the reader format.
DATA_SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".xlsx": "excel",
    ".parquet": "parquet",
    ".xpt": "xpt",
}

_DOMAIN_NAMES = {spec.name for spec in DOMAINS}

#: Flags of every read: no link followed, no wait on a named pipe.
_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


@dataclass(frozen=True)
class SourceFile:
    """A data file of an upload.

    Attributes
    ----------
    path : pathlib.Path
        Where it is.
    domain : str or None
        Domain it holds, from its file name; None when the name is not a domain.
    format : str
        Reader format: csv, excel, parquet or xpt.
    problem : str or None
        Why the entry is not read at all (a symbolic link, a folder, a named pipe);
        None for a regular file.
    """

    path: Path
    domain: str | None
    format: str
    problem: str | None = None

    @property
    def name(self) -> str:
        """File name without folder."""
        return self.path.name

    @property
    def sha256(self) -> str:
        """SHA-256 of the file's bytes."""
        return sha256_of(self.path)


def _kind(mode: int) -> str | None:
    """Return what a file mode is when it is not a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return (
            "is a symbolic link; links are not followed and the file it points to "
            "was not read: put the file itself in the upload"
        )
    if stat.S_ISDIR(mode):
        return "is a folder, not a data file; it was not read"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a data file; it was not read"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a data file; it was not read"
    return "is a device or special file, not a data file; it was not read"


def not_a_regular_file(path: Path) -> str | None:
    """Return why a path is not a regular file (without following a link), or None.

    Parameters
    ----------
    path : pathlib.Path
        The entry.

    Returns
    -------
    str or None
        E.g. ``"is a symbolic link; ..."``; None for a regular file. A path that
        does not exist is reported as such.
    """
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return "does not exist"
    except OSError as error:
        return f"cannot be examined: {error.strerror or error}"
    return _kind(mode)


def open_regular(path: Path) -> io.FileIO:
    """Open a regular file for reading, refusing links and special files.

    The link check and the regular-file check are made on the open handle, so a
    file swapped for a link after it was listed is refused as well.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    io.FileIO
        The open file (unbuffered).

    Raises
    ------
    UnreadableFileError
        When the path is a symbolic link, not a regular file, or cannot be opened.
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as error:
        problem = not_a_regular_file(path)
        raise UnreadableFileError(
            problem or f"cannot be opened: {error.strerror or error}", file=path.name
        ) from None
    try:
        problem = _kind(os.fstat(fd).st_mode)
        if problem is not None:
            raise UnreadableFileError(problem, file=path.name)
        return io.FileIO(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise


def sha256_of(path: Path) -> str:
    """Return the hexadecimal SHA-256 digest of a file.

    Parameters
    ----------
    path : pathlib.Path
        The file (a symbolic link or special file is refused, see
        :func:`open_regular`).

    Returns
    -------
    str
        The digest.
    """
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def discover_upload(folder: Path) -> list[SourceFile]:
    """List the data files of an upload folder.

    Only entries ending in one of :data:`DATA_SUFFIXES` are data files; anything else
    (``protocol.toml``, notes, answer keys) is not listed, nor are names starting
    with a dot. The domain is the file stem, lower-cased, e.g. ``Adverse_Events.csv``
    holds ``adverse_events``. An entry with a data file's name that is not a regular
    file (a symbolic link, a folder, a named pipe) is listed with its
    :attr:`~SourceFile.problem` and must not be read.

    Parameters
    ----------
    folder : pathlib.Path
        The upload folder.

    Returns
    -------
    list of SourceFile
        Sorted by file name.
    """
    files = []
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if suffix not in DATA_SUFFIXES or path.name.startswith("."):
            continue
        stem = path.stem.lower()
        files.append(
            SourceFile(
                path,
                stem if stem in _DOMAIN_NAMES else None,
                DATA_SUFFIXES[suffix],
                not_a_regular_file(path),
            )
        )
    return files


class OutputRefusedError(InputError):
    """An output path that is not written: a symbolic link or not a regular file."""


def check_output(path: Path) -> bool:
    """Check that an output may be written at a path; return whether it replaces one.

    Parameters
    ----------
    path : pathlib.Path
        The output file.

    Returns
    -------
    bool
        True when a regular file is there already (it will be replaced).

    Raises
    ------
    OutputRefusedError
        When the path is a symbolic link (outputs are never written through links)
        or an entry other than a regular file, or its folder does not exist.
    """
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise OutputRefusedError(
                f"output folder {path.parent} does not exist", file=str(path)
            ) from None
        return False
    except OSError as error:
        raise OutputRefusedError(
            f"cannot be examined: {error.strerror or error}", file=str(path)
        ) from None
    if stat.S_ISLNK(mode):
        raise OutputRefusedError(
            "is a symbolic link; outputs are never written through links: remove "
            "the link or choose another path",
            file=str(path),
        )
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "a named pipe, device or socket"
        raise OutputRefusedError(
            f"is {what}, not a file that can be replaced", file=str(path)
        )
    return True


def _new_file_mode(existing: Path) -> int:
    """Return the permissions of an output: the replaced file's, else the default."""
    with suppress(OSError):
        return stat.S_IMODE(existing.lstat().st_mode)
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Write an output through a temporary file moved over the target at the end.

    The target is checked first (:func:`check_output`). The block writes the
    temporary path it is given (same folder, same extension); when it ends without
    an error the temporary file replaces the target in one step, otherwise it is
    removed and the target is left as it was. A link put at the target meanwhile is
    replaced itself, never written through.

    Parameters
    ----------
    path : pathlib.Path
        The output file.

    Yields
    ------
    pathlib.Path
        The temporary file to write.

    Raises
    ------
    OutputRefusedError
        See :func:`check_output`.
    """
    check_output(path)
    mode = _new_file_mode(path)
    fd, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}"
    )
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            temporary.unlink()
        raise


def write_output(path: Path, data: bytes | str) -> bool:
    """Write an output file in one step; return whether it replaced an existing one.

    Parameters
    ----------
    path : pathlib.Path
        The output file; a symbolic link or special file there is refused.
    data : bytes or str
        The content (text is written as UTF-8).

    Returns
    -------
    bool
        True when a file was there before and has been replaced.

    Raises
    ------
    OutputRefusedError
        See :func:`check_output`.
    OSError
        When the file cannot be written (the target is then unchanged).
    """
    replaced = check_output(path)
    content = data.encode("utf-8") if isinstance(data, str) else data
    with replacing(path) as temporary, temporary.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    return replaced
