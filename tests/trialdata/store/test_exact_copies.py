"""Values are copied exactly: ingest -> freeze -> export (CSV, Parquet) -> ingest.

On both backends: a date-time written with a UTC offset (as text, or as a zoned
Parquet timestamp) is stored as its UTC instant with the offset kept, and written
back with it; fractional seconds are kept to the microsecond (nanoseconds are a
finding, never truncated); whole numbers beyond a double's precision stay digit for
digit; -0.0 keeps its sign; a quarantined row is kept as it was sent. Exports are
never written through a symbolic link nor over a file with other content.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
from pathlib import Path
from types import ModuleType

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from schemas.domains import get_domain
from trialdata.errors import StoreError
from trialdata.store import TrialStore
from trialdata.store.codec import text_columns
from trialdata.store.tables import record_table


def _store_fixtures() -> ModuleType:
    """The store tests' upload builder (``site_frames``, ``write_upload``)."""
    path = Path(__file__).parent / "conftest.py"
    spec = importlib.util.spec_from_file_location("_store_upload_exact", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_UPLOAD = _store_fixtures()
site_frames = _UPLOAD.site_frames
write_upload = _UPLOAD.write_upload

#: Cells written into the NIJ upload as text: (file, record, column) -> text.
SENT: dict[tuple[str, int, str], str] = {
    ("labs.csv", 0, "lab_date"): "2025-02-17T10:30:00+01:00",
    ("labs.csv", 1, "lab_date"): "2025-02-17T10:30:00.123456",
    ("labs.csv", 2, "lab_date"): "2025-03-24T23:15:00.5-05:30",
    ("labs.csv", 0, "value"): "-0.0",
    ("labs.csv", 1, "value"): "9007199254740992",
    ("administrations.csv", 0, "admin_seq"): "9007199254740993",
    ("administrations.csv", 1, "admin_date"): "2025-03-10T08:00:00Z",
}

#: Their canonical text, as stored, audited and exported.
CANONICAL: dict[tuple[str, int, str], str] = {
    ("labs.csv", 0, "lab_date"): "2025-02-17T10:30:00+01:00",
    ("labs.csv", 1, "lab_date"): "2025-02-17T10:30:00.123456",
    ("labs.csv", 2, "lab_date"): "2025-03-24T23:15:00.500000-05:30",
    ("labs.csv", 0, "value"): "-0",
    ("labs.csv", 1, "value"): "9.007199254740992e+15",  # the same double
    ("administrations.csv", 0, "admin_seq"): "9007199254740993",
    ("administrations.csv", 1, "admin_date"): "2025-03-10T08:00:00+00:00",
}


def _set_cells(folder: Path, cells: dict[tuple[str, int, str], str]) -> None:
    """Write cells into the upload's CSV files, as text."""
    for file in {f for f, _, _ in cells}:
        path = folder / file
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for (name, row, column), text in cells.items():
            if name == file:
                frame.loc[row, column] = text
        frame.to_csv(path, index=False)


def _upload(folder: Path, cells: dict[tuple[str, int, str], str] = SENT) -> Path:
    write_upload(folder, site_frames("NIJ"))
    _set_cells(folder, cells)
    return folder


def _stored_text(store: TrialStore, domain: str) -> dict[str, dict[str, str | None]]:
    """Current records of a domain as canonical text, by record key."""
    table = store.current_tables()[domain]
    text = text_columns(table, get_domain(domain))
    return {
        key: {c: text[c][i] for c in text}
        for i, key in enumerate(table["_key"].astype(str))
    }


def _by_source(store: TrialStore, domain: str) -> dict[int, dict[str, str | None]]:
    """Current records of a domain as canonical text, by the row they came from."""
    table = store.current_tables()[domain]
    text = text_columns(table, get_domain(domain))
    return {
        int(row): {c: text[c][i] for c in text}
        for i, row in enumerate(table["_source_row"])
    }


def _check_canonical(store: TrialStore) -> None:
    for (file, row, column), expected in CANONICAL.items():
        domain = file.removesuffix(".csv")
        assert _by_source(store, domain)[row + 2][column] == expected, (file, row)


def _raw(store: TrialStore, domain: str, *columns: str) -> list[tuple]:
    """Rows of a record table's columns as the database holds them."""
    table = record_table(domain)
    query = sa.select(*(table.c[c] for c in columns)).order_by(table.c._source_row)
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def test_values_round_trip_exactly(store_url: str, tmp_path: Path) -> None:
    upload = _upload(tmp_path / "upload")
    with TrialStore.open(store_url) as store:
        first = store.ingest(upload, site="NIJ")
        assert first.n_errors == 0, first.findings[["rule", "message"]]
        assert first.n_created == first.n_rows == 16
        _check_canonical(store)

        # the database holds the instant in UTC, the offset beside it
        labs = _raw(store, "labs", "lab_date", "value", "_exact")
        instants = [pd.Timestamp(v[0]) for v in labs]
        assert instants[0] == pd.Timestamp("2025-02-17T09:30:00")
        assert instants[1] == pd.Timestamp("2025-02-17T10:30:00.123456")
        assert instants[2] == pd.Timestamp("2025-03-25T04:45:00.5")
        assert json.loads(labs[0][2]) == {
            "lab_date": "2025-02-17T10:30:00+01:00",
            "value": "-0",
        }
        assert labs[1][2] is None  # naive: nothing beside it, no zone invented
        assert labs[1][1] == 9007199254740992.0
        doses = _raw(store, "administrations", "admin_seq")
        assert doses[0][0] == 9007199254740993

        # typed tables: wall time plus offset; -0.0 keeps its sign
        current = store.current_tables()["labs"].sort_values("_source_row")
        assert current["lab_date"].iloc[0] == pd.Timestamp("2025-02-17T10:30:00")
        assert current["_offset_lab_date"].iloc[0] == "+01:00"
        assert pd.isna(current["_offset_lab_date"].iloc[1])
        assert math.copysign(1.0, current["value"].iloc[0]) == -1.0

        frozen = store.freeze("v1")
        for file_format in ("csv", "parquet"):
            out = tmp_path / f"export_{file_format}"
            store.export("v1", out, format=file_format)
            # the export is the same data: nothing created, nothing changed
            again = store.ingest(out, site="NIJ")
            assert (again.n_created, again.n_updated) == (0, 0), file_format
            assert again.n_unchanged == again.n_rows == 16
            assert again.n_errors == 0
        _check_canonical(store)
        assert store.freeze("v2").content_sha256 == frozen.content_sha256
        assert store.verify().ok


def test_export_files_hold_the_exact_values(sqlite_url: str, tmp_path: Path) -> None:
    with TrialStore.open(sqlite_url) as store:
        store.ingest(_upload(tmp_path / "upload"), site="NIJ")
        store.freeze("v1")
        csv = tmp_path / "csv"
        store.export("v1", csv)
        labs = pd.read_csv(csv / "labs.csv", dtype=str, keep_default_na=False)
        assert list(labs["lab_date"][:3]) == [
            CANONICAL[("labs.csv", i, "lab_date")] for i in range(3)
        ]
        assert list(labs["value"][:2]) == ["-0", "9.007199254740992e+15"]
        doses = pd.read_csv(csv / "administrations.csv", dtype=str)
        assert doses["admin_seq"][0] == "9007199254740993"
        assert doses["admin_date"][1] == "2025-03-10T08:00:00+00:00"

        parquet = tmp_path / "parquet"
        store.export("v1", parquet, format="parquet")
        # several offsets in one column: written as their canonical text
        assert pq.read_table(parquet / "labs.parquet").column("lab_date").type == (
            "string"
        )
        table = pd.read_parquet(parquet / "administrations.parquet")
        assert table["admin_seq"][0] == 9007199254740993
        # one offset throughout (+00:00 and naive values: text as well)
        assert pd.api.types.is_string_dtype(table["admin_date"])
        assert table["admin_date"][1] == "2025-03-10T08:00:00+00:00"


def test_zoned_parquet_and_offset_text_are_the_same_instant(
    store_url: str, tmp_path: Path
) -> None:
    text = _upload(
        tmp_path / "text",
        {
            ("labs.csv", 0, "lab_date"): "2025-02-17T10:30:00+01:00",
            ("labs.csv", 1, "lab_date"): "2025-02-17T10:30:00.250000+01:00",
            ("labs.csv", 2, "lab_date"): "2025-03-24T00:00:00+01:00",
            ("labs.csv", 3, "lab_date"): "2025-03-24T00:00+0100",
        },
    )
    zoned = write_upload(tmp_path / "zoned", site_frames("NIJ"))
    frame = pd.read_csv(zoned / "labs.csv")
    stamps = pd.to_datetime(frame["lab_date"]).astype("datetime64[ns]")
    stamps[0] = pd.Timestamp("2025-02-17T09:30:00")
    stamps[1] = pd.Timestamp("2025-02-17T09:30:00.25")
    stamps[2:] = stamps[2:] - pd.Timedelta(hours=1)  # midnight in Amsterdam
    frame["lab_date"] = stamps.dt.tz_localize("UTC").dt.tz_convert("Europe/Amsterdam")
    frame.to_parquet(zoned / "labs.parquet")
    (zoned / "labs.csv").unlink()

    with TrialStore.open(store_url) as store:
        first = store.ingest(zoned, site="NIJ")
        assert first.n_errors == 0, first.findings[["rule", "message"]]
        stored = _raw(store, "labs", "lab_date", "_exact")
        assert pd.Timestamp(stored[0][0]) == pd.Timestamp("2025-02-17T09:30:00")
        assert pd.Timestamp(stored[2][0]) == pd.Timestamp("2025-03-23T23:00:00")
        assert json.loads(stored[0][1]) == {"lab_date": "2025-02-17T10:30:00+01:00"}
        by_key = _stored_text(store, "labs")
        assert "N01|NEUT|2025-02-17T10:30:00+01:00" in by_key
        assert "N01|ALT|2025-02-17T10:30:00.250000+01:00" in by_key
        assert "N02|NEUT|2025-03-24T00:00:00+01:00" in by_key

        # the same instants written as +01:00 text are the same records, with the
        # same instants and offsets: the text upload changes nothing
        second = store.ingest(text, site="NIJ")
        assert (second.n_created, second.n_updated) == (0, 0)
        assert second.n_unchanged == second.n_rows == 16
        assert _raw(store, "labs", "lab_date", "_exact") == stored

        # one offset throughout: exported as a timestamp zoned at that offset
        store.freeze("v1")
        store.export("v1", tmp_path / "export", format="parquet")
        exported = pd.read_parquet(tmp_path / "export" / "labs.parquet")["lab_date"]
        assert exported[0].utcoffset() == pd.Timedelta(hours=1)
        assert exported[0] == pd.Timestamp("2025-02-17T10:30:00+01:00")
        again = store.ingest(tmp_path / "export", site="NIJ")
        assert (again.n_created, again.n_updated, again.n_errors) == (0, 0, 0)
        assert store.verify().ok


def test_nanoseconds_are_a_finding_never_truncated(
    store_url: str, tmp_path: Path
) -> None:
    upload = _upload(
        tmp_path / "upload",
        {("labs.csv", 0, "lab_date"): "2025-02-17T10:30:00.123456789"},
    )
    with TrialStore.open(store_url) as store:
        result = store.ingest(upload, site="NIJ")
        found = result.findings.loc[result.findings["rule"] == "RD-008"]
        assert len(found) == 1
        row = found.iloc[0]
        assert (row["file"], row["row"], row["column"]) == ("labs.csv", 2, "lab_date")
        assert "finer than a microsecond" in row["message"]
        assert row["value"] == "2025-02-17T10:30:00.123456789"
        assert result.n_quarantined == 1 and result.n_stored == 15
        with store.engine.connect() as conn:
            data = conn.execute(sa.text("SELECT data FROM quarantine")).scalar_one()
        assert json.loads(data)["lab_date"] == "2025-02-17T10:30:00.123456789"


def test_quarantine_keeps_the_row_as_sent(store_url: str, tmp_path: Path) -> None:
    awkward = 'fe "ver",\tx'
    upload = _upload(
        tmp_path / "upload",
        {
            ("labs.csv", 0, "value"): "3,25",  # not a number
            ("labs.csv", 1, "value"): "1.50",  # fine, but row 3 is bad elsewhere
            ("labs.csv", 1, "lab_date"): "17/02/2025",
            ("labs.csv", 2, "value"): "12345678901234567890",
            ("adverse_events.csv", 0, "grade"): "9",
            ("adverse_events.csv", 0, "term"): awkward,
        },
    )
    with TrialStore.open(store_url) as store:
        result = store.ingest(upload, site="NIJ")
        assert result.n_quarantined == 4
        with store.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT domain, source_row, data FROM quarantine "
                    "ORDER BY domain, source_row"
                )
            ).all()
    held = {(d, r): json.loads(data) for d, r, data in rows}
    labs = pd.read_csv(upload / "labs.csv", dtype=str, keep_default_na=False)
    for record in (0, 1, 2):
        sent = {c: (v if v != "" else None) for c, v in labs.iloc[record].items()}
        assert held[("labs", record + 2)] == sent
    assert held[("labs", 3)]["value"] == "1.50"  # as sent, not 1.5
    assert held[("labs", 4)]["value"] == "12345678901234567890"
    event = held[("adverse_events", 2)]
    assert event["grade"] == "9" and event["term"] == awkward
    assert event["serious"] == "N"  # not the parsed false


