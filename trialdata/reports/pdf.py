"""PDF through WeasyPrint, from the self-contained HTML of :mod:`.html`.

The HTML is rendered in its print layout: long tables and listings become
fixed-width text pages with the column headers repeated on every page.

The URL fetcher refuses everything except ``data:`` URIs, so rendering never touches
the network or the file system even if the HTML named an outside resource.
"""

from __future__ import annotations

import ctypes.util
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from trialdata.errors import MissingExtraError
from trialdata.extras import require_extra
from trialdata.reports.html import render_html
from trialdata.reports.model import Report
from trialdata.reports.page import DEFAULT_PAGE, Page

__all__ = ["render_pdf"]

#: What to install when WeasyPrint cannot load Pango (the Debian package names).
PANGO_HINT = (
    "WeasyPrint needs Pango from the system, e.g. "
    "apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core"
)


@contextmanager
def _loader_cache_lookup() -> Iterator[None]:
    """Let ``ctypes.util.find_library`` answer from the loader cache only.

    WeasyPrint opens Pango, HarfBuzz and fontconfig under several names each, and
    cffi asks ``find_library`` about every name that is not a file; on Linux each
    miss runs ``ldconfig``, ``gcc`` and ``ld``, about 2 s of subprocesses in all.
    The loader cache (``ldconfig -p``) is where the libraries are on a Linux
    system, so during WeasyPrint's import a name is looked up there alone. Where
    the standard library has no such lookup, nothing changes.
    """
    lookup = getattr(ctypes.util, "_findSoname_ldconfig", None)  # Linux only
    original = ctypes.util.find_library
    if lookup is None or original.__module__ != "ctypes.util":
        yield
        return
    ctypes.util.find_library = lookup
    try:
        yield
    finally:
        ctypes.util.find_library = original


def _weasyprint() -> ModuleType:
    """Import WeasyPrint, or raise an error naming the extra (or Pango) to install."""
    try:
        with _loader_cache_lookup():
            return require_extra("weasyprint", "pdf", "PDF output", PANGO_HINT)
    except MissingExtraError:
        # not found from the loader cache alone: the standard lookup decides
        return require_extra("weasyprint", "pdf", "PDF output", PANGO_HINT)


def _data_only() -> Any:
    """Return a WeasyPrint URL fetcher that serves ``data:`` URIs only."""
    _weasyprint()
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
    weasyprint = _weasyprint()
    document = weasyprint.HTML(
        string=render_html(report, print_layout=True, page=page),
        url_fetcher=_data_only(),
    )
    pdf = document.write_pdf()
    assert pdf is not None  # write_pdf without a target returns the bytes
    return bytes(pdf)
