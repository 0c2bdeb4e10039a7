"""Referential rules XD-001, XD-013 to XD-016, XD-007, XD-018, XD-019."""

from __future__ import annotations

from typing import Any

import pytest

from trialdata.validation.rules.testing import (
    clean_context,
    clean_records,
    findings_set,
    run_rule,
)

Change = dict[str, Any]


def findings(rule: str, domain: str, row: int, **values: Any) -> set[tuple]:
    records = clean_records()
    records[domain][row].update(values)
    return findings_set(run_rule(rule, clean_context(records)))


@pytest.mark.parametrize(
    "rule",
    ["XD-001", "XD-013", "XD-014", "XD-015", "XD-016", "XD-007", "XD-018", "XD-019"],
)
def test_quiet_on_clean_upload(rule: str) -> None:
    assert run_rule(rule, clean_context()).empty


def test_xd001_unknown_subject_in_any_domain() -> None:
    records = clean_records()
    records["labs"][1]["subject_id"] = "S-09"
    records["immunomonitoring"][0]["subject_id"] = "S-08"
    found = run_rule("XD-001", clean_context(records))
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
        clean_context(
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
