"""Reading without losing a row or following a link; writing without clobbering.

Issue "Nothing lost, nobody in where they don't belong": a line with the wrong number
of fields is a finding on that line (the rest of the file is read), symbolic links
and special files are never read, a number is read as sent or reported, an XPT date
beyond any calendar is a finding, and outputs are never written through links.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest

from trialdata.errors import UnreadableFileError
from trialdata.io import discover_upload, read_raw
from trialdata.io.files import (
    OutputRefusedError,
    SourceFile,
    check_output,
    open_regular,
    replacing,
    sha256_of,
    write_output,
)

HEADER = "subject_id,visit,lab_date,test_code,value,unit,lower_limit,upper_limit"
LINES = [
    "N01,D14,2025-02-17,NEUT,3.25,10^9/L,1.5,8.0",
    "N01,D14,2025-02-17,ALT,21.0,U/L,0.0,40.0",
    "N02,D14,2025-03-24,NEUT,4.25,10^9/L,1.5,8.0",
    "N02,D14,2025-03-24,ALT,22.0,U/L,0.0,40.0",
    "N03,D14,2025-03-24,ALT,22.0,U/L,0.0,40.0",
]


def _labs(tmp_path: Path, lines: list[str], end: str = "\n") -> Path:
    path = tmp_path / "labs.csv"
    path.write_text(end.join([HEADER, *lines]) + end, encoding="utf-8")
    return path


def _read(path: Path) -> object:
    return read_raw(SourceFile(path, "labs", "csv"))


@pytest.mark.parametrize("threads", [False, True])
def test_a_line_with_an_extra_field_is_kept_and_named(
    tmp_path: Path, threads: bool
) -> None:
    lines = list(LINES)
    lines[4 - 2] = lines[4 - 2] + ",extra"  # line 4
    path = _labs(tmp_path, lines)
    table = read_raw(SourceFile(path, "labs", "csv"), threads=threads)
    assert table.data["_source_row"].tolist() == [2, 3, 4, 5, 6]  # no row dropped
    assert table.data["subject_id"].tolist() == ["N01", "N01", "N02", "N02", "N03"]
    assert [(m.line, m.expected, m.found, m.text) for m in table.malformed] == [
        (4, 8, 9, LINES[2] + ",extra")
    ]
    assert table.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_short_line_is_padded_and_later_lines_keep_their_numbers(
    tmp_path: Path,
) -> None:
    lines = [
        LINES[0],
        "",
        "N01,D14",
        '"N02",D14,2025-03-24,"A\nLT",22.0,U/L,0,40',
        LINES[3],
    ]
    table = _read(_labs(tmp_path, lines, "\r\n"))
    data = table.data  # type: ignore[attr-defined]
    assert data["_source_row"].tolist() == [2, 4, 5, 7]
    assert data.loc[1, "visit"] == "D14" and pd.isna(data.loc[1, "lab_date"])
    assert data.loc[2, "test_code"] == "A\nLT"
    assert [(m.line, m.found) for m in table.malformed] == [(4, 2)]  # type: ignore[attr-defined]


def test_old_mac_line_endings_are_lines(tmp_path: Path) -> None:
    table = _read(_labs(tmp_path, LINES[:2], "\r"))
    assert table.data["_source_row"].tolist() == [2, 3]  # type: ignore[attr-defined]
    assert table.data["subject_id"].tolist() == ["N01", "N01"]  # type: ignore[attr-defined]


def test_symbolic_links_and_special_files_are_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0\n", encoding="utf-8")
    upload = tmp_path / "upload"
    upload.mkdir()
    (upload / "subjects.csv").symlink_to(secret)
    (upload / "labs.csv").symlink_to(upload, target_is_directory=True)
    (upload / "cohorts.csv").symlink_to(upload / "missing.csv")
    os.mkfifo(upload / "administrations.csv")
    (upload / "adverse_events.csv").mkdir()
    (upload / "product_lots.csv").write_text("lot_id\nL1\n", encoding="utf-8")
    found = {f.name: f.problem for f in discover_upload(upload)}
    assert found["product_lots.csv"] is None
    assert found["subjects.csv"].startswith("is a symbolic link")
    assert found["labs.csv"].startswith("is a symbolic link")
    assert found["cohorts.csv"].startswith("is a symbolic link")
    assert found["administrations.csv"].startswith("is a named pipe")
    assert found["adverse_events.csv"].startswith("is a folder")
    for source in discover_upload(upload):
        if source.problem is None:
            continue
        with pytest.raises(UnreadableFileError, match="not"):
            read_raw(source)
    # a link made after the listing is refused when the file is opened
    late = SourceFile(upload / "subjects.csv", "subjects", "csv")
    with pytest.raises(UnreadableFileError, match="symbolic link"):
        read_raw(late)
    with pytest.raises(UnreadableFileError, match="symbolic link"):
        sha256_of(upload / "subjects.csv")
    with pytest.raises(UnreadableFileError, match="named pipe"):
        open_regular(upload / "administrations.csv")  # returns at once, no wait


def test_other_formats_are_read_from_the_bytes_hashed(tmp_path: Path) -> None:
    frame = pd.DataFrame({"subject_id": ["N01", "N02"], "age": [51, 63]})
    path = tmp_path / "subjects.parquet"
    frame.to_parquet(path)
    table = read_raw(SourceFile(path, "subjects", "parquet"))
    assert table.data["age"].tolist() == [51, 63]  # typed, as the file holds it
    assert table.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    link = tmp_path / "labs.parquet"
    link.symlink_to(path)
    with pytest.raises(UnreadableFileError, match="symbolic link"):
        read_raw(SourceFile(link, "labs", "parquet"))


def test_xpt_date_beyond_any_calendar_is_kept_as_sent(tmp_path: Path) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    path = tmp_path / "subjects.xpt"
    frame = pd.DataFrame(
        {
            "subject_id": ["N01", "N02", "N03"],
            "consent_date": [1e10, 23_000.0, float("nan")],  # days since 1960-01-01
            "visit_time": [3600.0, 86_399.0, 1e300],  # seconds
            "dosed_at": [0.0, 1e20, 86_400.5],  # seconds since 1960-01-01
        }
    )
    pyreadstat.write_xport(
        frame,
        path,
        variable_format={
            "consent_date": "DATE9.",
            "visit_time": "TIME8.",
            "dosed_at": "DATETIME20.",
        },
    )
    with pytest.raises(OverflowError):  # what pyreadstat does with such a file
        pyreadstat.read_xport(path)
    table = read_raw(SourceFile(path, "subjects", "xpt"))
    data = table.data
    assert data["consent_date"].tolist()[:2] == ["10000000000", "2022-12-21"]
    assert pd.isna(data["consent_date"].iloc[2])
    assert data["visit_time"].tolist()[:2] == ["01:00:00", "23:59:59"]
    assert data["dosed_at"].tolist()[0] == "1960-01-01"
    assert data["dosed_at"].tolist()[2].startswith("1960-01-02T00:00:00.5")
    assert data["_source_row"].tolist() == [2, 3, 4]


def test_outputs_are_never_written_through_links(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me\n", encoding="utf-8")
    link = tmp_path / "report.html"
    link.symlink_to(target)
    with pytest.raises(OutputRefusedError, match="symbolic link"):
        write_output(link, "<html>")
    assert target.read_text(encoding="utf-8") == "keep me\n"
    assert link.is_symlink()
    folder = tmp_path / "a-folder.html"
    folder.mkdir()
    with pytest.raises(OutputRefusedError, match="is a folder"):
        check_output(folder)
    with pytest.raises(OutputRefusedError, match="does not exist"):
        check_output(tmp_path / "nowhere" / "r.html")


def test_an_existing_output_is_replaced_in_one_step(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    assert write_output(path, "first") is False
    os.chmod(path, 0o640)
    assert write_output(path, b"second") is True
    assert path.read_text(encoding="utf-8") == "second"
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)  # permissions kept
    with pytest.raises(RuntimeError), replacing(path) as temporary:
        temporary.write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")
    assert path.read_text(encoding="utf-8") == "second"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def _clean_upload(folder: Path) -> Path:
    from trialdata.demo import write_trial

    write_trial(folder, "nk-aml", 3, seed=1)
    return folder


def test_cli_outputs_refuse_links_and_say_when_they_replace(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from trialdata.cli import app

    upload = _clean_upload(tmp_path / "upload")
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n", encoding="utf-8")
    runner = CliRunner()
    for command in (
        ["validate", str(upload), "--output", "{out}"],
        ["report", "safety", str(upload), "--output", "{out}"],
    ):
        link = tmp_path / "out.html"
        link.unlink(missing_ok=True)
        link.symlink_to(precious)
        args = [a.replace("{out}", str(link)) for a in command]
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "is a symbolic link; outputs are never written through links" in (
            result.output
        )
        assert precious.read_text(encoding="utf-8") == "keep me\n"
        assert "Traceback" not in result.output

    report = tmp_path / "findings.json"
    args = ["validate", str(upload), "--format", "json", "--output", str(report)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0 and "replaced" not in first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 0
    assert f"report written to {report} (replaced the earlier file)" in again.output
