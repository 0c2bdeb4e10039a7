"""The audit trail: append-only in the database, tampering detected by verify.

Tampering happens as an attacker with SQL access would do it (drop or disable the
triggers, then rewrite rows), inside a transaction that is verified and then rolled
back, so the module's stores can be shared.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from trialdata.store import TrialStore, VerifyResult, verify_audit
from trialdata.store.audit import GENESIS, chain_hashes, entry_text


def disable_guard(conn: sa.Connection, table: str = "audit_log") -> None:
    """Remove a table's append-only triggers."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"DROP TRIGGER {table}_no_update")
        conn.exec_driver_sql(f"DROP TRIGGER {table}_no_delete")
    else:
        conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")


@contextmanager
def rolled_back(store: TrialStore) -> Iterator[sa.Connection]:
    with store.engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


def tampered(
    store: TrialStore, *statements: str, table: str = "audit_log"
) -> VerifyResult:
    with rolled_back(store) as conn:
        disable_guard(conn, table)
        for statement in statements:
            conn.exec_driver_sql(statement)
        result = verify_audit(conn)
    assert store.verify().ok  # the rollback restored the trail
    return result


def test_hash_chain_definition() -> None:
    text = entry_text(
        1,
        1,
        "2026-01-01T00:00:00.000000Z",
        "u",
        None,
        "create",
        "labs",
        "S1|ALT|2025-01-01",
        None,
        None,
        '{"a":"1"}',
    )
    assert text == (
        '[1,1,"2026-01-01T00:00:00.000000Z","u",null,"create","labs",'
        '"S1|ALT|2025-01-01",null]\n-\n9:{"a":"1"}'
    )
    first = hashlib.sha256(bytes(32) + text.encode()).hexdigest()
    assert chain_hashes(GENESIS, [text, text]) == [
        first,
        hashlib.sha256(bytes.fromhex(first) + text.encode()).hexdigest(),
    ]


def test_creates_are_recorded_with_who_when(filled_store: TrialStore) -> None:
    with filled_store.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT a.action, a.table_name, a.record_key, a.field, a.old_value, "
                "a.new_value, c.user_name, c.at, c.reason FROM audit_log a "
                "JOIN changesets c ON c.id = a.changeset_id ORDER BY a.seq"
            )
        ).all()
    creates = [r for r in rows if r.action == "create" and r.table_name == "labs"]
    assert len(creates) == 8
    first = creates[0]
    assert first.record_key == "N01|NEUT|2025-02-17"
    assert first.field is None and first.old_value is None
    record = json.loads(first.new_value)
    assert record["subject_id"] == "N01" and record["value"] == "3.25"
    assert record["lab_date"] == "2025-02-17" and record["visit"] == "D14"
    assert first.user_name == filled_store.user and first.reason is None
    assert first.at.endswith("Z") and first.at[:2] == "20"
    # the site and the source file are the changeset's ``source`` entry, the row
    # is in the record's own entry, so that audit verify rebuilds every version
    assert record["_source_row"] == "2" and "_site_id" not in record
    sources = [r for r in rows if r.action == "source" and r.table_name == "labs"]
    assert [json.loads(r.new_value) for r in sources] == [
        {"_site_id": "NIJ", "_source_file": "labs.csv"},
        {"_site_id": "UTR", "_source_file": "labs.csv"},
    ]
    assert {r.record_key for r in sources} == {""}
    files = [r for r in rows if r.table_name == "submission_files"]
    assert {r.record_key for r in files} >= {"1/labs.csv", "2/protocol.toml"}
    verified = filled_store.verify()
    assert verified.ok and verified.n_entries == len(rows)


TABLE_COLUMN = {
    "audit_log": "record_key",
    "changesets": "user_name",
    "submissions": "user_name",
    "submission_files": "sha256",
}


@pytest.mark.parametrize("table", list(TABLE_COLUMN))
def test_database_refuses_update_and_delete(
    filled_store: TrialStore, table: str
) -> None:
    statements = [
        f"UPDATE {table} SET {TABLE_COLUMN[table]} = 'mallory'",
        f"DELETE FROM {table}",
    ]
    if filled_store.engine.dialect.name == "postgresql":
        statements.append(f"TRUNCATE {table}")
    for statement in statements:
        with rolled_back(filled_store) as conn, pytest.raises(DBAPIError) as caught:
            conn.exec_driver_sql(statement)
        assert "append-only" in str(caught.value)


