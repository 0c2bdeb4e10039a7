"""Progress on stderr: shown on a terminal, silent otherwise or with ``--quiet``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from trialdata.cli import app
from trialdata.demo import write_trial
from trialdata.progress import PROGRESS_ENV, progress_enabled, progress_steps


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def nk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("progress") / "nk"
    write_trial(folder, "nk-aml", None, 0)
    return folder


def test_enabled_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    assert progress_enabled(stream=_Terminal())
    assert not progress_enabled(stream=io.StringIO())  # a pipe, a file, a CI log
    assert not progress_enabled(quiet=True, stream=_Terminal())
    monkeypatch.setenv(PROGRESS_ENV, "1")
    assert progress_enabled(stream=io.StringIO())
    assert not progress_enabled(quiet=True, stream=io.StringIO())  # --quiet wins
    monkeypatch.setenv(PROGRESS_ENV, "0")
    assert not progress_enabled(stream=_Terminal())


def test_steps_are_drawn_into_a_console() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with progress_steps(console=console) as step:
        step("reading labs.csv")
        step("storing site RTD (2 of 2, 662 rows)")
    drawn = out.getvalue()
    assert "reading labs.csv" in drawn
    assert "storing site RTD (2 of 2, 662 rows)" in drawn


def test_quiet_draws_nothing_even_into_a_console() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with progress_steps(quiet=True, console=console) as step:
        step("reading labs.csv")
    assert out.getvalue() == ""


def test_silent_runs_never_import_rich(nk: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != PROGRESS_ENV}
    code = (
        "import contextlib, io, sys\n"
        "from trialdata.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main(['validate', {str(nk)!r}])\n"
        "    except SystemExit as done:\n"
        "        assert done.code == 0, done.code\n"
        "print('rich' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"  # stderr is a pipe here: no display
    assert done.stderr == ""


def test_report_progress_silent_on_a_pipe_and_shown_when_forced(
    nk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    out = tmp_path / "r.html"
    args = ["report", "safety", str(nk), "-o", str(out)]
    silent = CliRunner().invoke(app, args)
    assert silent.exit_code == 0, silent.output
    assert silent.stderr == f"trialdata: safety report written to {out}\n"
    monkeypatch.setenv(PROGRESS_ENV, "1")
    shown = CliRunner().invoke(app, [*args, "--format", "json"])
    assert shown.exit_code == 0, shown.output
    for step in (f"validating {nk}", "building the safety report", "writing r.html"):
        assert step in shown.stderr
    assert json.loads(shown.stdout)["written"] is True  # stdout stays parseable
    quiet = CliRunner().invoke(app, [*args, "--quiet"])
    assert quiet.exit_code == 0
    assert "building" not in quiet.stderr


def test_ingest_and_simulate_show_their_steps_when_forced(
    nk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROGRESS_ENV, "1")
    store = str(tmp_path / "s.sqlite")
    result = CliRunner().invoke(
        app, ["ingest", str(nk), "--split-sites", "--store", store]
    )
    assert result.exit_code == 0, result.output
    assert "storing site NMG (1 of 2" in result.stderr
    assert "storing site RTD (2 of 2" in result.stderr
    design = tmp_path / "design.toml"
    design.write_text(
        'n_doses = 3\nn_trials = 20\n[[design]]\nmethod = "BOIN"\ntarget = 0.3\n'
        "[scenarios]\nA = [0.1, 0.2, 0.3]\n"
    )
    result = CliRunner().invoke(app, ["simulate", str(design), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "simulating 20 trials x 1 design(s) x 1 scenario(s)" in result.stderr
    assert json.loads(result.stdout)["results"]
    result = CliRunner().invoke(app, ["simulate", str(design), "-q"])
    assert result.exit_code == 0 and result.stderr == ""
