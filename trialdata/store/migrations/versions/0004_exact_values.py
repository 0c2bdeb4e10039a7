"""Exact values: the ``_exact`` column of every record table.

A record table's typed columns cannot hold every value as a site wrote it: a
date-time written with a UTC offset is stored as its instant in UTC (the offset would
be lost), and SQLite stores -0.0 in a float column as 0. ``_exact`` holds, for the
rows that have such values, a JSON object of their canonical text (see
:mod:`trialdata.store.codec`); it is NULL for every other row. The column is fixed
once written, as the domain columns are: the ``<table>_fixed`` trigger is made again
with it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trialdata.store.triggers import versioned_sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: The record tables of this revision.
RECORD_TABLES: tuple[str, ...] = (
    "rec_subjects",
    "rec_cohorts",
    "rec_product_lots",
    "rec_administrations",
    "rec_adverse_events",
    "rec_labs",
    "rec_mri",
    "rec_biobank_samples",
    "rec_custody_events",
    "rec_immunomonitoring",
    "rec_disease_assessments",
    "rec_survival_status",
)

_EXACT = "_exact"


def _remake_fixed_trigger(table: str, *, make_again: bool) -> None:
    """Drop the table's ``_fixed`` trigger and make it again over its columns."""
    bind = op.get_bind()
    dialect = bind.dialect.name
    name = f"{table}_fixed"
    if dialect == "postgresql":
        op.execute(f'DROP TRIGGER IF EXISTS {name} ON "{table}"')
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if not make_again:
        return
    columns = [
        column["name"]
        for column in sa.inspect(bind).get_columns(table)
        if column["name"] != "_ended_cs"
    ]
    prefix = f"CREATE TRIGGER {name} "
    for statement in versioned_sql(dialect, table, columns):
        if statement.startswith(prefix):
            op.execute(statement)


def upgrade() -> None:
    """Add ``_exact`` to every record table; keep it fixed by the trigger."""
    for table in RECORD_TABLES:
        op.add_column(table, sa.Column(_EXACT, sa.Text()))
        _remake_fixed_trigger(table, make_again=True)


def downgrade() -> None:
    """Drop ``_exact`` (the fixed trigger is made again without it)."""
    for table in RECORD_TABLES:
        _remake_fixed_trigger(table, make_again=False)
        op.drop_column(table, _EXACT)
        _remake_fixed_trigger(table, make_again=True)
