"""Demo uploads through validate_folder and the CLI: clean is clean, dirty is exact."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from trialdata.cli import app
from trialdata.demo import ANSWER_KEY, write_trial
from trialdata.validation import validate_folder


def found(findings: pd.DataFrame) -> set[tuple]:
    rows = [None if pd.isna(r) else int(r) for r in findings["row"]]
    return set(
        zip(findings["rule"], findings["file"], rows, findings["column"], strict=True)
    )


@pytest.mark.parametrize(
    ("archetype", "seed", "subjects"),
    [("tolDC-ms", 0, None), ("nk-aml", 0, None), ("nk-aml", 11, 30)],
)
def test_clean_demo_has_no_findings(
    tmp_path: Path, archetype: str, seed: int, subjects: int | None
) -> None:
    upload = write_trial(tmp_path, archetype, subjects, seed=seed)
    report = validate_folder(upload.folder)
    assert report.findings.empty, report.findings[["rule", "file", "row", "message"]]
    assert (tmp_path / "product_lots.xlsx").is_file()
    assert not (tmp_path / ANSWER_KEY).exists()


@pytest.mark.parametrize(
    ("archetype", "seed", "subjects"),
    [
        ("tolDC-ms", 1, None),
        ("tolDC-ms", 5, 9),
        ("nk-aml", 1, None),
        ("nk-aml", 5, 9),
    ],
)
def test_injected_errors_are_found_exactly(
    tmp_path: Path, archetype: str, seed: int, subjects: int | None
) -> None:
    upload = write_trial(tmp_path, archetype, subjects, seed, inject=True)
    key = json.loads((tmp_path / ANSWER_KEY).read_text())
    expected = {(e["rule"], e["file"], e["row"], e["column"]) for e in key}
    assert expected == {(e.rule, e.file, e.row, e.column) for e in upload.expected}
    assert len({e[0] for e in expected}) >= 17
    report = validate_folder(upload.folder)
    assert found(report.findings) == expected


def test_cli_demo_then_validate(tmp_path: Path) -> None:
    runner = CliRunner()
    clean, dirty = tmp_path / "clean", tmp_path / "dirty"
    result = runner.invoke(
        app,
        ["demo", str(clean), "--archetype", "nk-aml", "--subjects", "8", "--seed", "2"],
    )
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["validate", str(clean)]).exit_code == 0
    result = runner.invoke(
        app, ["demo", str(dirty), "--subjects", "10", "--inject-errors"]
    )
    assert result.exit_code == 0, result.output
    assert (dirty / ANSWER_KEY).is_file()
    assert runner.invoke(app, ["validate", str(dirty)]).exit_code == 1


def test_cli_demo_refuses_injection_into_a_tiny_trial(tmp_path: Path) -> None:
    from trialdata.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["demo", str(tmp_path), "--subjects", "3", "--inject-errors"])
    assert stop.value.code == 2


def test_refuses_a_folder_with_other_data_files(tmp_path: Path) -> None:
    write_trial(tmp_path, "tolDC-ms", 4, seed=1)
    write_trial(tmp_path, "tolDC-ms", 5, seed=2)  # same files: overwritten
    with pytest.raises(FileExistsError, match=r"mri\.csv"):
        write_trial(tmp_path, "nk-aml", 4, seed=1)
