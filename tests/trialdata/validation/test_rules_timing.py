"""Timing rules XD-002, XD-003, XD-010, XD-009, XD-011, XD-021."""

from __future__ import annotations

from typing import Any

import pytest

from trialdata.validation.rules.testing import (
    BASE_PROTOCOL,
    clean_context,
    clean_records,
    findings_set,
    run_rule,
)


def run(rule: str, changes: list[tuple[str, int, dict[str, Any]]], **kw: Any) -> Any:
    records = clean_records()
    for domain, row, values in changes:
        records[domain][row].update(values)
    return run_rule(rule, clean_context(records, **kw))


@pytest.mark.parametrize(
    "rule", ["XD-002", "XD-003", "XD-010", "XD-009", "XD-011", "XD-021"]
)
def test_quiet_on_clean_upload(rule: str) -> None:
    # The clean upload has a screening lab on the consent day, a DLT on day 10, a
    # death with the last known alive date on the day of death.
    assert run_rule(rule, clean_context()).empty


def test_xd002_records_before_consent() -> None:
    found = run(
        "XD-002",
        [
            ("adverse_events", 0, {"onset_date": "2023-12-30"}),
            ("biobank_samples", 0, {"collection_time": "2024-01-01T23:30"}),
        ],
    )
    assert findings_set(found) == {
        ("XD-002", "adverse_events.csv", 2, "onset_date"),
        ("XD-002", "biobank_samples.csv", 2, "collection_time"),
    }
    assert (
        "onset_date 2023-12-30 is before subject S-01's consent on 2024-01-02"
        in set(found["message"])
    )


def test_xd002_quiet_when_date_missing() -> None:
    assert run("XD-002", [("adverse_events", 0, {"onset_date": None})]).empty


def test_xd003_dose_and_sample_after_withdrawal() -> None:
    dose = {
        "given": True,
        "admin_date": "2024-02-20",
        "reason_not_given": None,
        "dose_level": 2,
        "dose_amount": 10.0,
        "dose_unit": "10^6 cells",
        "route": "INTRANODAL",
        "lot_id": "L-02",
    }
    found = run(
        "XD-003",
        [
            ("administrations", 3, dose),
            ("immunomonitoring", 1, {"collection_date": "2024-02-16"}),
        ],
    )
    assert findings_set(found) == {
        ("XD-003", "administrations.csv", 5, "admin_date"),
        ("XD-003", "immunomonitoring.csv", 3, "collection_date"),
    }
    # On the day of withdrawal is not after it.
    assert run(
        "XD-003", [("immunomonitoring", 1, {"collection_date": "2024-02-15"})]
    ).empty


def test_xd010_records_after_death() -> None:
    records = clean_records()
    records["labs"].append(
        {
            **records["labs"][1],
            "subject_id": "S-03",
            "visit": None,
            "lab_date": "2024-03-08",
        }
    )
    records["survival_status"][2]["last_known_alive_date"] = "2024-03-05"
    found = findings_set(run_rule("XD-010", clean_context(records)))
    assert found == {
        ("XD-010", "labs.csv", 4, "lab_date"),
        ("XD-010", "survival_status.csv", 4, "last_known_alive_date"),
    }


def test_xd009_dlt_outside_window_or_undosed() -> None:
    found = run(
        "XD-009",
        [
            # first dose 2024-01-10: 2024-02-07 is study day 29, one past the window
            ("adverse_events", 0, {"dlt": True, "onset_date": "2024-02-07"}),
            ("adverse_events", 3, {"dlt": True}),
            ("administrations", 4, {"given": False, "admin_date": None}),
        ],
    )
    assert findings_set(found) == {
        ("XD-009", "adverse_events.csv", 2, "dlt"),
        ("XD-009", "adverse_events.csv", 5, "dlt"),
    }
    messages = dict(zip(found["row"], found["message"], strict=True))
    assert messages[2] == (
        "DLT onset 2024-02-07 is outside the DLT window (study days 1-28, day 1 = the "
        "first dose on 2024-01-10)"
    )
    assert messages[5] == "DLT flagged but subject S-03 was never dosed"


def test_xd009_quiet_on_window_edges() -> None:
    # study days 1 and 28 (the window's first and last days), as ADSL counts them
    for onset in ("2024-01-10", "2024-02-06"):
        assert run(
            "XD-009", [("adverse_events", 0, {"dlt": True, "onset_date": onset})]
        ).empty


def test_xd011_visit_outside_window() -> None:
    found = run("XD-011", [("mri", 0, {"scan_date": "2024-01-30"})])
    assert findings_set(found) == {("XD-011", "mri.csv", 2, "scan_date")}
    assert set(found["severity"]) == {"warning"}
    assert found["message"][0] == (
        "visit V2 on 2024-01-30 is study day 20, outside its window (day 14, allowed "
        "11 to 17)"
    )


def test_xd011_quiet_on_edge_unknown_visit_or_no_schedule() -> None:
    assert run("XD-011", [("mri", 0, {"scan_date": "2024-01-27"})]).empty  # day 17
    assert run("XD-011", [("mri", 0, {"scan_date": "2024-01-30", "visit": None})]).empty
    no_visits = {k: v for k, v in BASE_PROTOCOL.items() if k != "visits"}
    assert run(
        "XD-011", [("mri", 0, {"scan_date": "2024-01-30"})], protocol=no_visits
    ).empty


def test_xd021_visit_not_in_schedule() -> None:
    found = run("XD-021", [("labs", 1, {"visit": "WEEK2"})])
    assert findings_set(found) == {("XD-021", "labs.csv", 3, "visit")}
    no_visits = {k: v for k, v in BASE_PROTOCOL.items() if k != "visits"}
    assert run("XD-021", [("labs", 1, {"visit": "WEEK2"})], protocol=no_visits).empty


def test_uncertain_first_dose_skips_day_counting() -> None:
    # The first dose's date could not be read: counting from the second dose would
    # put the V2 scan on day 1 and the DLT before the first dose.
    changes = [("administrations", 0, {"admin_date": None})]
    assert run("XD-011", changes).empty
    assert run("XD-009", changes).empty
    # A missing date on a later dose does not make the first dose uncertain.
    late = [
        ("administrations", 1, {"admin_date": None}),
        ("mri", 0, {"scan_date": "2024-01-30"}),
    ]
    assert findings_set(run("XD-011", late)) == {("XD-011", "mri.csv", 2, "scan_date")}


def test_xd009_quiet_for_unknown_subject() -> None:
    # S-09 is reported by XD-001; it is not also "never dosed".
    assert run(
        "XD-009", [("adverse_events", 0, {"subject_id": "S-09", "dlt": True})]
    ).empty
