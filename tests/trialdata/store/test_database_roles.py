"""The PostgreSQL database enforces the roles: privileges and row-level security.

The store is set up by its owner (the test role of ``TRIALDATA_TEST_PG_URL``) with
plain SQL rows for two sites; then the tests log in as the people the owner created
through :mod:`trialdata.store.database_roles`, each with its own login and password,
and try what a person with a ``psql`` prompt could try. Roles are cluster-wide, so
every name is unique to the test run and the fixtures drop what they create.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa

from trialdata.errors import StoreError
from trialdata.store import TrialStore
from trialdata.store.database_roles import (
    drop_store_roles,
    ensure_group_roles,
    ensure_login,
    group_roles,
    role_prefix,
    store_owner,
    sync_user_roles,
    user_sites,
)
from trialdata.store.engine import open_store_engine
from trialdata.store.rls_writes import copy_target, next_key, row_security_active
from trialdata.store.row_security import (
    MAX_PREFIX,
    SITE_TABLES,
    grants_for,
    group_role_name,
    role_prefix_for,
)
from trialdata.store.tables import ROLES, metadata

postgres = pytest.mark.postgres

PASSWORD = "pw-" + uuid.uuid4().hex[:12]

#: Rows the owner writes for each site; ``{n}`` is 1 for NIJ, 2 for UTR.
SITE_ROWS = (
    "INSERT INTO rec_subjects (_rid, subject_id, site_id, age, _key, _site_id, "
    "_created_cs) VALUES ({n}, '{s}-01', '{s}', 50, '{s}-01', '{s}', {n})",
    "INSERT INTO rec_labs (_rid, subject_id, test_code, value, _key, _site_id, "
    "_created_cs) VALUES ({n}, '{s}-01', 'ALT', 21.0, '{s}-01|ALT', '{s}', {n})",
    "INSERT INTO quarantine (id, submission_id, domain, record_key, site_id, "
    "source_file, data, status) VALUES ({n}, {n}, 'labs', 'k{n}', '{s}', "
    "'labs.csv', '{{}}', 'quarantined')",
    "INSERT INTO findings (id, submission_id, site_id, domain, rule, severity, "
    "message) VALUES ({n}, {n}, '{s}', 'labs', 'SC-RANGE', 'error', 'bad {s}')",
    "INSERT INTO queries (id, identity, site_id, domain, rule, severity, message, "
    "status, opened_submission_id, last_submission_id) VALUES ({n}, 'q{n}', '{s}', "
    "'labs', 'SC-RANGE', 'error', 'bad {s}', 'open', {n}, {n})",
    "INSERT INTO submissions (id, changeset_id, site_id, trial_id, user_name, "
    "received_at, folder, protocol_toml, protocol_sha256, n_rows, n_created, "
    "n_updated, n_unchanged, n_quarantined, n_released, n_findings) VALUES ({n}, "
    "{n}, '{s}', 'T', 'owner', 'now', 'f', '', '', 1, 1, 0, 0, 0, 0, 0)",
    "INSERT INTO submission_files (submission_id, name, sha256, n_rows) VALUES "
    "({n}, 'labs.csv', 'h{n}', 1)",
    "INSERT INTO changesets (id, kind, at, user_name, reason, n_entries, head_hash) "
    "VALUES ({n}, 'ingest', 'now', 'owner', 'secret reason {s}', 1, 'h{n}')",
    "INSERT INTO audit_log (seq, changeset_id, action, table_name, record_key, "
    "new_value, hash) VALUES ({n}, {n}, 'create', 'labs', '{s}-01|ALT', "
    "'{{\"site\":\"{s}\"}}', 'h{n}')",
)

#: Tables with site rows and how many each site has.
SCOPED = ("rec_subjects", "rec_labs", *SITE_TABLES, "submission_files")


@dataclass
class Store:
    """The secured store: its owner, and a login per person."""

    url: str
    owner: sa.Engine
    users: dict[str, str]  # short name -> login
    engines: dict[str, sa.Engine]

    def login(self, name: str) -> sa.Engine:
        """Engine logged in as one person (created once)."""
        if name not in self.engines:
            user = self.users.get(name, name)
            url = sa.make_url(self.url).set(username=user, password=PASSWORD)
            self.engines[name] = sa.create_engine(url, poolclass=sa.pool.NullPool)
        return self.engines[name]


def _owner_exec(engine: sa.Engine, *statements: str, **params: object) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), params)


def _add_user(store: Store, short: str, grants: list[tuple[str, str]]) -> str:
    """Create user ``short`` with grants (role, site) the way ``users add`` does."""
    login = f"td{uuid.uuid4().hex[:10]}_{short}"
    store.users[short] = login
    with store.owner.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO users (user_name, created_cs) VALUES (:u, 1)"),
            {"u": login},
        )
        for role, site in grants:
            conn.execute(
                sa.text(
                    "INSERT INTO user_roles (user_name, role, site_id, granted_cs) "
                    "VALUES (:u, :r, :s, 1)"
                ),
                {"u": login, "r": role, "s": site},
            )
        assert ensure_login(conn, login, PASSWORD) is True
        changes = sync_user_roles(conn, login)
    assert sorted(changes) == sorted(
        {
            ("granted", group_role_name(role_prefix_for_store(store), r))
            for r, _ in grants
        }
    )
    return login


def role_prefix_for_store(store: Store) -> str:
    with store.owner.connect() as conn:
        prefix = role_prefix(conn)
    assert prefix is not None
    return prefix


def _drop_logins(owner: sa.Engine, logins: list[str]) -> None:
    with owner.begin() as conn:
        for login in logins:
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{login}"'))


@pytest.fixture(scope="module")
def store(pg_module_url: str) -> Iterator[Store]:
    """A store with rows of NIJ and UTR; two site users, data manager, coordinator, DMC."""
    owner = open_store_engine(pg_module_url)
    secured = Store(url=pg_module_url, owner=owner, users={}, engines={})
    try:
        _owner_exec(
            owner,
            *(
                sql.format(n=n, s=s)
                for n, s in ((1, "NIJ"), (2, "UTR"))
                for sql in SITE_ROWS
            ),
            "INSERT INTO rec_cohorts (_rid, cohort_id, dose_level, _key, _site_id, "
            "_created_cs) VALUES (1, 'C1', 1, 'C1', 'NIJ', 1)",
        )
        _add_user(secured, "nij", [("site_data_entry", "NIJ")])
        _add_user(secured, "utr", [("site_data_entry", "UTR")])
        _add_user(secured, "dm", [("data_manager", "*")])
        _add_user(secured, "coord", [("coordinator", "*")])
        _add_user(secured, "dmc", [("dmc", "*")])
        yield secured
    finally:
        for engine in secured.engines.values():
            engine.dispose()
        with owner.begin() as conn:
            dropped = drop_store_roles(conn)
        _drop_logins(owner, list(secured.users.values()))
        with owner.connect() as conn:
            left = conn.execute(
                sa.text("SELECT rolname FROM pg_roles WHERE rolname = ANY (:n)"),
                {"n": [*dropped, *secured.users.values()]},
            ).all()
        owner.dispose()
        assert left == []


def _rows(engine: sa.Engine, sql: str, **params: object) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql), params)]


def _refused(
    engine: sa.Engine,
    sql: str,
    *,
    states: tuple[str, ...] = ("42501",),
    **params: object,
) -> str:
    """Run a statement that must fail (SQLSTATE 42501, permission); return why.

    Nothing is ever committed, also when the statement wrongly succeeds.
    """
    with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError) as info:
        transaction = conn.begin()
        try:
            conn.execute(sa.text(sql), params)
        finally:
            transaction.rollback()
    orig = info.value.orig
    assert getattr(orig, "sqlstate", None) in states, orig
    return str(orig)


def _allowed(engine: sa.Engine, sql: str, **params: object) -> int:
    """Run a statement that must succeed, roll it back; return the row count."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            return int(conn.execute(sa.text(sql), params).rowcount)
        finally:
            transaction.rollback()


