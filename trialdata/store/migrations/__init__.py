"""Alembic migrations of the trial store, run when a store is opened."""
