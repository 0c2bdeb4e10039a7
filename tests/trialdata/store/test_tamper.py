"""Direct database tampering, as an attacker with SQL access: `audit verify` sees it.

A store that went through every kind of write (:mod:`lifecycle`) is tampered with
by plain SQL as the database owner, inside a transaction that is verified
(:func:`trialdata.store.verify.verify_store` on the same connection) and rolled
back. Where the database's triggers refuse the change the attacker first removes
them and puts them back afterwards (drop and re-create on SQLite, disable and enable
on PostgreSQL), so that it is the replay of the trail, not a missing trigger, that
catches the change; dropping or disabling a trigger is a kind of its own. Every kind
runs on SQLite and PostgreSQL, and every problem must name the table and the key.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa

from trialdata.store import TrialStore
from trialdata.store.audit import chain_hashes, entry_text
from trialdata.store.snapshots import content_hash, read_tables
from trialdata.store.verify import verify_engine, verify_store


def _load(name: str) -> ModuleType:
    path = Path(__file__).resolve().parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"store_tests_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lifecycle = _load("lifecycle")

#: A current lab result of the life cycle, and an adverse event with two versions.
LAB = "N02|NEUT|2025-03-24"
CHANGED_AE = "N01|1"


@dataclass
class Life:
    """The store of the life cycle on one backend."""

    url: str
    engine: sa.Engine
    dialect: str


@pytest.fixture(scope="module", params=lifecycle.BACKENDS)
def life(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Life]:
    """One life-cycle store per backend, shared by the module (tampering rolls back)."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            path = tmp_path_factory.mktemp("tamper") / "store.sqlite"
            url = f"sqlite:///{path.as_posix()}"
        else:
            url = stack.enter_context(lifecycle.pg_schema())
        lifecycle.fill_store(url, tmp_path_factory.mktemp("uploads"))
        store = TrialStore.open(url)
        stack.callback(store.close)
        yield Life(url, store.engine, store.engine.dialect.name)


@contextmanager
def unguarded(conn: sa.Connection, table: str) -> Iterator[None]:
    """Take a table's triggers away for a moment, as an attacker would, then back."""
    if conn.dialect.name == "sqlite":
        saved = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            f"AND tbl_name = '{table}'"
        ).all()
        for name, _ in saved:
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
        yield
        for _, sql in saved:
            conn.exec_driver_sql(sql)
    else:
        conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        yield
        conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def _scalar(conn: sa.Connection, sql: str) -> object:
    return conn.execute(sa.text(sql)).scalar_one()


# --- the kinds of tampering: each changes the store and returns what must be named


def change_an_entry(conn: sa.Connection) -> list[tuple[str, ...]]:
    with unguarded(conn, "audit_log"):
        conn.exec_driver_sql(
            "UPDATE audit_log SET new_value = replace(new_value, '\"D14\"', "
            f"'\"D15\"') WHERE action = 'create' AND record_key = '{LAB}'"
        )
    return [
        (f"labs {LAB}", "does not match its hash"),
        (f"rec_labs {LAB}", "visit is 'D14' in the table but 'D15' in the audit"),
    ]


def delete_an_entry(conn: sa.Connection) -> list[tuple[str, ...]]:
    with unguarded(conn, "audit_log"):
        conn.exec_driver_sql(
            "DELETE FROM audit_log WHERE table_name = 'findings' AND record_key = '1'"
        )
    return [("are missing (deleted from the audit log)",), ("findings 1", "not in the")]


def insert_an_entry(conn: sa.Connection) -> list[tuple[str, ...]]:
    """An entry appended with the right hash: it creates a finding nobody wrote."""
    last = conn.execute(
        sa.text(
            "SELECT a.seq, a.changeset_id, a.hash, c.at, c.user_name, c.reason "
            "FROM audit_log a JOIN changesets c ON c.id = a.changeset_id "
            "ORDER BY a.seq DESC LIMIT 1"
        )
    ).one()
    new = json.dumps({"id": 999, "rule": "XX-000", "message": "forged"})
    seq = int(last.seq) + 1
    text = entry_text(
        seq,
        int(last.changeset_id),
        last.at,
        last.user_name,
        last.reason,
        "create",
        "findings",
        "999",
        None,
        None,
        new,
    )
    digest = chain_hashes(str(last.hash), [text])[0]
    conn.execute(
        sa.text(
            "INSERT INTO audit_log (seq, changeset_id, action, table_name, "
            "record_key, new_value, hash) VALUES (:seq, :cs, 'create', 'findings', "
            "'999', :new, :hash)"
        ),
        {"seq": seq, "cs": int(last.changeset_id), "new": new, "hash": digest},
    )
    return [("findings 999", "not in the table"), ("records", "found")]


