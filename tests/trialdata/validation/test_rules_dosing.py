"""Dosing rules XD-005, XD-006, XD-017, XD-008, XD-020, AD-001, AD-002, XD-023."""

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

ADMIN = "administrations.csv"


def run(rule: str, changes: list[tuple[str, int, dict[str, Any]]]) -> Any:
    records = clean_records()
    for domain, row, values in changes:
        records[domain][row].update(values)
    return run_rule(rule, clean_upload(records))


@pytest.mark.parametrize(
    "rule", ["XD-005", "XD-006", "XD-017", "XD-008", "XD-020", "AD-001", "AD-002"]
)
def test_quiet_on_clean_upload(rule: str) -> None:
    assert run_rule(rule, clean_upload()).empty


def test_xd005_dose_level_differs_from_cohort() -> None:
    found = run(
        "XD-005", [("administrations", 1, {"dose_level": 2, "dose_amount": 10.0})]
    )
    assert findings_set(found) == {("XD-005", ADMIN, 3, "dose_level")}
    assert found["message"][0] == (
        "dose level 2 given but subject S-01 is in a cohort at dose level 1"
    )


def test_xd005_quiet_when_level_missing_or_cohort_level_invalid() -> None:
    assert run("XD-005", [("administrations", 1, {"dose_level": None})]).empty
    # The cohort's own level is not a protocol level: XD-015 reports the cohort.
    assert run("XD-005", [("cohorts", 1, {"dose_level": 3})]).empty


def test_xd006_route_differs_from_cohort_or_protocol() -> None:
    found = run(
        "XD-006",
        [
            ("administrations", 0, {"route": "INTRANODAL"}),
            ("administrations", 1, {"route": "INTRAVENOUS"}),
        ],
    )
    assert findings_set(found) == {
        ("XD-006", ADMIN, 2, "route"),
        ("XD-006", ADMIN, 3, "route"),
    }
    messages = dict(zip(found["row"], found["message"], strict=True))
    assert (
        messages[2]
        == "route INTRANODAL given but subject S-01's cohort is dosed INTRADERMAL"
    )
    assert messages[3] == (
        "route INTRAVENOUS is not allowed by the protocol (allowed: INTRADERMAL, "
        "INTRANODAL)"
    )


def test_xd006_quiet_on_unknown_term() -> None:
    assert run("XD-006", [("administrations", 0, {"route": "ID"})]).empty


def test_xd017_amount_and_unit_differ_from_protocol() -> None:
    found = run(
        "XD-017",
        [("administrations", 0, {"dose_amount": 7.5, "dose_unit": "10^6 cells/kg"})],
    )
    assert findings_set(found) == {
        ("XD-017", ADMIN, 2, "dose_amount"),
        ("XD-017", ADMIN, 2, "dose_unit"),
    }
    assert run("XD-017", [("administrations", 0, {"dose_amount": 5.0000001})]).empty


def test_xd008_lot_not_released() -> None:
    found = run("XD-008", [("product_lots", 0, {"release_status": "PENDING"})])
    assert findings_set(found) == {
        ("XD-008", ADMIN, 2, "lot_id"),
        ("XD-008", ADMIN, 3, "lot_id"),
    }
    assert "release status is PENDING" in found["message"][0]


def test_xd008_dosed_before_release_or_after_expiry() -> None:
    before = run("XD-008", [("product_lots", 0, {"release_date": "2024-01-20"})])
    assert findings_set(before) == {("XD-008", ADMIN, 2, "admin_date")}
    after = run("XD-008", [("product_lots", 0, {"expiry_date": "2024-01-20"})])
    assert findings_set(after) == {("XD-008", ADMIN, 3, "admin_date")}
    # On the release day and on the expiry day is fine.
    assert run(
        "XD-008",
        [
            (
                "product_lots",
                0,
                {"release_date": "2024-01-10", "expiry_date": "2024-01-24"},
            )
        ],
    ).empty


def test_xd020_released_lot_out_of_specification() -> None:
    found = run("XD-020", [("product_lots", 1, {"viability_pct": 65.0})])
    assert findings_set(found) == {("XD-020", "product_lots.csv", 3, "viability_pct")}
    assert found["message"][0] == (
        "released lot L-02 has viability_pct 65; the release specification requires "
        "at least 70"
    )
    # A rejected lot below specification is expected, not an error (row 5).
    assert run("XD-020", [("product_lots", 3, {"viability_pct": 10.0})]).empty


