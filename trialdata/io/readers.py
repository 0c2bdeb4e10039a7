"""Read a site file into a table as sent, keeping every row's source line.

Values stay as the file holds them: text where the source is text, typed where the
source is typed, so that each value becomes its schema type once
(:func:`trialdata.validation.parsing.parse_table`) and is never written as text to
be parsed back:

- a CSV file is text (Arrow-backed strings, missing values as ``pd.NA``), except a
  domain file in which Arrow can convert every value while reading: its number,
  boolean and date columns come back typed (a file with any value Arrow cannot
  convert is read as text, for the parser to report each such value);
- a Parquet or SAS XPT file keeps its columns' types: integers as nullable
  integers (``Int64``, ``UInt64``), doubles, booleans, date-times in their own unit
  (naive or zoned); text as text;
- a workbook column keeps its cells' type when they are all of one kind (numbers
  as doubles, booleans, dates and date-times); a column mixing kinds (numbers and
  text), and cells of other kinds (times of day, lists, decimals), are text,
  written by :func:`trialdata.io.text.value_text`.

A file read without a domain (the quarantine's rows as sent) is all text, written
by :func:`trialdata.io.text.value_text`. Empty text is missing.
Row numbers follow one convention everywhere: the header is row 1, so the first record
is row 2 (the sheet row in Excel, the record number + 1 in Parquet and XPT).

A CSV line with more or fewer fields than the header does not make the file
unreadable: the file is read line by line instead, the line is kept as a record (its
fields cut or padded to the header, missing values for the fields it lacks) and
listed in :attr:`RawTable.malformed` with its line number and text, for the caller
to report. Files are opened without following symbolic links
(:func:`trialdata.io.files.open_regular`) and read once: the bytes read are the
bytes hashed.

A workbook cell is its saved value; a formula cell is read as the value saved with
it, and one saved without a value (by a program that does not calculate formulas)
is left missing and listed in :attr:`RawTable.unread_cells` for the caller to
report (RD-014), never read as empty in silence; so is an error value
(``#DIV/0!``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from schemas.domains import get_domain
from trialdata.errors import UnreadableFileError
from trialdata.io.files import SourceFile, open_regular
from trialdata.io.formulas import unread_cells
from trialdata.io.sas import sas_dates_as_text
from trialdata.io.text import TEXT_DTYPE, value_text

__all__ = [
    "ROW_COLUMN",
    "TEXT_DTYPE",
    "MalformedLine",
    "RawTable",
    "UnreadCell",
    "read_raw",
]

#: Column of a raw table holding each row's source line.
ROW_COLUMN = "_source_row"

_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class MalformedLine:
    """A CSV line whose number of fields differs from the header's.

    Attributes
    ----------
    line : int
        1-based line number (the header is line 1); the record's first line when a
        quoted value spans lines.
    expected : int
        Fields in the header.
    found : int
        Fields on the line.
    text : str
        The line as sent.
    """

    line: int
    expected: int
    found: int
    text: str


@dataclass(frozen=True)
class UnreadCell:
    """A workbook cell whose value cannot be read (see :mod:`trialdata.io.formulas`).

    Attributes
    ----------
    row : int
        Sheet row (1-based), the row of its record.
    column : str
        The column (its header).
    cell : str
        The cell's name, e.g. ``C2``.
    sent : str
        What it holds: a formula saved without its value (``=A2+B2``), or an error
        value (``#DIV/0!``).
    """

    row: int
    column: str
    cell: str
    sent: str

    @property
    def is_error(self) -> bool:
        """Whether the cell holds an error value rather than a formula."""
        return not self.sent.startswith("=")


@dataclass
class RawTable:
    """A file's content, as sent.

    Attributes
    ----------
    source : SourceFile
        The file read.
    data : pandas.DataFrame
        One column per file column (text, or typed as the source holds it; see the
        module notes) plus ``_source_row``.
    duplicated_columns : list of str
        Column names that appear more than once in the header (only the first copy is
        kept in ``data``).
    delimiter : str or None
        The CSV delimiter found, None for other formats.
    content : pyarrow.Buffer or None
        The bytes read, kept until they are hashed.
    digest : str or None
        The SHA-256 once taken.
    malformed : list of MalformedLine
        CSV lines with too many or too few fields; each is also a record of
        ``data`` (on its line), with its fields cut or padded to the header.
    unread_cells : list of UnreadCell
        Workbook cells of a record whose value cannot be read (a formula saved
        without its value, an error value); the cell is missing in ``data``.
    """

    source: SourceFile
    data: pd.DataFrame
    duplicated_columns: list[str] = field(default_factory=list)
    delimiter: str | None = None
    content: pa.Buffer | None = field(default=None, repr=False)
    digest: str | None = field(default=None, repr=False)
    malformed: list[MalformedLine] = field(default_factory=list)
    unread_cells: list[UnreadCell] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        """SHA-256 of the file's bytes, as read.

        A CSV file is hashed from the bytes its table was read from, when first asked
        for (the caller may do it on a core that would otherwise wait); the bytes are
        then released.
        """
        if self.digest is None:
            assert self.content is not None
            self.digest = hashlib.sha256(self.content).hexdigest()
            self.content = None
        return self.digest


def read_raw(source: SourceFile, *, threads: bool | None = None) -> RawTable:
    """Read one data file: text as text, typed values typed (see the module notes).

    Parameters
    ----------
    source : SourceFile
        The file.
    threads : bool, optional
        Whether Arrow parses a CSV file on its thread pool; by default it does for
        files of 16 MB and more. The pool costs about a quarter more CPU, so when
        files are read side by side (see ``validate_folder``) only a file that would
        otherwise keep the others waiting is worth it.

    Returns
    -------
    RawTable
        Its content.

    Raises
    ------
    UnreadableFileError
        When the file is empty, not UTF-8, not of its stated format, or has no
        header; when it is a symbolic link or not a regular file (it is then not
        read at all).
    """
    if source.problem is not None:
        _unreadable(source, source.problem)
    readers: dict[str, Callable[[SourceFile], RawTable]] = {
        "csv": lambda csv_source: _read_csv(csv_source, threads),
        "excel": _read_excel,
        "parquet": _read_parquet,
        "xpt": _read_xpt,
    }
    try:
        return readers[source.format](source)
    except UnreadableFileError:
        raise
    except (OSError, ValueError, pa.ArrowException, csv.Error) as error:
        raise UnreadableFileError(
            f"cannot be read as {source.format}: {error}", file=source.name
        ) from None
    except (ArithmeticError, LookupError, TypeError, RuntimeError) as error:
        # a third-party reader failing on a file it was not made for: the file is
        # unreadable input, not a bug to show as a traceback
        raise UnreadableFileError(
            f"cannot be read as {source.format}: {type(error).__name__}: {error}",
            file=source.name,
        ) from None


def _unreadable(source: SourceFile, message: str, row: int | None = None) -> NoReturn:
    raise UnreadableFileError(message, file=source.name, row=row)


def _dedupe_header(columns: list[str]) -> tuple[list[str], list[str]]:
    """Return unique column names (later copies renamed) and the duplicated names."""
    counts = Counter(columns)
    duplicated = [c for c, n in counts.items() if n > 1]
    seen: Counter[str] = Counter()
    unique = []
    for column in columns:
        seen[column] += 1
        unique.append(column if seen[column] == 1 else f"{column}\x00{seen[column]}")
    return unique, duplicated


def _finish(
    source: SourceFile,
    data: pd.DataFrame,
    rows: np.ndarray,
    duplicated: list[str],
    content: pa.Buffer,
    delimiter: str | None = None,
    malformed: list[MalformedLine] | None = None,
) -> RawTable:
    """Keep the first copy of each column, add rows."""
    renamed = [c for c in data.columns if "\x00" in str(c)]
    if renamed:
        data = data.drop(columns=renamed)
    data.index = pd.RangeIndex(len(data))
    data[ROW_COLUMN] = rows.astype("int64", copy=False)
    return RawTable(
        source, data, duplicated, delimiter, content, None, list(malformed or [])
    )


def _read_csv(source: SourceFile, threads: bool | None) -> RawTable:
    raw = content = _read_file(source)
    head = raw.slice(0, min(raw.size, _HEAD_BYTES)).to_pybytes()
    if not head or (head.isspace() and raw.to_pybytes().isspace()):
        _unreadable(source, "file is empty")
    if head.startswith(b"\xef\xbb\xbf"):
        raw, head = raw.slice(3), head[3:]
    end_of_header = _line_end(head)
    if end_of_header < 0 and raw.size > len(head):  # a header longer than the head
        head = raw.to_pybytes()
        end_of_header = _line_end(head)
    header_bytes = head if end_of_header < 0 else head[:end_of_header]
    header_line = _decode(source, header_bytes, raw).rstrip("\r")
    delimiter = max(_DELIMITERS, key=header_line.count)
    if header_line.count(delimiter) == 0:
        delimiter = ","
    header = next(csv.reader([header_line], delimiter=delimiter))
    if not any(h.strip() for h in header):
        _unreadable(source, "the first line (header) is empty", row=1)
    columns, duplicated = _dedupe_header([h.strip() for h in header])
    quoted = _contains_byte(raw, ord('"'))
    misshapen = _Misshapen()
    try:
        # Keeping blank lines as rows (of nulls) lets record i be line i + 2 when no
        # row is entirely null and no value spans lines, without looking for where
        # lines start. Values can only span lines inside quotes: a quoted file must
        # also have one line per record.
        table = _read_table(
            raw, columns, source, delimiter, quoted, threads, misshapen, keep_blank=True
        )
        rows = _lines_without_blank_rows(table)
        if rows is not None and quoted and _line_count(raw) != table.num_rows + 1:
            rows = None
        if rows is None:
            table = _read_table(
                raw,
                columns,
                source,
                delimiter,
                quoted,
                threads,
                misshapen,
                keep_blank=False,
            )
            rows = _csv_line_numbers(raw, table.num_rows, delimiter)
    except pa.ArrowInvalid:
        if not misshapen.seen:
            raise
        return _read_csv_by_line(source, raw, content, columns, duplicated, delimiter)
    data = table.to_pandas(types_mapper=_ARROW_TO_PANDAS.get)
    return _finish(source, data, rows, duplicated, content, delimiter)


def _line_end(text: bytes) -> int:
    """Return where the first line ends (LF, CR LF or lone CR); -1 when it does not."""
    ends = [i for i in (text.find(b"\n"), text.find(b"\r")) if i >= 0]
    return min(ends) if ends else -1


class _Misshapen:
    """Arrow's handler of a row whose field count differs from the header's.

    It notes that one was seen and stops the read: the file is then read line by
    line (:func:`_read_csv_by_line`), which keeps such a line with its number.
    """

    def __init__(self) -> None:
        self.seen = False

    def __call__(self, row: object) -> str:
        self.seen = True
        return "error"


def _read_csv_by_line(
    source: SourceFile,
    raw: pa.Buffer,
    content: pa.Buffer,
    columns: list[str],
    duplicated: list[str],
    delimiter: str,
) -> RawTable:
    """Read a CSV file that has lines of the wrong width, record by record.

    Every record is kept on its line: one with too many fields keeps the first
    ones (the whole line is in :attr:`RawTable.malformed`), one with too few gets
    missing values for the rest. Values are text; empty fields are missing.
    """
    text = _decode(source, raw, raw)
    lines = re.split(r"\r\n|\r|\n", text)  # as the csv module counts lines
    width = len(columns)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[list[str | None]] = []
    starts: list[int] = []
    malformed: list[MalformedLine] = []
    header_seen = False
    previous_end = 0
    for record in reader:
        start, previous_end = previous_end + 1, reader.line_num
        if not record:  # a blank line
            continue
        if not header_seen:
            header_seen = True
            continue
        if len(record) != width:
            sent = "\n".join(lines[start - 1 : previous_end])
            malformed.append(MalformedLine(start, width, len(record), sent))
        values = [v if v != "" else None for v in record[:width]]
        records.append(values + [None] * (width - len(values)))
        starts.append(start)
    data = _text_frame(columns, records)
    rows = np.asarray(starts, dtype="int64")
    return _finish(source, data, rows, duplicated, content, delimiter, malformed)


#: Bytes looked at first, for the header line and for an empty file.
_HEAD_BYTES = 1 << 16
#: By default, files from this size are parsed on Arrow's thread pool, smaller ones on
#: the calling thread: the pool is shared, and a small file queued behind a big one
#: waits for it.
_POOLED_FROM_BYTES = 16 << 20
#: Bytes compared at a time when searching a file for one byte value. Each slice is
#: one NumPy call, which lets go of the GIL and must take it back, waiting while
#: another thread runs Python; so slices are few (in alternating runs on the
#: benchmark upload, 1 MB slices were 5 to 40 ms slower).
_SCAN_BYTES = 8 << 20


def _read_file(source: SourceFile) -> pa.Buffer:
    """Read a whole regular file into Arrow's memory pool (links are refused).

    The pool keeps memory it has had for the next read, where a bytes object of
    each file would take fresh pages from the system every time.
    """
    with open_regular(source.path) as handle:
        size = os.fstat(handle.fileno()).st_size
        buffer = pa.allocate_buffer(size, resizable=True)
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < size:
            n = handle.readinto(view[filled:])
            if not n:
                break
            filled += n
        view.release()
        rest = handle.read()  # the file grew while it was read
        if filled < size:
            buffer.resize(filled)
        if rest:
            return pa.py_buffer(buffer.to_pybytes() + rest)
        return buffer


def _line_count(raw: pa.Buffer) -> int:
    """Return the number of lines: line breaks, plus an unterminated last line."""
    breaks = sum(int(np.count_nonzero(m)) for m in _byte_matches(raw, ord("\n")))
    unterminated = raw.size > 0 and raw.slice(raw.size - 1).to_pybytes() != b"\n"
    return breaks + int(unterminated)


def _contains_byte(raw: pa.Buffer, value: int) -> bool:
    """Return whether any byte of ``raw`` equals ``value``."""
    return any(matches.any() for matches in _byte_matches(raw, value))


def _byte_matches(raw: pa.Buffer, value: int) -> Iterator[np.ndarray]:
    """Yield, slice by slice, which bytes of ``raw`` equal ``value``.

    The slices are compared into one reused array, not one the size of the file.
    """
    view = np.frombuffer(raw, dtype=np.uint8)
    equal = np.empty(min(len(view), _SCAN_BYTES), dtype=bool)
    for start in range(0, len(view), _SCAN_BYTES):
        part = view[start : start + _SCAN_BYTES]
        yield np.equal(part, value, out=equal[: len(part)])


def _read_table(
    raw: pa.Buffer,
    columns: list[str],
    source: SourceFile,
    delimiter: str,
    quoted: bool,
    threads: bool | None,
    misshapen: _Misshapen,
    *,
    keep_blank: bool,
) -> pa.Table:
    """Read CSV bytes with Arrow, typed when every value converts, else as text.

    A line of the wrong width stops the read (``misshapen`` notes it).
    """
    options = {
        "read_options": pacsv.ReadOptions(
            column_names=columns,
            skip_rows=1,
            use_threads=raw.size >= _POOLED_FROM_BYTES if threads is None else threads,
        ),
        "parse_options": pacsv.ParseOptions(
            delimiter=delimiter,
            newlines_in_values=quoted,
            ignore_empty_lines=not keep_blank,
            invalid_row_handler=misshapen,
        ),
    }
    table = _read_typed_csv(raw, columns, source.domain, options)
    if table is not None:
        return table
    if misshapen.seen:  # the text read would stop at the same line
        raise pa.ArrowInvalid("a line has more or fewer fields than the header")
    try:
        return pacsv.read_csv(
            pa.BufferReader(raw),
            convert_options=_convert_options({c: _TEXT for c in columns}),
            **options,
        )
    except pa.ArrowInvalid as error:
        if "UTF8" in str(error):
            _decode(source, raw, raw)  # raises with the line of the first bad byte
        raise


def _lines_without_blank_rows(table: pa.Table) -> np.ndarray | None:
    """Return lines 2, 3, ... for the records of a table read keeping blank lines.

    Returns None when some row is entirely null: it may be a blank line, which the
    reader must skip, so the caller reads again skipping blank lines.
    """
    if table.num_columns == 0:
        return None
    # a column without nulls (the usual case) rules out an all-null row at once
    if all(column.null_count for column in table.columns):
        all_null = pc.is_null(table.column(0))
        for column in table.columns[1:]:
            all_null = pc.and_(all_null, pc.is_null(column))
        if pc.any(all_null).as_py():
            return None
    return np.arange(2, table.num_rows + 2, dtype="int64")


#: Arrow type text is read as: pandas keeps Arrow strings with 64-bit offsets, so
#: reading them so spares a conversion of every text column.
_TEXT = pa.large_string()
_ARROW_TYPES = {
    "integer": pa.int64(),
    "float": pa.float64(),
    "boolean": pa.bool_(),
    "datetime": pa.timestamp("ns"),
    "string": _TEXT,
}
_ARROW_TO_PANDAS = {
    _TEXT: TEXT_DTYPE,
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}
# Exact spellings Arrow accepts as booleans while reading; any other spelling sends the
# file down the text path, whose parser knows them all (case-insensitively).
_TRUE_SPELLINGS = ["Y", "y", "YES", "Yes", "yes", "TRUE", "True", "true", "T", "t", "1"]
_FALSE_SPELLINGS = [
    "N",
    "n",
    "NO",
    "No",
    "no",
    "FALSE",
    "False",
    "false",
    "F",
    "f",
    "0",
]


def _convert_options(column_types: dict[str, pa.DataType]) -> pacsv.ConvertOptions:
    return pacsv.ConvertOptions(
        column_types=column_types,
        strings_can_be_null=True,
        null_values=[""],
        quoted_strings_can_be_null=True,
        true_values=_TRUE_SPELLINGS,
        false_values=_FALSE_SPELLINGS,
        # ISO 8601 only: it refuses impossible dates (2024-02-30), which strptime
        # would roll over into the next month; other spellings take the text path
        timestamp_parsers=[pacsv.ISO8601],
    )


def _read_typed_csv(
    raw: pa.Buffer, columns: list[str], domain: str | None, options: dict[str, object]
) -> pa.Table | None:
    """Read a clean domain file with its columns parsed by Arrow, or return None.

    Arrow parses numbers, booleans and ISO 8601 dates while it reads, on every core.
    It refuses the whole file at the first value it cannot convert; the caller then
    reads the file as text so that parsing can report every such value with its row.
    The fast path only keeps what the text parser would read the same way: a file
    whose numbers include ``nan`` or an infinity (which the text parser reports),
    a number of 2^53 or more (which a double may not hold as sent) or a date-time
    with nanoseconds goes the text way.
    """
    if domain is None:
        return None
    kinds = get_domain(domain).column_kinds
    if all(kinds.get(c, "string") == "string" for c in columns):
        return None
    types = {c: _ARROW_TYPES[kinds.get(c, "string")] for c in columns}
    try:
        table = pacsv.read_csv(
            pa.BufferReader(raw), convert_options=_convert_options(types), **options
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    for name in columns:
        column = table.column(name)
        if pa.types.is_floating(column.type):
            if pc.all(pc.is_finite(column)).as_py() is False:
                return None
            # a whole number of 2^53 or more may not be held by the double Arrow
            # made of it; the text parser compares it with the digits sent
            extremes = pc.min_max(column).as_py()
            low, high = extremes["min"], extremes["max"]
            if high is not None and max(high, -low) >= _EXACT_BELOW:
                return None
        elif pa.types.is_timestamp(column.type):
            # nanoseconds: the text parser reports them (the store keeps microseconds)
            nanos = pc.any(pc.not_equal(pc.nanosecond(column), 0)).as_py()
            if nanos:
                return None
    return table


#: Numbers from this size on are not all held exactly by a double.
_EXACT_BELOW = float(2**53)


def _decode(
    source: SourceFile, part: bytes | pa.Buffer, whole: bytes | pa.Buffer
) -> str:
    """Decode UTF-8 text, refusing the file with the line of the first bad byte."""
    try:
        return bytes(part).decode("utf-8")
    except UnicodeDecodeError as error:
        if isinstance(whole, pa.Buffer):
            whole = whole.to_pybytes()
        line = whole[: error.start].count(b"\n") + 1
        _unreadable(
            source,
            f"not UTF-8 text (byte 0x{whole[error.start]:02x} at line {line}); "
            "export the file as UTF-8",
            row=line,
        )


def _csv_line_numbers(raw: pa.Buffer, n_records: int, delimiter: str) -> np.ndarray:
    """Return the 1-based line of each record, accounting for blank lines.

    The fast path assumes one record per non-blank line; when quoted values span lines
    the count differs and the file is walked with :mod:`csv` to get exact lines.
    """
    buffer = np.frombuffer(raw, dtype=np.uint8)
    ends = np.flatnonzero(buffer == ord("\n"))
    if len(ends) == 0 or ends[-1] != len(buffer) - 1:
        ends = np.append(ends, len(buffer))
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts
    carriage = np.zeros(len(lengths), dtype=bool)
    has_text = lengths > 0
    carriage[has_text] = buffer[np.minimum(ends[has_text] - 1, len(buffer) - 1)] == 13
    nonblank = np.flatnonzero(lengths - carriage > 0) + 1
    if len(nonblank) - 1 == n_records:
        return nonblank[1:]
    reader = csv.reader(
        io.StringIO(raw.to_pybytes().decode("utf-8"), newline=""), delimiter=delimiter
    )
    record_starts = []
    previous_end = 0
    for record in reader:
        if record:
            record_starts.append(previous_end + 1)
        previous_end = reader.line_num
    return np.asarray(record_starts[1 : n_records + 1], dtype="int64")


def _read_excel(source: SourceFile) -> RawTable:
    from python_calamine import CalamineError, CalamineWorkbook

    content = _read_file(source)
    if content.size == 0:
        _unreadable(source, "file is empty (0 bytes); not an Excel workbook")
    data_bytes = content.to_pybytes()
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data_bytes))
        sheet = workbook.get_sheet_by_index(0)
        cells = sheet.to_python(skip_empty_area=True)
    except (CalamineError, OSError, ValueError) as error:
        _unreadable(source, f"not a valid .xlsx workbook ({type(error).__name__})")
    # the cells start at the sheet's first used row and column (0-based)
    first_row, first_column = sheet.start or (0, 0)
    texts = [[_cell(v) for v in row] for row in cells]
    unread = {
        (row - first_row, column - first_column): sent
        for (row, column), sent in unread_cells(data_bytes).items()
    }
    with_unread = {i for i, _ in unread}
    # a cell without a saved value may lie beyond the range the reader gives
    texts += [[] for _ in range(max(with_unread, default=-1) + 1 - len(texts))]
    filled = [
        i
        for i, row in enumerate(texts)
        if i in with_unread or any(v is not None for v in row)
    ]
    if not filled:
        _unreadable(source, "workbook's first sheet is empty")
    header_at = filled[0]
    width = max(len(texts[header_at]), 1 + max((j for _, j in unread), default=-1))
    names = value_text(pd.Series((texts[header_at] + [None] * width)[:width]))
    header = [
        c.strip() if isinstance(c, str) and c else f"(blank {i + 1})"
        for i, c in enumerate([None if pd.isna(c) else c for c in names])
    ]
    body = [i for i in filled if i > header_at]
    records = [(texts[i] + [None] * width)[:width] for i in body]
    columns, duplicated = _dedupe_header(header)
    cells_by_column = list(zip(*records, strict=True)) if records else [()] * width
    data = pd.DataFrame(
        {
            name: _as_read(_cells_column(cells), source)
            for name, cells in zip(columns, cells_by_column, strict=True)
        },
        index=pd.RangeIndex(len(records)),
    )
    rows = np.asarray([first_row + 1 + i for i in body], dtype="int64")
    raw = _finish(source, data, rows, duplicated, content)
    raw.unread_cells = [
        UnreadCell(
            first_row + 1 + i,
            columns[j],
            _cell_name(first_column + j, i + first_row),
            sent,
        )
        for (i, j), sent in sorted(unread.items())
        if i > header_at and "\x00" not in columns[j]
    ]
    return raw


def _cell_name(column: int, row: int) -> str:
    """Return a cell's name (``C2``) from its 0-based column and row."""
    letters = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"{letters}{row + 1}"


def _text_frame(columns: list[str], records: list[list[str | None]]) -> pd.DataFrame:
    """Build a table of Arrow text from rows of text (None where missing).

    Each column goes to Arrow in one call; a table of Python objects converted
    with ``astype`` takes several times longer.
    """
    values = list(zip(*records, strict=True)) if records else [() for _ in columns]
    return pd.DataFrame(
        {
            name: pd.arrays.ArrowStringArray(pa.array(list(column), type=_TEXT))
            for name, column in zip(columns, values, strict=True)
        },
        index=pd.RangeIndex(len(records)),
    )


def _cell(value: object) -> object:
    """Return a cell's value, None when it is empty (no value, empty text, NaN)."""
    if isinstance(value, str):
        return value or None
    if value is None or (type(value) is float and value != value):
        return None
    return value


def _cell_kind(value: object) -> str:
    """Return the kind of a (non-empty) cell: text, boolean, number, date or other."""
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "boolean"
    if type(value) is float:
        return "number"
    if isinstance(value, datetime):
        return "date" if value.tzinfo is None else "other"
    if isinstance(value, date):
        return "date"
    return "other"


def _cells_column(cells: Sequence[object]) -> pd.Series:
    """Build a column from cells (None where empty), typed when they are of one kind.

    Numbers become doubles, booleans booleans and dates or date-times
    ``datetime64[us]``; text, and cells of mixed or other kinds, become text
    (:func:`trialdata.io.text.value_text`).
    """
    kinds = {_cell_kind(v) for v in cells if v is not None}
    if kinds <= {"text"}:
        return pd.Series(pd.arrays.ArrowStringArray(pa.array(list(cells), type=_TEXT)))
    if kinds == {"number"}:
        return pd.Series(np.asarray([np.nan if v is None else v for v in cells]))
    if kinds == {"boolean"}:
        return pd.Series(list(cells), dtype="boolean")
    if kinds == {"date"}:  # None is NaT
        return pd.Series(np.asarray(list(cells), dtype="datetime64[us]"))
    return value_text(pd.Series(list(cells), dtype=object))


def _as_read(values: pd.Series, source: SourceFile) -> pd.Series:
    """Return a column as read: typed for a domain file, else (rows as sent) text.

    A categorical column (a Parquet dictionary) is read as its values' text.
    """
    if source.domain is None or isinstance(values.dtype, pd.CategoricalDtype):
        return value_text(values)
    return values


#: Arrow types of Parquet columns and the pandas dtypes that keep them exactly.
_PARQUET_TO_PANDAS = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
    pa.string(): TEXT_DTYPE,
    _TEXT: TEXT_DTYPE,
}


