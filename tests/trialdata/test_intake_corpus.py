"""A corpus of bad uploads: nothing lost, nobody in where they don't belong.

Each case takes the small clean upload of the store tests (one site, six files, 16
rows) and applies one corruption. For every case, run in-process on
``trialdata.cli.app``:

- ``validate`` and ``ingest`` end without a traceback, with exit code 0, 1 or 2;
- they agree on the class of the exit code: error findings (``validate`` 1) never
  let ``ingest`` exit 0, an upload that cannot be used at all (``validate`` 2) is
  refused by ``ingest`` with 2, and a clean upload is ingested with 0;
- the counts add up: rows read = stored + quarantined (+ refused when the upload is
  refused), as ``ingest`` prints them and as the store holds them; a refused upload
  stores nothing;
- no row is lost: every data file of the folder is either read whole (its rows,
  counted here independently with the ``csv`` module or pandas, are the rows
  ``ingest`` accounts for) or reported with a file-level finding (unreadable, a
  symbolic link, not a regular file) and refused or quarantined whole;
- an upload refused for its files is ingested with ``--quarantine-bad-files``
  (unless a required file is missing): the bad files are quarantined whole and the
  counts still add up, and no stored row needs a held file (a lab result of a
  subject whose subjects file was held is quarantined, not stored).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from schemas.domains import DOMAINS
from trialdata.cli import app
from trialdata.io.files import DATA_SUFFIXES
from trialdata.store import TrialStore

_DOMAIN_NAMES = {spec.name for spec in DOMAINS}
_INTAKE = {"RD-001", "RD-006", "RD-010", "RD-012", "RD-013"}
_FILE_UNREAD = {"RD-001", "RD-013"}


def _store_fixtures() -> ModuleType:
    """The store tests' upload builder (``site_frames``, ``write_upload``)."""
    path = Path(__file__).parent / "store" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_store_upload_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_UPLOAD = _store_fixtures()


# -- corruptions -----------------------------------------------------------------

Corrupt = Callable[[Path], None]


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _write_lines(path: Path, lines: list[str], end: str = "\n") -> None:
    path.write_text(end.join(lines) + end, encoding="utf-8")


def _set(file: str, row: int, column: str, value: str) -> Corrupt:
    """Set one cell (row 0 = the first record) to a text as written."""

    def apply(folder: Path) -> None:
        path = folder / file
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.loc[row, column] = value
        frame.to_csv(path, index=False)

    return apply


def _edit_line(file: str, line: int, change: Callable[[str], str]) -> Corrupt:
    """Change one line of a file (line 1 = the header)."""

    def apply(folder: Path) -> None:
        path = folder / file
        lines = _lines(path)
        lines[line - 1] = change(lines[line - 1])
        _write_lines(path, lines)

    return apply


def _remove(file: str) -> Corrupt:
    return lambda folder: (folder / file).unlink()


def _replace_bytes(file: str, content: bytes) -> Corrupt:
    return lambda folder: (folder / file).write_bytes(content)


def _symlink(file: str, target: Callable[[Path], Path]) -> Corrupt:
    def apply(folder: Path) -> None:
        (folder / file).unlink(missing_ok=True)
        os.symlink(target(folder), folder / file)

    return apply


def _fifo(file: str) -> Corrupt:
    def apply(folder: Path) -> None:
        (folder / file).unlink()
        os.mkfifo(folder / file)

    return apply


def _folder_named(file: str) -> Corrupt:
    def apply(folder: Path) -> None:
        (folder / file).unlink(missing_ok=True)
        (folder / file).mkdir()
        (folder / file / "inside.csv").write_text("a\n1\n", encoding="utf-8")

    return apply


def _drop_column(file: str, column: str) -> Corrupt:
    def apply(folder: Path) -> None:
        path = folder / file
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.drop(columns=[column]).to_csv(path, index=False)

    return apply


def _add_column(file: str, column: str, value: str) -> Corrupt:
    def apply(folder: Path) -> None:
        path = folder / file
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame[column] = value
        frame.to_csv(path, index=False)

    return apply


def _rename_header(file: str, old: str, new: str) -> Corrupt:
    return _edit_line(file, 1, lambda header: header.replace(old, new, 1))


def _duplicate_row(file: str, line: int) -> Corrupt:
    def apply(folder: Path) -> None:
        path = folder / file
        lines = _lines(path)
        _write_lines(path, [*lines, lines[line - 1]])

    return apply


def _append(file: str, text: str) -> Corrupt:
    def apply(folder: Path) -> None:
        path = folder / file
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")

    return apply


