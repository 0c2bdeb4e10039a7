"""Readers give every value exactly, and refuse links and unreadable dates cleanly.

Date-times keep their fractional seconds and UTC offsets, numbers their sign and
digits; workbook formulas saved without a value are reported (RD-014), never read
as empty; the SAS transport reader of SDTM/ADaM folders refuses symbolic links and
names the row and column of a date it cannot read.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from openpyxl import Workbook

from schemas.domains import get_domain
from trialdata.errors import UnreadableFileError
from trialdata.io.files import SourceFile
from trialdata.io.formulas import unread_cells
from trialdata.io.readers import read_raw
from trialdata.io.sdtm import read_sdtm, read_xpt
from trialdata.io.timestamps import (
    iso_text,
    offset_seconds,
    parse_offsets,
    series_text,
    utc_wall,
)
from trialdata.validation.parsing import parse_table
from trialdata.validation.rules.catalogue import READ_EXAMPLES, read_example_findings
from trialdata.validation.runner import RD_CELL_WITHOUT_VALUE


def _source(path: Path, domain: str | None = None) -> SourceFile:
    formats = {".csv": "csv", ".xlsx": "excel", ".parquet": "parquet", ".xpt": "xpt"}
    return SourceFile(path, domain, formats[path.suffix])


# -- date-time text ------------------------------------------------------------------


def test_offsets_are_split_from_the_wall_time() -> None:
    text = pd.Series(
        [
            "2025-02-17T10:30:00+01:00",
            "2025-02-17T10:30Z",
            "2025-02-17 10:30:00.5-0530",
            "2025-02-17T10:30:00+25:00",
            "2025-02-17",
            "2025-02-17T10:30:00",
        ]
    )
    wall, offsets, bad = parse_offsets(text)
    assert list(wall) == [
        "2025-02-17T10:30:00",
        "2025-02-17T10:30",
        "2025-02-17 10:30:00.5",
        "2025-02-17T10:30:00",
        "2025-02-17",
        "2025-02-17T10:30:00",
    ]
    assert list(offsets[:3]) == ["+01:00", "+00:00", "-05:30"]
    assert offsets[3:].isna().all()
    assert list(bad) == [False, False, False, True, False, False]
    assert offset_seconds("+00:19:32") == 1172
    assert offset_seconds("+24:00") is None


def test_iso_text_keeps_fractions_and_offsets() -> None:
    wall = pd.to_datetime(
        pd.Series(
            [
                "2025-02-17T10:30:00",
                "2025-02-17",
                "2025-02-17T00:00:00.000001",
                "2025-02-17T00:00:00.000000001",
                "2025-02-17",
                None,
            ]
        ),
        format="ISO8601",
    ).to_numpy()
    offsets = np.array(["+01:00", None, None, None, "-05:30", None], dtype=object)
    assert list(iso_text(wall, offsets)) == [
        "2025-02-17T10:30:00+01:00",
        "2025-02-17",
        "2025-02-17T00:00:00.000001",
        "2025-02-17T00:00:00.000000001",
        "2025-02-17T00:00:00-05:30",  # midnight with an offset keeps its time
        None,
    ]
    utc = utc_wall(wall[:1], offsets[:1])
    assert utc[0] == np.datetime64("2025-02-17T09:30:00")


def test_a_zoned_column_is_written_in_its_zone() -> None:
    stamps = pd.Series(
        pd.to_datetime(
            ["2025-01-15T09:30:00Z", "2025-07-15T09:30:00.25Z", None],
            format="ISO8601",
        )
    ).dt.tz_convert("Europe/Amsterdam")
    assert list(series_text(stamps)) == [
        "2025-01-15T10:30:00+01:00",
        "2025-07-15T11:30:00.250000+02:00",
        None,
    ]


def test_parser_keeps_offsets_and_refuses_nanoseconds() -> None:
    raw = pd.DataFrame(
        {
            "lab_date": pd.array(
                [
                    "2025-02-17T10:30:00+01:00",
                    "2025-02-17T10:30:00.123456",
                    "2025-02-17T10:30:00.123456789",
                    "2025-02-17T10:30:00.123456000",
                    "2025-02-17",
                ],
                dtype="string[pyarrow]",
            ),
            "_source_file": "labs.csv",
            "_source_row": range(2, 7),
        }
    )
    typed, findings = parse_table(raw, get_domain("labs"))
    assert list(typed["lab_date"]) == [
        pd.Timestamp("2025-02-17T10:30:00"),
        pd.Timestamp("2025-02-17T10:30:00.123456"),
        pd.NaT,
        pd.Timestamp("2025-02-17T10:30:00.123456"),
        pd.Timestamp("2025-02-17"),
    ]
    assert typed["_offset_lab_date"].iloc[0] == "+01:00"
    assert typed["_offset_lab_date"].iloc[1:].isna().all()
    assert list(findings["row"]) == [4]
    assert "finer than a microsecond" in findings["message"].iloc[0]


# -- numbers -------------------------------------------------------------------------


@pytest.mark.parametrize("clean", [True, False], ids=["arrow-typed", "text"])
def test_csv_numbers_beyond_a_double_are_reported(tmp_path: Path, clean: bool) -> None:
    path = tmp_path / "labs.csv"
    other = "2025-02-17" if clean else "17/02/2025"  # a bad date: the text path
    path.write_text(
        "subject_id,lab_date,test_code,value\n"
        f"S1,2025-02-17,ALT,9007199254740993\n"
        f"S1,{other},AST,-0.0\n"
        "S1,2025-02-17,GGT,9007199254740992\n",
        encoding="utf-8",
    )
    raw = read_raw(_source(path, "labs"))
    typed, findings = parse_table(
        raw.data.assign(_source_file="labs.csv"), get_domain("labs")
    )
    numbers = findings.loc[findings["column"] == "value"]
    assert list(numbers["row"]) == [2]
    assert "would become 9007199254740992.0" in numbers["message"].iloc[0]
    assert np.signbit(typed["value"].iloc[1])
    assert typed["value"].iloc[2] == 2.0**53


def test_parquet_dates_beyond_nanoseconds_keep_their_year(tmp_path: Path) -> None:
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "labs.parquet"
    moment = datetime.datetime(3000, 1, 1, 10, 30, 0, 5)
    pq.write_table(
        pa.table(
            {
                "lab_date": pa.array([moment, None], type=pa.timestamp("us")),
                "visit": pa.array([[1, 2], None]),  # a list: text, not a failure
            }
        ),
        path,
    )
    data = read_raw(_source(path, "labs")).data
    # kept in its own unit: not wrapped around to 1830 on the way to nanoseconds
    assert str(data["lab_date"].dtype) == "datetime64[us]"
    assert data["lab_date"].iloc[0] == pd.Timestamp(moment)
    assert data["visit"].iloc[0] == "[1, 2]"  # a list: its JSON text
    _, findings = parse_table(
        data.assign(_source_file="labs.parquet"), get_domain("labs")
    )
    # beyond what is stored, and shown as sent
    assert findings[["column", "value"]].values.tolist() == [
        ["lab_date", "3000-01-01T10:30:00.000005"]
    ]


def test_parquet_values_are_kept_exactly(tmp_path: Path) -> None:
    path = tmp_path / "labs.parquet"
    pd.DataFrame(
        {
            "lab_date": pd.Series(
                pd.to_datetime(
                    ["2025-02-17T09:30:00.000000001Z", "2025-02-17T09:30:00.5Z"]
                )
            ).dt.tz_convert("Europe/Amsterdam"),
            "value": [-0.0, 1e300],
            "admin_seq": pd.array([2**63 - 1, None], dtype="Int64"),
        }
    ).to_parquet(path)
    data = read_raw(_source(path, "labs")).data
    assert str(data["lab_date"].dt.tz) == "Europe/Amsterdam"
    assert np.signbit(data["value"].iloc[0]) and data["value"].iloc[1] == 1e300
    assert str(data["admin_seq"].dtype) == "Int64"
    assert data["admin_seq"].iloc[0] == 2**63 - 1
    typed, findings = parse_table(
        data.assign(_source_file="labs.parquet"), get_domain("labs")
    )
    # the wall time and its offset; nanoseconds are refused, shown as sent
    assert pd.isna(typed["lab_date"].iloc[0])
    assert typed["lab_date"].iloc[1] == pd.Timestamp("2025-02-17T10:30:00.5")
    assert list(typed["_offset_lab_date"].astype(object)) == [pd.NA, "+01:00"]
    assert findings[["row", "column", "value"]].values.tolist() == [
        [2, "lab_date", "2025-02-17T10:30:00.000000001+01:00"]
    ]
    assert "finer than a microsecond" in findings["message"].iloc[0]
    assert np.signbit(typed["value"].iloc[0])


# -- workbooks -----------------------------------------------------------------------


def _workbook(path: Path, cells: dict[str, object]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for name, value in cells.items():
        sheet[name] = value
    book.save(path)
    return path


def _with_saved_values(path: Path, values: dict[str, str]) -> Path:
    """Put a saved (cached) value into formula cells, as a spreadsheet would."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(buffer, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                for cell, value in values.items():
                    start = data.index(f'r="{cell}"'.encode())
                    at = data.index(b"<v></v>", start)
                    data = data[:at] + f"<v>{value}</v>".encode() + data[at + 7 :]
            new.writestr(item, data)
    path.write_bytes(buffer.getvalue())
    return path


