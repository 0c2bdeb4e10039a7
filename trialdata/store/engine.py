"""Opening a trial store: URL handling, engine set-up, migrations, write locking.

A store is any SQLAlchemy URL; without one it is the SQLite file
``trialdata.sqlite`` in the working folder. A plain file path is read as a SQLite
file. Opening a store runs the Alembic migrations shipped in
``trialdata/store/migrations``, so an empty database becomes a store and an older
store is upgraded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import event
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError

from trialdata.errors import StoreError
from trialdata.extras import require_extra

__all__ = [
    "DEFAULT_STORE_FILE",
    "create_store_engine",
    "current_revision",
    "display_url",
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
        return f"sqlite:///{Path(os.path.abspath(Path(text).expanduser())).as_posix()}"
    if text.startswith("postgresql://"):
        return "postgresql+psycopg://" + text.removeprefix("postgresql://")
    return text


def _sqlite_setup(engine: sa.Engine) -> None:
    """Let the store, not pysqlite, decide when transactions begin; use a WAL journal.

    Writers begin with ``BEGIN IMMEDIATE`` so that two ingests never interleave. The
    write-ahead log lets readers carry on (reading the last committed state) while a
    writer holds its transaction, and lets the writer commit while readers read.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 60000")
        if _is_file_database(engine):
            # persistent in the file; a no-op once set (an in-memory database
            # cannot use a write-ahead log)
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
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
    trialdata.errors.MissingExtraError
        For a PostgreSQL URL when the driver (the ``postgres`` extra) is missing.
    """
    resolved = resolve_url(url)
    try:
        backend = sa.make_url(resolved).get_backend_name()
    except ArgumentError as error:
        raise StoreError(
            f"store URL {_safe(resolved)!r} is not usable: {error}"
        ) from None
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(
            f"store URL {_safe(resolved)!r}: only SQLite and PostgreSQL are supported"
        )
    try:
        if resolved.startswith("sqlite"):
            engine = sa.create_engine(resolved, poolclass=sa.pool.NullPool)
            _sqlite_setup(engine)
        else:
            if sa.make_url(resolved).get_driver_name() == "psycopg":
                # the driver comes with the postgres extra: say so, not ImportError
                require_extra("psycopg", "postgres", "A PostgreSQL store")
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


def _is_file_database(engine: sa.Engine) -> bool:
    """Whether a SQLite engine opens a file (not an in-memory or URI database)."""
    url = engine.url
    return (
        bool(url.database) and url.database != ":memory:" and not url.query.get("uri")
    )


def _create_owner_only(path: Path) -> None:
    """Create an empty SQLite store file only its owner can read or write (0600).

    SQLite gives the journal files (``-wal``, ``-shm``) the permissions of the
    database file, so they are owner-only too. The file is created with
    ``O_EXCL | O_NOFOLLOW``: a file or symbolic link appearing at the path meanwhile
    makes this fail instead of being followed.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags, 0o600)
    except FileExistsError:
        raise StoreError(
            f"cannot create store {path}: something appeared at that path while "
            "opening it; nothing was changed"
        ) from None
    except OSError as error:
        raise StoreError(f"cannot create store {path}: {error.strerror}") from None
    os.fchmod(descriptor, 0o600)  # whatever the umask
    os.close(descriptor)


def display_url(url: str | Path | None) -> str:
    """Return a store's URL as it may be shown: resolved, its password hidden.

    Parameters
    ----------
    url : str or pathlib.Path, optional
        See :func:`resolve_url`.

    Returns
    -------
    str
        E.g. ``sqlite:////data/trial.sqlite`` or
        ``postgresql+psycopg://dm:***@db/trial``.
    """
    return _safe(resolve_url(url))


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


def _missing_sqlite_file(engine: sa.Engine) -> Path | None:
    """Return the file of a SQLite store when it does not exist, else None."""
    url = engine.url
    database = url.database
    if (
        engine.dialect.name != "sqlite"
        or not database
        or database == ":memory:"
        or url.query.get("uri")
    ):
        return None
    path = Path(database)
    return None if path.exists() or path.is_symlink() else path


def _linked_sqlite_file(engine: sa.Engine) -> Path | None:
    """Return the file of a SQLite store when it is a symbolic link, else None."""
    if engine.dialect.name != "sqlite" or not _is_file_database(engine):
        return None
    path = Path(str(engine.url.database))
    return path if path.is_symlink() else None


def missing_sqlite_file(url: str | Path | None = None) -> Path | None:
    """Return the file of a SQLite store URL when the file does not exist yet.

    Parameters
    ----------
    url : str or pathlib.Path, optional
        See :func:`resolve_url`.

    Returns
    -------
    pathlib.Path or None
        The file opening the store would create; None for an existing file, an
        in-memory database or PostgreSQL.
    """
    engine = create_store_engine(url)
    try:
        return _missing_sqlite_file(engine)
    finally:
        engine.dispose()


