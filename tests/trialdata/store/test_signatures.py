"""Electronic signatures of snapshots and report releases, and their verification."""

from __future__ import annotations

import importlib.util
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from trialdata.cli import main
from trialdata.errors import InputError, StoreError
from trialdata.store import TrialStore
from trialdata.store.accounts import PermissionDeniedError
from trialdata.store.signatures import signatures_of_file, verify_signatures
from trialdata.store.tables import SIGNATURES

_spec = importlib.util.spec_from_file_location(
    "account_trail", Path(__file__).with_name("account_trail.py")
)
assert _spec is not None and _spec.loader is not None
trail = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(trail)


def _server_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def test_signing_a_snapshot_and_a_report_release(
    store_url: str, reports, tmp_path: Path
) -> None:
    store = TrialStore.open(store_url)  # coordinator and data manager of a new store
    store.ingest(reports["NIJ"], site="NIJ")
    snap = store.freeze("lock-1", reason="DMC 1")
    report = tmp_path / "safety.html"
    report.write_text("<html>DMC report of lock-1</html>", encoding="utf-8")

    # the coordinator is no statistician: a report release is not theirs to sign
    with pytest.raises(PermissionDeniedError, match="that needs statistician"):
        store.sign("lock-1", meaning="approved", report=report)
    store.add_user(store.user, role="statistician", reason="also trial statistician")
    with pytest.raises(StoreError, match="released only from an approved snapshot"):
        store.sign("lock-1", meaning="approved", report=report)  # not approved yet
    with pytest.raises(StoreError, match="cannot mean 'signed'; meanings: reviewed"):
        store.sign("lock-1", meaning="signed")
    with pytest.raises(StoreError, match="no snapshot 'lock-9'"):
        store.sign("lock-9", meaning="approved")
    before = datetime.now(UTC)
    signature = store.sign("lock-1", meaning="Approved", reason="data lock")
    assert (signature.target, signature.meaning, signature.role) == (
        "snapshot",
        "approved",
        "coordinator",
    )
    assert (
        signature.signer == store.user
        and signature.content_sha256 == snap.content_sha256
    )
    assert signature.audit_head == trail.latest_head(store.engine)
    # the database server's UTC time: milliseconds on SQLite, microseconds on PG
    digits = 6 if store_url.startswith("postgresql") else 3
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{{digits}}}Z", signature.signed_at
    )
    assert abs(_server_time(signature.signed_at) - before) < timedelta(minutes=5)
    with pytest.raises(StoreError, match="signed this snapshot as approved already"):
        store.sign("lock-1", meaning="approved")
    released = store.sign("lock-1", meaning="approved", report=report)
    assert released.role == "statistician" and released.target == "report"
    with store.engine.connect() as conn:
        assert [s.id for s in signatures_of_file(conn, report)] == [released.id]
        report.write_text("<html>edited after release</html>", encoding="utf-8")
        assert signatures_of_file(conn, report) == []
        assert verify_signatures(conn) == []
    assert store.verify_signatures() == []
    trail.assert_replays(store.engine, SIGNATURES)
    with store.engine.connect() as conn:
        kinds = set(conn.execute(sa.text("SELECT kind FROM changesets")).scalars())
    assert "signature" in kinds
    assert store.verify().ok
    store.close()


def test_meanings_follow_the_roles(sqlite_url: str, reports, tmp_path: Path) -> None:
    coordinator = TrialStore.open(sqlite_url, acting_as="cora")
    coordinator.ingest(reports["NIJ"], site="NIJ")
    coordinator.freeze("lock-1")
    coordinator.add_user("stan", role="statistician", full_name="Stan Stat", reason="r")
    coordinator.add_user("dora", role="dmc", full_name="Dora DMC", reason="r")
    coordinator.add_user("nia", role="site_data_entry", site="NIJ", reason="r")
    stan = TrialStore.open(sqlite_url, acting_as="stan")
    dora = TrialStore.open(sqlite_url, acting_as="dora")
    nia = TrialStore.open(sqlite_url, acting_as="nia")
    with pytest.raises(PermissionDeniedError, match="may not sign a snapshot as appr"):
        dora.sign("lock-1", meaning="approved")
    with pytest.raises(PermissionDeniedError, match="may not sign a snapshot as revi"):
        nia.sign("lock-1", meaning="reviewed")
    stan.sign("lock-1", meaning="reviewed")
    approved = stan.sign("lock-1", meaning="approved")
    assert "stan (Stan Stat, statistician)" in approved.describe()

    report = tmp_path / "safety.pdf"
    report.write_bytes(b"%PDF-1.7 report of lock-1")
    released = stan.sign("lock-1", meaning="approved", report=report)
    with pytest.raises(PermissionDeniedError, match="that needs dmc"):
        stan.sign("lock-1", meaning="reviewed", report=report)
    reviewed = dora.sign("lock-1", meaning="reviewed", report=report, reason="read")
    assert reviewed.report_name == "safety.pdf" and reviewed.role == "dmc"
    assert reviewed.report_sha256 == released.report_sha256
    link = tmp_path / "link.pdf"
    link.symlink_to(report)
    with pytest.raises(InputError, match="symbolic link"):
        dora.sign("lock-1", meaning="reviewed", report=link)
    assert coordinator.verify_signatures() == []

    # a signature stays valid when the signer leaves later
    coordinator.disable_user("dora", reason="DMC term ended")
    assert coordinator.verify_signatures() == []
    trail.assert_replays(coordinator.engine, SIGNATURES)


