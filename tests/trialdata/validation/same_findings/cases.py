"""The cases of the same-findings test: inputs built by code, and their findings.

Each case writes one upload (or a path that is not an upload) into an empty folder and
returns the path given to ``validate_folder``. :func:`observe` validates it and returns
what the test compares: the findings as tuples (or the error raised) and a fingerprint
of the input, so that a change of the code that *builds* an input is told apart from a
change of the code that *validates* it.

The same module builds the inputs when they are recorded (``record.py``, run on a
frozen copy of the code) and when the test regenerates them (the code of the working
tree). Builders living in test modules (the intake corpus, the bad-input upload) are
loaded from the ``tests`` folder beside the imported ``trialdata`` package, so a
recording made with ``PYTHONPATH=<frozen copy>`` uses the frozen builders too.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import math
import os
import stat
import sys
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

import trialdata
from trialdata.errors import TrialDataError
from trialdata.validation import validate_folder

__all__ = [
    "COLUMNS",
    "DATA",
    "GROUPS",
    "STRICT",
    "Case",
    "build_cases",
    "fingerprint",
    "observe",
    "rule_example_inputs",
    "sort_key",
]

#: Where the recordings live: one JSON file per group.
DATA = Path(__file__).resolve().parent

#: Groups of cases, one recording each.
GROUPS = ("intake_corpus", "bad_input", "rule_examples", "demo_injected", "demo_clean")

#: The fields of a recorded finding, in order.
COLUMNS = (
    "rule",
    "severity",
    "file",
    "row",
    "column",
    "value",
    "message",
    "domain",
    "subject_id",
)

#: How many leading fields must be identical (rule ... value); the rest is wording.
STRICT = 6

#: Seeds of the injected-error demos (per archetype), and their size: the fewest
#: subjects that hold every injected error.
DEMO_SEEDS = tuple(range(12))
DEMO_SUBJECTS = 8

#: Clean demos: default size, a few seeds.
CLEAN_SEEDS = (0, 1)

ARCHETYPES = ("tolDC-ms", "nk-aml")

#: Replaces the case folder in messages, values and link targets.
ROOT_MARK = "<root>"

Build = Callable[[Path], Path]


@dataclass(frozen=True)
class Case:
    """One input: ``build(folder)`` writes it into an empty folder, returns the path."""

    name: str
    build: Build


# -- loading builders from test modules ------------------------------------------


def _tests_folder() -> Path:
    """The ``tests`` folder beside the imported ``trialdata`` package."""
    return Path(trialdata.__file__).resolve().parents[1] / "tests"


def _load(relative: str, name: str) -> ModuleType:
    """Import a test module (or conftest) of :func:`_tests_folder` by its path."""
    if name in sys.modules:
        return sys.modules[name]
    path = _tests_folder() / relative
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]  # not half a module on the next call
        raise
    return module


# -- (a) the dirty-upload corpus ---------------------------------------------------


def _intake_corpus() -> dict[str, Case]:
    corpus = _load("trialdata/test_intake_corpus.py", "_same_findings_corpus")
    upload = corpus._UPLOAD

    def case(corrupt: Any) -> Build:
        def build(folder: Path) -> Path:
            written = upload.write_upload(folder / "upload", upload.site_frames("NIJ"))
            corrupt.corrupt(written)
            return corrupt.folder(written) if corrupt.folder else written

        return build

    return {name: Case(name, case(c)) for name, c in corpus.CASES.items()}


# -- (b) the bad-input tests of tests/trialdata/validation/test_bad_input.py -------


def _text_edit(file: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / file
        path.write_text(path.read_text().replace(old, new))

    return apply


def _edits(*changes: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        for change in changes:
            change(folder)

    return apply


def _write(file: str, content: str | bytes) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        if isinstance(content, bytes):
            (folder / file).write_bytes(content)
        else:
            (folder / file).write_text(content)

    return apply


def _unlink(file: str) -> Callable[[Path], None]:
    return lambda folder: (folder / file).unlink()


def _latin1_term(folder: Path) -> None:
    path = folder / "adverse_events.csv"
    term = "c\xe9phal\xe9e".encode("latin-1")
    path.write_bytes(path.read_bytes().replace(b"headache", term))


def _zero_byte_excel(folder: Path) -> None:
    (folder / "product_lots.csv").unlink()
    (folder / "product_lots.xlsx").write_bytes(b"")


def _lots_as_excel(folder: Path) -> None:
    lots = pd.read_csv(folder / "product_lots.csv", dtype=str)
    (folder / "product_lots.csv").unlink()
    lots.to_excel(folder / "product_lots.xlsx", index=False)


def _identifier_columns(folder: Path) -> None:
    path = folder / "subjects.csv"
    lines = path.read_text().splitlines()
    lines[0] += ",initials,favourite_colour"
    lines[1:] = [line + ",AB,blue" for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n")


def _two_files(file: str, suffix: str) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        frame = pd.read_csv(folder / file, dtype=str)
        target = (folder / file).with_suffix(suffix)
        if suffix == ".parquet":
            frame.to_parquet(target)
        else:
            frame.to_excel(target, index=False)

    return apply


def _unknown_files(folder: Path) -> None:
    (folder / "vitals.csv").write_text("a\n1\n")
    (folder / "notes.txt").write_text("not data")


_BAD_INPUT: dict[str, Callable[[Path], None]] = {
    "clean": lambda folder: None,
    "empty-file": _write("adverse_events.csv", ""),
    "wrong-delimiter": _text_edit("cohorts.csv", ",", ";"),
    "non-utf8": _latin1_term,
    "duplicated-column": _write(
        "cohorts.csv",
        "cohort_id,dose_level,route,route\n"
        "C1-ID,1,INTRADERMAL,INTRANODAL\nC2-IN,1,INTRANODAL,INTRANODAL\n",
    ),
    "unparseable-date": _text_edit(
        "adverse_events.csv", "2024-01-13,2024-01-13", "13/01/2024,2024-01-13"
    ),
    "wrong-types": _edits(
        _text_edit("product_lots.csv", "92.5", "ninety"),
        _text_edit("product_lots.csv", "RELEASED,120", "RELEASED,many"),
    ),
    "duplicated-keys": _text_edit(
        "subjects.csv",
        "S-003,BDN,C2-IN,F,1990,2024-01-04,\n",
        "S-003,BDN,C2-IN,F,1990,2024-01-04,\nS-002,BDN,C1-ID,M,1975,2024-01-03,\n",
    ),
    "zero-byte-excel": _zero_byte_excel,
    "excel-upload": _lots_as_excel,
    "missing-domain-file": _unlink("adverse_events.csv"),
    "missing-required-column": _write(
        "cohorts.csv", "cohort_id,dose_level\nC1-ID,1\nC2-IN,1\n"
    ),
    "unknown-and-identifier-columns": _identifier_columns,
    "unrecognised-data-file": _unknown_files,
    "two-files-one-domain": _two_files("cohorts.csv", ".parquet"),
    "protocol-unknown-design": _text_edit(
        "protocol.toml", 'method = "3+3"', 'method = "rolling-6"'
    ),
    "protocol-missing": _unlink("protocol.toml"),
    "unreadable-value": _text_edit(
        "administrations.csv", "2024-01-11,Y", "11-01-2024,Y"
    ),
    "two-files-dates-numbers": _two_files("administrations.csv", ".xlsx"),
}


def _bad_input() -> dict[str, Case]:
    fixtures = _load("trialdata/validation/conftest.py", "_same_findings_bad_input")

    def case(change: Callable[[Path], None]) -> Build:
        def build(folder: Path) -> Path:
            upload = fixtures.write_upload(folder / "upload")
            change(upload)
            return Path(upload)

        return build

    return {name: Case(name, case(change)) for name, change in _BAD_INPUT.items()}


# -- (c) the rule catalogue's examples, as whole uploads ---------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


def _csv_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_cell(row.get(c)) for c in columns] for row in rows)
    return buffer.getvalue()


def rule_example_inputs() -> dict[str, Any]:
    """Write the catalogue's examples as upload files (text), from the code imported.

    Only :mod:`record` calls this, on the frozen code: the catalogue's clean records,
    ``BASE_PROTOCOL`` and ``EXAMPLES`` live in the package being rewritten, so the
    files they give are recorded and the test writes them back from the recording.

    Returns
    -------
    dict
        ``clean``: file name to text of the clean upload; ``examples``: rule id to the
        files that differ from the clean upload.
    """
    from schemas.domains import get_domain
    from trialdata.demo.protocols import protocol_toml
    from trialdata.validation.rules.catalogue import EXAMPLES
    from trialdata.validation.rules.testing import BASE_PROTOCOL, clean_records

    clean = clean_records()
    # the keys of the clean records, then the schema's required columns (empty)
    columns = {
        domain: [*dict.fromkeys(k for row in rows for k in row)]
        + [
            name
            for name, column in get_domain(domain).schema.columns.items()
            if column.required and all(name not in row for row in rows)
        ]
        for domain, rows in clean.items()
    }

    def files(records: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
        texts = {}
        for domain, rows in records.items():
            added = dict.fromkeys(
                k for row in rows for k in row if k not in columns[domain]
            )
            texts[f"{domain}.csv"] = _csv_text(rows, columns[domain] + [*added])
        return {"protocol.toml": protocol_toml(BASE_PROTOCOL), **texts}

    base = files(clean)
    examples = {}
    for rule_id, change in sorted(EXAMPLES.items()):
        records = clean_records()
        change(records)
        changed = files(records)
        examples[rule_id] = {k: v for k, v in changed.items() if base[k] != v}
    return {"clean": base, "examples": examples}


def _formula_without_value(folder: Path) -> None:
    """READ_EXAMPLES["RD-014"] of the catalogue: labs.xlsx, a formula without value."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["subject_id", "lab_date", "test_code", "value", "unit"])
    sheet.append(["S-01", "2024-01-16", "ALT", "=E7*2", "U/L"])
    book.save(folder / "labs.xlsx")  # openpyxl writes formulas without values


