"""The hash chain of large batches is computed by a worker process, with a fallback.

Whoever computes it, the hashes are those of the chain's definition
(:func:`trialdata.store.audit.chain_hashes`), and an ingest hashed by the worker
verifies like any other.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest
import sqlalchemy as sa

from trialdata.store import TrialStore
from trialdata.store import chain as chain_module
from trialdata.store.audit import GENESIS, chain_hashes, verify_audit
from trialdata.store.chain import ChainJob

TEXTS = [f'[{i},1,"x"]\n-\n{i % 7}:{"é" * (i % 7)}' for i in range(3_000)]


def test_worker_computes_the_defined_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chain_module, "WORKER_MIN_ENTRIES", 10)
    previous = "ab" * 32
    job = ChainJob.start(previous, pa.array(TEXTS).slice(3))
    assert job._worker is not None
    assert job.result() == chain_hashes(previous, TEXTS[3:])


def test_failed_worker_falls_back_to_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chain_module, "WORKER_MIN_ENTRIES", 10)
    monkeypatch.setattr(chain_module, "_WORKER", "raise SystemExit(3)")
    job = ChainJob.start(GENESIS, pa.array(TEXTS))
    assert job._worker is not None
    assert job.result() == chain_hashes(GENESIS, TEXTS)


def test_worker_fed_more_than_a_pipe_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    # ~3 MB of entries: the feeding thread blocks on the pipe until the worker reads
    monkeypatch.setattr(chain_module, "WORKER_MIN_ENTRIES", 10)
    texts = [f'[{i},1,"t"]\n-\n{300}:' + "é" * 150 for i in range(10_000)]
    job = ChainJob.start(GENESIS, pa.array(texts))
    assert job._worker is not None
    assert job.result() == chain_hashes(GENESIS, texts)


def test_worker_dying_half_way_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # the worker reads part of its input and dies: the feeder's broken pipe is
    # ignored and the caller computes the chain itself
    monkeypatch.setattr(chain_module, "WORKER_MIN_ENTRIES", 10)
    monkeypatch.setattr(
        chain_module, "_WORKER", "import sys; sys.stdin.buffer.read(1000); sys.exit(1)"
    )
    texts = [f"entry {i} " + "x" * 200 for i in range(5_000)]
    job = ChainJob.start(GENESIS, pa.array(texts))
    assert job._worker is not None
    assert job.result() == chain_hashes(GENESIS, texts)


def test_worker_reads_string_views_inline_sliced_and_in_many_buffers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Polars exports entries as string views spread over many data buffers; short
    # entries (up to 12 bytes) sit inline in their view; a slice starts mid-array.
    monkeypatch.setattr(chain_module, "WORKER_MIN_ENTRIES", 10)
    texts = [
        ("é" * (i % 9)) + str(i) if i % 3 else "x" * (i % 400) for i in range(30_000)
    ]
    views = pl.Series(texts).to_arrow(compat_level=pl.CompatLevel.newest())
    assert views.type == pa.string_view() and len(views.buffers()) > 3
    job = ChainJob.start(GENESIS, views.slice(7))
    assert job._worker is not None
    assert job.result() == chain_hashes(GENESIS, texts[7:])


def test_small_batches_are_hashed_in_process() -> None:
    job = ChainJob.start(GENESIS, pa.array(TEXTS[:5]))
    assert job._worker is None
    assert job.result() == chain_hashes(GENESIS, TEXTS[:5])


def test_ingest_hashed_by_the_worker_verifies(
    store_url: str, reports, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chain_module, "WORKER_MIN_ENTRIES", 2)
    store = TrialStore.open(store_url)
    store.ingest(reports["NIJ"], site="NIJ")
    store.ingest(reports["UTR"], site="UTR")
    result = store.verify()
    assert result.ok and result.n_entries > 20
    with store.engine.connect() as conn:
        conn.exec_driver_sql(
            "DROP TRIGGER audit_log_no_update"
            if conn.dialect.name == "sqlite"
            else "ALTER TABLE audit_log DISABLE TRIGGER USER"
        )
        conn.execute(sa.text("UPDATE audit_log SET new_value = 'x' WHERE seq = 10"))
        conn.commit()
    assert any(p.startswith("entry 10 ") for p in store.verify().problems)
    store.close()


@pytest.mark.parametrize("worker", [False, True], ids=["in-process", "worker"])
def test_verify_reads_the_log_in_chunks_and_names_each_bad_entry(
    store_url: str, reports, monkeypatch: pytest.MonkeyPatch, worker: bool
) -> None:
    """Chunks of 7 entries: links across chunk boundaries, hashed beside the reads."""
    if worker:
        monkeypatch.setattr(chain_module, "WORKER_MIN_ENTRIES", 2)
    store = TrialStore.open(store_url)
    store.ingest(reports["NIJ"], site="NIJ")
    store.ingest(reports["UTR"], site="UTR")
    with store.engine.connect() as conn:
        clean = verify_audit(conn, chunk=7)
        assert clean.ok and clean.n_entries > 30, clean.problems
        assert clean.head == verify_audit(conn).head
        conn.rollback()
        transaction = conn.begin()
        try:
            conn.exec_driver_sql(
                "DROP TRIGGER audit_log_no_update"
                if conn.dialect.name == "sqlite"
                else "ALTER TABLE audit_log DISABLE TRIGGER USER"
            )
            # the last entry of the first chunk and one inside the third: changed;
            # the last one of the second: its hash changed, which breaks the link
            # of the first entry of the third chunk too
            for seq in (7, 17):
                conn.exec_driver_sql(
                    f"UPDATE audit_log SET record_key = 'x' WHERE seq = {seq}"
                )
            conn.exec_driver_sql(
                "UPDATE audit_log SET hash = CASE WHEN substr(hash, 1, 1) = '0' "
                "THEN '1' ELSE '0' END || substr(hash, 2) WHERE seq = 14"
            )
            problems = verify_audit(conn, chunk=7).problems
        finally:
            transaction.rollback()
    named = [p.split(" (")[0] for p in problems if p.startswith("entry ")]
    assert named == ["entry 7", "entry 14", "entry 15", "entry 17"], problems
    store.close()
