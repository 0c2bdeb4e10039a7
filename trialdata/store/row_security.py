"""What each trialdata role may do in a PostgreSQL store, as SQL the migration installs.

The database itself enforces the roles, so that a person with a ``psql`` prompt and
their own login can do no more than the application lets them:

- **Privileges** (:data:`TABLE_GRANTS`): each trialdata role is a NOLOGIN group role
  of the store (``<prefix>_<role>``, see :func:`group_role_name`) holding ``SELECT``
  and ``INSERT`` on what it reads and writes and column-level ``UPDATE`` only on the
  columns the application updates (record tables: ``_ended_cs``). No group gets
  ``DELETE``, ``TRUNCATE``, ``REFERENCES``, ``TRIGGER`` or ownership, so no login can
  delete or rewrite the audit trail, disable or drop a trigger, or change a policy:
  those need the table's owner, the store owner.
- **Row-level security** (:func:`policy_sql`) on every table with site-specific rows:
  record tables (``_site_id``), ``quarantine``, ``findings``, ``queries``,
  ``submissions`` (``site_id``) and ``submission_files`` (through its submission). A
  session sees and writes the rows of the sites :func:`trialdata_user_sites` returns
  for its login (``session_user``), read from ``user_roles`` at every statement, so a
  grant or a revocation takes effect at once. The trial-level record tables
  (``rec_cohorts``, ``rec_product_lots``) are read by every role and written within
  the site scope. The tables that record who acted (:data:`WHO_COLUMNS`:
  changesets, submissions, snapshots, protocols, signatures) accept only rows that
  name the login itself. The store owner is not subject to the policies (it owns the
  tables; ``FORCE ROW LEVEL SECURITY`` is not set).
- **Functions** owned by the store owner (``SECURITY DEFINER``, fixed
  ``search_path``, ``EXECUTE`` revoked from ``PUBLIC``): the site scope of the
  session, the next free key of a table whatever rows the session sees, and the role
  management that :mod:`trialdata.store.database_roles` calls (create the group roles
  with their grants, create or map a login, make a login's group memberships match
  ``user_roles``). Role management runs with the owner's rights (it needs
  ``CREATEROLE``) and is allowed to the owner and to active coordinators only.

The group roles are cluster-wide objects and are created on demand, by the first
``users add`` (:func:`trialdata.store.database_roles.ensure_group_roles`), not by the
migration, so that a store (or a test schema) that never has users leaves no roles
behind. Until then no role but the owner can use the store.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from trialdata.store.tables import ROLES

__all__ = [
    "ALL_SITES",
    "FUNCTIONS",
    "MAX_PREFIX",
    "SITE_ROLE",
    "SITE_TABLES",
    "TABLE_GRANTS",
    "TRIAL_LEVEL_TABLES",
    "TRIAL_WIDE_ROLES",
    "WHO_COLUMNS",
    "Grant",
    "drop_sql",
    "function_sql",
    "grants_for",
    "group_role_name",
    "install_sql",
    "policy_sql",
    "role_prefix_for",
]

#: The role whose rows are limited to the sites of its grants.
SITE_ROLE = "site_data_entry"

#: Roles that see every site, whatever site their grant names.
TRIAL_WIDE_ROLES: tuple[str, ...] = tuple(r for r in ROLES if r != SITE_ROLE)

#: ``user_roles.site_id`` (and :func:`trialdata_user_sites` entry) for every site.
ALL_SITES = "*"

#: Longest role prefix, so that ``<prefix>_site_data_entry`` fits PostgreSQL's 63
#: bytes with room to spare.
MAX_PREFIX = 40

#: Tables whose rows belong to one site, and the column naming it.
SITE_TABLES: dict[str, str] = {
    "quarantine": "site_id",
    "findings": "site_id",
    "queries": "site_id",
    "submissions": "site_id",
}

#: Record tables of the trial-level domains: every role reads them.
TRIAL_LEVEL_TABLES: tuple[str, ...] = ("rec_cohorts", "rec_product_lots")

#: Roles that run ``ingest`` (and ``delete``, query answers and closing): they write
#: records, quarantine, findings and queries (trialdata.store.accounts.PERMISSIONS).
_WRITERS: tuple[str, ...] = ("site_data_entry", "data_manager")

#: Tables that record who acted, and the column: a login inserts only its own name.
WHO_COLUMNS: dict[str, str] = {
    "changesets": "user_name",
    "submissions": "user_name",
    "snapshots": "user_name",
    "protocols": "user_name",
    "signatures": "signer",
}

#: Functions of the store that group roles may execute, and which groups.
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "trialdata_user_sites()": ROLES,
    "trialdata_holds_role(text)": ROLES,
    "trialdata_next_id(text, text)": ROLES,
    "trialdata_ensure_group_roles()": ("coordinator",),
    "trialdata_ensure_login(text, text)": ("coordinator",),
    "trialdata_sync_user_roles(text)": ("coordinator",),
}

#: Functions nobody but the owner executes directly (``EXECUTE`` revoked from PUBLIC).
_INTERNAL_FUNCTIONS: tuple[str, ...] = (
    "trialdata_is_store_admin()",
    "trialdata_require_admin()",
    "trialdata_check_login(text)",
)


@dataclass(frozen=True)
class Grant:
    """Privileges of one group role on one table.

    Parameters
    ----------
    select : bool or tuple of str
        True: ``SELECT`` on every column; a tuple: on these columns only; False: none.
    insert : bool
        ``INSERT`` (whole rows).
    update : tuple of str
        Columns the role may ``UPDATE``.
    """

    select: bool | tuple[str, ...] = True
    insert: bool = False
    update: tuple[str, ...] = ()


_READ = Grant()
_WRITE = Grant(insert=True)
_QUERY_UPDATES = (
    "status",
    "last_submission_id",
    "closed_cs",
    "answer",
    "answered_by",
    "answered_at",
)


def _writers(grant: Grant) -> dict[str, Grant]:
    return {role: grant if role in _WRITERS else _READ for role in ROLES}


def _only(roles: Sequence[str], grant: Grant) -> dict[str, Grant]:
    return {role: grant if role in roles else _READ for role in ROLES}


#: Privileges per table (``rec_*``: every record table) and role, following the
#: application's permission matrix (:data:`trialdata.store.accounts.PERMISSIONS`)
#: and what it writes (``grep`` for ``update``/``insert`` in ``trialdata/store``):
#: ingest by site data entry and data managers (record versions, ``_ended_cs`` of
#: replaced versions, quarantine and its resolution, findings, queries and their
#: status, the submission and its files), query answers (site data entry) and
#: closing, deletes (``_ended_cs``) and freeze (data manager), accounts, sites and
#: the protocol (coordinator), signatures (the trial-wide roles); every write adds
#: changesets and audit entries. Every role reads the trial-wide tables; the site
#: scope of the rows is the policies' job. The DMC reads the records because signing
#: a report release recomputes the snapshot's content hash from them. Site data entry
#: reads the audit trail's chain only (``seq``, ``changeset_id``, ``hash``: enough to
#: append to it), not its values, which hold every site's records, nor the
#: changesets' reasons.
TABLE_GRANTS: dict[str, dict[str, Grant]] = {
    "rec_*": _writers(Grant(insert=True, update=("_ended_cs",))),
    "quarantine": _writers(Grant(insert=True, update=("status", "resolved_cs"))),
    "findings": _writers(_WRITE),
    "queries": _writers(Grant(insert=True, update=_QUERY_UPDATES)),
    "submissions": _writers(_WRITE),
    "submission_files": _writers(_WRITE),
    "changesets": {
        role: Grant(
            select=(
                "id",
                "kind",
                "at",
                "user_name",
                "submission_id",
                "first_seq",
                "last_seq",
                "n_entries",
                "head_hash",
            )
            if role == SITE_ROLE
            else True,
            insert=True,
        )
        for role in ROLES
    },
    "audit_log": {
        role: Grant(
            select=("seq", "changeset_id", "hash") if role == SITE_ROLE else True,
            insert=True,
        )
        for role in ROLES
    },
    "snapshots": _only(("data_manager",), _WRITE),
    "sites": _only(("coordinator",), _WRITE),
    "users": _only(
        ("coordinator",), Grant(insert=True, update=("full_name", "disabled_cs"))
    ),
    "user_roles": _only(("coordinator",), Grant(insert=True, update=("revoked_cs",))),
    "protocols": _only(("coordinator",), _WRITE),
    "signatures": _only(TRIAL_WIDE_ROLES, _WRITE),
    "alembic_version": _only((), _READ),
}


def grants_for(table: str) -> dict[str, Grant] | None:
    """Return the privileges of every role on a table.

    Parameters
    ----------
    table : str
        Table name.

    Returns
    -------
    dict of str to Grant or None
        Role to its privileges; None for a table no role may use (only the owner).
    """
    if table.startswith("rec_"):
        return TABLE_GRANTS["rec_*"]
    return TABLE_GRANTS.get(table)


def role_prefix_for(database: str, schema: str) -> str:
    """Return the prefix of a store's group roles.

    Roles are shared by every database of a PostgreSQL server, so the prefix names
    the store: the database, and the schema unless it is ``public``. Characters
    other than lower-case letters, digits and ``_`` are replaced; a name that had
    to be changed or shortened to :data:`MAX_PREFIX` characters ends with 8 hex
    digits of its SHA-256, so two stores never share a prefix.

    Parameters
    ----------
    database : str
        Database name.
    schema : str
        Schema of the store's tables.

    Returns
    -------
    str
        The prefix, at most :data:`MAX_PREFIX` characters.
    """
    base = database if schema == "public" else f"{database}_{schema}"
    clean = re.sub(r"[^a-z0-9_]", "_", base.lower())
    if clean.startswith("pg_") or not clean[:1].isalpha():
        clean = f"td_{clean}"
    if clean != base or len(clean) > MAX_PREFIX:
        digest = hashlib.sha256(base.encode("utf-8")).hexdigest()[:8]
        clean = f"{clean[: MAX_PREFIX - 9]}_{digest}"
    return clean


def group_role_name(prefix: str, role: str) -> str:
    """Return the name of the group role of a trialdata role.

    Parameters
    ----------
    prefix : str
        The store's prefix (:func:`role_prefix_for`).
    role : str
        One of :data:`trialdata.store.tables.ROLES`.

    Returns
    -------
    str
        ``<prefix>_<role>``.
    """
    if role not in ROLES:
        raise ValueError(f"unknown trialdata role {role!r}; roles: {', '.join(ROLES)}")
    return f"{prefix}_{role}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _roles_list(prefix: str, roles: Sequence[str]) -> str:
    return ", ".join(_ident(group_role_name(prefix, r)) for r in roles)


def _grant_statements(prefix: str, tables: Mapping[str, Sequence[str]]) -> list[str]:
    """GRANT statements of the matrix, for the tables that exist."""
    statements = []
    for table in sorted(tables):
        grants = grants_for(table)
        if grants is None:
            continue
        by_privilege: dict[str, list[str]] = {}
        for role, grant in grants.items():
            privileges: list[str] = []
            if grant.select is True:
                privileges.append("SELECT")
            elif grant.select:
                shown = [c for c in grant.select if c in tables[table]]
                privileges.append(f"SELECT ({', '.join(map(_ident, shown))})")
            if grant.insert:
                privileges.append("INSERT")
            columns = [c for c in grant.update if c in tables[table]]
            if columns:
                privileges.append(f"UPDATE ({', '.join(map(_ident, columns))})")
            if privileges:
                by_privilege.setdefault(", ".join(privileges), []).append(role)
        for granted, roles in by_privilege.items():
            statements.append(
                f"GRANT {granted} ON TABLE {_ident(table)} "
                f"TO {_roles_list(prefix, roles)};"
            )
    return statements


def _search_path(schema: str) -> str:
    return f"SET search_path = pg_catalog, {_ident(schema)}, pg_temp"


def function_sql(
    schema: str, database: str, tables: Mapping[str, Sequence[str]]
) -> list[str]:
    """Return the statements that create the store's role functions.

    Parameters
    ----------
    schema : str
        Schema of the store.
    database : str
        Its database.
    tables : mapping of str to sequence of str
        The store's tables and their columns (the grants name only these).

    Returns
    -------
    list of str
        ``CREATE OR REPLACE FUNCTION`` statements, then the ``REVOKE`` of
        ``EXECUTE`` from ``PUBLIC``.
    """
    prefix = role_prefix_for(database, schema)
    path = _search_path(schema)
    nsp = _literal(schema)
    groups = [group_role_name(prefix, r) for r in ROLES]
    group_array = "ARRAY[" + ", ".join(_literal(g) for g in groups) + "]::text[]"
    all_groups = _roles_list(prefix, ROLES)
    role_array = "ARRAY[" + ", ".join(_literal(r) for r in ROLES) + "]::text[]"
    active_grants = f"""
        FROM user_roles r JOIN users u ON u.user_name = r.user_name
        WHERE r.revoked_cs IS NULL AND u.disabled_cs IS NULL
          AND r.role = ANY ({role_array})"""
    executes = [
        f"GRANT EXECUTE ON FUNCTION {_ident(name.split('(')[0])}"
        f"({name.split('(')[1]} TO {_roles_list(prefix, roles)};"
        for name, roles in FUNCTIONS.items()
    ]
    comment = _literal(f"trialdata store {database}.{schema}: group role of ")
    statements = [
        f"""
