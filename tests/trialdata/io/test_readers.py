"""Readers keep every row and its source line, and refuse unreadable files clearly."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest

from trialdata.errors import UnreadableFileError
from trialdata.io import discover_upload, find_identifier_columns, read_raw
from trialdata.io.files import SourceFile


def _values(column: pd.Series) -> list[object]:
    """Column values with missing values as None (raw text uses pd.NA)."""
    return [None if pd.isna(v) else v for v in column]


def _source(path: Path, fmt: str = "csv") -> SourceFile:
    return SourceFile(path, "subjects", fmt)


def test_csv_rows_keep_their_physical_line_numbers(tmp_path: Path) -> None:
    # line 1 header, 2 record, 3 blank, 4 record with a quoted comma,
    # 5-6 one record whose quoted value spans two lines, 7 record.
    path = tmp_path / "subjects.csv"
    path.write_text('id,site\nA1,S1\n\nA2,"S,2"\n"A3","multi\nline"\nA4,S4\n')
    table = read_raw(_source(path))
    assert table.data["id"].tolist() == ["A1", "A2", "A3", "A4"]
    assert table.data["_source_row"].tolist() == [2, 4, 5, 7]
    assert table.data["site"].tolist() == ["S1", "S,2", "multi\nline", "S4"]


@pytest.mark.parametrize(
    ("text", "ids", "lines"),
    [
        ("id,site\nA1,S1\nA2,S2\n", ["A1", "A2"], [2, 3]),
        ("id,site\nA1,S1\nA2,S2", ["A1", "A2"], [2, 3]),
        ("id,site\r\nA1,S1\r\nA2,S2\r\n", ["A1", "A2"], [2, 3]),
        ("id,site\nA1,S1\n\nA2,S2\n", ["A1", "A2"], [2, 4]),
        ("id,site\r\nA1,S1\r\n\r\nA2,S2\r\n", ["A1", "A2"], [2, 4]),
        ("id,site\nA1,S1\nA2,S2\n\n\n", ["A1", "A2"], [2, 3]),
        ("id,site\nA1,S1\n,\nA2,S2\n", ["A1", None, "A2"], [2, 3, 4]),
        ("id,site\n\nA1,S1\n,\n\nA2,S2\n", ["A1", None, "A2"], [3, 4, 6]),
        ("id\nA1\n\nA2\n", ["A1", "A2"], [2, 4]),
    ],
    ids=[
        "plain",
        "no-final-newline",
        "crlf",
        "blank-line",
        "crlf-blank-line",
        "trailing-blank-lines",
        "row-of-empty-values",
        "blank-lines-and-empty-row",
        "one-column",
    ],
)
def test_csv_without_quotes_keeps_line_numbers_and_skips_only_blank_lines(
    tmp_path: Path, text: str, ids: list[str | None], lines: list[int]
) -> None:
    # unquoted files take the reader's fast path (no scan for line breaks) unless a
    # row is entirely empty; a row of empty values is a record, a blank line is not
    path = tmp_path / "subjects.csv"
    path.write_bytes(text.encode())
    table = read_raw(_source(path))
    assert _values(table.data["id"]) == ids
    assert table.data["_source_row"].tolist() == lines


@pytest.mark.parametrize(
    ("text", "sites", "lines"),
    [
        ('id,site\nA1,"S,1"\nA2,S2\n', ["S,1", "S2"], [2, 3]),
        ('id,site\nA1,"S,1"\nA2,S2', ["S,1", "S2"], [2, 3]),
        ('id,site\r\nA1,"S,1"\r\nA2,S2\r\n', ["S,1", "S2"], [2, 3]),
        ('id,site\nA1,"S\n1"\nA2,S2\n', ["S\n1", "S2"], [2, 4]),
        ('id,site\r\nA1,"S\r\n1"\r\nA2,S2\r\n', ["S\r\n1", "S2"], [2, 4]),
        ('id,site\nA1,"S,1"\n\nA2,S2\n', ["S,1", "S2"], [2, 4]),
        ('id,site\nA1,"say ""hi"""\nA2,S2\n', ['say "hi"', "S2"], [2, 3]),
        ('id,site\nA1,"two\nlines"\n\nA2,"S,2"', ["two\nlines", "S,2"], [2, 5]),
    ],
    ids=[
        "one-line-per-record",
        "no-final-newline",
        "crlf",
        "value-spans-lines",
        "crlf-value-spans-lines",
        "blank-line",
        "escaped-quotes",
        "spans-lines-and-blank-line",
    ],
)
def test_csv_with_quotes_numbers_lines_whether_or_not_values_span_them(
    tmp_path: Path, text: str, sites: list[str], lines: list[int]
) -> None:
    # a quoted file takes the fast path only when it has one line per record
    path = tmp_path / "subjects.csv"
    path.write_bytes(text.encode())
    table = read_raw(_source(path))
    assert _values(table.data["site"]) == sites
    assert table.data["_source_row"].tolist() == lines


