"""Referential rules XD-001, XD-013 to XD-016, XD-007, XD-018, XD-019."""

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

Change = dict[str, Any]


def findings(rule: str, domain: str, row: int, **values: Any) -> set[tuple]:
    records = clean_records()
    records[domain][row].update(values)
    return findings_set(run_rule(rule, clean_upload(records)))


@pytest.mark.parametrize(
    "rule",
    ["XD-001", "XD-013", "XD-014", "XD-015", "XD-016", "XD-007", "XD-018", "XD-019"],
)
def test_quiet_on_clean_upload(rule: str) -> None:
    assert run_rule(rule, clean_upload()).empty


def test_xd001_unknown_subject_in_any_domain() -> None:
    records = clean_records()
    records["labs"][1]["subject_id"] = "S-09"
    records["immunomonitoring"][0]["subject_id"] = "S-08"
    found = run_rule("XD-001", clean_upload(records))
    assert findings_set(found) == {
        ("XD-001", "labs.csv", 3, "subject_id"),
        ("XD-001", "immunomonitoring.csv", 2, "subject_id"),
    }
    assert set(found["severity"]) == {"error"}
    assert "subject S-09 is not in subjects" in set(found["message"]).pop() or any(
        "S-09" in m for m in found["message"]
    )


@pytest.mark.parametrize("value", [None, "S 09"])
def test_xd001_quiet_on_missing_or_malformed_id(value: str | None) -> None:
    # A missing (SC-NULL) or malformed (SC-FORMAT) id is reported by the schema.
    assert findings("XD-001", "labs", 1, subject_id=value) == set()


def test_xd013_site_not_in_protocol() -> None:
    found = run_rule(
        "XD-013",
        clean_upload(
            {
                **clean_records(),
                "subjects": [{**clean_records()["subjects"][0], "site_id": "RTD"}],
            }
        ),
    )
    assert findings_set(found) == {("XD-013", "subjects.csv", 2, "site_id")}
    assert (
        found["message"][0] == "site RTD is not a protocol site (protocol sites: BDN)"
    )
    assert found["value"][0] == "RTD"


def test_xd014_cohort_not_in_cohorts() -> None:
    assert findings("XD-014", "subjects", 1, cohort_id="C9") == {
        ("XD-014", "subjects.csv", 3, "cohort_id")
    }


def test_xd015_cohort_dose_level_not_in_protocol() -> None:
    assert findings("XD-015", "cohorts", 1, dose_level=3) == {
        ("XD-015", "cohorts.csv", 3, "dose_level")
    }
    assert findings("XD-015", "cohorts", 1, dose_level=None) == set()


def test_xd016_cohort_route_not_in_protocol() -> None:
    assert findings("XD-016", "cohorts", 0, route="INTRAVENOUS") == {
        ("XD-016", "cohorts.csv", 2, "route")
    }
    # Not a route term at all: SC-TERM reports it, not XD-016.
    assert findings("XD-016", "cohorts", 0, route="IV") == set()


def test_xd007_administered_lot_unknown() -> None:
    assert findings("XD-007", "administrations", 0, lot_id="L-99") == {
        ("XD-007", "administrations.csv", 2, "lot_id")
    }
    # A dose not given may name a lot that was never made.
    assert findings("XD-007", "administrations", 3, lot_id="L-99") == set()


def test_xd018_parent_sample_unknown() -> None:
    assert findings("XD-018", "biobank_samples", 1, parent_sample_id="S-01-XX") == {
        ("XD-018", "biobank_samples.csv", 3, "parent_sample_id")
    }


def test_xd019_custody_event_of_unknown_sample() -> None:
    assert findings("XD-019", "custody_events", 2, sample_id="S-01-V9-PBMC1") == {
        ("XD-019", "custody_events.csv", 4, "sample_id")
    }


def messages(rule: str, domain: str, row: int, **values: Any) -> list[str]:
    records = clean_records()
    records[domain][row].update(values)
    return list(run_rule(rule, clean_upload(records))["message"])


def test_xd001_reports_every_row_of_an_unknown_subject() -> None:
    records = clean_records()
    for row in records["labs"]:
        row["subject_id"] = "S-09"
    found = run_rule("XD-001", clean_upload(records))
    assert findings_set(found) == {
        ("XD-001", "labs.csv", 2, "subject_id"),
        ("XD-001", "labs.csv", 3, "subject_id"),
    }
    assert set(found["message"]) == {
        "subject S-09 is not in subjects; correct the id or upload the subject"
    }
    assert set(found["value"]) == set(found["subject_id"]) == {"S-09"}