CREATE OR REPLACE FUNCTION trialdata_role_prefix() RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT {_literal(prefix)}::text $$
""",
        f"""
CREATE OR REPLACE FUNCTION trialdata_store_owner() RETURNS name
LANGUAGE sql STABLE {path} AS $$
    SELECT o.rolname FROM pg_class c JOIN pg_roles o ON o.oid = c.relowner
    WHERE c.relname = 'audit_log' AND c.relnamespace = {nsp}::regnamespace
$$
""",
        f"""
CREATE OR REPLACE FUNCTION trialdata_is_store_admin() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT session_user = trialdata_store_owner()
        OR EXISTS (SELECT 1 FROM pg_roles WHERE rolname = session_user AND rolsuper)
$$
""",
        f"""
CREATE OR REPLACE FUNCTION trialdata_holds_role(wanted text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT EXISTS (SELECT 1 {active_grants}
        AND r.user_name = session_user AND r.role = wanted)
$$
""",
        f"""
CREATE OR REPLACE FUNCTION trialdata_user_sites() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER {path} AS $$
    SELECT coalesce(array_agg(DISTINCT CASE WHEN r.role = {_literal(SITE_ROLE)}
                                           THEN r.site_id
                                           ELSE {_literal(ALL_SITES)} END),
                    ARRAY[]::text[])
    {active_grants}
      AND r.user_name = session_user
$$
""",
        f"""
CREATE OR REPLACE FUNCTION trialdata_next_id(table_name text, column_name text)
RETURNS bigint LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
DECLARE
    result bigint;
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
        WHERE i.indisprimary AND c.relnamespace = {nsp}::regnamespace
          AND c.relname = trialdata_next_id.table_name
          AND a.attname = trialdata_next_id.column_name
          AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
    ) THEN
        RAISE EXCEPTION 'trialdata: %.% is not an integer key of the store',
            table_name, column_name USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format('SELECT coalesce(max(%I), 0) + 1 FROM %I.%I',
                   column_name, {nsp}, table_name) INTO result;
    RETURN result;
