"""All or nothing per upload: a file not read in full refuses the upload or is held.

Issue "Nothing lost, nobody in where they don't belong": an upload missing a
required file, or with a malformed line, a symbolic link or an unreadable file, was
stored in part with exit 0. Now it is refused whole (exit 1, nothing stored), or with
``--quarantine-bad-files`` the bad file is quarantined whole and the rows that needed
it are held too. Rows read = stored + quarantined (+ refused).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from trialdata.cli import main
from trialdata.store import TrialStore
from trialdata.store.ingest import UploadRefusedError, ingest_report
from trialdata.validation import validate_folder

UploadMaker = Callable[..., Path]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (0 if code is None else int(code)), out, err


def rows(store: TrialStore, sql: str) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def extra_field(folder: Path) -> None:
    path = folder / "labs.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] += ",extra"  # line 3
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_missing_required_file_refuses_the_upload(
    store_url: str, make_upload: UploadMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    upload = make_upload("NIJ")
    (upload / "subjects.csv").unlink()
    code, out, err = run(
        capsys, "ingest", str(upload), "--site", "NIJ", "--store", store_url
    )
    assert code == 1, out + err
    assert (
        "upload refused, nothing stored: 14 rows read = 0 stored + 0 quarantined + 14 refused"
        in out
    )
    assert (
        "refused: subjects.csv: RD-006: required domain file for subjects is missing"
        in out
    )
    assert "Traceback" not in err
    # --quarantine-bad-files has no file to hold: still refused
    code, out, _ = run(
        capsys,
        "ingest",
        str(upload),
        "--site",
        "NIJ",
        "--store",
        store_url,
        "--quarantine-bad-files",
    )
    assert code == 1 and "upload refused, nothing stored" in out
    with TrialStore.open(store_url) as store:
        assert rows(store, "SELECT COUNT(*) FROM submissions") == [(0,)]
        assert rows(store, "SELECT COUNT(*) FROM audit_log") == [(0,)]
        with pytest.raises(UploadRefusedError) as refused:
            store.ingest(upload, site="NIJ")
    assert refused.value.n_rows == refused.value.n_refused == 14
    assert list(refused.value.reasons["rule"]) == ["RD-006"]


def test_a_partial_upload_leans_on_the_stored_records(
    sqlite_url: str, reports, make_upload: UploadMaker
) -> None:
    """A required file the store already holds may be left out of a later upload."""
    with TrialStore.open(sqlite_url) as store:
        store.ingest(reports["NIJ"], site="NIJ")
        upload = make_upload("NIJ")
        (upload / "subjects.csv").unlink()
        result = store.ingest(upload, site="NIJ")
        assert (result.n_rows, result.n_unchanged, result.n_quarantined) == (14, 14, 0)
        assert result.exit_code == 0
        warning = result.findings.loc[result.findings["rule"] == "RD-006"]
        assert list(warning["severity"]) == ["warning"]
        assert (
            warning["message"]
            .iloc[0]
            .endswith("the stored records of this domain stand (a partial upload)")
        )


def test_malformed_line_refuses_or_holds_the_file(
    store_url: str, make_upload: UploadMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    upload = make_upload("NIJ")
    extra_field(upload)
    store = ["--store", store_url, "--site", "NIJ"]
    code, out, _ = run(capsys, "validate", str(upload))
    assert code == 1 and "row 3: error RD-012: line has 9 fields" in out
    code, out, _ = run(capsys, "ingest", str(upload), *store)
    assert code == 1
    assert "16 rows read = 0 stored + 0 quarantined + 16 refused" in out
    assert "refused: labs.csv row 3: RD-012: line has 9 fields" in out

    code, out, _ = run(capsys, "ingest", str(upload), *store, "--quarantine-bad-files")
    assert code == 1
    assert (
        "rows: 16 rows read = 12 stored (12 created, 0 updated, 0 unchanged) + 4 quarantined"
        in out
    )
    assert "labs: file labs.csv quarantined whole, its 4 row(s) quarantined" in out
    with TrialStore.open(store_url) as opened:
        held = rows(
            opened,
            "SELECT record_key, source_row FROM quarantine WHERE domain = 'labs' "
            "ORDER BY source_row",
        )
        assert held == [
            ("N01|NEUT|2025-02-17", 2),
            ("N01|ALT|2025-02-17", 3),
            ("N02|NEUT|2025-03-24", 4),
            ("N02|ALT|2025-03-24", 5),
        ]
        found = rows(
            opened,
            "SELECT row, rule, value FROM findings WHERE rule = 'RD-012'",
        )
        assert found == [
            (3, "RD-012", "N01,D14,2025-02-17,ALT,21.0,U/L,0.0,40.0,extra")
        ]
        assert "labs" not in opened.current_tables()


def test_a_held_subjects_file_holds_its_subjects_rows_too(
    sqlite_url: str, tmp_path: Path, make_upload: UploadMaker
) -> None:
    """Nobody in where they don't belong: no lab result of a subject not stored."""
    upload = make_upload("NIJ")
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    (upload / "subjects.csv").unlink()
    (upload / "subjects.csv").symlink_to(secret)
    report = validate_folder(upload)
    assert "root" not in report.findings.to_string()  # never read, never shown
    with TrialStore.open(sqlite_url) as store:
        with pytest.raises(UploadRefusedError, match="RD-013: is a symbolic link"):
            store.ingest(report, site="NIJ")
        result = ingest_report(
            store.engine,
            report,
            site="NIJ",
            user=store.user,
            quarantine_bad_files=True,
        )
        assert (result.n_rows, result.n_stored, result.n_quarantined) == (14, 6, 8)
        assert result.n_files_quarantined == 1 and result.exit_code == 1
        assert sorted(store.current_tables()) == ["cohorts", "product_lots"]
        entry = rows(
            store,
            "SELECT domain, record_key, source_row, data, status FROM quarantine "
            "WHERE record_key LIKE '%#file'",
        )
        assert [e[:3] for e in entry] == [("subjects", "subjects.csv#file", None)]
        data = json.loads(str(entry[0][3]))
        assert data["rows_read"] == 0 and data["rule"] == "RD-013"
        assert "root" not in str(entry[0][3])
        assert set(result.quarantine_summary["rule"]) == {"XD-001"}

        # the site sends the file itself: the file entry and the held rows resolve
        result = store.ingest(make_upload("NIJ"), site="NIJ")
        assert (result.n_created, result.n_unchanged, result.n_quarantined) == (
            10,
            6,
            0,
        )
        assert result.n_released == 9  # the 8 rows and the file entry
        status = rows(
            store,
            "SELECT status FROM quarantine WHERE record_key = 'subjects.csv#file'",
        )
        assert status == [("superseded",)]
        assert store.verify().ok


