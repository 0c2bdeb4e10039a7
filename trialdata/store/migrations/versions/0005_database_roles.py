"""Database roles: privileges, row-level security and role functions (PostgreSQL).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

On PostgreSQL: row-level security and its policies on the tables with site-specific
rows, and the store's role functions (site scope of the session, next free key, the
group roles with their privileges, logins and their memberships), all owned by the
role that runs the migration, the store owner. The statements come from
:func:`trialdata.store.row_security.install_sql` for the tables present at this
revision; a later migration that adds a table re-runs it, so that the table gets its
privileges and policies. The group roles themselves are created on demand
(:mod:`trialdata.store.database_roles`). On SQLite, which has no roles, nothing is
done: the store file's owner-only permissions are the boundary there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trialdata.store.row_security import drop_sql, install_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _tables(bind: sa.Connection) -> dict[str, list[str]]:
    inspector = sa.inspect(bind)
    return {
        name: [column["name"] for column in inspector.get_columns(name)]
        for name in inspector.get_table_names()
    }


def upgrade() -> None:
    """Install row-level security and the role functions on PostgreSQL."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    database = bind.execute(sa.text("SELECT current_database()")).scalar_one()
    for statement in install_sql(schema, database, _tables(bind)):
        op.execute(statement)


def downgrade() -> None:
    """Remove the policies and functions (group roles: ``drop_store_roles``)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for statement in drop_sql(_tables(bind)):
        op.execute(statement)
