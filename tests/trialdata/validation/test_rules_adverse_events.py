"""Adverse-event rules AE-001 to AE-005."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from trialdata.demo import write_trial
from trialdata.validation import validate_folder
from trialdata.validation.rules._adverse_events import SERIOUSNESS_CRITERIA
from trialdata.validation.rules.testing import (
    clean_records,
    clean_upload,
    findings_set,
    run_rule,
)

AE = "adverse_events.csv"


def run(rule: str, row: int, **values: Any) -> Any:
    records = clean_records()
    records["adverse_events"][row].update(values)
    return run_rule(rule, clean_upload(records))


@pytest.mark.parametrize("rule", ["AE-001", "AE-002", "AE-003", "AE-004", "AE-005"])
def test_quiet_on_clean_upload(rule: str) -> None:
    assert run_rule(rule, clean_upload()).empty


def test_ae001_resolution_before_onset() -> None:
    found = run("AE-001", 0, resolution_date="2024-01-09")
    assert findings_set(found) == {("AE-001", AE, 2, "resolution_date")}
    assert found["message"][0] == (
        "AE 1 (redness) of subject S-01 resolves on 2024-01-09, before its onset on "
        "2024-01-11"
    )
    assert run("AE-001", 0, resolution_date="2024-01-11").empty
    assert run("AE-001", 0, resolution_date=None).empty


def test_ae002_serious_without_criterion() -> None:
    found = run("AE-002", 1, ser_hospitalisation=False)
    assert findings_set(found) == {("AE-002", AE, 3, "serious")}


def test_ae002_quiet_without_criterion_columns() -> None:
    records = clean_records()
    for event in records["adverse_events"]:
        for criterion in SERIOUSNESS_CRITERIA:
            del event[criterion]
    assert run_rule("AE-002", clean_upload(records)).empty


def test_ae003_criterion_without_serious() -> None:
    found = run("AE-003", 0, ser_medically_important=True, ser_disability=True)
    assert findings_set(found) == {("AE-003", AE, 2, "serious")}
    assert found["message"][0] == (
        "AE 1 (redness) of subject S-01 has serious = N but ser_disability, "
        "ser_medically_important = Y"
    )


def test_ae004_fatal_and_grade_5_go_together() -> None:
    assert findings_set(run("AE-004", 3, outcome="RECOVERED/RESOLVED")) == {
        ("AE-004", AE, 5, "outcome")
    }
    assert findings_set(run("AE-004", 0, outcome="FATAL")) == {
        ("AE-004", AE, 2, "outcome")
    }
    assert run("AE-004", 0, outcome="DEAD").empty  # not a term: SC-TERM reports it


def test_ae005_scale_does_not_fit_event() -> None:
    astct = run("AE-005", 0, grading_scale="ASTCT")
    assert findings_set(astct) == {("AE-005", AE, 2, "grading_scale")}
    assert set(astct["severity"]) == {"warning"}
    assert "AESI is not recorded" in astct["message"][0]
    assert findings_set(run("AE-005", 2, grading_scale="MAGIC")) == {
        ("AE-005", AE, 4, "grading_scale")
    }
    # CRS graded on CTCAE is allowed (CTCAE v5 has a CRS term).
    assert run("AE-005", 2, grading_scale="CTCAE").empty


def test_ae001_compares_calendar_days() -> None:
    onset = "2024-01-11T23:30"
    assert run("AE-001", 0, onset_date=onset, resolution_date="2024-01-11T08:00").empty
    found = run("AE-001", 0, onset_date=onset, resolution_date="2024-01-10T08:00")
    assert findings_set(found) == {("AE-001", AE, 2, "resolution_date")}
    assert found["value"][0] == "2024-01-10T08:00"
    assert found["message"][0] == (
        "AE 1 (redness) of subject S-01 resolves on 2024-01-10T08:00, before its "
        "onset on 2024-01-11T23:30"
    )
    assert run("AE-001", 0, onset_date=None, resolution_date="2024-01-01").empty


def test_ae002_names_the_criterion_columns_present() -> None:
    records = clean_records()
    for event in records["adverse_events"]:
        del event["ser_death"], event["ser_disability"]
    records["adverse_events"][1]["ser_hospitalisation"] = False
    found = run_rule("AE-002", clean_upload(records))
    # S-03's death was its only criterion: without ser_death it has none
    assert findings_set(found) == {
        ("AE-002", AE, 3, "serious"),
        ("AE-002", AE, 5, "serious"),
    }
    assert found["value"].tolist() == ["Y", "Y"]
    assert found["message"][0] == (
        "AE 2 (fever) of subject S-01 is serious but no seriousness criterion "
        "(ser_life_threatening, ser_hospitalisation, ser_congenital_anomaly, "
        "ser_medically_important) is Y"
    )


def test_ae002_ae003_missing_values() -> None:
    # a missing criterion is not met; a missing serious is neither Y nor N
    assert findings_set(run("AE-002", 1, ser_hospitalisation=None)) == {
        ("AE-002", AE, 3, "serious")
    }
    assert run("AE-002", 1, serious=None, ser_hospitalisation=False).empty
    assert run("AE-003", 0, serious=None, ser_disability=True).empty
    found = run("AE-003", 0, ser_disability=True)
    assert found["value"].tolist() == ["N"]


def test_ae004_message_and_values_checked_elsewhere() -> None:
    found = run("AE-004", 0, outcome="FATAL")
    assert found["message"][0] == (
        "AE 1 (redness) of subject S-01 has outcome FATAL with grade 1; FATAL goes "
        "with grade 5 and grade 5 with FATAL"
    )
    assert found["value"].tolist() == ["FATAL"]
    # a grade outside 1-5 or missing is reported by the schema check (SC-RANGE)
    assert run("AE-004", 0, outcome="FATAL", grade=7).empty
    assert run("AE-004", 0, outcome="FATAL", grade=None).empty
    assert run("AE-004", 3, outcome=None).empty


def test_ae005_fitting_scales_and_unknown_aesi() -> None:
    assert run("AE-005", 2, aesi="ICANS").empty
    assert run("AE-005", 2, grading_scale="MAGIC", aesi="GVHD").empty
    assert run("AE-005", 0, grading_scale="ASTCT", aesi="crs").empty  # SC-TERM's
    assert run("AE-005", 0, grading_scale=None).empty
    found = run("AE-005", 2, grading_scale="MAGIC")
    assert found["value"].tolist() == ["MAGIC"]
    assert found["message"][0] == (
        "AE 1 (CRS) of subject S-02 is graded on MAGIC but its AESI is CRS (ASTCT is "
        "for CRS and ICANS, MAGIC for GVHD)"
    )


def test_columns_the_file_lacks_are_not_checked(tmp_path: Path) -> None:
    folder = write_trial(tmp_path / "upload", "nk-aml", 8, seed=2).folder
    path = folder / "adverse_events.csv"
    events = pd.read_csv(path, dtype=str, keep_default_na=False)
    events.loc[0, ["serious", "grading_scale", "aesi"]] = ["Y", "ASTCT", ""]
    events.loc[0, list(SERIOUSNESS_CRITERIA)] = "N"
    events.to_csv(path, index=False)

    def fired() -> set[tuple[str, int | None]]:
        found = validate_folder(folder).findings
        rules = found[found["rule"].isin(["AE-002", "AE-003", "AE-005"])]
        return {(rule, row) for rule, _, row, _ in findings_set(rules)}

    assert fired() == {("AE-002", 2), ("AE-005", 2)}
    # the runner adds absent columns as missing values: not a missing criterion,
    # nor a missing AESI on every row
    events.drop(columns=["aesi", *SERIOUSNESS_CRITERIA]).to_csv(path, index=False)
    assert fired() == set()
