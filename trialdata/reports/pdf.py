"""PDF through WeasyPrint, from the self-contained HTML of :mod:`.html`.

The HTML is rendered in its print layout: long tables and listings become
fixed-width text pages with the column headers repeated on every page.

The URL fetcher refuses everything except ``data:`` URIs, so rendering never touches
the network or the file system even if the HTML named an outside resource.
"""

from __future__ import annotations

from typing import Any

from trialdata.reports.html import render_html
from trialdata.reports.model import Report
from trialdata.reports.page import DEFAULT_PAGE, Page

__all__ = ["render_pdf"]


def _data_only() -> Any:
    """Return a WeasyPrint URL fetcher that serves ``data:`` URIs only."""
    try:
        from weasyprint.urls import URLFetcher  # recent WeasyPrint: a class
    except ImportError:  # older WeasyPrint: a fetcher is a function
        from weasyprint import default_url_fetcher

        def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
            if not url.startswith("data:"):
                raise ValueError(
                    f"report rendering fetches nothing; refused {url[:60]}"
                )
            return default_url_fetcher(url, *args, **kwargs)

        return fetch
    return URLFetcher(allowed_protocols={"data"})


def render_pdf(report: Report, *, page: Page | str = DEFAULT_PAGE) -> bytes:
    """Render a report as PDF.

    Parameters
    ----------
    report : Report
        The report.
    page : Page or str, default "A4"
        Page size (landscape).

    Returns
    -------
    bytes
        The PDF file content: running header, "Page X of Y", a table of contents
        with page numbers and an outline (bookmarks) of sections, tables and
        figures.
    """
    from weasyprint import HTML

    document = HTML(
        string=render_html(report, print_layout=True, page=page),
        url_fetcher=_data_only(),
    )
    pdf = document.write_pdf()
    assert pdf is not None  # write_pdf without a target returns the bytes
    return bytes(pdf)
