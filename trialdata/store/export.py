"""Writing a snapshot back out as an upload folder that validates again.

Values are written exactly (see :mod:`trialdata.store.codec`): a CSV file holds each
value's canonical text (a date-time with its fractional seconds and the UTC offset
it was written with, ``-0`` for -0.0, whole numbers digit for digit); a Parquet file
holds typed columns, a date-time column with offsets as a zoned timestamp when all
its values share one offset, else as that canonical text. Ingesting the export again
gives the same values.

Files are written safely: never through a symbolic link (a link where a file, or the
folder, would go is refused), each one to a temporary file moved over its name
(:func:`trialdata.io.files.replacing`), and never over a file with other content: an
existing file is only kept when it already holds exactly what the export would
write. Everything is checked before the first file is written.
"""

from __future__ import annotations

import io
from datetime import timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from schemas.domains import get_domain
from trialdata.errors import StoreError
from trialdata.io import discover_upload
from trialdata.io.files import OutputRefusedError, check_output, replacing
from trialdata.io.timestamps import offset_column, offset_seconds, offsets_of
from trialdata.store.codec import text_columns
from trialdata.store.snapshots import Snapshot
from trialdata.validation import PROTOCOL_FILE

__all__ = ["EXPORT_FORMATS", "export_snapshot"]

#: Formats ``export`` writes.
EXPORT_FORMATS: tuple[str, ...] = ("csv", "parquet")


def _kept_columns(name: str, data: pd.DataFrame) -> list[str]:
    """Return the domain's columns to write, less optional columns empty throughout."""
    spec = get_domain(name)
    return [
        c for c in spec.columns if c in spec.required_columns or data[c].notna().any()
    ]


def _csv_bytes(name: str, data: pd.DataFrame) -> bytes:
    """Return a domain table as CSV of canonical text."""
    spec = get_domain(name)
    kept = _kept_columns(name, data)
    text = text_columns(data.reset_index(drop=True), spec)
    frame = pd.DataFrame({c: pd.Series(list(text[c]), dtype=object) for c in kept})
    return frame.to_csv(index=False).encode("utf-8")


def _parquet_column(data: pd.DataFrame, column: str, text: np.ndarray) -> pd.Series:
    """Return a date-time column for Parquet: naive, zoned, or canonical text.

    A column without offsets stays naive; one whose values all have the same offset
    becomes a timestamp zoned at that offset (its instants and wall times kept);
    any other mix is written as the values' canonical text (``text``), which the
    reader reads back the same.
    """
    values = data[column].reset_index(drop=True)
    offsets = offsets_of(data, column)
    if offsets is None:
        return values
    present = values.notna().to_numpy()
    written = {o for o, p in zip(offsets, present, strict=True) if p}
    if len(written) == 1 and all(o is not None for o in offsets[present]):
        seconds = offset_seconds(str(next(iter(written)))) or 0
        zone = timezone(timedelta(seconds=seconds))
        return values.dt.tz_localize(zone)
    return pd.Series(list(text), dtype=object)


def _parquet_bytes(name: str, data: pd.DataFrame) -> bytes:
    """Return a domain table as Parquet with typed (and zoned) columns."""
    spec = get_domain(name)
    kept = _kept_columns(name, data)
    frame = data.reset_index(drop=True)
    text = text_columns(frame, spec)
    out = pd.DataFrame(
        {
            c: _parquet_column(frame, c, text[c])
            if spec.column_kinds[c] == "datetime" and offset_column(c) in frame
            else frame[c]
            for c in kept
        }
    )
    buffer = io.BytesIO()
    out.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _unchanged(path: Path, content: bytes) -> bool:
    """Whether an output path may take ``content``: absent, or holding just that.

    Raises
    ------
    StoreError
        When the path is a link or not a regular file, or holds other content.
    """
    try:
        exists = check_output(path)
    except OutputRefusedError as error:
        raise StoreError(f"{error}; nothing was written") from None
    if not exists:
        return False
    with path.open("rb") as handle:  # a regular file (checked), not a link
        same = handle.read(len(content) + 1) == content
    if not same:
        raise StoreError(
            f"{path}: exists with other content and is never overwritten by an "
            "export; export into a new or empty folder, or remove it; nothing was "
            "written"
        )
    return True


def export_snapshot(
    snapshot: Snapshot, folder: Path, *, format: str = "csv"
) -> list[Path]:
    """Write a snapshot's protocol and domain tables into a folder.

    CSV files hold canonical text (ISO dates, ``true``/``false``, full-precision
    numbers); Parquet files keep the typed columns (see the module notes).

    Parameters
    ----------
    snapshot : Snapshot
        The snapshot (:func:`trialdata.store.snapshots.read_snapshot`).
    folder : pathlib.Path
        Output folder; created when missing. A file of the export already there is
        left as it is when it holds exactly what would be written (the same export
        again); with other content, the export refuses. Any other data file there
        (another domain or format, which would mix with the export) makes it refuse
        too.
    format : str, optional
        ``csv`` (default) or ``parquet``.

    Returns
    -------
    list of pathlib.Path
        Files of the export, ``protocol.toml`` first.

    Raises
    ------
    StoreError
        When the format is unknown, the folder is a file or a symbolic link, holds
        other data files, a file of the export with other content, a link or
        special file where a file of the export goes, or cannot be written. Nothing
        is written then.
    """
    if format not in EXPORT_FORMATS:
        raise StoreError(
            f"unknown export format {format!r}; use {' or '.join(EXPORT_FORMATS)}"
        )
    if folder.is_symlink():
        raise StoreError(
            f"{folder}: is a symbolic link; outputs are never written through links; "
            "nothing was written"
        )
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"{folder}: is a file, not a folder; nothing was written")
    if folder.is_dir():
        targets = {f"{name}.{format}" for name in snapshot.tables}
        stale = [f.name for f in discover_upload(folder) if f.name not in targets]
        if stale:
            shown = ", ".join(stale[:5]) + (", ..." if len(stale) > 5 else "")
            raise StoreError(
                f"{folder}: holds data files the export would not replace "
                f"({shown}), so the folder would not match snapshot "
                f"{snapshot.label!r}; export into a new or empty folder; "
                "nothing was written"
            )
    render = _parquet_bytes if format == "parquet" else _csv_bytes
    contents = {folder / PROTOCOL_FILE: snapshot.protocol_toml.encode("utf-8")}
    for name, data in snapshot.tables.items():
        contents[folder / f"{name}.{format}"] = render(name, data)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        kept = {path for path, content in contents.items() if _unchanged(path, content)}
        for path, content in contents.items():
            if path in kept:
                continue
            with replacing(path) as temporary, temporary.open("wb") as handle:
                handle.write(content)
    except OutputRefusedError as error:  # a link put there meanwhile
        raise StoreError(f"{error}; the export is incomplete") from None
    except OSError as error:
        raise StoreError(
            f"{folder}: cannot write the export: {error.strerror}"
        ) from None
    return list(contents)
