"""A store that has been through every kind of write, for the verify tests.

Two sites' uploads (one with a row quarantined, findings and queries), a query
answered for the site and one closed by the data manager, a re-upload with a reason
that changes records and releases the quarantined row, a deletion, an account added and
its role revoked, a freeze and its signature: every writer of the store has left rows and
entries behind, so replaying the trail has every table to rebuild.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pandas as pd

from trialdata.store import TrialStore
from trialdata.validation import ValidationReport, validate_folder


def load_helper(name: str) -> ModuleType:
    """Load a module of this folder by path (tests run with ``importlib`` mode)."""
    path = Path(__file__).resolve().parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"store_tests_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_fixtures = load_helper("conftest")
site_frames, write_upload = _fixtures.site_frames, _fixtures.write_upload

#: The lab result the life cycle deletes.
DELETED_LAB = "N01|ALT|2025-02-17"


def _bad_nij(frames: dict[str, pd.DataFrame]) -> None:
    frames["adverse_events"].loc[1, "grade"] = 9  # quarantined, a query


def _bad_utr(frames: dict[str, pd.DataFrame]) -> None:
    frames["adverse_events"].loc[0, "grade"] = 7  # quarantined, a query


def _changed_nij(frames: dict[str, pd.DataFrame]) -> None:
    frames["subjects"].loc[0, "weight_kg"] = 71.0  # an update
    frames["adverse_events"].loc[0, "grade"] = 2  # an update


def fill_store(url: str, folder: Path) -> dict[str, object]:
    """Take a new store at ``url`` through every kind of write.

    Returns
    -------
    dict
        ``heads``: the audit head printed after each write, in order; ``label``:
        the snapshot.
    """
    heads: list[str] = []

    def upload(
        name: str, site: str, edit: Callable[[dict[str, pd.DataFrame]], None] | None
    ) -> ValidationReport:
        frames = site_frames(site)
        if edit is not None:
            edit(frames)
        return validate_folder(write_upload(folder / name, frames))

    store = TrialStore.open(url)
    try:
        heads.append(
            store.ingest(upload("nij1", "NIJ", _bad_nij), site="NIJ").audit_head
        )
        heads.append(
            store.ingest(upload("utr1", "UTR", _bad_utr), site="UTR").audit_head
        )
        # accounts: the acting user (the store's first, its coordinator) enters
        # data for NIJ too; a statistician is added, then loses the role
        me = store.user
        heads.append(
            store.add_user(me, role="site_data_entry", site="NIJ", reason="NIJ CRC")
        )
        heads.append(store.add_user("stat", role="statistician", reason="statistics"))
        heads.append(store.revoke_role("stat", role="statistician", reason="left"))
        queries = store.queries()
        nij_query = int(queries.loc[queries["site_id"] == "NIJ", "id"].iloc[0])
        heads.append(store.answer_query(nij_query, "grade 9 was a typo for 2"))
        utr_query = int(queries.loc[queries["site_id"] == "UTR", "id"].iloc[0])
        heads.append(store.close_query(utr_query, "grade checked with the site"))
        result = store.ingest(
            upload("nij2", "NIJ", _changed_nij), site="NIJ", reason="source data check"
        )
        assert result.n_updated == 2 and result.n_released == 1, result.count_line()
        heads.append(result.audit_head)
        heads.append(
            store.delete("labs", [DELETED_LAB], site="NIJ", reason="entered twice")
        )
        snapshot = store.freeze("interim-1", reason="DMC cohort 1", allow_errors=True)
        heads.append(snapshot.audit_head)
        heads.append(store.sign("interim-1", meaning="approved").audit_head)
    finally:
        store.close()
    return {"heads": heads, "label": "interim-1"}


#: The backends of the store tests, and a fresh PostgreSQL schema (a context).
BACKENDS = _fixtures.BACKENDS
pg_schema = _fixtures._pg_schema
