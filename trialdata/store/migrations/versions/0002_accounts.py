"""Accounts: the trial's sites, its users and the roles they hold.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``sites``, ``users`` and ``user_roles``."""
    op.create_table(
        "sites",
        sa.Column("site_id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("created_cs", sa.Integer(), nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("user_name", sa.Text(), primary_key=True),
        sa.Column("full_name", sa.Text()),
        sa.Column("created_cs", sa.Integer(), nullable=False),
        sa.Column("disabled_cs", sa.Integer()),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_name", sa.Text(), primary_key=True),
        sa.Column("role", sa.Text(), primary_key=True),
        sa.Column("site_id", sa.Text(), primary_key=True),
        sa.Column("granted_cs", sa.Integer(), nullable=False),
        sa.Column("revoked_cs", sa.Integer()),
    )


def downgrade() -> None:
    """Drop the account tables."""
    op.drop_table("user_roles")
    op.drop_table("users")
    op.drop_table("sites")
