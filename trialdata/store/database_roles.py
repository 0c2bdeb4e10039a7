"""Database roles of a PostgreSQL store: the group role per trialdata role, logins.

On PostgreSQL the acting user is the database login (``session_user``) and the
database itself enforces what the login may do (:mod:`trialdata.store.row_security`,
installed by migration 0005). This module is what account management calls after it
has written ``users`` and ``user_roles`` (inside the same write transaction, so that
the audited rows and the database grants commit or roll back together):

1. :func:`ensure_login` creates the person's LOGIN role, or maps an existing one
   (refused for roles that could bypass or undo the store's security: superusers,
   ``BYPASSRLS``, ``CREATEROLE``, ``REPLICATION``, the store owner and its members,
   owners of store objects);
2. :func:`sync_user_roles` makes the login's memberships of the store's group roles
   (``<prefix>_coordinator``, ``<prefix>_data_manager``, ``<prefix>_site_data_entry``,
   ``<prefix>_statistician``, ``<prefix>_dmc``) match its active grants in
   ``user_roles`` (and ``users.disabled_cs``): call it after a grant, a revocation or
   disabling a user. The group roles and their privileges are created by the first
   call (:func:`ensure_group_roles`).

Site scoping needs no role per site: the row-level security policies read the
login's sites from ``user_roles`` at every statement, so ``users add ... --site S``
takes effect at once, and a revocation too (before :func:`sync_user_roles` removes the
memberships).

These functions run in the database with the rights of the store owner (``SECURITY
DEFINER`` functions it owns), on a connection of the owner or of an active
coordinator; anybody else is refused. The owner therefore needs ``CREATEROLE``
(docs/store-security.md). On SQLite, which has no roles, every function does nothing:
there the store file's owner-only permissions are the boundary.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from trialdata.errors import StoreError
from trialdata.store.row_security import group_role_name
from trialdata.store.tables import ROLES

__all__ = [
    "drop_store_roles",
    "ensure_group_roles",
    "ensure_login",
    "group_roles",
    "role_prefix",
    "store_owner",
    "sync_user_roles",
    "user_sites",
]


def _postgresql(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _first_line(error: DBAPIError) -> str:
    text = str(error.orig) if error.orig is not None else str(error)
    lines = text.strip().splitlines()
    return (lines[0] if lines else type(error).__name__).removeprefix("trialdata: ")


@contextmanager
def _refusals(what: str) -> Iterator[None]:
    """Turn the database's refusal into a :class:`StoreError` naming the action."""
    try:
        yield
    except DBAPIError as error:
        raise StoreError(f"{what}: {_first_line(error)}") from None


def role_prefix(conn: sa.Connection) -> str | None:
    """Return the prefix of the store's group roles.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.

    Returns
    -------
    str or None
        The prefix recorded by migration 0005 (from the database and schema names);
        None on SQLite.
    """
    if not _postgresql(conn):
        return None
    with _refusals("database roles"):
        return str(conn.execute(sa.text("SELECT trialdata_role_prefix()")).scalar_one())


def group_roles(conn: sa.Connection) -> dict[str, str]:
    """Return the name of the group role of every trialdata role.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.

    Returns
    -------
    dict of str to str
        Trialdata role to database role; empty on SQLite.
    """
    prefix = role_prefix(conn)
    if prefix is None:
        return {}
    return {role: group_role_name(prefix, role) for role in ROLES}


def store_owner(conn: sa.Connection) -> str | None:
    """Return the database role that owns the store's tables.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.

    Returns
    -------
    str or None
        The owner's role name; None on SQLite.
    """
    if not _postgresql(conn):
        return None
    with _refusals("database roles"):
        return str(conn.execute(sa.text("SELECT trialdata_store_owner()")).scalar_one())


def ensure_group_roles(conn: sa.Connection) -> list[str]:
    """Create the store's group roles (when missing) and (re)grant their privileges.

    Idempotent: privileges are revoked and granted again from the matrix of
    :mod:`trialdata.store.row_security`, so a role that was given more by hand
    loses it.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection of the store owner or of an active coordinator.

    Returns
    -------
    list of str
        The group roles, in the order of :data:`trialdata.store.tables.ROLES`; empty
        on SQLite.

    Raises
    ------
    StoreError
        When the session may not manage roles, or a role of that name exists and is
        not a plain group role.
    """
    if not _postgresql(conn):
        return []
    with _refusals("cannot create the store's group roles"):
        return [
            str(name)
            for name in conn.execute(
                sa.text("SELECT * FROM trialdata_ensure_group_roles()")
            ).scalars()
        ]


