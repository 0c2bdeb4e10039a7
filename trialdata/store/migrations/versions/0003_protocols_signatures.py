"""Protocols and signatures: the controlled protocol, versioned, and e-signatures.

Creates ``protocols`` (one row per protocol version) and ``signatures`` (electronic
signatures of snapshots and report releases), both append-only (the same triggers as
the audit tables), and adds ``snapshots.protocol_version`` (the stored protocol
version a snapshot was frozen with; NULL for snapshots frozen before this revision).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trialdata.store.triggers import append_only_sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

#: Tables of this revision that only ever grow (triggers refuse UPDATE and DELETE).
APPEND_ONLY: tuple[str, ...] = ("protocols", "signatures")


def upgrade() -> None:
    """Create ``protocols`` and ``signatures``; add ``snapshots.protocol_version``."""
    op.create_table(
        "protocols",
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("changeset_id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Text(), nullable=False),
        sa.Column("user_name", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("toml", sa.Text(), nullable=False),
        sa.Column("changes", sa.Text()),
    )
    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("changeset_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("snapshot_label", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.Text(), nullable=False),
        sa.Column("report_name", sa.Text()),
        sa.Column("report_sha256", sa.Text()),
        sa.Column("signer", sa.Text(), nullable=False),
        sa.Column("signer_name", sa.Text()),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("meaning", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text()),
    )
    op.add_column("snapshots", sa.Column("protocol_version", sa.Integer()))
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for statement in append_only_sql(dialect, table):
            op.execute(statement)


def downgrade() -> None:
    """Drop the tables and the column again."""
    op.drop_column("snapshots", "protocol_version")
    op.drop_table("signatures")
    op.drop_table("protocols")
