"""SQLAlchemy Core metadata of the trial store.

Bookkeeping tables (submissions, changesets, the audit log, quarantine, findings,
queries, snapshots) plus one versioned record table per domain, ``rec_<domain>``,
generated from :data:`schemas.domains.DOMAINS`. A record table holds every version of
every record: a version is created by one changeset (``_created_cs``) and, when it is
replaced or deleted, ended by a later one (``_ended_cs``). The current data are the
versions with ``_ended_cs IS NULL``; a snapshot frozen after changeset ``c`` is the set
of versions with ``_created_cs <= c`` and (``_ended_cs IS NULL`` or ``_ended_cs > c``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from schemas.domains import DOMAINS, DomainSpec

__all__ = [
    "AUDIT_LOG",
    "BIG_KEY",
    "CHANGESETS",
    "FINDINGS",
    "PROTOCOLS",
    "QUARANTINE",
    "QUERIES",
    "RECORD_COLUMNS",
    "ROLES",
    "SIGNATURES",
    "SITES",
    "SNAPSHOTS",
    "SUBMISSIONS",
    "SUBMISSION_FILES",
    "USERS",
    "USER_ROLES",
    "metadata",
    "record_table",
    "record_table_name",
]

metadata = sa.MetaData()

#: 64-bit integer key; plain INTEGER on SQLite so that it is the rowid (no extra index).
BIG_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: Bookkeeping columns of every record table, after the domain's own columns.
RECORD_COLUMNS: tuple[str, ...] = (
    "_key",
    "_site_id",
    "_created_cs",
    "_ended_cs",
    "_submission_id",
    "_source_file",
    "_source_row",
)

SUBMISSIONS = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("changeset_id", sa.Integer, nullable=False),
    sa.Column("site_id", sa.Text, nullable=False),
    sa.Column("trial_id", sa.Text, nullable=False),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("received_at", sa.Text, nullable=False),
    sa.Column("folder", sa.Text, nullable=False),
    sa.Column("protocol_toml", sa.Text, nullable=False),
    sa.Column("protocol_sha256", sa.Text, nullable=False),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("n_created", sa.Integer, nullable=False),
    sa.Column("n_updated", sa.Integer, nullable=False),
    sa.Column("n_unchanged", sa.Integer, nullable=False),
    sa.Column("n_quarantined", sa.Integer, nullable=False),
    sa.Column("n_released", sa.Integer, nullable=False),
    sa.Column("n_findings", sa.Integer, nullable=False),
)

SUBMISSION_FILES = sa.Table(
    "submission_files",
    metadata,
    sa.Column("submission_id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("domain", sa.Text),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("n_rows", sa.Integer, nullable=False),
)

CHANGESETS = sa.Table(
    "changesets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("submission_id", sa.Integer),
    sa.Column("first_seq", sa.BigInteger),
    sa.Column("last_seq", sa.BigInteger),
    sa.Column("n_entries", sa.BigInteger, nullable=False),
    sa.Column("head_hash", sa.Text, nullable=False),
)

AUDIT_LOG = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", BIG_KEY, primary_key=True, autoincrement=False),
    sa.Column("changeset_id", sa.Integer, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("table_name", sa.Text, nullable=False),
    sa.Column("record_key", sa.Text, nullable=False),
    sa.Column("field", sa.Text),
    sa.Column("old_value", sa.Text),
    sa.Column("new_value", sa.Text),
    sa.Column("hash", sa.Text, nullable=False),
)

QUARANTINE = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("submission_id", sa.Integer, nullable=False),
    sa.Column("domain", sa.Text, nullable=False),
    sa.Column("record_key", sa.Text, nullable=False),
    sa.Column("site_id", sa.Text, nullable=False),
    sa.Column("subject_id", sa.Text),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("source_row", sa.Integer),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("resolved_cs", sa.Integer),
)

FINDINGS = sa.Table(
    "findings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("submission_id", sa.Integer, nullable=False),
    sa.Column("site_id", sa.Text, nullable=False),
    sa.Column("domain", sa.Text, nullable=False),
    sa.Column("file", sa.Text),
    sa.Column("row", sa.Integer),
    sa.Column("subject_id", sa.Text),
    sa.Column("column", sa.Text),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("value", sa.Text),
    sa.Column("record_key", sa.Text),
    sa.Column("query_id", sa.Integer),
)

QUERIES = sa.Table(
    "queries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("identity", sa.Text, nullable=False),
    sa.Column("site_id", sa.Text, nullable=False),
    sa.Column("domain", sa.Text, nullable=False),
    sa.Column("subject_id", sa.Text),
    sa.Column("record_key", sa.Text),
    sa.Column("column", sa.Text),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("value", sa.Text),
    sa.Column("file", sa.Text),
    sa.Column("row", sa.Integer),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("opened_submission_id", sa.Integer, nullable=False),
    sa.Column("last_submission_id", sa.Integer, nullable=False),
    sa.Column("closed_cs", sa.Integer),
    sa.Column("answer", sa.Text),
    sa.Column("answered_by", sa.Text),
    sa.Column("answered_at", sa.Text),
)

SNAPSHOTS = sa.Table(
    "snapshots",
    metadata,
    sa.Column("label", sa.Text, primary_key=True),
    sa.Column("changeset_id", sa.Integer, nullable=False),
    sa.Column("through_cs", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("protocol_toml", sa.Text, nullable=False),
    sa.Column("content_sha256", sa.Text, nullable=False),
    sa.Column("row_counts", sa.Text, nullable=False),
    # the stored protocol version frozen with it (migration 0003; NULL before)
    sa.Column("protocol_version", sa.Integer),
)

#: Roles a user can hold (``user_roles.role``).
ROLES: tuple[str, ...] = (
    "coordinator",
    "data_manager",
    "site_data_entry",
    "statistician",
    "dmc",
)

SITES = sa.Table(
    "sites",
    metadata,
    sa.Column("site_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("created_cs", sa.Integer, nullable=False),
)

USERS = sa.Table(
    "users",
    metadata,
    sa.Column("user_name", sa.Text, primary_key=True),
    sa.Column("full_name", sa.Text),
    sa.Column("created_cs", sa.Integer, nullable=False),
    sa.Column("disabled_cs", sa.Integer),
)

#: One row per grant of a role to a user; ``site_id`` ``*`` means every site. A grant
#: is withdrawn by setting ``revoked_cs``, never by deleting the row.
USER_ROLES = sa.Table(
    "user_roles",
    metadata,
    sa.Column("user_name", sa.Text, primary_key=True),
    sa.Column("role", sa.Text, primary_key=True),
    sa.Column("site_id", sa.Text, primary_key=True),
    sa.Column("granted_cs", sa.Integer, nullable=False),
    sa.Column("revoked_cs", sa.Integer),
)

#: Versions of the trial's protocol (migration 0003). A version is never changed: a
#: change is a new version, made by a coordinator with a reason; ``changes`` lists
#: what differs from the version before, one ``field: old -> new`` per line.
PROTOCOLS = sa.Table(
    "protocols",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("changeset_id", sa.Integer, nullable=False),
    sa.Column("trial_id", sa.Text, nullable=False),
    sa.Column("user_name", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("toml", sa.Text, nullable=False),
    sa.Column("changes", sa.Text),
)

#: Electronic signatures of snapshots and report releases (migration 0003), bound
#: to the snapshot's content hash (and a report file's SHA-256); ``signed_at`` is
#: the database server's UTC time.
SIGNATURES = sa.Table(
    "signatures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("changeset_id", sa.Integer, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("snapshot_label", sa.Text, nullable=False),
    sa.Column("content_sha256", sa.Text, nullable=False),
    sa.Column("report_name", sa.Text),
    sa.Column("report_sha256", sa.Text),
    sa.Column("signer", sa.Text, nullable=False),
    sa.Column("signer_name", sa.Text),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("meaning", sa.Text, nullable=False),
    sa.Column("signed_at", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
)

_KIND_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "string": sa.Text(),
    "integer": sa.BigInteger(),
    "float": sa.Float(precision=53),
    "boolean": sa.Boolean(),
    "datetime": sa.DateTime(),
}


def record_table_name(domain: str) -> str:
    """Return the name of a domain's record table.

    Parameters
    ----------
    domain : str
        Domain name.

    Returns
    -------
    str
        ``rec_<domain>``.
    """
    return f"rec_{domain}"


def _record_table(spec: DomainSpec) -> sa.Table:
    columns = [
        sa.Column(name, _KIND_TYPES[spec.column_kinds[name]]) for name in spec.columns
    ]
    return sa.Table(
        record_table_name(spec.name),
        metadata,
        sa.Column("_rid", BIG_KEY, primary_key=True, autoincrement=False),
        *columns,
        sa.Column("_key", sa.Text, nullable=False),
        sa.Column("_site_id", sa.Text, nullable=False),
        sa.Column("_created_cs", sa.Integer, nullable=False),
        sa.Column("_ended_cs", sa.Integer),
        sa.Column("_submission_id", sa.Integer),
        sa.Column("_source_file", sa.Text),
        sa.Column("_source_row", sa.Integer),
        # values the typed columns do not hold as written (migration 0004; see
        # trialdata.store.codec): a UTC offset, a negative zero
        sa.Column("_exact", sa.Text),
    )


_RECORD_TABLES: dict[str, sa.Table] = {
    spec.name: _record_table(spec) for spec in DOMAINS
}


def record_table(domain: str) -> sa.Table:
    """Return the record table of a domain.

    Parameters
    ----------
    domain : str
        Domain name.

    Returns
    -------
    sqlalchemy.Table
        The versioned record table ``rec_<domain>``.
    """
    return _RECORD_TABLES[domain]
