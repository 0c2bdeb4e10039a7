"""Adverse-event rules AE-001 to AE-005."""

from __future__ import annotations

from typing import Any

import pytest

from trialdata.validation.rules.adverse_events import SERIOUSNESS_CRITERIA
from trialdata.validation.rules.testing import (
    clean_context,
    clean_records,
    findings_set,
    run_rule,
)

AE = "adverse_events.csv"


def run(rule: str, row: int, **values: Any) -> Any:
    records = clean_records()
    records["adverse_events"][row].update(values)
    return run_rule(rule, clean_context(records))


@pytest.mark.parametrize("rule", ["AE-001", "AE-002", "AE-003", "AE-004", "AE-005"])
def test_quiet_on_clean_upload(rule: str) -> None:
    assert run_rule(rule, clean_context()).empty


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
    assert run_rule("AE-002", clean_context(records)).empty


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
