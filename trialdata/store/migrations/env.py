"""Alembic environment of the trial store.

Migrations run on a connection handed over by :func:`trialdata.store.engine.upgrade`
through ``config.attributes["connection"]``; offline (SQL script) mode is not used.
"""

from __future__ import annotations

from alembic import context

from trialdata.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "trialdata store migrations run through trialdata.store.engine.upgrade()"
    )
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
