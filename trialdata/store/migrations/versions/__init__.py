"""Alembic revisions of the trial store, oldest first."""