def test_quarantine_keeps_a_typed_file_as_sent(store_url: str, tmp_path: Path) -> None:
    upload = write_upload(tmp_path / "upload", site_frames("NIJ"))
    frame = pd.read_csv(upload / "labs.csv")
    frame["lab_date"] = pd.to_datetime(frame["lab_date"]).astype("datetime64[ns]")
    frame.loc[0, "lab_date"] = pd.Timestamp("2025-02-17T10:30:00.000000001")
    frame.loc[1, "value"] = -0.0
    frame.loc[1, "test_code"] = "bad code"  # schema finding: quarantined
    frame.to_parquet(upload / "labs.parquet")
    (upload / "labs.csv").unlink()
    with TrialStore.open(store_url) as store:
        result = store.ingest(upload, site="NIJ")
        assert result.n_quarantined == 2
        with store.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT source_row, data FROM quarantine ORDER BY source_row")
            ).all()
    held = {r: json.loads(data) for r, data in rows}
    assert held[2]["lab_date"] == "2025-02-17T10:30:00.000000001"
    assert held[3]["value"] == "-0" and held[3]["test_code"] == "bad code"


def test_a_formula_without_its_value_is_held_as_sent(
    store_url: str, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    upload = write_upload(tmp_path / "upload", site_frames("NIJ"))
    frame = pd.read_csv(upload / "labs.csv", dtype=str, keep_default_na=False)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(frame.columns))
    for row in frame.to_numpy().tolist():
        sheet.append(row)
    sheet["E2"] = "=2*1.625"  # value: a formula openpyxl saves without its value
    book.save(upload / "labs.xlsx")
    (upload / "labs.csv").unlink()
    with TrialStore.open(store_url) as store:
        result = store.ingest(upload, site="NIJ")
        found = result.findings.loc[result.findings["rule"] == "RD-014"]
        assert list(zip(found["file"], found["row"], found["column"], strict=True)) == [
            ("labs.xlsx", 2, "value")
        ]
        assert result.n_quarantined == 1 and result.n_stored == 15
        with store.engine.connect() as conn:
            data = conn.execute(sa.text("SELECT data FROM quarantine")).scalar_one()
        assert json.loads(data)["value"] == "=2*1.625"