def _sites(engine: sa.Engine, table: str) -> set[str]:
    column = "_site_id" if table.startswith("rec_") else "site_id"
    if table == "submission_files":
        sql = (
            "SELECT s.site_id FROM submission_files f JOIN submissions s "
            "ON s.id = f.submission_id"
        )
        with engine.connect() as conn:
            # the join reads submissions under the same policies; count files too
            files = conn.execute(sa.text("SELECT count(*) FROM submission_files"))
            n = files.scalar_one()
        sites = {str(r[0]) for r in _rows(engine, sql)}
        assert n == len(sites)
        return sites
    return {str(r[0]) for r in _rows(engine, f"SELECT {column} FROM {table}")}


@postgres
def test_owner_sees_every_site(store: Store) -> None:
    for table in SCOPED:
        assert _sites(store.owner, table) == {"NIJ", "UTR"}, table


@postgres
@pytest.mark.parametrize("person, site", [("nij", "NIJ"), ("utr", "UTR")])
def test_a_site_user_reads_only_its_sites_rows(
    store: Store, person: str, site: str
) -> None:
    engine = store.login(person)
    for table in SCOPED:
        assert _sites(engine, table) == {site}, table
    # the trial-level records belong to the coordinating site and every site reads them
    assert _rows(engine, "SELECT cohort_id FROM rec_cohorts") == [("C1",)]
    with engine.connect() as conn:
        assert user_sites(conn) == [site]


