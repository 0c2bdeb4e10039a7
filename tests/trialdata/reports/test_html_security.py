"""Text from the data is escaped in every format; the HTML opens in Chromium cleanly."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from trialdata.reports import Report, render
from trialdata.reports.rtf import escape_rtf

HOSTILE = "<script>alert(1)</script> & rash"
CHROMIUM = Path("/usr/bin/chromium")


def test_html_escapes_terms_and_site_names(synthetic_report: Report) -> None:
    page = render(synthetic_report, "html").decode("utf-8")
    assert "<script" not in page.lower()
    assert "alert(1)</script>" not in page
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; rash"
    # the verbatim AE term (listings) and the site name (subject listing footnote)
    assert page.count(escaped) >= 2
    assert "Sites: NIJ: " + escaped in page
    assert "Content-Security-Policy" in page
    assert "script-src &#x27;none&#x27;" in page


def test_html_is_self_contained(synthetic_report: Report) -> None:
    page = render(synthetic_report, "html").decode("utf-8")
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert urls
    for url in urls:
        assert url.startswith(("data:image/png;base64,", "#")), url
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert page.count("data:image/png;base64,") == len(synthetic_report.figures())


def test_hostile_text_stays_text_in_rtf_and_docx(synthetic_report: Report) -> None:
    rtf = render(synthetic_report, "rtf").decode("ascii")
    assert HOSTILE in rtf  # braces and backslashes absent: nothing to escape here
    assert escape_rtf("a{b}\\c") == "a\\{b\\}\\\\c"
    assert escape_rtf("é ≥ 😀") == "\\u233? \\u8805? \\u-10179?\\u-8704?"
    docx = render(synthetic_report, "docx")
    import io
    import zipfile

    xml = zipfile.ZipFile(io.BytesIO(docx)).read("word/document.xml").decode("utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; rash" in xml
    assert "<script>" not in xml


def test_rtf_cannot_be_injected() -> None:
    import pandas as pd

    from trialdata.reports.model import ReportProvenance, Section, Table

    bad = "x}\\par{\\field{\\*\\fldinst HYPERLINK evil}}{"
    report = Report(
        title="t",
        provenance=ReportProvenance(*(["p"] * 9)),
        sections=(
            Section("s", (Table("t", pd.DataFrame({"a": [bad], "b": ["1"]})),)),
            Section("l", (Table("l", pd.DataFrame({"a": [bad] * 300})),)),
        ),
    )
    rtf = render(report, "rtf").decode("ascii")
    assert "\\fldinst HYPERLINK" not in rtf.replace("\\\\fldinst", "")
    assert rtf.count("{") == rtf.count("}") + rtf.count("\\}") - rtf.count("\\{")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_html_opens_in_headless_chromium_without_console_errors(
    synthetic_report: Report, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    page.write_bytes(render(synthetic_report, "html"))
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > 10_000
    console = [
        line
        for line in result.stderr.splitlines()
        if "CONSOLE" in line or "Uncaught" in line or "Refused to" in line
    ]
    assert not console, console
