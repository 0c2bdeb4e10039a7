"""The data dictionary as one self-contained HTML page.

A table of contents, how to read the page, the protocol (when there is one), the
file and upload rules, then a table per domain with a row per column and the domain's
cross-domain rules. No script, no external resource; every text from the schemas,
the protocol and the rules is escaped.
"""

from __future__ import annotations

from html import escape

from trialdata.site_kit.dictionary_tables import (
    Cell,
    Section,
    other_values,
    protocol_sections,
    rule_row,
)
from trialdata.site_kit.model import ColumnEntry, DataDictionary, DomainEntry, RuleRef

__all__ = ["render_html"]

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif;
       margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #1a1a1a;
       line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 2px solid #c8d3e0; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; width: 100%; }
table.fields { width: auto; min-width: 40%; }
th, td { border: 1px solid #c8d3e0; padding: 0.3em 0.5em; text-align: left;
         vertical-align: top; }
th { background: #eef3f8; position: sticky; top: 0; }
td.rules, td.rules li { font-size: 0.85em; }
ul.compact { margin: 0; padding-left: 1.1em; }
code { font-family: ui-monospace, Consolas, monospace; background: #f4f6f8;
       padding: 0 0.2em; }
.meta { color: #555; }
.required { font-weight: 600; }
nav ol { columns: 2; }
@media print { th { position: static; } nav ol { columns: 1; } }
"""


def _text(value: Cell) -> str:
    return "" if value is None else escape(str(value))


def _table(headers: tuple[str, ...], rows: list[list[str]], css: str = "") -> str:
    """Return a table; ``rows`` hold cells already escaped (HTML)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows
    )
    klass = f' class="{css}"' if css else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _list(items: list[str]) -> str:
    """Return an unordered list of items already escaped (HTML)."""
    if not items:
        return ""
    return '<ul class="compact">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _rules_table(rules: tuple[RuleRef, ...]) -> str:
    rows = [
        [
            f"<code>{escape(rule.id)}</code>",
            _text(cells["severity"]),
            _text(cells["origin"]),
            _text(cells["description"]),
        ]
        for rule in rules
        for cells in [rule_row(rule)]
    ]
    return _table(("Rule", "Severity", "Checked by", "What it checks"), rows)


def _section_table(section: Section) -> str:
    rows = [[_text(cell) for cell in row] for row in section.rows]
    css = "fields" if section.headers == ("field", "value") else ""
    return f"<h3>{escape(section.title)}</h3>" + _table(section.headers, rows, css)


def _required(column: ColumnEntry) -> str:
    parts = []
    if column.column_required:
        parts.append('<span class="required">column</span>')
    if column.value_required:
        parts.append('<span class="required">value</span>')
    return " and ".join(parts) if parts else "no"


def _allowed(column: ColumnEntry) -> str:
    if not column.allowed_values:
        return ""
    values = ", ".join(f"<code>{escape(v)}</code>" for v in column.allowed_values)
    source = escape(column.allowed_from or "")
    if column.terminology and column.allowed_from == "terminology":
        source = escape(column.terminology)
    outside = other_values(column)
    return f"{values}<br><small>{source}; another value: {escape(str(outside))}</small>"


def _format(column: ColumnEntry) -> str:
    if column.pattern_description is None:
        return ""
    return (
        f'<span title="{escape(str(column.pattern))}">'
        f"{escape(column.pattern_description)}</span>"
    )


def _column_row(column: ColumnEntry) -> list[str]:
    described = escape(column.description)
    if column.protocol_notes:
        notes = [escape(n) for n in column.protocol_notes]
        described += "<br><small>Protocol:</small>" + _list(notes)
    rules = _list(
        [
            f"<code>{escape(r.id)}</code> ({escape(r.severity)}): "
            f"{escape(r.description)}"
            for r in column.rules
        ]
    )
    return [
        f"<code>{escape(column.name)}</code><br>{escape(column.title)}",
        f"{escape(column.type)}<br><small>{escape(column.write_as)}</small>",
        _text(column.unit),
        _required(column),
        _allowed(column),
        _text(None if column.range is None else column.range.text()),
        _format(column),
        "yes" if column.key else "",
        described,
        rules,
    ]


_COLUMN_HEADERS = (
    "Column",
    "Type",
    "Unit",
    "Required",
    "Allowed values",
    "Range",
    "Format",
    "Key",
    "Description",
    "Rules",
)


def _anchor(domain: DomainEntry) -> str:
    return f"domain-{domain.name}"


def _domain(domain: DomainEntry) -> str:
    files = ", ".join(f"<code>{escape(f)}</code>" for f in domain.file_names)
    key = ", ".join(f"<code>{escape(k)}</code>" for k in domain.key)
    rows = [_column_row(c) for c in domain.columns]
    parts = [
        f'<section id="{escape(_anchor(domain))}">',
        f"<h2>{escape(domain.label)} (<code>{escape(domain.name)}</code>)</h2>",
        f"<p>{escape(domain.description)}</p>",
        f"<p>File: one of {files}. Key: {key}. Required in every upload: "
        f"{'yes' if domain.required_in_upload else 'no'}.</p>",
        _table(_COLUMN_HEADERS, rows),
    ]
    if domain.rules:
        parts += [
            f"<h3>Cross-domain rules on {escape(domain.name)}</h3>",
            _rules_table(domain.rules),
        ]
    parts.append("</section>")
    return "\n".join(parts)


_READING = """
<section id="reading"><h2>How to read this dictionary</h2>
<ul>
<li>An upload is a folder with one file per domain, named after the domain
(<code>subjects.csv</code> or <code>subjects.xlsx</code>, ...); the first row of a
file (the first sheet of a workbook) holds the column names.</li>
<li><b>Required: column</b> means the column must be in the file (it may be empty
where values are not required); <b>value</b> means every row needs a value. Other
columns may be left out.</li>
<li><b>Allowed values</b> come from a controlled terminology or from the protocol;
"another value: warning" means it is sent and reported as a warning.</li>
<li><b>Rules</b> are the validation rule ids that check the column: RD-* as the file
is read, SC-* from the column's declaration, the others across domains and against
the protocol. Errors must be corrected; warnings are to be reviewed.</li>
</ul></section>
"""


def render_html(dictionary: DataDictionary) -> str:
    """Return the data dictionary as one HTML page.

    Parameters
    ----------
    dictionary : DataDictionary
        The dictionary.

    Returns
    -------
    str
        A complete, self-contained HTML document.
    """
    title = escape(dictionary.title)
    toc = ['<li><a href="#reading">How to read this dictionary</a></li>']
    body: list[str] = [_READING]
    if dictionary.protocol is not None:
        toc.append('<li><a href="#protocol">Protocol</a></li>')
        info = dictionary.protocol
        tables = "".join(_section_table(s) for s in protocol_sections(info.content))
        body.append(
            '<section id="protocol"><h2>Protocol</h2>'
            f'<p class="meta">File {escape(info.source or "(not a file)")}, '
            f"SHA-256 <code>{escape(info.sha256 or '-')}</code>.</p>"
            f"{tables}</section>"
        )
    toc.append('<li><a href="#upload">Files and upload-wide rules</a></li>')
    body.append(
        '<section id="upload"><h2>Files and upload-wide rules</h2>'
        "<p>Checked on every file as it is read, and across the whole upload.</p>"
        f"{_rules_table(dictionary.upload_rules)}</section>"
    )
    for domain in dictionary.domains:
        toc.append(
            f'<li><a href="#{escape(_anchor(domain))}">{escape(domain.label)} '
            f"(<code>{escape(domain.name)}</code>)</a></li>"
        )
        body.append(_domain(domain))
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title}</title><style>{_STYLE}</style></head><body>",
            f"<h1>{title}</h1>",
            f'<p class="meta">Written by trialdata '
            f"{escape(dictionary.trialdata_version)}.</p>",
            "<nav><h2>Contents</h2><ol>" + "".join(toc) + "</ol></nav>",
            *body,
            "</body></html>",
            "",
        ]
    )