def test_ad001_not_given_without_reason() -> None:
    for reason in (None, "  "):
        found = run("AD-001", [("administrations", 3, {"reason_not_given": reason})])
        assert findings_set(found) == {("AD-001", ADMIN, 5, "reason_not_given")}


def test_ad002_given_dose_incomplete() -> None:
    found = run(
        "AD-002",
        [("administrations", 0, {"lot_id": None, "route": None, "dose_level": None})],
    )
    assert findings_set(found) == {
        ("AD-002", ADMIN, 2, "lot_id"),
        ("AD-002", ADMIN, 2, "route"),
        ("AD-002", ADMIN, 2, "dose_level"),
    }


def _messages(found: Any) -> dict[tuple[int, str], tuple[str, str]]:
    return {
        (row, column): (value, message)
        for row, column, value, message in zip(
            found["row"], found["column"], found["value"], found["message"], strict=True
        )
    }


def test_xd005_first_subject_row_gives_the_cohort() -> None:
    records = clean_records()
    # S-01 twice: the first row (cohort C1, level 1) is the one looked up
    records["cohorts"].append(
        {"cohort_id": "C9", "dose_level": 2, "route": "INTRADERMAL"}
    )
    records["subjects"].append({**records["subjects"][0], "cohort_id": "C9"})
    assert run_rule("XD-005", clean_upload(records)).empty
    records["subjects"].insert(0, {**records["subjects"][0], "cohort_id": "C9"})
    found = run_rule("XD-005", clean_upload(records))
    assert findings_set(found) == {
        ("XD-005", ADMIN, 2, "dose_level"),
        ("XD-005", ADMIN, 3, "dose_level"),
    }
    assert found["message"][0] == (
        "dose level 1 given but subject S-01 is in a cohort at dose level 2"
    )


def test_xd017_messages_and_values() -> None:
    found = run(
        "XD-017",
        [("administrations", 0, {"dose_amount": 7.5, "dose_unit": "10^6 cells/kg"})],
    )
    assert _messages(found) == {
        (2, "dose_amount"): (
            "7.5",
            "dose amount 7.5 does not match dose level 1 of the protocol "
            "(5 10^6 cells)",
        ),
        (2, "dose_unit"): (
            "10^6 cells/kg",
            "dose unit 10^6 cells/kg differs from the protocol's unit for dose "
            "level 1 (10^6 cells)",
        ),
    }


def test_xd017_unit_compared_without_surrounding_space() -> None:
    assert run("XD-017", [("administrations", 0, {"dose_unit": " 10^6 cells\t"})]).empty
    # a level the protocol lacks is not compared (nothing to compare with)
    assert run(
        "XD-017", [("administrations", 0, {"dose_level": 9, "dose_amount": 1.0})]
    ).empty


def test_xd008_dates_compared_by_calendar_day_and_written_as_sent() -> None:
    # dosed at 09:30 the day before a release at 23:00: one day early
    found = run(
        "XD-008",
        [
            ("administrations", 0, {"admin_date": "2024-01-07T09:30"}),
            ("product_lots", 0, {"release_date": "2024-01-08T23:00"}),
        ],
    )
    assert _messages(found) == {
        (2, "admin_date"): (
            "2024-01-07T09:30",
            "lot L-01 administered on 2024-01-07, before the lot's release date "
            "2024-01-08",
        )
    }
    # the same calendar day is fine, whatever the times
    assert run(
        "XD-008",
        [
            ("administrations", 0, {"admin_date": "2024-01-08T01:00"}),
            ("product_lots", 0, {"release_date": "2024-01-08T23:00"}),
        ],
    ).empty


def test_xd008_first_lot_row_wins() -> None:
    records = clean_records()
    released = records["product_lots"][0]
    records["product_lots"].append({**released, "release_status": "REJECTED"})
    assert run_rule("XD-008", clean_upload(records)).empty
    records["product_lots"].insert(0, {**released, "release_status": "PENDING"})
    found = run_rule("XD-008", clean_upload(records))
    assert findings_set(found) == {
        ("XD-008", ADMIN, 2, "lot_id"),
        ("XD-008", ADMIN, 3, "lot_id"),
    }
    assert set(found["message"]) == {
        "lot L-01 was administered while its release status is PENDING"
    }


def test_xd008_release_status_outside_the_terms_is_left_to_the_schema() -> None:
    assert run("XD-008", [("product_lots", 0, {"release_status": "OK"})]).empty