END
$$
""",
        f"""
CREATE OR REPLACE FUNCTION trialdata_require_admin() RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
BEGIN
    IF NOT (trialdata_is_store_admin() OR trialdata_holds_role('coordinator')) THEN
        RAISE EXCEPTION 'trialdata: % is not a coordinator of this store: role '
            'management refused', session_user USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$
""",
        f"""
CREATE OR REPLACE FUNCTION trialdata_check_login(login text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER {path} AS $$
DECLARE
    subject pg_roles%ROWTYPE;
    power text;
BEGIN
    SELECT * INTO subject FROM pg_roles WHERE rolname = login;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'trialdata: there is no database login %', login
            USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT subject.rolcanlogin THEN
        RAISE EXCEPTION 'trialdata: database role % cannot log in (NOLOGIN): it is '
            'not a person''s login', login USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF login = trialdata_store_owner() THEN
        RAISE EXCEPTION 'trialdata: % owns the store; people log in with roles of '
            'their own', login USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF pg_has_role(login, trialdata_store_owner(), 'MEMBER') THEN
        RAISE EXCEPTION 'trialdata: database login % is a member of the store owner '
            '%', login, trialdata_store_owner()
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT rolname || CASE WHEN rolsuper THEN ' (SUPERUSER)'
                           WHEN rolbypassrls THEN ' (BYPASSRLS)'
                           WHEN rolcreaterole THEN ' (CREATEROLE)'
                           ELSE ' (REPLICATION)' END
      INTO power FROM pg_roles
     WHERE (rolsuper OR rolbypassrls OR rolcreaterole OR rolreplication)
       AND pg_has_role(login, oid, 'MEMBER')
     ORDER BY rolname LIMIT 1;
    IF power IS NOT NULL THEN
        RAISE EXCEPTION 'trialdata: database login % has the powers of %, which '
            'bypass or can undo the store''s row-level security; give the person a '
            'login without them', login, power
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = {nsp}::regnamespace
                 AND c.relowner = subject.oid)
       OR EXISTS (SELECT 1 FROM pg_namespace n WHERE n.oid = {nsp}::regnamespace
                    AND n.nspowner = subject.oid) THEN
        RAISE EXCEPTION 'trialdata: database login % owns objects of the store',
            login USING ERRCODE = 'insufficient_privilege';
    END IF;