def _delimiter(file: str, delimiter: str) -> Corrupt:
    def apply(folder: Path) -> None:
        path = folder / file
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.to_csv(path, index=False, sep=delimiter)

    return apply


def _encoded(file: str, encoding: str, term: str = "c\u00e9phal\u00e9e") -> Corrupt:
    def apply(folder: Path) -> None:
        path = folder / file
        text = path.read_text(encoding="utf-8").replace("fever", term)
        path.write_bytes(text.encode(encoding))

    return apply


def _line_endings(file: str, end: str) -> Corrupt:
    return lambda folder: _write_lines(folder / file, _lines(folder / file), end)


def _as_format(file: str, suffix: str) -> Corrupt:
    """Replace a CSV file by the same table in another format."""

    def apply(folder: Path) -> None:
        path = folder / file
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        target = path.with_suffix(suffix)
        if suffix == ".xlsx":
            frame.to_excel(target, index=False)
        elif suffix == ".parquet":
            frame.to_parquet(target)
        path.unlink()

    return apply


def _xpt_dates(overflow: bool) -> Corrupt:
    """subjects as SAS XPT with DATE9. dates; optionally one far beyond any date."""

    def apply(folder: Path) -> None:
        import pyreadstat

        path = folder / "subjects.csv"
        frame = pd.read_csv(path)
        origin = pd.Timestamp("1960-01-01")
        for column in ("consent_date", "withdrawal_date"):
            days = (pd.to_datetime(frame[column]) - origin).dt.days
            frame[column] = days.astype(float)
        if overflow:
            frame.loc[0, "consent_date"] = 1e10  # pyreadstat: OverflowError
        pyreadstat.write_xport(
            frame,
            folder / "subjects.xpt",
            variable_format={"consent_date": "DATE9.", "withdrawal_date": "DATE9."},
        )
        path.unlink()

    return apply


def _xpt_datetime_overflow(folder: Path) -> None:
    """administrations as SAS XPT with a DATETIME20. value beyond any date-time."""
    import pyreadstat

    path = folder / "administrations.csv"
    frame = pd.read_csv(path)
    origin = pd.Timestamp("1960-01-01")
    seconds = (pd.to_datetime(frame["admin_date"]) - origin).dt.total_seconds()
    frame["admin_date"] = seconds.astype(float)
    frame.loc[0, "admin_date"] = 1e18  # pyreadstat: OverflowError
    pyreadstat.write_xport(
        frame,
        folder / "administrations.xpt",
        variable_format={"admin_date": "DATETIME20."},
    )
    path.unlink()


def _workbook(
    file: str,
    formula: str | None = None,
    saved: str | None = None,
    corner: str = "A1",
) -> Corrupt:
    """Replace a CSV file by a workbook of its cells (text), its table at a corner.

    ``formula`` goes into the first record's ``value`` cell; ``saved`` is then its
    saved value (as a spreadsheet program writes it; an error value such as
    ``#DIV/0!`` with its type), None for none (as openpyxl and other scripts write
    formulas).
    """

    def apply(folder: Path) -> None:
        from openpyxl import Workbook
        from openpyxl.utils import get_column_letter

        path = folder / file
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        top, left = int(corner[1:]), ord(corner[0]) - ord("A") + 1
        rows = [list(frame.columns), *frame.to_numpy().tolist()]
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                sheet.cell(top + i, left + j, value if value != "" else None)
        cell = None
        if formula is not None:
            column = left + list(frame.columns).index("value")
            cell = f"{get_column_letter(column)}{top + 1}"
            sheet[cell] = formula
        target = path.with_suffix(".xlsx")
        book.save(target)
        path.unlink()
        if cell is not None and saved is not None:
            _save_value(target, cell, saved)

    return apply


