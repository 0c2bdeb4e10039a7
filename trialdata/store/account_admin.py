"""Managing accounts: users, their role grants and the trial's sites, all audited.

Only a coordinator manages accounts, and every change needs a reason. Nothing is
deleted: a grant is revoked (``user_roles.revoked_cs``), an account disabled
(``users.disabled_cs``); granting a revoked role again clears ``revoked_cs`` (the
first grant's changeset stays in ``granted_cs``; the trail has every step). The last
coordinator cannot be revoked or disabled, so a store never locks itself out.

On PostgreSQL the account is the database login of the person: in the same
transaction as the audited rows, :mod:`trialdata.store.database_roles` creates (or
maps) the login and makes its memberships of the store's group roles match the
active grants, so that the database's own privileges and row-level security follow
every change at once. A new login gets no password: the person or the DBA sets one
(``ALTER ROLE ... PASSWORD``), or the server authenticates it otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd
import sqlalchemy as sa

from trialdata.errors import StoreError
from trialdata.store.accounts import (
    ALL_SITES,
    SITE_ROLES,
    Action,
    active_grants,
    require,
)
from trialdata.store.audit import AuditWriter
from trialdata.store.bookkeeping import insert_row, update_column
from trialdata.store.database_roles import (
    ensure_group_roles,
    ensure_login,
    store_owner,
    sync_user_roles,
)
from trialdata.store.engine import write_transaction
from trialdata.store.identity import check_user_name
from trialdata.store.tables import ROLES, SITES, USER_ROLES, USERS

__all__ = [
    "add_site",
    "add_user",
    "disable_user",
    "ensure_sites",
    "list_sites",
    "list_users",
    "revoke_role",
]

_SITE_ID = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}"


def _reason(reason: str | None, what: str) -> str:
    if reason is None or not reason.strip():
        raise StoreError(f"{what} needs a reason (--reason)")
    return reason.strip()


def _role_and_site(conn: sa.Connection, role: str, site: str | None) -> str:
    """Check a role and its site; return the grant's site id."""
    if role not in ROLES:
        raise StoreError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if role not in SITE_ROLES:
        if site is not None:
            raise StoreError(f"{role} is a trial-wide role; it takes no --site")
        return ALL_SITES
    if site is None:
        raise StoreError(f"{role} holds at one site; name it with --site")
    known = conn.execute(sa.select(SITES.c.site_id).where(SITES.c.site_id == site))
    if known.first() is None:
        sites = conn.execute(sa.select(SITES.c.site_id).order_by(SITES.c.site_id))
        listing = ", ".join(sites.scalars()) or "none yet"
        raise StoreError(
            f"site {site!r} is unknown to this store (sites: {listing}); add it with "
            "`trialdata sites add` or store a protocol that lists it"
        )
    return site


def _database_roles(conn: sa.Connection, name: str, *, login: bool) -> None:
    """On PostgreSQL, make the database's roles agree with ``user_roles`` (same txn)."""
    if conn.dialect.name != "postgresql" or name == store_owner(conn):
        return  # SQLite has no roles; the owner owns the tables and needs none
    ensure_group_roles(conn)
    if login:
        ensure_login(conn, name)
    sync_user_roles(conn, name)


