"""Plausibility rules XD-024 (dates in the future or too early) and XD-025."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from schemas.domains import DOMAINS
from trialdata.demo import write_trial
from trialdata.validation import validate_folder
from trialdata.validation.rule import Upload
from trialdata.validation.rule import run_rule as run_declared
from trialdata.validation.rules.testing import (
    clean_records,
    clean_upload,
    findings_set,
    run_rule,
)
from trialdata.validation.rules.xd024_implausible_date import (
    DATE_COLUMNS,
    EARLIEST_TRIAL_DATE,
    FORWARD_DATES,
    RULE,
    implausible_dates,
)

TODAY = datetime.date(2024, 7, 1)


def find_implausible_dates(ctx: Any, today: datetime.date) -> pd.DataFrame:
    """Return the XD-024 findings of an upload (its protocol and tables) as of a day."""
    as_of = dataclasses.replace(RULE, finds=lambda u: implausible_dates(u, today))
    return run_declared(as_of, Upload(ctx.protocol, ctx.tables))


def changed(changes: list[tuple[str, int, dict[str, Any]]]) -> Any:
    records = clean_records()
    for domain, row, values in changes:
        records[domain][row].update(values)
    return clean_upload(records)


def test_every_date_column_of_every_domain_is_checked() -> None:
    expected = {
        (spec.name, c)
        for spec in DOMAINS
        for c in spec.columns
        if spec.column_kinds[c] == "datetime"
    }
    assert {(d, c) for d, cs in DATE_COLUMNS.items() for c in cs} == expected
    assert ("adverse_events", "onset_date") in expected
    assert expected >= FORWARD_DATES
    assert datetime.date(1990, 1, 1) == EARLIEST_TRIAL_DATE


@pytest.mark.parametrize("rule", ["XD-024", "XD-025"])
def test_quiet_on_clean_upload(rule: str) -> None:
    assert run_rule(rule, clean_upload()).empty
    assert find_implausible_dates(clean_upload(), today=TODAY).empty


def test_xd024_onset_in_2099_and_consent_in_1900_are_errors() -> None:
    ctx = changed(
        [
            ("adverse_events", 2, {"onset_date": "2099-01-13"}),
            ("subjects", 0, {"consent_date": "1900-01-02"}),
        ]
    )
    found = find_implausible_dates(ctx, today=TODAY)
    assert findings_set(found) == {
        ("XD-024", "adverse_events.csv", 4, "onset_date"),
        ("XD-024", "subjects.csv", 2, "consent_date"),
    }
    assert set(found["severity"]) == {"error"}
    by_column = found.set_index("column")
    assert by_column.loc["onset_date", "value"] == "2099-01-13"
    assert by_column.loc["onset_date", "subject_id"] == "S-02"
    assert by_column.loc["onset_date", "message"] == (
        "onset_date 2099-01-13 is after the upload date 2024-07-01: a date cannot "
        "lie in the future"
    )
    assert by_column.loc["consent_date", "message"] == (
        "consent_date 1900-01-02 is before 1990-01-01, the earliest plausible "
        "trial date"
    )
    # the registered rule judges against the real day of validation
    assert findings_set(run_rule("XD-024", ctx)) == findings_set(found)


def test_xd024_today_is_fine_tomorrow_is_not() -> None:
    ctx = changed(
        [
            ("survival_status", 0, {"last_known_alive_date": "2024-07-01"}),
            ("biobank_samples", 3, {"collection_time": "2024-07-01T23:59"}),
            ("custody_events", 3, {"event_time": "2024-07-02T00:00"}),
            ("labs", 0, {"lab_date": "1990-01-01"}),
            ("mri", 0, {"scan_date": "1989-12-31"}),
        ]
    )
    assert findings_set(find_implausible_dates(ctx, today=TODAY)) == {
        ("XD-024", "custody_events.csv", 5, "event_time"),
        ("XD-024", "mri.csv", 2, "scan_date"),
    }


def test_xd024_expiry_and_storage_limit_may_lie_ahead_but_not_before_1990() -> None:
    ctx = changed(
        [
            ("product_lots", 0, {"expiry_date": "2030-06-30"}),
            ("biobank_samples", 1, {"storage_limit_date": "2039-01-10"}),
            ("product_lots", 1, {"expiry_date": "1980-06-30"}),
            ("product_lots", 2, {"release_date": "2030-01-01"}),
        ]
    )
    assert findings_set(find_implausible_dates(ctx, today=TODAY)) == {
        ("XD-024", "product_lots.csv", 3, "expiry_date"),
        ("XD-024", "product_lots.csv", 4, "release_date"),
    }


def test_xd024_quiet_on_missing_dates_and_a_later_upload_date() -> None:
    ctx = changed([("adverse_events", 0, {"onset_date": None})])
    assert find_implausible_dates(ctx, today=TODAY).empty
    ctx = changed([("adverse_events", 0, {"onset_date": "2025-01-01"})])
    assert len(find_implausible_dates(ctx, today=TODAY)) == 1
    assert find_implausible_dates(ctx, today=datetime.date(2025, 1, 1)).empty


def test_xd025_required_domain_with_no_rows() -> None:
    records = clean_records()
    records["adverse_events"].clear()
    records["labs"].clear()  # not required by the protocol
    found = run_rule("XD-025", clean_upload(records))
    assert findings_set(found) == {("XD-025", "adverse_events.csv", None, None)}
    assert found["severity"].tolist() == ["error"]


def test_header_only_and_future_dates_from_files(tmp_path: Path) -> None:
    folder = write_trial(tmp_path / "upload", "nk-aml", 8, seed=2).folder
    ae = folder / "adverse_events.csv"
    ae.write_text(ae.read_text(encoding="utf-8").splitlines()[0] + "\n")
    subjects = folder / "subjects.csv"
    lines = subjects.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    row[header.index("consent_date")] = "1900-01-01"
    lines[1] = ",".join(row)
    subjects.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = validate_folder(folder).findings
    mine = found.loc[found["rule"].isin(["XD-024", "XD-025"])]
    assert findings_set(mine) == {
        ("XD-024", "subjects.csv", 2, "consent_date"),
        ("XD-025", "adverse_events.csv", None, None),
    }


def test_demo_trials_have_no_implausible_dates(tmp_path: Path) -> None:
    # the demo calendar starts in 2024; judged as of a day after its end
    for archetype, n, seed in (("nk-aml", 30, 11), ("tolDC-ms", 60, 6)):
        folder = write_trial(tmp_path / archetype, archetype, n, seed=seed).folder
        report = validate_folder(folder)
        ctx = Upload(report.protocol, report.tables)
        today = datetime.date(2030, 1, 1)
        assert find_implausible_dates(ctx, today=today).empty


def test_xd024_values_show_a_time_of_day_per_column() -> None:
    # a date-time column's values keep their time; a date column of the same table
    # flagged alongside is written as a date
    ctx = changed(
        [
            (
                "biobank_samples",
                1,
                {"collection_time": "2099-01-01T10:30", "destroyed_date": "2099-02-01"},
            )
        ]
    )
    found = find_implausible_dates(ctx, today=TODAY).set_index("column")
    assert found["value"].to_dict() == {
        "collection_time": "2099-01-01T10:30",
        "destroyed_date": "2099-02-01",
    }
    assert found.loc["destroyed_date", "message"] == (
        "destroyed_date 2099-02-01 is after the upload date 2024-07-01: a date cannot "
        "lie in the future"
    )


def test_xd025_names_the_file_sent(clean_upload: Path) -> None:
    from openpyxl import Workbook

    header = (clean_upload / "adverse_events.csv").read_text().splitlines()[0]
    (clean_upload / "adverse_events.csv").unlink()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header.split(","))
    book.save(clean_upload / "adverse_events.xlsx")
    found = validate_folder(clean_upload).findings
    mine = found.loc[found["rule"] == "XD-025"]
    assert findings_set(mine) == {("XD-025", "adverse_events.xlsx", None, None)}
    assert mine["message"].tolist() == [
        "required domain adverse_events has no records: the file holds only its "
        "header row"
    ]