@pytest.mark.parametrize("value", [None, "R T"])
def test_xd013_quiet_on_missing_or_malformed_site(value: str | None) -> None:
    assert findings("XD-013", "subjects", 0, site_id=value) == set()


def test_xd014_message_and_quiet_on_malformed_cohort() -> None:
    assert messages("XD-014", "subjects", 1, cohort_id="C9") == [
        "cohort C9 is not in cohorts"
    ]
    assert findings("XD-014", "subjects", 1, cohort_id="C 9") == set()


def test_xd015_message_names_the_protocol_levels() -> None:
    assert messages("XD-015", "cohorts", 1, dose_level=3) == [
        "cohort C2 has dose level 3; the protocol defines levels 1 to 2"
    ]
    records = clean_records()
    for cohort in records["cohorts"]:
        del cohort["cohort_id"]
    records["cohorts"][0]["dose_level"] = 0
    found = run_rule("XD-015", clean_upload(records))
    assert list(found["message"]) == [
        "cohort - has dose level 0; the protocol defines levels 1 to 2"
    ]
    assert list(found["value"]) == ["0"]


def test_xd016_message_names_the_allowed_routes() -> None:
    assert messages("XD-016", "cohorts", 0, route="INTRAVENOUS") == [
        "cohort C1 route INTRAVENOUS is not allowed by the protocol "
        "(allowed: INTRADERMAL, INTRANODAL)"
    ]


def test_xd007_message_and_quiet_when_given_is_missing() -> None:
    assert messages("XD-007", "administrations", 0, lot_id="L-99") == [
        "lot L-99 was administered but is not in product_lots"
    ]
    assert findings("XD-007", "administrations", 0, lot_id="L-99", given=None) == set()


def test_xd018_message_and_quiet_on_missing_parent() -> None:
    assert messages("XD-018", "biobank_samples", 1, parent_sample_id="S-01-XX") == [
        "parent sample S-01-XX of sample S-01-V1-PBMC1 is not in biobank_samples"
    ]
    assert findings("XD-018", "biobank_samples", 1, parent_sample_id=None) == set()


def test_xd019_message() -> None:
    assert messages("XD-019", "custody_events", 2, sample_id="S-01-V9-PBMC1") == [
        "custody event for sample S-01-V9-PBMC1, which is not in biobank_samples"
    ]


def rule_findings(folder: Path, rule: str) -> set[tuple]:
    found = validate_folder(folder).findings
    return findings_set(found.loc[found["rule"] == rule])


def test_xd014_reads_cohorts_from_the_files(clean_upload: Path) -> None:
    # through the runner: an unknown cohort fires ...
    cohorts = "cohort_id,dose_level,route\nC1-ID,1,INTRADERMAL\n"
    (clean_upload / "cohorts.csv").write_text(cohorts)
    assert rule_findings(clean_upload, "XD-014") == {
        ("XD-014", "subjects.csv", 4, "cohort_id")
    }
    # ... but a cohorts file without cohort_id (RD-002) is no reason to report
    # every subject's cohort as unknown
    (clean_upload / "cohorts.csv").write_text("dose_level,route\n1,INTRADERMAL\n")
    assert rule_findings(clean_upload, "XD-014") == set()


def test_xd019_quiet_when_samples_lack_sample_id(clean_upload: Path) -> None:
    events = (
        "sample_id,event_seq,event_time,event_type,party,location\n"
        "S-001-V1-SER1,1,2024-01-10T08:00,COLLECTED,BDN lab,BDN lab\n"
    )
    (clean_upload / "custody_events.csv").write_text(events)
    samples = (
        "{id}subject_id,sample_type,collection_time,freeze_thaw_count,"
        "consent_scope,consent_status\n"
        "{value}S-001,SERUM,2024-01-10T08:00,0,FUTURE RESEARCH,ACTIVE\n"
    )
    (clean_upload / "biobank_samples.csv").write_text(
        samples.format(id="sample_id,", value="S-001-V1-SER2,")
    )
    assert rule_findings(clean_upload, "XD-019") == {
        ("XD-019", "custody_events.csv", 2, "sample_id")
    }
    (clean_upload / "biobank_samples.csv").write_text(samples.format(id="", value=""))
    assert rule_findings(clean_upload, "XD-019") == set()