def ensure_login(
    conn: sa.Connection, user_name: str, password: str | None = None
) -> bool:
    """Create the LOGIN role of a user, or check and map the existing one.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection of the store owner or of an active coordinator.
    user_name : str
        The user's name in the store (``users.user_name``), which is the login's name.
    password : str, optional
        Password of a new login. Without one the person cannot log in with a password
        until one is set (``ALTER ROLE ... PASSWORD`` by the person or the DBA), or
        authenticates otherwise (certificate, Kerberos/GSSAPI, ``pg_hba.conf``). An
        existing login's password is never changed.

    Returns
    -------
    bool
        True when the login was created; False on SQLite and when an existing login
        was mapped.

    Raises
    ------
    StoreError
        When the session may not manage roles, the name is not usable, or an existing
        role is not a safe login for a person (see the module's description).
    """
    if not _postgresql(conn):
        return False
    with _refusals(f"database login {user_name!r} refused"):
        return bool(
            conn.execute(
                sa.text("SELECT trialdata_ensure_login(:login, :password)"),
                {"login": user_name, "password": password},
            ).scalar_one()
        )


def sync_user_roles(conn: sa.Connection, user_name: str) -> list[tuple[str, str]]:
    """Make a login's group memberships match its active grants in ``user_roles``.

    A membership is wanted when ``user_roles`` holds an unrevoked grant of the role
    (any site) and the user is not disabled. Nothing happens for the store owner,
    which owns the tables and needs no group role.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection of the store owner or of an active coordinator, in the transaction
        that wrote ``users``/``user_roles``.
    user_name : str
        The user (its login; see :func:`ensure_login`).

    Returns
    -------
    list of (str, str)
        ``("granted" | "revoked", group role)`` per change; empty on SQLite.

    Raises
    ------
    StoreError
        When the session may not manage roles, the login does not exist, or it is not
        a safe login for a person.
    """
    if not _postgresql(conn):
        return []
    with _refusals(f"cannot set the database roles of {user_name!r}"):
        rows = conn.execute(
            sa.text("SELECT action, group_role FROM trialdata_sync_user_roles(:login)"),
            {"login": user_name},
        ).all()
    return [(str(action), str(role)) for action, role in rows]


def user_sites(conn: sa.Connection) -> list[str] | None:
    """Return the sites whose rows the session's login may see and write.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.

    Returns
    -------
    list of str or None
        Site identifiers, ``*`` for every site (a trial-wide role); empty when the
        login has no active grant. None on SQLite and for the store owner, whom no
        policy limits.
    """
    if not _postgresql(conn):
        return None
    with _refusals("database roles"):
        if conn.execute(
            sa.text("SELECT session_user = trialdata_store_owner()")
        ).scalar():
            return None
        sites = conn.execute(sa.text("SELECT trialdata_user_sites()")).scalar_one()
    return sorted(str(site) for site in sites)


def drop_store_roles(conn: sa.Connection) -> list[str]:
    """Revoke the privileges of the store's group roles and drop them.

    For retiring a store (and for tests): the logins stay, since a person's login may
    serve other stores; they only lose their memberships.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection of the store owner (it needs ``CREATEROLE``).

    Returns
    -------
    list of str
        The group roles dropped; empty on SQLite.

    Raises
    ------
    StoreError
        When the session is not the store owner or the database refuses.
    """
    if not _postgresql(conn):
        return []
    if conn.execute(sa.text("SELECT session_user")).scalar() != store_owner(conn):
        raise StoreError("only the store owner drops the store's group roles")
    existing = set(
        conn.execute(
            sa.text("SELECT rolname FROM pg_roles WHERE rolname = ANY (:names)"),
            {"names": list(group_roles(conn).values())},
        ).scalars()
    )
    names = [name for name in group_roles(conn).values() if name in existing]
    if not names:
        return []
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)
    schema = conn.dialect.identifier_preparer.quote(
        str(conn.execute(sa.text("SELECT current_schema()")).scalar_one())
    )
    database = conn.dialect.identifier_preparer.quote(
        str(conn.execute(sa.text("SELECT current_database()")).scalar_one())
    )
    with _refusals("cannot drop the store's group roles"):
        conn.execute(
            sa.text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {quoted}")
        )
        conn.execute(
            sa.text(f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {schema} FROM {quoted}")
        )
        for target in (f"SCHEMA {schema}", f"DATABASE {database}"):
            try:  # granted only when the owner could (it owns the schema/database)
                with conn.begin_nested():
                    conn.execute(sa.text(f"REVOKE ALL ON {target} FROM {quoted}"))
            except DBAPIError:
                pass
        conn.execute(sa.text(f"DROP ROLE {quoted}"))
    return names
