"""The trial store: audited ingest of site uploads, snapshots, queries, accounts.

The store is a SQL database (SQLite by default, PostgreSQL for real use) reached by
a SQLAlchemy URL. :class:`TrialStore` is the entry point; the modules hold one job
each:

- opening and writing: ``engine`` (URLs, migrations, write lock, WAL, owner-only
  file), ``tables`` (schema), ``triggers`` (append-only enforcement), ``bulk`` and
  ``bulk_rows`` (set-based writes), ``bookkeeping`` (one audited row), ``_ids``;
- who may do what: ``identity`` (the OS user or database login who acts),
  ``accounts`` (roles and the permission matrix), ``account_admin`` (users and
  sites), ``database_roles``, ``row_security`` and ``rls_writes`` (PostgreSQL roles,
  privileges and row-level security);
- what is stored: ``ingest``, ``scope`` (site ownership), ``consistency`` (uploads
  checked against the stored trial), ``protocols`` (the controlled, versioned
  protocol), ``snapshots``, ``signatures`` (electronic signatures), ``export``,
  ``queries``, ``deletes``;
- the audit trail: ``audit`` (hash chain), ``audit_rows`` (how a row is audited),
  ``replay`` (tables rebuilt from the trail), ``guards`` (triggers present and
  enabled), ``anchor`` (signed checkpoints outside the database), ``verify`` (all of
  it in one read transaction).
"""

from trialdata.extras import require_extra

# The store's packages come with the "store" extra: a missing one is named here, once,
# rather than as an ImportError from whichever module imports it first.
for _module in ("sqlalchemy", "alembic"):
    require_extra(_module, "store", "The trial store")

from trialdata.store.audit import VerifyResult, verify_audit  # noqa: E402
from trialdata.store.engine import DEFAULT_STORE_FILE, open_store_engine, resolve_url  # noqa: E402
from trialdata.store.ingest import IngestResult, ingest_report  # noqa: E402
from trialdata.store.snapshots import FreezeRefusedError, Snapshot  # noqa: E402
from trialdata.store.store import TrialStore  # noqa: E402

__all__ = [
    "DEFAULT_STORE_FILE",
    "FreezeRefusedError",
    "IngestResult",
    "Snapshot",
    "TrialStore",
    "VerifyResult",
    "ingest_report",
    "open_store_engine",
    "resolve_url",
    "verify_audit",
]
