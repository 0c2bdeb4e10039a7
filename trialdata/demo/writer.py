"""Render typed demo tables as site files: CSV for most domains, Excel for product lots.

Tables are first turned into text exactly as a site export would hold it, in the
format the site kit asks sites for (``write_as`` in docs/site_kit.md: whole numbers,
numbers with a decimal point, ``Y`` or ``N``, ``YYYY-MM-DD`` and
``YYYY-MM-DDTHH:MM``, empty cells for missing values), so error injection can edit
cells the way a site would get them wrong, and the row of every cell in the written
file is known. This is the text a site sends, which the one parser reads
(:mod:`trialdata.validation.parsing`); values the system itself renders as text use
:mod:`trialdata.io.text`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from schemas.domains import get_domain
from trialdata.demo.common import choose

__all__ = [
    "DATETIME_COLUMNS",
    "EXCEL_DOMAINS",
    "file_name",
    "to_text",
    "write_table",
]

#: Columns holding a date and time; other date columns are written as dates only.
DATETIME_COLUMNS = frozenset(
    {"collection_time", "processing_time", "freezing_time", "event_time"}
)

#: Domains written as Excel workbooks instead of CSV.
EXCEL_DOMAINS = frozenset({"product_lots"})


def file_name(domain: str) -> str:
    """Return the file name a demo domain is written to."""
    return f"{domain}.xlsx" if domain in EXCEL_DOMAINS else f"{domain}.csv"


def to_text(data: pd.DataFrame, domain: str) -> pd.DataFrame:
    """Render a typed domain table as text cells (None for empty cells).

    Parameters
    ----------
    data : pandas.DataFrame
        A typed table of ``domain``.
    domain : str
        Domain name (its schema gives the column types).

    Returns
    -------
    pandas.DataFrame
        Same shape, object dtype: ISO 8601 dates (date-times as ``YYYY-MM-DDTHH:MM``),
        ``Y``/``N`` booleans, integers without decimals and floats as written by
        Python.
    """
    kinds = get_domain(domain).column_kinds
    text = pd.DataFrame(index=data.index)
    for column in data.columns:
        values = data[column]
        kind = kinds.get(column, "string")
        missing = values.isna().to_numpy()
        rendered: np.ndarray
        if kind == "datetime":
            stamps = pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")
            if column in DATETIME_COLUMNS:
                rendered = np.datetime_as_string(stamps, unit="m")
            else:
                rendered = np.datetime_as_string(stamps, unit="D")
        elif kind == "boolean":
            flags = values.astype("boolean").fillna(False).to_numpy(dtype=bool)
            rendered = np.where(flags, "Y", "N")
        elif kind == "integer":
            rendered = (
                values.astype("Int64").fillna(0).to_numpy(dtype="int64").astype(str)
            )
        elif kind == "float":
            rendered = values.astype(float).to_numpy().astype(str)
        else:
            rendered = values.astype(object).astype(str).to_numpy()
        text[column] = choose(missing, None, rendered)
    return text


def write_table(text: pd.DataFrame, domain: str, folder: Path) -> Path:
    """Write a text table as the domain's file in ``folder``.

    Parameters
    ----------
    text : pandas.DataFrame
        Text cells, from :func:`to_text` (possibly edited).
    domain : str
        Domain name.
    folder : pathlib.Path
        Output folder.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = folder / file_name(domain)
    if domain in EXCEL_DOMAINS:
        _write_excel(text, domain, path)
    else:
        text.to_csv(path, index=False, na_rep="", lineterminator="\n")
    return path


def _write_excel(text: pd.DataFrame, domain: str, path: Path) -> None:
    """Write an Excel sheet: numbers as numeric cells, everything else as text."""
    kinds = get_domain(domain).column_kinds
    cells = text.copy()
    for column in cells.columns:
        if kinds.get(column) in ("integer", "float"):
            numbers = pd.to_numeric(cells[column], errors="coerce")
            parsed = numbers.notna() | cells[column].isna()
            cells[column] = cells[column].where(~parsed, numbers).astype(object)
    cells = cells.astype(object).where(cells.notna(), other=np.nan)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        cells.to_excel(writer, sheet_name=domain[:31], index=False)
        _style_header(writer.sheets[domain[:31]])


def _style_header(sheet: Any) -> None:
    """Give the header row the style pandas 2 gave it (pandas 3 writes it plain).

    The same workbook, to the byte, on either version of pandas.
    """
    from openpyxl.styles import Alignment, Border, Font, Side

    thin = Side(style="thin")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        cell.alignment = Alignment(horizontal="center", vertical="top")


def write_tables(texts: Mapping[str, pd.DataFrame], folder: Path) -> list[Path]:
    """Write every text table to ``folder``; return the files written."""
    return [write_table(text, domain, folder) for domain, text in texts.items()]
