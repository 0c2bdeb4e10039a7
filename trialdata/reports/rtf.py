r"""RTF through rtflite: landscape pages, running header with "Page X of Y", footer.

rtflite writes the document frame (fonts, page set-up, page header and footer) and
every summary table, paginated by ``RTFPage.nrow`` with the title and column headers
repeated on each page. rtflite spends about 20 ms per table row (pydantic models and
font metrics per cell), so long tables and listings (more than
:data:`RTFLITE_MAX_CELLS` cells) are written here in the same style as plain RTF rows
whose header row carries ``\trhdr``, which Word and LibreOffice repeat at the top of
every page the table runs onto. Figures are embedded as PNG pictures.

rtflite does not escape text, so every string is escaped here first (backslash,
braces, and every non-ASCII character as ``\uN?``): text from the data cannot inject
RTF control words.
"""

from __future__ import annotations

import polars as pl

from trialdata.reports._shared import (
    body_rows,
    cell_half_points,
    png_size,
    provenance_frame,
)
from trialdata.reports.model import Figure, Paragraph, Report, Table
from trialdata.reports.page import DEFAULT_PAGE, Page, page_named

__all__ = ["RTFLITE_MAX_CELLS", "escape_rtf", "render_rtf"]

#: Tables with more cells than this are encoded here rather than by rtflite.
RTFLITE_MAX_CELLS = 400
#: rtflite's tables are the page width less 2.5 inches (1-inch margins and room).
_RTFLITE_ROOM_INCHES = 2.5
#: Rows per page for rtflite's pagination of summary tables.
ROWS_PER_PAGE = 26


def escape_rtf(text: str) -> str:
    r"""Escape text for RTF: control characters, braces and non-ASCII characters.

    Parameters
    ----------
    text : str
        Plain text.

    Returns
    -------
    str
        RTF-safe ASCII text; line breaks become ``\line``.
    """
    out: list[str] = []
    for char in str(text):
        code = ord(char)
        if char in "\\{}":
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\line ")
        elif 32 <= code < 127:
            out.append(char)
        elif code < 32:
            out.append(" ")
        elif code <= 0xFFFF:
            out.append(f"\\u{code - 65536 if code > 32767 else code}?")
        else:
            code -= 0x10000
            high, low = 0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)
            out.append(f"\\u{high - 65536}?\\u{low - 65536}?")
    return "".join(out)


def _split(encoded: str) -> tuple[str, str]:
    """Split an rtflite document into its preamble (to the margins line) and body."""
    marker = encoded.index("\\margl")
    end = encoded.index("\n", marker) + 1
    body = encoded[end:].rstrip()
    if body.endswith("}"):
        body = body[:-1]
    return encoded[:end], body


def table_width(page: Page) -> int:
    """Return the width of a table in twips on a page, as rtflite lays it out.

    Parameters
    ----------
    page : Page
        The page.

    Returns
    -------
    int
        Page width less 2.5 inches, in twips.
    """
    return round((page.width_mm / 25.4 - _RTFLITE_ROOM_INCHES) * 1440)


def _capacity(table: Table, page: Page) -> int:
    """Characters per line of a table's cells (the page's table width)."""
    points = cell_half_points(table) / 2
    room = table_width(page) / 20 - 9.0 * len(table.frame.columns)
    return max(len(table.frame.columns) * 3, int(room / (0.62 * points)))


def _widths(table: Table, page: Page) -> list[int]:
    weights = table.column_weights(_capacity(table, page))
    width = table_width(page)
    edges = []
    total = 0.0
    for w in weights:
        total += w
        edges.append(round(total * width))
    edges[-1] = width
    return edges


