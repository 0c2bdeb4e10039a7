"""The audit writer formats every kind of batch exactly as the chain defines it.

Batches mix what the writer formats once per batch (constant action, table, field,
old or new values; keys that need no JSON escaping) with what it formats per entry
(keys that need escaping, varying values with missing ones, Polars key series).
Whatever path a value takes, the stored entries must verify against the definition
(:func:`trialdata.store.audit.entry_text`), in-process and in the worker.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa

from trialdata.store import TrialStore
from trialdata.store import chain as chain_module
from trialdata.store.audit import AuditWriter, chain_hashes, entry_text, verify_audit
from trialdata.store.engine import write_transaction

PLAIN_KEYS = [f"S{i:02d}|ALT|2025-01-{i + 1:02d}" for i in range(6)]
ESCAPED_KEYS = ['S01|"quoted"', "S02|back\\slash", "S03|new\nline", "S04|tab\there"]


@pytest.mark.parametrize("worker", [False, True], ids=["in-process", "worker"])
def test_every_batch_shape_verifies(
    store_url: str, monkeypatch: pytest.MonkeyPatch, worker: bool
) -> None:
    if worker:
        monkeypatch.setattr(chain_module, "WORKER_MIN_ENTRIES", 2)
    store = TrialStore.open(store_url)
    try:
        with write_transaction(store.engine) as conn:
            audit = AuditWriter.start(conn, kind="ingest", user='é "u"', reason=None)
            # constant field and values, plain keys given as NumPy and as Polars
            audit.add(
                "update",
                "labs",
                np.asarray(PLAIN_KEYS, dtype=object),
                "value",
                "1",
                "2",
                key_series=pl.Series(PLAIN_KEYS),
            )
            # keys that need JSON escaping; varying values with missing ones
            audit.add(
                "create",
                "adverse_events",
                ESCAPED_KEYS,
                new=np.asarray(['{"a":"x"}', None, "é\t\\", ""], dtype=object),
            )
            audit.hash_pending()
            # a second batch continues the chain of the first
            audit.add("delete", "labs", PLAIN_KEYS[:2], old=pl.Series(["o1", None]))
            audit.close(conn)
        with store.engine.connect() as conn:
            result = verify_audit(conn)
            rows = conn.execute(
                sa.text(
                    "SELECT a.seq, a.changeset_id, c.at, c.user_name, c.reason, "
                    "a.action, a.table_name, a.record_key, a.field, a.old_value, "
                    "a.new_value, a.hash FROM audit_log a JOIN changesets c "
                    "ON c.id = a.changeset_id ORDER BY a.seq"
                )
            ).all()
    finally:
        store.close()
    assert result.ok, result.problems
    assert len(rows) == len(PLAIN_KEYS) + len(ESCAPED_KEYS) + 2
    texts = [entry_text(*row[:11]) for row in rows]
    assert [row.hash for row in rows] == chain_hashes("0" * 64, texts)
    assert [row.record_key for row in rows[6:10]] == ESCAPED_KEYS
    assert [row.new_value for row in rows[6:10]] == ['{"a":"x"}', None, "é\t\\", ""]
    assert [row.old_value for row in rows[10:]] == ["o1", None]