def _save_value(path: Path, cell: str, value: str) -> None:
    """Put a formula cell's saved value into a workbook written by openpyxl."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(buffer, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                at = data.index(b"<v></v>", data.index(f'r="{cell}"'.encode()))
                data = data[:at] + f"<v>{value}</v>".encode() + data[at + 7 :]
                if value.startswith("#"):  # an error value: a cell of type e
                    mark = f'r="{cell}"'.encode()
                    data = data.replace(mark, mark + b' t="e"', 1)
            new.writestr(item, data)
    path.write_bytes(buffer.getvalue())


def _parquet(file: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Corrupt:
    """Replace a CSV file by a Parquet file of its table (typed), changed."""

    def apply(folder: Path) -> None:
        path = folder / file
        change(pd.read_csv(path)).to_parquet(path.with_suffix(".parquet"))
        path.unlink()

    return apply


def _zoned_lab_dates(frame: pd.DataFrame) -> pd.DataFrame:
    stamps = pd.to_datetime(frame["lab_date"]) + pd.Timedelta(hours=9, minutes=30)
    frame["lab_date"] = stamps.dt.tz_localize("Europe/Amsterdam")
    return frame


def _nanosecond_lab_date(frame: pd.DataFrame) -> pd.DataFrame:
    frame["lab_date"] = pd.to_datetime(frame["lab_date"]).astype("datetime64[ns]")
    frame.loc[0, "lab_date"] += pd.Timedelta(nanoseconds=1)
    return frame


def _huge_unsigned_seq(frame: pd.DataFrame) -> pd.DataFrame:
    frame["admin_seq"] = frame["admin_seq"].astype("uint64")
    frame.loc[0, "admin_seq"] = 2**64 - 1
    return frame


def _both(*corruptions: Corrupt) -> Corrupt:
    def apply(folder: Path) -> None:
        for corrupt in corruptions:
            corrupt(folder)

    return apply


def _protocol(change: Callable[[Path], None]) -> Corrupt:
    return lambda folder: change(folder / "protocol.toml")


@dataclass(frozen=True)
class Case:
    """One corruption and what must hold beyond the common checks."""

    corrupt: Corrupt
    validate: int | None = None  # expected exit code of validate, when fixed
    rules: frozenset[str] = field(default_factory=frozenset)  # must be reported
    folder: Callable[[Path], Path] | None = None  # the path given to the CLI


def _case(
    corrupt: Corrupt,
    validate: int | None = None,
    *rules: str,
    folder: Callable[[Path], Path] | None = None,
) -> Case:
    return Case(corrupt, validate, frozenset(rules), folder)


def _nothing(folder: Path) -> None:
    return None


def _folder_link(folder: Path) -> Path:
    link = folder.parent / "upload-link"
    link.symlink_to(folder, target_is_directory=True)
    return link


CASES: dict[str, Case] = {
    # the upload as a whole
    "clean": _case(_nothing, 0),
    "upload-folder-is-a-link": _case(_nothing, 0, folder=_folder_link),
    "upload-folder-missing": _case(_nothing, 2, folder=lambda f: f / "nowhere"),
    "upload-is-a-file": _case(_nothing, 2, folder=lambda f: f / "cohorts.csv"),
    "protocol-missing": _case(_remove("protocol.toml"), 2),
    "protocol-empty": _case(_replace_bytes("protocol.toml", b""), 2),
    "protocol-not-toml": _case(_replace_bytes("protocol.toml", b"[trial\nid="), 2),
    "protocol-binary": _case(_replace_bytes("protocol.toml", b"\xff\xfe\x00"), 2),
    "protocol-symlink": _case(
        _protocol(
            lambda p: (
                p.rename(p.with_name("real.toml")),
                p.symlink_to(p.with_name("real.toml")),
            )
        ),
        2,
    ),
    "protocol-is-a-folder": _case(_folder_named("protocol.toml"), 2),
    # missing and extra files
    "missing-subjects": _case(_remove("subjects.csv"), 1, "RD-006"),
    "missing-cohorts": _case(_remove("cohorts.csv"), 1, "RD-006"),
    "missing-administrations": _case(_remove("administrations.csv"), 1, "RD-006"),
    "missing-adverse-events": _case(_remove("adverse_events.csv"), 1, "RD-006"),
    "missing-labs-optional": _case(_remove("labs.csv"), 0),
    "missing-product-lots-optional": _case(_remove("product_lots.csv"), None),
    "unknown-data-file": _case(_replace_bytes("vitals.csv", b"a,b\n1,2\n"), 0),
    "hidden-data-file": _case(_replace_bytes(".labs.csv", b"junk\n"), 0),
    "two-files-one-domain": _case(
        lambda f: pd.read_csv(f / "labs.csv", dtype=str).to_excel(
            f / "labs.xlsx", index=False
        ),
        1,
        "RD-010",
    ),
    "mixed-case-file-name": _case(lambda f: (f / "labs.csv").rename(f / "Labs.CSV"), 0),
    # empty and near-empty files
    "empty-subjects": _case(_replace_bytes("subjects.csv", b""), 1, "RD-001"),
    "empty-labs": _case(_replace_bytes("labs.csv", b""), 1, "RD-001"),
    "whitespace-labs": _case(_replace_bytes("labs.csv", b"  \n\n \n"), 1, "RD-001"),
    "bom-only-labs": _case(_replace_bytes("labs.csv", b"\xef\xbb\xbf"), 1, "RD-001"),
    "header-only-labs": _case(
        lambda f: _write_lines(f / "labs.csv", _lines(f / "labs.csv")[:1]), 0
    ),
    "header-only-subjects": _case(
        lambda f: _write_lines(f / "subjects.csv", _lines(f / "subjects.csv")[:1]),
        1,
        "XD-001",
    ),
    "first-line-blank": _case(
        lambda f: _write_lines(f / "labs.csv", ["", *_lines(f / "labs.csv")]),
        1,
    ),
    # lines of the wrong width
    "extra-field-line-3": _case(
        _edit_line("labs.csv", 3, lambda s: s + ",extra"), 1, "RD-012"
    ),
    "missing-field-line-4": _case(
        _edit_line("labs.csv", 4, lambda s: s.rsplit(",", 1)[0]), 1, "RD-012"
    ),
    "extra-field-every-line": _case(
        lambda f: _write_lines(
            f / "labs.csv",
            [_lines(f / "labs.csv")[0]]
            + [s + ",x" for s in _lines(f / "labs.csv")[1:]],
        ),
        1,
        "RD-012",
    ),
    "one-field-line": _case(_append("subjects.csv", "N09\n"), 1, "RD-012"),
    "unterminated-quote": _case(
        _edit_line("adverse_events.csv", 2, lambda s: s.replace("fever", '"fever')),
        1,
    ),
    "quoted-newline-value": _case(
        _edit_line("adverse_events.csv", 2, lambda s: s.replace("fever", '"fe\nver"')),
        0,
    ),
    "quoted-comma-value": _case(
        _edit_line("adverse_events.csv", 2, lambda s: s.replace("fever", '"fe,ver"')),
        0,
    ),
    "unquoted-comma-value": _case(
        _edit_line("adverse_events.csv", 2, lambda s: s.replace("fever", "fe,ver")),
        1,
        "RD-012",
    ),
    "blank-lines-between": _case(
        lambda f: _write_lines(
            f / "labs.csv",
            [*_lines(f / "labs.csv")[:2], "", "", *_lines(f / "labs.csv")[2:]],
        ),
        0,
    ),
    "delimiters-only-line": _case(_append("labs.csv", ",,,,,,,\n"), 1),
    "whitespace-only-line": _case(_append("labs.csv", "   \n"), 1, "RD-012"),
    # delimiters, encodings, line endings
    "semicolons": _case(_delimiter("labs.csv", ";"), 0, "RD-009"),
    "tabs": _case(_delimiter("subjects.csv", "\t"), 0, "RD-009"),
    "pipes": _case(_delimiter("cohorts.csv", "|"), 0, "RD-009"),
    "bom": _case(
        lambda f: (f / "labs.csv").write_bytes(
            b"\xef\xbb\xbf" + (f / "labs.csv").read_bytes()
        ),
        0,
    ),
    "latin-1": _case(_encoded("adverse_events.csv", "latin-1"), 1, "RD-001"),
    "utf-16": _case(_encoded("adverse_events.csv", "utf-16"), 1, "RD-001"),
    "utf-8-accents": _case(_encoded("adverse_events.csv", "utf-8"), 0),
    "binary-garbage": _case(
        _replace_bytes("labs.csv", bytes(range(256)) * 8), 1, "RD-001"
    ),
    "nul-bytes": _case(
        _edit_line("adverse_events.csv", 2, lambda s: s.replace("fever", "fe\x00ver")),
        None,
    ),
    "crlf": _case(_line_endings("labs.csv", "\r\n"), 0),
    "cr-only": _case(_line_endings("labs.csv", "\r"), 0),
    "no-final-newline": _case(
        lambda f: (f / "labs.csv").write_text(
            (f / "labs.csv").read_text(encoding="utf-8").rstrip("\n"), encoding="utf-8"
        ),
        0,
    ),
    # links and entries that are not regular files
    "subjects-link-to-etc-passwd": _case(
        _symlink("subjects.csv", lambda f: Path("/etc/passwd")), 1, "RD-013"
    ),
    "labs-link-to-upload-file": _case(
        _symlink("labs.csv", lambda f: f / "cohorts.csv"), 1, "RD-013"
    ),
    "labs-link-to-folder": _case(_symlink("labs.csv", lambda f: f), 1, "RD-013"),
    "labs-dangling-link": _case(
        _symlink("labs.csv", lambda f: f / "gone.csv"), 1, "RD-013"
    ),
    "labs-fifo": _case(_fifo("labs.csv"), 1, "RD-013"),
    "labs-folder": _case(_folder_named("labs.csv"), 1, "RD-013"),
    "subjects-folder": _case(_folder_named("subjects.csv"), 1, "RD-013"),
    "unknown-name-link": _case(
        _symlink("vitals.csv", lambda f: Path("/etc/passwd")), 0, "RD-007"
    ),
    # columns
    "duplicated-column": _case(
        _rename_header("labs.csv", "unit", "value"), 1, "RD-004"
    ),
    "unknown-column": _case(_add_column("labs.csv", "lab_comment", "ok"), 0, "RD-003"),
    "identifier-initials": _case(
        _add_column("subjects.csv", "initials", "AB"), 1, "RD-005"
    ),
    "identifier-name": _case(
        _add_column("subjects.csv", "patient_name", "Jan Jansen"), 1, "RD-005"
    ),
    "missing-required-column": _case(
        _drop_column("labs.csv", "subject_id"), 1, "RD-002"
    ),
    "missing-key-column": _case(
        _drop_column("administrations.csv", "admin_seq"), 1, "RD-002"
    ),
    "blank-column-name": _case(_add_column("labs.csv", "", "x"), None),
    "header-case-and-spaces": _case(
        _rename_header("labs.csv", "subject_id", " Subject_ID "), 1
    ),
    "trailing-comma-header": _case(
        lambda f: _write_lines(
            f / "cohorts.csv", [s + "," for s in _lines(f / "cohorts.csv")]
        ),
        None,
    ),
    # dates
    "bad-date-format": _case(
        _set("administrations.csv", 0, "admin_date", "03/02/2025"), 1, "RD-008"
    ),
    "impossible-date": _case(
        _set("administrations.csv", 0, "admin_date", "2025-02-30"), 1, "RD-008"
    ),
    "date-as-text": _case(_set("labs.csv", 0, "lab_date", "yesterday"), 1, "RD-008"),
    "partial-onset-date": _case(
        _set("adverse_events.csv", 0, "onset_date", "2025-02"), None, "RD-011"
    ),
    "date-year-9999": _case(_set("labs.csv", 0, "lab_date", "9999-12-31"), 1),
    "date-year-1": _case(_set("labs.csv", 0, "lab_date", "0001-01-01"), 1),
    "date-with-time": _case(_set("labs.csv", 0, "lab_date", "2025-02-17T10:30"), None),
    "date-out-of-range-digits": _case(
        _set("labs.csv", 0, "lab_date", "20250-02-17"), 1, "RD-008"
    ),
    # numbers
    "int-20-digits": _case(
        _set("administrations.csv", 0, "admin_seq", "12345678901234567890"),
        1,
        "RD-008",
    ),
    "int-19-digits-max": _case(
        _set("administrations.csv", 0, "admin_seq", "9223372036854775807"), None
    ),
    "int-17-digits": _case(_set("labs.csv", 0, "value", "12345678901234567"), None),
    "negative-seq": _case(_set("administrations.csv", 0, "admin_seq", "-1"), None),
    "negative-age": _case(_set("subjects.csv", 0, "age", "-5"), 1),
    "huge-age": _case(_set("subjects.csv", 0, "age", "1e308"), 1),
    "float-overflow": _case(_set("labs.csv", 0, "value", "1e999"), 1, "RD-008"),
    "nan-text": _case(_set("labs.csv", 0, "value", "NaN"), 1, "RD-008"),
    "inf-text": _case(_set("labs.csv", 0, "value", "inf"), 1, "RD-008"),
    "minus-inf-text": _case(
        _set("labs.csv", 1, "upper_limit", "-Infinity"), 1, "RD-008"
    ),
    "fractional-integer": _case(
        _set("administrations.csv", 0, "dose_level", "1.5"), 1, "RD-008"
    ),
    "thousands-separator": _case(
        _set("product_lots.csv", 0, "total_cells_1e6", "1,000"), 1, "RD-008"
    ),
    "decimal-comma": _case(_set("labs.csv", 0, "value", "3,25"), 1, "RD-008"),
    "number-with-unit": _case(_set("labs.csv", 0, "value", "3.25 g/L"), 1, "RD-008"),
    # codes, keys, references
    "bad-boolean": _case(_set("administrations.csv", 0, "given", "maybe"), 1),
    "unknown-route": _case(_set("administrations.csv", 0, "route", "INTRAVENUS"), 1),
    "unknown-sex": _case(_set("subjects.csv", 0, "sex", "X"), 1),
    "grade-9": _case(_set("adverse_events.csv", 0, "grade", "9"), 1),
    "duplicated-subject": _case(_duplicate_row("subjects.csv", 2), 1),
    "duplicated-lab": _case(_duplicate_row("labs.csv", 2), 1),
    "orphan-lab": _case(_set("labs.csv", 0, "subject_id", "N99"), 1, "XD-001"),
    "orphan-administration": _case(
        _set("administrations.csv", 1, "subject_id", "N99"), 1, "XD-001"
    ),
    "unknown-lot": _case(_set("administrations.csv", 0, "lot_id", "L-NONE"), 1),
    "unknown-cohort": _case(_set("subjects.csv", 0, "cohort_id", "C9"), 1),
    "empty-key-value": _case(_set("labs.csv", 0, "subject_id", ""), 1),
    "whitespace-value": _case(_set("labs.csv", 0, "test_code", "   "), 1),
    "other-site-in-protocol": _case(_set("subjects.csv", 0, "site_id", "XXX"), 1),
    # awkward text
    "very-long-value": _case(
        _set("adverse_events.csv", 0, "term", "x" * 100_000), None
    ),
    "formula-text": _case(
        _set("adverse_events.csv", 0, "term", '=HYPERLINK("http://x")'), None
    ),
    "control-characters": _case(
        _set("adverse_events.csv", 0, "term", "fe\x1b[2Jver"), None
    ),
    # other formats
    "labs-as-excel": _case(_as_format("labs.csv", ".xlsx"), 0),
    "labs-as-parquet": _case(_as_format("labs.csv", ".parquet"), 0),
    "excel-garbage": _case(
        _both(_remove("labs.csv"), _replace_bytes("labs.xlsx", b"a,b\n1,2\n")),
        1,
        "RD-001",
    ),
    "parquet-empty": _case(
        _both(_remove("labs.csv"), _replace_bytes("labs.parquet", b"")), 1, "RD-001"
    ),
    "parquet-garbage": _case(
        _both(_remove("labs.csv"), _replace_bytes("labs.parquet", b"PAR1junk")),
        1,
        "RD-001",
    ),
    "xpt-dates": _case(_xpt_dates(overflow=False), 0),
    "xpt-date9-overflow": _case(_xpt_dates(overflow=True), 1, "RD-008"),
    "xpt-garbage": _case(
        _both(_remove("subjects.csv"), _replace_bytes("subjects.xpt", b"HEADER x")),
        1,
        "RD-001",
    ),
    "xpt-datetime-overflow": _case(_xpt_datetime_overflow, 1, "RD-008"),
    # exact values: time zones, fractions of a second, digits, signs, formulas
    "offset-text-date": _case(
        _set("labs.csv", 0, "lab_date", "2025-02-17T10:30:00+01:00"), 0
    ),
    "offset-z-date": _case(_set("labs.csv", 0, "lab_date", "2025-02-17T10:30Z"), 0),
    "offset-basic-format": _case(
        _set("labs.csv", 0, "lab_date", "2025-02-17T10:30:00-0530"), 0
    ),
    "offset-out-of-range": _case(
        _set("labs.csv", 0, "lab_date", "2025-02-17T10:30:00+24:00"), 1, "RD-008"
    ),
    "offset-on-a-date-only": _case(
        _set("labs.csv", 0, "lab_date", "2025-02-17+01:00"), 1, "RD-008"
    ),
    "fraction-microseconds": _case(
        _set("labs.csv", 0, "lab_date", "2025-02-17T10:30:00.123456"), 0
    ),
    "fraction-nanoseconds": _case(
        _set("labs.csv", 0, "lab_date", "2025-02-17T10:30:00.123456789"), 1, "RD-008"
    ),
    "fraction-ten-digits": _case(
        _set("labs.csv", 0, "lab_date", "2025-02-17T10:30:00.1234567891"),
        1,
        "RD-008",
    ),
    "float-beyond-2-53": _case(
        _set("labs.csv", 0, "value", "9007199254740993"), 1, "RD-008"
    ),
    "float-20-digits": _case(
        _set("labs.csv", 0, "value", "12345678901234567890"), 1, "RD-008"
    ),
    "float-large-exact": _case(_set("labs.csv", 0, "value", "1.5e300"), None),
    "int-exponent-in-range": _case(
        _set("administrations.csv", 0, "admin_seq", "9.2e18"), None
    ),
    "int-exponent-beyond-int64": _case(
        _set("administrations.csv", 0, "admin_seq", "1e19"), 1, "RD-008"
    ),
    "int-20-digits-negative": _case(
        _set("administrations.csv", 0, "admin_seq", "-12345678901234567890"),
        1,
        "RD-008",
    ),
    "int-2-53-plus-1": _case(
        _set("administrations.csv", 0, "admin_seq", "9007199254740993"), None
    ),
    "minus-zero": _case(_set("labs.csv", 0, "value", "-0.0"), 0),
    "excel-formula-without-value": _case(
        _workbook("labs.csv", formula="=1+1"), 1, "RD-014"
    ),
    "excel-formula-with-value": _case(
        _workbook("labs.csv", formula="=3.25", saved="3.25"), 0
    ),
    "excel-table-not-at-a1": _case(_workbook("labs.csv", corner="C3"), 0),
    "excel-error-value": _case(
        _workbook("labs.csv", formula="=1/0", saved="#DIV/0!"), 1, "RD-014"
    ),
    "excel-int-20-digits": _case(
        _both(
            _set("administrations.csv", 0, "admin_seq", "12345678901234567890"),
            _as_format("administrations.csv", ".xlsx"),
        ),
        1,
        "RD-008",
    ),
    "parquet-zoned-timestamp": _case(_parquet("labs.csv", _zoned_lab_dates), 0),
    "parquet-nanoseconds": _case(
        _parquet("labs.csv", _nanosecond_lab_date), 1, "RD-008"
    ),
    "parquet-uint64-beyond-int64": _case(
        _parquet("administrations.csv", _huge_unsigned_seq), 1, "RD-008"
    ),
}

#: Rules of findings on one value: they name the file, the row and the column.
_VALUE_RULES = {"RD-008", "RD-014"}


# -- running the command line --------------------------------------------------------


def _run(*args: str) -> Any:
    """Run the CLI in-process; never a traceback, never an uncaught exception."""
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception),
        result.output,
    )
    assert result.exit_code in (0, 1, 2), result.output
    return result


_READ = re.compile(
    r"rows: (\d+) rows read = (\d+) stored \((\d+) created, (\d+) updated, "
    r"(\d+) unchanged\) \+ (\d+) quarantined(?:; (\d+) file\(s\) quarantined whole)?"
)
_REFUSED = re.compile(
    r"upload refused, nothing stored: (\d+) rows read = 0 stored \+ 0 quarantined "
    r"\+ (\d+) refused"
)


@dataclass(frozen=True)
class Counts:
    read: int
    stored: int
    quarantined: int
    refused: int
    files_held: int


def _counts(output: str) -> Counts:
    refused = _REFUSED.search(output)
    if refused:
        n, r = (int(g) for g in refused.groups())
        return Counts(n, 0, 0, r, 0)
    found = _READ.search(output)
    assert found, output
    n, stored, created, updated, unchanged, quarantined, held = found.groups()
    assert int(stored) == int(created) + int(updated) + int(unchanged), output
    return Counts(int(n), int(stored), int(quarantined), 0, int(held or 0))


def _in_store(path: Path) -> tuple[int, int, int, int]:
    """Submissions, current records, quarantined rows, quarantined whole files."""
    with sqlite3.connect(path) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'"
            )
        ]
        records = sum(
            db.execute(
                f'SELECT COUNT(*) FROM "{t}" WHERE _ended_cs IS NULL'
            ).fetchone()[0]
            for t in tables
            if t.startswith("rec_")
        )
        submissions = db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
        rows = db.execute(
            "SELECT COUNT(*) FROM quarantine WHERE record_key NOT LIKE '%#file'"
        ).fetchone()[0]
        files = db.execute(
            "SELECT COUNT(*) FROM quarantine WHERE record_key LIKE '%#file'"
        ).fetchone()[0]
    return submissions, records, rows, files


def _records_in(folder: Path, unread: set[str]) -> int:
    """Count the records of the folder's domain files, independently of the reader.

    Files reported as not read (``unread``) are skipped; every other data file
    must be a regular file whose records are counted here.
    """
    total = 0
    for entry in sorted(folder.iterdir()):
        suffix = entry.suffix.lower()
        if entry.name.startswith(".") or suffix not in DATA_SUFFIXES:
            continue
        if entry.stem.lower() not in _DOMAIN_NAMES or entry.name in unread:
            continue
        assert entry.is_file() and not entry.is_symlink(), entry  # else: a finding
        if suffix == ".csv":
            text = entry.read_bytes().decode("utf-8-sig")
            header = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
            delimiter = max((",", ";", "\t", "|"), key=header.count)
            records = [
                r
                for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
                if r
            ]
            total += max(len(records) - 1, 0)
        elif suffix == ".xlsx":
            from openpyxl import load_workbook

            # rows with a value or a formula below the first such row (the header)
            book = load_workbook(entry, read_only=True)
            filled = [
                row
                for row in book.worksheets[0].iter_rows(values_only=True)
                if any(v not in (None, "") for v in row)
            ]
            book.close()
            total += max(len(filled) - 1, 0)
        elif suffix == ".parquet":
            total += len(pd.read_parquet(entry))
        else:
            import pyreadstat

            data, _ = pyreadstat.read_xport(entry, disable_datetime_conversion=True)
            total += len(data)
    return total


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite store, copied for each case."""
    path = tmp_path_factory.mktemp("template") / "store.sqlite"
    TrialStore.open(path).close()
    return path


