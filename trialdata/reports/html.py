"""One self-contained HTML file: inline CSS, images as data URIs, nothing fetched.

Every piece of text from the data (terms, site names, footnotes, titles) is escaped
with :func:`html.escape`; the page also carries a Content-Security-Policy that allows
no script and no network request, so even an escaping mistake could not run code.
The print stylesheet gives landscape pages of the chosen size (A4 by default) with a
running header, "Page X of Y" (WeasyPrint margin boxes; browsers print their own), a
table of contents with page numbers, a PDF outline (bookmarks) of the sections and
their tables and figures, repeated table headers and page breaks before each section.
Table columns are sized for the page so that no word is split.
"""

from __future__ import annotations

import base64
import html
import re
import textwrap
from dataclasses import replace

from trialdata.reports._shared import NO_RECORDS
from trialdata.reports.model import Figure, Paragraph, Report, Table
from trialdata.reports.page import DEFAULT_PAGE, Page, page_named

__all__ = [
    "PRINT_CELL_LIMIT",
    "TEXT_TABLE_MIN_CELLS",
    "css_string",
    "render_html",
    "text_table_lines",
]

#: In print layout, tables with more cells than this are set as fixed-width text.
TEXT_TABLE_MIN_CELLS = 600
#: In print layout, a cell's text is cut after this many characters (with a note
#: saying how much was left out): WeasyPrint's line breaking takes time that grows
#: with the square of a cell's length (30 s for 40,000 characters).
PRINT_CELL_LIMIT = 2_000
#: Characters per line of a fixed-width table (A4 landscape at 7 pt).
TEXT_WIDTH = 178
#: Body lines per page of a fixed-width table.
TEXT_LINES_PER_PAGE = 46

_CSS = """
:root { --ink: #1a1a1a; --rule: #7f7f7f; --head: #e8eef5; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif;
  color: var(--ink); font-size: 10pt; line-height: 1.35; margin: 0 auto;
  max-width: 1250px; padding: 16px; }
h1 { font-size: 18pt; margin: 0 0 12px; }
h2 { font-size: 13pt; margin: 28px 0 8px; border-bottom: 2px solid var(--rule);
  padding-bottom: 3px; }
.title-page { margin-bottom: 24px; }
table { border-collapse: collapse; margin: 6px 0 4px; width: 100%;
  table-layout: fixed; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: 4px 0; }
th, td { border: 1px solid #b0b0b0; padding: 2px 6px; vertical-align: top;
  text-align: left; }
th { background: var(--head); font-weight: bold; }
td { white-space: pre-wrap; }
table.provenance { width: auto; table-layout: auto; }
/* columns are sized to hold their longest word: break only a word that cannot fit */
td, th { overflow-wrap: break-word; word-break: normal; hyphens: manual; }
table.provenance th { text-align: left; width: 14em; }
table.listing { font-size: 8.5pt; }
.footnotes { font-size: 8pt; color: #404040; margin: 2px 0 18px; }
.footnotes p { margin: 1px 0; }
figure { margin: 8px 0 18px; page-break-inside: avoid; break-inside: avoid; }
figure img { max-width: 100%; height: auto; }
figcaption { font-size: 8.5pt; }
figcaption b { font-size: 10pt; }
nav ol { columns: 2; font-size: 9pt; }
nav ol ol { columns: auto; font-size: 8.5pt; margin: 0 0 4px; }
nav li { break-inside: avoid; }
.confidential { font-size: 9pt; color: #7a0000; }
.text-table { break-before: page; page-break-before: always; }
/* a section already starts a page: its first table stays under its heading */
h2 + .text-table { break-before: auto; page-break-before: auto; }
.text-table p.caption { font-weight: bold; margin: 0 0 4px; }
.text-table pre { font-family: "DejaVu Sans Mono", monospace; font-size: 7pt;
  line-height: 1.2; margin: 0; }
@page { size: __SIZE__; margin: 16mm __MARGIN__mm 14mm __MARGIN__mm;
  font-family: "DejaVu Sans", Arial, Helvetica, sans-serif;
  @top-left { content: "__HEADER__"; font-size: 8pt; color: #555; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages);
    font-size: 8pt; color: #555; }
  @bottom-left { content: "__FOOTER__"; font-size: 8pt; color: #555; } }
/* PDF outline: sections, then their tables, listings and figures */
h1 { bookmark-level: none; }
h2 { bookmark-level: 1; }
caption, .text-table.first p.caption, figure figcaption.title {
  bookmark-level: 2; bookmark-label: content(text); }
@media print {
  body { max-width: none; padding: 0; font-size: 9pt; }
  nav { break-after: page; page-break-after: always; }
  /* one column, and not a multi-column box of one: WeasyPrint lays a multi-column
     box out again on every pass over the pages (half the PDF's time) */
  nav ol { columns: auto; }
  nav a { color: inherit; text-decoration: none; }
  nav a::after { content: leader(".") target-counter(attr(href), page); }
  section { break-before: page; page-break-before: always; }
  thead { display: table-header-group; }
  tr, img { break-inside: avoid; page-break-inside: avoid; }
  caption, h2 { break-after: avoid; page-break-after: avoid; }
}
"""