def delete_the_last_changeset(conn: sa.Connection) -> list[tuple[str, ...]]:
    last = _scalar(conn, "SELECT MAX(id) FROM changesets")
    with unguarded(conn, "audit_log"), unguarded(conn, "changesets"):
        conn.exec_driver_sql(f"DELETE FROM audit_log WHERE changeset_id = {last}")
        conn.exec_driver_sql(f"DELETE FROM changesets WHERE id = {last}")
    return [("signatures 1", "not in the audit trail")]


def _ingest_changeset(conn: sa.Connection) -> int:
    return int(str(_scalar(conn, "SELECT changeset_id FROM submissions WHERE id = 1")))


def change_a_changeset_user(conn: sa.Connection) -> list[tuple[str, ...]]:
    cs = _ingest_changeset(conn)
    with unguarded(conn, "changesets"):
        conn.exec_driver_sql(
            f"UPDATE changesets SET user_name = 'mallory' WHERE id={cs}"
        )
    return [(f"changesets {cs}", "none of its"), ("labs", "does not match its hash")]


def change_a_changeset_time(conn: sa.Connection) -> list[tuple[str, ...]]:
    cs = _ingest_changeset(conn)
    with unguarded(conn, "changesets"):
        conn.exec_driver_sql(
            f"UPDATE changesets SET at = '2020-01-01T00:00:00.000000Z' WHERE id = {cs}"
        )
    return [(f"changesets {cs}", "none of its")]


def change_a_changeset_reason(conn: sa.Connection) -> list[tuple[str, ...]]:
    cs = int(str(_scalar(conn, "SELECT id FROM changesets WHERE kind = 'delete'")))
    with unguarded(conn, "changesets"):
        conn.exec_driver_sql(
            f"UPDATE changesets SET reason = 'routine' WHERE id = {cs}"
        )
    return [(f"changesets {cs}", "none of its"), ("labs N01|ALT|2025-02-17",)]


def change_a_changeset_kind(conn: sa.Connection) -> list[tuple[str, ...]]:
    cs = int(str(_scalar(conn, "SELECT id FROM changesets WHERE kind = 'delete'")))
    with unguarded(conn, "changesets"):
        conn.exec_driver_sql(f"UPDATE changesets SET kind = 'query' WHERE id = {cs}")
    return [(f"changesets {cs}", "kind is 'query'", "'delete'")]


def change_a_changeset_submission(conn: sa.Connection) -> list[tuple[str, ...]]:
    cs = _ingest_changeset(conn)
    with unguarded(conn, "changesets"):
        conn.exec_driver_sql(
            f"UPDATE changesets SET submission_id = NULL WHERE id = {cs}"
        )
    return [(f"changesets {cs}", "records submission None", "submission 1")]


def end_a_current_record(conn: sa.Connection) -> list[tuple[str, ...]]:
    """Allowed by the triggers (a version may be ended once): not by the trail."""
    conn.exec_driver_sql(
        "UPDATE rec_labs SET _ended_cs = (SELECT MAX(id) FROM changesets) "
        f"WHERE _key = '{LAB}' AND _ended_cs IS NULL"
    )
    return [(f"rec_labs {LAB}", "_ended_cs is", "missing in the audit trail")]


def insert_a_record_version(conn: sa.Connection) -> list[tuple[str, ...]]:
    """Allowed by the triggers (versions are inserted): not by the trail."""
    conn.exec_driver_sql(
        "INSERT INTO rec_labs (_rid, subject_id, visit, lab_date, test_code, value, "
        "unit, _key, _site_id, _created_cs, _submission_id, _source_file, "
        "_source_row) VALUES ((SELECT MAX(_rid) + 1 FROM rec_labs), 'N02', 'D14', "
        "'2025-03-24', 'CRP', 5.0, 'mg/L', 'N02|CRP|2025-03-24', 'NIJ', 2, 1, "
        "'labs.csv', 9)"
    )
    return [("rec_labs N02|CRP|2025-03-24", "in the table but not in the audit trail")]


def change_a_record_value(conn: sa.Connection) -> list[tuple[str, ...]]:
    with unguarded(conn, "rec_labs"):
        conn.exec_driver_sql(f"UPDATE rec_labs SET value = 99 WHERE _key = '{LAB}'")
    return [(f"rec_labs {LAB}", "value is '99' in the table")]


