"""One trial, one answer: the stored trial stays consistent across uploads and freezes.

An upload is checked against the records already stored (the merged view), not only
on its own; ``freeze`` validates the stored records and refuses while they have
errors; the ingest summary says which rule quarantined how many rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from trialdata.cli import main
from trialdata.demo import write_trial
from trialdata.store import TrialStore, consistency
from trialdata.store.snapshots import FreezeRefusedError
from trialdata.validation import validate_folder

RD005 = (
    "column holds direct identifiers and is refused; the column was not read — "
    "remove it from the export"
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (0 if code is None else int(code)), out, err


def _rows(store: TrialStore, sql: str) -> list[sa.Row]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.text(sql)).all())


@pytest.fixture(scope="module")
def tol_dc(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tolDC-ms demo (seed 1) and its twin with injected errors."""
    root = tmp_path_factory.mktemp("tol_dc")
    clean = write_trial(root / "c", "tolDC-ms", seed=1).folder
    broken = write_trial(root / "d", "tolDC-ms", seed=1, inject=True).folder
    return Path(clean), Path(broken)


def _only_lots_released_late(frames: dict[str, pd.DataFrame]) -> None:
    """Keep only the product lots, with N01's lot released after N01's dose."""
    for name in list(frames):
        if name != "product_lots":
            del frames[name]
    frames["product_lots"].loc[0, "release_date"] = pd.Timestamp("2025-02-10")


def _late_release(clean: Path, broken: Path) -> tuple[str, str, list[tuple[str, int]]]:
    """The lot whose release the twin moves after a stored dose, and those doses.

    Returns the lot, its release date in the clean demo, and the (key, source row)
    of the clean demo's given doses from that lot before the twin's release date.
    """
    before = validate_folder(clean).tables
    after = validate_folder(broken).tables
    old = before["product_lots"].set_index("lot_id")["release_date"]
    new = after["product_lots"].set_index("lot_id")["release_date"]
    moved = [lot for lot in old.index if lot in new.index and new[lot] > old[lot]]
    admin = before["administrations"]
    for lot in moved:
        early = admin.loc[
            (admin["lot_id"] == lot)
            & admin["given"].astype(bool)
            & (admin["admin_date"] < new[lot])
        ]
        if len(early):
            doses = [
                (f"{s}|{n}", int(r))
                for s, n, r in zip(
                    early["subject_id"],
                    early["admin_seq"],
                    early["_source_row"],
                    strict=True,
                )
            ]
            return str(lot), f"{old[lot]:%Y-%m-%d}", doses
    raise AssertionError("the twin moves no lot's release after a dose")


