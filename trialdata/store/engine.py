"""Opening a trial store: URL handling, engine set-up, migrations, write locking.

A store is any SQLAlchemy URL; without one it is the SQLite file
``trialdata.sqlite`` in the working folder. A plain file path is read as a SQLite
file. Opening a store runs the Alembic migrations shipped in
``trialdata/store/migrations``, so an empty database becomes a store and an older
store is upgraded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.exc import ArgumentError, OperationalError

from trialdata.errors import StoreError

__all__ = [
    "DEFAULT_STORE_FILE",
    "create_store_engine",
    "current_revision",
    "head_revision",
    "open_store_engine",
    "resolve_url",
    "upgrade",
    "write_transaction",
]

#: File name of the default SQLite store, in the working folder.
DEFAULT_STORE_FILE = "trialdata.sqlite"

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 7_311_829_201  # advisory lock id that serialises writers and migrations


def resolve_url(url: str | Path | None = None) -> str:
    """Return the SQLAlchemy URL of a store.

    Parameters
    ----------
    url : str or pathlib.Path, optional
        A SQLAlchemy URL (``sqlite:///file.sqlite``,
        ``postgresql+psycopg://user:pw@host/db``) or a file path (a SQLite file). None
        means ``trialdata.sqlite`` in the working folder.

    Returns
    -------
    str
        The URL.
    """
    if url is None:
        return f"sqlite:///{(Path.cwd() / DEFAULT_STORE_FILE).as_posix()}"
    text = str(url)
    if "://" not in text:
        return f"sqlite:///{Path(text).expanduser().resolve().as_posix()}"
    if text.startswith("postgresql://"):
        return "postgresql+psycopg://" + text.removeprefix("postgresql://")
    return text


def _sqlite_setup(engine: sa.Engine) -> None:
    """Let the store, not pysqlite, decide when transactions begin.

    Writers begin with ``BEGIN IMMEDIATE`` so that two ingests never interleave.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get("trialdata_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def create_store_engine(url: str | Path | None = None) -> sa.Engine:
    """Create the engine of a store without touching its schema.

    Parameters
    ----------
    url : str or pathlib.Path, optional
        See :func:`resolve_url`.

    Returns
    -------
    sqlalchemy.Engine
        The engine.

    Raises
    ------
    StoreError
        When the URL is not a usable database URL.
    """
    resolved = resolve_url(url)
    try:
        if resolved.startswith("sqlite"):
            engine = sa.create_engine(resolved, poolclass=sa.pool.NullPool)
            _sqlite_setup(engine)
        else:
            engine = sa.create_engine(resolved, pool_pre_ping=True)
    except (ArgumentError, ImportError, ValueError) as error:
        raise StoreError(
            f"store URL {_safe(resolved)!r} is not usable: {error}"
        ) from None
    if engine.dialect.name not in ("sqlite", "postgresql"):
        raise StoreError(
            f"store URL {_safe(resolved)!r}: only SQLite and PostgreSQL are supported"
        )
    return engine


def _safe(url: str) -> str:
    """Hide a password in a URL for messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def head_revision() -> str:
    """Return the newest migration revision shipped with this version.

    Returns
    -------
    str
        Revision identifier.
    """
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("the trial store has no migrations")
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """Return the migration revision a database is at.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.

    Returns
    -------
    str or None
        The revision; None for a database that is not a store yet.
    """
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine) -> None:
    """Create or upgrade the store's schema by running the Alembic migrations.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.

    Notes
    -----
    The migrations run inside :func:`write_transaction`, so two processes opening
    the same store never migrate it at once.
    """
    config = _alembic_config()
    with write_transaction(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def open_store_engine(url: str | Path | None = None) -> sa.Engine:
    """Open a store: create its engine and bring its schema up to date.

    Parameters
    ----------
    url : str or pathlib.Path, optional
        See :func:`resolve_url`.

    Returns
    -------
    sqlalchemy.Engine
        The engine of a store at the newest revision.

    Raises
    ------
    StoreError
        When the database cannot be reached or opened.
    """
    engine = create_store_engine(url)
    try:
        if current_revision(engine) != head_revision():
            upgrade(engine)
    except OperationalError as error:
        engine.dispose()
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise StoreError(
            f"cannot open store {_safe(str(engine.url))}: {reason}"
        ) from None
    return engine


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """Open a transaction that holds the store's write lock until it ends.

    On SQLite the transaction begins with ``BEGIN IMMEDIATE``; on PostgreSQL it takes
    a transaction-level advisory lock. Either way writers queue one behind the other
    while readers carry on. The transaction commits when the block ends and rolls back
    on any exception (or when the process dies).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.

    Yields
    ------
    sqlalchemy.Connection
        Connection inside the transaction.
    """
    with (
        engine.connect().execution_options(trialdata_write=True) as conn,
        conn.begin(),
    ):
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})"))
        yield conn