def test_database_refuses_rewriting_record_versions(filled_store: TrialStore) -> None:
    for statement in ("UPDATE rec_labs SET value = 0", "DELETE FROM rec_labs"):
        with rolled_back(filled_store) as conn, pytest.raises(DBAPIError) as caught:
            conn.exec_driver_sql(statement)
        assert "rec_labs" in str(caught.value)
    with rolled_back(filled_store) as conn, pytest.raises(DBAPIError) as caught:
        conn.exec_driver_sql("UPDATE rec_labs SET _ended_cs = 5")
        conn.exec_driver_sql("UPDATE rec_labs SET _ended_cs = 6")
    assert "already ended" in str(caught.value)


def test_verify_detects_a_changed_value(filled_store: TrialStore) -> None:
    result = tampered(
        filled_store,
        "UPDATE audit_log SET new_value = replace(new_value, '3.25', '1.25') "
        "WHERE record_key = 'N01|NEUT|2025-02-17'",
    )
    assert len(result.problems) == 1
    assert "N01|NEUT|2025-02-17" in result.problems[0]
    assert "does not match its hash" in result.problems[0]


def test_verify_detects_a_changed_hash(filled_store: TrialStore) -> None:
    result = tampered(
        filled_store,
        # change the first hex digit whatever it is ('00' || ... was a no-op for the
        # 1 in 256 hashes that start with 00, making the test fail by chance)
        "UPDATE audit_log SET hash = CASE WHEN substr(hash, 1, 1) = '0' THEN '1' "
        "ELSE '0' END || substr(hash, 2) WHERE seq = 5",
    )
    assert [p[:8] for p in result.problems] == ["entry 5 ", "entry 6 "]


def test_verify_detects_a_change_whose_hash_was_recomputed(
    filled_store: TrialStore,
) -> None:
    """An attacker who rewrites an entry and its hash still breaks the next link."""
    with filled_store.engine.connect() as conn:
        seq = conn.execute(
            sa.text(
                "SELECT seq FROM audit_log WHERE table_name = 'product_lots' "
                "AND action = 'create' ORDER BY seq LIMIT 1"
            )
        ).scalar_one()
        rows = conn.execute(
            sa.text(
                "SELECT a.seq, a.changeset_id, c.at, c.user_name, c.reason, a.action, "
                "a.table_name, a.record_key, a.field, a.old_value, a.new_value, a.hash "
                "FROM audit_log a JOIN changesets c ON c.id = a.changeset_id "
                f"WHERE a.seq IN ({seq - 1}, {seq}) ORDER BY a.seq"
            )
        ).all()
    previous, entry = rows[0].hash, rows[1]
    forged = entry.new_value.replace('"91.5"', '"99.5"')
    assert forged != entry.new_value
    text = entry_text(*entry[:10], forged)
    new_hash = chain_hashes(previous, [text])[0]
    result = tampered(
        filled_store,
        f"UPDATE audit_log SET new_value = '{forged}', hash = '{new_hash}' "
        f"WHERE seq = {seq}",
    )
    assert [p.split(" (")[0] for p in result.problems] == [f"entry {seq + 1}"]


def test_verify_detects_a_deleted_entry(filled_store: TrialStore) -> None:
    result = tampered(filled_store, "DELETE FROM audit_log WHERE seq = 7")
    assert "entries 7..7 are missing (deleted from the audit log)" in result.problems
    assert any(p.startswith("entry 8 ") for p in result.problems)


def test_verify_detects_a_deleted_tail(filled_store: TrialStore) -> None:
    last = filled_store.verify().n_entries
    result = tampered(filled_store, f"DELETE FROM audit_log WHERE seq >= {last - 2}")
    assert any("records" in p and "found" in p for p in result.problems)


def test_verify_detects_reordered_entries(filled_store: TrialStore) -> None:
    result = tampered(
        filled_store,
        "UPDATE audit_log SET seq = -1 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = -1",
    )
    assert [p[:8] for p in result.problems[:2]] == ["entry 3 ", "entry 4 "]


def test_verify_detects_a_changed_changeset(filled_store: TrialStore) -> None:
    result = tampered(
        filled_store,
        "UPDATE changesets SET user_name = 'mallory' WHERE id = 1",
        table="changesets",
    )
    assert result.problems and result.problems[0].startswith("entry 1 ")


def test_verify_against_an_external_head(filled_store: TrialStore) -> None:
    head = filled_store.verify().head
    assert filled_store.verify(expected_head=head).ok
    result = filled_store.verify(expected_head=GENESIS)
    assert not result.ok and "expected head" in result.problems[0]
