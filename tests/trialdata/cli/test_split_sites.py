"""``trialdata ingest --split-sites``: a multi-site upload, one submission per site."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sqlite3
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from trialdata.cli import app
from trialdata.demo import write_trial
from trialdata.store import TrialStore
from trialdata.validation import validate_folder

ROOT = Path(__file__).resolve().parents[3]
HEAD = re.compile(r"^audit head ([0-9a-f]{64})$", re.MULTILINE)
KEEP = ["_site_id"]  # besides the domain's own columns


def _store_fixtures() -> ModuleType:
    """The store tests' small two-site uploads (NIJ, UTR)."""
    path = ROOT / "tests" / "trialdata" / "store" / "conftest.py"
    spec = importlib.util.spec_from_file_location("split_store_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIXTURES = _store_fixtures()


def run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (args, result.output)
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def nk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("split") / "nk"
    write_trial(folder, "nk-aml", None, 0)
    return folder


def submissions(store: Path) -> list[tuple[str, int, int]]:
    with sqlite3.connect(store) as conn:
        return conn.execute(
            "SELECT site_id, n_rows, n_quarantined FROM submissions ORDER BY id"
        ).fetchall()


def latest_head(store: Path) -> str:
    with sqlite3.connect(store) as conn:
        row = conn.execute(
            "SELECT head_hash FROM changesets ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return str(row[0])


def test_two_site_demo_is_ingested_site_by_site(nk: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    refused = run("ingest", str(nk), "--site", "NMG", "--store", str(store), code=2)
    assert "belongs to site RTD, not NMG" in refused.stderr
    result = run("ingest", str(nk), "--split-sites", "--store", str(store))
    report = validate_folder(nk)
    n_rows = sum(len(table) for table in report.tables.values())
    stored = submissions(store)
    assert [site for site, _, _ in stored] == ["NMG", "RTD"]
    assert sum(n for _, n, _ in stored) == n_rows  # nothing lost, nothing twice
    nmg, rtd = stored
    assert result.stdout.startswith(
        f"upload {nk}: {n_rows} rows of 2 site(s): NMG ({nmg[1]} rows), "
        f"RTD ({rtd[1]} rows); one submission each\n"
    )
    heads = HEAD.findall(result.stdout)
    assert len(heads) == 2 and heads[-1] == latest_head(store)
    assert f"submission 1 from site NMG: {nmg[1]} rows read" in result.stdout
    assert f"submission 2 from site RTD: {rtd[1]} rows read" in result.stdout
    with TrialStore.open(store, create=False) as opened:
        tables = opened.current_tables()
        assert opened.verify().ok
    subjects = tables["subjects"]
    assert (subjects["_site_id"] == subjects["site_id"]).all()
    assert set(subjects["_site_id"]) == {"NMG", "RTD"}
    owner = dict(zip(subjects["subject_id"], subjects["_site_id"], strict=True))
    for name, table in tables.items():
        if "subject_id" in table.columns and len(table):
            assert (table["subject_id"].map(owner) == table["_site_id"]).all(), name
    assert set(tables["cohorts"]["_site_id"]) == {"NMG"}  # the coordinating site
    # the same upload again: every row unchanged, two more submissions
    again = run(
        "ingest", str(nk), "--split-sites", "--store", str(store), "--format", "json"
    )
    document = json.loads(again.stdout)
    assert [s["n_unchanged"] for s in document["submissions"]] == [nmg[1], rtd[1]]
    assert document["audit_head"] == latest_head(store)
    assert document["sites"] == {"NMG": nmg[1], "RTD": rtd[1]}


def test_site_and_split_sites_go_alone(nk: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "s.sqlite")
    for args in ([], ["--site", "NMG", "--split-sites"]):
        result = run("ingest", str(nk), "--store", store, *args, code=2)
        assert "give either --site SITE or --split-sites" in result.stderr
    assert not Path(store).exists()


def test_rows_of_an_unknown_site_refuse_the_upload(nk: Path, tmp_path: Path) -> None:
    upload = shutil.copytree(nk, tmp_path / "up")
    subjects = pd.read_csv(upload / "subjects.csv", dtype=str, keep_default_na=False)
    moved = subjects.loc[1, "subject_id"]
    subjects.loc[1, "site_id"] = "XYZ"
    subjects.to_csv(upload / "subjects.csv", index=False)
    store = tmp_path / "s.sqlite"
    result = run("ingest", str(upload), "--split-sites", "--store", str(store), code=2)
    labs = pd.read_csv(upload / "labs.csv", dtype=str)
    n_labs = int((labs["subject_id"] == moved).sum())
    assert "refused, nothing stored: rows belong to 1 site(s) that are not sites " in (
        result.stderr
    )
    assert "of the store (NMG, RTD)" in result.stderr
    assert "site XYZ: 1 row(s) of subjects, " in result.stderr
    assert f"{n_labs} row(s) of labs" in result.stderr
    assert not store.exists()  # nothing stored, no empty store left


def test_rows_of_no_known_subject_go_with_the_coordinating_site(
    nk: Path, tmp_path: Path
) -> None:
    upload = shutil.copytree(nk, tmp_path / "up")
    labs = pd.read_csv(upload / "labs.csv", dtype=str, keep_default_na=False)
    stray = labs.iloc[[0]].assign(subject_id="NK-999")
    pd.concat([labs, stray]).to_csv(upload / "labs.csv", index=False)
    store = tmp_path / "s.sqlite"
    result = run("ingest", str(upload), "--split-sites", "--store", str(store), code=1)
    assert "1 row(s) of no known subject go with the coordinating site NMG's" in (
        result.stdout
    )
    (nmg, rtd) = submissions(store)
    assert nmg[0] == "NMG" and nmg[2] == 1 and rtd[2] == 0  # quarantined there
    report = validate_folder(upload)
    assert nmg[1] + rtd[1] == sum(len(t) for t in report.tables.values())


def test_a_refused_later_part_names_what_was_stored(nk: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    run("ingest", str(nk), "--split-sites", "--store", str(store))
    upload = shutil.copytree(nk, tmp_path / "up")
    subjects = pd.read_csv(upload / "subjects.csv", dtype=str, keep_default_na=False)
    rtd = subjects.index[subjects["site_id"] == "RTD"][0]
    subjects.loc[rtd, "weight_kg"] = "99.5"  # a change: needs --reason
    subjects.to_csv(upload / "subjects.csv", index=False)
    result = run("ingest", str(upload), "--split-sites", "--store", str(store), code=2)
    assert "the part of site RTD was refused" in result.stderr
    assert "already stored: NMG (submission 3)" in result.stderr
    (head,) = HEAD.findall(result.stdout)  # the NMG submission, printed
    assert head == latest_head(store)
    assert [s for s, _, _ in submissions(store)] == ["NMG", "RTD", "NMG"]
    done = run(
        "ingest", str(upload), "--split-sites", "--store", str(store), "--reason", "x"
    )
    assert "1 updated" in done.stdout


def test_split_stores_what_separate_site_uploads_store(tmp_path: Path) -> None:
    nij, utr = FIXTURES.site_frames("NIJ"), FIXTURES.site_frames("UTR")
    both = {
        name: frame
        if name in ("cohorts", "product_lots")
        else pd.concat([frame, utr[name]], ignore_index=True)
        for name, frame in nij.items()
    }
    one = tmp_path / "one.sqlite"
    run("ingest", str(FIXTURES.write_upload(tmp_path / "nij", nij)), "--site", "NIJ",
        "--store", str(one))  # fmt: skip
    run("ingest", str(FIXTURES.write_upload(tmp_path / "utr", utr)), "--site", "UTR",
        "--store", str(one))  # fmt: skip
    split = tmp_path / "split.sqlite"
    combined = FIXTURES.write_upload(tmp_path / "both", both)
    result = run("ingest", str(combined), "--split-sites", "--store", str(split))
    assert "2 site(s): NIJ (" in result.stdout
    assert [s for s, _, _ in submissions(split)] == ["NIJ", "UTR"]
    with TrialStore.open(one, create=False) as a, TrialStore.open(split) as b:
        left, right = a.current_tables(), b.current_tables()
    assert left.keys() == right.keys()
    for name in left:
        columns = [c for c in left[name].columns if not c.startswith("_")] + KEEP
        key = [c for c in columns if c != "_site_id"]
        pd.testing.assert_frame_equal(
            left[name][columns].sort_values(key).reset_index(drop=True),
            right[name][columns].sort_values(key).reset_index(drop=True),
            obj=name,
        )
