"""Check that the store's protective triggers are in place, enabled and unchanged.

The triggers that keep the audit tables append-only and record versions fixed
(:mod:`trialdata.store.triggers`) are only worth something while they exist. Someone
with owner rights can drop one, disable it (PostgreSQL ``ALTER TABLE ... DISABLE
TRIGGER``) or replace it by one that does nothing. :func:`check_triggers` compares
the store with what its migrations create:

- the expected triggers are read from a scratch SQLite store migrated to the same
  revision (so a trigger a later migration adds is expected too, without a list to
  keep up to date here);
- on SQLite each trigger's SQL must be the migration's, statement for statement;
- on PostgreSQL each trigger must exist on its table in the store's schema, be
  enabled (``pg_trigger.tgenabled``), fire on the same events and columns at the same
  time for each row or statement (``tgtype``, ``tgattr``) and call the store's
  function, whose source must be the one the migrations install.
"""

from __future__ import annotations

import functools
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from trialdata.store import triggers

__all__ = ["ExpectedTrigger", "check_triggers", "expected_triggers"]


@dataclass(frozen=True)
class ExpectedTrigger:
    """One trigger the migrations create (as on SQLite).

    Attributes
    ----------
    name : str
        Trigger name.
    table : str
        Its table.
    sql : str
        Its SQLite statement, whitespace normalised.
    """

    name: str
    table: str
    sql: str


def _normal(sql: str | None) -> str:
    return " ".join((sql or "").split())


@functools.lru_cache(maxsize=1)
def expected_triggers() -> tuple[ExpectedTrigger, ...]:
    """Return the triggers the migrations create, read from a scratch SQLite store.

    Returns
    -------
    tuple of ExpectedTrigger
        Sorted by table and name.
    """
    from trialdata.store.engine import open_store_engine

    with tempfile.TemporaryDirectory(prefix="trialdata-guards-") as folder:
        engine = open_store_engine(f"sqlite:///{Path(folder) / 'scratch.sqlite'}")
        try:
            with engine.connect() as conn:
                rows = conn.exec_driver_sql(
                    "SELECT name, tbl_name, sql FROM sqlite_master "
                    "WHERE type = 'trigger' ORDER BY tbl_name, name"
                ).all()
        finally:
            engine.dispose()
    return tuple(ExpectedTrigger(str(n), str(t), _normal(s)) for n, t, s in rows)


def check_triggers(conn: sa.Connection) -> list[str]:
    """Return one problem per protective trigger missing, disabled or changed.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.

    Returns
    -------
    list of str
        Problems, each naming the table and the trigger; empty when all are in
        place.
    """
    if conn.dialect.name == "sqlite":
        return _check_sqlite(conn)
    if conn.dialect.name == "postgresql":
        return _check_postgresql(conn)
    return [f"cannot check the triggers of a {conn.dialect.name} database"]


def _check_sqlite(conn: sa.Connection) -> list[str]:
    present = {
        str(name): (str(table), _normal(sql))
        for name, table, sql in conn.exec_driver_sql(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"
        ).all()
    }
    problems = []
    for trigger in expected_triggers():
        found = present.get(trigger.name)
        if found is None:
            problems.append(
                f"{trigger.table}: trigger {trigger.name} is missing (dropped): the "
                "table is no longer protected"
            )
        elif found != (trigger.table, trigger.sql):
            problems.append(
                f"{trigger.table}: trigger {trigger.name} was replaced: its "
                "definition is not the one the migrations create"
            )
    return problems


#: ``pg_trigger.tgtype`` bits.
_ROW, _BEFORE, _INSERT, _DELETE, _UPDATE, _TRUNCATE = 1, 2, 4, 8, 16, 32

_PG_TRIGGER = re.compile(
    r"CREATE TRIGGER (?P<name>\w+) BEFORE (?P<events>.+?) ON (?P<table>\w+) "
    r"FOR EACH (?P<level>ROW|STATEMENT) EXECUTE FUNCTION (?P<function>\w+)\(\)"
)


