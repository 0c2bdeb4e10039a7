"""DOCX through python-docx: landscape pages, running header with "Page X of Y".

The page size is the report's (A4 by default, as the PDF and RTF). After the title
page comes a table of contents: a TOC field over the section headings (level 1) and
the table and figure titles (level 2), holding the entries until Word updates it
with page numbers (the document asks Word to update its fields when opened).

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
from docx.shared import Cm, Pt, RGBColor
from docx.text.paragraph import Paragraph as DocxParagraph

from trialdata.reports._shared import body_rows, cell_half_points, png_size, xml_safe
from trialdata.reports.model import Figure, Paragraph, Report, Table
from trialdata.reports.page import DEFAULT_PAGE, Page, page_named

__all__ = ["render_docx"]

#: Left and right margins (cm).
_MARGIN_CM = 1.5


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


def _caption(doc: DocxDocument, text: str) -> None:
    """Add a table or figure title as a level-2 heading set like body text."""
    title = doc.add_heading(level=2)
    title.paragraph_format.keep_with_next = True
    run = title.add_run(xml_safe(text))
    run.bold = True
    run.font.size = Pt(10)
    run.font.color.rgb = RGBColor(0, 0, 0)


def _table(doc: DocxDocument, number: str, table: Table, page: Page) -> None:
    _caption(doc, f"{number}. {table.title}")
    columns = list(table.frame.columns)
    width_twips = page.twips(page.width_mm - 20 * _MARGIN_CM)
    points = cell_half_points(table) / 2
    room = width_twips / 20 - 9.0 * len(columns)
    capacity = max(3 * len(columns), int(room / (0.62 * points)))
    widths = [max(300, round(w * width_twips)) for w in table.column_weights(capacity)]
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


def _figure(doc: DocxDocument, number: str, figure: Figure, page: Page) -> None:
    _caption(doc, f"{number}. {figure.title}")
    width, height = png_size(figure.png)
    max_w, max_h = page.width_mm / 10 - 2 * _MARGIN_CM - 1.7, 14.5
    scale = min(max_w / width, max_h / height)
    doc.add_picture(
        io.BytesIO(figure.png), width=Cm(width * scale), height=Cm(height * scale)
    )
    caption = doc.add_paragraph()
    caption.add_run(xml_safe(figure.caption)).font.size = Pt(8)


def _contents(doc: DocxDocument, report: Report) -> None:
    """Add the table of contents: a TOC field whose result lists every entry."""
    doc.add_page_break()
    heading = doc.add_paragraph()
    heading.add_run("Contents").bold = True
    entries = []
    for section, blocks in report.numbered():
        entries.append((section.title, 0))
        entries.extend(
            (f"{number}. {block.title}", 1)
            for number, block in blocks
            if isinstance(block, Table | Figure)
        )
    paragraphs = []
    for text, level in entries:
        para = doc.add_paragraph()
        para.paragraph_format.space_after = Pt(0)
        para.paragraph_format.left_indent = Cm(0.8 * level)
        para._p.append(_run(text, size=18 if level == 0 else 16))
        paragraphs.append(para)
    first, last = paragraphs[0]._p, paragraphs[-1]._p
    begin = []
    parts: tuple[tuple[str | None, str | None], ...] = (
        ("begin", None),
        (None, 'TOC \\o "1-2" \\h \\z'),
        ("separate", None),
    )
    for kind, instruction in parts:
        run = OxmlElement("w:r")
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            if kind == "begin":
                char.set(qn("w:dirty"), "true")
            run.append(char)
        else:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = instruction
            run.append(instr)
        begin.append(run)
    anchor = first.find(qn("w:pPr"))
    position = 0 if anchor is None else list(first).index(anchor) + 1
    for offset, run in enumerate(begin):
        first.insert(position + offset, run)
    end = OxmlElement("w:r")
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), "end")
    end.append(char)
    last.append(end)
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    doc.settings.element.append(update)


def render_docx(report: Report, *, page: Page | str = DEFAULT_PAGE) -> bytes:
    """Render a report as a Word document.

    Parameters
    ----------
    report : Report
        The report.
    page : Page or str, default "A4"
        Page size (landscape), the same as the PDF and RTF of the report.

    Returns
    -------
    bytes
        The DOCX file content.
    """
    chosen = page if isinstance(page, Page) else page_named(page)
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width = Cm(chosen.width_mm / 10)
    section.page_height = Cm(chosen.height_mm / 10)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(_MARGIN_CM))
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
    _contents(doc, report)
    for sec, blocks in report.numbered():
        doc.add_page_break()
        doc.add_heading(xml_safe(sec.title), level=1)
        for number, block in blocks:
            if isinstance(block, Table):
                _table(doc, number, block, chosen)
            elif isinstance(block, Figure):
                _figure(doc, number, block, chosen)
            elif isinstance(block, Paragraph):
                doc.add_paragraph(xml_safe(block.text))
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
