"""``trialdata simulate`` and ``trialdata escalation`` through typer's CliRunner."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[3]


def _module() -> ModuleType:
    try:
        return importlib.import_module("trialdata.cli.dose_finding")
    except ImportError:
        # the package's COMMAND_MODULES may list a module not written yet: load ours
        # by path so its own behaviour is still tested
        path = ROOT / "trialdata" / "cli" / "dose_finding.py"
        spec = importlib.util.spec_from_file_location("_td_cli_dose_finding", path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        return mod


CLI = _module()


@pytest.fixture
def app() -> typer.Typer:
    a = typer.Typer()
    CLI.register(a)
    return a


def run(app: typer.Typer, *args: str) -> Any:
    return CliRunner().invoke(app, list(args))


GOOD = """
n_doses = 5
n_trials = 40
seed = 3

[[design]]
method = "BOIN"
target = 0.3

[[design]]
method = "3+3"
name = "three"

[[design]]
method = "CRM"
target = 0.3
skeleton = { halfwidth = 0.05, nu = 3 }

[scenarios]
zero = [0, 0, 0, 0, 0]
"""


def test_simulate_json_numbers(app: typer.Typer, tmp_path: Path) -> None:
    # no DLT possible: BOIN treats (3, 3, 3, 3, 18) and selects dose 5 (see
    # test_simulation.test_no_toxicity_by_hand); 3+3 passes every dose with 0/3 and
    # selects dose 5 after 15 patients
    f = tmp_path / "design.toml"
    f.write_text("target = 0.3\n" + GOOD)
    r = run(app, "simulate", str(f), "--format", "json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    res = pd.DataFrame(out["results"])
    boin = res[(res["design"] == "BOIN") & (res["stat"] == "mean_n")]
    assert boin["value"].tolist() == [3, 3, 3, 3, 18]
    three = res[(res["design"] == "three") & (res["stat"] == "pct_select")]
    assert three.set_index("dose")["value"][5] == 100.0
    tot = res[(res["design"] == "three") & (res["stat"] == "mean_total_n")]
    assert tot["value"].item() == 15
    assert out["provenance"]["parameters"]["n_trials"] == 40
    r = run(app, "simulate", str(f))
    assert r.exit_code == 0
    assert "Scenario zero" in r.stdout and "% selected as MTD" in r.stdout


HEAD = 'n_doses = 5\n[[design]]\nmethod = "BOIN"\n'
TAIL = "[scenarios]\nA = [0, 0, 0, 0, 0]\n"


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ('n_doses = 5\n[[design]]\nmethod = "XYZ"\n' + TAIL, "design[1].method"),
        (HEAD + TAIL, "design[1].target"),
        (HEAD + "target = 0.3\nfoo = 1\n" + TAIL, "design[1].foo"),
        (HEAD + "target = 0.3\n[scenarios]\nA = [0, 0, 0]\n", "scenarios.A"),
        (HEAD + "target = 1.3\n" + TAIL, "design[1]"),
        (HEAD + 'target = 0.3\ncohort_size = "3"\n' + TAIL, "design[1].cohort_size"),
        ("n_trials = 0\n" + HEAD + "target = 0.3\n" + TAIL, "n_trials"),
        ('[[design]]\nmethod = "BOIN"\ntarget = 0.3\n' + TAIL, "n_doses"),
        ('n_doses = 5\n[[design]]\nmethod = "3+3"\n' + TAIL, "target"),
        ("n_doses = [", "not valid TOML"),
    ],
)
def test_simulate_bad_input_exit_2(
    app: typer.Typer, tmp_path: Path, content: str, field: str
) -> None:
    f = tmp_path / "design.toml"
    f.write_text(content)
    r = run(app, "simulate", str(f))
    assert r.exit_code == 2
    assert field in r.stderr
    assert "Traceback" not in r.output


def test_simulate_missing_file(app: typer.Typer, tmp_path: Path) -> None:
    r = run(app, "simulate", str(tmp_path / "nope.toml"))
    assert r.exit_code == 2
    assert "cannot read file" in r.stderr


def test_escalation_command(app: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Trial.load is replaced by the seven-subject trial of test_dose_level_table:
    dose 2 has 1 DLT in 2 evaluable subjects, one subject pending; BOIN de-escalates."""
    from schemas.protocol import parse_protocol

    sys.path.insert(0, str(ROOT / "tests" / "analyses" / "dose_finding"))
    try:
        conftest = importlib.import_module("conftest")
    finally:
        sys.path.pop(0)
    protocol = parse_protocol(conftest.protocol_data(["INTRADERMAL"]))
    tables = conftest.trial_tables.__wrapped__()
    trial_mod = importlib.import_module("trialdata.trial")
    monkeypatch.setattr(
        trial_mod.Trial,
        "load",
        classmethod(
            lambda cls, folder: SimpleNamespace(protocol=protocol, tables=tables)
        ),
    )
    r = run(app, "escalation", "some-folder")
    assert r.exit_code == 0, r.output
    assert "de-escalate from dose level 2" in r.stdout
    assert "1 treated subject(s) still within the DLT window" in r.stdout
    r = run(app, "escalation", "some-folder", "--format", "json")
    out = json.loads(r.stdout)
    assert out["decisions"][0]["next_dose"] == 1
    level2 = next(d for d in out["dose_levels"] if d["dose_level"] == 2)
    assert (level2["treated"], level2["evaluable"], level2["dlt"]) == (3, 2, 1)
    r = run(app, "escalation", "some-folder", "--data-cutoff", "2026-13-01")
    assert r.exit_code == 2 and "--data-cutoff" in r.stderr
