"""Test helper: replay a bookkeeping table from the audit trail, compare with the table.

The contract of :mod:`trialdata.store.audit_rows`: a ``create`` entry holds the whole
row as JSON under :func:`row_key`, an ``update`` entry one column's new value as
:func:`value_text`. Replaying them must give the table exactly.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from trialdata.store.audit_rows import row_json, row_key, value_text
from trialdata.store.tables import AUDIT_LOG


def replayed(conn: sa.Connection, table: sa.Table) -> dict[str, dict[str, str | None]]:
    """Return the table as its audit entries build it: key -> column -> value text."""
    rows: dict[str, dict[str, str | None]] = {}
    entries = conn.execute(
        sa.select(
            AUDIT_LOG.c.action,
            AUDIT_LOG.c.record_key,
            AUDIT_LOG.c.field,
            AUDIT_LOG.c.new_value,
        )
        .where(AUDIT_LOG.c.table_name == table.name)
        .order_by(AUDIT_LOG.c.seq)
    )
    for action, key, field, new in entries:
        if action == "create":
            assert key not in rows, f"{table.name} {key} created twice"
            rows[key] = {k: value_text(v) for k, v in json.loads(new).items()}
        else:
            assert action == "update" and key in rows, (action, table.name, key)
            rows[key][field] = new
    return rows


def stored(conn: sa.Connection, table: sa.Table) -> dict[str, dict[str, str | None]]:
    """Return the table's rows: key -> column -> value text."""
    out = {}
    for row in conn.execute(sa.select(table)):
        values = dict(row._mapping)
        out[row_key(table, values)] = {
            k: value_text(v) for k, v in json.loads(row_json(table, values)).items()
        }
    return out


def assert_replays(engine: sa.Engine, *tables: sa.Table) -> None:
    """Assert that replaying the trail reproduces each table exactly (and non-empty)."""
    with engine.connect() as conn:
        for table in tables:
            rows = stored(conn, table)
            assert rows, f"{table.name} is empty"
            assert replayed(conn, table) == rows, table.name


def latest_head(engine: sa.Engine) -> str:
    """Return the head hash recorded by the last changeset."""
    with engine.connect() as conn:
        return str(
            conn.exec_driver_sql(
                "SELECT head_hash FROM changesets ORDER BY id DESC LIMIT 1"
            ).scalar_one()
        )
