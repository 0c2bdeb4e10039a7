"""Accounts, roles and the permission matrix; who acts is the OS user or the DB login."""

from __future__ import annotations

import importlib.util
import re
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from trialdata.cli import main
from trialdata.errors import StoreError
from trialdata.store import TrialStore
from trialdata.store.accounts import PERMISSIONS, Action, PermissionDeniedError
from trialdata.store.database_roles import drop_store_roles, group_roles
from trialdata.store.identity import database_login, os_user
from trialdata.store.ingest import ingest_report
from trialdata.store.tables import SITES, USER_ROLES, USERS

_spec = importlib.util.spec_from_file_location(
    "account_trail", Path(__file__).with_name("account_trail.py")
)
assert _spec is not None and _spec.loader is not None
trail = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(trail)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (0 if code is None else int(code)), out, err


def _rows(engine: sa.Engine, sql: str) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql)).all())


def test_the_creator_is_the_first_coordinator_stated_in_the_trail(
    store_url: str, reports
) -> None:
    store = TrialStore.open(store_url)
    if store_url.startswith("postgresql"):
        with store.engine.connect() as conn:
            assert store.user == database_login(conn)
    else:
        assert store.user == os_user()
    assert store.snapshots().empty and store.users().empty  # reading writes nothing
    assert _rows(store.engine, "SELECT id FROM changesets") == []

    store.ingest(reports["NIJ"], site="NIJ")
    first = _rows(store.engine, "SELECT * FROM changesets ORDER BY id")[0]
    assert (first.kind, first.user_name) == ("accounts", store.user)
    source = "database login" if "postgresql" in store_url else "operating-system user"
    assert f"({source} {store.user})" in first.reason
    assert "coordinator and data_manager" in first.reason
    users = store.users()
    assert users[["user_name", "role", "site_id"]].values.tolist() == [
        [store.user, "coordinator", "*"],
        [store.user, "data_manager", "*"],
    ]
    assert store.site_table()["site_id"].tolist() == ["NIJ", "UTR"]  # the protocol's
    # every accounts row has its create entry: the trail rebuilds the tables
    trail.assert_replays(store.engine, USERS, USER_ROLES, SITES)
    assert store.verify().ok
    store.close()