def _rule_examples(inputs: Mapping[str, Any]) -> dict[str, Case]:
    clean: dict[str, str] = inputs["clean"]

    def case(files: Mapping[str, str], extra: Callable[[Path], None] | None) -> Build:
        def build(folder: Path) -> Path:
            upload = folder / "upload"
            upload.mkdir()
            for name, text in (clean | dict(files)).items():
                (upload / name).write_text(text, encoding="utf-8")
            if extra is not None:
                (upload / "labs.csv").unlink()
                extra(upload)
            return upload

        return build

    cases = {"clean": Case("clean", case({}, None))}
    for rule_id, files in inputs["examples"].items():
        cases[rule_id] = Case(rule_id, case(files, None))
    cases["read-RD-014"] = Case("read-RD-014", case({}, _formula_without_value))
    return cases


# -- (d) demos -----------------------------------------------------------------------


def _demo(archetype: str, seed: int, n_subjects: int | None, inject: bool) -> Build:
    def build(folder: Path) -> Path:
        from trialdata.demo import write_trial

        upload = folder / "upload"
        write_trial(upload, archetype, n_subjects, seed, inject=inject)
        return upload

    return build


def _demos(inject: bool) -> dict[str, Case]:
    seeds = DEMO_SEEDS if inject else CLEAN_SEEDS
    size = DEMO_SUBJECTS if inject else None
    names = {
        f"{archetype}-seed-{seed}": _demo(archetype, seed, size, inject)
        for archetype in ARCHETYPES
        for seed in seeds
    }
    return {name: Case(name, build) for name, build in names.items()}


