"""Every table and listing of a report as an Excel workbook, defused against formulas.

Cells, column headers and titles that a spreadsheet would run as a formula (leading
``=``, ``+``, ``-``, ``@``, tab, carriage return) get a leading apostrophe through
:func:`trialdata.io.defuse.defuse_formulas`; control characters an XLSX file cannot
hold are replaced by a space, as in the DOCX writer.
"""

from __future__ import annotations

import io

import pandas as pd

from trialdata.io.defuse import defuse_formulas
from trialdata.reports._shared import provenance_frame, xml_safe
from trialdata.reports.model import Report, Table

__all__ = ["render_xlsx"]


def _defuse_text(values: list[str]) -> list[str]:
    frame = defuse_formulas(pd.DataFrame({"text": values}, dtype=object))
    return [xml_safe(v) for v in frame["text"]]


def _sheet_frame(number: str, table: Table) -> pd.DataFrame:
    body = defuse_formulas(table.frame).map(
        lambda v: xml_safe(v) if isinstance(v, str) else v
    )
    body.columns = _defuse_text([str(c) for c in table.frame.columns])
    return body


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
        is named by the table's number (``Table 3``, ``Listing 6``) and starts with
        the title, then the table, then the footnotes.
    """
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        info = provenance_frame(report)
        info["Value"] = _defuse_text([str(v) for v in info["Value"]])
        info.to_excel(writer, sheet_name="Provenance", index=False)
        for _, blocks in report.numbered():
            for number, block in blocks:
                if not isinstance(block, Table):
                    continue
                frame = _sheet_frame(number, block)
                frame.to_excel(writer, sheet_name=number, index=False, startrow=2)
                sheet = writer.sheets[number]
                (title,) = _defuse_text([f"{number}. {block.title}"])
                sheet.cell(row=1, column=1, value=title)
                notes = _defuse_text(list(block.footnotes))
                for offset, note in enumerate(notes):
                    sheet.cell(row=len(frame) + 5 + offset, column=1, value=note)
    return buffer.getvalue()
