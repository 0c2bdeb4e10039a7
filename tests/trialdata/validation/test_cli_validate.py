"""``trialdata validate``: exit codes, parseable JSON, defused CSV and escaped HTML."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trialdata.cli import app


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_clean_upload_exits_0(clean_upload: Path) -> None:
    code, out, _ = _run("validate", str(clean_upload))
    assert code == 0
    assert "0 error(s), 0 warning(s)" in out


def test_error_findings_exit_1_and_json_stays_parseable(clean_upload: Path) -> None:
    path = clean_upload / "cohorts.csv"
    path.write_text(path.read_text().replace("INTRANODAL", "IN"))
    code, out, _ = _run("validate", str(clean_upload), "--format", "json")
    assert code == 1
    payload = json.loads(out)
    assert payload["trial_id"] == "TOLDC-MS-T1"
    assert payload["summary"]["errors"] >= 1
    term = [f for f in payload["findings"] if f["rule"] == "SC-TERM"]
    assert term == [
        {
            "domain": "cohorts",
            "file": "cohorts.csv",
            "row": 3,
            "subject_id": None,
            "column": "route",
            "rule": "SC-TERM",
            "severity": "error",
            "message": term[0]["message"],
            "value": "IN",
        }
    ]


def test_usage_errors_exit_2(tmp_path: Path, clean_upload: Path) -> None:
    assert _run("validate", str(tmp_path / "nowhere"))[0] == 2
    assert _run("validate", str(clean_upload), "--format", "xml")[0] == 2


def test_bad_protocol_exits_2_with_a_message_not_a_traceback(
    clean_upload: Path,
) -> None:
    path = clean_upload / "protocol.toml"
    path.write_text(path.read_text().replace('method = "3+3"', 'method = "rolling-6"'))
    result = subprocess.run(
        [sys.executable, "-m", "trialdata", "validate", str(clean_upload)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "design.method: unknown value 'rolling-6'" in result.stderr


def test_csv_report_is_defused(clean_upload: Path, tmp_path: Path) -> None:
    path = clean_upload / "adverse_events.csv"
    path.write_text(
        path.read_text().replace("1,CTCAE,5.0,N,PROBABLY", "=1+1,CTCAE,5.0,N,PROBABLY")
    )
    output = tmp_path / "findings.csv"
    code, _, _ = _run(
        "validate", str(clean_upload), "--format", "csv", "--output", str(output)
    )
    assert code == 1
    rows = list(csv.DictReader(io.StringIO(output.read_text())))
    assert [r["value"] for r in rows if r["column"] == "grade"] == ["'=1+1"]


def test_html_report_escapes_data(clean_upload: Path) -> None:
    path = clean_upload / "cohorts.csv"
    path.write_text(path.read_text().replace("INTRANODAL", "<script>alert(1)</script>"))
    code, out, _ = _run("validate", str(clean_upload), "--format", "html")
    assert code == 1
    assert "<script>alert(1)</script>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out


def test_progress_goes_to_stderr_and_json_stays_parseable(
    clean_upload: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trialdata.cli.validate as command

    monkeypatch.setattr(command, "LARGE_UPLOAD_BYTES", 0)  # treat the upload as large
    # stderr is not a terminal here: the display is silent unless forced on
    assert _run("validate", str(clean_upload), "--format", "json")[2] == ""
    monkeypatch.setenv("TRIALDATA_PROGRESS", "1")
    code, out, err = _run("validate", str(clean_upload), "--format", "json")
    assert code == 0
    assert json.loads(out)["summary"] == {"errors": 0, "warnings": 0, "by_rule": []}
    assert "reading subjects.csv" in err
    quiet = _run("validate", str(clean_upload), "--format", "json", "--quiet")
    assert quiet[2] == ""
