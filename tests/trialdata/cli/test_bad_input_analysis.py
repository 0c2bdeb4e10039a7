"""Hostile input to validate, demo, escalation, simulate and report safety.

Every case must end with a one-line message naming the file, row or column (or the
option) and exit code 2 (or 1 for findings), never a traceback.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from trialdata.cli import app
from trialdata.demo import write_trial


@pytest.fixture(scope="module")
def nk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo") / "nk"
    write_trial(folder, "nk-aml", None, 0)
    return folder


def copy(nk: Path, tmp_path: Path) -> Path:
    target = tmp_path / "trial"
    shutil.copytree(nk, target)
    return target


def run(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result


def edit(path: Path, row: int, column: str, value: str | None) -> None:
    data = pd.read_csv(path, dtype=str, keep_default_na=False)
    if value is None:
        data = data.drop(columns=[column])
    else:
        data.loc[row, column] = value
    data.to_csv(path, index=False)


def test_report_missing_required_column_names_file_and_column(
    nk: Path, tmp_path: Path
) -> None:
    # was a traceback (InvalidIndexError) for subject_id, a pandas mask message for
    # grade, and a silently wrong report for onset_date
    trial = copy(nk, tmp_path)
    edit(trial / "subjects.csv", 0, "subject_id", None)
    r = run("report", "safety", str(trial), "-o", str(tmp_path / "r.html"))
    assert r.exit_code == 2
    assert "subjects.csv, column 'subject_id'" in r.output
    assert not (tmp_path / "r.html").exists()


def test_report_duplicated_subject_names_rows(nk: Path, tmp_path: Path) -> None:
    trial = copy(nk, tmp_path)
    edit(trial / "subjects.csv", 1, "subject_id", "NK-001")
    r = run("report", "safety", str(trial), "-o", str(tmp_path / "r.html"))
    assert r.exit_code == 2
    assert "subjects.csv, row 3, column 'subject_id'" in r.output
    assert "duplicated key" in r.output


def test_report_missing_administrations_file(nk: Path, tmp_path: Path) -> None:
    # was "trialdata: error: 'administrations'" (a KeyError)
    trial = copy(nk, tmp_path)
    (trial / "administrations.csv").unlink()
    r = run("report", "safety", str(trial), "-o", str(tmp_path / "r.html"))
    assert r.exit_code == 2
    assert "administrations.csv" in r.output
    assert "missing" in r.output


def test_report_unreadable_adverse_events_is_refused(nk: Path, tmp_path: Path) -> None:
    # was exit 0 with a safety report that showed no adverse events at all
    trial = copy(nk, tmp_path)
    (trial / "adverse_events.csv").write_bytes(b"")
    r = run("report", "safety", str(trial), "-o", str(tmp_path / "r.html"))
    assert r.exit_code == 2
    assert "adverse_events.csv: RD-001: file is empty" in r.output


def test_report_unreadable_grade_still_reports(nk: Path, tmp_path: Path) -> None:
    # was "Cannot mask with non-boolean array containing NA / NaN values"; then exit
    # 0 with a warning on stderr only: now exit 1 and nothing written, unless
    # --allow-errors, and then the report says so on its title page
    trial = copy(nk, tmp_path)
    edit(trial / "adverse_events.csv", 1, "grade", "abc")
    out = tmp_path / "r.html"
    r = run("report", "safety", str(trial), "-o", str(out))
    assert r.exit_code == 1, r.output
    assert "1 error-level finding(s) in the data (RD-008 1)" in r.output
    assert "adverse_events.csv row 3: grade: RD-008" in r.output
    assert "--allow-errors" in r.output
    assert not out.exists()
    r = run("report", "safety", str(trial), "-o", str(out), "--allow-errors")
    assert r.exit_code == 0, r.output
    assert "--allow-errors: the safety report includes data with 1 error" in r.output
    assert "written with --allow-errors" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("cutoff", ["", "05/02/2024", "2024-02-05T10:00"])
def test_report_cutoff_must_be_iso_date(nk: Path, tmp_path: Path, cutoff: str) -> None:
    # "" was a traceback (NaT); the others were silently read (05/02 as 2 May)
    r = run(
        "report", "safety", str(nk), "-o", str(tmp_path / "r.html"), "--cutoff", cutoff
    )
    assert r.exit_code == 2
    assert "is not a date (YYYY-MM-DD)" in r.output


def test_report_cutoff_out_of_range(nk: Path, tmp_path: Path) -> None:
    # was "Cannot cast 2999-01-01 00:00:00 to unit='ns' without overflow."
    r = run(
        "report",
        "safety",
        str(nk),
        "-o",
        str(tmp_path / "r.html"),
        "--cutoff",
        "2999-01-01",
    )
    assert r.exit_code == 2
    assert "--cutoff '2999-01-01' is outside the supported dates" in r.output


def test_report_output_is_a_folder(nk: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    out.mkdir()
    r = run("report", "safety", str(nk), "-o", str(out))
    assert r.exit_code == 2
    assert f"{out}: cannot write the report" in r.output


def test_escalation_missing_dlt_column_is_refused(nk: Path, tmp_path: Path) -> None:
    # was exit 0 with a dose decision that counted no DLT at all
    trial = copy(nk, tmp_path)
    edit(trial / "adverse_events.csv", 0, "dlt", None)
    r = run("escalation", str(trial))
    assert r.exit_code == 2
    assert "adverse_events.csv, column 'dlt'" in r.output
    assert "the analysis datasets cannot be computed" in r.output


def test_escalation_on_error_findings_exits_1_unless_allowed(
    nk: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # was Python's warning format with the source line of dose_finding.py, then a
    # one-line warning and exit 0: a dose decision on data with errors now needs
    # --allow-errors, and the output says it was given
    trial = copy(nk, tmp_path)
    edit(trial / "adverse_events.csv", 0, "onset_date", "not-a-date")
    r = run("escalation", str(trial))
    assert r.exit_code == 1
    assert r.stdout == ""  # no decision printed
    assert "1 error-level finding(s) in the data (RD-008 1)" in r.stderr
    assert "adverse_events.csv row 2: onset_date: RD-008" in r.stderr
    assert "dose_finding.py" not in r.output + capfd.readouterr().err
    r = run("escalation", str(trial), "--allow-errors")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("Note: --allow-errors: the escalation includes data ")
    r = run("escalation", str(trial), "--format", "json", "--allow-errors")
    assert r.exit_code == 0, r.output
    validation = json.loads(r.stdout)["validation"]
    assert validation["allow_errors"] is True and validation["n_errors"] == 1
    r = run("escalation", str(trial), "--format", "json")
    assert r.exit_code == 1
    assert json.loads(r.stdout) == {
        "decided": False,
        "n_errors": 1,
        "n_warnings": validation["n_warnings"],
        "errors_by_rule": {"RD-008": 1},
        "allow_errors": False,
        "refused": True,
        "examples": validation["examples"],
    }


@pytest.mark.parametrize("where", ["missing/r.txt", "."])
def test_validate_output_not_writable(nk: Path, tmp_path: Path, where: str) -> None:
    # was FileNotFoundError / IsADirectoryError traceback
    out = tmp_path / where
    r = run("validate", str(nk), "--output", str(out))
    assert r.exit_code == 2
    assert "cannot write the report" in r.output


def test_demo_negative_seed(tmp_path: Path) -> None:
    # was a numpy ValueError traceback
    r = run("demo", str(tmp_path / "d"), "--seed", "-1")
    assert r.exit_code == 2
    assert "--seed" in r.output


def test_simulate_skeleton_with_text(tmp_path: Path) -> None:
    # was "design[1]: could not convert string to float: 'a'"
    f = tmp_path / "design.toml"
    f.write_text(
        'n_doses = 3\nn_trials = 5\n[[design]]\nmethod = "CRM"\ntarget = 0.3\n'
        'skeleton = ["a", "b", "c"]\n[scenarios]\nA = [0.1, 0.2, 0.3]\n'
    )
    r = run("simulate", str(f))
    assert r.exit_code == 2
    assert "design[1].skeleton: expected a list of probabilities" in r.output


def test_simulate_unreachable_scheduler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # was an OSError traceback after Dask's 30 s connect timeout
    import analyses.dose_finding

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("Timed out trying to connect to tcp://127.0.0.1:1 after 30 s")

    monkeypatch.setattr(analyses.dose_finding, "simulate_oc", refuse)
    f = tmp_path / "design.toml"
    f.write_text(
        'n_doses = 3\nn_trials = 5\nscheduler = "tcp://127.0.0.1:1"\n[[design]]\n'
        'method = "BOIN"\ntarget = 0.3\n[scenarios]\nA = [0.1, 0.2, 0.3]\n'
    )
    r = run("simulate", str(f))
    assert r.exit_code == 2
    assert "scheduler: cannot use the Dask scheduler 'tcp://127.0.0.1:1'" in r.output


def test_demo_refuses_a_folder_of_other_files(tmp_path: Path) -> None:
    # a mistyped OUTDIR must not overwrite a real upload with synthetic data
    real = tmp_path / "site_upload"
    real.mkdir()
    (real / "subjects.csv").write_text("subject_id\nREAL-001\n")
    r = run("demo", str(real))
    assert r.exit_code == 2
    assert "--force" in r.output
    assert (real / "subjects.csv").read_text() == "subject_id\nREAL-001\n"
    assert not (real / "protocol.toml").exists()
    # an earlier demo may be rewritten (re-running the README's main command)
    again = tmp_path / "demo"
    assert run("demo", str(again)).exit_code == 0
    assert run("demo", str(again)).exit_code == 0
    # --force writes anyway
    assert run("demo", str(real), "--force").exit_code == 0
    assert (real / "protocol.toml").exists()
