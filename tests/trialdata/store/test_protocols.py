"""The protocol is controlled by the store, not uploaded: versions, findings, rights."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from trialdata.cli import main
from trialdata.errors import InputError, StoreError
from trialdata.store import TrialStore
from trialdata.store.accounts import PermissionDeniedError
from trialdata.store.ingest import UploadRefusedError
from trialdata.store.protocols import PROTOCOL_RULE
from trialdata.store.tables import PROTOCOLS, SITES, SNAPSHOTS
from trialdata.validation import validate_folder

_spec = importlib.util.spec_from_file_location(
    "account_trail", Path(__file__).with_name("account_trail.py")
)
assert _spec is not None and _spec.loader is not None
trail = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(trail)


def _rows(engine: sa.Engine, sql: str) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql)).all())


def _edit_protocol(folder: Path, *replacements: tuple[str, str]) -> Path:
    path = folder / "protocol.toml"
    text = path.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return folder


SITES_NIJ_FIRST = '[[sites]]\nid = "NIJ"\nname = "Nijmegen"\n[[sites]]\nid = "UTR"'
SITES_UTR_FIRST = '[[sites]]\nid = "UTR"\nname = "Nijmegen"\n[[sites]]\nid = "NIJ"'


def test_a_sites_protocol_is_a_finding_never_a_change(store_url: str, make_upload):
    store = TrialStore.open(store_url)
    nij = make_upload("NIJ")
    store.ingest(nij, site="NIJ")  # the first upload stores the trial's protocol
    v1 = store.protocol()
    assert v1 is not None and v1.version == 1 and v1.user_name == store.user
    assert v1.toml == (nij / "protocol.toml").read_text(encoding="utf-8")
    assert "protocol.toml of the first upload (submission 1, site NIJ)" in v1.reason

    # UTR's upload lists itself first and shortens the DLT window: a finding
    utr = _edit_protocol(
        make_upload("UTR"),
        ("dlt_window_days = 28", "dlt_window_days = 7"),
        (SITES_NIJ_FIRST, SITES_UTR_FIRST),
    )
    result = store.ingest(utr, site="UTR")
    found = result.findings.loc[result.findings["rule"] == PROTOCOL_RULE]
    assert len(found) == 1 and found["severity"].iloc[0] == "error"
    message = found["message"].iloc[0]
    assert "dlt_window_days 28 -> 7" in message
    assert "sites[1].id NIJ -> UTR" in message
    assert "the stored protocol (version 1) applies" in message
    assert result.exit_code == 1 and result.n_created == 10  # the rows are stored
    assert store.protocol().version == 1  # never a change
    assert store.protocol_history()["version"].tolist() == [1]
    protocol_queries = store.queries(site="UTR")
    assert protocol_queries["rule"].tolist() == [PROTOCOL_RULE]

    # the coordinating site is the stored protocol's first site, not the upload's
    def new_cohort_route(frames):
        frames["cohorts"].loc[0, "dose_level"] = 2

    meddling = _edit_protocol(
        make_upload("UTR", edit=new_cohort_route), (SITES_NIJ_FIRST, SITES_UTR_FIRST)
    )
    with pytest.raises(StoreError, match="only the coordinating site NIJ may change"):
        store.ingest(meddling, site="UTR", reason="ours now")

    # an upload without protocol.toml is fine; the protocol query closes
    bare = make_upload("UTR")
    (bare / "protocol.toml").unlink()
    again = store.ingest(bare, site="UTR")
    assert PROTOCOL_RULE not in set(again.findings["rule"])
    assert again.exit_code == 0 and again.n_unchanged == 16
    assert store.queries(site="UTR").empty
    last = _rows(store.engine, "SELECT * FROM submissions ORDER BY id DESC")[0]
    assert (last.protocol_toml, last.protocol_sha256) == ("", "")
    files = _rows(
        store.engine,
        f"SELECT name FROM submission_files WHERE submission_id = {last.id}",
    )
    assert "protocol.toml" not in {f.name for f in files}

    # freeze records the stored protocol and its version
    snap = store.freeze("v1")
    assert (snap.protocol_version, snap.protocol_toml) == (1, v1.toml)
    assert store.snapshot("v1").protocol_version == 1
    trail.assert_replays(store.engine, PROTOCOLS, SITES)
    assert store.verify().ok
    store.close()


def test_protocol_changes_need_a_coordinator_and_a_reason(
    store_url: str, make_upload, tmp_path: Path
) -> None:
    store = TrialStore.open(store_url)
    nij = make_upload("NIJ")
    store.ingest(nij, site="NIJ")
    amended = tmp_path / "amendment.toml"
    amended.write_text(
        (nij / "protocol.toml")
        .read_text(encoding="utf-8")
        .replace("dlt_window_days = 28", "dlt_window_days = 21")
        .replace('protocol_version = "1.0"', 'protocol_version = "2.0"'),
        encoding="utf-8",
    )
    with pytest.raises(StoreError, match="a protocol change needs a reason"):
        store.set_protocol(amended, reason=" ")
    stored, changed, head = store.set_protocol(amended, reason="amendment 2")
    assert changed and stored.version == 2 and head == trail.latest_head(store.engine)
    assert stored.changes == (
        "trial.protocol_version: 1.0 -> 2.0\ndlt_window_days: 28 -> 21"
    )
    entry = _rows(
        store.engine,
        "SELECT a.new_value, c.kind, c.reason, c.user_name FROM audit_log a JOIN "
        "changesets c ON c.id = a.changeset_id WHERE a.table_name = 'protocols' "
        "AND a.record_key = '2'",
    )[0]
    assert (entry.kind, entry.reason, entry.user_name) == (
        "protocol",
        "amendment 2",
        store.user,
    )
    assert "dlt_window_days: 28 -> 21" in json.loads(entry.new_value)["changes"]
    assert store.protocol(1).toml == (nij / "protocol.toml").read_text(encoding="utf-8")

    # the same protocol again (comments and layout aside): nothing stored
    amended.write_text("# amendment 2\n" + amended.read_text(), encoding="utf-8")
    n_changesets = len(_rows(store.engine, "SELECT id FROM changesets"))
    again, changed, head = store.set_protocol(amended, reason="again")
    assert (again.version, changed, head) == (2, False, None)
    assert len(_rows(store.engine, "SELECT id FROM changesets")) == n_changesets

    # another trial, an invalid file, a link: refused, nothing stored
    other = tmp_path / "other.toml"
    other.write_text(
        amended.read_text().replace('id = "STORE-01"', 'id = "OTHER-9"'),
        encoding="utf-8",
    )
    with pytest.raises(StoreError, match="one store holds one trial"):
        store.set_protocol(other, reason="x")
    broken = tmp_path / "broken.toml"
    broken.write_text(amended.read_text().replace("dlt_window_days = 21", ""))
    with pytest.raises(InputError, match=r"broken.toml.*dlt_window_days"):
        store.set_protocol(broken, reason="x")
    link = tmp_path / "link.toml"
    link.symlink_to(amended)
    with pytest.raises(InputError, match="symbolic link"):
        store.set_protocol(link, reason="x")
    assert store.protocol().version == 2

    # the stored protocol rules validation: a newly required domain must be sent
    required = tmp_path / "required.toml"
    required.write_text(
        amended.read_text().replace(
            '"adverse_events"]', '"adverse_events", "survival_status"]'
        ),
        encoding="utf-8",
    )
    assert store.set_protocol(required, reason="amendment 3")[0].version == 3
    with pytest.raises(UploadRefusedError, match="survival_status"):
        store.ingest(make_upload("NIJ"), site="NIJ")  # its own protocol needs less
    # a report validated against another protocol than the stored one is refused
    with pytest.raises(StoreError, match="validated against another protocol"):
        store.ingest(validate_folder(make_upload("NIJ")), site="NIJ")
    snap_v = _rows(store.engine, f"SELECT * FROM {SNAPSHOTS.name}")
    assert snap_v == []
    trail.assert_replays(store.engine, PROTOCOLS)
    assert store.verify().ok
    store.close()


def test_only_a_coordinator_stores_the_first_protocol(
    sqlite_url: str, make_upload
) -> None:
    coordinator = TrialStore.open(sqlite_url, acting_as="cora")
    coordinator.add_site("UTR", name="Utrecht", reason="site initiation")
    coordinator.add_user("uma", role="site_data_entry", site="UTR", reason="CRC")
    uma = TrialStore.open(sqlite_url, acting_as="uma")
    with pytest.raises(PermissionDeniedError, match="the store holds no protocol yet"):
        uma.ingest(make_upload("UTR"), site="UTR")
    bare = make_upload("NIJ")
    (bare / "protocol.toml").unlink()
    with pytest.raises(InputError, match=r"has no protocol\.toml"):
        coordinator.ingest(bare, site="NIJ")
    with pytest.raises(PermissionDeniedError, match="change the protocol"):
        uma.set_protocol(make_upload("UTR") / "protocol.toml", reason="ours")
    assert coordinator.protocol() is None
    coordinator.ingest(make_upload("NIJ"), site="NIJ")
    assert coordinator.protocol().user_name == "cora"


def test_protocol_commands(
    tmp_path: Path, make_upload, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    nij = make_upload("NIJ")

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = capsys.readouterr()
        return int(exited.value.code or 0), out, err

    code, out, err = run("protocol", "set", str(nij / "protocol.toml"))
    assert code == 2 and "Missing option '--reason'" in err
    (tmp_path / "bad.toml").write_text("dlt_window_days = 'x'\n", encoding="utf-8")
    code, out, err = run("protocol", "set", "bad.toml", "--reason", "typo")
    assert code == 2 and "bad.toml: not a valid protocol" in err
    assert "Traceback" not in err
    assert not list(tmp_path.glob("trialdata.sqlite*"))  # no empty store left behind
    code, out, err = run(
        "protocol", "set", str(nij / "protocol.toml"), "--reason", "protocol 1.0"
    )
    assert code == 0 and "protocol version 1 stored" in out, err
    head = re.search(r"audit head ([0-9a-f]{64})", out)
    with TrialStore.open("trialdata.sqlite") as store:
        assert head and head.group(1) == trail.latest_head(store.engine)
    (tmp_path / "v2.toml").write_text(
        (nij / "protocol.toml").read_text().replace("= 28", "= 21"), encoding="utf-8"
    )
    code, out, _ = run("protocol", "set", "v2.toml", "--reason", "amendment")
    assert code == 0 and "  dlt_window_days: 28 -> 21" in out
    code, out, _ = run("protocol", "set", "v2.toml", "--reason", "again")
    assert code == 0 and "protocol unchanged" in out and "audit head unchanged" in out
    code, out, _ = run("protocol", "show", "--version", "1")
    assert code == 0 and "dlt_window_days = 28" in out and "# protocol version 1" in out
    code, out, _ = run("protocol", "show")
    assert code == 0 and "dlt_window_days = 21" in out
    code, out, _ = run("protocol", "history")
    assert code == 0 and "version 2:" in out and "  dlt_window_days: 28 -> 21" in out
    code, _, err = run("protocol", "show", "--version", "9")
    assert code == 2 and "no protocol version 9; stored: versions 1..2" in err
    # ingest without protocol.toml: validated against the stored protocol
    (nij / "protocol.toml").unlink()
    code, out, err = run("ingest", str(nij), "--site", "NIJ")
    assert code == 0 and "16 created" in out, err
