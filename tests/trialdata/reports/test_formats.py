"""Every format is produced from the synthetic, both demo and the CDISC pilot trials,
and the text extracted from each holds key numbers recomputed from the raw data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from trialdata.reports import Report
from trialdata.trial import Trial

FOLDER_TRIALS = ("synthetic", "tolDC-ms", "nk-aml")
TEXT_FORMATS = ("html", "pdf", "rtf", "docx")
#: The synthetic trial is there for escaping and hand-checked counts; its PDF would
#: repeat what the demo trials' PDFs test and costs seconds of WeasyPrint layout.
SKIP = {("synthetic", "pdf")}


def test_every_format_is_produced_from_every_trial(
    rendered: Callable[[str, str], bytes], reports: dict[str, Report]
) -> None:
    signatures = {
        "html": b"<!DOCTYPE html>",
        "pdf": b"%PDF-",
        "rtf": b"{\\rtf1",
        "docx": b"PK",
        "xlsx": b"PK",
    }
    for name in reports:
        for fmt, magic in signatures.items():
            if (name, fmt) in SKIP:
                continue
            data = rendered(name, fmt)
            assert data.startswith(magic), (name, fmt)
            assert len(data) > 5_000, (name, fmt)


@pytest.mark.parametrize("name", FOLDER_TRIALS)
@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_key_numbers_in_every_format(
    name: str,
    fmt: str,
    rendered: Callable[[str, str], bytes],
    text_of: Callable[[str, bytes], str],
    counts_of: Callable[[Path], dict[str, str]],
    folders: dict[str, Path],
) -> None:
    if (name, fmt) in SKIP:
        pytest.skip("PDF text is tested on the demo and CDISC pilot trials")
    expected = counts_of(folders[name])
    text = text_of(fmt, rendered(name, fmt))
    assert expected["total_header"] in text
    assert expected["any_teae"] in text  # "Any adverse event" row, total column
    assert expected["serious"] in text
    assert expected["grade3"] in text


@pytest.mark.parametrize("name", FOLDER_TRIALS)
def test_report_tables_match_raw_counts(
    name: str,
    reports: dict[str, Report],
    counts_of: Callable[[Path], dict[str, str]],
    folders: dict[str, Path],
) -> None:
    expected = counts_of(folders[name])
    tables = {t.title: t.frame for t in reports[name].tables()}
    dlt = tables["Dose-limiting toxicities by dose level and route"]
    with_dlt = dlt["Subjects with DLT"].str.extract(r"^(\d+)/(\d+)").astype(int)
    assert with_dlt[0].sum() == int(expected["n_dlt"])
    assert dlt["Treated"].astype(int).sum() == int(expected["total_header"][9:-1])
    disposition = tables["Enrolment and disposition by dose level and route"]
    enrolled = disposition.set_index("Subjects").loc["Enrolled"].iloc[-1]
    assert enrolled.startswith(f"{expected['n_enrolled']} (")
    soc = tables[
        "Treatment-emergent adverse events by system organ class and preferred term"
    ]
    assert soc.iloc[0, 0] == "Any adverse event"
    assert soc.iloc[0, -1] == expected["any_teae"]


def test_cdisc_pilot_numbers_in_every_format(
    cdisc_pilot_dir: Path,
    rendered: Callable[[str, str], bytes],
    text_of: Callable[[str, bytes], str],
) -> None:
    """Safety N per actual (highest) dose and deaths, recomputed from DM and EX."""
    pyreadstat = pytest.importorskip("pyreadstat")
    ex, _ = pyreadstat.read_xport(str(cdisc_pilot_dir / "sdtm" / "ex.xpt"))
    dm, _ = pyreadstat.read_xport(str(cdisc_pilot_dir / "sdtm" / "dm.xpt"))
    top = ex.groupby("USUBJID")["EXDOSE"].max()
    by_dose = top.value_counts()
    headers = [
        f"DL1 Placebo Transdermal (N={by_dose[0.0]})",
        f"DL2 Xanomeline Low Dose Transdermal (N={by_dose[54.0]})",
        f"DL3 Xanomeline High Dose Transdermal (N={by_dose[81.0]})",
        f"Total (N={len(top)})",
    ]
    dead = dm.loc[dm["USUBJID"].isin(top.index) & (dm["DTHFL"] == "Y")]
    deaths = f"{len(dead)} deaths in the safety population"
    for fmt in TEXT_FORMATS:
        text = text_of(fmt, rendered("cdisc", fmt))
        for header in headers:
            assert header in text, (fmt, header)
        assert deaths in text, fmt


def test_xlsx_is_defused_against_formulas(tmp_path: Path) -> None:
    from trialdata.reports import write_report
    from trialdata.reports.model import ReportProvenance, Section, Table

    hostile = pd.DataFrame(
        {"=cmd|' /C calc'!A0": ["=1+1", "+SUM(A1)", "@x", "-2", "safe"], "n": "1"}
    )
    report = Report(
        title="=title",
        provenance=ReportProvenance(*(["=x"] * 9)),
        sections=(Section("s", (Table("=HYPERLINK(1)", hostile, ("-note",)),)),),
    )
    path = write_report(report, tmp_path / "listings.xlsx")
    import openpyxl

    sheet = openpyxl.load_workbook(path)["Table 1"]
    values = [c.value for row in sheet.iter_rows() for c in row if c.value is not None]
    assert values, "no cells written"
    for value in values:
        assert not str(value).startswith(("=", "+", "@", "-")), value
    assert "'=1+1" in values
    assert "'=cmd|' /C calc'!A0" in values  # a column header
    assert "'-note" in values  # a footnote
    provenance = openpyxl.load_workbook(path)["Provenance"]
    assert all(
        not str(c.value).startswith("=") for row in provenance.iter_rows() for c in row
    )


def test_rtf_layout_landscape_page_x_of_y_repeated_headers(
    rendered: Callable[[str, str], bytes],
) -> None:
    import re

    rtf = rendered("nk-aml", "rtf").decode("ascii")
    assert "\\landscape" in rtf
    header = rtf[rtf.index("{\\header") : rtf.index("{\\footer")]
    assert "Page \\chpgn of {\\field{\\*\\fldinst NUMPAGES }}" in header
    assert "NK-AML-DEMO" in header
    assert "\\trhdr" in rtf  # listings: header row repeated on every page
    depth = 0
    for char in re.sub(r"\\[\\{}]", "", rtf):
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0


def test_docx_layout_landscape_page_fields_repeated_headers(
    rendered: Callable[[str, str], bytes],
) -> None:
    import io
    import zipfile

    parts = zipfile.ZipFile(io.BytesIO(rendered("nk-aml", "docx")))
    body = parts.read("word/document.xml").decode("utf-8")
    headers = [n for n in parts.namelist() if n.startswith("word/header")]
    header = "".join(parts.read(n).decode("utf-8") for n in headers)
    assert 'w:orient="landscape"' in body
    assert "<w:tblHeader/>" in body
    assert "PAGE" in header and "NUMPAGES" in header


def test_pdf_pages_have_running_header_and_page_numbers(
    rendered: Callable[[str, str], bytes], text_of: Callable[[str, bytes], str]
) -> None:
    import re

    text = text_of("pdf", rendered("nk-aml", "pdf"))
    pages = re.findall(r"Page (\d+) of (\d+)", text)
    assert pages and len({total for _, total in pages}) == 1
    total = int(pages[0][1])
    assert [int(p) for p, _ in pages] == list(range(1, total + 1))
    assert text.count("Confidential: for the Data Monitoring Committee") >= total


def test_title_page_provenance(
    synthetic_report: Report,
    synthetic_trial: Trial,
    rendered: Callable[[str, str], bytes],
) -> None:
    from trialdata.reports.model import ReportProvenance

    p: ReportProvenance = synthetic_report.provenance
    assert (p.trial_id, p.protocol_version, p.snapshot_label) == (
        "SYN-NK-01",
        "1.2",
        "folder",
    )
    assert p.snapshot_hash == synthetic_trial.content_hash
    # default cut-off: the latest date in the data (S011's last known alive date)
    assert p.data_cutoff == "2025-08-22"
    assert p.generated_utc == "2026-01-01T00:00:00+00:00"
    html = rendered("synthetic", "html").decode("utf-8")
    for label, _ in p.rows():
        assert f'<th scope="row">{label}</th><td>' in html
    assert p.snapshot_hash in html and p.package_version in html


def test_control_characters_do_not_break_xlsx_or_docx(tmp_path: Path) -> None:
    from trialdata.reports import write_report
    from trialdata.reports.model import ReportProvenance, Section, Table

    frame = pd.DataFrame(
        {"term\x01": ["bad\x01byte", "bell\x07 and\ttab"], "n": [1, 2]}
    )
    report = Report(
        title="t\x0b",
        provenance=ReportProvenance(*(["x\x02"] * 9)),
        sections=(Section("s", (Table("title\x03", frame, ("note\x04",)),)),),
    )
    import openpyxl

    sheet = openpyxl.load_workbook(write_report(report, tmp_path / "r.xlsx"))["Table 1"]
    values = [c.value for row in sheet.iter_rows() for c in row if c.value is not None]
    assert "bad byte" in values and "bell  and\ttab" in values and "term " in values
    assert write_report(report, tmp_path / "r.docx").stat().st_size > 0


def test_print_layout_cuts_over_long_cells(tmp_path: Path) -> None:
    from trialdata.reports import write_report
    from trialdata.reports.html import PRINT_CELL_LIMIT, render_html
    from trialdata.reports.model import ReportProvenance, Section, Table

    long = "x" * 200_000  # one unbroken word: 12 minutes of PDF layout uncut
    frame = pd.DataFrame({"term": [long, "short"], "n": ["1", "2"]})
    report = Report(
        title="t",
        provenance=ReportProvenance(*(["p"] * 9)),
        sections=(Section("s", (Table("title", frame, ()),)),),
    )
    printed = render_html(report, print_layout=True)
    assert (
        "x" * PRINT_CELL_LIMIT in printed
        and "x" * (PRINT_CELL_LIMIT + 1) not in printed
    )
    assert f"{200_000 - PRINT_CELL_LIMIT:,} more characters" in printed
    assert long in render_html(report)  # the screen HTML keeps every character
    path = write_report(report, tmp_path / "long.pdf")
    assert path.read_bytes().startswith(b"%PDF")