def test_the_corpus_covers_the_issue() -> None:
    assert len(CASES) >= 80
    for name in (
        "missing-subjects",
        "extra-field-line-3",
        "subjects-link-to-etc-passwd",
        "int-20-digits",
        "xpt-date9-overflow",
        "xpt-datetime-overflow",
        "offset-text-date",
        "parquet-zoned-timestamp",
        "fraction-nanoseconds",
        "float-beyond-2-53",
        "minus-zero",
        "excel-formula-without-value",
        "labs-fifo",
        "labs-folder",
        "labs-link-to-folder",
    ):
        assert name in CASES


@pytest.mark.parametrize("name", list(CASES))
def test_bad_upload(name: str, tmp_path: Path, empty_store: Path) -> None:
    case = CASES[name]
    upload = _UPLOAD.write_upload(tmp_path / "upload", _UPLOAD.site_frames("NIJ"))
    case.corrupt(upload)
    given = case.folder(upload) if case.folder else upload

    checked = _run("validate", str(given), "--format", "json")
    if case.validate is not None:
        assert checked.exit_code == case.validate, checked.output
    findings: list[dict[str, Any]] = []
    if checked.exit_code != 2:
        findings = json.loads(checked.stdout)["findings"]
    rules = {f["rule"] for f in findings}
    assert case.rules <= rules, (case.rules, findings)
    errors = [f for f in findings if f["severity"] == "error"]
    assert (checked.exit_code == 1) == bool(errors)
    for finding in findings:  # a value's finding says where the value is
        if finding["rule"] in _VALUE_RULES:
            assert finding["file"] and finding["row"] and finding["column"], finding

    store = tmp_path / "store.sqlite"
    shutil.copy(empty_store, store)
    ingested = _run("ingest", str(given), "--site", "NIJ", "--store", str(store))
    output = ingested.output

    # the same class of answer
    if checked.exit_code == 2:
        assert ingested.exit_code == 2, output
        assert _in_store(store)[0] == 0
        return
    if ingested.exit_code == 2:  # refused by the store (site scope): nothing stored
        assert checked.exit_code == 1 and "nothing was stored" in output, output
        assert _in_store(store) == (0, 0, 0, 0)
        return
    assert ingested.exit_code in (0, 1), output
    assert (ingested.exit_code == 0) == (checked.exit_code == 0), output

    # every row accounted for
    unread = {f["file"] for f in errors if f["rule"] in _FILE_UNREAD}
    expected_rows = _records_in(given, unread)
    counts = _counts(output)
    assert counts.read == expected_rows, (counts, expected_rows, output)
    submissions, records, rows, files = _in_store(store)
    intake = {f["rule"] for f in errors} & _INTAKE
    if intake:  # refused whole, nothing stored
        assert "upload refused, nothing stored" in output
        assert counts.refused == counts.read
        assert (submissions, records, rows, files) == (0, 0, 0, 0)
    else:
        assert counts.read == counts.stored + counts.quarantined, output
        assert (submissions, records, rows) == (1, counts.stored, counts.quarantined)
        assert files == counts.files_held == 0
        return

    # the same upload with bad files quarantined whole
    shutil.copy(empty_store, store)
    held = _run(
        "ingest",
        str(given),
        "--site",
        "NIJ",
        "--store",
        str(store),
        "--quarantine-bad-files",
    )
    output = held.output
    if "RD-006" in intake:  # no file to hold: still refused
        assert held.exit_code == 1 and "upload refused, nothing stored" in output
        assert _in_store(store) == (0, 0, 0, 0)
        return
    assert held.exit_code == 1, output
    counts = _counts(output)
    assert counts.read == expected_rows
    assert counts.read == counts.stored + counts.quarantined, output
    submissions, records, rows, files = _in_store(store)
    assert (submissions, records, rows) == (1, counts.stored, counts.quarantined)
    assert files == counts.files_held == len(unread)
    bad_files = {f["file"] for f in errors if f["rule"] in _INTAKE}
    with TrialStore.open(store) as opened:
        current = opened.current_tables()
        stored_subjects = set(
            current.get("subjects", pd.DataFrame(columns=["subject_id"]))["subject_id"]
        )
        for domain, table in current.items():
            assert not set(table["_source_file"]) & bad_files, domain
            # nobody in where they don't belong: no stored row of an unknown subject
            if "subject_id" in table and domain != "subjects":
                assert set(table["subject_id"]) <= stored_subjects, domain
