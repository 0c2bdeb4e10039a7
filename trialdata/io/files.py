"""Finding the domain files of an upload folder."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from schemas.domains import DOMAINS

__all__ = ["DATA_SUFFIXES", "SourceFile", "discover_upload", "sha256_of"]

#: File endings read as data, mapped to the reader format.
DATA_SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".xlsx": "excel",
    ".parquet": "parquet",
    ".xpt": "xpt",
}

_DOMAIN_NAMES = {spec.name for spec in DOMAINS}


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
    """

    path: Path
    domain: str | None
    format: str

    @property
    def name(self) -> str:
        """File name without folder."""
        return self.path.name

    @property
    def sha256(self) -> str:
        """SHA-256 of the file's bytes."""
        return sha256_of(self.path)


def sha256_of(path: Path) -> str:
    """Return the hexadecimal SHA-256 digest of a file.

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    str
        The digest.
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def discover_upload(folder: Path) -> list[SourceFile]:
    """List the data files of an upload folder.

    Only files ending in one of :data:`DATA_SUFFIXES` are data files; anything else
    (``protocol.toml``, notes, answer keys) is not listed. The domain is the file stem,
    lower-cased, e.g. ``Adverse_Events.csv`` holds ``adverse_events``.

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
        if (
            not path.is_file()
            or suffix not in DATA_SUFFIXES
            or path.name.startswith(".")
        ):
            continue
        stem = path.stem.lower()
        files.append(
            SourceFile(
                path, stem if stem in _DOMAIN_NAMES else None, DATA_SUFFIXES[suffix]
            )
        )
    return files
