"""Every table, listing and figure of a report as an Excel workbook.

Numbers are numbers: a column whose every non-empty cell is a plain decimal number
(``12``, ``-0.35``; no leading zero, so identifiers such as ``007`` stay text) is
written as numeric cells with a number format showing the same decimals as the
report, so a reviewer can sort and sum it. Every other cell is text exactly as the
report shows it. Each figure gets its own sheet with its image, title and caption.

Text cells, column headers and titles that a spreadsheet would run as a formula
(leading ``=``, ``+``, ``-``, ``@``, tab, carriage return) get a leading apostrophe
through :func:`trialdata.io.defuse.defuse_formulas`; control characters an XLSX file
cannot hold are replaced by a space, as in the DOCX writer. Numeric cells are
numbers, never text a spreadsheet could evaluate.
"""

from __future__ import annotations

import io
import re

import pandas as pd

from trialdata.io.defuse import defuse_formulas
from trialdata.reports._shared import png_size, provenance_frame, xml_safe
from trialdata.reports.model import Figure, Report, Table

__all__ = ["render_xlsx"]


def _defuse_text(values: list[str]) -> list[str]:
    frame = defuse_formulas(pd.DataFrame({"text": values}, dtype=object))
    return [xml_safe(v) for v in frame["text"]]


#: A plain decimal number as the report prints it: no sign but minus, no leading
#: zero before other digits, no thousands separator, no exponent.
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")


def numeric_columns(table: Table) -> dict[str, int]:
    """Return the columns written as numbers, with their decimal places.

    Parameters
    ----------
    table : Table
        The table.

    Returns
    -------
    dict of str to int
        Column name to the most decimals any of its cells shows; a column is
        numeric when it has a non-empty cell and every non-empty cell is a plain
        decimal number.
    """
    out: dict[str, int] = {}
    for column in table.frame.columns:
        cells = table.frame[column]
        filled = cells[cells.str.strip() != ""]
        if not len(filled) or not filled.str.fullmatch(_NUMBER.pattern).all():
            continue
        decimals = filled.str.partition(".")[2].str.len()
        out[str(column)] = int(decimals.max())
    return out


def _sheet_frame(table: Table) -> tuple[pd.DataFrame, dict[str, int]]:
    numeric = numeric_columns(table)
    text = table.frame.drop(columns=list(numeric))
    body = table.frame.copy().astype(object)
    if len(text.columns):
        body[list(text.columns)] = defuse_formulas(text).map(
            lambda v: xml_safe(v) if isinstance(v, str) else v
        )
    for column, decimals in numeric.items():
        values = pd.to_numeric(table.frame[column].replace("", None))
        body[column] = [
            None if pd.isna(v) else (int(v) if decimals == 0 else float(v))
            for v in values
        ]
    body.columns = _defuse_text([str(c) for c in table.frame.columns])
    return body, numeric


def _number_format(decimals: int) -> str:
    return "0" if decimals == 0 else "0." + "0" * decimals


def _figure_sheet(writer: pd.ExcelWriter, number: str, figure: Figure) -> None:
    """Add a sheet with a figure's title, image and caption."""
    from openpyxl.drawing.image import Image
    from PIL import Image as PILImage

    sheet = writer.book.create_sheet(number)
    (title,) = _defuse_text([f"{number}. {figure.title}"])
    sheet.cell(row=1, column=1, value=title)
    image = Image(PILImage.open(io.BytesIO(figure.png)))
    width, height = png_size(figure.png)
    scale = min(1.0, 1100 / width)
    image.width, image.height = round(width * scale), round(height * scale)
    sheet.add_image(image, "A3")
    rows_down = 3 + round(image.height / 20) + 1
    (caption,) = _defuse_text([figure.caption])
    sheet.cell(row=rows_down, column=1, value=caption)


def render_xlsx(report: Report) -> bytes:
    """Write the report's tables and listings to an Excel workbook, one sheet each.

    Parameters
    ----------
    report : Report
        The report.

    Returns
    -------
    bytes
        The XLSX file content. The first sheet holds the provenance; each other sheet
        is named by the table's or figure's number (``Table 3``, ``Listing 6``,
        ``Figure 2``) and starts with the title, then the table (numbers as numeric
        cells, see :func:`numeric_columns`) and its footnotes, or the figure and its
        caption.
    """
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        info = provenance_frame(report)
        info["Value"] = _defuse_text([str(v) for v in info["Value"]])
        info.to_excel(writer, sheet_name="Provenance", index=False)
        for _, blocks in report.numbered():
            for number, block in blocks:
                if isinstance(block, Figure):
                    _figure_sheet(writer, number, block)
                    continue
                if not isinstance(block, Table):
                    continue
                frame, numeric = _sheet_frame(block)
                frame.to_excel(writer, sheet_name=number, index=False, startrow=2)
                sheet = writer.sheets[number]
                for position, column in enumerate(block.frame.columns, start=1):
                    if str(column) not in numeric:
                        continue
                    fmt = _number_format(numeric[str(column)])
                    for row in range(4, len(frame) + 4):
                        sheet.cell(row=row, column=position).number_format = fmt
                (title,) = _defuse_text([f"{number}. {block.title}"])
                sheet.cell(row=1, column=1, value=title)
                notes = _defuse_text(list(block.footnotes))
                for offset, note in enumerate(notes):
                    sheet.cell(row=len(frame) + 5 + offset, column=1, value=note)
    return buffer.getvalue()
