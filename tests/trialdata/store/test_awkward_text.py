"""Awkward text survives the store unchanged on both backends.

Tabs, newlines, backslashes, quotes, control characters and non-ASCII text in free-text
columns go through ingest (COPY on PostgreSQL, ``executemany`` on SQLite), the audit
entries (JSON of the values, hashed in-process and by the worker), a re-upload that
must find nothing changed, a reasoned change, and a read-back.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa

from trialdata.store import TrialStore
from trialdata.store import chain as chain_module
from trialdata.validation import validate_folder

AWKWARD = [
    'fever "high", with\ttab and back\\slash',
    "first line\nsecond line\r\nthird, émigré 中文 🙂 \u2028 end",
]


@pytest.mark.parametrize("worker", [False, True], ids=["in-process", "worker"])
def test_awkward_text_round_trips_and_audits(
    store_url: str, make_upload, monkeypatch: pytest.MonkeyPatch, worker: bool
) -> None:
    if worker:  # the hash chain of every batch goes to the worker process
        monkeypatch.setattr(chain_module, "WORKER_MIN_ENTRIES", 2)

    def awkward(frames: dict[str, pd.DataFrame]) -> None:
        frames["adverse_events"]["term"] = AWKWARD

    report = validate_folder(make_upload("NIJ", edit=awkward))
    assert report.n_errors == 0
    uploaded = report.tables["adverse_events"]["term"].tolist()
    assert uploaded == AWKWARD  # the reader kept every character

    store = TrialStore.open(store_url)
    try:
        first = store.ingest(report, site="NIJ")
        assert first.n_quarantined == 0 and first.n_created == first.n_rows
        stored = store.current_tables()["adverse_events"].sort_values("ae_seq")
        assert sorted(stored["term"].tolist()) == sorted(AWKWARD)

        # the audit entry of a create holds the values as json.dumps writes them
        with store.engine.connect() as conn:
            stored_texts = list(
                conn.execute(
                    sa.text(
                        "SELECT new_value FROM audit_log WHERE action = 'create' "
                        "AND table_name = 'adverse_events' ORDER BY seq"
                    )
                ).scalars()
            )
        values = [json.loads(text) for text in stored_texts]
        assert [v["term"] for v in values] == AWKWARD
        assert stored_texts == [
            json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in values
        ]

        again = store.ingest(report, site="NIJ")
        assert (again.n_created, again.n_updated) == (0, 0)

        def changed(frames: dict[str, pd.DataFrame]) -> None:
            awkward(frames)
            frames["adverse_events"].loc[0, "term"] = AWKWARD[0] + '\\"\t'

        edit = validate_folder(make_upload("NIJ", edit=changed))
        result = store.ingest(edit, site="NIJ", reason="site correction")
        assert (result.n_updated, result.n_created) == (1, 0)
        terms = store.current_tables()["adverse_events"]["term"].tolist()
        assert AWKWARD[0] + '\\"\t' in terms and AWKWARD[1] in terms

        verified = store.verify()
        assert verified.ok, verified.problems
    finally:
        store.close()


def test_awkward_text_of_a_quarantined_row_is_kept_as_sent(
    store_url: str, make_upload
) -> None:
    def awkward(frames: dict[str, pd.DataFrame]) -> None:
        frames["adverse_events"]["term"] = AWKWARD
        frames["adverse_events"]["grade"] = ["9", "1.0"]  # row 2 is refused

    folder = make_upload("NIJ", edit=awkward)
    store = TrialStore.open(store_url)
    try:
        result = store.ingest(folder, site="NIJ")
        assert result.n_quarantined == 1
        with store.engine.connect() as conn:
            data = conn.execute(sa.text("SELECT data FROM quarantine")).scalar_one()
        held = json.loads(data)
        # every character as sent, and the cells as text, not as parsed
        assert held["term"] == AWKWARD[0]
        assert (held["grade"], held["serious"], held["ae_seq"]) == ("9", "N", "1")
        stored = store.current_tables()["adverse_events"]
        assert stored["term"].tolist() == [AWKWARD[1]]
    finally:
        store.close()