def remove_sqlite_store(path: Path) -> None:
    """Delete a SQLite store file this process created, with its journal files.

    Parameters
    ----------
    path : pathlib.Path
        The store file (from :func:`missing_sqlite_file` before it was opened).
    """
    for leftover in (path, *(Path(f"{path}{end}") for end in _JOURNALS)):
        leftover.unlink(missing_ok=True)


#: Files SQLite keeps beside a database while it is open.
_JOURNALS = ("-journal", "-wal", "-shm")


def _not_a_store(engine: sa.Engine) -> str | None:
    """Return why a database without a schema revision cannot become a store.

    A database becomes a store only when it holds no tables at all; one holding
    other tables belongs to something else and is left alone.
    """
    tables = sorted(
        name
        for name in sa.inspect(engine).get_table_names()
        if name != "alembic_version"
    )
    if not tables:
        return None
    shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
    return (
        f"it holds other tables ({shown}) and is not a trial store; nothing was changed"
    )


def open_store_engine(
    url: str | Path | None = None, *, create: bool = True
) -> sa.Engine:
    """Open a store: create its engine and bring its schema up to date.

    Parameters
    ----------
    url : str or pathlib.Path, optional
        See :func:`resolve_url`.
    create : bool, optional
        Make an empty database (or a missing SQLite file) a new store (default). With
        False, opening anything that is not a store yet is an error: commands that
        only read or change an existing store never create one by mistake.

    Returns
    -------
    sqlalchemy.Engine
        The engine of a store at the newest revision.

    Raises
    ------
    StoreError
        When the database cannot be reached or opened, is not a trial store (it holds
        other tables, or, with ``create=False``, nothing yet), or is at a schema
        revision this version does not know.
    """
    engine = create_store_engine(url)
    where = _safe(str(engine.url))
    linked = _linked_sqlite_file(engine)
    if linked is not None:
        engine.dispose()
        raise StoreError(
            f"store {linked} is a symbolic link; a store is never opened through a "
            "link (name the file itself)"
        )
    missing = _missing_sqlite_file(engine)
    if missing is not None and not create:
        engine.dispose()
        raise StoreError(
            f"no trial store at {missing}: the file does not exist "
            "(`trialdata ingest` creates a store)"
        )
    if missing is not None:
        try:
            _create_owner_only(missing)
        except StoreError:
            engine.dispose()
            raise
    revision = None
    try:
        revision = current_revision(engine)
        if revision is None:
            problem = _not_a_store(engine) or (
                None
                if create
                else "it is not a trial store yet (`trialdata ingest` creates one)"
            )
            if problem is not None:
                raise StoreError(f"cannot open store {where}: {problem}")
        if revision != head_revision():
            upgrade(engine)
    except StoreError:
        engine.dispose()
        raise
    except CommandError:
        engine.dispose()
        raise StoreError(
            f"cannot open store {where}: its schema revision {revision!r} is unknown "
            "to this version of trialdata (a store of a newer version, or not a trial "
            "store); nothing was changed"
        ) from None
    except DatabaseError as error:
        engine.dispose()
        raise StoreError(f"cannot open store {where}: {_reason(error)}") from None
    return engine


def _reason(error: DatabaseError) -> str:
    """Return the first line of a database error's own message."""
    text = str(error.orig) if error.orig is not None else str(error)
    lines = text.strip().splitlines()
    return lines[0] if lines else type(error).__name__


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """Open a transaction that holds the store's write lock until it ends.

    On SQLite the transaction begins with ``BEGIN IMMEDIATE``; on PostgreSQL it takes
    a transaction-level advisory lock. Either way writers queue one behind the other
    while readers carry on. The transaction commits when the block ends and rolls back
    on any exception (or when the process dies). A database that refuses the write
    (read-only file, full disk, lost connection) is reported as
    :class:`~trialdata.errors.StoreError` after the rollback.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.

    Yields
    ------
    sqlalchemy.Connection
        Connection inside the transaction.

    Raises
    ------
    StoreError
        When the database refuses the transaction.
    """
    dbapi_error = engine.dialect.loaded_dbapi.OperationalError
    try:
        with (
            engine.connect().execution_options(trialdata_write=True) as conn,
            conn.begin(),
        ):
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})"))
            yield conn
    except OperationalError as error:
        raise StoreError(
            f"cannot write to store {_safe(str(engine.url))}: {_reason(error)}; "
            "nothing was stored"
        ) from None
    except dbapi_error as error:  # raised by bulk inserts on the raw DBAPI cursor
        first = str(error).strip().splitlines()
        raise StoreError(
            f"cannot write to store {_safe(str(engine.url))}: "
            f"{first[0] if first else type(error).__name__}; nothing was stored"
        ) from None
