"""Database triggers that make the audit tables append-only and record versions fixed.

The database itself refuses what the application never does, so that a bug or a
person with SQL access cannot quietly rewrite history:

- append-only tables (the audit log, changesets, submissions and their files,
  snapshots): every ``UPDATE`` and ``DELETE`` (and on PostgreSQL ``TRUNCATE``) raises;
- record tables: a version's data columns never change and versions are never
  deleted; only ``_ended_cs`` may be set, once, from NULL, when a later changeset
  replaces or deletes the record.

SQLite and PostgreSQL get equivalent triggers; the statements are produced here and
run by the Alembic migrations.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["APPEND_ONLY_TABLES", "append_only_sql", "versioned_sql"]

#: Tables that only ever grow.
APPEND_ONLY_TABLES: tuple[str, ...] = (
    "audit_log",
    "changesets",
    "submissions",
    "submission_files",
    "snapshots",
)

_PG_FUNCTIONS = (
    """
CREATE OR REPLACE FUNCTION trialdata_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'trialdata: % is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$
""",
    """
CREATE OR REPLACE FUNCTION trialdata_refuse_reopen() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD._ended_cs IS NOT NULL THEN
        RAISE EXCEPTION 'trialdata: % version % is already ended: UPDATE refused',
            TG_TABLE_NAME, OLD._rid;
    END IF;
    RETURN NEW;
END
$$
""",
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def append_only_sql(dialect: str, table: str) -> list[str]:
    """Return the statements that make a table append-only.

    Parameters
    ----------
    dialect : str
        ``"sqlite"`` or ``"postgresql"``.
    table : str
        Table name.

    Returns
    -------
    list of str
        DDL statements, in order.
    """
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'trialdata: {table} is append-only: "
            f"{op} refused'); END"
            for op in ("UPDATE", "DELETE")
        ]
    if dialect == "postgresql":
        return [
            *_PG_FUNCTIONS,
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION trialdata_refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION trialdata_refuse_change()",
        ]
    raise ValueError(f"no triggers for database dialect {dialect!r}")


def versioned_sql(dialect: str, table: str, fixed_columns: Sequence[str]) -> list[str]:
    """Return the statements that protect a versioned record table.

    Parameters
    ----------
    dialect : str
        ``"sqlite"`` or ``"postgresql"``.
    table : str
        Record table name.
    fixed_columns : sequence of str
        Every column except ``_ended_cs``: they never change once written.

    Returns
    -------
    list of str
        DDL statements, in order.
    """
    fixed = ", ".join(_quote(c) for c in fixed_columns)
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_fixed BEFORE UPDATE OF {fixed} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'trialdata: {table} versions are fixed: "
            "UPDATE refused'); END",
            f"CREATE TRIGGER {table}_end_once BEFORE UPDATE OF _ended_cs ON {table} "
            "WHEN OLD._ended_cs IS NOT NULL "
            f"BEGIN SELECT RAISE(ABORT, 'trialdata: {table} version is already "
            "ended: UPDATE refused'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'trialdata: {table} versions are kept: "
            "DELETE refused'); END",
        ]
    if dialect == "postgresql":
        return [
            *_PG_FUNCTIONS,
            f"CREATE TRIGGER {table}_fixed BEFORE UPDATE OF {fixed} ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION trialdata_refuse_change()",
            f"CREATE TRIGGER {table}_end_once BEFORE UPDATE OF _ended_cs ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION trialdata_refuse_reopen()",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION trialdata_refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION trialdata_refuse_change()",
        ]
    raise ValueError(f"no triggers for database dialect {dialect!r}")