def change_a_record_source_row(conn: sa.Connection) -> list[tuple[str, ...]]:
    with unguarded(conn, "rec_labs"):
        conn.exec_driver_sql(
            f"UPDATE rec_labs SET _source_row = 99 WHERE _key = '{LAB}'"
        )
    return [(f"rec_labs {LAB}", "_source_row is '99'")]


def delete_a_record_version(conn: sa.Connection) -> list[tuple[str, ...]]:
    """The version the re-upload replaced: history, not current data."""
    with unguarded(conn, "rec_adverse_events"):
        conn.exec_driver_sql(
            f"DELETE FROM rec_adverse_events WHERE _key = '{CHANGED_AE}' "
            "AND _ended_cs IS NOT NULL"
        )
    return [(f"rec_adverse_events {CHANGED_AE}", "in the audit trail but not in")]


def change_a_submission_site(conn: sa.Connection) -> list[tuple[str, ...]]:
    with unguarded(conn, "submissions"):
        conn.exec_driver_sql("UPDATE submissions SET site_id = 'UTR' WHERE id = 1")
    return [("submissions 1", "site_id is 'UTR' in the table but 'NIJ'")]


def change_a_submission_user(conn: sa.Connection) -> list[tuple[str, ...]]:
    with unguarded(conn, "submissions"):
        conn.exec_driver_sql("UPDATE submissions SET user_name = 'dr-x' WHERE id = 2")
    return [("submissions 2", "user_name is 'dr-x'")]


def change_a_file_hash(conn: sa.Connection) -> list[tuple[str, ...]]:
    with unguarded(conn, "submission_files"):
        conn.exec_driver_sql(
            "UPDATE submission_files SET sha256 = '" + "0" * 64 + "' "
            "WHERE submission_id = 1 AND name = 'labs.csv'"
        )
    return [("submission_files 1/labs.csv", "sha256 is '000")]


def change_a_quarantined_row(conn: sa.Connection) -> list[tuple[str, ...]]:
    conn.exec_driver_sql("UPDATE quarantine SET data = '{}' WHERE id = 1")
    return [("quarantine 1", "data is '{}' in the table")]


def delete_a_quarantined_row(conn: sa.Connection) -> list[tuple[str, ...]]:
    conn.exec_driver_sql("DELETE FROM quarantine WHERE id = 1")
    return [("quarantine 1", "in the audit trail but not in the table")]


def change_a_finding(conn: sa.Connection) -> list[tuple[str, ...]]:
    conn.exec_driver_sql("UPDATE findings SET severity = 'warning' WHERE id = 1")
    return [("findings 1", "severity is 'warning' in the table")]


def delete_a_finding(conn: sa.Connection) -> list[tuple[str, ...]]:
    conn.exec_driver_sql("DELETE FROM findings WHERE id = 1")
    return [("findings 1", "in the audit trail but not in the table")]


def reopen_a_query(conn: sa.Connection) -> list[tuple[str, ...]]:
    query = _scalar(conn, "SELECT MIN(id) FROM queries WHERE status = 'closed'")
    conn.exec_driver_sql(
        f"UPDATE queries SET status = 'open', closed_cs = NULL WHERE id = {query}"
    )
    return [(f"queries {query}", "status is 'open' in the table but 'closed'")]


def change_a_query_answer(conn: sa.Connection) -> list[tuple[str, ...]]:
    query = _scalar(conn, "SELECT MIN(id) FROM queries WHERE answer IS NOT NULL")
    conn.exec_driver_sql(f"UPDATE queries SET answer = 'no' WHERE id = {query}")
    return [(f"queries {query}", "answer is 'no' in the table")]


def rehash_a_snapshot(conn: sa.Connection) -> list[tuple[str, ...]]:
    """Change frozen content and recompute the snapshot's content hash to match."""
    through = int(str(_scalar(conn, "SELECT through_cs FROM snapshots")))
    with unguarded(conn, "rec_labs"), unguarded(conn, "snapshots"):
        conn.exec_driver_sql(f"UPDATE rec_labs SET value = 4.5 WHERE _key = '{LAB}'")
        digest = content_hash(read_tables(conn, through))
        conn.execute(
            sa.text("UPDATE snapshots SET content_sha256 = :digest"),
            {"digest": digest},
        )
    return [
        ("snapshots interim-1", "content_sha256 is"),
        (f"rec_labs {LAB}", "value is '4.5'"),
    ]


