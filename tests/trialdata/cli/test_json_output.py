"""Every command speaks JSON, and every write prints the audit head it left.

A store is taken through every kind of write through the command line, the two-site
nk-aml demo ingested site by site; each write's printed head (``audit head <sha>``
in text, ``audit_head`` in JSON) must be the store's head right after it, and
``audit verify --expect-head`` must find every one of them in the chain afterwards.
The read commands' JSON documents must hold the facts their text states.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer.main
from typer.testing import CliRunner

from trialdata.cli import app
from trialdata.store.identity import os_user

HEAD = re.compile(r"^audit head ([0-9a-f]{64})$", re.MULTILINE)


def run(*args: str, code: int = 0, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, (args, result.output)
    return result


def as_json(*args: str, code: int = 0, env: dict[str, str] | None = None) -> Any:
    result = run(*args, "--format", "json", code=code, env=env)
    return json.loads(result.stdout)


def latest_head(store: Path) -> str:
    with sqlite3.connect(store) as conn:
        row = conn.execute(
            "SELECT head_hash FROM changesets ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return str(row[0])


def test_every_command_takes_format_json() -> None:
    leaves: list[tuple[str, Any]] = []

    def walk(command: Any, path: str) -> None:
        subs = getattr(command, "commands", None)
        if subs is None or getattr(command, "invoke_without_command", False):
            leaves.append((path, command))
        for name, sub in (subs or {}).items():
            walk(sub, f"{path} {name}".strip())

    walk(typer.main.get_command(app), "")
    names = [path for path, _ in leaves]
    assert len(names) >= 28 and "queries" in names and "audit verify" in names
    for path, command in leaves:
        (option,) = [p for p in command.params if "--format" in p.opts]
        choices = [str(value) for value in option.type_descriptor.annotation]
        assert "json" in choices, path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("json")
    document = as_json("demo", str(root / "nk"), "--archetype", "nk-aml")
    assert document["archetype"] == "nk-aml" and document["injected_findings"] is None
    assert Path(document["folder"]) == root / "nk"
    assert sorted(Path(f).name for f in document["files"])[0] == "administrations.csv"
    return root / "nk"


def test_store_life_cycle(demo: Path, tmp_path: Path) -> None:
    store = tmp_path / "trial.sqlite"
    s = ("--store", str(store))
    heads: list[str] = []

    def wrote_json(document: dict[str, Any]) -> None:
        assert document["audit_head"] == latest_head(store)
        heads.append(document["audit_head"])

    def wrote_text(result: Any) -> None:
        (head,) = HEAD.findall(result.stdout)
        assert head == latest_head(store)
        heads.append(head)

    # ingest, site by site (JSON)
    first = as_json("ingest", str(demo), "--split-sites", *s)
    assert [sub["site_id"] for sub in first["submissions"]] == ["NMG", "RTD"]
    assert first["n_rows"] == sum(sub["n_rows"] for sub in first["submissions"])
    assert first["submissions"][0]["audit_head"] != first["audit_head"]
    wrote_json(first)
    # an RTD adverse event's grade unreadable: quarantined, a query (text)
    dirty = shutil.copytree(demo, tmp_path / "dirty")
    events = pd.read_csv(dirty / "adverse_events.csv", dtype=str, keep_default_na=False)
    events.loc[0, "grade"] = "abc"  # NK-001, an RTD subject
    events.to_csv(dirty / "adverse_events.csv", index=False)
    result = run("ingest", str(dirty), "--split-sites", *s, code=1)
    assert "quarantined: adverse_events.csv row 2: grade RD-008" in result.stdout
    nmg, rtd = HEAD.findall(result.stdout)  # one head per submission, in order
    assert rtd == latest_head(store) and nmg != rtd
    heads.extend([nmg, rtd])
    listed = as_json("queries", *s, "--output", str(tmp_path / "q"))
    assert listed["n_queries"] == 1 and listed["by_site"] == {"RTD": 1}
    assert listed["queries"][0]["rule"] == "RD-008"
    query = str(listed["queries"][0]["id"])
    me = os_user()  # the store's coordinator; answering needs RTD's data entry
    entry = as_json(
        "users", "add", me, "--role", "site_data_entry", "--site", "RTD",
        "--reason", "RTD's answers", *s,
    )  # fmt: skip
    wrote_json(entry)
    wrote_text(run("queries", "answer", query, "--text", "typo", *s))
    closed = as_json("queries", "close", query, "--text", "checked", *s)
    assert closed["status"] == "closed"
    wrote_json(closed)
    wrote_text(
        run(
            "delete", "labs", "NK-001|WBC|2023-01-28", "--site", "RTD",
            "--reason", "entered twice", *s,
        )
    )  # fmt: skip
    # accounts and sites
    added = as_json(
        "users", "add", "stat", "--role", "statistician", "--reason", "x", *s
    )
    assert added["role"] == "statistician"
    wrote_json(added)
    wrote_text(
        run("users", "revoke", "stat", "--role", "statistician", "--reason", "x", *s)
    )
    wrote_json(as_json("users", "disable", "stat", "--reason", "left", *s))
    wrote_text(run("sites", "add", "UTR", "--name", "Utrecht", "--reason", "new", *s))
    users = as_json("users", "list", "--all", *s)["users"]
    assert {"stat"} < {u["user_name"] for u in users}
    sites = as_json("sites", "list", *s)["sites"]
    assert [site["site_id"] for site in sites] == ["NMG", "RTD", "UTR"]
    # the protocol
    shown = as_json("protocol", "show", *s)
    assert shown["version"] == 1 and shown["trial_id"] == "NK-AML-DEMO"
    assert shown["toml"] == (demo / "protocol.toml").read_text(encoding="utf-8")
    same = as_json("protocol", "set", str(demo / "protocol.toml"), "--reason", "x", *s)
    assert same["stored"] is False and same["audit_head"] is None
    changed = tmp_path / "protocol.toml"
    changed.write_text(
        shown["toml"].replace('protocol_version = "1.3"', 'protocol_version = "1.4"')
    )
    stored = as_json("protocol", "set", str(changed), "--reason", "amendment 2", *s)
    assert stored["stored"] is True and stored["version"] == 2
    assert stored["changes"] == ["trial.protocol_version: 1.3 -> 1.4"]
    wrote_json(stored)
    history = as_json("protocol", "history", *s)["versions"]
    assert [v["version"] for v in history] == [1, 2]
    # freeze, sign, export
    wrote_text(run("freeze", "--label", "dmc-1", "--reason", "DMC 1", *s))
    signed = as_json("sign", "dmc-1", "--meaning", "approved", *s)
    assert signed["meaning"] == "approved" and signed["snapshot_label"] == "dmc-1"
    wrote_json(signed)
    listed_signatures = as_json("signatures", *s)
    assert [x["id"] for x in listed_signatures["signatures"]] == [signed["id"]]
    assert listed_signatures["problems"] == []
    exported = as_json("export", str(tmp_path / "out"), "--snapshot", "dmc-1", *s)
    assert len(exported["files"]) == 12 and exported["file_format"] == "csv"
    # every printed head is still in the chain
    assert len(heads) == len(set(heads)) == 14
    for head in heads:
        verified = as_json("audit", "verify", *s, "--expect-head", head)
        assert verified["intact"] is True and verified["expected_head"] == head
    assert verified["head"] == heads[-1]
    # anchors
    key = tmp_path / "anchor.key"
    made = as_json("audit", "keygen", str(key))
    assert made["key_file"] == str(key) and len(made["key_id"]) > 0
    anchors = tmp_path / "anchors.jsonl"
    anchored = as_json("audit", "anchor", "--to", str(anchors), "--key", str(key), *s)
    assert anchored["anchored"]["head"] == heads[-1]
    checked = as_json(
        "audit", "verify", *s, "--anchors", str(anchors), "--key", str(key)
    )
    assert checked["anchors"]["n_valid"] == 1

    # escalation and report read the snapshot like export, the store from the env
    env = {"TRIALDATA_STORE": str(store)}
    escalation = as_json("escalation", "--snapshot", "dmc-1", env=env)
    assert escalation["snapshot_label"] == "dmc-1"
    assert escalation["validation"]["n_errors"] == 0
    report = tmp_path / "r.html"
    summary = as_json(
        "report", "safety", "--snapshot", "dmc-1", "-o", str(report), env=env
    )
    assert summary["written"] is True and summary["snapshot_label"] == "dmc-1"
    assert summary["output"] == str(report) and summary["format"] == "html"
    assert summary["snapshot_hash"] == escalation["data_hash"]
    import hashlib

    assert summary["sha256"] == hashlib.sha256(report.read_bytes()).hexdigest()
    # a FOLDER wins over a store that only comes from the environment
    text = run("escalation", str(demo), env=env).stdout
    assert text.startswith("Trial NK-AML-DEMO")


def test_refusals_are_json_too(demo: Path, tmp_path: Path) -> None:
    store = tmp_path / "trial.sqlite"
    s = ("--store", str(store))
    upload = shutil.copytree(demo, tmp_path / "up")
    (upload / "labs.csv").write_bytes(b"")  # not read in full: refused whole
    refused = as_json("ingest", str(upload), "--split-sites", *s, code=1)
    assert refused["refused"] is True and refused["n_stored"] == 0
    assert refused["reasons"][0]["file"] == "labs.csv"
    assert refused["audit_head"] is None
    assert not store.exists()  # no empty store left behind
    run("ingest", str(demo), "--split-sites", *s)
    frozen = as_json("freeze", "--label", "a", *s)
    assert frozen["frozen"] is True and frozen["errors_recorded"] == []
    assert frozen["audit_head"] == latest_head(store)
    assert frozen["rows"] == sum(frozen["row_counts"].values())