@postgres
def test_the_data_manager_reads_every_site(store: Store) -> None:
    engine = store.login("dm")
    for table in SCOPED:
        assert _sites(engine, table) == {"NIJ", "UTR"}, table
    assert (
        len(_rows(engine, "SELECT new_value, reason FROM audit_log, changesets")) == 4
    )
    with engine.connect() as conn:
        assert user_sites(conn) == ["*"]


@postgres
def test_a_site_user_opens_the_store_without_migrating(store: Store) -> None:
    url = sa.make_url(store.url).set(username=store.users["nij"], password=PASSWORD)
    with (
        TrialStore.open(url.render_as_string(hide_password=False), create=False) as s,
        s.engine.connect() as conn,
    ):
        login = conn.execute(sa.text("SELECT session_user")).scalar()
    assert login == store.users["nij"]


INSERTS = {
    "rec_subjects": "INSERT INTO rec_subjects (_rid, subject_id, site_id, _key, "
    "_site_id, _created_cs) VALUES (100, 'X', :site, 'X', :site, 9)",
    "quarantine": "INSERT INTO quarantine (id, submission_id, domain, record_key, "
    "site_id, source_file, data, status) VALUES (100, 1, 'labs', 'k', :site, "
    "'labs.csv', '{}', 'quarantined')",
    "findings": "INSERT INTO findings (id, submission_id, site_id, domain, rule, "
    "severity, message) VALUES (100, 1, :site, 'labs', 'R', 'error', 'm')",
    "queries": "INSERT INTO queries (id, identity, site_id, domain, rule, severity, "
    "message, status, opened_submission_id, last_submission_id) VALUES (100, 'x', "
    ":site, 'labs', 'R', 'error', 'm', 'open', 1, 1)",
    "submissions": "INSERT INTO submissions (id, changeset_id, site_id, trial_id, "
    "user_name, received_at, folder, protocol_toml, protocol_sha256, n_rows, "
    "n_created, n_updated, n_unchanged, n_quarantined, n_released, n_findings) "
    "VALUES (100, 9, :site, 'T', session_user, 'now', 'f', '', '', 0, 0, 0, 0, 0, "
    "0, 0)",
}


@postgres
@pytest.mark.parametrize("table", sorted(INSERTS))
def test_a_site_user_writes_its_own_site_only(store: Store, table: str) -> None:
    engine = store.login("nij")
    assert _allowed(engine, INSERTS[table], site="NIJ") == 1
    message = _refused(engine, INSERTS[table], site="UTR")
    assert "row-level security" in message


@postgres
def test_submission_files_follow_their_submission(store: Store) -> None:
    engine = store.login("nij")
    # NIJ's own submission 1 takes a file; UTR's submission 2 does not
    insert = (
        "INSERT INTO submission_files (submission_id, name, sha256, n_rows) "
        "VALUES (:s, 'extra.csv', 'h', 0)"
    )
    assert _allowed(engine, insert, s=1) == 1
    assert "row-level security" in _refused(engine, insert, s=2)
    # nor a file for a submission that does not exist (yet)
    assert "row-level security" in _refused(engine, insert, s=77)


@postgres
def test_trial_level_records_are_written_within_the_site_scope(store: Store) -> None:
    insert = (
        "INSERT INTO rec_cohorts (_rid, cohort_id, _key, _site_id, _created_cs) "
        "VALUES (100, 'C9', 'C9', 'NIJ', 9)"
    )
    assert _allowed(store.login("nij"), insert) == 1  # the coordinating site
    assert "row-level security" in _refused(store.login("utr"), insert)