def _tamper(engine: sa.Engine, *statements: str) -> None:
    """Run statements as the database owner, triggers off where they would refuse."""
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def test_verify_signatures_finds_tampering(store_url: str, reports) -> None:
    store = TrialStore.open(store_url)
    store.ingest(reports["NIJ"], site="NIJ")
    store.freeze("lock-1")
    signature = store.sign("lock-1", meaning="approved")
    pg = store_url.startswith("postgresql")
    forged = (
        "INSERT INTO signatures (id, changeset_id, target, snapshot_label, "
        "content_sha256, signer, role, meaning, signed_at) VALUES "
        f"(2, {signature.id}, 'snapshot', 'lock-1', '{signature.content_sha256}', "
        "'mallory', 'dmc', 'approved', '2026-01-01T00:00:00.000Z')"
    )
    _tamper(store.engine, forged)
    problems = store.verify_signatures()
    assert any("signer 'mallory' has no account" in p for p in problems)
    assert any("role dmc may not sign a snapshot as approved" in p for p in problems)
    assert any("not a signature by mallory" in p for p in problems)
    # a signer that exists but never held the role it claims
    _tamper(
        store.engine,
        "ALTER TABLE signatures DISABLE TRIGGER USER"
        if pg
        else "DROP TRIGGER signatures_no_update",
        f"UPDATE signatures SET signer = '{store.user}', role = 'statistician' "
        "WHERE id = 2",
    )
    problems = store.verify_signatures()
    assert any("did not hold statistician" in p for p in problems)

    # the snapshot rehashed after signing: the signature no longer matches
    _tamper(
        store.engine,
        "SELECT 1" if pg else "DROP TRIGGER signatures_no_delete",
        "DELETE FROM signatures WHERE id = 2",
        "ALTER TABLE snapshots DISABLE TRIGGER USER"
        if pg
        else "DROP TRIGGER snapshots_no_update",
        "UPDATE snapshots SET content_sha256 = '" + "0" * 64 + "'",
    )
    problems = store.verify_signatures()
    assert problems == [
        f"signature 1 (snapshot lock-1 approved): bound to content hash "
        f"{signature.content_sha256}, but the snapshot records {'0' * 64}"
    ]
    # the records under the snapshot changed: the recomputed hash differs
    _tamper(
        store.engine,
        f"UPDATE snapshots SET content_sha256 = '{signature.content_sha256}'",
        "ALTER TABLE rec_labs DISABLE TRIGGER USER"
        if pg
        else "DROP TRIGGER rec_labs_fixed",
        "UPDATE rec_labs SET value = 99 WHERE _key = 'N01|ALT|2025-02-17'",
    )
    problems = store.verify_signatures()
    assert len(problems) == 1 and "the snapshot's records now hash to" in problems[0]
    store.close()


def test_sign_commands_print_the_audit_head(
    tmp_path: Path, make_upload, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = capsys.readouterr()
        return int(exited.value.code or 0), out, err

    assert run("ingest", str(make_upload("NIJ")), "--site", "NIJ")[0] == 0
    code, out, _ = run("freeze", "--label", "lock-1")
    with TrialStore.open("trialdata.sqlite") as store:
        assert code == 0 and f"audit head {trail.latest_head(store.engine)}" in out
    code, out, err = run("sign", "lock-1", "--meaning", "approved", "--reason", "lock")
    assert code == 0, err
    assert "signature 1: snapshot lock-1 approved by" in out
    with TrialStore.open("trialdata.sqlite") as store:
        assert f"audit head {trail.latest_head(store.engine)}" in out
    report = tmp_path / "r.html"
    report.write_text("report", encoding="utf-8")
    code, _, err = run(
        "sign", "lock-1", "--meaning", "approved", "--report", str(report)
    )
    assert code == 2 and "permission denied" in err and "statistician" in err
    code, out, _ = run("signatures", "--report", str(report))
    assert code == 1 and "no signature is bound to this file" in out
    code, out, _ = run("signatures")
    assert code == 0 and "signature 1: snapshot lock-1 approved" in out