def test_the_permission_matrix(sqlite_url: str, reports, make_upload) -> None:
    coordinator = TrialStore.open(sqlite_url, acting_as="cora")
    coordinator.ingest(reports["NIJ"], site="NIJ")  # cora: coordinator, data manager
    bootstrap = _rows(coordinator.engine, "SELECT * FROM changesets WHERE id = 1")[0]
    assert bootstrap.user_name == "cora"
    assert (
        f"account cora named by a trusted process of operating-system user {os_user()}"
        in bootstrap.reason
    )
    for name, role, site in (
        ("nia", "site_data_entry", "NIJ"),
        ("uma", "site_data_entry", "UTR"),
        ("dave", "data_manager", None),
        ("stan", "statistician", None),
        ("dora", "dmc", None),
    ):
        head = coordinator.add_user(
            name, role=role, site=site, full_name=name.title(), reason="delegation log"
        )
        assert head == trail.latest_head(coordinator.engine)
    nia, uma, dave, stan, dora = (
        TrialStore.open(sqlite_url, acting_as=n)
        for n in ("nia", "uma", "dave", "stan", "dora")
    )

    # ingest: site data entry of that site, or a data manager
    with pytest.raises(PermissionDeniedError, match=r"nia \(site_data_entry at NIJ\)"):
        nia.ingest(reports["UTR"], site="UTR")
    for outsider in (stan, dora):
        with pytest.raises(PermissionDeniedError, match="may not ingest an upload"):
            outsider.ingest(reports["UTR"], site="UTR")
    assert uma.ingest(reports["UTR"], site="UTR").n_created == 10
    assert nia.ingest(reports["NIJ"], site="NIJ").n_unchanged == 16

    # freeze, delete, close a query: data managers only
    for role in (nia, uma, stan, dora):
        with pytest.raises(PermissionDeniedError, match="that needs data_manager"):
            role.freeze("v0")
        with pytest.raises(PermissionDeniedError, match="may not delete records"):
            role.delete("labs", ["N01|ALT|2025-02-17"], site="NIJ", reason="x")
    assert dave.freeze("v1").audit_head == trail.latest_head(dave.engine)

    # reading the whole trial: coordinator, data manager, statistician
    assert stan.snapshot("v1").label == "v1"
    for site_user in (nia, dora):
        with pytest.raises(PermissionDeniedError, match="may not read the stored"):
            site_user.snapshot("v1")
        with pytest.raises(PermissionDeniedError, match="may not read the stored"):
            site_user.current_tables()
    with pytest.raises(PermissionDeniedError, match="read a site's queries for site"):
        nia.queries(site="UTR")
    assert nia.sites() == ["NIJ"] and dave.sites() == ["NIJ", "UTR"]

    # accounts: the coordinator only, always with a reason
    for other in (nia, dave, stan):
        with pytest.raises(PermissionDeniedError, match="manage users, roles and"):
            other.add_user("eve", role="dmc", reason="x")
    with pytest.raises(StoreError, match="needs a reason"):
        coordinator.add_user("eve", role="dmc", reason=" ")
    with pytest.raises(StoreError, match="unknown role 'admin'"):
        coordinator.add_user("eve", role="admin", reason="r")
    with pytest.raises(StoreError, match="holds at one site; name it with --site"):
        coordinator.add_user("eve", role="site_data_entry", reason="r")
    with pytest.raises(StoreError, match="site 'AMS' is unknown to this store"):
        coordinator.add_user("eve", role="site_data_entry", site="AMS", reason="r")
    with pytest.raises(StoreError, match="trial-wide role; it takes no --site"):
        coordinator.add_user("eve", role="dmc", site="NIJ", reason="r")
    with pytest.raises(StoreError, match="is not an account name"):
        coordinator.add_user("Dr. Someone Else (PI)", role="dmc", reason="r")
    with pytest.raises(StoreError, match="holds data_manager already"):
        coordinator.add_user("dave", role="data_manager", reason="r")

    # no account, revoked, disabled
    mallory = TrialStore.open(sqlite_url, acting_as="mallory")
    with pytest.raises(PermissionDeniedError, match="mallory has no account"):
        mallory.ingest(reports["NIJ"], site="NIJ")
    coordinator.revoke_role("uma", role="site_data_entry", site="UTR", reason="left")
    with pytest.raises(PermissionDeniedError, match=r"uma \(no role\)"):
        uma.ingest(reports["UTR"], site="UTR")
    coordinator.add_user("uma", role="site_data_entry", site="UTR", reason="back")
    assert uma.ingest(reports["UTR"], site="UTR").n_unchanged == 16
    coordinator.disable_user("nia", reason="left the trial")
    with pytest.raises(PermissionDeniedError, match="the account nia is disabled"):
        nia.queries(site="NIJ")
    with pytest.raises(StoreError, match="is disabled"):
        coordinator.add_user("nia", role="dmc", reason="r")
    with pytest.raises(StoreError, match="cora is the last coordinator"):
        coordinator.revoke_role("cora", role="coordinator", reason="x")
    with pytest.raises(StoreError, match="cora is the last coordinator"):
        coordinator.disable_user("cora", reason="x")

    # every grant, revocation and disabling is in the trail
    trail.assert_replays(coordinator.engine, USERS, USER_ROLES, SITES)
    updates = _rows(
        coordinator.engine,
        "SELECT a.record_key, a.field, a.old_value, a.new_value, c.user_name, "
        "c.reason FROM audit_log a JOIN changesets c ON c.id = a.changeset_id "
        "WHERE a.action = 'update' AND a.table_name IN ('users', 'user_roles') "
        "ORDER BY a.seq",
    )
    assert [
        (u.record_key, u.field, u.old_value, u.user_name, u.reason) for u in updates
    ] == [
        ("uma/site_data_entry/UTR", "revoked_cs", None, "cora", "left"),
        ("uma/site_data_entry/UTR", "revoked_cs", updates[0].new_value, "cora", "back"),
        ("nia", "disabled_cs", None, "cora", "left the trial"),
    ]
    assert coordinator.verify().ok


