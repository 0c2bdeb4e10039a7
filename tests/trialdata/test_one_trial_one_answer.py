"""Regression tests of the defects that made the outputs of one trial disagree.

Each test reproduces one defect reported against the CLI, the report and the API and
checks that every output now states the same number (the `tests/agreement` harness
checks the same on 60 generated trials).
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import trialdata as td
from trialdata.cli import app
from trialdata.demo import write_trial
from trialdata.reports import build_safety_report
from trialdata.reports.json_twin import report_data

ROOT = Path(__file__).resolve().parents[2]


def _upload(folder: Path) -> Path:
    """Write the seven-subject upload of tests/trialdata/cli/test_dose_finding.py."""
    path = ROOT / "tests" / "trialdata" / "cli" / "test_dose_finding.py"
    spec = importlib.util.spec_from_file_location("_dose_finding_upload", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in module.UPLOAD.items():
        (folder / name).write_text(text)
    return folder


def _cli(*args: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def _escalation(folder: Path, *options: str) -> dict[str, Any]:
    # the report is built on the same data, errors included: --allow-errors
    out = _cli(
        "escalation", str(folder), "--format", "json", "--allow-errors", *options
    )
    return json.loads(out.stdout)


def _load(folder: Path) -> td.Trial:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return td.Trial.load(folder)


def _report(folder: Path, cutoff: str | None = None) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return report_data(build_safety_report(_load(folder), data_cutoff=cutoff))


def _dlt_table(report: dict[str, Any]) -> dict[tuple[str, str], float]:
    frame = report["results"]["Dose-limiting toxicities by dose level and route"]
    return {(r["group"], r["stat"]): r["value"] for r in frame["frame"]}


def test_cutoff_excludes_later_doses_and_dlts_in_every_output(tmp_path: Path) -> None:
    # defect 1: the CLI counted a subject first dosed after the cut-off and a DLT
    # dated after it; the report did not. One option name, one rule, one answer.
    folder = _upload(tmp_path / "trial")
    cli = _escalation(folder, "--cutoff", "2026-02-05")
    rows = {r["dose_level"]: r for r in cli["escalations"][0]["dose_levels"]}
    # S04 (02-01) and S05 (02-03) dosed by then; S06 (02-10) not yet
    assert rows[2]["treated"] == 2 and rows[2]["dlt"] == 0
    report = _report(folder, "2026-02-05")
    table = _dlt_table(report)
    level2 = next(g for (g, s) in table if g.startswith("DL2"))
    assert table[(level2, "treated")] == 2.0
    assert table[(level2, "with_dlt")] == 0.0
    assert cli["escalations"] == report["results"]["escalation"]["data"]["escalations"]
    old = CliRunner().invoke(app, ["escalation", str(folder), "--data-cutoff", "x"])
    assert old.exit_code == 2  # the option has one name: --cutoff


def test_dlt_window_is_the_same_study_days_everywhere(tmp_path: Path) -> None:
    # defect 2: an onset on first dose + 28 days counted in `escalation` (days 0-28)
    # but not in the report's DLT table (study days 1-28), while other tables did.
    folder = _upload(tmp_path / "trial")  # S05: first dose 02-03, CRS 03-03 = day 29
    cli = _escalation(folder)
    rows = {r["dose_level"]: r for r in cli["escalations"][0]["dose_levels"]}
    assert rows[2]["dlt"] == 0
    report = _report(folder)
    table = _dlt_table(report)
    level2 = next(g for (g, s) in table if g.startswith("DL2"))
    assert table[(level2, "with_dlt")] == 0.0 and table[(level2, "dlt_events")] == 0.0
    listing = next(
        b
        for s in report["sections"]
        for b in s["blocks"]
        if b.get("title") == "Listing of dose-limiting toxicities"
    )
    assert {r["Subject"] for r in listing["rows"]} == {"S02"}
    data = _load(folder).analysis_data()
    assert not data.adsl.set_index("subject_id").loc["S05", "dlt"]
    assert data.rules["dlt_window"].startswith("study days 1-28")


@pytest.fixture(scope="module")
def ms_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_trial(
        tmp_path_factory.mktemp("ms") / "t", "tolDC-ms", 6, seed=4
    ).folder


def test_route_escalations_are_the_same_in_cli_and_report(ms_small: Path) -> None:
    # defect 3: the CLI decided per route while the report pooled both routes
    cli = _escalation(ms_small)
    assert cli["escalation_by"] == "route"
    assert [g["escalation_group"] for g in cli["escalations"]] == [
        "INTRADERMAL",
        "INTRANODAL",
    ]
    report = _report(ms_small)
    assert cli["escalations"] == report["results"]["escalation"]["data"]["escalations"]
    paragraphs = [
        b["text"]
        for s in report["sections"]
        for b in s["blocks"]
        if b["kind"] == "paragraph" and b["text"].startswith("Design decision")
    ]
    assert len(paragraphs) == 2
    assert "(INTRADERMAL)" in paragraphs[0] and "(INTRANODAL)" in paragraphs[1]


def test_expansion_cohort_is_not_fed_to_the_step_rules(tmp_path: Path) -> None:
    # defect 4: nk-aml, 40 subjects, seed 7: a 34-patient expansion at DL3 with 4
    # DLTs was fed to the 3+3 rules ("too toxic; de-escalate to DL2")
    folder = write_trial(tmp_path / "nk", "nk-aml", 40, seed=7).folder
    data = _load(folder).analysis_data()
    roles = data.adsl["cohort_role"].value_counts()
    assert roles.get("expansion", 0) > 0
    group = data.escalation().group("pooled")
    escalation_only = data.adsl.loc[
        data.adsl["cohort_role"].eq("escalation") & data.adsl["safety"]
    ]
    assert group.table["treated"].sum() == len(escalation_only)
    assert group.table["expansion_treated"].sum() == roles["expansion"]
    assert group.decision is not None and group.decision.action != "de-escalate"
    cli = _escalation(folder)
    assert cli["escalations"][0]["status"] == group.status


def test_a_finished_trial_states_its_mtd_everywhere(tmp_path: Path) -> None:
    # defect 6: on a finished 18-subject tolDC-ms trial `escalation` said "mtd":
    # null and "stay ... next: DL3" while the report said "MTD: DL3"
    folder = write_trial(tmp_path / "ms", "tolDC-ms", 18, seed=1).folder
    cli = _escalation(folder)
    report = _report(folder)
    assert cli["escalations"] == report["results"]["escalation"]["data"]["escalations"]
    for group in cli["escalations"]:
        assert group["status"] == "complete", group
        assert group["mtd_reason"]
        text = _cli("escalation", str(folder)).stdout
        label = "none" if group["mtd"] is None else f"DL{group['mtd']}"
        assert f"MTD: {label}" in text


def test_ms_report_has_no_oncology_endpoint_and_no_empty_tables(
    ms_small: Path,
) -> None:
    # defect 7: the MS report derived PFS with an oncology rule (17 of 18 censored
    # at day 1), showed an all-zero CRS/ICANS/GvHD table and a heading-only page
    report = _report(ms_small)
    titles = [s["title"] for s in report["sections"]]
    assert "Efficacy" not in titles
    assert not [k for k in report["results"] if k.startswith("km_")]
    data = _load(ms_small).analysis_data()
    assert data.adtte.empty and data.rules["endpoints"] == []
    recorded = data.teae["aesi"].dropna()
    if recorded.empty:
        assert "Adverse events of special interest" not in titles
    for section in report["sections"]:
        assert section["blocks"], section["title"]  # no heading-only section
        for block in section["blocks"]:
            if block["kind"] == "table" and "shift" not in block["title"].lower():
                assert block["rows"], block["title"]


def test_clean_demos_follow_their_design(tmp_path: Path) -> None:
    # defect 11: the showcase nk-aml demo escalated after 1/3 DLTs without
    # expanding, and nothing flagged it; XD-023 and the report flag such a cohort
    for archetype, seed in (("nk-aml", 1), ("tolDC-ms", 1), ("nk-aml", 3)):
        folder = write_trial(tmp_path / f"{archetype}{seed}", archetype, seed=seed)
        trial = td.Trial.load(folder.folder)
        assert "XD-023" not in set(trial.findings["rule"])
        assert trial.analysis_data().adherence().n_deviations == 0


def test_a_cohort_dosed_too_high_is_a_finding_and_in_the_report(
    tmp_path: Path,
) -> None:
    folder = write_trial(tmp_path / "nk", "nk-aml", 12, seed=1).folder
    cohorts = pd.read_csv(folder / "cohorts.csv", dtype=str, keep_default_na=False)
    admin = pd.read_csv(
        folder / "administrations.csv", dtype=str, keep_default_na=False
    )
    subjects = pd.read_csv(folder / "subjects.csv", dtype=str, keep_default_na=False)
    second = cohorts["cohort_id"].iloc[1]
    cohorts.loc[cohorts["cohort_id"] == second, "dose_level"] = "3"
    members = subjects.loc[subjects["cohort_id"] == second, "subject_id"]
    dosed = admin["subject_id"].isin(members) & (admin["dose_level"] != "")
    admin.loc[dosed, "dose_level"] = "3"
    admin.loc[dosed, "dose_amount"] = "30"
    cohorts.to_csv(folder / "cohorts.csv", index=False)
    admin.to_csv(folder / "administrations.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trial = td.Trial.load(folder)
    found = trial.findings.loc[trial.findings["rule"] == "XD-023"]
    # the moved cohort skipped DL2 (later cohorts may be flagged too: the design's
    # decisions after the skip differ from the sequence as generated)
    first_dose = admin.loc[admin["subject_id"].isin(members) & dosed].index.min()
    flagged = found.set_index("row")
    assert first_dose + 2 in flagged.index  # CSV row = position + 2 (header row 1)
    moved = flagged.loc[first_dose + 2]
    assert (moved["file"], moved["column"], moved["severity"]) == (
        "administrations.csv",
        "dose_level",
        "warning",
    )
    assert "DL3" in moved["message"] and second in moved["message"]
    cli = _escalation(folder)
    report = _report(folder)
    assert cli["adherence"]["n_deviations"] == len(found)
    assert report["results"]["adherence"]["data"] == cli["adherence"]