def test_correction_that_breaks_a_stored_dose_is_quarantined(
    store_url: str,
    tol_dc: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The issue's reproduction: ingest, ingest the twin, freeze, export, validate."""
    clean, broken = tol_dc
    lot, released, doses = _late_release(clean, broken)
    n_subjects = len(validate_folder(clean).tables["subjects"])
    store = ["--store", store_url]
    code, out, err = run(capsys, "ingest", str(clean), "--site", "BDN", *store)
    assert code == 0, out + err
    code, out, err = run(
        capsys, "ingest", str(broken), "--site", "BDN", "--reason", "correction", *store
    )
    assert code == 1, out + err
    # the lot's new release date is quarantined, naming the stored dose it breaks
    (key, row), *_ = doses
    assert (
        "XD-008: 1 - release_date: conflicts with stored administrations "
        f"{key} (administrations.csv row {row}, submission 1): lot {lot} administered"
    ) in out
    # the unknown identifier column: every subject row, one rule, said so
    assert (
        f"  subjects: {n_subjects} quarantined (RD-005: {n_subjects} - initials: "
        f"{RD005})\n"
    ) in out
    with TrialStore.open(store_url) as opened:
        lots = opened.current_tables()["product_lots"].set_index("lot_id")
        assert f"{lots.loc[lot, 'release_date']:%Y-%m-%d}" == released
        held = _rows(
            opened,
            "SELECT record_key, status FROM quarantine WHERE domain = 'product_lots'",
        )
        assert (lot, "quarantined") in [tuple(r) for r in held]
        assert opened.verify().ok

    code, out, err = run(capsys, "freeze", "--label", "v1", *store)
    assert code == 0, out + err
    code, out, err = run(
        capsys, "export", "--snapshot", "v1", str(tmp_path / "e"), *store
    )
    assert code == 0, out + err
    code, out, err = run(capsys, "validate", str(tmp_path / "e"))
    assert code == 0 and "XD-008" not in out, out
    assert validate_folder(tmp_path / "e").n_errors == 0


def test_upload_without_the_doses_cannot_move_a_lot_release_past_them(
    store_url: str, reports, make_upload
) -> None:
    """A lot file alone: the stored doses are the only other side of the rule."""
    store = TrialStore.open(store_url)
    store.ingest(reports["NIJ"], site="NIJ")
    # N01 was dosed from lot LN01 on 2025-02-03
    upload = validate_folder(make_upload("NIJ", edit=_only_lots_released_late))
    assert "XD-008" not in set(upload.findings["rule"])  # the upload alone is fine

    result = store.ingest(upload, site="NIJ", reason="re-released")
    assert (result.n_updated, result.n_quarantined, result.n_flagged) == (0, 1, 0)
    assert result.exit_code == 1
    assert result.quarantine_lines() == [
        "product_lots: 1 quarantined (XD-008: 1 - release_date: conflicts with "
        "stored administrations N01|1 (administrations.csv row 2, submission 1): "
        "lot LN01 administered on 2025-02-03, before the lot's release date "
        "2025-02-10)"
    ]
    current = store.current_tables()["product_lots"].set_index("lot_id")
    assert current.loc["LN01", "release_date"] == pd.Timestamp("2025-01-25")
    found = _rows(
        store,
        'SELECT domain, record_key, rule, "column", row FROM findings '
        "WHERE submission_id = 2 AND severity = 'error' AND rule = 'XD-008'",
    )
    assert [tuple(f) for f in found] == [
        ("product_lots", "LN01", "XD-008", "release_date", 2)
    ]
    held = _rows(store, "SELECT domain, record_key, status FROM quarantine")
    assert [tuple(h) for h in held] == [("product_lots", "LN01", "quarantined")]
    assert store.freeze("v1").errors.empty
    assert store.verify().ok
    store.close()


def test_changed_consent_is_checked_against_stored_records(
    sqlite_url: str, reports, make_upload
) -> None:
    """Moving a consent after stored doses and events: the subject row is held."""
    store = TrialStore.open(sqlite_url)
    store.ingest(reports["NIJ"], site="NIJ")

    def later_consent(frames):
        frames["subjects"].loc[0, "consent_date"] = pd.Timestamp("2025-02-10")

    result = store.ingest(
        validate_folder(make_upload("NIJ", edit=later_consent)),
        site="NIJ",
        reason="consent re-dated",
    )
    # the subject's change, and the upload's own copies of the dose and the event
    assert (result.n_updated, result.n_quarantined) == (0, 3)
    assert result.quarantine_lines() == [
        "subjects: 1 quarantined (XD-002: 1 - consent_date: conflicts with stored "
        "administrations N01|1 (administrations.csv row 2, submission 1), "
        "adverse_events N01|1 (adverse_events.csv row 2, submission 1): admin_date "
        "2025-02-03 is before subject N01's consent on 2025-02-10)",
        "administrations: 1 quarantined (XD-002: 1 - admin_date: admin_date "
        "2025-02-03 is before subject N01's consent on 2025-02-10)",
        "adverse_events: 1 quarantined (XD-002: 1 - onset_date: onset_date "
        "2025-02-05 is before subject N01's consent on 2025-02-10)",
    ]
    consent = store.current_tables()["subjects"].set_index("subject_id")
    assert consent.loc["N01", "consent_date"] == pd.Timestamp("2025-01-24")
    assert store.freeze("v1").errors.empty
    store.close()


def test_ingest_summary_names_rules_and_counts(
    tmp_path: Path, make_upload, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ["--store", str(tmp_path / "s.sqlite")]
    code, _, err = run(
        capsys, "ingest", str(make_upload("NIJ")), "--site", "NIJ", *store
    )
    assert code == 0, err

    def broken(frames):
        frames["subjects"].insert(1, "initials", ["AB", "CD"])
        frames["adverse_events"].loc[1, "grade"] = 9

    code, out, _ = run(
        capsys, "ingest", str(make_upload("NIJ", edit=broken)), "--site", "NIJ", *store
    )
    assert code == 1
    assert "16 rows read, 0 created, 0 updated, 13 unchanged, 3 quarantined" in out
    assert (
        f"  subjects: 2 quarantined (RD-005: 2 - initials: {RD005})\n"
        "  adverse_events: 1 quarantined (SC-RANGE: 1 - grade: out of range: "
        "must be <= 5)\n"
    ) in out

    with TrialStore.open(tmp_path / "s.sqlite") as opened:
        result = opened.ingest(make_upload("NIJ", edit=broken), site="NIJ")
    summary = result.quarantine_summary
    assert summary[["domain", "quarantined", "rule", "rows", "findings"]].to_dict(
        "records"
    ) == [
        {
            "domain": "subjects",
            "quarantined": 2,
            "rule": "RD-005",
            "rows": 2,
            "findings": 1,
        },
        {
            "domain": "adverse_events",
            "quarantined": 1,
            "rule": "SC-RANGE",
            "rows": 1,
            "findings": 1,
        },
    ]


def test_rows_left_without_their_subject_are_quarantined(
    sqlite_url: str, make_upload
) -> None:
    """A first upload whose subjects are all refused stores no orphan records."""
    store = TrialStore.open(sqlite_url)

    def initials(frames):
        frames["subjects"].insert(1, "initials", ["AB", "CD"])

    result = store.ingest(
        validate_folder(make_upload("NIJ", edit=initials)), site="NIJ"
    )
    assert (result.n_created, result.n_quarantined) == (6, 10)
    summary = result.quarantine_summary.set_index("domain")
    assert summary["rule"].to_dict() == {
        "subjects": "RD-005",
        "administrations": "XD-001",
        "adverse_events": "XD-001",
        "labs": "XD-001",
    }
    assert summary["rows"].to_dict() == {
        "subjects": 2,
        "administrations": 2,
        "adverse_events": 2,
        "labs": 4,
    }
    assert sorted(store.current_tables()) == ["cohorts", "product_lots"]
    with pytest.raises(FreezeRefusedError) as refused:
        store.freeze("v1")
    # the required domains the store has no record of, as an export would miss them
    errors = refused.value.errors
    assert set(errors["rule"]) == {"RD-006"}
    assert sorted(errors["domain"]) == ["administrations", "adverse_events", "subjects"]
    store.close()


def test_freeze_refuses_while_stored_records_have_errors(
    store_url: str, reports, capsys: pytest.CaptureFixture[str]
) -> None:
    store = TrialStore.open(store_url)
    store.ingest(reports["NIJ"], site="NIJ")
    # a deletion is not checked against the records that name the subject
    store.delete("subjects", ["N02"], site="NIJ", reason="withdrawn")

    code, out, err = run(capsys, "freeze", "--label", "v1", "--store", store_url)
    assert code == 1 and out == ""
    assert "snapshot 'v1' refused: the stored trial has 4 error finding(s)" in err
    assert (
        "  XD-001: 4 error(s)\n"
        "    - administrations N02|1 (administrations.csv row 3, submission 1): "
        "subject N02 is not in subjects; correct the id or upload the subject\n"
    ) in err
    assert "    - and 1 more\n" in err
    assert store.snapshots().empty
    with pytest.raises(FreezeRefusedError) as refused:
        store.freeze("v1")
    assert refused.value.errors["rule"].value_counts().to_dict() == {"XD-001": 4}

    code, out, err = run(
        capsys, "freeze", "--label", "v1", "--allow-errors", "--store", store_url
    )
    assert code == 0, err
    assert "recorded with the snapshot (--allow-errors): 4 error finding(s)" in out
    assert "  XD-001: 4 error(s)\n" in out
    frozen = store.snapshot("v1")
    assert frozen.errors[["domain", "record_key", "rule", "row"]].values.tolist() == [
        ["administrations", "N02|1", "XD-001", 3],
        ["adverse_events", "N02|1", "XD-001", 3],
        ["labs", "N02|NEUT|2025-03-24", "XD-001", 4],
        ["labs", "N02|ALT|2025-03-24", "XD-001", 5],
    ]
    entry = _rows(
        store,
        "SELECT new_value FROM audit_log WHERE table_name = 'snapshots' "
        "AND record_key = 'v1'",
    )
    recorded = json.loads(entry[0].new_value)
    assert recorded["validation"]["errors"] == {"XD-001": 4}
    assert [e["record_key"] for e in recorded["errors_allowed"]] == [
        "N02|1",
        "N02|1",
        "N02|NEUT|2025-03-24",
        "N02|ALT|2025-03-24",
    ]
    assert store.verify().ok
    store.close()


def test_conflict_without_a_culprit_row_is_flagged_on_the_stored_record(
    sqlite_url: str, reports, make_upload, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When no upload row can be held responsible, the stored record is flagged."""
    monkeypatch.setattr(consistency, "LINK_COLUMNS", ())
    monkeypatch.setattr(consistency, "_KEYED_BY", {})
    store = TrialStore.open(sqlite_url)
    store.ingest(reports["NIJ"], site="NIJ")
    upload = validate_folder(make_upload("NIJ", edit=_only_lots_released_late))
    result = store.ingest(upload, site="NIJ", reason="re-released")
    assert (result.n_updated, result.n_quarantined, result.n_flagged) == (1, 0, 1)
    assert result.exit_code == 1
    flagged = result.findings.loc[result.findings["flagged"]]
    assert flagged[["domain", "record_key", "file", "row"]].values.tolist() == [
        ["administrations", "N01|1", "administrations.csv", 2]
    ]
    assert flagged["rule"].tolist() == ["XD-008"]
    assert "(stored record of submission 1;" in flagged["message"].iloc[0]
    current = store.current_tables()["product_lots"].set_index("lot_id")
    assert current.loc["LN01", "release_date"] == pd.Timestamp("2025-02-10")
    with pytest.raises(FreezeRefusedError, match="XD-008: 1 error"):
        store.freeze("v1")
    store.close()