def test_queries_are_answered_by_their_site_and_closed_by_a_data_manager(
    sqlite_url: str, reports, make_upload
) -> None:
    from trialdata.validation import validate_folder

    def bad_grade(frames):
        frames["adverse_events"].loc[1, "grade"] = 9

    coordinator = TrialStore.open(sqlite_url, acting_as="cora")
    coordinator.ingest(validate_folder(make_upload("NIJ", edit=bad_grade)), site="NIJ")
    coordinator.add_user("nia", role="site_data_entry", site="NIJ", reason="CRC")
    coordinator.add_user("uma", role="site_data_entry", site="UTR", reason="CRC")
    query = int(coordinator.queries()["id"].iloc[0])
    nia = TrialStore.open(sqlite_url, acting_as="nia")
    uma = TrialStore.open(sqlite_url, acting_as="uma")
    with pytest.raises(PermissionDeniedError, match="site_data_entry of NIJ"):
        uma.answer_query(query, "not ours")
    assert uma.queries().empty  # UTR's data entry does not see NIJ's queries
    assert nia.answer_query(query, "grade 2") == trail.latest_head(nia.engine)
    with pytest.raises(PermissionDeniedError, match="close a query"):
        nia.close_query(query, "done")
    assert coordinator.close_query(query, "accepted") == trail.latest_head(nia.engine)
    closed = coordinator.queries(include_closed=True).iloc[0]
    assert (closed["status"], closed["answered_by"]) == ("closed", "nia")


def test_the_matrix_names_every_action() -> None:
    assert set(PERMISSIONS) == set(Action)
    assert PERMISSIONS[Action.INGEST] == {"site_data_entry", "data_manager"}
    assert PERMISSIONS[Action.SET_PROTOCOL] == {"coordinator"}


@pytest.mark.postgres
def test_on_postgresql_the_acting_user_is_the_database_login(
    pg_url: str, reports
) -> None:
    with pytest.raises(StoreError, match="the acting user is the database login"):
        TrialStore.open(pg_url, acting_as="somebody-else")
    store = TrialStore.open(pg_url)
    with pytest.raises(PermissionDeniedError, match="the database login is"):
        ingest_report(store.engine, reports["NIJ"], site="NIJ", user="somebody-else")
    assert _rows(store.engine, "SELECT id FROM changesets") == []
    store.ingest(reports["NIJ"], site="NIJ")
    assert {r.user_name for r in _rows(store.engine, "SELECT * FROM changesets")} == {
        store.user
    }
    store.close()


@pytest.mark.postgres
def test_users_add_on_postgresql_creates_the_login_and_its_group_role(
    pg_url: str, reports
) -> None:
    login = f"td_user_{uuid.uuid4().hex[:10]}"
    store = TrialStore.open(pg_url)
    try:
        store.ingest(reports["NIJ"], site="NIJ")
        store.add_user(login, role="site_data_entry", site="NIJ", reason="NIJ CRC")
        with store.engine.connect() as conn:
            group = group_roles(conn)["site_data_entry"]
            member = sa.text(
                "SELECT pg_has_role(:login, :group, 'MEMBER') AND "
                "(SELECT rolcanlogin FROM pg_roles WHERE rolname = :login)"
            )
            assert conn.execute(member, {"login": login, "group": group}).scalar()
            conn.exec_driver_sql(f"ALTER ROLE \"{login}\" PASSWORD 'pw-{login}'")
            conn.commit()
        # the person logs in with their own login: the application acts as that login
        url = sa.make_url(pg_url).set(username=login, password=f"pw-{login}")
        with TrialStore.open(url.render_as_string(False), create=False) as person:
            assert person.user == login
            with pytest.raises(PermissionDeniedError, match="for site UTR"):
                person.ingest(reports["UTR"], site="UTR")
            result = person.ingest(reports["NIJ"], site="NIJ")
            assert result.n_unchanged == 16
            assert person.sites() == ["NIJ"]
            with pytest.raises(PermissionDeniedError, match="read the stored trial"):
                person.current_tables()
        last = _rows(store.engine, "SELECT * FROM changesets ORDER BY id DESC")[0]
        assert (last.kind, last.user_name) == ("ingest", login)
        store.revoke_role(login, role="site_data_entry", site="NIJ", reason="left")
        with store.engine.connect() as conn:
            held = sa.text("SELECT pg_has_role(:login, :group, 'MEMBER')")
            assert not conn.execute(held, {"login": login, "group": group}).scalar()
        trail.assert_replays(store.engine, USERS, USER_ROLES)
    finally:
        with store.engine.begin() as conn:
            drop_store_roles(conn)
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{login}"')
        store.close()