END
$$
""",
        f"""
CREATE OR REPLACE FUNCTION trialdata_ensure_group_roles() RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
DECLARE
    group_name text;
    existing pg_roles%ROWTYPE;
BEGIN
    PERFORM trialdata_require_admin();
    FOREACH group_name IN ARRAY {group_array} LOOP
        SELECT * INTO existing FROM pg_roles WHERE rolname = group_name;
        IF NOT FOUND THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN NOSUPERUSER NOCREATEDB '
                           'NOCREATEROLE NOBYPASSRLS NOREPLICATION', group_name);
            EXECUTE format('COMMENT ON ROLE %I IS %L', group_name,
                           {comment} || substr(group_name, {len(prefix) + 2}));
        ELSIF existing.rolcanlogin OR existing.rolsuper OR existing.rolbypassrls
              OR existing.rolcreaterole OR existing.rolcreatedb
              OR existing.rolreplication THEN
            RAISE EXCEPTION 'trialdata: database role % exists and is not a plain '
                'group role; it cannot be one of this store''s roles', group_name
                USING ERRCODE = 'duplicate_object';
        END IF;
        RETURN NEXT group_name;
    END LOOP;
    BEGIN
        EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %s',
                       current_database(), {_literal(all_groups)});
    EXCEPTION WHEN insufficient_privilege THEN
        NULL;  -- the owner does not own the database: PUBLIC's CONNECT is used
    END;
    BEGIN
        GRANT USAGE ON SCHEMA {_ident(schema)} TO {all_groups};
    EXCEPTION WHEN insufficient_privilege THEN
        NULL;  -- e.g. public, whose USAGE PUBLIC holds
    END;
    REVOKE ALL ON ALL TABLES IN SCHEMA {_ident(schema)} FROM {all_groups};
    {chr(10).join("    " + s for s in _grant_statements(prefix, tables))}
    {chr(10).join("    " + s for s in executes)}
    RETURN;
