"""``trialdata report safety``: format from the extension, exit 2 on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from trialdata.cli import app

runner = CliRunner()


def test_writes_html_from_a_folder(synthetic_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = runner.invoke(
        app, ["report", "safety", str(synthetic_folder), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert f"Data source</th><td>upload folder {synthetic_folder}" in page
    assert "Data snapshot</th>" not in page  # no snapshot for a folder


def test_cutoff_option_removes_later_records(
    synthetic_folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.xlsx"
    result = runner.invoke(
        app,
        [
            "report",
            "safety",
            str(synthetic_folder),
            "--output",
            str(out),
            "--cutoff",
            "2025-01-31",
        ],
    )
    assert result.exit_code == 0, result.output
    import openpyxl

    sheet = openpyxl.load_workbook(out)["Provenance"]
    values = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=2)}
    assert values["Data cut-off"] == "2025-01-31"
    # by then S001-S003 had consented (first dose - 10 days) and S001, S002 were
    # treated (first doses 2025-01-06, 2025-01-20, 2025-02-03)
    book = openpyxl.load_workbook(out)

    def cells(sheet: str) -> list[object]:
        return [c.value for row in book[sheet].iter_rows() for c in row]

    assert "Total (N=3)" in cells("Table 1")  # enrolment
    (overview,) = [
        name
        for name in book.sheetnames
        if "Overview of treatment-emergent" in str(book[name]["A1"].value)
    ]
    assert "Total (N=2)" in cells(overview)  # safety population


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output", "r.txt"], "cannot tell the format"),
        ([], "give either an upload FOLDER or --store"),
        (["--store", "x.sqlite", "--output", "r.html"], "--store needs --snapshot"),
        (["--cutoff", "yesterday", "--output", "r.html"], "is not a date"),
    ],
)
def test_bad_usage_exits_2(
    args: list[str], message: str, synthetic_folder: Path, tmp_path: Path
) -> None:
    folder = [] if not args or args[0] == "--store" else [str(synthetic_folder)]
    if args and args[0] == "--store":
        folder = []
    full = ["report", "safety", *folder, *args]
    if args == []:
        full = ["report", "safety", "--output", str(tmp_path / "r.html")]
    result = runner.invoke(app, full)
    assert result.exit_code == 2
    assert message in result.output


def test_missing_folder_and_store_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "report",
            "safety",
            str(tmp_path / "nope"),
            "--output",
            str(tmp_path / "r.pdf"),
        ],
    )
    assert result.exit_code == 2
    assert "not an upload folder" in result.output
    result = runner.invoke(
        app,
        [
            "report",
            "safety",
            "--store",
            str(tmp_path / "none.sqlite"),
            "--snapshot",
            "S1",
            "--output",
            str(tmp_path / "r.pdf"),
        ],
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_writes_docx_from_a_store_snapshot(
    synthetic_folder: Path, tmp_path: Path
) -> None:
    import shutil

    import pandas as pd

    from trialdata.store import TrialStore

    upload = shutil.copytree(synthetic_folder, tmp_path / "upload")
    subjects = pd.read_csv(upload / "subjects.csv", keep_default_na=False)
    subjects.assign(site_id="NIJ").to_csv(upload / "subjects.csv", index=False)
    url = tmp_path / "trial.sqlite"
    store = TrialStore.open(url)
    try:
        store.ingest(upload, site="NIJ")
        snapshot = store.freeze("DMC-1")
    finally:
        store.close()
    out = tmp_path / "report.docx"
    result = runner.invoke(
        app,
        [
            "report",
            "safety",
            "--store",
            str(url),
            "--snapshot",
            "DMC-1",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    import docx

    document = docx.Document(str(out))
    provenance = {r.cells[0].text: r.cells[1].text for r in document.tables[0].rows}
    assert provenance["Data snapshot"] == "DMC-1"
    assert provenance["Data source"].startswith("store snapshot 'DMC-1' of sqlite:///")
    assert provenance["Data hash (SHA-256)"] == snapshot.content_sha256


def test_page_size_option_reaches_the_document(
    synthetic_folder: Path, tmp_path: Path
) -> None:
    import docx

    out = tmp_path / "report.docx"
    result = runner.invoke(
        app,
        [
            "report",
            "safety",
            str(synthetic_folder),
            "--output",
            str(out),
            "--page-size",
            "letter",
        ],
    )
    assert result.exit_code == 0, result.output
    section = docx.Document(str(out)).sections[0]
    assert round(section.page_width.mm) == 279 and round(section.page_height.mm) == 216
    refused = runner.invoke(
        app,
        [
            "report",
            "safety",
            str(synthetic_folder),
            "-o",
            str(out),
            "--page-size",
            "A3",
        ],
    )
    assert refused.exit_code == 2
