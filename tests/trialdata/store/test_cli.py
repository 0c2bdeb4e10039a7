"""The store commands end to end, through the ``trialdata`` command line."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from trialdata.cli import main
from trialdata.store.identity import os_user


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (0 if code is None else int(code)), out, err


def test_store_commands(
    tmp_path: Path, make_upload, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    nij = make_upload("NIJ", name="nij")

    def bad(frames):
        frames["adverse_events"].loc[0, "grade"] = 7
        frames["adverse_events"].loc[0, "term"] = "=cmd|' /C calc'!A0"

    code, out, _ = run(
        capsys, "ingest", str(make_upload("UTR", edit=bad)), "--site", "NIJ"
    )
    assert code == 2  # refused: UTR's subjects in a NIJ upload; nothing stored
    assert not list(tmp_path.glob("trialdata.sqlite*"))  # not even an empty store
    code, out, err = run(capsys, "ingest", str(nij), "--site", "NIJ")
    assert code == 0, err
    assert "16 rows read, 16 created" in out
    assert (tmp_path / "trialdata.sqlite").is_file()  # the default store
    code, out, err = run(
        capsys,
        "ingest",
        str(make_upload("UTR", edit=bad)),
        "--site",
        "UTR",
    )
    assert (
        code == 1
        and "1 quarantined" in out
        and "quarantined: adverse_events.csv row 2" in out
    )
    code, _, err = run(capsys, "ingest", str(tmp_path / "missing"), "--site", "NIJ")
    assert code == 2 and "not a folder" in err and "Traceback" not in err

    def changed(frames):
        frames["labs"].loc[0, "value"] = 3.5

    code, _, err = run(
        capsys, "ingest", str(make_upload("NIJ", edit=changed)), "--site", "NIJ"
    )
    assert code == 2 and "needs a reason" in err
    code, _, _ = run(
        capsys,
        "ingest",
        str(make_upload("NIJ", edit=changed)),
        "--site",
        "NIJ",
        "--reason",
        "re-read",
    )
    assert code == 0

    code, out, _ = run(capsys, "queries", "--output", str(tmp_path / "q"))
    assert code == 0
    listing = pd.read_csv(tmp_path / "q" / "queries_UTR.csv")
    assert (tmp_path / "q" / "queries_UTR.xlsx").is_file()
    assert listing.loc[0, "status"] == "open" and listing.loc[0, "column"] == "grade"
    query_id = int(listing.loc[0, "id"])
    answer = ("queries", "answer", str(query_id), "--text", "checked: grade 3")
    code, _, err = run(capsys, *answer)  # the store's creator manages data, not UTR's
    assert code == 2 and "needs site_data_entry of UTR" in err
    me = os_user()
    code, out, _ = run(
        capsys,
        *("users", "add", me, "--role", "site_data_entry", "--site", "UTR"),
        *("--reason", "covers UTR data entry"),
    )
    assert code == 0 and re.search(r"audit head [0-9a-f]{64}", out)
    code, out, _ = run(capsys, *answer)
    assert code == 0 and f"query {query_id} answered" in out
    code, _, _ = run(
        capsys, "queries", "--site", "UTR", "--output", str(tmp_path / "utr.xlsx")
    )
    assert pd.read_excel(tmp_path / "utr.xlsx").loc[0, "status"] == "answered"

    code, out, _ = run(capsys, "freeze", "--label", "lock-1", "--reason", "DSMB")
    assert code == 0 and "snapshot lock-1" in out
    code, out, _ = run(
        capsys,
        "export",
        str(tmp_path / "exported"),
        "--snapshot",
        "lock-1",
        "--file-format",
        "csv",
    )
    assert code == 0
    code, _, _ = run(capsys, "validate", str(tmp_path / "exported"))
    assert code == 0

    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0 and out.startswith("audit trail intact")
    with sqlite3.connect(tmp_path / "trialdata.sqlite") as raw:
        raw.execute("DROP TRIGGER audit_log_no_update")
        raw.execute("UPDATE audit_log SET new_value = 'x' WHERE seq = 3")
    code, out, _ = run(
        capsys, "audit", "verify", "--store", str(tmp_path / "trialdata.sqlite")
    )
    assert code == 1 and "TAMPERED" in out and "entry 3 " in out
