"""Reading record versions: the current data, or the data as of a changeset."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa

from schemas.domains import DomainSpec
from trialdata.store.codec import json_objects, text_columns, typed_frame
from trialdata.store.tables import record_table

__all__ = ["next_record_id", "read_versions", "version_texts"]


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
    table = record_table(domain)
    return int(conn.execute(sa.select(sa.func.max(table.c._rid))).scalar() or 0) + 1


def version_texts(
    conn: sa.Connection, spec: DomainSpec, rids: Sequence[int]
) -> pd.DataFrame:
    """Return versions by identifier with their canonical text.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    spec : schemas.domains.DomainSpec
        The domain.
    rids : sequence of int
        ``_rid`` of the versions wanted (those missing are left out).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``_rid``: ``_key``, ``_created_cs``, ``json`` (the version's
        values as the compact JSON object that the create entry's hash covers) and
        one column per domain column with its canonical text (None when missing).
    """
    table = record_table(spec.name)
    wanted = sorted({int(r) for r in rids})
    names = ["_rid", *spec.columns, "_key", "_created_cs"]
    out_columns = ["_key", "_created_cs", "json", *spec.columns]
    if not wanted:
        return pd.DataFrame({n: pd.Series(dtype=object) for n in out_columns})
    query = sa.select(*(table.c[n] for n in names)).where(
        table.c._rid.between(wanted[0], wanted[-1])
    )
    chosen = set(wanted)
    rows = [r for r in conn.execute(query).all() if int(r[0]) in chosen]
    raw = pd.DataFrame(
        {
            n: pd.Series(np.asarray(v, dtype=object))
            for n, v in zip(
                names,
                zip(*rows, strict=True) if rows else [[] for _ in names],
                strict=True,
            )
        }
    )
    data = typed_frame(raw, spec)
    text = text_columns(data, spec)
    out = pd.DataFrame(
        {
            "_key": raw["_key"].to_numpy(dtype=object),
            "_created_cs": raw["_created_cs"].to_numpy(dtype=object),
            "json": json_objects(text, spec.columns) if rows else [],
            **{n: text[n] for n in spec.columns},
        },
        index=pd.Index([int(r) for r in raw["_rid"]], name="_rid"),
    )
    return out