def test_account_commands_print_the_audit_head(
    tmp_path: Path, make_upload, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    me = os_user()
    code, out, _ = run(capsys, "users", "list")
    assert code == 2  # no store yet: listing never creates one
    code, out, err = run(capsys, "sites", "add", "AMS", "--name", "Amsterdam")
    assert code == 2 and "Missing option '--reason'" in err
    code, out, _ = run(
        capsys, "sites", "add", "AMS", "--name", "Amsterdam", "--reason", "new site"
    )
    head = re.search(r"audit head ([0-9a-f]{64})", out)
    assert code == 0 and head and "site AMS added" in out
    with TrialStore.open("trialdata.sqlite") as store:
        assert head.group(1) == trail.latest_head(store.engine)
        assert store.users()["user_name"].unique().tolist() == [me]
    commands = (
        ("users", "add", "nia", "--role", "site_data_entry", "--site", "AMS"),
        ("users", "add", "stan", "--role", "statistician", "--full-name", "Stan S"),
        ("users", "revoke", "nia", "--role", "site_data_entry", "--site", "AMS"),
        ("users", "disable", "stan"),
    )
    for command in commands:
        code, out, err = run(capsys, *command, "--reason", "delegation log")
        assert code == 0, err
        with TrialStore.open("trialdata.sqlite") as store:
            assert f"audit head {trail.latest_head(store.engine)}" in out
    code, out, _ = run(capsys, "users", "list", "--all")
    assert code == 0
    assert f"{me}: coordinator (granted in changeset 1)" in out
    assert "nia: site_data_entry at AMS (granted in changeset 3, revoked in" in out
    assert "stan (Stan S) [disabled]: statistician" in out
    code, out, _ = run(capsys, "sites", "list")
    assert code == 0 and "AMS (Amsterdam): added in changeset 2" in out
    code, _, err = run(capsys, "users", "add", "eve", "--role", "dmc", "--user", me)
    assert code == 2 and "No such option: --user" in err


def test_data_commands_print_the_audit_head(
    tmp_path: Path, make_upload, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)

    def bad_grade(frames):
        frames["adverse_events"].loc[1, "grade"] = 9

    def printed_head(out: str) -> str:
        found = re.findall(r"audit head ([0-9a-f]{64})", out)
        assert len(found) == 1, out
        with TrialStore.open("trialdata.sqlite") as store:
            assert found[0] == trail.latest_head(store.engine)
        return found[0]

    code, out, _ = run(
        capsys, "ingest", str(make_upload("NIJ", edit=bad_grade)), "--site", "NIJ"
    )
    assert code == 1
    heads = [printed_head(out)]
    run(
        capsys,
        "users",
        "add",
        os_user(),
        "--role",
        "site_data_entry",
        "--site",
        "NIJ",
        "--reason",
        "CRC",
    )
    with TrialStore.open("trialdata.sqlite") as store:
        query = str(int(store.queries()["id"].iloc[0]))
    for command in (
        ("queries", "answer", query, "--text", "grade 2"),
        ("queries", "close", query, "--text", "accepted"),
        ("delete", "labs", "N01|ALT|2025-02-17", "--site", "NIJ", "--reason", "twice"),
        ("freeze", "--label", "v1", "--allow-errors"),
    ):
        code, out, err = run(capsys, *command)
        assert code == 0, err
        heads.append(printed_head(out))
    assert len(set(heads)) == len(heads)  # each write moved the head
    code, out, _ = run(capsys, "audit", "verify", "--expect-head", heads[0])
    assert code == 0, out
