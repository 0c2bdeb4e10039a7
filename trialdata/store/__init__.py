"""The trial store: audited ingest of site uploads, snapshots, queries.

The store is a SQL database (SQLite by default, PostgreSQL for real use) reached by
a SQLAlchemy URL. :class:`TrialStore` is the entry point; the modules hold one job
each: ``engine`` (URLs, migrations, write lock), ``tables`` (schema), ``triggers``
(append-only enforcement), ``audit`` (hash chain and verification), ``ingest``,
``scope`` (site ownership), ``consistency`` (uploads checked against the stored
trial, the stored trial validated for a freeze), ``snapshots``, ``export``,
``queries``, ``deletes``.
"""

from trialdata.store.audit import VerifyResult, verify_audit
from trialdata.store.engine import DEFAULT_STORE_FILE, open_store_engine, resolve_url
from trialdata.store.ingest import IngestResult, ingest_report
from trialdata.store.snapshots import FreezeRefusedError, Snapshot
from trialdata.store.store import TrialStore

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
