"""``trialdata simulate`` and ``trialdata escalation`` through typer's CliRunner."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import warnings
from pathlib import Path
from types import ModuleType
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
        (
            'n_doses = 5\n[[design]]\nmethod = "TITE-CRM"\ntarget = 0.3\n'
            "skeleton = [0.1, 0.2, 0.3, 0.4, 0.5]\narrival_interval = 7\n" + TAIL,
            "design[1].obswin",
        ),
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


UPLOAD = {
    "protocol.toml": (
        "dlt_window_days = 28\n"
        'routes = ["INTRADERMAL"]\n'
        "\n"
        "[trial]\n"
        'id = "DF-TEST"\n'
        'title = "dose finding test"\n'
        'protocol_version = "1"\n'
        "\n"
        "[design]\n"
        'method = "BOIN"\n'
        "target_dlt_rate = 0.3\n"
        "cohort_size = 3\n"
        "max_subjects = 18\n"
        "\n"
        "[[dose_levels]]\n"
        "level = 1\n"
        "amount = 1\n"
        'unit = "10^6 cells/kg"\n'
        "\n"
        "[[dose_levels]]\n"
        "level = 2\n"
        "amount = 3\n"
        'unit = "10^6 cells/kg"\n'
        "\n"
        "[[dose_levels]]\n"
        "level = 3\n"
        "amount = 10\n"
        'unit = "10^6 cells/kg"\n'
        "\n"
        "[[sites]]\n"
        'id = "S1"\n'
        'name = "Site 1"\n'
    ),
    "subjects.csv": (
        "subject_id,site_id,cohort_id,sex,consent_date,withdrawal_date\n"
        "S01,S1,C1,F,2025-12-01,\n"
        "S02,S1,C1,M,2025-12-02,\n"
        "S03,S1,C1,F,2025-12-03,2026-01-20\n"
        "S04,S1,C2,M,2026-01-10,\n"
        "S05,S1,C2,F,2026-01-11,\n"
        "S06,S1,C2,M,2026-01-12,\n"
        "S07,S1,C3,F,2026-02-20,\n"
    ),
    "cohorts.csv": (
        "cohort_id,dose_level,route\n"
        "C1,1,INTRADERMAL\n"
        "C2,2,INTRADERMAL\n"
        "C3,3,INTRADERMAL\n"
    ),
    "administrations.csv": (
        "subject_id,admin_seq,admin_date,given,reason_not_given,dose_level,dose_amount,dose_unit,route,lot_id\n"
        "S01,1,2026-01-01,Y,,1,1,10^6 cells/kg,INTRADERMAL,L01\n"
        "S01,2,2026-02-15,Y,,1,1,10^6 cells/kg,INTRADERMAL,L01\n"
        "S02,1,2026-01-05,Y,,1,1,10^6 cells/kg,INTRADERMAL,L02\n"
        "S03,1,2026-01-08,Y,,1,1,10^6 cells/kg,INTRADERMAL,L03\n"
        "S04,1,,N,product not available,,,,,\n"
        "S04,2,2026-02-01,Y,,2,3,10^6 cells/kg,INTRADERMAL,L04\n"
        "S05,1,2026-02-03,Y,,2,3,10^6 cells/kg,INTRADERMAL,L05\n"
        "S06,1,2026-02-10,Y,,2,3,10^6 cells/kg,INTRADERMAL,L06\n"
        "S07,1,,N,withdrew before dosing,,,,,\n"
    ),
    "adverse_events.csv": (
        "subject_id,ae_seq,term,preferred_term,soc,onset_date,resolution_date,grade,grading_scale,grading_version,serious,relatedness,outcome,action_taken,dlt,aesi\n"
        "S02,1,fever,Pyrexia,General disorders and administration site conditions,2026-01-20,2026-01-25,3,CTCAE,5.0,N,POSSIBLY RELATED,RECOVERED/RESOLVED,DOSE NOT CHANGED,Y,\n"
        "S04,1,rash,Rash,Skin and subcutaneous tissue disorders,2026-03-15,2026-03-20,3,CTCAE,5.0,N,POSSIBLY RELATED,RECOVERED/RESOLVED,DOSE NOT CHANGED,Y,\n"
        "S05,1,cytokine release,Cytokine release syndrome,Immune system disorders,2026-03-03,,3,ASTCT,2019,Y,PROBABLY RELATED,RECOVERING/RESOLVING,NOT APPLICABLE,Y,CRS\n"
        "S01,1,headache,Headache,Nervous system disorders,2026-01-03,2026-01-04,1,CTCAE,5.0,N,NOT RELATED,RECOVERED/RESOLVED,DOSE NOT CHANGED,N,\n"
    ),
}


def _escalation_json(app: typer.Typer, folder: Path, *options: str) -> dict:
    # the upload's two DLTs outside the window are XD-009 errors: --allow-errors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = run(
            app,
            "escalation",
            str(folder),
            "--format",
            "json",
            "--allow-errors",
            *options,
        )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["validation"]["allow_errors"] and out["validation"]["n_errors"] >= 1
    return out


def test_escalation_end_to_end(app: typer.Typer, tmp_path: Path) -> None:
    """A seven-subject upload through Trial.load, counted by hand.

    Cut-off: the latest date in the data, 2026-03-20 (S04's AE resolution). DLT
    window: study days 1-28, i.e. onset 0-27 days after the first given dose.
    DL1: S01 (first dose 01-01) followed to the cut-off, evaluable; S02 (01-05) DLT
    on day 16; S03 (01-08) withdrawn 01-20 before its window ended (02-04): not
    evaluable -> treated 3, evaluable 2, DLT 1.
    DL2: S04 (02-01; S04's first row was not given) rash on day 43, outside; S05
    (02-03) CRS on 03-03 = day 29, outside; S06 (02-10) window ends 03-09 <= cut-off
    -> treated 3, evaluable 3, DLT 0. BOIN at DL2 with 0/3: escalate to DL3.
    """
    for name, text in UPLOAD.items():
        (tmp_path / name).write_text(text)
    out = _escalation_json(app, tmp_path)
    assert out["cutoff"] == "2026-03-20"
    group = out["escalations"][0]
    assert group["escalation_group"] == "pooled"
    rows = {d["dose_level"]: d for d in group["dose_levels"]}
    assert [
        (rows[k]["treated"], rows[k]["evaluable"], rows[k]["dlt"]) for k in (1, 2, 3)
    ] == [(3, 2, 1), (3, 3, 0), (0, 0, 0)]
    assert rows[1]["not_evaluable"] == 1
    assert (group["action"], group["current_dose"], group["next_dose"]) == (
        "escalate",
        2,
        3,
    )
    assert group["status"] == "ongoing" and group["mtd"] is None
    # BOIN estimates (isotonic): 1/2 at dose 1, 0/3 at dose 2 pooled to 1/5 each
    est = {e["dose"]: e for e in group["estimates"]} if group["estimates"] else {}
    assert est == {}  # no final estimate while the escalation is ongoing

    # cut-off 2026-03-01: S04 (window end 02-28) evaluable; S05 (03-02) and S06
    # (03-09) still in their windows: DL2 treated 3, evaluable 1, pending 2
    out = _escalation_json(app, tmp_path, "--cutoff", "2026-03-01")
    assert out["cutoff"] == "2026-03-01"
    group = out["escalations"][0]
    rows = {d["dose_level"]: d for d in group["dose_levels"]}
    assert (rows[2]["treated"], rows[2]["evaluable"], rows[2]["pending"]) == (3, 1, 2)
    assert "2 treated subject(s) still within the DLT window" in group["note"]

    # an onset exactly on the window's last day counts; one day later does not
    shifted = UPLOAD["adverse_events.csv"].replace("2026-03-03", "2026-03-02")
    (tmp_path / "adverse_events.csv").write_text(shifted)
    group = _escalation_json(app, tmp_path)["escalations"][0]
    assert {d["dose_level"]: d["dlt"] for d in group["dose_levels"]}[2] == 1


def test_escalation_cutoff_option_named_as_in_report(
    app: typer.Typer, tmp_path: Path
) -> None:
    for name, text in UPLOAD.items():
        (tmp_path / name).write_text(text)
    r = run(app, "escalation", str(tmp_path), "--cutoff", "2026-13-01")
    assert r.exit_code == 2 and "cutoff" in r.stderr
    assert "Traceback" not in r.output


def test_escalation_missing_folder(app: typer.Typer, tmp_path: Path) -> None:
    r = run(app, "escalation", str(tmp_path / "nowhere"))
    assert r.exit_code == 2
    assert "Traceback" not in r.output