def test_numbers_a_double_cannot_hold_are_findings(
    store_url: str, tmp_path: Path
) -> None:
    upload = _upload(
        tmp_path / "upload",
        {
            ("labs.csv", 0, "value"): "9007199254740993",
            ("labs.csv", 1, "value"): "1.5e300",  # a double holds it as written
            ("administrations.csv", 0, "admin_seq"): "12345678901234567890",
            ("administrations.csv", 1, "admin_seq"): "9.2e18",
        },
    )
    with TrialStore.open(store_url) as store:
        result = store.ingest(upload, site="NIJ")
        found = result.findings.loc[result.findings["rule"] == "RD-008"]
        located = set(zip(found["file"], found["row"], found["column"], strict=True))
        assert located == {
            ("labs.csv", 2, "value"),
            ("administrations.csv", 2, "admin_seq"),
        }
        messages = " ".join(found["message"])
        assert "would become 9007199254740992.0" in messages
        assert "out of range" in messages
        doses = _by_source(store, "administrations")
        assert doses[3]["admin_seq"] == "9200000000000000000"
        assert _by_source(store, "labs")[3]["value"] == "1.5e+300"


def test_export_never_writes_through_a_link_nor_over_other_content(
    sqlite_url: str, tmp_path: Path
) -> None:
    with TrialStore.open(sqlite_url) as store:
        store.ingest(write_upload(tmp_path / "up", site_frames("NIJ")), site="NIJ")
        store.freeze("v1")
        out = tmp_path / "out"
        written = store.export("v1", out)
        before = {p.name: p.read_bytes() for p in written}
        assert store.export("v1", out) == written  # the same export again: kept
        assert {p.name: p.read_bytes() for p in written} == before

        victim = tmp_path / "victim.txt"
        victim.write_text("precious\n", encoding="utf-8")
        (out / "labs.csv").unlink()
        os.symlink(victim, out / "labs.csv")
        with pytest.raises(StoreError, match="symbolic link"):
            store.export("v1", out)
        assert victim.read_text(encoding="utf-8") == "precious\n"
        assert (out / "labs.csv").is_symlink()

        (out / "labs.csv").unlink()
        (out / "labs.csv").write_text("edited by hand\n", encoding="utf-8")
        (out / "cohorts.csv").unlink()
        with pytest.raises(StoreError, match="other content"):
            store.export("v1", out)
        # refused before anything was written
        assert (out / "labs.csv").read_text(encoding="utf-8") == "edited by hand\n"
        assert not (out / "cohorts.csv").exists()

        linked = tmp_path / "linked"
        linked.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
        (tmp_path / "elsewhere").mkdir()
        with pytest.raises(StoreError, match="symbolic link"):
            store.export("v1", linked)
        assert not list((tmp_path / "elsewhere").iterdir())


