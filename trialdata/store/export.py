"""Writing a snapshot back out as an upload folder that validates again."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from schemas.domains import get_domain
from trialdata.errors import StoreError
from trialdata.io import discover_upload
from trialdata.store.codec import text_columns
from trialdata.store.snapshots import Snapshot
from trialdata.validation import PROTOCOL_FILE

__all__ = ["EXPORT_FORMATS", "export_snapshot"]

#: Formats ``export`` writes.
EXPORT_FORMATS: tuple[str, ...] = ("csv", "parquet")


def _domain_frame(name: str, data: pd.DataFrame) -> pd.DataFrame:
    """Return the domain's columns, less optional columns empty throughout."""
    spec = get_domain(name)
    keep = [
        c for c in spec.columns if c in spec.required_columns or data[c].notna().any()
    ]
    return data[keep].reset_index(drop=True)


def export_snapshot(
    snapshot: Snapshot, folder: Path, *, format: str = "csv"
) -> list[Path]:
    """Write a snapshot's protocol and domain tables into a folder.

    CSV files hold canonical text (ISO dates, ``true``/``false``, full-precision
    numbers); Parquet files keep the typed columns.

    Parameters
    ----------
    snapshot : Snapshot
        The snapshot (:func:`trialdata.store.snapshots.read_snapshot`).
    folder : pathlib.Path
        Output folder; created when missing. Existing files of the snapshot's domains
        in this format are replaced; any other data file there (another domain or
        format, which would mix with the export) makes it refuse.
    format : str, optional
        ``csv`` (default) or ``parquet``.

    Returns
    -------
    list of pathlib.Path
        Files written, ``protocol.toml`` first.

    Raises
    ------
    StoreError
        When the format is unknown, the folder is a file, holds other data files, or
        cannot be written.
    """
    if format not in EXPORT_FORMATS:
        raise StoreError(
            f"unknown export format {format!r}; use {' or '.join(EXPORT_FORMATS)}"
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
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / PROTOCOL_FILE]
        written[0].write_text(snapshot.protocol_toml, encoding="utf-8")
        for name, data in snapshot.tables.items():
            frame = _domain_frame(name, data)
            path = folder / f"{name}.{format}"
            if format == "parquet":
                frame.to_parquet(path, index=False)
            else:
                spec = get_domain(name)
                text = text_columns(frame.reindex(columns=spec.columns), spec)
                pd.DataFrame(
                    {str(c): pd.Series(list(text[str(c)]), dtype=object) for c in frame}
                ).to_csv(path, index=False)
            written.append(path)
    except OSError as error:
        raise StoreError(
            f"{folder}: cannot write the export: {error.strerror}"
        ) from None
    return written
