"""Biobank and lab rules XD-004, BB-001, BB-002, BB-003, LB-001."""

from __future__ import annotations

from typing import Any

import pytest

from trialdata.validation.rules.testing import (
    clean_context,
    clean_records,
    findings_set,
    run_rule,
)

SAMPLES = "biobank_samples.csv"


def run(rule: str, changes: list[tuple[str, int, dict[str, Any]]]) -> Any:
    records = clean_records()
    for domain, row, values in changes:
        records[domain][row].update(values)
    return run_rule(rule, clean_context(records))


@pytest.mark.parametrize("rule", ["XD-004", "BB-001", "BB-002", "BB-003", "LB-001"])
def test_quiet_on_clean_upload(rule: str) -> None:
    assert run_rule(rule, clean_context()).empty


def test_xd004_stored_sample_of_withdrawn_subject() -> None:
    found = run("XD-004", [("biobank_samples", 2, {"destroyed_date": None})])
    assert findings_set(found) == {("XD-004", SAMPLES, 4, "destroyed_date")}
    assert set(found["severity"]) == {"warning"}
    assert found["message"][0] == (
        "sample S-02-V1-SER1 is still stored although subject S-02 withdrew consent "
        "on 2024-02-15; destroy it or record why it is kept"
    )


def test_bb001_two_stored_samples_in_one_position() -> None:
    found = run(
        "BB-001", [("biobank_samples", 3, {"storage_position": "LN2/R1/B1/A1"})]
    )
    assert findings_set(found) == {
        ("BB-001", SAMPLES, 3, "storage_position"),
        ("BB-001", SAMPLES, 5, "storage_position"),
    }
    # Sharing the position of a destroyed sample is fine.
    assert run(
        "BB-001", [("biobank_samples", 3, {"storage_position": "F80/R1/B1/A1"})]
    ).empty


def test_bb002_processing_and_freezing_order() -> None:
    found = run(
        "BB-002",
        [
            ("biobank_samples", 1, {"processing_time": "2024-01-10T07:00"}),
            ("biobank_samples", 3, {"freezing_time": "2024-01-15T08:30"}),
        ],
    )
    assert findings_set(found) == {
        ("BB-002", SAMPLES, 3, "processing_time"),
        ("BB-002", SAMPLES, 5, "freezing_time"),
    }


def test_bb003_custody_events_out_of_order() -> None:
    found = run("BB-003", [("custody_events", 2, {"event_time": "2024-01-10T08:30"})])
    assert findings_set(found) == {("BB-003", "custody_events.csv", 4, "event_time")}
    assert found["message"][0] == (
        "custody event 3 of sample S-01-V1-PBMC1 at 2024-01-10T08:30 is before event 2 "
        "at 2024-01-10T09:00"
    )


def test_bb003_order_is_by_event_seq_not_file_order() -> None:
    records = clean_records()
    records["custody_events"].reverse()
    assert run_rule("BB-003", clean_context(records)).empty


def test_lb001_inverted_normal_range() -> None:
    found = run("LB-001", [("labs", 1, {"lower_limit": 60.0})])
    assert findings_set(found) == {("LB-001", "labs.csv", 3, "lower_limit")}
    assert run("LB-001", [("labs", 1, {"lower_limit": 56.0})]).empty
