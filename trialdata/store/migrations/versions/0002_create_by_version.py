"""Creates of record versions refer to the version instead of repeating its values.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Adds ``audit_log.version_rid``: for a ``create`` entry of a domain record it holds the
``_rid`` of the version row in ``rec_<table_name>`` (whose values the entry's hash
covers, see :mod:`trialdata.store.audit`), and ``new_value`` stays NULL. Entries
written before this revision keep their values in ``new_value``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the version reference of create entries."""
    op.add_column("audit_log", sa.Column("version_rid", sa.BigInteger()))


def downgrade() -> None:
    """Refuse: entries written since may depend on the reference."""
    raise RuntimeError("the trial store cannot be downgraded")
