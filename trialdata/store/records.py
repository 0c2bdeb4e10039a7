"""Reading record versions: the current data, or the data as of a changeset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from schemas.domains import DomainSpec
from trialdata.store._ids import next_id
from trialdata.store.codec import typed_frame
from trialdata.store.tables import record_table

__all__ = ["next_record_id", "read_versions"]


def read_versions(
    conn: sa.Connection, spec: DomainSpec, *, as_of: int | None = None
) -> pd.DataFrame:
    """Return the versions of a domain's records in force now or after a changeset.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    spec : schemas.domains.DomainSpec
        The domain.
    as_of : int, optional
        Changeset identifier; None for the current versions.

    Returns
    -------
    pandas.DataFrame
        Typed domain columns plus ``_rid``, ``_key``, ``_site_id``, ``_created_cs``,
        ``_submission_id``, ``_source_file`` and ``_source_row``, in the order the
        versions were written.
    """
    table = record_table(spec.name)
    wanted = [table.c[name] for name in ("_rid", *spec.columns)] + [
        table.c._key,
        table.c._site_id,
        table.c._created_cs,
        table.c._submission_id,
        table.c._source_file,
        table.c._source_row,
        table.c._exact,  # exact values, put back by typed_frame
    ]
    query = sa.select(*wanted).order_by(table.c._rid)
    if as_of is None:
        query = query.where(table.c._ended_cs.is_(None))
    else:
        query = query.where(
            table.c._created_cs <= as_of,
            sa.or_(table.c._ended_cs.is_(None), table.c._ended_cs > as_of),
        )
    rows = conn.execute(query).all()
    names = [c.name for c in wanted]
    if rows:
        columns = list(zip(*rows, strict=True))
        raw = pd.DataFrame(
            {
                n: pd.Series(np.asarray(v, dtype=object))
                for n, v in zip(names, columns, strict=True)
            }
        )
    else:
        raw = pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    data = typed_frame(raw, spec)
    for name in ("_rid", "_created_cs", "_submission_id", "_source_row"):
        data[name] = pd.to_numeric(data[name]).astype("Int64")
    return data


def next_record_id(conn: sa.Connection, domain: str) -> int:
    """Return the next free version identifier of a domain's record table.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection holding the write lock.
    domain : str
        Domain name.

    Returns
    -------
    int
        One more than the highest ``_rid``.
    """
    return next_id(conn, record_table(domain).c._rid)
