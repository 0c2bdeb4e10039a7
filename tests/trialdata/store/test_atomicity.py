"""A real ingest process killed half-way leaves the store exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from trialdata.store import TrialStore
from trialdata.store.ingest import PAUSE_ENV
from trialdata.store.tables import metadata

INGEST = (
    "import sys\n"
    "from trialdata.store import TrialStore\n"
    "with TrialStore.open(sys.argv[1]) as store:\n"
    "    store.ingest(sys.argv[2], site=sys.argv[3])\n"
)


def dump(store: TrialStore) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in a fixed order."""
    out = {}
    with store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            order = [sa.text(f'"{c.name}"') for c in table.columns]
            out[table.name] = [
                tuple(r) for r in conn.execute(sa.select(table).order_by(*order))
            ]
    return out


def test_killed_ingest_leaves_the_store_unchanged(
    store_url: str, reports, tmp_path: Path
) -> None:
    store = TrialStore.open(store_url)
    store.ingest(reports["NIJ"], site="NIJ")
    before = dump(store)
    assert before["rec_subjects"] and before["audit_log"]

    marker = tmp_path / "paused"
    env = {**os.environ, PAUSE_ENV: str(marker)}
    folder = str(reports["UTR"].folder)
    process = subprocess.Popen(
        [sys.executable, "-c", INGEST, store_url, folder, "UTR"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None, process.communicate()[1].decode()
            assert time.monotonic() < deadline, "ingest never reached the pause"
            time.sleep(0.05)
        # records of the first domain and their audit entries are written, uncommitted
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    assert dump(store) == before
    assert store.verify().ok
    # the write lock was released with the dead process: the same upload goes in
    result = store.ingest(reports["UTR"], site="UTR")
    assert result.n_created == 10 and store.verify().ok
    store.close()
