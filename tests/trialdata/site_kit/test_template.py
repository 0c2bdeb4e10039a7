"""Upload templates: one workbook per domain that ``validate`` reads, with drop-downs."""

from __future__ import annotations

import csv
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from schemas.domains import DOMAINS, get_domain
from trialdata.errors import InputError
from trialdata.io.files import SourceFile
from trialdata.io.readers import read_raw
from trialdata.site_kit.dictionary import build_dictionary, read_protocol
from trialdata.site_kit.model import ColumnEntry, DataDictionary
from trialdata.site_kit.template import (
    LISTS_SHEET,
    template_workbook,
    write_templates,
)
from trialdata.validation import validate_folder


@pytest.fixture(scope="module")
def generic() -> DataDictionary:
    return build_dictionary()


@pytest.fixture
def trial_dictionary(demo_source: Path) -> DataDictionary:
    return build_dictionary(*read_protocol(demo_source / "protocol.toml"))


def _rows(upload: Path, domain: str) -> list[dict[str, Any]]:
    """The demo upload's rows of a domain, as text (CSV) or cell values (xlsx)."""
    path = upload / f"{domain}.csv"
    if path.exists():
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    frame = pd.read_excel(upload / f"{domain}.xlsx", dtype=object)
    return [
        {k: None if pd.isna(v) else str(v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def _sent(upload: Path, domain: str) -> bool:
    """Whether the demo upload has a file for a domain."""
    return any((upload / f"{domain}{suffix}").exists() for suffix in (".csv", ".xlsx"))


def _cell(column: ColumnEntry, text: Any) -> Any:
    """A cell as a site types it: numbers as numbers, dates as dates, text as text."""
    if text is None or text == "":
        return None
    if column.type == "integer":
        return int(float(text))
    if column.type == "float":
        return float(text)
    if column.type == "datetime":
        return datetime.fromisoformat(str(text))
    return str(text)


def _fill(dictionary: DataDictionary, source: Path, folder: Path) -> None:
    """Fill every template in ``folder`` with the rows of the demo upload."""
    for domain in dictionary.domains:
        path = folder / f"{domain.name}.xlsx"
        if not path.exists():
            continue
        book = load_workbook(path)
        sheet = book.worksheets[0]
        header = [cell.value for cell in sheet[1]]
        columns = {c.name: c for c in domain.columns}
        for row in _rows(source, domain.name):
            sheet.append([_cell(columns[name], row.get(name)) for name in header])
        book.save(path)


def _without_sources(table: pd.DataFrame) -> pd.DataFrame:
    kept = [c for c in table.columns if not str(c).startswith("_")]
    return table[kept].reset_index(drop=True)


def test_filled_templates_validate_as_the_csv_upload_does(
    demo_source: Path, trial_dictionary: DataDictionary, tmp_path: Path
) -> None:
    folder = tmp_path / "filled"
    sent = [d.name for d in trial_dictionary.domains if _sent(demo_source, d.name)]
    assert len(sent) == 11  # every domain but mri
    written = write_templates(
        trial_dictionary,
        folder,
        sent,
        protocol_toml=(demo_source / "protocol.toml").read_bytes(),
    )
    assert [f.path.name for f in written] == [
        *(f"{name}.xlsx" for name in sent),
        "protocol.toml",
    ]
    _fill(trial_dictionary, demo_source, folder)
    from_templates = validate_folder(folder)
    from_csv = validate_folder(demo_source)
    assert from_csv.findings.empty
    assert from_templates.findings.empty, from_templates.findings.to_string()
    for name, table in from_csv.tables.items():
        pd.testing.assert_frame_equal(
            _without_sources(from_templates.tables[name]),
            _without_sources(table),
            check_like=True,
            obj=name,
        )


def test_an_empty_template_is_a_readable_header_row(
    generic: DataDictionary, tmp_path: Path
) -> None:
    for spec in DOMAINS:
        path = tmp_path / f"{spec.name}.xlsx"
        path.write_bytes(template_workbook(generic, spec.name))
        raw = read_raw(SourceFile(path, spec.name, "excel"))
        assert raw.data.empty
        read = [c for c in raw.data.columns if not str(c).startswith("_source_")]
        assert read == list(spec.columns)
        assert raw.unread_cells == []


def test_empty_templates_only_lack_records(
    demo_source: Path, trial_dictionary: DataDictionary, tmp_path: Path
) -> None:
    folder = tmp_path / "empty"
    write_templates(
        trial_dictionary,
        folder,
        protocol_toml=(demo_source / "protocol.toml").read_bytes(),
    )
    findings = validate_folder(folder).findings
    assert set(findings["rule"]) == {"XD-025"}  # a required domain without records
    assert set(findings["domain"]) == {
        d.name for d in trial_dictionary.domains if d.required_in_upload
    }


def _validations(sheet: Worksheet) -> dict[str, Any]:
    """The data validation of each column letter of a sheet."""
    found = {}
    for check in sheet.data_validations.dataValidation:
        for cell_range in check.sqref.ranges:
            found[cell_range.coord.split(":")[0].rstrip("0123456789")] = check
            assert cell_range.min_row == 2 and cell_range.max_row == 1_048_576
    return found


def _list_values(book: Any, formula: str) -> list[Any]:
    """The values of a list validation's range on the hidden sheet."""
    sheet_name, cells = formula.split("!")
    assert sheet_name == LISTS_SHEET
    start, end = cells.replace("$", "").split(":")
    rows = book[sheet_name][start:end]
    return [row[0].value for row in rows]


def _letter(sheet: Worksheet, name: str) -> str:
    cell = next(c for c in sheet[1] if c.value == name)
    return str(cell.column_letter)


def test_drop_down_lists_hold_the_terms_and_the_protocol_values(
    trial_dictionary: DataDictionary, tmp_path: Path
) -> None:
    for domain in trial_dictionary.domains:
        path = tmp_path / f"{domain.name}.xlsx"
        path.write_bytes(template_workbook(trial_dictionary, domain.name))
        book = load_workbook(path)
        assert book.sheetnames[0] == domain.name
        assert book[LISTS_SHEET].sheet_state == "hidden"
        sheet = book.worksheets[0]
        assert sheet.freeze_panes == "A2"
        checks = _validations(sheet)
        spec = get_domain(domain.name)
        for column in domain.columns:
            check = checks.get(_letter(sheet, column.name))
            declared = spec.schema.columns[column.name]
            if column.allowed_values:
                assert check is not None and check.type == "list", column.name
                expected = [
                    int(v) if column.type == "integer" else v
                    for v in column.allowed_values
                ]
                assert _list_values(book, check.formula1) == expected
                terms = next(
                    (
                        c.statistics["allowed_values"]
                        for c in declared.checks
                        if c.name == "isin"
                    ),
                    None,
                )
                if terms is not None:  # the protocol may narrow, never widen
                    assert set(column.allowed_values) <= set(terms)
            elif column.type == "boolean":
                assert check is not None and check.formula1 == '"Y,N"'
            elif column.type == "datetime":
                assert check is not None and check.type == "date"
                assert check.errorStyle == "warning"  # ISO text is read too
            elif column.type in ("integer", "float"):
                assert check is not None and check.type in (
                    "whole",
                    "decimal",
                    "custom",
                )
            else:
                assert check is None
            comment = sheet[f"{_letter(sheet, column.name)}1"].comment
            assert comment is not None and column.description in comment.text
            if column.unit:
                assert f"Unit: {column.unit}" in comment.text


def test_protocol_values_and_ranges_in_the_subjects_workbook(
    trial_dictionary: DataDictionary, tmp_path: Path
) -> None:
    path = tmp_path / "subjects.xlsx"
    path.write_bytes(template_workbook(trial_dictionary, "subjects"))
    book = load_workbook(path)
    sheet = book["subjects"]
    checks = _validations(sheet)
    site = checks[_letter(sheet, "site_id")]
    assert _list_values(book, site.formula1) == ["NMG", "RTD"]
    assert site.errorStyle == "stop"
    sex = checks[_letter(sheet, "sex")]
    assert _list_values(book, sex.formula1) == ["F", "M", "U"]
    age = checks[_letter(sheet, "age")]
    assert (age.type, age.operator, age.formula1, age.formula2) == (
        "whole",
        "between",
        "0",
        "120",
    )
    weight = checks[_letter(sheet, "weight_kg")]  # > 0 and <= 400
    letter = _letter(sheet, "weight_kg")
    assert weight.type == "custom"
    assert weight.formula1 == f"AND(ISNUMBER({letter}2),{letter}2>0.0,{letter}2<=400.0)"
    assert sheet.column_dimensions[_letter(sheet, "subject_id")].number_format == "@"
    consent = sheet.column_dimensions[_letter(sheet, "consent_date")]
    assert consent.number_format == "yyyy-mm-dd"


def test_visits_and_date_times(
    trial_dictionary: DataDictionary, tmp_path: Path
) -> None:
    path = tmp_path / "biobank_samples.xlsx"
    path.write_bytes(template_workbook(trial_dictionary, "biobank_samples"))
    book = load_workbook(path)
    sheet = book["biobank_samples"]
    checks = _validations(sheet)
    visit = checks[_letter(sheet, "visit")]
    assert _list_values(book, visit.formula1)[:3] == ["SCREENING", "D0", "D1"]
    assert visit.errorStyle == "warning"  # an unscheduled visit is only a warning
    timed = sheet.column_dimensions[_letter(sheet, "collection_time")]
    assert timed.number_format == "yyyy-mm-dd hh:mm"
    temperature = checks[_letter(sheet, "storage_temperature")]
    assert "-18 to -35 C" in _list_values(book, temperature.formula1)


def test_existing_files_are_never_overwritten_without_replace(
    generic: DataDictionary, tmp_path: Path
) -> None:
    folder = tmp_path / "out"
    write_templates(generic, folder, ["subjects"])
    filled = folder / "subjects.xlsx"
    filled.write_bytes(b"filled in by a site")
    with pytest.raises(InputError, match=r"already holds subjects\.xlsx"):
        write_templates(generic, folder, ["subjects", "labs"])
    assert filled.read_bytes() == b"filled in by a site"
    assert not (folder / "labs.xlsx").exists()  # nothing written
    again = write_templates(generic, folder, ["subjects"], replace=True)
    assert [(f.path.name, f.replaced) for f in again] == [("subjects.xlsx", True)]
    assert filled.read_bytes()[:2] == b"PK"


def test_bad_folders_and_domains_are_refused(
    generic: DataDictionary, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match="unknown domain vitals"):
        write_templates(generic, tmp_path / "a", ["subjects", "vitals"])
    assert not (tmp_path / "a").exists()
    a_file = tmp_path / "upload.xlsx"
    a_file.write_bytes(b"x")
    with pytest.raises(InputError, match="not a folder"):
        write_templates(generic, a_file)
    target = tmp_path / "real"
    target.mkdir()
    link = tmp_path / "link"
    os.symlink(target, link)
    with pytest.raises(InputError, match="symbolic link"):
        write_templates(generic, link)
    assert list(target.iterdir()) == []
    (target / "labs.xlsx").symlink_to(tmp_path / "elsewhere.xlsx")
    with pytest.raises(InputError, match="symbolic link"):
        write_templates(generic, target, ["labs"], replace=True)
    assert not (tmp_path / "elsewhere.xlsx").exists()
    with pytest.raises(InputError, match="does not exist"):
        write_templates(generic, tmp_path / "no" / "such")


def test_a_folder_with_another_file_of_a_domain_is_refused(
    generic: DataDictionary, tmp_path: Path
) -> None:
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "Subjects.csv").write_text("subject_id\n")
    with pytest.raises(InputError, match=r"already holds Subjects\.csv.*RD-010"):
        write_templates(generic, folder, ["subjects"], replace=True)
    assert sorted(p.name for p in folder.iterdir()) == ["Subjects.csv"]
    written = write_templates(generic, folder, ["labs"])  # another domain is fine
    assert [f.path.name for f in written] == ["labs.xlsx"]
