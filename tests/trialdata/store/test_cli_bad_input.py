"""Store commands given hostile or unusual input: a clear message, the right exit code.

Each test is a case of the store CLI audit that once gave a traceback, a misleading
answer or a wrong exit code. Exit codes: 0 success, 1 findings, 2 usage errors or
unreadable input; nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from trialdata.cli import main
from trialdata.store import TrialStore

UploadMaker = Callable[..., Path]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command line; return exit code, stdout and stderr."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (0 if code is None else int(code)), out, err


def refused(
    capsys: pytest.CaptureFixture[str], *args: str, says: str
) -> tuple[str, str]:
    """Run a command that must end with exit code 2 and a one-line message."""
    code, out, err = run(capsys, *args)
    assert code == 2, (out, err)
    assert "Traceback" not in err and err.startswith("trialdata: error: ")
    assert says in err, err
    return out, err


def table_names(url: str) -> set[str]:
    """Tables of a database (the search path's schema on PostgreSQL)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def with_grade_error(frames: dict[str, pd.DataFrame]) -> None:
    """Make one adverse event fail validation, so that a query opens."""
    frames["adverse_events"].loc[0, "grade"] = 9


def filled(
    capsys: pytest.CaptureFixture[str], url: str, make_upload: UploadMaker
) -> str:
    """Ingest NIJ's upload with one quarantined row; return the audit head."""
    code, out, err = run(
        capsys,
        "ingest",
        str(make_upload("NIJ", edit=with_grade_error)),
        "--site",
        "NIJ",
        "--store",
        url,
    )
    assert code == 1, err
    return out.split("audit head ")[1].split()[0]


def test_a_file_that_is_not_sqlite_is_refused(
    tmp_path: Path, make_upload: UploadMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n", encoding="utf-8")
    nij = str(make_upload("NIJ"))
    refused(
        capsys,
        "ingest",
        nij,
        "--site",
        "NIJ",
        "--store",
        str(text),
        says="file is not a database",
    )
    refused(capsys, "audit", "verify", "--store", str(text), says="not a database")
    assert text.read_text(encoding="utf-8") == "not a database\n"


def test_an_unsupported_database_url_is_named(
    make_upload: UploadMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    for url in ("mysql://u@localhost/db", "garbage://x"):
        refused(
            capsys,
            "ingest",
            str(make_upload("NIJ")),
            "--site",
            "NIJ",
            "--store",
            url,
            says="only SQLite and PostgreSQL are supported",
        )


def test_a_database_of_something_else_is_left_alone(
    store_url: str, make_upload: UploadMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = sa.create_engine(store_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE patients (id INTEGER, name TEXT)")
    engine.dispose()
    refused(
        capsys,
        "audit",
        "verify",
        "--store",
        store_url,
        says="holds other tables (patients) and is not a trial store",
    )
    refused(
        capsys,
        "ingest",
        str(make_upload("NIJ")),
        "--site",
        "NIJ",
        "--store",
        store_url,
        says="is not a trial store",
    )
    assert table_names(store_url) == {"patients"}


def test_a_schema_revision_this_version_does_not_know_is_refused(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = sa.create_engine(store_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"
        )
        conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('9999')")
    engine.dispose()
    refused(
        capsys,
        "audit",
        "verify",
        "--store",
        store_url,
        says="schema revision '9999' is unknown to this version",
    )
    assert table_names(store_url) == {"alembic_version"}


def test_commands_that_need_a_store_never_create_one(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = (
        ("audit", "verify"),
        ("freeze", "--label", "lock"),
        ("export", str(tmp_path / "out"), "--snapshot", "lock"),
        ("queries", "--output", str(tmp_path / "q")),
        ("queries", "answer", "1", "--text", "checked"),
        ("queries", "close", "1", "--text", "accepted"),
    )
    for command in commands:
        # a missing SQLite file, or an empty PostgreSQL schema
        refused(capsys, *command, "--store", store_url, says="trial store")
    assert not (tmp_path / "store.sqlite").exists()
    assert not (tmp_path / "out").exists() and not (tmp_path / "q").exists()
    if store_url.startswith("postgresql"):
        assert table_names(store_url) == set()


def test_an_empty_store_has_no_queries(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    TrialStore.open(store_url).close()
    code, out, _ = run(
        capsys, "queries", "--store", store_url, "--output", str(tmp_path / "q")
    )
    assert code == 0 and "no queries to list; nothing written" in out
    code, out, _ = run(capsys, "audit", "verify", "--store", store_url)
    assert code == 0 and "0 entries" in out


def test_who_acts_is_never_taken_from_the_command_line(
    store_url: str, make_upload: UploadMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    nij = str(make_upload("NIJ"))
    for user in ("", "Dr. Someone Else (PI)"):
        code, _, err = run(
            capsys, "ingest", nij, "--site", "NIJ", "--store", store_url, "--user", user
        )
        assert code == 2 and "No such option: --user" in err
    assert "changesets" not in table_names(store_url)
    filled(capsys, store_url, make_upload)
    code, _, err = run(
        capsys, "freeze", "--label", "lock", "--store", store_url, "--user", "x"
    )
    assert code == 2 and "No such option: --user" in err
    with TrialStore.open(store_url) as store:
        assert store.snapshots().empty
        with store.engine.connect() as conn:
            who = set(
                conn.exec_driver_sql("SELECT user_name FROM changesets").scalars()
            )
        assert who == {store.user}  # the OS user (SQLite) or database login (PG)


def test_expect_head_must_look_like_a_head(
    store_url: str, make_upload: UploadMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    head = filled(capsys, store_url, make_upload)
    for bad in ("", "abc", "z" * 64):
        refused(
            capsys,
            "audit",
            "verify",
            "--store",
            store_url,
            "--expect-head",
            bad,
            says="is not an audit head",
        )
    code, out, _ = run(
        capsys, "audit", "verify", "--store", store_url, "--expect-head", head.upper()
    )
    assert code == 0 and "intact" in out
    code, out, _ = run(
        capsys, "audit", "verify", "--store", store_url, "--expect-head", "0" * 64
    )
    assert code == 1 and "TAMPERED" in out  # a well-formed wrong head stays exit 1


def test_a_snapshot_label_with_control_characters_is_refused(
    store_url: str, make_upload: UploadMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    filled(capsys, store_url, make_upload)
    for label in ("lock\n1", "lock\t1", "lock\x1b[2J"):
        refused(
            capsys,
            "freeze",
            "--label",
            label,
            "--store",
            store_url,
            says="holds control characters",
        )
    code, out, _ = run(capsys, "freeze", "--label", "../lock 1;ä", "--store", store_url)
    assert code == 0 and "snapshot ../lock 1;ä" in out
    with TrialStore.open(store_url) as store:
        assert list(store.snapshots()["label"]) == ["../lock 1;ä"]


def test_export_never_mixes_with_other_data_files(
    sqlite_url: str,
    tmp_path: Path,
    make_upload: UploadMaker,
    capsys: pytest.CaptureFixture[str],
) -> None:
    filled(capsys, sqlite_url, make_upload)
    assert run(capsys, "freeze", "--label", "lock", "--store", sqlite_url)[0] == 0
    target = tmp_path / "other"
    target.mkdir()
    (target / "subjects.xlsx").write_bytes(b"old")
    (target / "mri.csv").write_text("old\n", encoding="utf-8")
    export = ("export", "--snapshot", "lock", "--store", sqlite_url)
    refused(
        capsys,
        *export,
        str(target),
        says="holds data files the export would not replace (mri.csv, subjects.xlsx)",
    )
    assert sorted(p.name for p in target.iterdir()) == ["mri.csv", "subjects.xlsx"]

    out = tmp_path / "out"
    assert run(capsys, *export, str(out))[0] == 0
    (out / "notes.txt").write_text("kept\n", encoding="utf-8")
    assert run(capsys, *export, str(out))[0] == 0  # the same export again: replaced
    refused(
        capsys,
        *export,
        str(out),
        "--file-format",
        "parquet",
        says="administrations.csv",
    )
    assert not list(out.glob("*.parquet"))

    a_file = tmp_path / "a_file"
    a_file.write_text("x", encoding="utf-8")
    refused(capsys, *export, str(a_file), says="is a file, not a folder")


def test_query_list_output_that_cannot_be_written(
    sqlite_url: str,
    tmp_path: Path,
    make_upload: UploadMaker,
    capsys: pytest.CaptureFixture[str],
) -> None:
    filled(capsys, sqlite_url, make_upload)
    a_file = tmp_path / "a_file"
    a_file.write_text("x", encoding="utf-8")
    for output in (a_file, a_file / "q", a_file / "q.csv"):
        refused(
            capsys,
            "queries",
            "--store",
            sqlite_url,
            "--output",
            str(output),
            says="not a folder",
        )
    assert a_file.read_text(encoding="utf-8") == "x"


def test_queries_for_an_unknown_site(
    store_url: str,
    tmp_path: Path,
    make_upload: UploadMaker,
    capsys: pytest.CaptureFixture[str],
) -> None:
    filled(capsys, store_url, make_upload)
    queries = ("queries", "--store", store_url, "--output", str(tmp_path / "q"))
    refused(
        capsys,
        *queries,
        "--site",
        "XXX",
        says="site 'XXX' is unknown to this store; sites: NIJ, UTR",
    )
    code, out, _ = run(capsys, *queries, "--site", "UTR")  # in the protocol
    assert code == 0 and "no queries to list; empty lists written" in out
    assert (tmp_path / "q" / "queries_UTR.csv").is_file()  # replaces an earlier list
    code, out, _ = run(capsys, *queries, "--site", "NIJ")
    assert code == 0 and "1 queries written" in out


def test_a_query_number_beyond_the_database_integer(
    store_url: str, make_upload: UploadMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    filled(capsys, store_url, make_upload)
    for number in (str(2**31), str(2**63 - 1), "99999999999999999999"):
        for action in ("answer", "close"):
            refused(
                capsys,
                "queries",
                "--store",
                store_url,
                action,
                number,
                "--text",
                "x",
                says=f"query {number} does not exist",
            )


def test_a_read_only_store_refuses_writes_and_keeps_its_content(
    tmp_path: Path, make_upload: UploadMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "store.sqlite"
    head = filled(capsys, f"sqlite:///{path.as_posix()}", make_upload)
    read_only = f"sqlite:///file:{path.as_posix()}?mode=ro&uri=true"

    def changed(frames: dict[str, pd.DataFrame]) -> None:
        frames["labs"].loc[0, "value"] = 3.5

    writes = (
        (
            "ingest",
            str(make_upload("NIJ", edit=changed)),
            "--site",
            "NIJ",
            "--reason",
            "re-read",
        ),
        ("freeze", "--label", "lock"),
        ("queries", "close", "1", "--text", "accepted"),  # a data manager's write
    )
    for command in writes:
        refused(
            capsys,
            *command,
            "--store",
            read_only,
            says="attempt to write a readonly database; nothing was stored",
        )
    code, out, _ = run(
        capsys, "audit", "verify", "--store", read_only, "--expect-head", head
    )
    assert code == 0 and "intact" in out
