"""Replaying the trail: the row contract, tables added later, heads kept outside.

The tampering itself is in ``test_tamper.py``; here: the audited bulk writes produce
exactly the entries of :mod:`trialdata.store.audit_rows`, a bookkeeping table the
replay has never heard of is rebuilt by the same rule, and ``--expect-head`` holds
after later legitimate writes but not after a rewrite.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
import sqlalchemy as sa

from trialdata.cli import main
from trialdata.store import TrialStore
from trialdata.store.audit import (
    GENESIS,
    AuditWriter,
    chain_hashes,
    entry_text,
    read_changesets,
    verify_audit,
)
from trialdata.store.audit_rows import row_json, value_text
from trialdata.store.bulk_rows import insert_rows, update_rows
from trialdata.store.replay import TrailCollector, replay_store
from trialdata.store.tables import FINDINGS
from trialdata.store.verify import verify_engine, verify_store
from trialdata.validation import ValidationReport, validate_folder

AWKWARD = ['quote " and \\ backslash', "line\nbreak\ttab", "é 中 \u2028", "", None]


def _replay(conn: sa.Connection, tables: list[sa.Table]) -> list[str]:
    trail = TrailCollector()
    chain = verify_audit(conn, sink=trail)
    return [
        *chain.problems,
        *replay_store(conn, trail, read_changesets(conn), tables).problems,
    ]


def test_bulk_entries_are_the_row_contract(
    store_url: str, reports: dict[str, ValidationReport]
) -> None:
    store = TrialStore.open(store_url)
    store.ingest(reports["NIJ"], site="NIJ")
    with store.engine.connect() as conn:
        transaction = conn.begin()
        try:
            audit = AuditWriter.start(conn, kind="test", user="u", reason=None)
            n = len(AWKWARD)
            insert_rows(
                conn,
                audit,
                FINDINGS,
                ["id", "submission_id", "site_id", "domain", "row", "rule",
                 "severity", "message", "value"],
                [list(range(100, 100 + n)), [1] * n, ["NIJ"] * n, ["labs"] * n,
                 [2.0, 3, None, 5, 6], ["R"] * n, ["error"] * n, [*AWKWARD[:4], "m"],
                 AWKWARD],
            )  # fmt: skip
            chosen = sa.select(FINDINGS).where(FINDINGS.c.id >= 100)
            stored = {r["id"]: r for r in conn.execute(chosen).mappings().all()}
            update_rows(conn, audit, FINDINGS, [100, 101], severity="warning", row=7)
            audit.close(conn)
            after = {r["id"]: r for r in conn.execute(chosen).mappings().all()}
            entries = conn.execute(
                sa.text(
                    "SELECT action, record_key, field, old_value, new_value "
                    "FROM audit_log WHERE changeset_id = :cs ORDER BY seq"
                ),
                {"cs": audit.changeset_id},
            ).all()
            problems = _replay(conn, [FINDINGS])
        finally:
            transaction.rollback()
    creates = [e for e in entries if e.action == "create"]
    assert [e.record_key for e in creates] == [str(i) for i in range(100, 105)]
    # what the bulk writer audited is row_json of the row as stored, to the byte
    assert [e.new_value for e in creates] == [
        row_json(FINDINGS, stored[int(e.record_key)]) for e in creates
    ]
    assert after[100]["row"] == 7 and after[104]["value"] is None
    assert json.loads(creates[0].new_value)["row"] == 2  # 2.0 stored as the integer
    updates = [(e.record_key, e.field, e.old_value, e.new_value) for e in entries
               if e.action == "update"]  # fmt: skip
    assert sorted(updates) == [
        ("100", "row", value_text(2), "7"),
        ("100", "severity", "error", "warning"),
        ("101", "row", "3", "7"),
        ("101", "severity", "error", "warning"),
    ]
    # the test changeset has no kind rule: only the findings table is replayed
    assert [p for p in problems if not p.startswith("changesets")] == []
    store.close()


def test_a_table_added_later_is_replayed_by_the_row_contract(
    store_url: str, reports: dict[str, ValidationReport]
) -> None:
    store = TrialStore.open(store_url)
    store.ingest(reports["NIJ"], site="NIJ")
    later = sa.Table(
        "later_things",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.Text),
        sa.Column("n", sa.Integer),
    )
    with store.engine.connect() as conn:
        transaction = conn.begin()
        try:
            later.create(conn)
            audit = AuditWriter.start(conn, kind="later", user="u", reason="new table")
            insert_rows(
                conn, audit, later, ["id", "name", "n"], [[1, 2], ["a", "b"], [1, 2]]
            )
            update_rows(conn, audit, later, [2], name="B")
            audit.close(conn)
            clean = _replay(conn, [later])
            conn.execute(later.insert().values(id=3, name="c", n=3))
            conn.execute(sa.update(later).where(later.c.id == 1).values(n=10))
            conn.execute(sa.delete(later).where(later.c.id == 2))
            tampered = _replay(conn, [later])
        finally:
            transaction.rollback()
    assert clean == []
    assert any(
        p.startswith("later_things 3: in the table but not in") for p in tampered
    )
    assert (
        "later_things 1: n is '10' in the table but '1' in the audit trail" in tampered
    )
    assert any(
        p.startswith("later_things 2: in the audit trail but not in") for p in tampered
    )
    store.close()


def test_a_table_without_entries_must_be_empty(
    store_url: str, reports: dict[str, ValidationReport]
) -> None:
    store = TrialStore.open(store_url)
    store.ingest(reports["NIJ"], site="NIJ")
    with store.engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.exec_driver_sql(
                "INSERT INTO rec_mri (_rid, subject_id, visit, _key, _site_id, "
                "_created_cs) VALUES (1, 'N01', 'D0', 'N01|D0', 'NIJ', 1)"
            )
            problems = verify_engine_on(conn)
        finally:
            transaction.rollback()
    assert any(p.startswith("rec_mri N01|D0 (version of changeset 1): in the table")
               for p in problems)  # fmt: skip
    store.close()


def verify_engine_on(conn: sa.Connection) -> list[str]:
    """Return every problem of the store on this connection (uncommitted changes)."""
    return list(verify_store(conn).problems)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command line; return exit code, stdout and stderr."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (0 if code is None else int(code)), out, err


def test_an_expected_head_holds_after_later_writes_not_after_a_rewrite(
    store_url: str,
    reports: dict[str, ValidationReport],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    store = TrialStore.open(store_url)
    head = store.ingest(reports["NIJ"], site="NIJ").audit_head
    store.freeze("interim-1", reason="DMC")  # a legitimate write after the head
    store.ingest(reports["UTR"], site="UTR")
    code, out, _ = run(capsys, "audit", "verify", "--store", store_url,
                       "--expect-head", head)  # fmt: skip
    assert code == 0 and "audit trail intact" in out, out
    code, out, _ = run(capsys, "audit", "verify", "--store", store_url,
                       "--expect-head", "0" * 64)  # fmt: skip
    assert code == 1 and "is not in the chain" in out
    # rewrite the first changeset's reason and every hash after it: the chain
    # verifies on its own, but no longer holds the head printed back then
    with store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            for table in ("audit_log", "changesets"):
                conn.exec_driver_sql(f"DROP TRIGGER {table}_no_update")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
            conn.exec_driver_sql("ALTER TABLE changesets DISABLE TRIGGER USER")
        first = conn.exec_driver_sql(
            "SELECT changeset_id FROM submissions WHERE id = 1"
        ).scalar_one()
        conn.exec_driver_sql(
            f"UPDATE changesets SET reason = 'backfill' WHERE id = {first}"
        )
        rows = conn.execute(
            sa.text(
                "SELECT a.seq, a.changeset_id, c.at, c.user_name, c.reason, a.action, "
                "a.table_name, a.record_key, a.field, a.old_value, a.new_value "
                "FROM audit_log a JOIN changesets c ON c.id = a.changeset_id "
                "ORDER BY a.seq"
            )
        ).all()
        hashes = chain_hashes(GENESIS, [entry_text(*row) for row in rows])
        conn.execute(
            sa.text("UPDATE audit_log SET hash = :h WHERE seq = :s"),
            [{"h": h, "s": r.seq} for h, r in zip(hashes, rows, strict=True)],
        )
        conn.exec_driver_sql(
            "UPDATE changesets SET head_hash = (SELECT hash FROM audit_log "
            "WHERE seq = changesets.last_seq)"
        )
    chain_only = [p for p in verify_engine(store.engine).problems if "trigger" not in p]
    assert chain_only == []  # nothing else tells: the rewrite is consistent
    code, out, _ = run(capsys, "audit", "verify", "--store", store_url,
                       "--expect-head", head)  # fmt: skip
    assert code == 1 and f"the expected head {head} is not in the chain" in out
    store.close()


#: Cells the typed columns cannot hold alone (a UTC offset, -0.0, a large integer).
EXACT_CELLS = {
    ("labs.csv", 0, "lab_date"): "2025-02-17T10:30:00+01:00",
    ("labs.csv", 0, "value"): "-0.0",
    ("administrations.csv", 0, "admin_seq"): "9007199254740993",
}


def test_exact_values_are_replayed_and_their_tampering_seen(
    store_url: str, tmp_path: Path
) -> None:
    helpers = _load_conftest()
    folder = helpers.write_upload(tmp_path / "NIJ", helpers.site_frames("NIJ"))
    for file in {f for f, _, _ in EXACT_CELLS}:
        frame = pd.read_csv(folder / file, dtype=str, keep_default_na=False)
        for (name, row, column), text in EXACT_CELLS.items():
            if name == file:
                frame.loc[row, column] = text
        frame.to_csv(folder / file, index=False)
    store = TrialStore.open(store_url)
    result = store.ingest(validate_folder(folder), site="NIJ")
    assert result.n_quarantined == 0, result.quarantine_lines()
    assert verify_engine(store.engine).ok
    with store.engine.connect() as conn:
        transaction = conn.begin()
        try:
            # the offset kept beside the UTC instant: changed behind the triggers
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("DROP TRIGGER rec_labs_fixed")
            else:
                conn.exec_driver_sql("ALTER TABLE rec_labs DISABLE TRIGGER USER")
            conn.exec_driver_sql(
                "UPDATE rec_labs SET _exact = replace(_exact, '+01:00', '+02:00') "
                "WHERE _exact IS NOT NULL"
            )
            problems = verify_store(conn).problems
        finally:
            transaction.rollback()
    assert any(
        p.startswith("rec_labs N01|NEUT|2025-02-17T10:30:00+01:00 ")
        and "lab_date is '2025-02-17T10:30:00+02:00' in the table but "
        "'2025-02-17T10:30:00+01:00' in the audit trail"
        in p
        for p in problems
    ), problems
    store.close()


def _load_conftest() -> ModuleType:
    path = Path(__file__).resolve().parent / "conftest.py"
    spec = importlib.util.spec_from_file_location("store_tests_replay_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_entry_that_is_not_a_row_is_a_problem_not_a_traceback(
    store_url: str, reports: dict[str, ValidationReport]
) -> None:
    store = TrialStore.open(store_url)
    store.ingest(reports["NIJ"], site="NIJ")
    with store.engine.connect() as conn:
        transaction = conn.begin()
        try:
            audit = AuditWriter.start(conn, kind="test", user="u", reason=None)
            audit.add("create", "sites", ["XX"], new="not json")
            audit.add("create", "no_such_table", ["1"], new="{}")
            audit.add("rename", "queries", ["1"], new="{}")
            audit.close(conn)
            problems = verify_engine_on(conn)
        finally:
            transaction.rollback()
    assert any(
        re.fullmatch(r"sites: entry \d+ is not a JSON object", p) for p in problems
    )
    assert any(p.startswith("no_such_table: entries") for p in problems)
    assert any(p.startswith("queries: entry") and "'rename'" in p for p in problems)
    assert any(
        p.startswith("sites XX: in the audit trail but not in") for p in problems
    )
    store.close()
