"""Queries: findings sent back to the site, with a status carried across submissions.

A query is one finding identified by site, domain, record key (or file, for a
file-level finding), column and rule. Its status moves

- ``open`` when an upload first reports the finding;
- ``answered`` when the site answers it (:func:`answer_query`);
- ``closed`` when a later upload of the same domain no longer reports it, or when the
  data manager closes it (:func:`close_query`).

Every status change is an audit entry of the ``queries`` table.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from trialdata.errors import StoreError
from trialdata.io.defuse import defuse_formulas
from trialdata.store._ids import next_id
from trialdata.store.accounts import Action, require
from trialdata.store.audit import AuditWriter
from trialdata.store.bulk_rows import insert_rows, update_rows
from trialdata.store.codec import none_list
from trialdata.store.engine import write_transaction
from trialdata.store.tables import PROTOCOLS, QUERIES, SUBMISSIONS

__all__ = [
    "QUERY_COLUMNS",
    "answer_query",
    "close_query",
    "known_sites",
    "query_list",
    "update_queries",
    "write_query_lists",
]

#: Columns a query takes from the finding that opens it, in order.
_FINDING_FIELDS: tuple[str, ...] = (
    "domain",
    "subject_id",
    "record_key",
    "column",
    "rule",
    "severity",
    "message",
    "value",
    "file",
    "row",
)

#: Columns of a query list, in order.
QUERY_COLUMNS: tuple[str, ...] = (
    "id",
    "status",
    "site_id",
    *_FINDING_FIELDS,
    "opened_submission_id",
    "last_submission_id",
    "answer",
    "answered_by",
    "answered_at",
)

_OPEN = ("open", "answered")

#: Largest query number the ``queries.id`` column holds (INTEGER: 32-bit on
#: PostgreSQL); a larger number cannot name a query.
_MAX_ID = 2**31 - 1


def _identity(findings: pd.DataFrame) -> list[str]:
    where = findings["record_key"].where(
        findings["record_key"].notna(), "file:" + findings["file"].astype(str)
    )
    parts = zip(
        findings["domain"].astype(str),
        where.astype(str),
        findings["column"].fillna("").astype(str),
        findings["rule"].astype(str),
        strict=True,
    )
    return ["\x1f".join(p) for p in parts]


def update_queries(
    conn: sa.Connection,
    findings: pd.DataFrame,
    audit: AuditWriter,
    *,
    site: str,
    submission: int,
    changeset: int,
    domains: Iterable[str],
) -> list[int]:
    """Open, keep or close the site's queries after an upload.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection in the ingest's write transaction.
    findings : pandas.DataFrame
        The upload's findings with ``record_key``.
    audit : AuditWriter
        The ingest's audit writer.
    site : str
        The uploading site.
    submission : int
        The submission.
    changeset : int
        The ingest's changeset.
    domains : iterable of str
        Domains the upload re-checked; open queries of other domains stay open.

    Returns
    -------
    list of int
        Query identifier of each finding, aligned on ``findings``.
    """
    identities = _identity(findings)
    current = pd.read_sql(
        sa.select(QUERIES.c.id, QUERIES.c.identity, QUERIES.c.domain).where(
            QUERIES.c.site_id == site, QUERIES.c.status.in_(_OPEN)
        ),
        conn,
    )
    known = dict(zip(current["identity"], current["id"].astype(int), strict=True))
    first = next_id(conn, QUERIES.c.id)
    ids: list[int] = []
    new_rows: list[int] = []
    assigned: dict[str, int] = {}
    for i, identity in enumerate(identities):
        if identity in known:
            ids.append(known[identity])
        elif identity in assigned:
            ids.append(assigned[identity])
        else:
            assigned[identity] = first + len(new_rows)
            ids.append(assigned[identity])
            new_rows.append(i)
    if new_rows:
        rows = findings.iloc[new_rows]
        n = len(rows)
        insert_rows(  # each query's create entry holds the whole row
            conn,
            audit,
            QUERIES,
            [
                "id",
                "identity",
                "site_id",
                *_FINDING_FIELDS,
                "status",
                "opened_submission_id",
                "last_submission_id",
            ],
            [
                list(range(first, first + n)),
                [identities[i] for i in new_rows],
                [site] * n,
                *(none_list(rows[c]) for c in _FINDING_FIELDS),
                ["open"] * n,
                [submission] * n,
                [submission] * n,
            ],
        )
    seen = set(identities)
    kept = [int(q) for q in set(ids) & set(known.values())]
    if kept:  # an update entry per query, like every change of a column
        update_rows(conn, audit, QUERIES, kept, last_submission_id=submission)
    touched = set(domains)
    closing = current[
        current["domain"].isin(touched).to_numpy()
        & ~current["identity"].isin(seen).to_numpy()
    ]
    if len(closing):
        closed_ids = closing["id"].astype(int).tolist()
        update_rows(
            conn, audit, QUERIES, closed_ids, status="closed", closed_cs=changeset
        )
    return ids


def query_list(
    conn: sa.Connection, *, site: str | None = None, include_closed: bool = False
) -> pd.DataFrame:
    """Return the query list, open and answered queries first by site and id.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    site : str, optional
        Only this site's queries.
    include_closed : bool, optional
        Include closed queries.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`QUERY_COLUMNS`.

    Raises
    ------
    StoreError
        When ``site`` is not a site of the trial in the store.
    """
    if site is not None:
        known = known_sites(conn)
        if site not in known:
            listing = ", ".join(known) if known else "none (nothing ingested yet)"
            raise StoreError(
                f"site {site!r} is unknown to this store; sites: {listing}"
            )
    query = sa.select(*(QUERIES.c[c] for c in QUERY_COLUMNS)).order_by(
        QUERIES.c.site_id, QUERIES.c.id
    )
    if site is not None:
        query = query.where(QUERIES.c.site_id == site)
    if not include_closed:
        query = query.where(QUERIES.c.status.in_(_OPEN))
    frame = pd.read_sql(query, conn)
    for name in ("id", "row", "opened_submission_id", "last_submission_id"):
        frame[name] = pd.to_numeric(frame[name]).astype("Int64")
    return frame


def known_sites(conn: sa.Connection) -> list[str]:
    """Return the sites of the trial in a store, sorted.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.

    Returns
    -------
    list of str
        The sites of the stored protocol in force and every site that submitted.
    """
    sites = set(
        conn.execute(sa.select(SUBMISSIONS.c.site_id).distinct()).scalars().all()
    )
    latest = conn.execute(
        sa.select(PROTOCOLS.c.toml).order_by(PROTOCOLS.c.version.desc()).limit(1)
    ).scalar()
    if latest is not None:
        listed = tomllib.loads(str(latest)).get("sites", [])
        sites.update(str(entry["id"]) for entry in listed if "id" in entry)
    return sorted(sites)


def _set_status(
    engine: sa.Engine,
    query_id: int,
    *,
    status: str,
    text: str,
    user: str,
    allowed: tuple[str, ...],
) -> str:
    if not text.strip():
        raise StoreError(f"query {query_id}: the {status} text is empty")
    if not 1 <= query_id <= _MAX_ID:
        raise StoreError(f"query {query_id} does not exist")
    with write_transaction(engine) as conn:
        row = conn.execute(
            sa.select(QUERIES.c.status, QUERIES.c.answer, QUERIES.c.site_id).where(
                QUERIES.c.id == query_id
            )
        ).first()
        if row is None:
            raise StoreError(f"query {query_id} does not exist")
        # answering: the query's site; closing: a data manager
        action = Action.ANSWER_QUERY if status == "answered" else Action.CLOSE_QUERY
        require(conn, user, action, site=str(row.site_id))
        if row.status not in allowed:
            raise StoreError(f"query {query_id} is {row.status}; it cannot be {status}")
        audit = AuditWriter.start(conn, kind="query", user=user, reason=text)
        values: dict[str, object] = {"status": status}
        if status == "answered":
            values.update(answer=text, answered_by=user, answered_at=audit.at)
        else:
            values.update(closed_cs=audit.changeset_id)
        # an update entry per changed column (status, answer, who, when, closed_cs)
        update_rows(conn, audit, QUERIES, [query_id], **values)
        audit.close(conn)
    return audit.head


def answer_query(engine: sa.Engine, query_id: int, text: str, *, user: str) -> str:
    """Record the site's answer to an open query (site_data_entry of its site).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    query_id : int
        The query.
    text : str
        The answer.
    user : str
        Who answers.

    Returns
    -------
    str
        The audit chain head after the answer.

    Raises
    ------
    StoreError
        When the query does not exist or is closed, or the text is empty.
    PermissionDeniedError
        When the user holds no site_data_entry role at the query's site.
    """
    return _set_status(
        engine,
        query_id,
        status="answered",
        text=text,
        user=user,
        allowed=_OPEN,
    )


def close_query(engine: sa.Engine, query_id: int, text: str, *, user: str) -> str:
    """Close a query by hand (the data manager accepts the answer).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    query_id : int
        The query.
    text : str
        Why it is closed.
    user : str
        Who closes it.

    Returns
    -------
    str
        The audit chain head after the change.

    Raises
    ------
    StoreError
        When the query does not exist or is already closed, or the text is empty.
    PermissionDeniedError
        When the user is not a data manager.
    """
    return _set_status(
        engine, query_id, status="closed", text=text, user=user, allowed=_OPEN
    )


def query_output(output: Path) -> tuple[bool, Path]:
    """Check where query lists go: one file, or a folder of one file per site.

    Parameters
    ----------
    output : pathlib.Path
        A ``.csv`` or ``.xlsx`` file, or a folder.

    Returns
    -------
    tuple of (bool, pathlib.Path)
        Whether ``output`` is one file, and the folder the lists are written in.

    Raises
    ------
    StoreError
        When a file stands where a folder is needed, or a folder where the file is.
    """
    one_file = output.suffix.lower() in (".csv", ".xlsx")
    if one_file and output.is_dir():
        raise StoreError(f"{output}: is a folder, not a .csv or .xlsx file")
    folder = output.parent if one_file else output
    in_the_way = next(
        (p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None
    )
    if in_the_way is not None:
        raise StoreError(
            f"{in_the_way}: is a file, not a folder; cannot write the query list "
            f"to {output}"
        )
    return one_file, folder


def write_query_lists(
    queries: pd.DataFrame, output: Path, *, sites: Sequence[str] = ()
) -> list[Path]:
    """Write query lists as CSV and Excel, one pair of files per site.

    Text cells that a spreadsheet would run as a formula get a leading apostrophe.
    Every site in ``sites`` gets its lists, empty when it has no query, so that a
    list written earlier is replaced rather than left to be sent again.

    Parameters
    ----------
    queries : pandas.DataFrame
        A query list (:func:`query_list`).
    output : pathlib.Path
        A folder (``queries_<site>.csv`` and ``.xlsx`` are written there), or a file
        ending in ``.csv`` or ``.xlsx`` (every query in that one file).
    sites : sequence of str, optional
        Sites whose lists are written to a folder even when they have no query.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    StoreError
        When the output cannot be written (a file where a folder is needed, no
        permission, disk full).
    """
    safe = defuse_formulas(queries)
    written: list[Path] = []
    one_file, _ = query_output(output)
    try:
        if one_file:
            output.parent.mkdir(parents=True, exist_ok=True)
            _write(safe, output)
            return [output]
        output.mkdir(parents=True, exist_ok=True)
        for site in sorted({*sites, *safe["site_id"].dropna()}):
            part = safe[safe["site_id"] == site]
            for suffix in (".csv", ".xlsx"):
                path = output / f"queries_{site}{suffix}"
                _write(part, path)
                written.append(path)
    except OSError as error:
        where = error.filename or output
        raise StoreError(
            f"{where}: cannot write the query list: {error.strerror or error}"
        ) from None
    return written


def _write(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix.lower() == ".xlsx":
        frame.to_excel(path, index=False, sheet_name="queries")
    else:
        frame.to_csv(path, index=False)