def add_user(
    engine: sa.Engine,
    user: str,
    name: str,
    *,
    role: str,
    site: str | None = None,
    full_name: str | None = None,
    reason: str | None,
) -> str:
    """Create an account (when new) and grant it a role.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    user : str
        Who acts; must be a coordinator.
    name : str
        The account: an operating-system login (SQLite) or database role name
        (PostgreSQL).
    role : str
        One of :data:`trialdata.store.tables.ROLES`.
    site : str, optional
        The site, for ``site_data_entry`` (required there, refused otherwise).
    full_name : str, optional
        The person's printed name (shown with their signatures); changes a known
        account's name when it differs.
    reason : str
        Why; required.

    Returns
    -------
    str
        The audit chain head after the change.

    Raises
    ------
    StoreError
        When the reason is missing, the name, role or site is not valid, the account
        is disabled, or the grant is held already. Nothing is changed then.
    """
    why = _reason(reason, "adding a user")
    check_user_name(name)
    full = full_name.strip() if full_name and full_name.strip() else None
    with write_transaction(engine) as conn:
        require(conn, user, Action.MANAGE_ACCOUNTS)
        site_id = _role_and_site(conn, role, site)
        account = conn.execute(
            sa.select(USERS.c.full_name, USERS.c.disabled_cs).where(
                USERS.c.user_name == name
            )
        ).first()
        if account is not None and account.disabled_cs is not None:
            raise StoreError(
                f"the account {name} is disabled (changeset {account.disabled_cs}); "
                "a disabled account is not enabled again: use another name"
            )
        grant = conn.execute(
            sa.select(USER_ROLES.c.revoked_cs).where(
                USER_ROLES.c.user_name == name,
                USER_ROLES.c.role == role,
                USER_ROLES.c.site_id == site_id,
            )
        ).first()
        if grant is not None and grant.revoked_cs is None:
            where = "" if site_id == ALL_SITES else f" at {site_id}"
            raise StoreError(f"{name} holds {role}{where} already; nothing changed")
        audit = AuditWriter.start(conn, kind="accounts", user=user, reason=why)
        cs = audit.changeset_id
        if account is None:
            insert_row(
                conn,
                audit,
                USERS,
                {"user_name": name, "full_name": full, "created_cs": cs},
            )
        elif full is not None and full != account.full_name:
            update_column(
                conn,
                audit,
                USERS,
                {"user_name": name},
                "full_name",
                account.full_name,
                full,
            )
        key = {"user_name": name, "role": role, "site_id": site_id}
        if grant is None:
            insert_row(conn, audit, USER_ROLES, {**key, "granted_cs": cs})
        else:
            update_column(
                conn, audit, USER_ROLES, key, "revoked_cs", grant.revoked_cs, None
            )
        _database_roles(conn, name, login=True)
        audit.close(conn)
    return audit.head


def _coordinators(conn: sa.Connection) -> set[str]:
    rows = conn.execute(
        sa.select(USER_ROLES.c.user_name)
        .select_from(
            USER_ROLES.join(USERS, USERS.c.user_name == USER_ROLES.c.user_name)
        )
        .where(
            USER_ROLES.c.role == "coordinator",
            USER_ROLES.c.revoked_cs.is_(None),
            USERS.c.disabled_cs.is_(None),
        )
    )
    return set(rows.scalars())


def revoke_role(
    engine: sa.Engine,
    user: str,
    name: str,
    *,
    role: str,
    site: str | None = None,
    reason: str | None,
) -> str:
    """Revoke a role a user holds.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    user : str
        Who acts; must be a coordinator.
    name : str
        The account.
    role : str
        The role.
    site : str, optional
        The site of a ``site_data_entry`` grant.
    reason : str
        Why; required.

    Returns
    -------
    str
        The audit chain head after the change.

    Raises
    ------
    StoreError
        When the reason is missing, the grant is not held, or it is the last
        coordinator's.
    """
    why = _reason(reason, "revoking a role")
    with write_transaction(engine) as conn:
        require(conn, user, Action.MANAGE_ACCOUNTS)
        site_id = _role_and_site(conn, role, site)
        key = {"user_name": name, "role": role, "site_id": site_id}
        held = [
            g for g in active_grants(conn, name) if (g.role, g.site) == (role, site_id)
        ]
        if not held:
            where = "" if site_id == ALL_SITES else f" at {site_id}"
            raise StoreError(f"{name} does not hold {role}{where}; nothing changed")
        if role == "coordinator" and _coordinators(conn) == {name}:
            raise StoreError(
                f"{name} is the last coordinator; grant the role to someone else "
                "first, so that the store keeps a coordinator"
            )
        audit = AuditWriter.start(conn, kind="accounts", user=user, reason=why)
        update_column(
            conn, audit, USER_ROLES, key, "revoked_cs", None, audit.changeset_id
        )
        _database_roles(conn, name, login=False)
        audit.close(conn)
    return audit.head


