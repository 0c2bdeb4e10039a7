"""The report's machine-readable twin: every table it shows and the numbers behind it.

``render_json(report)`` writes the provenance, the derivation rules, each section's
paragraphs and tables (as displayed, cell by cell) and, under ``results``, the
unrounded long frame (``to_frame()``) of every analysis result a table was built from.
Agreement tests and pipelines read this file; nobody needs to scrape the HTML.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from trialdata.reports.model import Figure, Paragraph, Report, Table

__all__ = ["render_json", "report_data"]


def _plain(value: Any) -> Any:
    """Return a JSON-ready value: missing as None, numbers as numbers."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return _plain(value.item())
    return str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): _plain(v) for k, v in rec.items()}
        for rec in frame.to_dict(orient="records")
    ]


def _result(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    provenance = getattr(value, "provenance", None)
    if provenance is not None:
        out["provenance"] = _plain(provenance.to_dict())
    if hasattr(value, "to_dict"):
        out["data"] = _plain(value.to_dict())
    if hasattr(value, "to_frame"):
        out["frame"] = _records(value.to_frame())
    if hasattr(value, "median"):
        out["median"] = _records(value.median())
    return out


def report_data(report: Report) -> dict[str, Any]:
    """Return the report as plain data.

    Parameters
    ----------
    report : Report
        The report.

    Returns
    -------
    dict
        ``title``, ``provenance``, ``rules``, ``sections`` (each with its blocks)
        and ``results``.
    """
    sections = []
    for section, blocks in report.numbered():
        items: list[dict[str, Any]] = []
        for number, block in blocks:
            if isinstance(block, Table):
                items.append(
                    {
                        "kind": "listing" if block.listing else "table",
                        "number": number,
                        "title": block.title,
                        "columns": [str(c) for c in block.frame.columns],
                        "rows": _records(block.frame.astype(object)),
                        "footnotes": list(block.footnotes),
                    }
                )
            elif isinstance(block, Figure):
                items.append({"kind": "figure", "number": number, "title": block.title})
            elif isinstance(block, Paragraph):
                items.append({"kind": "paragraph", "text": block.text})
        sections.append(
            {"title": section.title, "appendix": section.appendix, "blocks": items}
        )
    return {
        "title": report.title,
        "provenance": dict(report.provenance.rows()),
        "rules": _plain(dict(report.rules)),
        "sections": sections,
        "results": {key: _result(value) for key, value in report.results.items()},
    }


def render_json(report: Report) -> str:
    """Render the report's machine-readable twin.

    Parameters
    ----------
    report : Report
        The report.

    Returns
    -------
    str
        JSON text (UTF-8).
    """
    return json.dumps(report_data(report), indent=1, ensure_ascii=False) + "\n"