END
$$
""",
        f"""
CREATE OR REPLACE FUNCTION trialdata_ensure_login(login text, password text)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
BEGIN
    PERFORM trialdata_require_admin();
    IF login !~ '^[A-Za-z_][A-Za-z0-9_.@-]{{0,62}}$' OR login ~* '^pg_' THEN
        RAISE EXCEPTION 'trialdata: % is not usable as a database login (letters, '
            'digits, _ . @ -, at most 63, not starting with pg_)', login
            USING ERRCODE = 'invalid_name';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login) THEN
        PERFORM trialdata_check_login(login);
        RETURN false;
    END IF;
    EXECUTE format('CREATE ROLE %I LOGIN INHERIT NOSUPERUSER NOCREATEDB '
                   'NOCREATEROLE NOBYPASSRLS NOREPLICATION', login);
    IF password IS NOT NULL THEN
        EXECUTE format('ALTER ROLE %I PASSWORD %L', login, password);
    END IF;
    RETURN true;
END
$$
""",
        f"""
CREATE OR REPLACE FUNCTION trialdata_sync_user_roles(login text)
RETURNS TABLE (action text, group_role text)
LANGUAGE plpgsql SECURITY DEFINER {path} AS $$
DECLARE
    trial_role text;
    wanted boolean;
    held boolean;
