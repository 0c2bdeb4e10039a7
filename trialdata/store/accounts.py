"""Accounts and the permission matrix: who may do what in a store.

Users, sites and role grants live in the store (``users``, ``sites``,
``user_roles``). A grant names a role and, for ``site_data_entry``, the site it
holds at; the other roles hold trial-wide (site ``*``). Every action of the store
asks :func:`require` first, inside its own transaction, and is refused with
:class:`PermissionDeniedError` (exit code 2 on the command line) unless the acting
user (see :mod:`trialdata.store.identity`) holds an active grant that allows it:

=====================================  ===============================================
action                                 roles
=====================================  ===============================================
ingest an upload for site S            site_data_entry of S, data_manager
answer a query of site S               site_data_entry of S
close a query                          data_manager
freeze a snapshot                      data_manager
delete records                         data_manager
change the protocol                    coordinator (a reason is required)
manage users, roles and sites          coordinator (a reason is required)
read the stored trial (snapshots,      coordinator, data_manager, statistician
current tables, export, every query)
read site S's queries                  site_data_entry of S, coordinator,
                                       data_manager, statistician
list accounts, verify the audit trail  any role
sign                                   by meaning, see :data:`SIGNING`
=====================================  ===============================================

Signatures (:data:`SIGNING`): a snapshot is ``reviewed`` by a data manager or
statistician and ``approved`` by a statistician or the coordinator; a report
release is ``approved`` (released to the DMC) by a statistician and ``reviewed`` by
a DMC member.

Bootstrap: a store without any account makes the first user who writes to it (its
creator: ``trialdata ingest`` or ``trialdata protocol set`` on a new store) its
coordinator and data manager, in a changeset of its own whose reason says so and
where the identity came from. Until then reading is open (there is nobody to
protect it from: on SQLite only the file's owner can open it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

import sqlalchemy as sa

from trialdata.errors import StoreError
from trialdata.store.audit import AuditWriter
from trialdata.store.bookkeeping import insert_row
from trialdata.store.identity import database_login, identity_source, os_user
from trialdata.store.tables import ROLES, USER_ROLES, USERS

__all__ = [
    "ALL_SITES",
    "PERMISSIONS",
    "SIGNING",
    "SITE_ROLES",
    "Action",
    "Grant",
    "PermissionDeniedError",
    "active_grants",
    "has_accounts",
    "make_first_user",
    "readable_sites",
    "require",
    "require_signing",
]

#: ``user_roles.site_id`` of a trial-wide grant.
ALL_SITES = "*"

#: Roles held at one site; the others hold trial-wide.
SITE_ROLES: frozenset[str] = frozenset({"site_data_entry"})


class Action(StrEnum):
    """What a user may be allowed to do (see the module's table)."""

    INGEST = "ingest an upload"
    ANSWER_QUERY = "answer a query"
    CLOSE_QUERY = "close a query"
    FREEZE = "freeze a snapshot"
    DELETE = "delete records"
    SET_PROTOCOL = "change the protocol"
    MANAGE_ACCOUNTS = "manage users, roles and sites"
    READ = "read the stored trial"
    READ_SITE = "read a site's queries"
    LIST_ACCOUNTS = "list users and sites"
    VERIFY = "verify the audit trail"


#: The permission matrix: the roles that allow each action. ``site_data_entry``
#: allows a site-scoped action only at the site of its grant.
PERMISSIONS: Mapping[Action, frozenset[str]] = MappingProxyType(
    {
        Action.INGEST: frozenset({"site_data_entry", "data_manager"}),
        Action.ANSWER_QUERY: frozenset({"site_data_entry"}),
        Action.CLOSE_QUERY: frozenset({"data_manager"}),
        Action.FREEZE: frozenset({"data_manager"}),
        Action.DELETE: frozenset({"data_manager"}),
        Action.SET_PROTOCOL: frozenset({"coordinator"}),
        Action.MANAGE_ACCOUNTS: frozenset({"coordinator"}),
        Action.READ: frozenset({"coordinator", "data_manager", "statistician"}),
        Action.READ_SITE: frozenset(
            {"site_data_entry", "coordinator", "data_manager", "statistician"}
        ),
        Action.LIST_ACCOUNTS: frozenset(ROLES),
        Action.VERIFY: frozenset(ROLES),
    }
)

#: Actions that write; the first of them in a store without accounts bootstraps it.
WRITES: frozenset[Action] = frozenset(
    {
        Action.INGEST,
        Action.ANSWER_QUERY,
        Action.CLOSE_QUERY,
        Action.FREEZE,
        Action.DELETE,
        Action.SET_PROTOCOL,
        Action.MANAGE_ACCOUNTS,
    }
)

#: Signatures: (what is signed, meaning) -> roles that may sign with that meaning.
SIGNING: Mapping[tuple[str, str], frozenset[str]] = MappingProxyType(
    {
        ("snapshot", "reviewed"): frozenset({"data_manager", "statistician"}),
        ("snapshot", "approved"): frozenset({"statistician", "coordinator"}),
        ("report", "approved"): frozenset({"statistician"}),
        ("report", "reviewed"): frozenset({"dmc"}),
    }
)

#: Roles the first user of a store receives.
BOOTSTRAP_ROLES: tuple[str, ...] = ("coordinator", "data_manager")


class PermissionDeniedError(StoreError):
    """The acting user may not do what was asked; nothing was changed.

    Attributes
    ----------
    user : str
        Who asked.
    action : str
        What was asked.
    """

    def __init__(self, user: str, action: str, message: str) -> None:
        self.user = user
        self.action = action
        super().__init__(f"permission denied: {message}")


@dataclass(frozen=True)
class Grant:
    """An active grant of a role.

    Attributes
    ----------
    user : str
        The account.
    role : str
        The role.
    site : str
        The site it holds at; :data:`ALL_SITES` for a trial-wide role.
    """

    user: str
    role: str
    site: str

    def __str__(self) -> str:
        return self.role if self.site == ALL_SITES else f"{self.role} at {self.site}"


def has_accounts(conn: sa.Connection) -> bool:
    """Return whether the store has any account.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.

    Returns
    -------
    bool
        True once a user exists.
    """
    return conn.execute(sa.select(USERS.c.user_name).limit(1)).first() is not None


def active_grants(conn: sa.Connection, user: str) -> list[Grant]:
    """Return the grants a user holds now (none for a disabled or unknown user).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    user : str
        The account.

    Returns
    -------
    list of Grant
        Ordered by role and site.
    """
    rows = conn.execute(
        sa.select(USER_ROLES.c.role, USER_ROLES.c.site_id)
        .select_from(
            USER_ROLES.join(USERS, USERS.c.user_name == USER_ROLES.c.user_name)
        )
        .where(
            USER_ROLES.c.user_name == user,
            USER_ROLES.c.revoked_cs.is_(None),
            USERS.c.disabled_cs.is_(None),
        )
        .order_by(USER_ROLES.c.role, USER_ROLES.c.site_id)
    ).all()
    return [Grant(user, str(role), str(site)) for role, site in rows]


def _check_login(conn: sa.Connection, user: str) -> None:
    """On PostgreSQL, refuse to act as anyone but the database login."""
    if conn.dialect.name != "postgresql":
        return
    login = database_login(conn)
    if login != user:
        raise PermissionDeniedError(
            user,
            "act",
            f"the database login is {login}; on PostgreSQL the acting user is the "
            f"login, not {user}",
        )


def _identity(conn: sa.Connection, user: str) -> str:
    """Say where the acting user's name comes from, for the trail."""
    if conn.dialect.name == "postgresql":
        return f"{identity_source(conn)} {user}"
    system = os_user()
    if system == user:
        return f"{identity_source(conn)} {user}"
    return (
        f"account {user} named by a trusted process of operating-system user {system}"
    )


def make_first_user(conn: sa.Connection, user: str) -> str:
    """Make the first user of a store without accounts its coordinator.

    The user also becomes data manager (so that the person who creates a store can
    ingest and freeze at once); both grants can be revoked like any other. Written as
    a changeset of kind ``accounts`` on the caller's write transaction.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection in a write transaction.
    user : str
        The acting user.

    Returns
    -------
    str
        The audit chain head after the bootstrap.
    """
    audit = AuditWriter.start(
        conn,
        kind="accounts",
        user=user,
        reason=(
            f"first user of a store without accounts ({_identity(conn, user)}): "
            f"{' and '.join(BOOTSTRAP_ROLES)}"
        ),
    )
    cs = audit.changeset_id
    insert_row(
        conn,
        audit,
        USERS,
        {"user_name": user, "full_name": None, "created_cs": cs, "disabled_cs": None},
    )
    for role in BOOTSTRAP_ROLES:
        insert_row(
            conn,
            audit,
            USER_ROLES,
            {
                "user_name": user,
                "role": role,
                "site_id": ALL_SITES,
                "granted_cs": cs,
                "revoked_cs": None,
            },
        )
    audit.close(conn)
    return audit.head


def _allows(grant: Grant, roles: frozenset[str], site: str | None) -> bool:
    if grant.role not in roles:
        return False
    if grant.role in SITE_ROLES:
        return site is not None and grant.site == site
    return True


def _who(conn: sa.Connection, user: str, action: str) -> list[Grant]:
    """Return a user's grants, refusing an unknown or disabled account."""
    row = conn.execute(
        sa.select(USERS.c.disabled_cs).where(USERS.c.user_name == user)
    ).first()
    if row is None:
        raise PermissionDeniedError(
            user,
            action,
            f"{user} has no account in this store; a coordinator adds it with "
            f"`trialdata users add {user} --role ROLE --reason ...`",
        )
    if row.disabled_cs is not None:
        raise PermissionDeniedError(
            user,
            action,
            f"the account {user} is disabled (changeset {row.disabled_cs})",
        )
    return active_grants(conn, user)


def _roles_text(roles: frozenset[str], site: str | None) -> str:
    names = [
        f"{role} of {site}" if role in SITE_ROLES and site else role
        for role in sorted(roles)
    ]
    return " or ".join(names)


def require(
    conn: sa.Connection,
    user: str,
    action: Action,
    site: str | None = None,
    *,
    bootstrap: bool = True,
) -> Grant | None:
    """Check that a user may do something; bootstrap a store without accounts.

    Call it inside the action's transaction (a write transaction for a write), so
    that the check and the action see the same grants.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    user : str
        The acting user.
    action : Action
        What is asked.
    site : str, optional
        The site concerned, for a site-scoped action.
    bootstrap : bool, optional
        Make the user the coordinator of a store without accounts when the action
        writes (default). False for a check ahead of the action (on a read-only
        connection): a store without accounts then allows everything.

    Returns
    -------
    Grant or None
        The grant that allows it; None in a store without accounts (a read, or a
        check without bootstrap).

    Raises
    ------
    PermissionDeniedError
        When the user has no account, is disabled, holds no grant that allows the
        action (at that site), or on PostgreSQL is not the database login.
    """
    _check_login(conn, user)
    if not has_accounts(conn):
        if action not in WRITES or not bootstrap:
            return None
        make_first_user(conn, user)
    grants = _who(conn, user, action)
    roles = PERMISSIONS[action]
    for grant in grants:
        if _allows(grant, roles, site):
            return grant
    held = ", ".join(str(g) for g in grants) or "no role"
    where = f" for site {site}" if site is not None else ""
    raise PermissionDeniedError(
        user,
        action,
        f"{user} ({held}) may not {action}{where}; that needs "
        f"{_roles_text(roles, site)}",
    )


def require_signing(conn: sa.Connection, user: str, target: str, meaning: str) -> Grant:
    """Check that a user may sign something with a meaning.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection in the signature's write transaction.
    user : str
        The signer.
    target : str
        ``"snapshot"`` or ``"report"``.
    meaning : str
        E.g. ``"approved"``.

    Returns
    -------
    Grant
        The grant the signature is given under.

    Raises
    ------
    StoreError
        When the meaning is not one of :data:`SIGNING` for that target.
    PermissionDeniedError
        When the signer holds no role allowed to sign with that meaning.
    """
    roles = SIGNING.get((target, meaning))
    if roles is None:
        known = ", ".join(m for t, m in SIGNING if t == target)
        raise StoreError(
            f"a {target} signature cannot mean {meaning!r}; meanings: {known}"
        )
    _check_login(conn, user)
    grants = _who(conn, user, "sign") if has_accounts(conn) else []
    for grant in grants:
        if grant.role in roles:
            return grant
    held = ", ".join(str(g) for g in grants) or "no role"
    raise PermissionDeniedError(
        user,
        "sign",
        f"{user} ({held}) may not sign a {target} as {meaning}; that needs "
        f"{' or '.join(sorted(roles))}",
    )


def readable_sites(conn: sa.Connection, user: str) -> frozenset[str] | None:
    """Return the sites whose queries a user may read; None for every site.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    user : str
        The acting user.

    Returns
    -------
    frozenset of str or None
        None when the user may read the whole trial (or the store has no account
        yet); otherwise the sites of the user's site grants (maybe none).

    Raises
    ------
    PermissionDeniedError
        When the user has no account or is disabled, or on PostgreSQL is not the
        database login.
    """
    _check_login(conn, user)
    if not has_accounts(conn):
        return None
    grants = _who(conn, user, Action.READ_SITE)
    if any(_allows(g, PERMISSIONS[Action.READ], None) for g in grants):
        return None
    return frozenset(
        g.site
        for g in grants
        if g.role in PERMISSIONS[Action.READ_SITE] and g.role in SITE_ROLES
    )
