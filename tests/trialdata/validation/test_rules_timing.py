"""Timing rules XD-002, XD-003, XD-010, XD-009, XD-011, XD-021."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trialdata.validation import validate_folder
from trialdata.validation.rules.testing import (
    BASE_PROTOCOL,
    clean_records,
    clean_upload,
    findings_set,
    run_rule,
)


def run(rule: str, changes: list[tuple[str, int, dict[str, Any]]], **kw: Any) -> Any:
    records = clean_records()
    for domain, row, values in changes:
        records[domain][row].update(values)
    return run_rule(rule, clean_upload(records, **kw))


@pytest.mark.parametrize(
    "rule", ["XD-002", "XD-003", "XD-010", "XD-009", "XD-011", "XD-021"]
)
def test_quiet_on_clean_upload(rule: str) -> None:
    # The clean upload has a screening lab on the consent day, a DLT on day 10, a
    # death with the last known alive date on the day of death.
    assert run_rule(rule, clean_upload()).empty


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
    found = findings_set(run_rule("XD-010", clean_upload(records)))
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


def test_xd003_messages_and_a_planned_dose_not_given() -> None:
    # S-02 withdrew consent on 2024-02-15. Its second dose, planned for 02-26, was
    # not given: no finding. A sample collected on 02-17 at 09:15 is one.
    found = run(
        "XD-003",
        [
            ("administrations", 3, {"admin_date": "2024-02-26"}),
            ("biobank_samples", 2, {"collection_time": "2024-02-17T09:15"}),
        ],
    )
    assert findings_set(found) == {
        ("XD-003", "biobank_samples.csv", 4, "collection_time")
    }
    assert found["value"].tolist() == ["2024-02-17T09:15"]
    assert found["message"].tolist() == [
        "sample collected on 2024-02-17T09:15 after subject S-02 withdrew consent "
        "on 2024-02-15"
    ]
    given = run(
        "XD-003",
        [("administrations", 3, {"admin_date": "2024-02-26", "given": True})],
    )
    assert given["message"].tolist() == [
        "dose given on 2024-02-26 after subject S-02 withdrew consent on 2024-02-15"
    ]


def test_xd010_message_and_the_first_survival_row_decides() -> None:
    records = clean_records()
    records["labs"][1].update(subject_id="S-03", visit=None, lab_date="2024-03-08")
    found = run_rule("XD-010", clean_upload(records))
    assert found["message"].tolist() == [
        "lab_date 2024-03-08 is after subject S-03's death on 2024-03-01"
    ]
    # a second survival_status row of S-03 with an earlier death date is not read:
    # the septic shock of 02-25 is not after a death on 02-01
    records = clean_records()
    records["survival_status"].append(
        {
            "subject_id": "S-03",
            "last_known_alive_date": None,
            "death_date": "2024-02-01",
        }
    )
    assert run_rule("XD-010", clean_upload(records)).empty


def test_xd009_undosed_subject_without_a_subject_list() -> None:
    # Without a subjects table every subject is taken as known: S-03's DLT is
    # reported, as S-03 has no given dose. A DLT without an onset date is not.
    records = clean_records()
    del records["subjects"]
    records["adverse_events"][3].update(dlt=True)
    records["administrations"][4].update(given=False, admin_date=None)
    found = run_rule("XD-009", clean_upload(records))
    assert found["message"].tolist() == ["DLT flagged but subject S-03 was never dosed"]
    assert found["value"].tolist() == ["Y"]
    records["adverse_events"][3].update(onset_date=None)
    assert run_rule("XD-009", clean_upload(records)).empty


def test_xd009_subjects_file_without_subject_ids(clean_upload: Path) -> None:
    # The runner adds the absent subject_id column, empty: that is no list of
    # subjects (RD-002 reports the column), so S-003 is not taken as unknown.
    (clean_upload / "subjects.csv").write_text(
        "site_id,cohort_id,sex,birth_year,consent_date\nBDN,C1-ID,F,1980,2024-01-02\n"
    )
    edit(
        clean_upload / "administrations.csv",
        "S-003,1,2024-01-12,Y,,1,5,10^6 cells per injection,INTRANODAL,L-003",
        "S-003,1,,N,Consent withdrawn,,,,,",
    )
    s003 = "POSSIBLY RELATED,RECOVERED/RESOLVED,DOSE NOT CHANGED,"
    edit(clean_upload / "adverse_events.csv", f"{s003}N,", f"{s003}Y,")
    found = validate_folder(clean_upload).findings
    mine = found.loc[found["rule"] == "XD-009"]
    assert findings_set(mine) == {("XD-009", "adverse_events.csv", 3, "dlt")}
    assert mine["message"].tolist() == ["DLT flagged but subject S-003 was never dosed"]


def edit(path: Path, old: str, new: str) -> None:
    """Replace one text of a file (it must be there)."""
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_xd011_early_visit_and_unscheduled_visit_name() -> None:
    found = run("XD-011", [("mri", 0, {"scan_date": "2024-01-20"})])  # day 10
    assert found["message"].tolist() == [
        "visit V2 on 2024-01-20 is study day 10, outside its window (day 14, allowed "
        "11 to 17)"
    ]
    # a visit the schedule does not list has no window (XD-021 reports its name)
    assert run(
        "XD-011", [("mri", 0, {"scan_date": "2024-01-20", "visit": "WEEKX"})]
    ).empty


def test_xd021_message_names_the_schedule() -> None:
    found = run("XD-021", [("mri", 0, {"visit": "WEEK2"})])
    assert found["message"].tolist() == [
        "visit WEEK2 is not in the protocol's schedule (V1, V2)"
    ]
    assert found["value"].tolist() == ["WEEK2"]
