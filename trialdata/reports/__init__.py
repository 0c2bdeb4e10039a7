"""Reports: a format-neutral document model, builders and one writer per format.

``build_safety_report(trial)`` assembles the DMC safety report; ``write_report(report,
path)`` writes it as HTML, PDF, RTF, DOCX or an Excel workbook of its tables, chosen by
the file extension.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trialdata.extras import require_extra
from trialdata.reports.model import (
    Figure,
    Paragraph,
    Report,
    ReportProvenance,
    Section,
    Table,
)
from trialdata.reports.page import DEFAULT_PAGE, PAGES, page_named

__all__ = [
    "FORMATS",
    "PAGES",
    "Figure",
    "Paragraph",
    "Report",
    "ReportProvenance",
    "Section",
    "Table",
    "build_safety_report",
    "render",
    "write_report",
]

if TYPE_CHECKING:  # pragma: no cover
    from trialdata.reports.build_safety import build_safety_report


def __getattr__(name: str) -> Any:
    # the builder pulls in every analysis package and matplotlib: load it on first use
    # so that importing the CLI stays fast
    if name == "build_safety_report":
        from trialdata.reports.build_safety import build_safety_report

        return build_safety_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: File extensions the writers produce.
FORMATS: tuple[str, ...] = ("html", "pdf", "rtf", "docx", "xlsx", "json")


def _renderer(fmt: str, page: str) -> Callable[[Report], str | bytes]:
    if fmt == "html":
        from trialdata.reports.html import render_html

        return lambda report: render_html(report, page=page)
    if fmt == "json":
        from trialdata.reports.json_twin import render_json

        return render_json
    if fmt == "pdf":
        from trialdata.reports.pdf import render_pdf

        return lambda report: render_pdf(report, page=page)
    if fmt == "rtf":
        require_extra("rtflite", "reports", "RTF output")
        from trialdata.reports.rtf import render_rtf

        return lambda report: render_rtf(report, page=page)
    if fmt == "docx":
        require_extra("docx", "reports", "DOCX output")
        from trialdata.reports.docx import render_docx

        return lambda report: render_docx(report, page=page)
    if fmt == "xlsx":
        from trialdata.reports.export import render_xlsx

        return render_xlsx
    raise ValueError(
        f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}"
    )


def render(report: Report, fmt: str, *, page_size: str = DEFAULT_PAGE) -> bytes:
    """Render a report in a format.

    Parameters
    ----------
    report : Report
        The report.
    fmt : {"html", "pdf", "rtf", "docx", "xlsx", "json"}
        The format.
    page_size : {"A4", "letter"}, default "A4"
        Page size of the paged formats (PDF, DOCX, RTF; the HTML's print layout).

    Returns
    -------
    bytes
        The file content (HTML and RTF encoded as UTF-8; RTF is pure ASCII).

    Raises
    ------
    ValueError
        For an unknown format or page size.
    """
    page_named(page_size)  # refuse an unknown size before any work
    out = _renderer(fmt, page_size)(report)
    return out.encode("utf-8") if isinstance(out, str) else out


def write_report(
    report: Report, path: str | Path, *, page_size: str = DEFAULT_PAGE
) -> Path:
    """Write a report to a file whose extension names the format.

    Parameters
    ----------
    report : Report
        The report.
    path : str or pathlib.Path
        Output file: ``.html``, ``.pdf``, ``.rtf``, ``.docx``, ``.xlsx`` or ``.json``.
    page_size : {"A4", "letter"}, default "A4"
        Page size of the paged formats.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        For an unknown extension.
    trialdata.io.files.OutputRefusedError
        When the path is a symbolic link or not a regular file: outputs are never
        written through links. An existing file is replaced in one step (a
        temporary file beside it is moved over it), so it is never left half
        written.
    """
    from trialdata.io.files import write_output

    target = Path(path)
    data = render(report, target.suffix.lower().lstrip("."), page_size=page_size)
    write_output(target, data)
    return target
