"""The store schema is created and upgraded by the Alembic migrations."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from trialdata.store.engine import (
    create_store_engine,
    current_revision,
    head_revision,
    open_store_engine,
    resolve_url,
)
from trialdata.store.tables import metadata


def test_upgrade_from_empty_creates_the_schema_the_code_expects(store_url: str) -> None:
    empty = create_store_engine(store_url)
    assert current_revision(empty) is None
    assert not [
        t for t in sa.inspect(empty).get_table_names() if t != "alembic_version"
    ]
    empty.dispose()

    engine = open_store_engine(store_url)
    assert current_revision(engine) == head_revision()
    tables = set(sa.inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], "tables.py and the migrations disagree: write a migration"
    engine.dispose()
    # opening again is a no-op
    again = open_store_engine(store_url)
    assert current_revision(again) == head_revision()
    again.dispose()


def test_default_store_is_a_sqlite_file_in_the_working_folder(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert (
        resolve_url(None) == f"sqlite:///{(tmp_path / 'trialdata.sqlite').as_posix()}"
    )
    assert resolve_url("x.sqlite") == f"sqlite:///{(tmp_path / 'x.sqlite').as_posix()}"
    engine = open_store_engine(None)
    engine.dispose()
    assert (tmp_path / "trialdata.sqlite").is_file()
    assert resolve_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