_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "script-src 'none'; base-uri 'none'; form-action 'none'"
)


def _css_text(text: str) -> str:
    """Escape text for a CSS string literal (also safe inside a ``<style>`` element)."""
    return re.sub(r"[^A-Za-z0-9 .,:;_\-()/]", lambda m: f"\\{ord(m.group()):06x}", text)


def css_string(report: Report, page: Page | str = DEFAULT_PAGE) -> str:
    """Return the report's stylesheet with its page, running header and footer.

    Parameters
    ----------
    report : Report
        The report.
    page : Page or str, default "A4"
        The printed page (see :mod:`trialdata.reports.page`).

    Returns
    -------
    str
        CSS.
    """
    p = report.provenance
    header = f"{p.trial_id} | {report.confidentiality}"
    footer = f"Data cut-off {p.data_cutoff} | generated {p.generated_utc} UTC"
    chosen = page if isinstance(page, Page) else page_named(page)
    return (
        _CSS.replace("__HEADER__", _css_text(header))
        .replace("__FOOTER__", _css_text(footer))
        .replace("__SIZE__", chosen.css_size)
        .replace("__MARGIN__", f"{chosen.margin_mm:g}")
    )


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


#: Font size of table cells in print (points): listings, summary tables.
_CELL_POINTS = {True: 8.5, False: 9.0}


def _table(number: str, table: Table, anchor: str, page: Page) -> str:
    cls = "listing" if table.listing else "summary"
    head = "".join(f'<th scope="col">{_e(c)}</th>' for c in table.frame.columns)
    rows = "\n".join(
        "<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>"
        for row in table.frame.itertuples(index=False, name=None)
    )
    if not len(table.frame):
        span = max(1, len(table.frame.columns))
        rows = f'<tr><td colspan="{span}">{NO_RECORDS}</td></tr>'
    notes = "".join(f"<p>{_e(n)}</p>" for n in table.footnotes)
    capacity = page.characters(_CELL_POINTS[table.listing], len(table.frame.columns))
    cols = "".join(
        f'<col style="width:{100 * w:.1f}%">' for w in table.column_weights(capacity)
    )
    return (
        f'<table class="{cls}" id="{anchor}"><caption>{_e(number)}. {_e(table.title)}'
        f"</caption><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead><tbody>\n{rows}\n</tbody></table>"
        f'<div class="footnotes">{notes}</div>'
    )


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(
        text, width, break_long_words=True, break_on_hyphens=False
    ) or [""]


def _layout(cells: list[str], widths: list[int]) -> list[str]:
    wrapped = [_wrap(c, w) for c, w in zip(cells, widths, strict=True)]
    height = max(len(w) for w in wrapped)
    return [
        " ".join(
            (col[i] if i < len(col) else "").ljust(w)
            for col, w in zip(wrapped, widths, strict=True)
        ).rstrip()
        for i in range(height)
    ]


def text_table_lines(
    table: Table, *, width: int = TEXT_WIDTH, lines_per_page: int = TEXT_LINES_PER_PAGE
) -> list[list[str]]:
    """Set a table as fixed-width text pages, the column headers on every page.

    Cell text is wrapped within its column (long words are split); a row is never
    split across pages.

    Parameters
    ----------
    table : Table
        The table.
    width : int
        Characters per line.
    lines_per_page : int
        Body lines per page (header lines excluded).

    Returns
    -------
    list of list of str
        Pages of text lines, each starting with the header lines and a rule.
    """
    columns = list(table.frame.columns)
    room = width - (len(columns) - 1)
    floors = table.column_widths(0)  # each column's longest word (capped)
    if sum(floors) > room:  # too many columns: only the headers' words stay whole
        floors = [
            min(12, max((len(w) for w in str(c).split()), default=1)) for c in columns
        ]
    wanted = [
        max(floor, int(table.frame[c].str.len().max()) if len(table.frame) else 0)
        for c, floor in zip(columns, floors, strict=True)
    ]
    cap = max(wanted)
    while (
        cap > 1
        and sum(max(f, min(w, cap)) for f, w in zip(floors, wanted, strict=True)) > room
    ):
        cap -= 1
    widths = [max(f, min(w, cap)) for f, w in zip(floors, wanted, strict=True)]
    header = [*_layout(columns, widths), "-" * min(width, sum(widths) + len(widths))]
    pages: list[list[str]] = []
    current: list[str] = []
    for row in table.frame.itertuples(index=False, name=None):
        lines = _layout([str(v) for v in row], widths)
        if current and len(current) + len(lines) > lines_per_page:
            pages.append([*header, *current])
            current = []
        current.extend(lines)
    pages.append([*header, *(current or [NO_RECORDS])])
    return pages


def text_width(page: Page) -> int:
    """Return the characters per line of a fixed-width table on a page.

    Parameters
    ----------
    page : Page
        The page.

    Returns
    -------
    int
        Characters of 7-point DejaVu Sans Mono (advance 0.602 em) between the
        margins, less a small safety margin.
    """
    return int(page.text_width_points / (0.602 * 7)) - 5


