"""Snapshots: frozen content read back exactly, exported files validate again."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from trialdata.errors import StoreError
from trialdata.store import TrialStore
from trialdata.trial import Trial
from trialdata.validation import validate_folder


def _domain_view(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {
        name: data.drop(columns=["_rid", "_created_cs"]).reset_index(drop=True)
        for name, data in tables.items()
    }


def test_snapshot_is_immutable(store_url: str, reports) -> None:
    store = TrialStore.open(store_url)
    store.ingest(reports["NIJ"], site="NIJ")
    frozen = store.freeze("interim-1", reason="cohort 1 review")
    assert frozen.row_counts == {
        "subjects": 2,
        "cohorts": 2,
        "product_lots": 4,
        "administrations": 2,
        "adverse_events": 2,
        "labs": 4,
    }
    with pytest.raises(StoreError, match="exists already"):
        store.freeze("interim-1")

    # more data arrive after the freeze: a new site, and a deletion
    store.ingest(reports["UTR"], site="UTR")
    store.delete("labs", ["N01|ALT|2025-02-17"], site="NIJ", reason="duplicate")
    assert len(store.current_tables()["subjects"]) == 4

    later = store.snapshot("interim-1")
    assert later.content_sha256 == frozen.content_sha256
    assert later.protocol.trial.id == "STORE-01"
    for name, data in _domain_view(frozen.tables).items():
        pd.testing.assert_frame_equal(_domain_view(later.tables)[name], data)
    with pytest.raises(StoreError, match="no snapshot 'nope'; snapshots: interim-1"):
        store.snapshot("nope")
    store.close()


def test_trial_from_store_and_export(
    sqlite_url: str, make_upload, reports, tmp_path
) -> None:
    store = TrialStore.open(sqlite_url)
    store.ingest(reports["NIJ"], site="NIJ")
    frozen = store.freeze("interim-1")

    def corrected(frames):
        frames["labs"].loc[0, "value"] = 3.5

    store.ingest(
        validate_folder(make_upload("NIJ", edit=corrected)),
        site="NIJ",
        reason="re-read",
    )
    store.close()

    trial = Trial.from_store(sqlite_url, snapshot="interim-1")
    assert sorted(trial.tables) == sorted(frozen.row_counts)
    assert trial.tables["labs"]["value"].tolist() == [3.25, 21.0, 4.25, 22.0]
    assert trial.table("subjects")["subject_id"].tolist() == ["N01", "N02"]
    assert trial.protocol.trial.id == "STORE-01"
    assert not trial.has_errors
    current = Trial.from_store(sqlite_url, snapshot="interim-1")
    assert current.content_hash == trial.content_hash

    store = TrialStore.open(sqlite_url)
    for file_format in ("csv", "parquet"):
        out = tmp_path / f"export_{file_format}"
        written = store.export("interim-1", out, format=file_format)
        assert written[0].name == "protocol.toml"
        assert {p.name for p in written[1:]} == {
            f"{n}.{file_format}" for n in frozen.row_counts
        }
        report = validate_folder(out)
        assert report.findings.empty, report.findings.to_string()
        assert report.tables["labs"]["value"].tolist() == [3.25, 21.0, 4.25, 22.0]
    store.close()


def test_changed_snapshot_content_is_detected(sqlite_url: str, reports) -> None:
    store = TrialStore.open(sqlite_url)
    store.ingest(reports["NIJ"], site="NIJ")
    store.freeze("v1")
    with store.engine.connect() as conn, conn.begin():
        conn.exec_driver_sql("DROP TRIGGER rec_labs_fixed")
        conn.execute(sa.text("UPDATE rec_labs SET value = 0.5 WHERE _rid = 1"))
    with pytest.raises(StoreError, match="no longer matches the hash"):
        store.snapshot("v1")
    store.close()


def test_freeze_of_an_empty_store_is_refused(sqlite_url: str) -> None:
    store = TrialStore.open(sqlite_url)
    with pytest.raises(StoreError, match="nothing to freeze"):
        store.freeze("v0")
    store.close()