def test_xd020_upper_bound_and_both_bounds() -> None:
    protocol = {
        **BASE_PROTOCOL,
        "release_specifications": [
            {"attribute": "purity_pct", "max": 95.0},
            {"attribute": "viability_pct", "min": 70.0, "max": 99.5},
        ],
    }
    records = clean_records()
    records["product_lots"][0].update(purity_pct=96.5)
    records["product_lots"][2].update(viability_pct=99.75)
    records["product_lots"][3].update(purity_pct=99.0)  # rejected: not held to it
    found = run_rule("XD-020", clean_upload(records, protocol))
    assert _messages(found) == {
        (2, "purity_pct"): (
            "96.5",
            "released lot L-01 has purity_pct 96.5; the release specification "
            "requires at most 95",
        ),
        (4, "viability_pct"): (
            "99.75",
            "released lot L-03 has viability_pct 99.75; the release specification "
            "requires at least 70 and at most 99.5",
        ),
    }


def test_ad001_ad002_messages_name_the_dose() -> None:
    found = run("AD-001", [("administrations", 3, {"reason_not_given": " "})])
    assert _messages(found) == {
        (5, "reason_not_given"): (
            " ",
            "administration 2 of subject S-02 was not given but no reason_not_given "
            "is recorded",
        )
    }
    found = run("AD-002", [("administrations", 0, {"lot_id": None, "admin_seq": None})])
    assert list(found["value"].isna()) == [True]
    assert found["message"][0] == (
        "administration - of subject S-01 is recorded as given but lot_id is missing"
    )
    # a dose whose given is missing is neither given nor not given
    assert run(
        "AD-002", [("administrations", 0, {"given": None, "lot_id": None})]
    ).empty
    assert run(
        "AD-001", [("administrations", 3, {"given": None, "reason_not_given": None})]
    ).empty


def test_ad_rules_skip_a_column_the_file_lacks(clean_upload: Path) -> None:
    # The reader reports the absent column once (RD-002); the rules add nothing,
    # though the runner gives the rules the column as missing values.
    header = (
        "subject_id,admin_seq,admin_date,given,dose_level,dose_amount,dose_unit,route"
    )
    doses = clean_upload / "administrations.csv"
    doses.write_text(
        f"""\
{header}
S-001,1,2024-01-10,Y,1,5,10^6 cells per injection,INTRADERMAL
S-002,1,,N,,,,
S-003,1,2024-01-12,Y,1,5,10^6 cells per injection,INTRANODAL
"""
    )
    found = validate_folder(clean_upload).findings
    assert set(zip(found["rule"], found["column"], strict=True)) == {
        ("RD-002", "lot_id"),
        ("RD-002", "reason_not_given"),
    }
    # the same doses with the columns, empty: both rules fire
    doses.write_text(
        f"""\
{header},reason_not_given,lot_id
S-001,1,2024-01-10,Y,1,5,10^6 cells per injection,INTRADERMAL,,
S-002,1,,N,,,,,,
S-003,1,2024-01-12,Y,1,5,10^6 cells per injection,INTRANODAL,,L-003
"""
    )
    found = validate_folder(clean_upload).findings
    assert findings_set(found) == {
        ("AD-001", ADMIN, 3, "reason_not_given"),
        ("AD-002", ADMIN, 2, "lot_id"),
    }


def test_xd023_design_deviation_on_the_cohort_first_dose() -> None:
    found = run(
        "XD-023",
        [
            ("cohorts", 1, {"dose_level": 2}),
            ("administrations", 2, {"dose_level": 2, "dose_amount": 10.0}),
        ],
    )
    assert findings_set(found) == {("XD-023", ADMIN, 4, "dose_level")}
    assert list(found["severity"]) == ["warning"]
    assert _messages(found) == {
        (4, "dose_level"): ("2", "cohort C2 started at DL2, design starts at DL1")
    }
    assert list(found["subject_id"]) == ["S-02"]


def test_xd023_quiet_when_subject_keys_repeat() -> None:
    # repeated subject ids are the schema's (SC-KEY): the escalation is not rebuilt
    records = clean_records()
    records["cohorts"][1]["dose_level"] = 2
    records["administrations"][2].update(dose_level=2, dose_amount=10.0)
    records["subjects"].append(dict(records["subjects"][0]))
    assert run_rule("XD-023", clean_upload(records)).empty
