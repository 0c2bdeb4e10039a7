"""What a DMC expects of a report's layout: contents, bookmarks, whole words,
compact shift tables, numbers and figures in the workbook, one page size."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from trialdata.reports import Report, render
from trialdata.reports.model import Figure, ReportProvenance, Table
from trialdata.reports.page import PAGES, page_named


def _entries(report: Report) -> list[tuple[str, list[str]]]:
    return [
        (
            section.title,
            [
                f"{number}. {block.title}"
                for number, block in blocks
                if isinstance(block, Table | Figure)
            ],
        )
        for section, blocks in report.numbered()
    ]


def test_html_and_pdf_contents_list_every_section_table_and_figure(
    reports: dict[str, Report],
    rendered: Callable[[str, str], bytes],
    text_of: Callable[[str, bytes], str],
) -> None:
    report = reports["nk-aml"]
    page = rendered("nk-aml", "html").decode("utf-8")
    nav = page[page.index("<nav>") : page.index("</nav>")]
    for section, items in _entries(report):
        assert f">{section}</a>" in nav
        for item in items:
            assert f">{item.replace('>', '&gt;')}</a>" in nav, item
    # printed, every entry carries the page it is on
    text = text_of("pdf", rendered("nk-aml", "pdf"))
    start = text.index("Contents")
    last = _entries(report)[-1][1][-1]  # the contents end with the last listing
    contents = text[start : text.index(last, start) + len(last) + 400]
    for section, items in _entries(report):
        for entry in (section, *items):
            assert re.search(re.escape(entry) + r"[ .]+\d+", contents), entry


def test_pdf_outline_has_sections_and_their_tables(reports: dict[str, Report]) -> None:
    from weasyprint import HTML

    from trialdata.reports.html import render_html

    report = reports["nk-aml"]
    document = HTML(string=render_html(report, print_layout=True)).render()
    # WeasyPrint's bookmarks: (label, target, children, state) tuples
    tree = document.make_bookmark_tree()
    top = [label for label, *_ in tree]
    for section, items in _entries(report):
        assert section in top, section
        children = [label for label, *_ in tree[top.index(section)][2]]
        for item in items:
            assert any(c.startswith(item) for c in children), (section, item)


def test_docx_and_rtf_have_a_contents_field_and_outline_levels(
    reports: dict[str, Report], rendered: Callable[[str, str], bytes]
) -> None:
    report = reports["nk-aml"]
    parts = zipfile.ZipFile(io.BytesIO(rendered("nk-aml", "docx")))
    body = parts.read("word/document.xml").decode("utf-8")
    settings = parts.read("word/settings.xml").decode("utf-8")
    assert 'TOC \\o "1-2"' in body
    assert '<w:updateFields w:val="true"/>' in settings
    for section, items in _entries(report):
        for entry in (section, *items):
            assert entry.replace("&", "&amp;").replace(">", "&gt;") in body, entry
    rtf = rendered("nk-aml", "rtf").decode("ascii")
    assert '{\\field{\\*\\fldinst TOC \\\\o "1-2"' in rtf
    n_sections = len(report.sections)
    n_items = sum(len(items) for _, items in _entries(report))
    assert rtf.count("\\outlinelevel0") == n_sections
    assert rtf.count("\\outlinelevel1") == n_items


def _splits(word: str) -> list[str]:
    return [f"{word[:k]} {word[k:]}" for k in range(2, len(word) - 1)]


def test_columns_hold_their_longest_word(reports: dict[str, Report]) -> None:
    page = page_named("A4")
    for name, report in reports.items():
        for table in report.tables():
            capacity = page.characters(8.5, len(table.frame.columns))
            widths = table.column_widths(capacity)
            floors = table.column_widths(0)
            if sum(floors) > capacity:
                continue  # more columns than a line holds: nothing can help
            for column, width, floor in zip(
                table.frame.columns, widths, floors, strict=True
            ):
                assert width >= floor, (name, table.title, column)
                assert sum(widths) <= max(capacity, sum(floors)) or width == floor


def test_listing_headers_are_not_split_in_the_pdf(
    reports: dict[str, Report],
    rendered: Callable[[str, str], bytes],
    text_of: Callable[[str, bytes], str],
) -> None:
    text = text_of("pdf", rendered("nk-aml", "pdf"))
    words = {
        word
        for table in reports["nk-aml"].tables()
        if table.listing
        for column in table.frame.columns
        for word in str(column).split()
        if len(word) >= 4 and word.isalpha()
    }
    assert {"Subject", "Grade"} <= words
    for word in words:
        assert word in text, word
        for split in _splits(word):
            assert split not in text, split


def test_shift_table_shows_only_rows_that_count_a_subject(
    reports: dict[str, Report],
) -> None:
    report = reports["nk-aml"]
    (table,) = [t for t in report.tables() if t.title.startswith("Shift from")]
    shift = next(
        r for k, r in report.results.items() if type(r).__name__ == "ShiftTable"
    )
    counts = shift.counts
    counted = counts.groupby(["test_code", "group", "baseline"])["n"].sum()
    assert len(table.frame) == int((counted > 0).sum()) < len(counted)
    post = [c for c in table.frame.columns if c.startswith("Post-baseline")]
    for row in table.frame[post].itertuples(index=False):
        assert any(cell not in ("0", "") for cell in row)
    # each test named once, on the first row of its block
    tests = table.frame["test_code"]
    assert tests[tests != ""].is_unique
    assert set(tests[tests != ""]) == set(counts.loc[counts["n"] > 0, "test_code"])


def test_xlsx_holds_numbers_as_numbers_and_the_figures(
    reports: dict[str, Report], rendered: Callable[[str, str], bytes]
) -> None:
    import openpyxl

    from trialdata.reports.export import numeric_columns

    report = reports["nk-aml"]
    book = openpyxl.load_workbook(io.BytesIO(rendered("nk-aml", "xlsx")))
    n_numeric = 0
    for _, blocks in report.numbered():
        for number, block in blocks:
            if isinstance(block, Figure):
                sheet = book[number]
                assert sheet["A1"].value == f"{number}. {block.title}"
                assert len(sheet._images) == 1  # openpyxl has no public accessor
                continue
            if not isinstance(block, Table) or not len(block.frame):
                continue
            sheet = book[number]
            header = [c.value for c in sheet[3]]
            for column, decimals in numeric_columns(block).items():
                position = header.index(column)
                cells = [row[position] for row in sheet.iter_rows(min_row=4)]
                filled = [c for c in cells if c.value is not None]
                assert all(isinstance(c.value, int | float) for c in filled), column
                shown = block.frame[column][block.frame[column] != ""]
                assert [float(v) for v in shown] == [float(c.value) for c in filled]
                assert filled[0].number_format == (
                    "0" if decimals == 0 else "0." + "0" * decimals
                )
                n_numeric += 1
    assert n_numeric > 10
    assert report.figures()


def test_identifiers_with_leading_zeros_stay_text() -> None:
    import pandas as pd

    from trialdata.reports.export import numeric_columns

    table = Table(
        "t",
        pd.DataFrame(
            {"Subject": ["001", "002"], "n": ["3", ""], "x": ["1.50", "-0.2"]}
        ),
    )
    assert numeric_columns(table) == {"n": 0, "x": 2}


@pytest.mark.parametrize("size", list(PAGES))
def test_pdf_docx_and_rtf_share_one_page_size(
    reports: dict[str, Report], size: str, tmp_path: Path
) -> None:
    import docx

    if shutil.which("pdfinfo") is None:
        pytest.skip("pdfinfo (poppler-utils) is not installed")
    report = reports["synthetic"]
    page = page_named(size)
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(render(report, "pdf", page_size=size))
    info = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "999", str(pdf)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    sizes = re.findall(r"Page +\d+ size: +([\d.]+) x ([\d.]+) pts", info)
    assert sizes
    for width, height in sizes:
        assert abs(float(width) - page.width_mm * 72 / 25.4) < 1
        assert abs(float(height) - page.height_mm * 72 / 25.4) < 1
    path = tmp_path / "r.docx"
    path.write_bytes(render(report, "docx", page_size=size))
    section = docx.Document(str(path)).sections[0]
    assert abs(section.page_width.mm - page.width_mm) < 0.5
    assert abs(section.page_height.mm - page.height_mm) < 0.5
    rtf = render(report, "rtf", page_size=size).decode("ascii")
    widths = {int(w) for w in re.findall(r"\\paperw(\d+)", rtf)}
    heights = {int(h) for h in re.findall(r"\\paperh(\d+)", rtf)}
    assert all(abs(w - page.twips(page.width_mm)) <= 2 for w in widths), widths
    assert all(abs(h - page.twips(page.height_mm)) <= 2 for h in heights), heights


def test_an_unknown_page_size_is_refused(reports: dict[str, Report]) -> None:
    with pytest.raises(ValueError, match="unknown page size 'A3'"):
        render(reports["synthetic"], "pdf", page_size="A3")


def test_title_page_names_the_source_exactly() -> None:
    base = dict(
        trial_id="T",
        trial_title="t",
        protocol_version="1",
        snapshot_hash="abc",
        data_cutoff="2026-01-01",
        package_version="0",
        generated_utc="now",
    )
    folder = dict(
        ReportProvenance(
            snapshot_label="folder", source="/data/upload-7", **base
        ).rows()
    )
    assert folder["Data source"] == "upload folder /data/upload-7"
    assert "Data snapshot" not in folder
    stored = dict(
        ReportProvenance(
            snapshot_label="DMC-2",
            source="postgresql+psycopg://dm:***@db/trial#DMC-2",
            **base,
        ).rows()
    )
    assert stored["Data source"] == (
        "store snapshot 'DMC-2' of postgresql+psycopg://dm:***@db/trial"
    )
    assert stored["Data snapshot"] == "DMC-2"
    assert stored["Data hash (SHA-256)"] == "abc"
