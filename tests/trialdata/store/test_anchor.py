"""Anchors: signed checkpoints outside the database catch what the chain cannot.

An attacker who rewrites the whole trail and recomputes every hash, or removes the
last changesets together with what they wrote, leaves a chain that verifies; only a
checkpoint kept outside the database, signed with a key the database never sees,
tells. Tested through the command line (``trialdata audit anchor``, ``audit verify
--anchors``) and the functions, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from trialdata.cli import main
from trialdata.errors import StoreError
from trialdata.store import TrialStore
from trialdata.store.anchor import (
    append_anchor,
    check_anchors,
    create_key,
    read_anchors,
    read_key,
    store_name,
)
from trialdata.store.audit import GENESIS, chain_hashes, entry_text
from trialdata.store.verify import verify_engine, verify_store
from trialdata.validation import ValidationReport


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command line; return exit code, stdout and stderr."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (0 if code is None else int(code)), out, err


@pytest.fixture
def store(store_url: str, reports: dict[str, ValidationReport]) -> TrialStore:
    """A store with one site's upload (its URL in ``store.url``, password and all)."""
    opened = TrialStore.open(store_url)
    opened.ingest(reports["NIJ"], site="NIJ")
    opened.url = store_url  # type: ignore[attr-defined]
    return opened


def _unguard(conn: sa.Connection, *tables: str) -> None:
    for table in tables:
        if conn.dialect.name == "sqlite":
            names = conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                f"AND tbl_name = '{table}'"
            ).scalars()
            for name in list(names):
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        else:
            conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")


def rewrite_consistently(conn: sa.Connection) -> None:
    """Change who made the first changeset and recompute every hash and seal."""
    _unguard(conn, "audit_log", "changesets")
    conn.exec_driver_sql("UPDATE changesets SET user_name = 'dr-x' WHERE id = 1")
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
        sa.text("UPDATE audit_log SET hash = :hash WHERE seq = :seq"),
        [{"hash": h, "seq": row.seq} for h, row in zip(hashes, rows, strict=True)],
    )
    conn.exec_driver_sql(
        "UPDATE changesets SET head_hash = (SELECT hash FROM audit_log "
        "WHERE seq = changesets.last_seq)"
    )


def truncate_consistently(conn: sa.Connection) -> None:
    """Remove the last changeset with the snapshot it froze: nothing dangles."""
    last = conn.exec_driver_sql("SELECT MAX(id) FROM changesets").scalar_one()
    _unguard(conn, "audit_log", "changesets", "snapshots")
    conn.exec_driver_sql(f"DELETE FROM audit_log WHERE changeset_id = {last}")
    conn.exec_driver_sql(f"DELETE FROM changesets WHERE id = {last}")
    conn.exec_driver_sql(f"DELETE FROM snapshots WHERE changeset_id = {last}")