@postgres
def test_only_the_login_itself_is_written_as_the_acting_user(store: Store) -> None:
    engine = store.login("nij")
    insert = (
        "INSERT INTO changesets (id, kind, at, user_name, n_entries, head_hash) "
        "VALUES (100, 'ingest', 'now', :who, 0, 'h')"
    )
    assert _allowed(engine, insert, who=store.users["nij"]) == 1
    assert "row-level security" in _refused(engine, insert, who="Dr. Someone Else")
    submission = INSERTS["submissions"].replace("session_user", "'Dr. Someone Else'")
    assert "row-level security" in _refused(engine, submission, site="NIJ")
    # freezes, protocol versions and signatures name their maker the same way
    for person, sql in (
        (
            "dm",
            "INSERT INTO snapshots (label, changeset_id, through_cs, created_at, "
            "user_name, protocol_toml, content_sha256, row_counts) VALUES ('s', 9, "
            "9, 'now', :who, '', 'h', '{}')",
        ),
        (
            "coord",
            "INSERT INTO protocols (version, changeset_id, trial_id, user_name, "
            "reason, sha256, toml) VALUES (9, 9, 'T', :who, 'r', 'h', '')",
        ),
        (
            "dm",
            "INSERT INTO signatures (id, changeset_id, target, snapshot_label, "
            "content_sha256, signer, role, meaning, signed_at) VALUES (9, 9, "
            "'snapshot', 's', 'h', :who, 'data_manager', 'reviewed', 'now')",
        ),
    ):
        maker = store.login(person)
        assert _allowed(maker, sql, who=store.users[person]) == 1
        assert "row-level security" in _refused(maker, sql, who="Dr. Someone Else")


@postgres
@pytest.mark.parametrize("person", ["coord", "dmc"])
def test_roles_that_do_not_ingest_cannot_write_records(
    store: Store, person: str
) -> None:
    engine = store.login(person)
    assert _sites(engine, "rec_subjects") == {"NIJ", "UTR"}  # they read every site
    for table in ("rec_subjects", "quarantine", "findings", "queries"):
        assert "permission denied" in _refused(engine, INSERTS[table], site="NIJ")
    _refused(engine, "UPDATE rec_subjects SET _ended_cs = 9")


@postgres
def test_record_values_cannot_be_changed_only_versions_ended(store: Store) -> None:
    engine = store.login("nij")
    message = _refused(engine, "UPDATE rec_subjects SET age = 99")
    assert "permission denied" in message
    _refused(engine, "UPDATE rec_subjects SET _site_id = 'NIJ'")
    # ending a version (what ingest and delete do) only reaches the site's own rows
    end = "UPDATE rec_subjects SET _ended_cs = 9 WHERE _ended_cs IS NULL"
    assert _allowed(engine, end) == 1
    assert _allowed(engine, end + " AND _site_id = 'UTR'") == 0
    # the data manager may end any site's version, still not change a value
    assert _allowed(store.login("dm"), end) == 2
    _refused(store.login("dm"), "UPDATE rec_labs SET value = 1")


@postgres
def test_query_answers_and_quarantine_status_only(store: Store) -> None:
    engine = store.login("nij")
    answer = (
        "UPDATE queries SET status = 'answered', answer = 'ok', answered_by = "
        "session_user, answered_at = 'now'"
    )
    assert _allowed(engine, answer) == 1  # NIJ's query only
    _refused(engine, "UPDATE queries SET message = 'rewritten'")
    _refused(engine, "UPDATE queries SET site_id = 'NIJ'")
    assert _allowed(engine, "UPDATE quarantine SET status = 'superseded'") == 1
    _refused(engine, "UPDATE quarantine SET data = '{}'")
    _refused(engine, "UPDATE findings SET message = 'gone'")
    _refused(engine, "DELETE FROM findings")


#: Append-only tables and a text column of each.
APPEND_ONLY = {
    "audit_log": "hash",
    "changesets": "user_name",
    "submissions": "user_name",
    "submission_files": "sha256",
    "snapshots": "reason",
}


@postgres
@pytest.mark.parametrize("person", ["nij", "dm", "coord"])
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_nobody_deletes_truncates_or_rewrites_the_trail(
    store: Store, person: str, table: str
) -> None:
    engine = store.login(person)
    for sql in (
        f"DELETE FROM {table}",
        f"TRUNCATE {table}",
        f"UPDATE {table} SET {APPEND_ONLY[table]} = 'x'",
    ):
        assert "permission denied" in _refused(engine, sql)
    assert _rows(store.owner, f"SELECT count(*) FROM {table}")[0][0] == (
        0 if table == "snapshots" else 2
    )


