"""The SQLite store file: owner-only, never through a link, readers never blocked."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trialdata.errors import StoreError
from trialdata.store import TrialStore
from trialdata.store.ingest import PAUSE_ENV

INGEST = (
    "import sys\n"
    "from trialdata.store import TrialStore\n"
    "with TrialStore.open(sys.argv[1]) as store:\n"
    "    store.ingest(sys.argv[2], site=sys.argv[3])\n"
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_file_and_its_journal_are_owner_only(reports, tmp_path) -> None:
    path = tmp_path / "trial.sqlite"
    old = os.umask(0o022)  # a permissive umask must not matter
    try:
        with TrialStore.open(path) as store:
            store.ingest(reports["NIJ"], site="NIJ")
            assert _mode(path) == 0o600
            for end in ("-wal", "-shm"):
                journal = Path(f"{path}{end}")
                if journal.exists():
                    assert _mode(journal) == 0o600, end
    finally:
        os.umask(old)
    assert _mode(path) == 0o600


def test_a_store_is_never_opened_through_a_symbolic_link(reports, tmp_path) -> None:
    real = tmp_path / "real.sqlite"
    TrialStore.open(real).close()
    link = tmp_path / "link.sqlite"
    link.symlink_to(real)
    with pytest.raises(StoreError, match="symbolic link"):
        TrialStore.open(link)
    dangling = tmp_path / "dangling.sqlite"
    dangling.symlink_to(tmp_path / "nowhere.sqlite")
    with pytest.raises(StoreError, match="symbolic link"):
        TrialStore.open(dangling)
    assert not (tmp_path / "nowhere.sqlite").exists()


def test_the_store_uses_a_write_ahead_log(tmp_path) -> None:
    path = tmp_path / "trial.sqlite"
    TrialStore.open(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_readers_are_not_blocked_while_an_ingest_holds_its_transaction(
    reports, tmp_path: Path
) -> None:
    path = tmp_path / "trial.sqlite"
    with TrialStore.open(path) as store:
        store.ingest(reports["NIJ"], site="NIJ")
        n_before = len(store.current_tables()["subjects"])
    marker = tmp_path / "paused"
    process = subprocess.Popen(
        [sys.executable, "-c", INGEST, str(path), str(reports["UTR"].folder), "UTR"],
        env={**os.environ, PAUSE_ENV: str(marker)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None, process.communicate()[1].decode()
            assert time.monotonic() < deadline, "ingest never reached the pause"
            time.sleep(0.05)
        # The writer holds its write transaction with records written. Readers that
        # would give up at the first lock (timeout 0) read the last committed state.
        for _ in range(50):
            with sqlite3.connect(path, timeout=0) as conn:
                (n,) = conn.execute("SELECT count(*) FROM rec_subjects").fetchone()
            assert n == n_before
        with TrialStore.open(path, create=False) as reader:
            assert len(reader.current_tables()["subjects"]) == n_before
            assert reader.verify().ok
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