def test_anchor_then_a_legitimate_write_verifies(
    store: TrialStore, reports, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = store.url  # type: ignore[attr-defined]
    anchors, key = tmp_path / "anchors.jsonl", tmp_path / "anchor.key"
    code, out, err = run(
        capsys, "audit", "anchor", "--store", url, "--to", str(anchors),
        "--key", str(key), "--new-key",
    )  # fmt: skip
    assert code == 0, (out, err)
    assert "anchored entry" in out and "anchor key written" in out
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(anchors.stat().st_mode) == 0o600
    line = json.loads(anchors.read_text())
    assert (
        line["store"] == store_name(store.engine)
        and line["prev"] is None
        and len(line["mac"]) == 64
    )
    assert key.read_text().strip() not in anchors.read_text()  # the key is not there

    store.ingest(reports["UTR"], site="UTR")  # a later, legitimate write
    store.freeze("interim-1", reason="DMC")
    code, out, _ = run(
        capsys, "audit", "verify", "--store", url, "--anchors", str(anchors),
        "--key", str(key),
    )  # fmt: skip
    assert code == 0, out
    assert "audit trail intact" in out and "anchors: 1 valid" in out

    # a second anchor continues the first
    code, out, _ = run(
        capsys, "audit", "anchor", "--store", url, "--to", str(anchors),
        "--key", str(key),
    )  # fmt: skip
    assert code == 0, out
    second = json.loads(anchors.read_text().splitlines()[1])
    assert second["prev"] == line["mac"] and second["seq"] > line["seq"]
    store.close()


def test_a_consistently_rewritten_trail_fails_the_anchor_check(
    store: TrialStore, reports, tmp_path: Path
) -> None:
    key_file = tmp_path / "anchor.key"
    create_key(key_file)
    key = read_key(key_file)
    anchors = tmp_path / "anchors.jsonl"
    store.ingest(reports["UTR"], site="UTR")
    with store.engine.connect() as conn:
        append_anchor(conn, store_name(store.engine), key, anchors)
    store.freeze("interim-1", reason="DMC")
    lines = read_anchors(anchors)
    with store.engine.connect() as conn:
        transaction = conn.begin()
        try:
            rewrite_consistently(conn)
            alone = verify_store(conn)
            anchored = verify_store(conn, anchors=lines, key=key)
        finally:
            transaction.rollback()
    # the chain, the data and the seals all agree: only the anchor can tell
    assert [p for p in alone.problems if "trigger" not in p] == []
    rewritten = [p for p in anchored.problems if "anchor line 1" in p]
    assert rewritten and "the trail was rewritten" in rewritten[0]
    assert verify_engine(store.engine, anchors=lines, key=key).ok  # rolled back
    store.close()


def test_a_consistently_truncated_trail_fails_the_anchor_check(
    store: TrialStore, tmp_path: Path
) -> None:
    key_file = tmp_path / "anchor.key"
    create_key(key_file)
    key = read_key(key_file)
    anchors = tmp_path / "anchors.jsonl"
    store.freeze("interim-1", reason="DMC")
    with store.engine.connect() as conn:
        append_anchor(conn, store_name(store.engine), key, anchors)
    lines = read_anchors(anchors)
    with store.engine.connect() as conn:
        transaction = conn.begin()
        try:
            truncate_consistently(conn)
            alone = verify_store(conn)
            anchored = verify_store(conn, anchors=lines, key=key)
        finally:
            transaction.rollback()
    assert [p for p in alone.problems if "trigger" not in p] == []
    assert any(
        "anchor line 1" in p and "the trail was truncated" in p
        for p in anchored.problems
    ), anchored.problems
    store.close()


def test_a_wrong_key_or_a_changed_line_is_a_signature_problem(
    store: TrialStore, tmp_path: Path
) -> None:
    create_key(tmp_path / "right.key")
    create_key(tmp_path / "wrong.key")
    right, wrong = read_key(tmp_path / "right.key"), read_key(tmp_path / "wrong.key")
    anchors = tmp_path / "anchors.jsonl"
    name = store_name(store.engine)
    with store.engine.connect() as conn:
        append_anchor(conn, name, right, anchors)
        append_anchor(conn, name, right, anchors)
        assert check_anchors(conn, name, right, read_anchors(anchors)) == []
        problems = check_anchors(conn, name, wrong, read_anchors(anchors))
        assert len(problems) == 2
        assert all("signed with another key" in p for p in problems)
        with pytest.raises(StoreError, match="does not match this key"):
            append_anchor(conn, name, wrong, anchors)

        # a forged line (an attacker moves the anchor to a rewritten head)
        first, second = anchors.read_text().splitlines()
        forged = json.loads(first)
        forged["head"] = "0" * 64
        anchors.write_text(json.dumps(forged) + "\n" + second + "\n")
        problems = check_anchors(conn, name, right, read_anchors(anchors))
        assert any(
            "anchor line 1" in p and "the line was changed" in p for p in problems
        )

        # a line removed from the middle breaks the link of the next one
        append_anchor(conn, name, right, anchors)
        lines = anchors.read_text().splitlines()
        anchors.write_text(lines[0] + "\n" + lines[2] + "\n")
        problems = check_anchors(conn, name, right, read_anchors(anchors))
        assert any(
            "anchor line 2" in p and "removed or reordered" in p for p in problems
        )

        # an anchor of another store
        other = tmp_path / "other.jsonl"
        append_anchor(conn, "sqlite:////elsewhere.sqlite", right, other)
        problems = check_anchors(conn, name, right, read_anchors(other))
        assert problems and "not this store" in problems[0]
    store.close()


def test_links_are_refused(
    store: TrialStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "anchor.key"
    create_key(key_file)
    key = read_key(key_file)
    target = tmp_path / "target.jsonl"
    target.write_text("")
    link = tmp_path / "anchors.jsonl"
    link.symlink_to(target)
    with store.engine.connect() as conn, pytest.raises(StoreError, match="symbolic"):
        append_anchor(conn, store_name(store.engine), key, link)
    assert target.read_text() == ""  # nothing written through the link
    with pytest.raises(StoreError, match="symbolic link"):
        read_anchors(link)
    url = store.url  # type: ignore[attr-defined]
    code, _, err = run(
        capsys, "audit", "anchor", "--store", url, "--to", str(link),
        "--key", str(key_file),
    )  # fmt: skip
    assert code == 2 and "symbolic link" in err and "Traceback" not in err
    key_link = tmp_path / "key-link"
    key_link.symlink_to(key_file)
    with pytest.raises(StoreError, match="symbolic link"):
        read_key(key_link)
    store.close()


def test_key_files_are_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    key_file = tmp_path / "anchor.key"
    fingerprint = create_key(key_file)
    assert len(fingerprint) == 16
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    before = key_file.read_text()
    with pytest.raises(StoreError, match="never overwritten"):
        create_key(key_file)
    assert key_file.read_text() == before
    os.chmod(key_file, 0o640)
    with pytest.raises(StoreError, match="may be read by others"):
        read_key(key_file)
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    os.chmod(bad, 0o600)
    with pytest.raises(StoreError, match="not an anchor key"):
        read_key(bad)


def test_verify_options_and_keygen_on_the_command_line(
    store: TrialStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = store.url  # type: ignore[attr-defined]
    code, _, err = run(
        capsys, "audit", "verify", "--store", url, "--anchors", str(tmp_path / "a")
    )
    assert code == 2 and "--anchors and --key go together" in err
    code, out, _ = run(capsys, "audit", "keygen", str(tmp_path / "k.key"))
    assert code == 0 and "owner-only" in out
    code, _, err = run(capsys, "audit", "keygen", str(tmp_path / "k.key"))
    assert code == 2 and "never overwritten" in err
    code, _, err = run(
        capsys, "audit", "verify", "--store", url, "--anchors",
        str(tmp_path / "missing.jsonl"), "--key", str(tmp_path / "k.key"),
    )  # fmt: skip
    assert code == 2 and "no such anchor file" in err
    store.close()


def test_a_tampered_store_is_not_anchored(
    store: TrialStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE findings SET severity = 'warning'")
        conn.exec_driver_sql(
            "INSERT INTO user_roles (user_name, role, site_id, granted_cs) VALUES "
            "('mallory', 'coordinator', '*', 1)"
        )
    url = store.url  # type: ignore[attr-defined]
    anchors = tmp_path / "anchors.jsonl"
    code, out, _ = run(
        capsys, "audit", "anchor", "--store", url, "--to", str(anchors),
        "--key", str(tmp_path / "k.key"), "--new-key",
    )  # fmt: skip
    assert code == 1 and "nothing anchored" in out and "TAMPERED" in out
    assert "user_roles mallory/coordinator/*" in out
    assert not anchors.exists()
    store.close()
