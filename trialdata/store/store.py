"""The :class:`TrialStore` facade: one object per opened store."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from trialdata.store.audit import VerifyResult, verify_audit
from trialdata.store.deletes import delete_records
from trialdata.store.engine import open_store_engine
from trialdata.store.export import export_snapshot
from trialdata.store.ingest import IngestResult, ingest_report
from trialdata.store.queries import answer_query, close_query, known_sites, query_list
from trialdata.store.snapshots import (
    Snapshot,
    freeze,
    list_snapshots,
    read_snapshot,
    read_tables,
)
from trialdata.validation import ValidationReport, validate_folder

__all__ = ["TrialStore"]


class TrialStore:
    """An open trial store.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        Engine of a migrated store; use :meth:`open` to get one.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str | Path | None = None, *, create: bool = True) -> TrialStore:
        """Open (and create or upgrade) a store.

        Parameters
        ----------
        url : str or pathlib.Path, optional
            SQLAlchemy URL or SQLite file; default ``./trialdata.sqlite``.
        create : bool, optional
            Make an empty database or a missing SQLite file a new store (default);
            with False, only an existing store opens.

        Returns
        -------
        TrialStore
            The open store.
        """
        return cls(open_store_engine(url, create=create))

    def close(self) -> None:
        """Release the store's connections."""
        self.engine.dispose()

    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ingest(
        self,
        upload: str | Path | ValidationReport,
        *,
        site: str,
        user: str,
        reason: str | None = None,
    ) -> IngestResult:
        """Validate and store an upload folder (or an already validated report).

        Parameters
        ----------
        upload : str, pathlib.Path or ValidationReport
            The upload folder, or its validation report.
        site : str
            The uploading site.
        user : str
            Who uploads.
        reason : str, optional
            Why; required when stored records change.

        Returns
        -------
        IngestResult
            What was stored.
        """
        report = (
            upload
            if isinstance(upload, ValidationReport)
            else validate_folder(Path(upload))
        )
        return ingest_report(self.engine, report, site=site, user=user, reason=reason)

    def verify(self, *, expected_head: str | None = None) -> VerifyResult:
        """Verify the audit trail (see :func:`trialdata.store.audit.verify_audit`).

        Parameters
        ----------
        expected_head : str, optional
            Head hash kept outside the store.

        Returns
        -------
        VerifyResult
            Problems found, if any.
        """
        with self.engine.connect() as conn:
            return verify_audit(conn, expected_head=expected_head)

    def freeze(
        self,
        label: str,
        *,
        user: str,
        reason: str | None = None,
        allow_errors: bool = False,
    ) -> Snapshot:
        """Freeze the current content under a label (see ``snapshots.freeze``).

        Parameters
        ----------
        label : str
            Unique name.
        user : str
            Who freezes.
        reason : str, optional
            Why.
        allow_errors : bool, optional
            Freeze even when the stored records have error findings, recording
            them with the snapshot (otherwise ``FreezeRefusedError`` is raised).

        Returns
        -------
        Snapshot
            The snapshot.
        """
        return freeze(
            self.engine, label, user=user, reason=reason, allow_errors=allow_errors
        )

    def snapshot(self, label: str) -> Snapshot:
        """Read a snapshot, checking its content hash.

        Parameters
        ----------
        label : str
            The snapshot.

        Returns
        -------
        Snapshot
            Its protocol and tables.
        """
        return read_snapshot(self.engine, label)

    def snapshots(self) -> pd.DataFrame:
        """Return the list of snapshots, oldest first."""
        return list_snapshots(self.engine)

    def current_tables(self) -> dict[str, pd.DataFrame]:
        """Return the current (latest) version of every domain table."""
        with self.engine.connect() as conn:
            return read_tables(conn, None)

    def export(
        self, label: str, folder: str | Path, *, format: str = "csv"
    ) -> list[Path]:
        """Write a snapshot as an upload folder (see ``export.export_snapshot``).

        Parameters
        ----------
        label : str
            The snapshot.
        folder : str or pathlib.Path
            Output folder.
        format : str, optional
            ``csv`` or ``parquet``.

        Returns
        -------
        list of pathlib.Path
            Files written.
        """
        return export_snapshot(self.snapshot(label), Path(folder), format=format)

    def queries(
        self, *, site: str | None = None, include_closed: bool = False
    ) -> pd.DataFrame:
        """Return the query list (see ``queries.query_list``).

        Parameters
        ----------
        site : str, optional
            Only this site.
        include_closed : bool, optional
            Include closed queries.

        Returns
        -------
        pandas.DataFrame
            One row per query.
        """
        with self.engine.connect() as conn:
            return query_list(conn, site=site, include_closed=include_closed)

    def sites(self) -> list[str]:
        """Return the trial's sites: the latest protocol's and every one that submitted.

        Returns
        -------
        list of str
            Sorted site ids.
        """
        with self.engine.connect() as conn:
            return known_sites(conn)

    def answer_query(self, query_id: int, text: str, *, user: str) -> None:
        """Record a site's answer to a query.

        Parameters
        ----------
        query_id : int
            The query.
        text : str
            The answer.
        user : str
            Who answers.
        """
        answer_query(self.engine, query_id, text, user=user)

    def close_query(self, query_id: int, text: str, *, user: str) -> None:
        """Close a query by hand.

        Parameters
        ----------
        query_id : int
            The query.
        text : str
            Why.
        user : str
            Who closes it.
        """
        close_query(self.engine, query_id, text, user=user)

    def delete(
        self, domain: str, keys: Sequence[str], *, site: str, user: str, reason: str
    ) -> str:
        """Delete records of a site (see ``deletes.delete_records``).

        Parameters
        ----------
        domain : str
            Domain.
        keys : sequence of str
            Record keys.
        site : str
            The site asking.
        user : str
            Who.
        reason : str
            Why.

        Returns
        -------
        str
            The audit chain head after the deletion.
        """
        return delete_records(
            self.engine, domain, keys, site=site, user=user, reason=reason
        )
