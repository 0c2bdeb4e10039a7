"""``trialdata dictionary`` and ``trialdata template`` on the command line."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from trialdata.cli import app


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_dictionary_to_stdout_and_files(demo_source: Path, tmp_path: Path) -> None:
    code, out, _ = _run("dictionary", "--format", "json")
    assert code == 0
    generic = json.loads(out)
    assert generic["protocol"] is None and generic["format_version"] == 1
    protocol = str(demo_source / "protocol.toml")
    code, out, _ = _run("dictionary", "--protocol", protocol, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    site = next(r for r in rows if r["column"] == "site_id")
    assert site["allowed_values"] == "NMG | RTD"
    target = tmp_path / "dictionary.xlsx"  # format from the file's ending
    code, _, err = _run("dictionary", "--protocol", protocol, "--output", str(target))
    assert code == 0
    assert f"written to {target}" in err and "replaced" not in err
    assert load_workbook(target).sheetnames[0] == "overview"
    code, _, err = _run("dictionary", "--output", str(target))
    assert code == 0 and "(replaced the earlier file)" in err
    page = tmp_path / "dictionary.page"
    code, _, _ = _run("dictionary", "--format", "html", "--output", str(page))
    assert code == 0 and page.read_text().startswith("<!DOCTYPE html>")


def test_dictionary_usage_errors_exit_2(tmp_path: Path) -> None:
    cases = [
        (["--format", "pdf"], "pdf"),
        (["--format", "xlsx"], "give --output FILE.xlsx"),
        (["--output", str(tmp_path / "d.txt")], "give --format"),
        (["--format", "html", "--output", str(tmp_path / "d.json")], "does not match"),
        (["--format", "json", "--protocol", str(tmp_path / "none.toml")], "none.toml"),
        (
            ["--format", "json", "--output", str(tmp_path / "no" / "d.json")],
            "does not exist",
        ),
    ]
    for arguments, message in cases:
        code, out, err = _run("dictionary", *arguments)
        assert code == 2, arguments
        assert message in err, (arguments, err)
        assert "Traceback" not in err + out
    broken = tmp_path / "protocol.toml"
    broken.write_text('[trial]\nid = "X"\n')
    code, _, err = _run("dictionary", "--protocol", str(broken), "--format", "json")
    assert code == 2 and str(broken) in err and "Traceback" not in err


def test_dictionary_refuses_to_write_through_a_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.html"
    target.write_text("kept")
    link = tmp_path / "dictionary.html"
    link.symlink_to(target)
    code, _, err = _run("dictionary", "--output", str(link))
    assert code == 2 and "symbolic link" in err
    assert target.read_text() == "kept" and link.is_symlink()


def test_template_writes_a_folder_validate_reads(
    demo_source: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "upload"
    protocol = demo_source / "protocol.toml"
    code, out, _ = _run(
        "template", "--output", str(folder), "--protocol", str(protocol)
    )
    assert code == 0
    assert f"wrote {folder / 'subjects.xlsx'}" in out
    assert (folder / "protocol.toml").read_bytes() == protocol.read_bytes()
    assert len(list(folder.glob("*.xlsx"))) == 12
    code, out, _ = _run("validate", str(folder), "--format", "json")
    assert code == 1  # required domains without records: XD-025 only
    assert {f["rule"] for f in json.loads(out)["findings"]} == {"XD-025"}
    code, _, err = _run("template", "--output", str(folder))
    assert code == 2 and "already holds" in err
    code, out, _ = _run(
        "template",
        "--output",
        str(folder),
        "--domain",
        "labs",
        "--force",
        "--format",
        "json",
    )
    assert code == 0
    document = json.loads(out)
    assert document["files"] == [{"path": str(folder / "labs.xlsx"), "replaced": True}]


def test_template_usage_errors_exit_2(tmp_path: Path) -> None:
    code, _, err = _run("template")
    assert code == 2 and "--output" in err
    code, _, err = _run("template", "--output", str(tmp_path / "t"), "--domain", "x")
    assert code == 2 and "unknown domain x" in err
    code, _, err = _run(
        "template", "--output", str(tmp_path / "t"), "--protocol", str(tmp_path / "p")
    )
    assert code == 2 and "cannot read file" in err
    assert not (tmp_path / "t").exists()


def test_commands_load_nothing_heavy_at_start_up() -> None:
    # the schemas, openpyxl and the rules come with the site_kit modules, which the
    # commands import when they run
    script = (
        "import sys, trialdata.cli.site_files;"
        "heavy = [m for m in sys.modules if m.startswith('trialdata.site_kit.')];"
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
