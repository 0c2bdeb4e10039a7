"""Who acts on a store: never free text, always what the system authenticated.

- SQLite: the operating-system user running the process (by its effective user id,
  not by environment variables such as ``USER``, which anyone can set). The store
  file is created owner-only, so the file's owner is the boundary.
- PostgreSQL: the database login, ``session_user``. The database's own roles and
  row-level security act on that login; the application records the same name, so
  the audit trail and the database agree.

A trusted process (a test, a migration script run by the store's owner) may act as
another account on SQLite (``TrialStore.open(url, acting_as=...)``): whoever can
write the SQLite file can write anything into it, so this grants nothing the file's
permissions do not. On PostgreSQL acting as anyone but the login is refused. The
command line never takes an identity from its arguments.
"""

from __future__ import annotations

import getpass
import os
import re

import sqlalchemy as sa

from trialdata.errors import StoreError

__all__ = [
    "USER_NAME",
    "acting_user",
    "check_user_name",
    "database_login",
    "identity_source",
    "os_user",
]

#: Account names: an operating-system login or a PostgreSQL role name (at most 63
#: characters); letters, digits, ``_``, ``.``, ``@`` and ``-``.
USER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@\-]{0,62}")


def check_user_name(name: str, what: str = "user name") -> str:
    """Return an account name, refusing one that cannot name an account.

    Parameters
    ----------
    name : str
        The name.
    what : str, optional
        What the name is, for the message.

    Returns
    -------
    str
        The name.

    Raises
    ------
    StoreError
        When the name is empty, too long or holds other characters.
    """
    if not USER_NAME.fullmatch(name):
        raise StoreError(
            f"{what} {name!r} is not an account name: 1 to 63 letters, digits, "
            "'_', '.', '@' or '-', not starting with '.', '@' or '-'"
        )
    return name


def os_user() -> str:
    """Return the operating-system user running this process.

    Returns
    -------
    str
        The login name of the effective user id (from the password database);
        where there is none, what :func:`getpass.getuser` says.

    Raises
    ------
    StoreError
        When the user cannot be told.
    """
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        pass
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        raise StoreError(
            "cannot tell which operating-system user runs trialdata; the store "
            "records who acts and needs a login name"
        ) from None


def database_login(conn: sa.Connection) -> str:
    """Return the database login of a PostgreSQL connection (``session_user``).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        A PostgreSQL connection.

    Returns
    -------
    str
        The role the connection logged in as.
    """
    return str(conn.execute(sa.text("SELECT session_user")).scalar_one())


def identity_source(engine: sa.Engine | sa.Connection) -> str:
    """Return where the acting user comes from, for messages and the audit trail.

    Parameters
    ----------
    engine : sqlalchemy.Engine or sqlalchemy.Connection
        The store.

    Returns
    -------
    str
        ``"database login"`` on PostgreSQL, ``"operating-system user"`` otherwise.
    """
    if engine.dialect.name == "postgresql":
        return "database login"
    return "operating-system user"


def acting_user(engine: sa.Engine, acting_as: str | None = None) -> str:
    """Return who acts on a store.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    acting_as : str, optional
        Act as this account (trusted processes only, see the module notes). On
        PostgreSQL it must be the database login.

    Returns
    -------
    str
        The operating-system user (SQLite), ``acting_as`` when given (SQLite), or the
        database login (PostgreSQL).

    Raises
    ------
    StoreError
        When ``acting_as`` is not an account name, or on PostgreSQL names another
        role than the login.
    """
    if acting_as is not None:
        check_user_name(acting_as, "acting_as")
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            login = database_login(conn)
        if acting_as is not None and acting_as != login:
            raise StoreError(
                f"on PostgreSQL the acting user is the database login ({login}); "
                f"to act as {acting_as}, connect as that role"
            )
        return login
    return acting_as if acting_as is not None else check_user_name(os_user())