def build_cases(
    group: str, rule_inputs: Mapping[str, Any] | None = None
) -> dict[str, Case]:
    """Return the cases of a group, by name.

    Parameters
    ----------
    group : str
        One of :data:`GROUPS`.
    rule_inputs : mapping, optional
        For ``rule_examples``: the files of :func:`rule_example_inputs` (recorded).
    """
    if group == "intake_corpus":
        return _intake_corpus()
    if group == "bad_input":
        return _bad_input()
    if group == "rule_examples":
        assert rule_inputs is not None, "rule_examples are built from recorded files"
        return _rule_examples(rule_inputs)
    if group in ("demo_injected", "demo_clean"):
        return _demos(inject=group == "demo_injected")
    raise KeyError(group)


# -- observing a case ----------------------------------------------------------------


def _text(value: Any, roots: tuple[str, ...]) -> str | None:
    """A finding's field as recorded: None for missing, the case folder replaced."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    text = value if isinstance(value, str) else f"<{type(value).__name__}>{value}"
    for root in roots:
        text = text.replace(root, ROOT_MARK)
    return text


def _roots(folder: Path) -> tuple[str, ...]:
    return tuple(dict.fromkeys((str(folder.resolve()), str(folder))))


def _findings(path: Path, folder: Path) -> dict[str, Any]:
    """Validate ``path``; the findings (sorted tuples) or the error raised."""
    roots = _roots(folder)
    try:
        report = validate_folder(path)
    except TrialDataError as error:
        return {
            "raises": [type(error).__name__, _text(str(error), roots)],
            "findings": [],
        }
    rows = [
        [_row(f["row"]) if c == "row" else _text(f[c], roots) for c in COLUMNS]
        for f in report.findings.to_dict("records")
    ]
    return {"raises": None, "findings": sorted(rows, key=sort_key)}


def _row(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def sort_key(finding: list[Any]) -> tuple[Any, ...]:
    """Order of recorded findings: by field, None first."""
    return tuple((v is not None, v if v is not None else 0) for v in finding)


def observe(case: Case, folder: Path) -> dict[str, Any]:
    """Build a case in an empty ``folder``, validate it, fingerprint its input.

    Returns
    -------
    dict
        ``input`` (:func:`fingerprint`), ``raises`` (error class and message, or None)
        and ``findings`` (sorted lists of :data:`COLUMNS`).
    """
    path = case.build(folder)
    return {"input": fingerprint(folder), **_findings(path, folder)}


# -- fingerprints of inputs -----------------------------------------------------------


def _digest(parts: list[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def _workbook_digest(path: Path) -> str:
    """The workbook's parts, without docProps/core.xml (it holds the save time)."""
    with zipfile.ZipFile(path) as book:
        names = sorted(n for n in book.namelist() if n != "docProps/core.xml")
        return _digest([part for n in names for part in (n.encode(), book.read(n))])


