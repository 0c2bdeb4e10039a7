"""Deleting records: an explicit, audited action that ends the current version."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa

from schemas.domains import get_domain
from trialdata.errors import StoreError
from trialdata.store.accounts import Action, require
from trialdata.store.audit import AuditWriter
from trialdata.store.bulk import bulk_update
from trialdata.store.codec import json_objects, text_columns
from trialdata.store.engine import write_transaction
from trialdata.store.records import read_versions
from trialdata.store.tables import record_table_name

__all__ = ["delete_records"]


def delete_records(
    engine: sa.Engine,
    domain: str,
    keys: Sequence[str],
    *,
    site: str,
    user: str,
    reason: str,
) -> str:
    """Delete records of a site: end their current version, keep their history.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The store.
    domain : str
        Domain of the records.
    keys : sequence of str
        Record keys (key values joined by ``|``, as in the audit trail).
    site : str
        The site whose records they are; it must own every record.
    user : str
        Who deletes; a data manager (see :mod:`trialdata.store.accounts`).
    reason : str
        Why; required.

    Returns
    -------
    str
        The audit chain head after the deletion.

    Raises
    ------
    StoreError
        When the reason is empty, a key is not a current record, or a record belongs
        to another site. Nothing is deleted then.
    """
    if not reason or not reason.strip():
        raise StoreError("deleting records needs a reason")
    keys = list(dict.fromkeys(keys))  # a key named twice is deleted once
    if not keys:  # a changeset without entries would be vouched for by nothing
        raise StoreError("no record key given: nothing to delete")
    try:
        spec = get_domain(domain)
    except KeyError as error:
        raise StoreError(str(error.args[0])) from None
    with write_transaction(engine) as conn:
        require(conn, user, Action.DELETE, site=site)
        current = read_versions(conn, spec)
        position = {k: i for i, k in enumerate(current["_key"].astype(str))}
        missing = [k for k in keys if k not in position]
        if missing:
            raise StoreError(
                f"{domain}: no current record with key {', '.join(missing[:20])}"
            )
        rows = np.asarray([position[k] for k in keys], dtype=int)
        owners = current["_site_id"].to_numpy(dtype=object)[rows]
        foreign = [
            f"{k} (site {o})" for k, o in zip(keys, owners, strict=True) if o != site
        ]
        if foreign:
            raise StoreError(
                f"{domain}: site {site} cannot delete records of other sites: "
                + ", ".join(foreign[:20])
            )
        audit = AuditWriter.start(conn, kind="delete", user=user, reason=reason.strip())
        old = json_objects(text_columns(current.iloc[rows], spec), spec.columns)
        bulk_update(
            conn,
            record_table_name(domain),
            "_ended_cs",
            audit.changeset_id,
            "_rid",
            current["_rid"].to_numpy(dtype=object)[rows].tolist(),
        )
        audit.add("delete", domain, np.asarray(list(keys), dtype=object), old=old)
        audit.close(conn)
    return audit.head