def _rtflite_table(
    number: str, table: Table, header: str, footer: str, page: Page
) -> str:
    import rtflite as rtf

    columns = [escape_rtf(c) for c in table.frame.columns]
    data = pl.DataFrame(
        {
            f"c{i}": [escape_rtf(v) for v in table.frame.iloc[:, i]]
            for i in range(table.frame.shape[1])
        }
    )
    weights = [
        max(1, round(100 * w)) for w in table.column_weights(_capacity(table, page))
    ]
    footnotes = [escape_rtf(n) for n in table.footnotes]
    n_cols = len(columns)
    document = rtf.RTFDocument(
        df=data,
        rtf_page=rtf.RTFPage(
            orientation="landscape",
            width=page.width_mm / 25.4,
            height=page.height_mm / 25.4,
            nrow=ROWS_PER_PAGE,
        ),
        rtf_page_header=rtf.RTFPageHeader(text=header, text_font_size=[8]),
        rtf_page_footer=rtf.RTFPageFooter(text=footer, text_font_size=[8]),
        rtf_title=rtf.RTFTitle(
            text=[escape_rtf(f"{number}. {table.title}")], text_convert=[False]
        ),
        rtf_column_header=rtf.RTFColumnHeader(
            text=columns,
            col_rel_width=weights,
            text_font_size=[8] * n_cols,
            text_convert=[False] * n_cols,
        ),
        rtf_body=rtf.RTFBody(
            col_rel_width=weights,
            text_font_size=[[8] * n_cols],
            text_justification=[["l"] * n_cols],
            text_convert=[[False] * n_cols],
        ),
        rtf_footnote=rtf.RTFFootnote(
            text=footnotes, text_font_size=[7], text_convert=[False]
        )
        if footnotes
        else None,
    )
    return document.rtf_encode()


def _cell_defs(edges: list[int], *, top: str, bottom: str) -> str:
    return "".join(
        f"\\clbrdrl\\brdrs\\brdrw15\\clbrdrt\\brdr{top}\\brdrw15"
        f"\\clbrdrr\\brdrs\\brdrw15\\clbrdrb\\brdr{bottom}\\brdrw15\\cellx{edge}"
        for edge in edges
    )


def _row(cells: list[str], edges: list[int], *, header: bool, size: int) -> str:
    top, bottom = ("db", "s") if header else ("s", "s")
    flags = "\\trhdr" if header else ""
    bold = "\\b" if header else ""
    content = "".join(
        f"\\pard\\intbl\\sb15\\sa15\\ql\\fs{size}{bold} {escape_rtf(c)}\\cell"
        for c in cells
    )
    return (
        f"\\trowd\\trgaph108\\trleft0\\trqc{flags}"
        f"{_cell_defs(edges, top=top, bottom=bottom)}\n{content}\\row\n"
    )


def _plain_table(number: str, table: Table, page: Page) -> str:
    edges = _widths(table, page)
    size = cell_half_points(table)
    parts = [
        f"{{\\pard\\keepn\\outlinelevel1\\sb180\\sa120\\qc\\fs20\\b "
        f"{escape_rtf(f'{number}. {table.title}')}\\par}}\n",
        _row(list(table.frame.columns), edges, header=True, size=size),
    ]
    parts.extend(
        _row(cells, edges, header=False, size=size) for cells in body_rows(table)
    )
    parts.append("\\pard\n")
    parts.extend(f"{{\\pard\\fs14 {escape_rtf(n)}\\par}}\n" for n in table.footnotes)
    return "".join(parts)


def _figure(number: str, figure: Figure, page: Page) -> str:
    width, height = png_size(figure.png)
    goal_w = table_width(page)
    goal_h = round(goal_w * height / width)
    if goal_h > 7200:
        goal_w, goal_h = round(goal_w * 7200 / goal_h), 7200
    return (
        f"{{\\pard\\keepn\\outlinelevel1\\sb180\\sa120\\qc\\fs20\\b "
        f"{escape_rtf(f'{number}. {figure.title}')}\\par}}\n"
        f"{{\\pard\\qc{{\\pict\\pngblip\\picw{width}\\pich{height}"
        f"\\picwgoal{goal_w}\\pichgoal{goal_h}\n{figure.png.hex()}}}\\par}}\n"
        f"{{\\pard\\fs16 {escape_rtf(figure.caption)}\\par}}\n"
    )