def test_a_sheet_not_starting_at_a1_keeps_its_row_numbers(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "labs.xlsx",
        {"B3": "subject_id", "C3": "value", "B4": "S1", "C4": -0.0, "B7": "S2"},
    )
    raw = read_raw(_source(path, "labs"))
    assert list(raw.data.columns) == ["subject_id", "value", "_source_row"]
    assert list(raw.data["_source_row"]) == [4, 7]
    assert np.signbit(raw.data["value"].iloc[0]) and raw.data["value"].iloc[0] == 0


def test_formula_without_saved_value_is_reported(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "labs.xlsx",
        {
            "A1": "subject_id",
            "B1": "value",
            "C1": "unit",
            "A2": "S1",
            "B2": "=1+1",
            "A3": "S2",
            "B3": "=2+2",
            "C4": "=A2",  # a row holding only a formula is still a row
        },
    )
    raw = read_raw(_source(path, "labs"))
    assert [(c.row, c.column, c.cell, c.sent) for c in raw.unread_cells] == [
        (2, "value", "B2", "=1+1"),
        (3, "value", "B3", "=2+2"),
        (4, "unit", "C4", "=A2"),
    ]
    assert list(raw.data["_source_row"]) == [2, 3, 4]
    assert raw.data["value"].isna().all()

    cached = _with_saved_values(path, {"B2": "2", "B3": "4.5", "C4": "7"})
    assert unread_cells(cached.read_bytes()) == {}
    again = read_raw(_source(cached, "labs"))
    assert again.unread_cells == []
    assert list(again.data["value"].iloc[:2]) == [2.0, 4.5]  # number cells
    assert again.data["unit"].iloc[2] == 7.0


