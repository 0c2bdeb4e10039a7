"""DOCX through python-docx: landscape A4, running header with "Page X of Y".

Table rows are appended as WordprocessingML elements built with lxml (python-docx's
per-cell API is quadratic in the row count); the header row is marked ``tblHeader`` so
Word repeats it on every page. Text is set as element text, which lxml escapes;
characters XML cannot hold (control characters) are replaced by a space.
"""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph as DocxParagraph

from trialdata.reports._shared import body_rows, cell_half_points, png_size, xml_safe
from trialdata.reports.model import Figure, Paragraph, Report, Table

__all__ = ["render_docx"]

#: Usable page width in twentieths of a point (A4 landscape, 1.5 cm margins).
_WIDTH_TWIPS = 15136


def _field(paragraph: DocxParagraph, code: str) -> None:
    for kind, text in (("begin", None), (None, code), ("end", None)):
        run = OxmlElement("w:r")
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run.append(char)
        else:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run.append(instr)
        paragraph._p.append(run)


def _run(text: str, *, size: int, bold: bool = False) -> BaseOxmlElement:
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    if bold:
        props.append(OxmlElement("w:b"))
    sz = OxmlElement("w:sz")
    sz.set(qn("w:val"), str(size))
    props.append(sz)
    run.append(props)
    t = OxmlElement("w:t")
    t.set(qn("xml:space"), "preserve")
    t.text = xml_safe(text)
    run.append(t)
    return run


def _cell(
    text: str, width: int, *, size: int, bold: bool, shade: bool
) -> BaseOxmlElement:
    tc = OxmlElement("w:tc")
    props = OxmlElement("w:tcPr")
    tcw = OxmlElement("w:tcW")
    tcw.set(qn("w:w"), str(width))
    tcw.set(qn("w:type"), "dxa")
    props.append(tcw)
    if shade:
        fill = OxmlElement("w:shd")
        fill.set(qn("w:val"), "clear")
        fill.set(qn("w:color"), "auto")
        fill.set(qn("w:fill"), "E8EEF5")
        props.append(fill)
    tc.append(props)
    p = OxmlElement("w:p")
    ppr = OxmlElement("w:pPr")
    spacing = OxmlElement("w:spacing")
    spacing.set(qn("w:before"), "0")
    spacing.set(qn("w:after"), "0")
    ppr.append(spacing)
    p.append(ppr)
    p.append(_run(text, size=size, bold=bold))
    tc.append(p)
    return tc


def _row(
    cells: list[str], widths: list[int], *, size: int, header: bool
) -> BaseOxmlElement:
    tr = OxmlElement("w:tr")
    props = OxmlElement("w:trPr")
    if header:
        props.append(OxmlElement("w:tblHeader"))
    props.append(OxmlElement("w:cantSplit"))
    tr.append(props)
    for text, width in zip(cells, widths, strict=True):
        tr.append(_cell(text, width, size=size, bold=header, shade=header))
    return tr


def _table(doc: DocxDocument, number: str, table: Table) -> None:
    title = doc.add_paragraph()
    title.paragraph_format.keep_with_next = True
    title.add_run(f"{number}. {xml_safe(table.title)}").bold = True
    columns = list(table.frame.columns)
    widths = [max(300, round(w * _WIDTH_TWIPS)) for w in table.column_weights()]
    size = cell_half_points(table)
    grid = doc.add_table(rows=0, cols=len(columns))
    grid.style = "Table Grid"
    tbl = grid._tbl
    tbl.append(_row(columns, widths, size=size, header=True))
    for cells in body_rows(table):
        tbl.append(_row(cells, widths, size=size, header=False))
    for note in table.footnotes:
        para = doc.add_paragraph()
        para.paragraph_format.space_after = Pt(0)
        para.add_run(xml_safe(note)).font.size = Pt(7)
    doc.add_paragraph()


def _figure(doc: DocxDocument, number: str, figure: Figure) -> None:
    title = doc.add_paragraph()
    title.paragraph_format.keep_with_next = True
    title.add_run(f"{number}. {xml_safe(figure.title)}").bold = True
    width, height = png_size(figure.png)
    max_w, max_h = 25.0, 14.5
    scale = min(max_w / width, max_h / height)
    doc.add_picture(
        io.BytesIO(figure.png), width=Cm(width * scale), height=Cm(height * scale)
    )
    caption = doc.add_paragraph()
    caption.add_run(xml_safe(figure.caption)).font.size = Pt(8)


def render_docx(report: Report) -> bytes:
    """Render a report as a Word document.

    Parameters
    ----------
    report : Report
        The report.

    Returns
    -------
    bytes
        The DOCX file content.
    """
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(1.5))
    section.top_margin = section.bottom_margin = Cm(1.8)
    style = doc.styles["Normal"]
    style.font.name = "Arial"
    style.font.size = Pt(9)
    p = report.provenance
    head = section.header.paragraphs[0]
    head.add_run(
        xml_safe(f"{p.trial_id} | {report.confidentiality}    Page ")
    ).font.size = Pt(8)
    _field(head, "PAGE")
    head.add_run(" of ").font.size = Pt(8)
    _field(head, "NUMPAGES")
    foot = section.footer.paragraphs[0]
    foot.add_run(
        xml_safe(
            f"Data cut-off {p.data_cutoff} | generated {p.generated_utc} UTC | "
            f"trialdata {p.package_version}"
        )
    ).font.size = Pt(8)
    doc.add_paragraph(xml_safe(report.confidentiality))
    doc.add_heading(xml_safe(report.title), level=0)
    info = doc.add_table(rows=0, cols=2)
    info.style = "Table Grid"
    for label, value in p.rows():
        cells = info.add_row().cells
        cells[0].text = xml_safe(label)
        cells[1].text = xml_safe(value)
    for sec, blocks in report.numbered():
        doc.add_page_break()
        doc.add_heading(xml_safe(sec.title), level=1)
        for number, block in blocks:
            if isinstance(block, Table):
                _table(doc, number, block)
            elif isinstance(block, Figure):
                _figure(doc, number, block)
            elif isinstance(block, Paragraph):
                doc.add_paragraph(xml_safe(block.text))
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
