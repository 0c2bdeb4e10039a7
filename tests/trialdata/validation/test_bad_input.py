"""Issue 2 §9: every kind of bad input gives findings or a clear error naming the file,
row and column; never a traceback, and no row silently disappears."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from trialdata.errors import InputError
from trialdata.validation import validate_folder


def _found(folder: Path) -> set[tuple[object, ...]]:
    findings = validate_folder(folder).findings
    return {
        (f.file, None if pd.isna(f.row) else int(f.row), f.column, f.rule, f.severity)
        for f in findings.itertuples(index=False)
    }


def _rows_kept(folder: Path, domain: str, expected: int) -> None:
    assert len(validate_folder(folder).tables[domain]) == expected


def test_clean_upload_has_no_findings(clean_upload: Path) -> None:
    report = validate_folder(clean_upload)
    assert report.findings.empty
    assert report.exit_code == 0
    assert {n: len(t) for n, t in report.tables.items()} == {
        "subjects": 3,
        "cohorts": 2,
        "product_lots": 3,
        "administrations": 3,
        "adverse_events": 2,
    }


def test_empty_file(clean_upload: Path) -> None:
    (clean_upload / "adverse_events.csv").write_text("")
    assert _found(clean_upload) == {
        ("adverse_events.csv", None, None, "RD-001", "error")
    }
    message = validate_folder(clean_upload).findings["message"].iloc[0]
    assert message == "file is empty"


def test_wrong_delimiter_is_read_and_reported(clean_upload: Path) -> None:
    text = (clean_upload / "cohorts.csv").read_text().replace(",", ";")
    (clean_upload / "cohorts.csv").write_text(text)
    assert _found(clean_upload) == {("cohorts.csv", None, None, "RD-009", "warning")}
    _rows_kept(clean_upload, "cohorts", 2)


def test_non_utf8_file_names_the_line(clean_upload: Path) -> None:
    path = clean_upload / "adverse_events.csv"
    path.write_bytes(
        path.read_bytes().replace(b"headache", "c\xe9phal\xe9e".encode("latin-1"))
    )
    assert _found(clean_upload) == {("adverse_events.csv", 3, None, "RD-001", "error")}
    message = validate_folder(clean_upload).findings["message"].iloc[0]
    assert message == "not UTF-8 text (byte 0xe9 at line 3); export the file as UTF-8"


def test_duplicated_column_rejects_the_file_but_keeps_its_rows(
    clean_upload: Path,
) -> None:
    path = clean_upload / "cohorts.csv"
    path.write_text(
        "cohort_id,dose_level,route,route\nC1-ID,1,INTRADERMAL,INTRANODAL\nC2-IN,1,INTRANODAL,INTRANODAL\n"
    )
    assert _found(clean_upload) == {("cohorts.csv", None, "route", "RD-004", "error")}
    report = validate_folder(clean_upload)
    assert report.rejected_mask("cohorts").tolist() == [True, True]
    _rows_kept(clean_upload, "cohorts", 2)


def test_unparseable_dates_name_row_column_and_value(clean_upload: Path) -> None:
    path = clean_upload / "adverse_events.csv"
    path.write_text(
        path.read_text().replace("2024-01-13,2024-01-13", "13/01/2024,2024-01-13")
    )
    findings = validate_folder(clean_upload).findings
    assert findings[["file", "row", "column", "rule", "value"]].values.tolist() == [
        ["adverse_events.csv", 3, "onset_date", "RD-008", "13/01/2024"]
    ]
    _rows_kept(clean_upload, "adverse_events", 2)


def test_wrong_types(clean_upload: Path) -> None:
    path = clean_upload / "product_lots.csv"
    path.write_text(
        path.read_text()
        .replace("92.5", "ninety")
        .replace("RELEASED,120", "RELEASED,many")
    )
    assert _found(clean_upload) == {
        ("product_lots.csv", 2, "viability_pct", "RD-008", "error"),
        ("product_lots.csv", 4, "total_cells_1e6", "RD-008", "error"),
    }
    _rows_kept(clean_upload, "product_lots", 3)


def test_duplicated_keys_flag_every_copy(clean_upload: Path) -> None:
    path = clean_upload / "subjects.csv"
    path.write_text(path.read_text() + "S-002,BDN,C1-ID,M,1975,2024-01-03,\n")
    assert _found(clean_upload) == {
        ("subjects.csv", 3, "subject_id", "SC-KEY", "error"),
        ("subjects.csv", 5, "subject_id", "SC-KEY", "error"),
    }
    _rows_kept(clean_upload, "subjects", 4)


def test_zero_byte_excel(clean_upload: Path) -> None:
    (clean_upload / "product_lots.csv").unlink()
    (clean_upload / "product_lots.xlsx").write_bytes(b"")
    found = _found(clean_upload)
    assert ("product_lots.xlsx", None, None, "RD-001", "error") in found
    # the lots referenced by administrations cannot be checked without the lot file
    assert {f[3] for f in found} == {"RD-001"}


def test_excel_upload_is_read_with_sheet_rows(clean_upload: Path) -> None:
    lots = pd.read_csv(clean_upload / "product_lots.csv", dtype=str)
    (clean_upload / "product_lots.csv").unlink()
    lots.to_excel(clean_upload / "product_lots.xlsx", index=False)
    report = validate_folder(clean_upload)
    assert report.findings.empty
    assert report.tables["product_lots"]["_source_row"].tolist() == [2, 3, 4]


def test_missing_domain_file(clean_upload: Path) -> None:
    (clean_upload / "adverse_events.csv").unlink()
    assert _found(clean_upload) == {
        ("adverse_events.csv", None, None, "RD-006", "error")
    }


def test_missing_required_column(clean_upload: Path) -> None:
    path = clean_upload / "cohorts.csv"
    path.write_text("cohort_id,dose_level\nC1-ID,1\nC2-IN,1\n")
    assert _found(clean_upload) == {("cohorts.csv", None, "route", "RD-002", "error")}


def test_unknown_and_identifier_columns(clean_upload: Path) -> None:
    path = clean_upload / "subjects.csv"
    lines = path.read_text().splitlines()
    lines[0] += ",initials,favourite_colour"
    lines[1:] = [line + ",AB,blue" for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n")
    assert _found(clean_upload) == {
        ("subjects.csv", None, "initials", "RD-005", "error"),
        ("subjects.csv", None, "favourite_colour", "RD-003", "warning"),
    }
    report = validate_folder(clean_upload)
    assert "initials" not in report.tables["subjects"].columns


def test_unrecognised_data_file_is_a_warning(clean_upload: Path) -> None:
    (clean_upload / "vitals.csv").write_text("a\n1\n")
    (clean_upload / "notes.txt").write_text("not data")
    assert _found(clean_upload) == {("vitals.csv", None, None, "RD-007", "warning")}


def test_two_files_for_one_domain(clean_upload: Path) -> None:
    cohorts = pd.read_csv(clean_upload / "cohorts.csv", dtype=str)
    cohorts.to_parquet(clean_upload / "cohorts.parquet")
    found = _found(clean_upload)
    assert ("cohorts.csv", None, None, "RD-010", "error") in found
    assert ("cohorts.parquet", None, None, "RD-010", "error") in found


def test_protocol_with_unknown_design_is_a_clear_error(clean_upload: Path) -> None:
    path = clean_upload / "protocol.toml"
    path.write_text(path.read_text().replace('method = "3+3"', 'method = "rolling-6"'))
    with pytest.raises(InputError) as caught:
        validate_folder(clean_upload)
    message = str(caught.value)
    assert "protocol.toml" in message
    assert "design.method: unknown value 'rolling-6'" in message


def test_missing_protocol_is_a_clear_error(clean_upload: Path) -> None:
    (clean_upload / "protocol.toml").unlink()
    with pytest.raises(InputError, match=r"the upload has no protocol\.toml"):
        validate_folder(clean_upload)


def test_unreadable_value_is_reported_once_not_again_by_rules(
    clean_upload: Path,
) -> None:
    # AD-002 (given dose without a date) would fire on the now-missing admin_date.
    path = clean_upload / "administrations.csv"
    path.write_text(path.read_text().replace("2024-01-11,Y", "11-01-2024,Y"))
    assert _found(clean_upload) == {
        ("administrations.csv", 3, "admin_date", "RD-008", "error")
    }


def test_two_files_for_one_domain_with_dates_and_numbers(clean_upload: Path) -> None:
    # a clean CSV is parsed by Arrow while read (dates, numbers); the same domain as
    # an Excel file is text: both are still read and reported, not a traceback
    lots = pd.read_csv(clean_upload / "administrations.csv", dtype=str)
    lots.to_excel(clean_upload / "administrations.xlsx", index=False)
    report = validate_folder(clean_upload)
    found = _found(clean_upload)
    assert ("administrations.csv", None, None, "RD-010", "error") in found
    assert ("administrations.xlsx", None, None, "RD-010", "error") in found
    table = report.tables["administrations"]
    assert len(table) == 2 * len(lots)  # no row dropped
    assert table["admin_date"].notna().sum() == 2 * lots["admin_date"].notna().sum()