def test_csv_records_its_sha256_as_read(tmp_path: Path) -> None:
    # the hash is of the bytes read, BOM included, even if the file changes later
    path = tmp_path / "subjects.csv"
    path.write_bytes(b"\xef\xbb\xbfid,site\nA1,S1\n")
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    table = read_raw(_source(path))
    path.write_bytes(b"id,site\nA2,S2\n")
    assert table.sha256 == expected
    assert table.content is None  # the bytes are released once hashed
    assert table.sha256 == expected


def test_csv_empty_cells_are_missing_not_empty_strings(tmp_path: Path) -> None:
    path = tmp_path / "subjects.csv"
    path.write_text("id,site\nA1,\n")
    assert _values(read_raw(_source(path)).data["site"]) == [None]


def test_csv_detects_semicolon_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "subjects.csv"
    path.write_text("id;site\nA1;S1\n")
    table = read_raw(_source(path))
    assert table.delimiter == ";"
    assert table.data["site"].tolist() == ["S1"]


def test_csv_reports_duplicated_header_names(tmp_path: Path) -> None:
    path = tmp_path / "subjects.csv"
    path.write_text("id,site,site\nA1,S1,S2\n")
    table = read_raw(_source(path))
    assert table.duplicated_columns == ["site"]
    assert table.data["site"].tolist() == ["S1"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"  \n\n", "file is empty"),
        (b"id,site\nA1,S\xe9\n", "not UTF-8 text (byte 0xe9 at line 2)"),
    ],
)
def test_csv_unreadable_files_name_the_problem(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "subjects.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableFileError, match=re.escape(message)) as caught:
        read_raw(_source(path))
    assert "subjects.csv" in str(caught.value)


def test_csv_with_utf8_bom_reads_the_first_column_name_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "subjects.csv"
    path.write_bytes("\ufeffid,site\nA1,S1\n".encode())
    assert list(read_raw(_source(path)).data.columns[:2]) == ["id", "site"]


def test_excel_rows_are_sheet_rows_and_cells_keep_their_type(tmp_path: Path) -> None:
    path = tmp_path / "subjects.xlsx"
    frame = pd.DataFrame(
        {
            "id": ["A1", None, "A3"],
            "n": [1, None, 2.5],
            "d": pd.to_datetime(["2024-01-05", None, "2024-02-01"]),
        }
    )
    frame.to_excel(path, index=False)
    table = read_raw(_source(path, "excel"))
    # sheet row 3 is blank and skipped; records sit on sheet rows 2 and 4
    assert table.data["_source_row"].tolist() == [2, 4]
    assert table.data["id"].tolist() == ["A1", "A3"]
    assert str(table.data["n"].dtype) == "float64"
    assert table.data["n"].tolist() == [1.0, 2.5]
    assert table.data["d"].tolist() == [
        pd.Timestamp("2024-01-05"),
        pd.Timestamp("2024-02-01"),
    ]


def test_excel_column_mixing_kinds_is_text(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [["id", "n", "flag"], ["A1", 12, True], ["A2", "n/a", False]]:
        sheet.append(row)
    book.save(tmp_path / "subjects.xlsx")
    table = read_raw(_source(tmp_path / "subjects.xlsx", "excel"))
    assert table.data["n"].tolist() == ["12", "n/a"]  # a whole number: no ".0"
    assert table.data["flag"].tolist() == [True, False]
    # read without a domain (rows as sent), every value is text
    source = SourceFile(tmp_path / "subjects.xlsx", None, "excel")
    assert read_raw(source).data["flag"].tolist() == ["true", "false"]


def test_zero_byte_excel_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "subjects.xlsx"
    path.write_bytes(b"")
    with pytest.raises(UnreadableFileError, match="0 bytes"):
        read_raw(_source(path, "excel"))


def test_garbage_excel_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "subjects.xlsx"
    path.write_bytes(b"id,site\nA1,S1\n")
    with pytest.raises(UnreadableFileError, match=r"not a valid \.xlsx workbook"):
        read_raw(_source(path, "excel"))


def test_parquet_values_keep_their_type(tmp_path: Path) -> None:
    path = tmp_path / "subjects.parquet"
    pd.DataFrame(
        {
            "id": ["A1", "A2"],
            "n": pd.array([3, None], dtype="Int64"),
            "d": pd.to_datetime(["2024-01-05", "2024-01-06T10:30"], format="ISO8601"),
        }
    ).to_parquet(path)
    table = read_raw(_source(path, "parquet"))
    assert str(table.data["n"].dtype) == "Int64"
    assert _values(table.data["n"]) == [3, None]
    assert table.data["d"].tolist() == [
        pd.Timestamp("2024-01-05"),
        pd.Timestamp("2024-01-06T10:30"),
    ]
    text = read_raw(SourceFile(path, None, "parquet")).data  # rows as sent
    assert _values(text["n"]) == ["3", None]
    assert text["d"].tolist() == ["2024-01-05", "2024-01-06T10:30:00"]
    assert table.data["_source_row"].tolist() == [2, 3]


def test_xpt_is_read(cdisc_pilot_dir: Path) -> None:
    table = read_raw(SourceFile(cdisc_pilot_dir / "sdtm" / "dm.xpt", None, "xpt"))
    assert len(table.data) == 306  # DM of the CDISC pilot: 306 subjects
    assert table.data["_source_row"].iloc[0] == 2


def test_discover_lists_data_files_by_domain(tmp_path: Path) -> None:
    for name in [
        "subjects.csv",
        "Adverse_Events.CSV",
        "notes.txt",
        "protocol.toml",
        "extra.csv",
    ]:
        (tmp_path / name).write_text("x\n")
    found = {(f.name, f.domain) for f in discover_upload(tmp_path)}
    assert found == {
        ("subjects.csv", "subjects"),
        ("Adverse_Events.CSV", "adverse_events"),
        ("extra.csv", None),
    }


def test_identifier_columns_are_recognised_in_any_spelling() -> None:
    columns = [
        "subject_id",
        "Patient Name",
        "DOB",
        "birth_year",
        "initials",
        "MRN",
        "site",
    ]
    assert find_identifier_columns(columns) == [
        "Patient Name",
        "DOB",
        "initials",
        "MRN",
    ]


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_a_csv_reads_the_same_on_arrow_threads_or_on_one(
    tmp_path: Path, quoted: bool
) -> None:
    # several of Arrow's 1 MiB blocks, a blank line and (quoted) values with commas
    site = '"S,{i}"' if quoted else "S{i}"
    lines = [f"A{i},{site.format(i=i)}" for i in range(120_000)]
    lines.insert(50_000, "")
    path = tmp_path / "subjects.csv"
    path.write_text("id,site\n" + "\n".join(lines) + "\n")
    one = read_raw(_source(path), threads=False).data
    pooled = read_raw(_source(path), threads=True).data
    pd.testing.assert_frame_equal(pooled, one)
    assert path.stat().st_size > 1 << 20  # more than one block
    assert one["_source_row"].iloc[50_000] == 50_003  # the blank line is skipped


def test_xpt_dates_are_typed_and_text_without_a_domain(tmp_path: Path) -> None:
    import pyreadstat

    path = tmp_path / "subjects.xpt"
    frame = pd.DataFrame({"consent": [23000.0, None], "note": ["a", ""]})
    pyreadstat.write_xport(frame, path, variable_format={"consent": "DATE9."})
    typed = read_raw(SourceFile(path, "subjects", "xpt")).data
    assert _values(typed["consent"]) == [pd.Timestamp("2022-12-21"), None]
    assert _values(typed["note"]) == ["a", None]  # empty text is missing
    text = read_raw(SourceFile(path, None, "xpt")).data  # rows as sent
    assert _values(text["consent"]) == ["2022-12-21", None]