def disable_user(engine: sa.Engine, user: str, name: str, *, reason: str | None) -> str:
    """Disable an account: it can no longer act; its grants and history stay.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    user : str
        Who acts; must be a coordinator.
    name : str
        The account.
    reason : str
        Why; required.

    Returns
    -------
    str
        The audit chain head after the change.

    Raises
    ------
    StoreError
        When the reason is missing, the account is unknown or disabled already, or
        it is the last coordinator.
    """
    why = _reason(reason, "disabling a user")
    with write_transaction(engine) as conn:
        require(conn, user, Action.MANAGE_ACCOUNTS)
        row = conn.execute(
            sa.select(USERS.c.disabled_cs).where(USERS.c.user_name == name)
        ).first()
        if row is None:
            raise StoreError(f"no account {name!r}")
        if row.disabled_cs is not None:
            raise StoreError(f"the account {name} is disabled already")
        if _coordinators(conn) == {name}:
            raise StoreError(
                f"{name} is the last coordinator; grant the role to someone else first"
            )
        audit = AuditWriter.start(conn, kind="accounts", user=user, reason=why)
        update_column(
            conn,
            audit,
            USERS,
            {"user_name": name},
            "disabled_cs",
            None,
            audit.changeset_id,
        )
        _database_roles(conn, name, login=False)
        audit.close(conn)
    return audit.head


def ensure_sites(
    conn: sa.Connection, audit: AuditWriter, sites: Iterable[tuple[str, str | None]]
) -> list[str]:
    """Add the sites that are not in the store yet (on the caller's changeset).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection in the write transaction.
    audit : AuditWriter
        The changeset's writer.
    sites : iterable of (str, str or None)
        Site id and name, e.g. the sites of a protocol.

    Returns
    -------
    list of str
        The sites added.
    """
    known = set(conn.execute(sa.select(SITES.c.site_id)).scalars())
    added = []
    for site_id, name in sites:
        if site_id in known:
            continue
        insert_row(
            conn,
            audit,
            SITES,
            {"site_id": site_id, "name": name, "created_cs": audit.changeset_id},
        )
        known.add(site_id)
        added.append(site_id)
    return added


def add_site(
    engine: sa.Engine, user: str, site_id: str, *, name: str | None, reason: str | None
) -> str:
    """Add a site to the store (so that users can be granted roles there).

    A site also needs to be in the stored protocol before it can upload; storing a
    protocol adds its sites by itself.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    user : str
        Who acts; must be a coordinator.
    site_id : str
        The site identifier (as in ``protocol.toml``).
    name : str, optional
        Its name.
    reason : str
        Why; required.

    Returns
    -------
    str
        The audit chain head after the change.

    Raises
    ------
    StoreError
        When the reason is missing, the identifier is not valid or the site exists.
    """
    why = _reason(reason, "adding a site")
    if not re.fullmatch(_SITE_ID, site_id):
        raise StoreError(
            f"site id {site_id!r} is not valid: 1 to 40 letters, digits, '_', '.' "
            "or '-', starting with a letter or digit"
        )
    with write_transaction(engine) as conn:
        require(conn, user, Action.MANAGE_ACCOUNTS)
        audit = AuditWriter.start(conn, kind="accounts", user=user, reason=why)
        if not ensure_sites(conn, audit, [(site_id, name)]):
            raise StoreError(f"site {site_id} exists already; nothing changed")
        audit.close(conn)
    return audit.head


def list_users(conn: sa.Connection) -> pd.DataFrame:
    """Return every account with its grants, one row per grant (or per bare account).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.

    Returns
    -------
    pandas.DataFrame
        ``user_name``, ``full_name``, ``created_cs``, ``disabled_cs``, ``role``,
        ``site_id``, ``granted_cs``, ``revoked_cs``, sorted by user, role and site.
    """
    query = (
        sa.select(
            USERS.c.user_name,
            USERS.c.full_name,
            USERS.c.created_cs,
            USERS.c.disabled_cs,
            USER_ROLES.c.role,
            USER_ROLES.c.site_id,
            USER_ROLES.c.granted_cs,
            USER_ROLES.c.revoked_cs,
        )
        .select_from(
            USERS.outerjoin(USER_ROLES, USER_ROLES.c.user_name == USERS.c.user_name)
        )
        .order_by(USERS.c.user_name, USER_ROLES.c.role, USER_ROLES.c.site_id)
    )
    frame = pd.read_sql(query, conn)
    for column in ("created_cs", "disabled_cs", "granted_cs", "revoked_cs"):
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    return frame


def list_sites(conn: sa.Connection) -> pd.DataFrame:
    """Return the sites of the store.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.

    Returns
    -------
    pandas.DataFrame
        ``site_id``, ``name``, ``created_cs``, sorted by site.
    """
    frame = pd.read_sql(sa.select(SITES).order_by(SITES.c.site_id), conn)
    frame["created_cs"] = pd.to_numeric(frame["created_cs"]).astype("Int64")
    return frame