@dataclass(frozen=True)
class _PgTrigger:
    name: str
    table: str
    tgtype: int
    columns: frozenset[str] | None
    function: str


def _pg_expected(statement: str) -> _PgTrigger | None:
    match = _PG_TRIGGER.fullmatch(_normal(statement))
    if match is None:
        return None
    tgtype = _BEFORE | (_ROW if match["level"] == "ROW" else 0)
    columns: frozenset[str] | None = None
    for event in match["events"].split(" OR "):
        word, _, rest = event.partition(" OF ")
        tgtype |= {
            "INSERT": _INSERT,
            "DELETE": _DELETE,
            "UPDATE": _UPDATE,
            "TRUNCATE": _TRUNCATE,
        }[word.strip()]
        if rest:
            columns = frozenset(c.strip().strip('"') for c in rest.split(","))
    return _PgTrigger(match["name"], match["table"], tgtype, columns, match["function"])


def _pg_statements(table: str, sqlite: list[ExpectedTrigger]) -> list[str]:
    """Return the PostgreSQL statements the migrations run to protect a table."""
    for trigger in sqlite:
        if trigger.name.endswith("_fixed"):  # a versioned record table
            columns = re.search(r"UPDATE OF (.+?) ON ", trigger.sql)
            fixed = [] if columns is None else columns[1].split(", ")
            names = [c.strip().strip('"') for c in fixed]
            return triggers.versioned_sql("postgresql", table, names)
    return triggers.append_only_sql("postgresql", table)


def _function_sources() -> dict[str, str]:
    """Return the trigger functions and their source, as the migrations write them."""
    sources = {}
    for statement in triggers.append_only_sql("postgresql", "x")[:-2]:
        match = re.search(r"FUNCTION (\w+)\(\).*?\$\$(.*)\$\$", statement, re.S)
        if match is not None:
            sources[match[1]] = _normal(match[2])
    return sources


def _check_postgresql(conn: sa.Connection) -> list[str]:
    by_table: dict[str, list[ExpectedTrigger]] = {}
    for trigger in expected_triggers():
        by_table.setdefault(trigger.table, []).append(trigger)
    expected: dict[str, _PgTrigger] = {}
    for table, sqlite in by_table.items():
        for statement in _pg_statements(table, sqlite):
            parsed = _pg_expected(statement)
            if parsed is not None:
                expected[parsed.name] = parsed
    rows = conn.execute(
        sa.text(
            "SELECT t.tgname, c.relname, t.tgenabled, t.tgtype, p.proname, p.prosrc, "
            "ARRAY(SELECT a.attname::text FROM pg_attribute a "
            "      WHERE a.attrelid = t.tgrelid AND a.attnum = ANY(t.tgattr)) "
            "FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE n.nspname = current_schema() AND NOT t.tgisinternal"
        )
    ).all()
    present = {str(row[0]): row for row in rows}
    sources = _function_sources()
    problems: list[str] = []
    replaced: set[str] = set()
    for name, want in sorted(expected.items(), key=lambda kv: (kv[1].table, kv[0])):
        row = present.get(name)
        where = f"{want.table}: trigger {name}"
        if row is None:
            problems.append(
                f"{where} is missing (dropped): the table is no longer protected"
            )
            continue
        _, table, enabled, tgtype, function, source, columns = row
        if str(enabled) not in ("O", "A"):
            problems.append(
                f"{where} is disabled (tgenabled {str(enabled)!r}): the table is no "
                "longer protected"
            )
        if str(table) != want.table or int(tgtype) != want.tgtype:
            problems.append(f"{where} was replaced: it fires on other events")
        if want.columns is not None and frozenset(columns or ()) != want.columns:
            problems.append(f"{where} was replaced: it guards other columns")
        if str(function) != want.function:
            problems.append(f"{where} was replaced: it calls {function}()")
        elif _normal(source) != sources.get(want.function, _normal(source)):
            replaced.add(str(function))
    problems.extend(
        f"function {function}() of the store's triggers was replaced by one that "
        "does not refuse the change: no table it guards is protected"
        for function in sorted(replaced)
    )
    return problems
