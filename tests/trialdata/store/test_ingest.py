"""Audited ingest: acceptance, quarantine and release, site scope, reasons, history."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sqlalchemy as sa

from trialdata.errors import StoreError
from trialdata.store import TrialStore
from trialdata.validation import ValidationReport, validate_folder


def _rows(store: TrialStore, sql: str) -> list[sa.Row]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.text(sql)).all())


def test_clean_upload_is_accepted_and_recorded(store_url: str, reports) -> None:
    store = TrialStore.open(store_url)
    result = store.ingest(reports["NIJ"], site="NIJ")
    assert (result.n_rows, result.n_created, result.n_quarantined) == (16, 16, 0)
    assert result.exit_code == 0
    again = store.ingest(reports["NIJ"], site="NIJ")
    assert (again.n_created, again.n_updated, again.n_unchanged) == (0, 0, 16)
    submission = _rows(store, "SELECT * FROM submissions ORDER BY id")[0]
    assert (submission.site_id, submission.user_name, submission.trial_id) == (
        "NIJ",
        store.user,  # the operating-system user or database login, never free text
        "STORE-01",
    )
    assert (
        submission.received_at.endswith("Z") and "[trial]" in submission.protocol_toml
    )
    files = {
        r.name: r
        for r in _rows(store, "SELECT * FROM submission_files WHERE submission_id = 1")
    }
    labs = reports["NIJ"].folder / "labs.csv"
    import hashlib

    assert files["labs.csv"].sha256 == hashlib.sha256(labs.read_bytes()).hexdigest()
    assert files["labs.csv"].n_rows == 4 and files["labs.csv"].domain == "labs"
    assert "protocol.toml" in files
    current = store.current_tables()
    assert sorted(current["labs"]["subject_id"]) == ["N01", "N01", "N02", "N02"]
    assert current["labs"]["value"].tolist() == [3.25, 21.0, 4.25, 22.0]
    assert str(current["labs"]["lab_date"].dtype) == "datetime64[ns]"
    store.close()


def test_failing_rows_are_quarantined_then_released(
    sqlite_url: str, make_upload, reports
) -> None:
    store = TrialStore.open(sqlite_url)

    def bad_grade(frames):
        frames["adverse_events"].loc[1, "grade"] = 9

    bad = validate_folder(make_upload("NIJ", edit=bad_grade))
    result = store.ingest(bad, site="NIJ")
    assert result.n_quarantined == 1 and result.exit_code == 1
    assert "N02" not in set(store.current_tables()["adverse_events"]["subject_id"])
    held = _rows(store, "SELECT * FROM quarantine")
    assert [(q.domain, q.record_key, q.status, q.source_row) for q in held] == [
        ("adverse_events", "N02|1", "quarantined", 3)
    ]
    assert json.loads(held[0].data)["grade"] == "9"
    findings = _rows(store, "SELECT * FROM findings WHERE severity = 'error'")
    assert {(f.record_key, f.column) for f in findings} == {("N02|1", "grade")}

    fixed = store.ingest(reports["NIJ"], site="NIJ")
    assert fixed.n_released == 1 and fixed.n_created == 1 and fixed.exit_code == 0
    assert _rows(store, "SELECT status FROM quarantine")[0].status == "superseded"
    assert "N02" in set(store.current_tables()["adverse_events"]["subject_id"])
    assert store.verify().ok
    store.close()


def test_upload_cannot_touch_another_sites_records(
    store_url: str, make_upload, reports
) -> None:
    store = TrialStore.open(store_url)
    store.ingest(reports["NIJ"], site="NIJ")
    before = _rows(store, "SELECT count(*) AS n FROM audit_log")[0].n

    # Utrecht sends a lab value for a Nijmegen subject, and claims a new subject
    # for Nijmegen.
    def meddle(frames):
        labs = frames["labs"]
        labs.loc[0, "subject_id"] = "N01"
        labs.loc[0, "value"] = 99.0
        frames["subjects"].loc[1, "site_id"] = "NIJ"

    with pytest.raises(StoreError) as refused:
        store.ingest(validate_folder(make_upload("UTR", edit=meddle)), site="UTR")
    message = str(refused.value)
    assert "upload for site UTR refused" in message and "nothing was stored" in message
    assert (
        "labs.csv row 2: labs N01|NEUT|2025-02-24 — subject N01 belongs to site NIJ"
        in message
    )
    assert (
        "subjects.csv row 3: subjects U02 — subject U02 belongs to site NIJ" in message
    )
    assert _rows(store, "SELECT count(*) AS n FROM audit_log")[0].n == before
    assert _rows(store, "SELECT count(*) AS n FROM submissions")[0].n == 1

    # a site outside the protocol is refused too
    with pytest.raises(StoreError, match="not a site of trial STORE-01"):
        store.ingest(reports["UTR"], site="AMS")
    store.close()


def test_trial_level_tables_belong_to_the_coordinating_site(
    sqlite_url: str, make_upload, reports
) -> None:
    store = TrialStore.open(sqlite_url)
    # Utrecht may upload the shared cohorts unchanged once they exist...
    with pytest.raises(StoreError, match="only the coordinating site NIJ may create"):
        store.ingest(reports["UTR"], site="UTR")
    store.ingest(reports["NIJ"], site="NIJ")
    assert store.ingest(reports["UTR"], site="UTR").n_created == 10

    def new_route(frames):
        frames["cohorts"].loc[1, "dose_level"] = 1

    with pytest.raises(StoreError) as refused:
        store.ingest(
            validate_folder(make_upload("UTR", edit=new_route)),
            site="UTR",
            reason="typo",
        )
    assert (
        "cohorts.csv row 3: cohorts C2 — only the coordinating site NIJ may "
        "change cohorts" in str(refused.value)
    )
    store.close()


def test_change_needs_a_reason_and_keeps_history(
    store_url: str, make_upload, reports
) -> None:
    store = TrialStore.open(store_url)
    store.ingest(reports["NIJ"], site="NIJ")

    def corrected(frames):
        frames["adverse_events"].loc[0, "grade"] = 2
        frames["subjects"].loc[0, "weight_kg"] = 71.0

    upload = validate_folder(make_upload("NIJ", edit=corrected))
    with pytest.raises(StoreError) as refused:
        store.ingest(upload, site="NIJ")
    message = str(refused.value)
    assert "changes 2 stored record(s); a change needs a reason (--reason)" in message
    assert "adverse_events.csv row 2: adverse_events N01|1: grade '1' -> '2'" in message
    assert "subjects.csv row 2: subjects N01: weight_kg '70.5' -> '71'" in message

    result = store.ingest(upload, site="NIJ", reason="source data check")
    assert (result.n_updated, result.n_created, result.n_unchanged) == (2, 0, 14)
    assert store.current_tables()["adverse_events"]["grade"].tolist() == [2, 2]
    versions = _rows(
        store,
        "SELECT grade, _created_cs, _ended_cs FROM "
        "rec_adverse_events WHERE _key = 'N01|1' ORDER BY _rid",
    )
    # changeset 1 made the store's first user its coordinator (accounts)
    assert [tuple(v) for v in versions] == [(1, 2, 3), (2, 3, None)]
    updates = _rows(
        store,
        "SELECT a.table_name, a.record_key, a.field, a.old_value, "
        "a.new_value, c.user_name, c.reason FROM audit_log a JOIN "
        "changesets c ON c.id = a.changeset_id "
        "WHERE a.action = 'update' ORDER BY a.seq",
    )
    assert [tuple(u) for u in updates] == [
        ("subjects", "N01", "weight_kg", "70.5", "71", store.user, "source data check"),
        ("adverse_events", "N01|1", "grade", "1", "2", store.user, "source data check"),
    ]
    assert store.verify().ok
    store.close()


def test_delete_is_audited_and_scoped(sqlite_url: str, reports) -> None:
    store = TrialStore.open(sqlite_url)
    store.ingest(reports["NIJ"], site="NIJ")
    store.ingest(reports["UTR"], site="UTR")
    with pytest.raises(StoreError, match="cannot delete records of other sites"):
        store.delete("labs", ["U01|ALT|2025-02-24"], site="NIJ", reason="duplicate")
    with pytest.raises(StoreError, match="needs a reason"):
        store.delete("labs", ["N01|ALT|2025-02-17"], site="NIJ", reason=" ")
    store.delete("labs", ["N01|ALT|2025-02-17"], site="NIJ", reason="entered twice")
    labs = store.current_tables()["labs"]
    assert "N01|ALT|2025-02-17" not in set(labs["_key"]) and len(labs) == 7
    deleted = _rows(store, "SELECT * FROM audit_log WHERE action = 'delete'")
    assert len(deleted) == 1 and json.loads(deleted[0].old_value)["value"] == "21"
    assert store.verify().ok
    store.close()


def test_store_holds_one_trial(sqlite_url: str, reports) -> None:
    store = TrialStore.open(sqlite_url)
    store.ingest(reports["NIJ"], site="NIJ")
    other: ValidationReport = reports["UTR"]
    protocol = other.protocol.model_copy(
        update={"trial": other.protocol.trial.model_copy(update={"id": "OTHER-9"})}
    )
    with pytest.raises(StoreError, match="holds trial STORE-01"):
        store.ingest(
            ValidationReport(
                other.folder, protocol, other.tables, other.findings, other.files
            ),
            site="UTR",
        )
    assert np.array_equal(
        store.current_tables()["subjects"]["subject_id"].to_numpy(), ["N01", "N02"]
    )
    store.close()
