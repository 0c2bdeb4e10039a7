"""Queries: status carried across submissions, answers, safe spreadsheet output."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from trialdata.errors import StoreError
from trialdata.store import TrialStore
from trialdata.store.accounts import PermissionDeniedError
from trialdata.store.queries import write_query_lists
from trialdata.validation import validate_folder


def test_query_life_cycle(sqlite_url: str, make_upload, reports, tmp_path) -> None:
    store = TrialStore.open(sqlite_url)

    def two_problems(frames):
        frames["adverse_events"].loc[1, "grade"] = 9
        frames["labs"].loc[2, "value"] = None
        frames["labs"]["value"] = frames["labs"]["value"].astype(object)
        frames["labs"].loc[3, "unit"] = '=HYPERLINK("http://x")'

    store.ingest(validate_folder(make_upload("NIJ", edit=two_problems)), site="NIJ")
    store.ingest(reports["UTR"], site="UTR")
    opened = store.queries()
    assert len(opened) >= 1
    grade = opened[opened["column"] == "grade"].iloc[0]
    assert (grade["status"], grade["site_id"], grade["record_key"]) == (
        "open",
        "NIJ",
        "N02|1",
    )
    assert store.queries(site="UTR").empty

    # the site answers its query (site_data_entry of NIJ; the data manager cannot)
    with pytest.raises(PermissionDeniedError, match="needs site_data_entry of NIJ"):
        store.answer_query(int(grade["id"]), "grade 9 was a typo for 2")
    store.add_user("site-nij", role="site_data_entry", site="NIJ", reason="NIJ CRC")
    nij = TrialStore.open(sqlite_url, acting_as="site-nij")
    nij.answer_query(int(grade["id"]), "grade 9 was a typo for 2")
    answered = store.queries(site="NIJ").set_index("id").loc[int(grade["id"])]
    assert answered["status"] == "answered"
    assert answered["answer"] == "grade 9 was a typo for 2"
    assert answered["answered_by"] == "site-nij"
    with pytest.raises(StoreError, match="query 999 does not exist"):
        nij.answer_query(999, "x")

    # the corrected upload no longer reports it: closed
    store.ingest(reports["NIJ"], site="NIJ", reason="site corrections")
    assert store.queries(site="NIJ").empty
    closed = store.queries(site="NIJ", include_closed=True).set_index("id")
    assert set(closed["status"]) == {"closed"}
    with pytest.raises(StoreError, match="is closed; it cannot be answered"):
        nij.answer_query(int(grade["id"]), "again")
    assert store.verify().ok
    nij.close()
    store.close()


def test_a_site_without_queries_gets_an_empty_list_not_a_stale_one(
    sqlite_url: str, make_upload, reports, tmp_path
) -> None:
    store = TrialStore.open(sqlite_url)

    def bad_grade(frames):
        frames["adverse_events"].loc[1, "grade"] = 9

    store.ingest(validate_folder(make_upload("NIJ", edit=bad_grade)), site="NIJ")
    output = tmp_path / "queries"
    write_query_lists(store.queries(), output, sites=store.sites())
    assert len(pd.read_csv(output / "queries_NIJ.csv")) == 1
    store.ingest(reports["NIJ"], site="NIJ", reason="site corrections")
    assert store.queries().empty
    written = write_query_lists(store.queries(), output, sites=store.sites())
    assert output / "queries_NIJ.csv" in written
    assert output / "queries_NIJ.xlsx" in written
    assert store.sites() == ["NIJ", "UTR"]  # the protocol's sites
    listed = pd.read_csv(output / "queries_NIJ.csv")
    assert listed.empty and "status" in listed.columns
    assert pd.read_excel(output / "queries_NIJ.xlsx").empty
    store.close()


def test_query_lists_defuse_formulas(tmp_path) -> None:
    queries = pd.DataFrame(
        {
            "id": [1, 2],
            "site_id": ["NIJ", "UTR"],
            "message": ["=1+1", "fine"],
            "value": ["@SUM(A1)", "-3"],
            "row": [2, 5],
        }
    )
    written = write_query_lists(queries, tmp_path / "out")
    assert [p.name for p in written] == [
        "queries_NIJ.csv",
        "queries_NIJ.xlsx",
        "queries_UTR.csv",
        "queries_UTR.xlsx",
    ]
    csv = pd.read_csv(tmp_path / "out" / "queries_NIJ.csv")
    assert csv.loc[0, "message"] == "'=1+1" and csv.loc[0, "value"] == "'@SUM(A1)"
    sheet = load_workbook(tmp_path / "out" / "queries_UTR.xlsx").active
    assert [c.value for c in sheet[2]] == [2, "UTR", "fine", "'-3", 5]
    single = write_query_lists(queries, tmp_path / "all.csv")
    assert single == [tmp_path / "all.csv"]