@postgres
@pytest.mark.parametrize("person", ["nij", "dm", "coord"])
def test_nobody_disables_or_drops_triggers_or_policies(
    store: Store, person: str
) -> None:
    engine = store.login(person)
    enabled = (
        "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal "
        "AND t.tgenabled = 'O' ORDER BY 1"
    )
    before = _rows(store.owner, enabled)
    assert ("audit_log_append_only",) in before and ("rec_subjects_fixed",) in before
    for sql in (
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "DROP TRIGGER audit_log_append_only ON audit_log",
        "DROP TRIGGER rec_subjects_fixed ON rec_subjects",
        "ALTER TABLE rec_subjects DISABLE ROW LEVEL SECURITY",
        "DROP POLICY site_rows ON rec_subjects",
        "ALTER TABLE audit_log OWNER TO CURRENT_USER",
        "DROP TABLE audit_log",
        "SET session_replication_role = replica",
        "CREATE FUNCTION trialdata_user_sites() RETURNS text[] LANGUAGE sql "
        "AS $$ SELECT ARRAY['*'] $$",
    ):
        _refused(engine, sql)
    assert _rows(store.owner, enabled) == before
    policies = "SELECT count(*) FROM pg_policies WHERE schemaname = current_schema()"
    assert _rows(store.owner, policies)[0][0] > 0


@postgres
def test_row_security_cannot_be_switched_off_by_a_user(store: Store) -> None:
    engine = store.login("nij")
    with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError) as info:
        conn.execute(sa.text("SET row_security = off"))
        conn.execute(sa.text("SELECT * FROM rec_subjects"))
    assert "row-level security" in str(info.value.orig)


@postgres
def test_a_site_user_cannot_grant_itself_more(store: Store) -> None:
    engine = store.login("nij")
    nij = store.users["nij"]
    groups = group_roles_of(store)
    for sql in (
        "INSERT INTO user_roles (user_name, role, site_id, granted_cs) "
        "VALUES (session_user, 'site_data_entry', 'UTR', 1)",
        "UPDATE user_roles SET site_id = '*'",
        "UPDATE user_roles SET role = 'data_manager'",
        "DELETE FROM user_roles",
        "INSERT INTO users (user_name, created_cs) VALUES ('x', 1)",
        f'GRANT "{groups["data_manager"]}" TO SESSION_USER',
        f'SET ROLE "{groups["data_manager"]}"',
        f'ALTER ROLE "{nij}" BYPASSRLS',
        f'ALTER ROLE "{nij}" CREATEROLE',
        "SELECT * FROM trialdata_sync_user_roles(session_user)",
        "SELECT trialdata_ensure_login('x', 'y')",
        "SELECT * FROM trialdata_ensure_group_roles()",
    ):
        _refused(engine, sql)
    # the application functions say why, as a StoreError
    with engine.begin() as conn, pytest.raises(StoreError, match="permission denied"):
        ensure_login(conn, "someone_new", PASSWORD)
    assert _sites(engine, "rec_subjects") == {"NIJ"}


def group_roles_of(store: Store) -> dict[str, str]:
    with store.owner.connect() as conn:
        return group_roles(conn)


@postgres
def test_the_audit_trail_values_are_hidden_from_site_users(store: Store) -> None:
    engine = store.login("nij")
    # what the audit writer reads to append to the chain is allowed ...
    last = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
    assert _rows(engine, last) == [(2, "h2")]
    assert _rows(engine, "SELECT max(id) FROM changesets") == [(2,)]
    # ... what another site's records and reasons say is not
    _refused(engine, "SELECT new_value FROM audit_log")
    _refused(engine, "SELECT * FROM audit_log")
    _refused(engine, "SELECT reason FROM changesets")


@postgres
def test_next_id_counts_rows_the_session_cannot_see(store: Store) -> None:
    engine = store.login("nij")
    assert _rows(engine, "SELECT max(id) FROM quarantine") == [(1,)]
    for table, column in (("quarantine", "id"), ("rec_subjects", "_rid")):
        assert _rows(engine, "SELECT trialdata_next_id(:t, :c)", t=table, c=column) == [
            (3,)
        ]
    # only integer keys: no way to read another site's values through it
    with pytest.raises(sa.exc.DBAPIError, match="not an integer key"):
        _rows(engine, "SELECT trialdata_next_id('rec_subjects', 'age')")
    with pytest.raises(sa.exc.DBAPIError, match="not an integer key"):
        _rows(engine, "SELECT trialdata_next_id('pg_authid', 'oid')")


