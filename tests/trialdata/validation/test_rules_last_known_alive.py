"""XD-022: no record shows a subject alive after its last known alive date."""

from __future__ import annotations

from typing import Any

from trialdata.validation.rules.testing import (
    clean_records,
    clean_upload,
    findings_set,
    run_rule,
)


def run(changes: list[tuple[str, int, dict[str, Any]]]) -> Any:
    records = clean_records()
    for domain, row, values in changes:
        records[domain][row].update(values)
    return run_rule("XD-022", clean_upload(records))


def test_quiet_on_clean_upload() -> None:
    # S-01 is known alive months after its last record, S-02 on its withdrawal day
    # (its last record, a sample, is a month earlier), S-03 on the day of death.
    assert run_rule("XD-022", clean_upload()).empty


def test_xd022_records_after_last_known_alive() -> None:
    # S-01 known alive until 2024-01-20, then dosed, tested and assessed on 01-24
    # (administrations, labs, immunomonitoring, disease_assessments) and scanned on
    # 01-25 (mri): five records after it, the latest the scan. The fever starting on
    # 01-20 is on the day, not after. S-03 died on 03-01 but is known alive only
    # until 02-20: the septic shock started on 02-25.
    found = run(
        [
            ("survival_status", 0, {"last_known_alive_date": "2024-01-20"}),
            ("survival_status", 2, {"last_known_alive_date": "2024-02-20"}),
        ]
    )
    assert findings_set(found) == {
        ("XD-022", "survival_status.csv", 2, "last_known_alive_date"),
        ("XD-022", "survival_status.csv", 4, "last_known_alive_date"),
    }
    assert set(found["severity"]) == {"warning"}
    messages = dict(zip(found["subject_id"], found["message"], strict=True))
    assert messages["S-01"] == (
        "last_known_alive_date 2024-01-20 is before mri.csv row 2 (scan_date "
        "2024-01-25), which shows subject S-01 alive later (the latest of 5 records "
        "after it); update last_known_alive_date or correct the record's date"
    )
    assert messages["S-03"] == (
        "last_known_alive_date 2024-02-20 is before adverse_events.csv row 5 "
        "(onset_date 2024-02-25), which shows subject S-03 alive later; update "
        "last_known_alive_date or correct the record's date"
    )
    assert dict(zip(found["subject_id"], found["value"], strict=True)) == {
        "S-01": "2024-01-20",
        "S-03": "2024-02-20",
    }


def test_xd022_quiet_on_the_day_of_the_last_record() -> None:
    assert run([("survival_status", 0, {"last_known_alive_date": "2024-01-25"})]).empty


def test_xd022_fires_for_an_event_after_withdrawal() -> None:
    # S-02 withdrew consent on 2024-02-15, its last known alive date; an adverse
    # event starting on 02-20 shows it alive later (no rule forbids the event).
    found = run([("adverse_events", 2, {"onset_date": "2024-02-20"})])
    assert findings_set(found) == {
        ("XD-022", "survival_status.csv", 3, "last_known_alive_date")
    }


def test_xd022_leaves_records_other_rules_report() -> None:
    # A sample collected after withdrawal (XD-003), a lab dated after death (XD-010)
    # and a planned dose not given are no proof the subject was alive.
    records = clean_records()
    records["immunomonitoring"][1].update(collection_date="2024-02-16", visit=None)
    records["labs"].append(
        {**records["labs"][1], "subject_id": "S-03", "lab_date": "2024-03-08"}
    )
    records["administrations"][3].update(admin_date="2024-02-26")  # S-02, not given
    assert run_rule("XD-022", clean_upload(records)).empty
    assert not run_rule("XD-003", clean_upload(records)).empty
    assert not run_rule("XD-010", clean_upload(records)).empty


def test_xd022_latest_record_with_its_time_of_day() -> None:
    # S-01's PBMC sample collected on 01-26 at 10:30 is the latest of six records
    # after 01-20; its time of day is part of the record named.
    found = run(
        [
            ("survival_status", 0, {"last_known_alive_date": "2024-01-20"}),
            ("biobank_samples", 1, {"collection_time": "2024-01-26T10:30"}),
        ]
    )
    assert found["message"].tolist() == [
        "last_known_alive_date 2024-01-20 is before biobank_samples.csv row 3 "
        "(collection_time 2024-01-26T10:30), which shows subject S-01 alive later "
        "(the latest of 6 records after it); update last_known_alive_date or correct "
        "the record's date"
    ]


def test_xd022_ties_go_to_the_first_domain_and_row() -> None:
    # Scanned on 01-24 like the dose, lab, immunomonitoring and assessment: of the
    # records of that day, the first in domain order (administrations) is named.
    found = run(
        [
            ("survival_status", 0, {"last_known_alive_date": "2024-01-20"}),
            ("mri", 0, {"scan_date": "2024-01-24"}),
        ]
    )
    assert found["message"].str.startswith(
        "last_known_alive_date 2024-01-20 is before administrations.csv row 3 "
        "(admin_date 2024-01-24), "
    ).tolist() == [True]


def test_xd022_one_finding_on_the_subjects_first_row() -> None:
    # A second survival_status row of S-01 is not read: the first row's date is
    # the subject's, and the finding is on that row.
    records = clean_records()
    records["survival_status"][0]["last_known_alive_date"] = "2024-01-20"
    records["survival_status"].append(
        {
            "subject_id": "S-01",
            "last_known_alive_date": "2024-01-21",
            "death_date": None,
        }
    )
    found = run_rule("XD-022", clean_upload(records))
    assert findings_set(found) == {
        ("XD-022", "survival_status.csv", 2, "last_known_alive_date")
    }
    records["survival_status"][0]["last_known_alive_date"] = "2024-06-01"
    records["survival_status"][3]["last_known_alive_date"] = "2024-01-01"
    assert run_rule("XD-022", clean_upload(records)).empty