def _outlined(body: str, title: str) -> str:
    r"""Give the first paragraph holding a table's title outline level 1.

    rtflite repeats the title on every page of a table; only the first one is an
    entry of the table of contents and the navigation pane.
    """
    at = body.find(f"{{\\f0 {title}}}")
    start = body.rfind("{\\pard", 0, at) if at >= 0 else -1
    if start < 0:
        return body
    cut = start + len("{\\pard")
    return body[:cut] + "\\outlinelevel1" + body[cut:]


def _contents(report: Report) -> str:
    """Return the table of contents: a TOC field whose result lists every entry.

    Word and LibreOffice show the listed entries and add page numbers when the field
    is updated; the section headings (outline level 0) and the table and figure
    titles (level 1) are what it collects, and also the document's navigation pane.
    """
    lines = []
    for section, blocks in report.numbered():
        lines.append(f"{{\\pard\\fs20 {escape_rtf(section.title)}\\par}}")
        lines.extend(
            f"{{\\pard\\li360\\fs18 {escape_rtf(f'{number}. {block.title}')}\\par}}"
            for number, block in blocks
            if isinstance(block, Table | Figure)
        )
    return (
        "\\page\n{\\pard\\keepn\\sb120\\sa180\\fs26\\b Contents\\par}\n"
        '{\\field{\\*\\fldinst TOC \\\\o "1-2" \\\\h \\\\z}{\\fldrslt '
        + "\n".join(lines)
        + "}}\n"
    )


def render_rtf(report: Report, *, page: Page | str = DEFAULT_PAGE) -> str:
    """Render a report as one RTF document.

    Parameters
    ----------
    report : Report
        The report.
    page : Page or str, default "A4"
        Page size (landscape), the same as the PDF and DOCX of the report.

    Returns
    -------
    str
        The RTF text (ASCII): title page, table of contents (a TOC field), then
        the sections, whose headings and table titles carry outline levels.
    """
    chosen = page if isinstance(page, Page) else page_named(page)
    p = report.provenance
    header = (
        f"{escape_rtf(p.trial_id)} - {escape_rtf(report.confidentiality)}\\tab\\tab "
        "Page \\chpgn of {\\field{\\*\\fldinst NUMPAGES }}"
    )
    footer = escape_rtf(
        f"Data cut-off {p.data_cutoff}; generated {p.generated_utc} UTC; "
        f"trialdata {p.package_version}"
    )
    title = Table(
        "Report provenance",
        provenance_frame(report),
        (),
    )
    preamble, first = _split(_rtflite_table("", title, header, footer, chosen))
    first = first.replace(
        "{\\f0 . Report provenance}",
        f"{{\\f0\\b {escape_rtf(report.title)}}}",
        1,
    )
    body = [first, _contents(report)]
    for section, blocks in report.numbered():
        body.append(
            f"\\page\n{{\\pard\\keepn\\outlinelevel0\\sb120\\sa180\\fs26\\b "
            f"{escape_rtf(section.title)}\\par}}\n"
        )
        for number, block in blocks:
            if isinstance(block, Table):
                if (
                    block.listing
                    or block.frame.size > RTFLITE_MAX_CELLS
                    or not len(block.frame)
                ):
                    body.append(_plain_table(number, block, chosen))
                else:
                    encoded = _rtflite_table(number, block, header, footer, chosen)
                    title_text = escape_rtf(f"{number}. {block.title}")
                    body.append(_outlined(_split(encoded)[1], title_text))
            elif isinstance(block, Figure):
                body.append(_figure(number, block, chosen))
            elif isinstance(block, Paragraph):
                body.append(
                    f"{{\\pard\\sb120\\sa120\\fs20 {escape_rtf(block.text)}\\par}}\n"
                )
    return preamble + "\n".join(body) + "\n}\n"
