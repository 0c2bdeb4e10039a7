"""Dosing rules XD-005, XD-006, XD-017, XD-008, XD-020, AD-001, AD-002."""

from __future__ import annotations

from typing import Any

import pytest

from trialdata.validation.rules.testing import (
    clean_context,
    clean_records,
    findings_set,
    run_rule,
)

ADMIN = "administrations.csv"


def run(rule: str, changes: list[tuple[str, int, dict[str, Any]]]) -> Any:
    records = clean_records()
    for domain, row, values in changes:
        records[domain][row].update(values)
    return run_rule(rule, clean_context(records))


@pytest.mark.parametrize(
    "rule", ["XD-005", "XD-006", "XD-017", "XD-008", "XD-020", "AD-001", "AD-002"]
)
def test_quiet_on_clean_upload(rule: str) -> None:
    assert run_rule(rule, clean_context()).empty


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