def _text_table(number: str, table: Table, anchor: str, page: Page) -> str:
    pages = text_table_lines(table, width=text_width(page))
    parts = []
    for i, lines in enumerate(pages, start=1):
        more = f" (page {i} of {len(pages)})" if len(pages) > 1 else ""
        first = " first" if i == 1 else ""
        parts.append(
            f'<div class="text-table{first}"{f" id={anchor!r}" if i == 1 else ""}>'
            f'<p class="caption">{_e(number)}. {_e(table.title)}{_e(more)}</p>'
            f"<pre>{_e(chr(10).join(lines))}</pre></div>"
        )
    notes = "".join(f"<p>{_e(n)}</p>" for n in table.footnotes)
    return "".join(parts) + f'<div class="footnotes">{notes}</div>'


def _figure(number: str, figure: Figure, anchor: str) -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    return (
        f'<figure id="{anchor}"><figcaption class="title"><b>{_e(number)}. '
        f'{_e(figure.title)}</b></figcaption><img alt="{_e(figure.title)}" '
        f'src="data:image/png;base64,{data}">'
        f"<figcaption>{_e(figure.caption)}</figcaption></figure>"
    )


def _clipped(value: object) -> object:
    """Return a cell's text cut to :data:`PRINT_CELL_LIMIT` characters, with a note."""
    if not isinstance(value, str) or len(value) <= PRINT_CELL_LIMIT:
        return value
    left_out = len(value) - PRINT_CELL_LIMIT
    return (
        f"{value[:PRINT_CELL_LIMIT]} [... {left_out:,} more characters: see the HTML, "
        "DOCX, RTF or XLSX report]"
    )


def _for_print(table: Table) -> Table:
    """Return the table with over-long cells cut for the print layout."""
    frame = table.frame
    text = frame.select_dtypes(include=["object", "string"])
    if text.empty or not text.map(
        lambda v: isinstance(v, str) and len(v) > PRINT_CELL_LIMIT
    ).any(axis=None):
        return table
    return replace(table, frame=frame.map(_clipped))


def render_html(
    report: Report, *, print_layout: bool = False, page: Page | str = DEFAULT_PAGE
) -> str:
    """Render a report as one self-contained HTML document.

    Parameters
    ----------
    report : Report
        The report.
    print_layout : bool, default False
        Set tables with more than :data:`TEXT_TABLE_MIN_CELLS` cells as fixed-width
        text pages with the column headers repeated on each page (classic listing
        layout), and cut cells longer than :data:`PRINT_CELL_LIMIT` characters. The
        PDF writer uses this: WeasyPrint lays out a table cell in about 2 ms, a text
        line in about 0.1 ms.
    page : Page or str, default "A4"
        The printed page: its size, and the line length table columns are sized
        for so that no word is split.

    Returns
    -------
    str
        The HTML text. Its table of contents lists every section with its tables,
        listings and figures; printed, each entry carries its page number.
    """
    chosen = page if isinstance(page, Page) else page_named(page)
    p = report.provenance
    provenance = "".join(
        f'<tr><th scope="row">{_e(k)}</th><td>{_e(v)}</td></tr>' for k, v in p.rows()
    )
    toc: list[str] = []
    body: list[str] = []
    for index, (section, blocks) in enumerate(report.numbered(), start=1):
        sid = f"s{index}"
        entries: list[str] = []
        parts = [f'<section id="{sid}"><h2>{_e(section.title)}</h2>']
        for j, (number, block) in enumerate(blocks, start=1):
            anchor = f"{sid}-{j}"
            if isinstance(block, Table):
                if print_layout:
                    block = _for_print(block)
                if print_layout and block.frame.size > TEXT_TABLE_MIN_CELLS:
                    parts.append(_text_table(number, block, anchor, chosen))
                else:
                    parts.append(_table(number, block, anchor, chosen))
            elif isinstance(block, Figure):
                parts.append(_figure(number, block, anchor))
            elif isinstance(block, Paragraph):
                parts.append(f"<p>{_e(block.text)}</p>")
            if isinstance(block, Table | Figure):
                entries.append(
                    f'<li><a href="#{anchor}">{_e(number)}. {_e(block.title)}</a></li>'
                )
        parts.append("</section>")
        body.append("\n".join(parts))
        nested = f"<ol>{''.join(entries)}</ol>" if entries else ""
        toc.append(f'<li><a href="#{sid}">{_e(section.title)}</a>{nested}</li>')
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(report.title)}</title>"
        f"<style>{css_string(report, chosen)}</style></head><body>"
        f'<div class="title-page"><p class="confidential">{_e(report.confidentiality)}'
        f"</p><h1>{_e(report.title)}</h1>"
        f'<table class="provenance"><tbody>{provenance}</tbody></table></div>'
        f"<nav><h2>Contents</h2><ol>{''.join(toc)}</ol></nav>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