def test_error_values_are_reported(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "labs.xlsx",
        {"A1": "subject_id", "B1": "value", "A2": "S1", "B2": 1, "A3": "S2"},
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(buffer, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":  # a typed error value
                data = data.replace(
                    b'<c r="B2" t="n"><v>1</v></c>', b'<c r="B2" t="e"><v>#N/A</v></c>'
                )
            new.writestr(item, data)
    path.write_bytes(buffer.getvalue())
    raw = read_raw(_source(path, "labs"))
    assert [(c.row, c.column, c.sent, c.is_error) for c in raw.unread_cells] == [
        (2, "value", "#N/A", True)
    ]
    assert raw.data["value"].isna().all()


def test_the_read_rule_examples_fire() -> None:
    for rule in READ_EXAMPLES:
        found = read_example_findings(rule)
        assert len(found) >= 1
        assert set(found["rule"]) == {rule}
        assert found[["file", "row", "column"]].notna().all().all()
    found = read_example_findings(RD_CELL_WITHOUT_VALUE)
    assert (found["file"].iloc[0], found["row"].iloc[0]) == ("labs.xlsx", 2)
    assert found["column"].iloc[0] == "value"
    assert found["value"].iloc[0] == "=E7*2"


# -- SAS transport files of SDTM / ADaM folders ----------------------------------


def _xpt(path: Path, days: float) -> Path:
    frame = pd.DataFrame({"USUBJID": ["S1", "S2"], "TRTSDT": [23000.0, days]})
    pyreadstat.write_xport(frame, path, variable_format={"TRTSDT": "DATE9."})
    return path


def test_xpt_dates_and_out_of_range_dates(tmp_path: Path) -> None:
    frame = read_xpt(_xpt(tmp_path / "adsl.xpt", 23001.0))
    assert list(pd.to_datetime(frame["TRTSDT"])) == [
        pd.Timestamp("2022-12-21"),
        pd.Timestamp("2022-12-22"),
    ]
    with pytest.raises(UnreadableFileError) as error:
        read_xpt(_xpt(tmp_path / "bad.xpt", 1e10))
    assert (error.value.row, error.value.column) == (3, "TRTSDT")
    assert "bad.xpt" in str(error.value) and "DATE9" in str(error.value)


def test_xpt_links_are_refused(tmp_path: Path) -> None:
    real = _xpt(tmp_path / "real.xpt", 23001.0)
    link = tmp_path / "ae.xpt"
    os.symlink(real, link)
    with pytest.raises(UnreadableFileError, match="symbolic link"):
        read_xpt(link)
    os.mkfifo(tmp_path / "dm.xpt")
    with pytest.raises(UnreadableFileError, match="named pipe"):
        read_xpt(tmp_path / "dm.xpt")


def test_an_sdtm_folder_with_a_dangling_link_is_refused(tmp_path: Path) -> None:
    for name in ("dm.xpt", "ex.xpt", "ae.xpt"):
        _xpt(tmp_path / name, 23001.0)
    os.symlink(tmp_path / "gone.xpt", tmp_path / "ds.xpt")  # not skipped as absent
    with pytest.raises(UnreadableFileError, match=r"ds\.xpt.*symbolic link"):
        read_sdtm(tmp_path)
    (tmp_path / "ds.xpt").unlink()
    (tmp_path / "dm.xpt").unlink()
    os.symlink("/etc/passwd", tmp_path / "dm.xpt")
    with pytest.raises(UnreadableFileError, match=r"dm\.xpt.*symbolic link"):
        read_sdtm(tmp_path)