def test_exact_values_are_fixed_once_written(store_url: str, tmp_path: Path) -> None:
    with TrialStore.open(store_url) as store:
        store.ingest(_upload(tmp_path / "upload"), site="NIJ")
        with pytest.raises(sa.exc.DBAPIError), store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE rec_labs SET _exact = NULL"))
        assert json.loads(_raw(store, "labs", "_exact")[0][0])["value"] == "-0"


def test_migration_0004_goes_down_and_up(sqlite_url: str) -> None:
    from alembic import command

    from trialdata.store.engine import _alembic_config

    with TrialStore.open(sqlite_url) as store:
        engine = store.engine
        config = _alembic_config()
        for target, has_exact in (("0003", False), ("head", True)):
            with engine.begin() as conn:
                config.attributes["connection"] = conn
                if target == "head":
                    command.upgrade(config, target)
                else:
                    command.downgrade(config, target)
            columns = {c["name"] for c in sa.inspect(engine).get_columns("rec_labs")}
            assert ("_exact" in columns) == has_exact
            with engine.connect() as conn:
                trigger = conn.execute(
                    sa.text(
                        "SELECT sql FROM sqlite_master WHERE name = 'rec_labs_fixed'"
                    )
                ).scalar_one()
            assert ('"_exact"' in trigger) == has_exact
            assert '"lab_date"' in trigger and '"_ended_cs"' not in trigger
