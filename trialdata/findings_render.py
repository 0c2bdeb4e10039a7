"""Render a findings frame as console text, JSON, CSV or a self-contained HTML page."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from trialdata.findings import FINDING_COLUMNS
from trialdata.io.defuse import defuse_formulas

__all__ = ["FORMATS", "render_findings"]

#: Output formats of :func:`render_findings`.
FORMATS = ("text", "json", "csv", "html")


def _records(findings: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for raw in findings[list(FINDING_COLUMNS)].to_dict(orient="records"):
        record = {str(k): None if _missing(v) else v for k, v in raw.items()}
        if record["row"] is not None:
            record["row"] = int(record["row"])
        records.append(record)
    return records


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _summary(findings: pd.DataFrame) -> dict[str, Any]:
    by_rule = (
        findings.groupby(["rule", "severity"]).size().rename("n").reset_index()
        if len(findings)
        else pd.DataFrame(columns=["rule", "severity", "n"])
    )
    return {
        "errors": int((findings["severity"] == "error").sum()),
        "warnings": int((findings["severity"] == "warning").sum()),
        "by_rule": [
            {"rule": r, "severity": s, "n": int(n)}
            for r, s, n in by_rule.itertuples(index=False)
        ],
    }


def render_findings(
    findings: pd.DataFrame, output_format: str, context: Mapping[str, Any]
) -> str:
    """Render findings in one of :data:`FORMATS`.

    Parameters
    ----------
    findings : pandas.DataFrame
        Findings frame.
    output_format : {"text", "json", "csv", "html"}
        Output format.
    context : Mapping
        Facts printed with the findings: ``folder``, ``trial_id``, ``protocol_version``,
        ``files`` (list of (name, domain, rows, sha256)), ``package_version``,
        ``created_utc``.

    Returns
    -------
    str
        The rendered report.
    """
    if output_format == "json":
        payload = dict(context) | {
            "summary": _summary(findings),
            "findings": _records(findings),
        }
        return json.dumps(payload, indent=2, default=str) + "\n"
    if output_format == "csv":
        text: str = defuse_formulas(findings[list(FINDING_COLUMNS)]).to_csv(index=False)
        return text
    if output_format == "html":
        return _html(findings, context)
    return _text(findings, context)


def _text(findings: pd.DataFrame, context: Mapping[str, Any]) -> str:
    summary = _summary(findings)
    lines = [
        f"trialdata validate {context.get('folder')}",
        f"trial {context.get('trial_id')} "
        f"(protocol {context.get('protocol_version')}), "
        f"{len(context.get('files', []))} data file(s)",
        f"{summary['errors']} error(s), {summary['warnings']} warning(s)",
    ]
    if len(findings):
        lines.append("")
        for file, group in findings.groupby("file", sort=True):
            lines.append(f"{file}:")
            for item in _records(group):
                where = "file" if item["row"] is None else f"row {item['row']}"
                column = "" if item["column"] is None else f" [{item['column']}]"
                subject = (
                    ""
                    if item["subject_id"] is None
                    else f" subject {item['subject_id']}"
                )
                lines.append(
                    f"  {where}{column}{subject}: "
                    f"{item['severity']} {item['rule']}: {item['message']}"
                )
    return "\n".join(lines) + "\n"


def _html(findings: pd.DataFrame, context: Mapping[str, Any]) -> str:
    summary = _summary(findings)
    header = "".join(f"<th>{html.escape(c)}</th>" for c in FINDING_COLUMNS)
    body = []
    for record in _records(findings):
        css = "error" if record["severity"] == "error" else "warning"
        cells = "".join(
            f"<td>{html.escape('' if record[c] is None else str(record[c]))}</td>"
            for c in FINDING_COLUMNS
        )
        body.append(f'<tr class="{css}">{cells}</tr>')
    title = html.escape(f"Validation report: {context.get('trial_id')}")
    facts = html.escape(
        "; ".join(
            f"{label} {context.get(key)!s}"
            for label, key in (
                ("folder", "folder"),
                ("protocol", "protocol_version"),
                ("trialdata", "package_version"),
                ("generated", "created_utc"),
            )
        )
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em}"
        "table{border-collapse:collapse;font-size:0.9em}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;"
        "vertical-align:top}"
        "tr.error td{background:#fdecea}tr.warning td{background:#fff8e1}"
        "</style></head><body>"
        f"<h1>{title}</h1><p>{facts}</p>"
        f"<p><strong>{summary['errors']}</strong> error(s), "
        f"<strong>{summary['warnings']}</strong> warning(s)</p>"
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        "</body></html>\n"
    )