def _parquet_digest(path: Path) -> str:
    """The table (schema and values), not the writer's version in the metadata."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    schema = table.schema.remove_metadata().to_string().encode()
    return _digest([schema, repr(table.to_pylist()).encode()])


def _xpt_digest(path: Path) -> str:
    """The data and formats, not the creation time in the header."""
    import pyreadstat

    data, meta = pyreadstat.read_xport(path, disable_datetime_conversion=True)
    formats = json.dumps(meta.original_variable_types, sort_keys=True).encode()
    return _digest([data.to_csv(index=False).encode(), formats])


_SEMANTIC = {
    ".xlsx": _workbook_digest,
    ".parquet": _parquet_digest,
    ".xpt": _xpt_digest,
}


def _content(path: Path) -> str:
    read = _SEMANTIC.get(path.suffix.lower())
    if read is not None:
        try:
            return read(path)
        except Exception:  # not a readable file of its kind: its bytes
            pass
    return _digest([path.read_bytes()])


def _entry(path: Path, roots: tuple[str, ...]) -> str:
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        return f"link {_text(os.readlink(path), roots)}"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISREG(mode):
        return f"file {_content(path)}"
    return "fifo" if stat.S_ISFIFO(mode) else f"other {stat.S_IFMT(mode)}"


def fingerprint(folder: Path) -> str:
    """A digest of everything under ``folder``: names, kinds, link targets, contents.

    Workbooks, Parquet and XPT files count by their content, not by the time they were
    written or the writer's version; every other file by its bytes.
    """
    roots = _roots(folder)
    lines = []
    for current, folders, files in os.walk(folder):
        folders.sort()
        for name in sorted([*folders, *files]):
            path = Path(current) / name
            lines.append(
                f"{path.relative_to(folder).as_posix()}: {_entry(path, roots)}"
            )
    return _digest([line.encode() for line in lines])
