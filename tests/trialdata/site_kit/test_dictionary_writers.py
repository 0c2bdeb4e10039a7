"""The dictionary as HTML (escaped, with a table of contents), XLSX, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from schemas.protocol import parse_protocol
from trialdata.demo.protocols import protocol_data
from trialdata.site_kit.dictionary import build_dictionary
from trialdata.site_kit.dictionary_html import render_html
from trialdata.site_kit.dictionary_tables import COLUMN_FIELDS
from trialdata.site_kit.dictionary_writers import (
    render_csv,
    render_dictionary,
    render_json,
    render_xlsx,
)
from trialdata.site_kit.model import FORMAT_VERSION, DataDictionary

SCRIPT = '<script>alert("x")</script> & Co'
FORMULA = '=HYPERLINK("http://example.org","click")'


@pytest.fixture(scope="module")
def hostile() -> DataDictionary:
    """A dictionary whose protocol holds markup and a spreadsheet formula."""
    data = protocol_data("nk-aml", 4)
    data["trial"]["title"] = "NK cells <b>bold</b> & more"
    data["sites"][0]["name"] = SCRIPT
    data["sites"][1]["name"] = FORMULA
    return build_dictionary(parse_protocol(data))


class _Page(HTMLParser):
    """Collects ids, links, tables and the text of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.tags: list[str] = []
        self.rows_per_table: list[int] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))
        if tag == "table":
            self.rows_per_table.append(0)
        if tag == "tr":
            self.rows_per_table[-1] += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_escaped_and_self_contained(hostile: DataDictionary) -> None:
    page = render_html(hostile)
    assert "<script" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page
    parsed = _Page()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert SCRIPT in "".join(parsed.text)  # shown as text
    assert not any(link.startswith(("http", "//")) for link in parsed.links)
    assert "src=" not in page and "<link" not in page


def test_html_has_a_table_of_contents_and_a_table_per_domain(
    hostile: DataDictionary,
) -> None:
    parsed = _Page()
    parsed.feed(render_html(hostile))
    anchors = [link[1:] for link in parsed.links if link.startswith("#")]
    assert anchors[:3] == ["reading", "protocol", "upload"]
    assert [a for a in anchors if a.startswith("domain-")] == [
        f"domain-{d.name}" for d in hostile.domains
    ]
    assert set(anchors) <= parsed.ids
    page = render_html(hostile)
    for domain in hostile.domains:
        section = page.split(f'<section id="domain-{domain.name}">')[1]
        table = section.split("</table>")[0]
        assert table.count("<tr>") == len(domain.columns) + 1  # header row


def test_xlsx_has_an_overview_and_a_sheet_per_domain(hostile: DataDictionary) -> None:
    book = load_workbook(io.BytesIO(render_xlsx(hostile)))
    assert book.sheetnames == ["overview", *(d.name for d in hostile.domains)]
    headers = [header for _, header in COLUMN_FIELDS]
    subjects = book["subjects"]
    assert [c.value for c in subjects[1]] == headers
    names = [subjects.cell(row=r, column=1).value for r in range(2, 13)]
    assert names == [c.name for c in hostile.domain("subjects").columns]
    weight = next(r for r in subjects.iter_rows(min_row=2) if r[0].value == "weight_kg")
    minimum = weight[headers.index("Minimum")]
    maximum = weight[headers.index("Maximum")]
    assert (minimum.value, maximum.value) == (0, 400)
    assert minimum.data_type == "n" and maximum.data_type == "n"
    overview = book["overview"]
    cells = [c for row in overview.iter_rows() for c in row if c.value is not None]
    amounts = [c for c in cells if c.value == 30.0 and c.data_type == "n"]
    assert amounts, "the dose amounts are numbers"
    formula = [c for c in cells if c.value == FORMULA]
    assert formula and all(c.data_type == "s" for c in formula)  # text, not run
    assert not any(c.data_type == "f" for c in cells)
    links = [c.hyperlink.location for c in cells if c.hyperlink is not None]
    assert "'labs'!A1" in links


def test_csv_is_one_long_table_and_defused(hostile: DataDictionary) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(hostile))))
    total = sum(len(d.columns) for d in hostile.domains)
    assert len(rows) == total
    assert list(rows[0]) == ["domain", *(name for name, _ in COLUMN_FIELDS)]
    site = next(
        r for r in rows if (r["domain"], r["column"]) == ("subjects", "site_id")
    )
    assert site["allowed_values"] == "NMG | RTD"
    assert "XD-013" in site["rule_ids"].split()
    sex = next(r for r in rows if (r["domain"], r["column"]) == ("subjects", "sex"))
    assert sex["allowed_values"] == "F | M | U"
    assert not any(
        value.startswith(("=", "+", "@")) for row in rows for value in row.values()
    )
    # a protocol note that starts with "=" would be defused; the site note starts
    # with the site id, so it is kept as written
    assert FORMULA in site["protocol_notes"]


def test_json_is_documented_and_versioned(hostile: DataDictionary) -> None:
    document = json.loads(render_json(hostile))
    assert document["format_version"] == FORMAT_VERSION == 1
    assert list(document) == [
        "format_version",
        "generator",
        "title",
        "protocol",
        "upload_rules",
        "domains",
    ]
    assert document["protocol"]["content"]["sites"][0]["name"] == SCRIPT
    labs = next(d for d in document["domains"] if d["name"] == "labs")
    assert labs["file_names"] == ["labs.csv", "labs.xlsx", "labs.parquet", "labs.xpt"]
    code = next(c for c in labs["columns"] if c["name"] == "test_code")
    assert code["key"] is True and code["pattern"] == r"^[A-Z][A-Z0-9]{0,7}$"
    assert {r["origin"] for r in code["rules"]} == {"reader", "schema"}
    weight = next(
        c
        for d in document["domains"]
        if d["name"] == "subjects"
        for c in d["columns"]
        if c["name"] == "weight_kg"
    )
    assert weight["range"] == {
        "minimum": 0,
        "minimum_inclusive": False,
        "maximum": 400,
        "maximum_inclusive": True,
        "text": "> 0 and <= 400",
    }


def test_render_dictionary_dispatches_and_refuses_unknown_formats(
    hostile: DataDictionary,
) -> None:
    assert render_dictionary(hostile, "json") == render_json(hostile).encode()
    assert render_dictionary(hostile, "xlsx")[:2] == b"PK"
    with pytest.raises(ValueError):
        render_dictionary(hostile, "pdf")