def test_a_twenty_digit_id_is_a_finding_with_the_value_as_sent(
    sqlite_url: str, make_upload: UploadMaker
) -> None:
    def huge(frames: dict[str, pd.DataFrame]) -> None:
        frames["administrations"]["admin_seq"] = frames["administrations"][
            "admin_seq"
        ].astype(object)
        frames["administrations"].loc[0, "admin_seq"] = "12345678901234567890"

    with TrialStore.open(sqlite_url) as store:
        result = store.ingest(make_upload("NIJ", edit=huge), site="NIJ")
    found = result.findings.loc[result.findings["rule"] == "RD-008"]
    assert found[["file", "row", "column", "value"]].values.tolist() == [
        ["administrations.csv", 2, "admin_seq", "12345678901234567890"]
    ]
    assert "out of range" in found["message"].iloc[0]
    assert result.n_quarantined == 1 and result.exit_code == 1


def test_query_lists_are_never_written_through_links(
    sqlite_url: str,
    tmp_path: Path,
    make_upload: UploadMaker,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def grade(frames: dict[str, pd.DataFrame]) -> None:
        frames["adverse_events"].loc[0, "grade"] = 9

    upload = make_upload("NIJ", edit=grade)
    assert (
        run(capsys, "ingest", str(upload), "--site", "NIJ", "--store", sqlite_url)[0]
        == 1
    )
    precious = tmp_path / "precious.csv"
    precious.write_text("keep me\n", encoding="utf-8")
    out = tmp_path / "q"
    out.mkdir()
    (out / "queries_NIJ.csv").symlink_to(precious)
    queries = ("queries", "--store", sqlite_url, "--output")
    code, _, err = run(capsys, *queries, str(out))
    assert code == 2 and "queries_NIJ.csv" in err and "symbolic link" in err
    assert precious.read_text(encoding="utf-8") == "keep me\n"
    assert sorted(p.name for p in out.iterdir()) == ["queries_NIJ.csv"]  # nothing moved
    linked = tmp_path / "linked"
    linked.symlink_to(out, target_is_directory=True)
    code, _, err = run(capsys, *queries, str(linked))
    assert code == 2 and "symbolic link" in err
    one = tmp_path / "one.csv"
    one.symlink_to(precious)
    code, _, err = run(capsys, *queries, str(one))
    assert code == 2 and "symbolic link" in err
    assert precious.read_text(encoding="utf-8") == "keep me\n"

    (out / "queries_NIJ.csv").unlink()
    code, text, _ = run(capsys, *queries, str(out))
    assert code == 0 and "1 queries written" in text and "replaced" not in text
    code, text, _ = run(capsys, *queries, str(out))
    assert code == 0 and "replaced the earlier lists: " in text
    assert sorted(p.name for p in out.iterdir()) == [
        "queries_NIJ.csv",
        "queries_NIJ.xlsx",
        "queries_UTR.csv",
        "queries_UTR.xlsx",
    ]