BEGIN
    PERFORM trialdata_require_admin();
    IF login = trialdata_store_owner() THEN
        RETURN;  -- the owner owns the tables and needs no group role
    END IF;
    PERFORM trialdata_ensure_group_roles();
    PERFORM trialdata_check_login(login);
    FOREACH trial_role IN ARRAY {role_array} LOOP
        group_role := trialdata_role_prefix() || '_' || trial_role;
        SELECT EXISTS (SELECT 1 {active_grants}
                         AND r.user_name = login AND r.role = trial_role)
          INTO wanted;
        SELECT EXISTS (SELECT 1 FROM pg_auth_members m
                         JOIN pg_roles g ON g.oid = m.roleid
                         JOIN pg_roles u ON u.oid = m.member
                        WHERE g.rolname = group_role AND u.rolname = login)
          INTO held;
        IF wanted AND NOT held THEN
            EXECUTE format('GRANT %I TO %I', group_role, login);
            action := 'granted';
            RETURN NEXT;
        ELSIF held AND NOT wanted THEN
            EXECUTE format('REVOKE %I FROM %I', group_role, login);
            action := 'revoked';
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$
""",
    ]
    for name in [*FUNCTIONS, *_INTERNAL_FUNCTIONS]:
        function, arguments = name.split("(")
        statements.append(
            f"REVOKE EXECUTE ON FUNCTION {_ident(function)}({arguments} FROM PUBLIC"
        )
    return statements


def _scope(column: str) -> str:
    sites = "(SELECT trialdata_user_sites())::text[]"  # evaluated once per statement
    return (
        f"({_literal(ALL_SITES)} = ANY ({sites}) OR {_ident(column)} = ANY ({sites}))"
    )


def policy_sql(tables: Mapping[str, Sequence[str]]) -> list[str]:
    """Return the statements that enable row-level security and create the policies.

    Parameters
    ----------
    tables : mapping of str to sequence of str
        The store's tables and their columns.

    Returns
    -------
    list of str
        ``ALTER TABLE ... ENABLE ROW LEVEL SECURITY`` and ``CREATE POLICY``
        statements, for the tables that exist.
    """
    statements = []

    def enable(table: str) -> None:
        statements.append(f"ALTER TABLE {_ident(table)} ENABLE ROW LEVEL SECURITY")

    def policy(table: str, name: str, command: str, clauses: str) -> None:
        statements.append(
            f"CREATE POLICY {_ident(name)} ON {_ident(table)} FOR {command} "
            f"TO PUBLIC {clauses}"
        )

    for table in sorted(tables):
        if table.startswith("rec_") and "_site_id" in tables[table]:
            enable(table)
            scope = _scope("_site_id")
            if table in TRIAL_LEVEL_TABLES:
                policy(table, "trial_rows_read", "SELECT", "USING (true)")
                policy(table, "site_rows_insert", "INSERT", f"WITH CHECK {scope}")
                policy(
                    table,
                    "site_rows_update",
                    "UPDATE",
                    f"USING {scope} WITH CHECK {scope}",
                )
            else:
                policy(table, "site_rows", "ALL", f"USING {scope} WITH CHECK {scope}")
        elif table in SITE_TABLES:
            enable(table)
            scope = _scope(SITE_TABLES[table])
            check = scope
            if table in WHO_COLUMNS:
                check = f"({scope} AND {_ident(WHO_COLUMNS[table])} = session_user)"
            policy(table, "site_rows", "ALL", f"USING {scope} WITH CHECK {check}")
        elif table in WHO_COLUMNS:
            enable(table)
            who = f"{_ident(WHO_COLUMNS[table])} = session_user"
            policy(table, "read_all", "SELECT", "USING (true)")
            policy(table, "own_login", "INSERT", f"WITH CHECK ({who})")
    if "submission_files" in tables:
        enable("submission_files")
        parent = "(submission_id IN (SELECT id FROM submissions))"
        policy(
            "submission_files",
            "site_rows",
            "ALL",
            f"USING {parent} WITH CHECK {parent}",
        )
    return statements


def install_sql(
    schema: str, database: str, tables: Mapping[str, Sequence[str]]
) -> list[str]:
    """Return every statement of the store's database-level access control.

    Parameters
    ----------
    schema : str
        Schema of the store.
    database : str
        Its database.
    tables : mapping of str to sequence of str
        The store's tables and their columns.

    Returns
    -------
    list of str
        Function statements (:func:`function_sql`), then the policies
        (:func:`policy_sql`).
    """
    return [*function_sql(schema, database, tables), *policy_sql(tables)]


def drop_sql(tables: Mapping[str, Sequence[str]]) -> list[str]:
    """Return the statements that remove what :func:`install_sql` created.

    Group roles are left to :func:`trialdata.store.database_roles.drop_store_roles`.

    Parameters
    ----------
    tables : mapping of str to sequence of str
        The store's tables and their columns.

    Returns
    -------
    list of str
        ``DROP POLICY``, ``DISABLE ROW LEVEL SECURITY`` and ``DROP FUNCTION``
        statements.
    """
    statements = []
    for table in sorted(tables):
        for name in ("site_rows", "trial_rows_read", "site_rows_insert"):
            statements.append(f"DROP POLICY IF EXISTS {name} ON {_ident(table)}")
        for name in ("site_rows_update", "read_all", "own_login"):
            statements.append(f"DROP POLICY IF EXISTS {name} ON {_ident(table)}")
        statements.append(f"ALTER TABLE {_ident(table)} DISABLE ROW LEVEL SECURITY")
    for name in [*FUNCTIONS, *_INTERNAL_FUNCTIONS]:
        function, arguments = name.split("(")
        statements.append(f"DROP FUNCTION IF EXISTS {_ident(function)}({arguments}")
    statements.append("DROP FUNCTION IF EXISTS trialdata_store_owner()")
    statements.append("DROP FUNCTION IF EXISTS trialdata_role_prefix()")
    return statements