def change_the_protocol(conn: sa.Connection) -> list[tuple[str, ...]]:
    with unguarded(conn, "protocols"):
        conn.exec_driver_sql(
            "UPDATE protocols SET toml = replace(toml, 'dlt_window_days = 28', "
            "'dlt_window_days = 7')"
        )
    return [("protocols 1", "toml is")]


def change_a_signature(conn: sa.Connection) -> list[tuple[str, ...]]:
    with unguarded(conn, "signatures"):
        conn.exec_driver_sql("UPDATE signatures SET meaning = 'reviewed'")
    return [("signatures 1", "meaning is 'reviewed' in the table")]


def grant_a_role(conn: sa.Connection) -> list[tuple[str, ...]]:
    conn.exec_driver_sql(
        "INSERT INTO user_roles (user_name, role, site_id, granted_cs) VALUES "
        "('mallory', 'coordinator', '*', 1)"
    )
    return [("user_roles mallory/coordinator/*", "not in the audit trail")]


def drop_a_trigger(conn: sa.Connection) -> list[tuple[str, ...]]:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER rec_labs_no_delete")
    else:
        conn.exec_driver_sql("DROP TRIGGER rec_labs_no_delete ON rec_labs")
    return [("rec_labs: trigger rec_labs_no_delete is missing",)]


def disable_a_trigger(conn: sa.Connection) -> list[tuple[str, ...]]:
    """PostgreSQL: disabled; SQLite (which cannot disable): replaced by a no-op."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        conn.exec_driver_sql(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT 1; END"
        )
        return [("audit_log: trigger audit_log_no_update was replaced",)]
    conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    return [("audit_log: trigger audit_log_append_only is disabled",)]


def delete_the_whole_trail(conn: sa.Connection) -> list[tuple[str, ...]]:
    with unguarded(conn, "audit_log"), unguarded(conn, "changesets"):
        conn.exec_driver_sql("DELETE FROM audit_log")
        conn.exec_driver_sql("DELETE FROM changesets")
    return [
        ("the audit trail is empty but the store holds", "the trail was deleted"),
        (f"rec_labs {LAB}", "in the table but not in the audit trail"),
    ]


TAMPERING: dict[str, Callable[[sa.Connection], list[tuple[str, ...]]]] = {
    f.__name__: f
    for f in (
        change_an_entry,
        delete_an_entry,
        insert_an_entry,
        delete_the_last_changeset,
        change_a_changeset_user,
        change_a_changeset_time,
        change_a_changeset_reason,
        change_a_changeset_kind,
        change_a_changeset_submission,
        end_a_current_record,
        insert_a_record_version,
        change_a_record_value,
        change_a_record_source_row,
        delete_a_record_version,
        change_a_submission_site,
        change_a_submission_user,
        change_a_file_hash,
        change_a_quarantined_row,
        delete_a_quarantined_row,
        change_a_finding,
        delete_a_finding,
        reopen_a_query,
        change_a_query_answer,
        rehash_a_snapshot,
        change_the_protocol,
        change_a_signature,
        grant_a_role,
        drop_a_trigger,
        disable_a_trigger,
        delete_the_whole_trail,
    )
}


def test_the_untampered_store_verifies_clean(life: Life) -> None:
    result = verify_engine(life.engine)
    assert result.ok, result.problems
    assert result.n_rows > 50 and result.n_changesets >= 12


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_tampering_is_detected(life: Life, kind: str) -> None:
    with life.engine.connect() as conn:
        transaction = conn.begin()
        try:
            wanted = TAMPERING[kind](conn)
            problems = verify_store(conn).problems
        finally:
            transaction.rollback()
    assert problems, f"{kind}: not detected"
    for fragments in wanted:
        assert any(all(f in p for f in fragments) for p in problems), (
            f"{kind}: no problem names {fragments}:\n" + "\n".join(problems)
        )


@pytest.mark.postgres
def test_a_replaced_trigger_function_is_detected(
    life: Life,
) -> None:
    if life.dialect != "postgresql":
        pytest.skip("trigger functions are PostgreSQL's")
    with life.engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION trialdata_refuse_change() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"
            )
            problems = verify_store(conn).problems
        finally:
            transaction.rollback()
    assert [p for p in problems if "trialdata_refuse_change() of the store" in p]


def test_the_store_verifies_clean_after_every_tampering_was_rolled_back(
    life: Life,
) -> None:
    assert verify_engine(life.engine).ok
