"""Fixtures of the store tests: small site uploads and real databases.

SQLite stores live in ``tmp_path``. PostgreSQL tests (marker ``postgres``) need
``TRIALDATA_TEST_PG_URL`` (``.ci/postgres.sh`` sets it); each test gets a fresh schema
of that database, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from trialdata.store import TrialStore
from trialdata.validation import ValidationReport, validate_folder

PROTOCOL = """
routes = ["INTRAVENOUS"]
dlt_window_days = 28
required_domains = ["subjects", "cohorts", "administrations", "adverse_events"]
[trial]
id = "STORE-01"
title = "Store test trial"
protocol_version = "1.0"
[design]
method = "BOIN"
target_dlt_rate = 0.3
cohort_size = 3
max_subjects = 18
[[dose_levels]]
level = 1
amount = 1
unit = "10^6 cells/kg"
[[dose_levels]]
level = 2
amount = 3
unit = "10^6 cells/kg"
[[visits]]
name = "D0"
day = 0
[[visits]]
name = "D14"
day = 14
window_before = 3
window_after = 3
[[sites]]
id = "NIJ"
name = "Nijmegen"
[[sites]]
id = "UTR"
name = "Utrecht"
"""

SUBJECTS = {"NIJ": ["N01", "N02"], "UTR": ["U01", "U02"]}


def site_frames(site: str) -> dict[str, pd.DataFrame]:
    """Valid domain tables of one site's upload."""
    ids = SUBJECTS[site]
    offset = 0 if site == "NIJ" else 7
    # cohort C2 (DL2) starts after both C1 subjects completed the DLT window, as
    # BOIN allows after 0/2 DLTs at DL1 (XD-023)
    first = [
        pd.Timestamp("2025-02-03") + pd.Timedelta(days=offset + 35 * i)
        for i in range(2)
    ]
    subjects = pd.DataFrame(
        {
            "subject_id": ids,
            "site_id": site,
            "cohort_id": ["C1", "C2"],
            "sex": ["F", "M"],
            "age": [51, 63],
            "weight_kg": [70.5, 81.0],
            "consent_date": [d - pd.Timedelta(days=10) for d in first],
            "withdrawal_date": [None, None],
        }
    )
    cohorts = pd.DataFrame(
        {"cohort_id": ["C1", "C2"], "dose_level": [1, 2], "route": "INTRAVENOUS"}
    )
    all_ids = [s for site_ids in SUBJECTS.values() for s in site_ids]
    product_lots = pd.DataFrame(
        {
            "lot_id": [f"L{sid}" for sid in all_ids],
            "manufacture_date": pd.Timestamp("2025-01-20"),
            "release_date": pd.Timestamp("2025-01-25"),
            "release_status": "RELEASED",
            "total_cells_1e6": 900.0,
            "viability_pct": 91.5,
            "purity_pct": 95.0,
        }
    )
    administrations = pd.DataFrame(
        {
            "subject_id": ids,
            "admin_seq": 1,
            "admin_date": first,
            "visit": "D0",
            "given": "Y",
            "dose_level": [1, 2],
            "dose_amount": [1.0, 3.0],
            "dose_unit": "10^6 cells/kg",
            "route": "INTRAVENOUS",
            "reason_not_given": None,
            "lot_id": [f"L{sid}" for sid in ids],
        }
    )
    adverse_events = pd.DataFrame(
        {
            "subject_id": ids,
            "ae_seq": 1,
            "term": ["fever", "nausea"],
            "preferred_term": ["Pyrexia", "Nausea"],
            "soc": ["General disorders", "Gastrointestinal disorders"],
            "onset_date": [d + pd.Timedelta(days=2) for d in first],
            "resolution_date": [d + pd.Timedelta(days=5) for d in first],
            "grade": [1, 2],
            "grading_scale": "CTCAE",
            "grading_version": "5.0",
            "serious": "N",
            "relatedness": "POSSIBLY RELATED",
            "outcome": "RECOVERED/RESOLVED",
            "action_taken": "NOT APPLICABLE",
            "dlt": "N",
            "aesi": None,
        }
    )
    labs = pd.DataFrame(
        [
            {
                "subject_id": sid,
                "visit": "D14",
                "lab_date": d + pd.Timedelta(days=14),
                "test_code": code,
                "value": value + i,
                "unit": unit,
                "lower_limit": lo,
                "upper_limit": hi,
            }
            for i, (sid, d) in enumerate(zip(ids, first, strict=True))
            for code, value, unit, lo, hi in (
                ("NEUT", 3.25, "10^9/L", 1.5, 8.0),
                ("ALT", 21.0, "U/L", 0.0, 40.0),
            )
        ]
    )
    return {
        "subjects": subjects,
        "cohorts": cohorts,
        "product_lots": product_lots,
        "administrations": administrations,
        "adverse_events": adverse_events,
        "labs": labs,
    }


def write_upload(folder: Path, frames: dict[str, pd.DataFrame]) -> Path:
    """Write protocol.toml and one CSV per domain (dates as ISO dates)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "protocol.toml").write_text(PROTOCOL, encoding="utf-8")
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False, date_format="%Y-%m-%d")
    return folder


UploadMaker = Callable[..., Path]


@pytest.fixture
def make_upload(tmp_path: Path) -> UploadMaker:
    """Return ``make(site, name=None, edit=None)`` writing a site's upload folder.

    ``edit(frames)`` may change the frames (in place) before they are written.
    """
    counter = iter(range(1000))

    def make(
        site: str,
        name: str | None = None,
        edit: Callable[[dict[str, pd.DataFrame]], None] | None = None,
    ) -> Path:
        frames = site_frames(site)
        if edit is not None:
            edit(frames)
        return write_upload(
            tmp_path / (name or f"upload_{site}_{next(counter)}"), frames
        )

    return make


PG_ENV = "TRIALDATA_TEST_PG_URL"


def _pg_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set (run `source .ci/postgres.sh` first)")
    return url


@contextmanager
def _pg_schema() -> Iterator[str]:
    base = _pg_url()
    schema = f"td_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL schema, dropped after the test."""
    with _pg_schema() as url:
        yield url


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL schema shared by a module's tests."""
    with _pg_schema() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a new SQLite store file in the test's folder."""
    return f"sqlite:///{(tmp_path / 'store.sqlite').as_posix()}"


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store URL on each backend: SQLite file, then PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'store.sqlite').as_posix()}"
    else:
        with _pg_schema() as url:
            yield url


@pytest.fixture(scope="session")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ValidationReport]:
    """The validated standard upload of each site (validated once per session)."""
    root = tmp_path_factory.mktemp("standard_uploads")
    return {
        site: validate_folder(write_upload(root / site, site_frames(site)))
        for site in SUBJECTS
    }


@pytest.fixture(scope="module", params=BACKENDS)
def filled_store(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    reports: dict[str, ValidationReport],
) -> Iterator[TrialStore]:
    """A store holding both sites' standard uploads, shared by a module's tests.

    Tests that tamper with it do so inside a transaction they roll back.
    """
    with ExitStack() as stack:
        if request.param == "sqlite":
            path = tmp_path_factory.mktemp("filled") / "store.sqlite"
            url = f"sqlite:///{path.as_posix()}"
        else:
            url = stack.enter_context(_pg_schema())
        store = TrialStore.open(url)
        store.ingest(reports["NIJ"], site="NIJ")
        store.ingest(reports["UTR"], site="UTR")
        yield store
        store.close()
