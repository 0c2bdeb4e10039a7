"""Biobank and lab rules XD-004, BB-001, BB-002, BB-003, LB-001."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trialdata.validation import validate_folder
from trialdata.validation.rules.testing import (
    clean_records,
    clean_upload,
    findings_set,
    run_rule,
)

SAMPLES = "biobank_samples.csv"


def run(rule: str, changes: list[tuple[str, int, dict[str, Any]]]) -> Any:
    records = clean_records()
    for domain, row, values in changes:
        records[domain][row].update(values)
    return run_rule(rule, clean_upload(records))


@pytest.mark.parametrize("rule", ["XD-004", "BB-001", "BB-002", "BB-003", "LB-001"])
def test_quiet_on_clean_upload(rule: str) -> None:
    assert run_rule(rule, clean_upload()).empty


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
    assert run_rule("BB-003", clean_upload(records)).empty


def test_lb001_inverted_normal_range() -> None:
    found = run("LB-001", [("labs", 1, {"lower_limit": 60.0})])
    assert findings_set(found) == {("LB-001", "labs.csv", 3, "lower_limit")}
    assert run("LB-001", [("labs", 1, {"lower_limit": 56.0})]).empty


def test_xd004_withdrawal_is_read_from_the_subjects_first_row() -> None:
    records = clean_records()
    records["biobank_samples"][3]["destroyed_date"] = None  # S-03, not withdrawn
    again = {**records["subjects"][2], "withdrawal_date": "2024-02-01"}
    records["subjects"].append(again)  # a second row of S-03 says withdrawn
    assert run_rule("XD-004", clean_upload(records)).empty
    records["subjects"][2]["withdrawal_date"] = "2024-02-01T10:15"
    found = run_rule("XD-004", clean_upload(records))
    assert findings_set(found) == {("XD-004", SAMPLES, 5, "destroyed_date")}
    assert found["message"][0] == (
        "sample S-03-V1-SER1 is still stored although subject S-03 withdrew consent "
        "on 2024-02-01T10:15; destroy it or record why it is kept"
    )
    assert found["value"].isna().all()


def test_bb001_message_lists_the_stored_samples_in_file_order() -> None:
    found = run(
        "BB-001",
        [
            ("biobank_samples", 3, {"storage_position": "LN2/R1/B1/A1"}),
            ("biobank_samples", 2, {"storage_position": "LN2/R1/B1/A1"}),
        ],
    )
    assert set(found["message"]) == {
        "storage position LN2/R1/B1/A1 holds more than one stored sample "
        "(S-01-V1-PBMC1, S-03-V1-SER1)"
    }
    assert set(found["value"]) == {"LN2/R1/B1/A1"}


def test_bb002_times_are_written_per_pair() -> None:
    # a midnight time is written as a date unless a flagged time of the same pair
    # of columns has a time of day
    found = run(
        "BB-002",
        [
            ("biobank_samples", 1, {"processing_time": "2024-01-09"}),
            ("biobank_samples", 3, {"freezing_time": "2024-01-15T08:30"}),
        ],
    ).sort_values("row")
    assert list(found["value"]) == ["2024-01-09", "2024-01-15T08:30"]
    assert list(found["message"]) == [
        "sample S-01-V1-PBMC1 has processing_time 2024-01-09 before its "
        "collection_time 2024-01-10T08:00",
        "sample S-03-V1-SER1 has freezing_time 2024-01-15T08:30 before its "
        "processing_time 2024-01-15T09:00",
    ]


def test_bb002_same_minute_is_in_order() -> None:
    assert run(
        "BB-002", [("biobank_samples", 1, {"processing_time": "2024-01-10T08:00"})]
    ).empty


def test_bb003_events_without_seq_come_last() -> None:
    # event 2 loses its number: it now follows event 4 (12:00), and is before it
    found = run("BB-003", [("custody_events", 1, {"event_seq": None})])
    assert findings_set(found) == {("BB-003", "custody_events.csv", 3, "event_time")}
    assert found["message"][0] == (
        "custody event - of sample S-01-V1-PBMC1 at 2024-01-10T09:00 is before event "
        "4 at 2024-01-10T12:00"
    )


def rule_findings(folder: Path, rule: str) -> set[tuple]:
    found = validate_folder(folder).findings
    return findings_set(found.loc[found["rule"] == rule])


STORED = (
    "sample_id,subject_id,sample_type,collection_time,storage_position,"
    "freeze_thaw_count,consent_scope,consent_status{destroyed}\n"
    "S-002-V1-SER1,S-002,SERUM,2024-01-11T08:00,F80/A1,0,TRIAL ONLY,ACTIVE{empty}\n"
    "S-002-V1-SER2,S-002,SERUM,2024-01-11T08:00,F80/A1,0,TRIAL ONLY,ACTIVE{empty}\n"
)


def test_stored_means_destroyed_date_empty_not_absent(clean_upload: Path) -> None:
    subjects = (clean_upload / "subjects.csv").read_text()
    withdrawn = subjects.replace("1975,2024-01-03,", "1975,2024-01-03,2024-02-01")
    (clean_upload / "subjects.csv").write_text(withdrawn)
    samples = clean_upload / "biobank_samples.csv"
    samples.write_text(STORED.format(destroyed=",destroyed_date", empty=","))
    both = {(SAMPLES, 2), (SAMPLES, 3)}
    assert {(f, r) for _, f, r, _ in rule_findings(clean_upload, "XD-004")} == both
    assert {(f, r) for _, f, r, _ in rule_findings(clean_upload, "BB-001")} == both
    # a file without the column (RD-002) does not say the samples are stored
    samples.write_text(STORED.format(destroyed="", empty=""))
    assert rule_findings(clean_upload, "XD-004") == set()
    assert rule_findings(clean_upload, "BB-001") == set()


def test_bb003_quiet_when_the_file_lacks_event_seq(clean_upload: Path) -> None:
    events = (
        "sample_id,{seq}event_time,event_type,party,location\n"
        "S-1,{one}2024-01-10T09:00,COLLECTED,lab,lab\n"
        "S-1,{two}2024-01-10T08:00,PROCESSED,lab,lab\n"
    )
    path = clean_upload / "custody_events.csv"
    path.write_text(events.format(seq="event_seq,", one="1,", two="2,"))
    assert rule_findings(clean_upload, "BB-003") == {
        ("BB-003", "custody_events.csv", 3, "event_time")
    }
    path.write_text(events.format(seq="", one="", two=""))
    assert rule_findings(clean_upload, "BB-003") == set()