def _typed_frame(
    source: SourceFile, data: pd.DataFrame, content: pa.Buffer
) -> RawTable:
    """Finish a table read from a typed file (Parquet, XPT), keeping its types.

    Numbers, booleans and date-times are kept as they are; text is Arrow text with
    empty text missing; a column of Python objects is built as workbook cells are
    (:func:`_cells_column`). Read without a domain, every column is text.
    """
    columns, duplicated = _dedupe_header([str(c) for c in data.columns])
    data = data.set_axis(columns, axis=1)
    kept: dict[str, pd.Series] = {}
    for name in columns:
        values = data[name].reset_index(drop=True)
        if pd.api.types.is_object_dtype(values.dtype):
            values = _cells_column([_cell(v) for v in values.tolist()])
        elif pd.api.types.is_string_dtype(values.dtype):
            values = values.astype(TEXT_DTYPE)
            values = values.mask(values.eq("").fillna(False))
        kept[name] = _as_read(values, source)
    typed = pd.DataFrame(kept, index=pd.RangeIndex(len(data)))
    rows = np.arange(2, len(data) + 2, dtype="int64")
    return _finish(source, typed, rows, duplicated, content)


def _read_parquet(source: SourceFile) -> RawTable:
    import pyarrow.parquet as pq

    content = _read_file(source)
    if content.size == 0:
        _unreadable(source, "file is empty (0 bytes); not a Parquet file")
    table = pq.read_table(pa.BufferReader(content))
    data = table.to_pandas(types_mapper=_PARQUET_TO_PANDAS.get, date_as_object=False)
    return _typed_frame(source, data, content)


def _read_xpt(source: SourceFile) -> RawTable:
    import pyreadstat

    content = _read_file(source)
    if content.size == 0:
        _unreadable(source, "file is empty (0 bytes); not a SAS transport file")
    try:
        data, _meta = pyreadstat.read_xport(io.BytesIO(content.to_pybytes()))
    except pyreadstat.ReadstatError as error:
        _unreadable(source, f"not a SAS XPT file: {error}")
    except (OverflowError, ValueError):
        # a date, date-time or time value pyreadstat cannot convert (e.g. a DATE9.
        # value of ten billion days): read the numbers, convert them here, and
        # keep each value that is no date as the number sent, for the parser to
        # report with its row and column
        try:
            data, meta = pyreadstat.read_xport(
                io.BytesIO(content.to_pybytes()), disable_datetime_conversion=True
            )
        except pyreadstat.ReadstatError as error:
            _unreadable(source, f"not a SAS XPT file: {error}")
        data, _ = sas_dates_as_text(data, meta.original_variable_types)
    return _typed_frame(source, data, content)