def _copy(conn: sa.Connection, table: str, rows: list[tuple[object, ...]]) -> None:
    """COPY rows into ``(id, submission_id, site_id, domain, rule, severity, message)``."""
    names = "id, submission_id, site_id, domain, rule, severity, message"
    raw = conn.connection.driver_connection
    with (
        copy_target(conn, table, names) as into,
        raw.cursor() as cursor,
        cursor.copy(f"COPY {into} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


@postgres
def test_writes_of_a_limited_login_count_and_copy_every_row(store: Store) -> None:
    row = (100, 1, "NIJ", "labs", "R", "error", "m")
    with store.owner.connect() as conn:
        assert not row_security_active(conn, "findings")
        assert next_key(conn, "findings", "id") is None
        _copy(conn, "findings", [row])  # the owner copies straight into the table
        assert _sites_in(conn, "findings") == ["NIJ", "UTR", "NIJ"]
        conn.rollback()
    engine = store.login("nij")
    with engine.connect() as conn:
        assert row_security_active(conn, "findings")
        assert next_key(conn, "findings", "id") == 3  # not 2: UTR's finding counts
        # COPY straight into the table is refused for a login under row security ...
        raw = conn.connection.driver_connection
        with (
            pytest.raises(psycopg.errors.FeatureNotSupported, match="row-level"),
            raw.cursor() as cursor,
            cursor.copy("COPY findings FROM STDIN"),
        ):
            pass
        conn.rollback()
        # ... through the staging table the policies check every row
        _copy(conn, "findings", [row])
        assert _sites_in(conn, "findings") == ["NIJ", "NIJ"]
        conn.rollback()
        other = (101, 2, "UTR", "labs", "R", "error", "m")
        with pytest.raises(sa.exc.DBAPIError, match="row-level security"):
            _copy(conn, "findings", [row, other])
        conn.rollback()
    with engine.connect() as conn:
        assert _sites_in(conn, "findings") == ["NIJ"]


def _sites_in(conn: sa.Connection, table: str) -> list[str]:
    sql = f"SELECT site_id FROM {table} ORDER BY id"
    return [str(s) for s in conn.execute(sa.text(sql)).scalars()]


def test_sqlite_writes_are_not_limited(sqlite_url: str) -> None:
    engine = open_store_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert not row_security_active(conn, "findings")
            assert next_key(conn, "findings", "id") is None
    finally:
        engine.dispose()


@postgres
def test_a_site_login_ingests_under_row_level_security(
    pg_url: str, make_upload: Callable[..., Path]
) -> None:
    login = f"td{uuid.uuid4().hex[:10]}_nij"
    owner = TrialStore.open(pg_url)
    try:
        owner.ingest(make_upload("NIJ"), site="NIJ")  # the owner's bootstrap
        owner.ingest(make_upload("UTR"), site="UTR")
        # the login is created first, with a password, as a DBA would; `add_user`
        # then finds it and grants the role (it never sets or changes a password)
        with owner.engine.begin() as conn:
            ensure_login(conn, login, PASSWORD)
        owner.add_user(login, role="site_data_entry", site="NIJ", reason="site staff")
        with owner.engine.begin() as conn:
            sync_user_roles(conn, login)
        url = sa.make_url(pg_url).set(username=login, password=PASSWORD)

        def edit(frames: dict[str, pd.DataFrame]) -> None:
            frames["labs"].loc[0, "value"] = 4.5

        with TrialStore.open(url.render_as_string(hide_password=False)) as site:
            result = site.ingest(
                make_upload("NIJ", edit=edit), site="NIJ", reason="lab corrected"
            )
        assert result.n_updated == 1
        submissions = _rows(
            owner.engine, "SELECT id, site_id, user_name FROM submissions ORDER BY id"
        )
        me = owner.user
        assert submissions == [(1, "NIJ", me), (2, "UTR", me), (3, "NIJ", login)]
        assert owner.verify().ok
    finally:
        with owner.engine.begin() as conn:
            drop_store_roles(conn)
        _drop_logins(owner.engine, [login])
        owner.close()


@postgres
def test_a_revocation_takes_effect_at_once(store: Store) -> None:
    login = _add_user(store, "late", [("site_data_entry", "UTR")])
    try:
        engine = store.login("late")
        assert _sites(engine, "rec_subjects") == {"UTR"}
        _owner_exec(
            store.owner,
            "UPDATE user_roles SET revoked_cs = 5 WHERE user_name = :u",
            u=login,
        )
        assert _sites(engine, "rec_subjects") == set()  # the policy reads user_roles
        with store.owner.begin() as conn:
            changes = sync_user_roles(conn, login)
        assert changes == [("revoked", group_roles_of(store)["site_data_entry"])]
        # no privilege any more: without a group the store's schema is not even visible
        _refused(engine, "SELECT * FROM rec_subjects", states=("42501", "42P01"))
        # a new grant for another site, by the coordinator from its own login
        _owner_exec(
            store.owner,
            "INSERT INTO user_roles (user_name, role, site_id, granted_cs) "
            "VALUES (:u, 'site_data_entry', 'NIJ', 6)",
            u=login,
        )
        with store.login("coord").begin() as conn:
            assert sync_user_roles(conn, login) == [
                ("granted", group_roles_of(store)["site_data_entry"])
            ]
        assert _sites(engine, "rec_subjects") == {"NIJ"}
        # disabling the user ends everything at once as well
        _owner_exec(
            store.owner,
            "UPDATE users SET disabled_cs = 7 WHERE user_name = :u",
            u=login,
        )
        assert _sites(engine, "rec_subjects") == set()
        with store.owner.begin() as conn:
            assert [a for a, _ in sync_user_roles(conn, login)] == ["revoked"]
    finally:
        store.engines.pop("late").dispose()
        _drop_logins(store.owner, [login])


@postgres
def test_a_coordinator_manages_logins_from_its_own_login(store: Store) -> None:
    login = f"td{uuid.uuid4().hex[:10]}_stat"
    try:
        with store.login("coord").begin() as conn:
            conn.execute(
                sa.text("INSERT INTO users (user_name, created_cs) VALUES (:u, 1)"),
                {"u": login},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO user_roles (user_name, role, site_id, granted_cs) "
                    "VALUES (:u, 'statistician', '*', 1)"
                ),
                {"u": login},
            )
            assert ensure_login(conn, login, PASSWORD) is True
            assert ensure_login(conn, login, "ignored") is False  # mapped, unchanged
            assert [a for a, _ in sync_user_roles(conn, login)] == ["granted"]
        store.users["stat"] = login
        engine = store.login("stat")
        assert _sites(engine, "queries") == {"NIJ", "UTR"}
        _refused(engine, INSERTS["queries"], site="NIJ")  # reads, does not ingest
    finally:
        store.users.pop("stat", None)
        if "stat" in store.engines:
            store.engines.pop("stat").dispose()
        _drop_logins(store.owner, [login])
        _owner_exec(
            store.owner,
            "DELETE FROM user_roles WHERE user_name = :u",
            "DELETE FROM users WHERE user_name = :u",
            u=login,
        )


@postgres
def test_logins_that_could_bypass_security_are_refused(store: Store) -> None:
    owner_name = _rows(store.owner, "SELECT session_user")[0][0]
    risky = {
        "creator": "CREATE ROLE {r} LOGIN CREATEROLE",
        "insider": f'CREATE ROLE {{r}} LOGIN|GRANT "{owner_name}" TO {{r}}',
        "nologin": "CREATE ROLE {r} NOLOGIN",
    }
    names = {k: f"td{uuid.uuid4().hex[:10]}_{k}" for k in risky}
    try:
        for kind, sql in risky.items():
            _owner_exec(store.owner, *sql.format(r=f'"{names[kind]}"').split("|"))
        expected = {
            "creator": "CREATEROLE",
            "insider": "member of the store owner",
            "nologin": "cannot log in",
        }
        for kind, name in names.items():
            with (
                store.owner.begin() as conn,
                pytest.raises(StoreError, match=expected[kind]),
            ):
                ensure_login(conn, name)
        for name, why in (
            (owner_name, "owns the store"),
            (group_roles_of(store)["dmc"], "cannot log in"),
            ("pg_monitor", "not usable"),
            ('bad"name', "not usable"),
        ):
            with store.owner.begin() as conn, pytest.raises(StoreError, match=why):
                ensure_login(conn, name)
        with (
            store.owner.begin() as conn,
            pytest.raises(StoreError, match="no database login"),
        ):
            sync_user_roles(conn, f"td{uuid.uuid4().hex[:10]}_nobody")
    finally:
        _drop_logins(store.owner, list(names.values()))


@postgres
def test_group_roles_hold_exactly_the_matrix(store: Store) -> None:
    groups = group_roles_of(store)
    tables = sorted(metadata.tables)
    with store.owner.connect() as conn:

        def has(role: str, table: str, privilege: str) -> bool:
            return bool(
                conn.execute(
                    sa.text("SELECT has_table_privilege(:r, :t, :p)"),
                    {"r": groups[role], "t": table, "p": privilege},
                ).scalar()
            )

        def has_column(role: str, table: str, column: str, privilege: str) -> bool:
            return bool(
                conn.execute(
                    sa.text("SELECT has_column_privilege(:r, :t, :c, :p)"),
                    {"r": groups[role], "t": table, "c": column, "p": privilege},
                ).scalar()
            )

        for table in tables:
            grants = grants_for(table)
            assert grants is not None, f"{table}: no privilege decision"
            for role in ROLES:
                grant = grants[role]
                for privilege in ("DELETE", "TRUNCATE", "TRIGGER", "REFERENCES"):
                    assert not has(role, table, privilege), (role, table, privilege)
                assert has(role, table, "INSERT") == grant.insert, (role, table)
                assert has(role, table, "SELECT") == (grant.select is True)
                for column in (c.name for c in metadata.tables[table].columns):
                    assert has_column(role, table, column, "UPDATE") == (
                        column in grant.update
                    ), (role, table, column)
                    if grant.select is not True:
                        assert has_column(role, table, column, "SELECT") == (
                            column in (grant.select or ())
                        ), (role, table, column)
        # and membership of a group is the only way in: PUBLIC holds nothing
        public = conn.execute(
            sa.text(
                "SELECT count(*) FROM information_schema.role_table_grants "
                "WHERE grantee = 'PUBLIC' AND table_schema = current_schema()"
            )
        ).scalar()
        assert public == 0


def test_every_store_table_has_a_privilege_decision() -> None:
    undecided = [t for t in metadata.tables if grants_for(t) is None]
    assert undecided == [], "add the table to row_security.TABLE_GRANTS"


def test_role_prefix_names_the_store_and_fits() -> None:
    assert role_prefix_for("trials", "public") == "trials"
    assert role_prefix_for("trials", "td_ab12") == "trials_td_ab12"
    odd = role_prefix_for("Trials-DB", "public")
    assert odd.startswith("trials_db_") and odd != role_prefix_for(
        "trials_db", "public"
    )
    long = role_prefix_for("a" * 63, "b" * 63)
    assert len(long) == MAX_PREFIX
    assert long != role_prefix_for("a" * 63, "b" * 62 + "c")
    assert role_prefix_for("pg_x", "public").startswith("td_pg_x")
    for role in ROLES:
        assert len(group_role_name(long, role)) <= 63
    with pytest.raises(ValueError, match="unknown trialdata role"):
        group_role_name("p", "admin")


@postgres
def test_drop_store_roles_leaves_nothing(pg_url: str) -> None:
    engine = open_store_engine(pg_url)
    try:
        with engine.begin() as conn:
            created = ensure_group_roles(conn)
            assert created == list(group_roles(conn).values())
            assert (
                store_owner(conn)
                == conn.execute(sa.text("SELECT session_user")).scalar()
            )
            assert ensure_group_roles(conn) == created  # idempotent
        with engine.begin() as conn:
            assert drop_store_roles(conn) == created
            assert drop_store_roles(conn) == []
        left = _rows(
            engine, "SELECT rolname FROM pg_roles WHERE rolname = ANY (:n)", n=created
        )
        assert left == []
    finally:
        with engine.begin() as conn:
            drop_store_roles(conn)
        engine.dispose()


def test_sqlite_has_no_roles(sqlite_url: str) -> None:
    engine = open_store_engine(sqlite_url)
    try:
        with engine.begin() as conn:
            assert role_prefix(conn) is None
            assert group_roles(conn) == {}
            assert store_owner(conn) is None
            assert ensure_group_roles(conn) == []
            assert ensure_login(conn, "alice", "pw") is False
            assert sync_user_roles(conn, "alice") == []
            assert user_sites(conn) is None
            assert drop_store_roles(conn) == []
    finally:
        engine.dispose()
