"""The :class:`TrialStore` facade: one object per opened store, acting as one user.

Who acts is never an argument of an action: it is the operating-system user on
SQLite and the database login on PostgreSQL (:mod:`trialdata.store.identity`), and
what that user may do is the permission matrix of :mod:`trialdata.store.accounts`.
A trusted process may open a SQLite store ``acting_as`` another account (tests,
scripts run by the store's owner); on PostgreSQL only the login itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from trialdata.errors import InputError
from trialdata.store import account_admin
from trialdata.store.accounts import Action, Grant, readable_sites, require
from trialdata.store.audit import VerifyResult
from trialdata.store.deletes import delete_records
from trialdata.store.engine import open_store_engine
from trialdata.store.export import export_snapshot
from trialdata.store.identity import acting_user
from trialdata.store.ingest import IngestResult, ingest_report
from trialdata.store.protocols import (
    StoredProtocol,
    current_protocol,
    protocol_history,
    protocol_version,
    read_protocol_file,
    set_protocol,
)
from trialdata.store.queries import answer_query, close_query, known_sites, query_list
from trialdata.store.signatures import (
    Signature,
    list_signatures,
    sign,
    verify_signatures,
)
from trialdata.store.snapshots import (
    Snapshot,
    freeze,
    list_snapshots,
    read_snapshot,
    read_tables,
)
from trialdata.store.verify import verify_engine
from trialdata.validation import ValidationReport, validate_folder

__all__ = ["TrialStore"]


class TrialStore:
    """An open trial store, acting as one user.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        Engine of a migrated store; use :meth:`open` to get one.
    user : str, optional
        Who acts; by default the operating-system user (SQLite) or the database
        login (PostgreSQL). See :meth:`open` for ``acting_as``.
    """

    def __init__(self, engine: sa.Engine, *, user: str | None = None) -> None:
        self.engine = engine
        self._user = acting_user(engine, user)

    @classmethod
    def open(
        cls,
        url: str | Path | None = None,
        *,
        create: bool = True,
        acting_as: str | None = None,
    ) -> TrialStore:
        """Open (and create or upgrade) a store.

        Parameters
        ----------
        url : str or pathlib.Path, optional
            SQLAlchemy URL or SQLite file; default ``./trialdata.sqlite``.
        create : bool, optional
            Make an empty database or a missing SQLite file a new store (default);
            with False, only an existing store opens.
        acting_as : str, optional
            Act as this account instead of the operating-system user. For trusted
            processes only (tests, scripts of the store's owner): on SQLite whoever
            can write the file can write anything into it, so this grants nothing
            the file's permissions do not. On PostgreSQL it must be the database
            login. The account must exist (or the store have none yet: the first
            user who writes becomes its coordinator). The command line never uses
            it.

        Returns
        -------
        TrialStore
            The open store.
        """
        engine = open_store_engine(url, create=create)
        try:
            return cls(engine, user=acting_as)
        except BaseException:
            engine.dispose()
            raise

    @property
    def user(self) -> str:
        """The account this store acts as."""
        return self._user

    def close(self) -> None:
        """Release the store's connections."""
        self.engine.dispose()

    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _may(self, action: Action, site: str | None = None) -> Grant | None:
        """Check (read-only, without bootstrapping) that the user may do something."""
        with self.engine.connect() as conn:
            return require(conn, self._user, action, site, bootstrap=False)

    def ingest(
        self,
        upload: str | Path | ValidationReport,
        *,
        site: str,
        reason: str | None = None,
        quarantine_bad_files: bool = False,
    ) -> IngestResult:
        """Validate and store an upload folder (or an already validated report).

        A folder is validated against the store's protocol when it has one (the
        folder's own ``protocol.toml``, if any, is then only compared with it: a
        difference is a finding); otherwise against its own ``protocol.toml``, which
        becomes the store's first protocol version (a coordinator's action).

        Parameters
        ----------
        upload : str, pathlib.Path or ValidationReport
            The upload folder, or its validation report (validated against the
            store's protocol).
        site : str
            The uploading site.
        reason : str, optional
            Why; required when stored records change.
        quarantine_bad_files : bool, optional
            Quarantine a file not read in full whole instead of refusing the upload
            (see :func:`~trialdata.store.ingest.ingest_report`).

        Returns
        -------
        IngestResult
            What was stored.
        """
        self._may(Action.INGEST, site)
        if isinstance(upload, ValidationReport):
            report = upload
        else:
            with self.engine.connect() as conn:
                stored = current_protocol(conn)
            folder = Path(upload)
            report = validate_folder(
                folder, protocol=None if stored is None else stored.protocol
            )
        return ingest_report(
            self.engine,
            report,
            site=site,
            user=self._user,
            reason=reason,
            quarantine_bad_files=quarantine_bad_files,
        )

    def verify(
        self,
        *,
        expected_head: str | None = None,
        anchors: Sequence[str] | None = None,
        key: bytes | None = None,
    ) -> VerifyResult:
        """Verify the store: the chain, a replay of every table, triggers, signatures.

        The same check as ``trialdata audit verify`` (see
        :func:`trialdata.store.verify.verify_store`).

        Parameters
        ----------
        expected_head : str, optional
            A head printed by a write command; it must be the head of a changeset.
        anchors : sequence of str, optional
            Lines of an anchor file (``trialdata audit anchor``).
        key : bytes, optional
            The anchor key, needed with ``anchors``.

        Returns
        -------
        VerifyResult
            Problems found, if any.
        """
        self._may(Action.VERIFY)
        return verify_engine(
            self.engine, expected_head=expected_head, anchors=anchors, key=key
        )

    def freeze(
        self, label: str, *, reason: str | None = None, allow_errors: bool = False
    ) -> Snapshot:
        """Freeze the current content under a label (see ``snapshots.freeze``).

        Parameters
        ----------
        label : str
            Unique name.
        reason : str, optional
            Why.
        allow_errors : bool, optional
            Freeze even when the stored records have error findings, recording
            them with the snapshot (otherwise ``FreezeRefusedError`` is raised).

        Returns
        -------
        Snapshot
            The snapshot, with the audit head after the freeze.
        """
        return freeze(
            self.engine,
            label,
            user=self._user,
            reason=reason,
            allow_errors=allow_errors,
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
        self._may(Action.READ)
        return read_snapshot(self.engine, label)

    def snapshots(self) -> pd.DataFrame:
        """Return the list of snapshots, oldest first."""
        self._may(Action.READ)
        return list_snapshots(self.engine)

    def current_tables(self) -> dict[str, pd.DataFrame]:
        """Return the current (latest) version of every domain table."""
        self._may(Action.READ)
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

        A site's data entry sees only the queries of its site(s).

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
            if site is not None:
                require(conn, self._user, Action.READ_SITE, site, bootstrap=False)
                return query_list(conn, site=site, include_closed=include_closed)
            mine = readable_sites(conn, self._user)
            frame = query_list(conn, include_closed=include_closed)
        if mine is None:
            return frame
        return frame.loc[frame["site_id"].isin(mine)].reset_index(drop=True)

    def sites(self) -> list[str]:
        """Return the trial's sites the user may read queries of.

        Returns
        -------
        list of str
            Sorted site ids: the stored protocol's and every one that submitted
            (those of the user's site roles only, for a site's data entry).
        """
        with self.engine.connect() as conn:
            mine = readable_sites(conn, self._user)
            known = known_sites(conn)
        return known if mine is None else [s for s in known if s in mine]

    def answer_query(self, query_id: int, text: str) -> str:
        """Record a site's answer to a query (site_data_entry of its site).

        Parameters
        ----------
        query_id : int
            The query.
        text : str
            The answer.

        Returns
        -------
        str
            The audit chain head after the answer.
        """
        return answer_query(self.engine, query_id, text, user=self._user)

    def close_query(self, query_id: int, text: str) -> str:
        """Close a query by hand (a data manager).

        Parameters
        ----------
        query_id : int
            The query.
        text : str
            Why.

        Returns
        -------
        str
            The audit chain head after the change.
        """
        return close_query(self.engine, query_id, text, user=self._user)

    def delete(
        self, domain: str, keys: Sequence[str], *, site: str, reason: str
    ) -> str:
        """Delete records of a site (see ``deletes.delete_records``; a data manager).

        Parameters
        ----------
        domain : str
            Domain.
        keys : sequence of str
            Record keys.
        site : str
            The site whose records they are.
        reason : str
            Why.

        Returns
        -------
        str
            The audit chain head after the deletion.
        """
        return delete_records(
            self.engine, domain, keys, site=site, user=self._user, reason=reason
        )

    # ------------------------------------------------------------------ protocol

    def protocol(self, version: int | None = None) -> StoredProtocol | None:
        """Return the stored protocol: the version in force, or a given version.

        Parameters
        ----------
        version : int, optional
            The version; default the latest.

        Returns
        -------
        StoredProtocol or None
            None when the store holds no protocol (and no version was asked for).
        """
        with self.engine.connect() as conn:
            if version is None:
                return current_protocol(conn)
            return protocol_version(conn, version)

    def protocol_history(self) -> pd.DataFrame:
        """Return every stored protocol version with who, when, why and what changed."""
        with self.engine.connect() as conn:
            return protocol_history(conn)

    def set_protocol(
        self, source: str | Path, *, reason: str
    ) -> tuple[StoredProtocol, bool, str | None]:
        """Store a protocol file as the trial's next version (a coordinator).

        Parameters
        ----------
        source : str or pathlib.Path
            The ``protocol.toml`` file (never read through a link).
        reason : str
            Why; required.

        Returns
        -------
        tuple of (StoredProtocol, bool, str or None)
            The version in force, whether it is new (False: the file describes the
            protocol in force; nothing stored) and the audit head after the change.
        """
        path = Path(source)
        text = read_protocol_file(path)
        if text is None:
            raise InputError("does not exist", file=str(path))
        return set_protocol(
            self.engine, self._user, text, reason=reason, source=str(path)
        )

    # ------------------------------------------------------------------ accounts

    def add_user(
        self,
        name: str,
        *,
        role: str,
        site: str | None = None,
        full_name: str | None = None,
        reason: str,
    ) -> str:
        """Create an account (when new) and grant it a role (a coordinator).

        See :func:`trialdata.store.account_admin.add_user`.

        Returns
        -------
        str
            The audit head after the change.
        """
        return account_admin.add_user(
            self.engine,
            self._user,
            name,
            role=role,
            site=site,
            full_name=full_name,
            reason=reason,
        )

    def revoke_role(
        self, name: str, *, role: str, site: str | None = None, reason: str
    ) -> str:
        """Revoke a role a user holds (a coordinator).

        See :func:`trialdata.store.account_admin.revoke_role`.

        Returns
        -------
        str
            The audit head after the change.
        """
        return account_admin.revoke_role(
            self.engine, self._user, name, role=role, site=site, reason=reason
        )

    def disable_user(self, name: str, *, reason: str) -> str:
        """Disable an account (a coordinator).

        See :func:`trialdata.store.account_admin.disable_user`.

        Returns
        -------
        str
            The audit head after the change.
        """
        return account_admin.disable_user(self.engine, self._user, name, reason=reason)

    def add_site(self, site_id: str, *, name: str | None = None, reason: str) -> str:
        """Add a site (a coordinator); see ``account_admin.add_site``.

        Returns
        -------
        str
            The audit head after the change.
        """
        return account_admin.add_site(
            self.engine, self._user, site_id, name=name, reason=reason
        )

    def users(self) -> pd.DataFrame:
        """Return the accounts with their grants (any role may list them)."""
        with self.engine.connect() as conn:
            require(conn, self._user, Action.LIST_ACCOUNTS, bootstrap=False)
            return account_admin.list_users(conn)

    def site_table(self) -> pd.DataFrame:
        """Return the sites of the store (``site_id``, ``name``, ``created_cs``)."""
        with self.engine.connect() as conn:
            require(conn, self._user, Action.LIST_ACCOUNTS, bootstrap=False)
            return account_admin.list_sites(conn)

    # ---------------------------------------------------------------- signatures

    def sign(
        self,
        label: str,
        *,
        meaning: str,
        reason: str | None = None,
        report: str | Path | None = None,
    ) -> Signature:
        """Sign a snapshot, or a report released from it (see ``signatures.sign``).

        Parameters
        ----------
        label : str
            The snapshot.
        meaning : str
            ``reviewed`` or ``approved``.
        reason : str, optional
            The signer's comment.
        report : str or pathlib.Path, optional
            The report file released.

        Returns
        -------
        Signature
            The signature, with the audit head after it.
        """
        return sign(
            self.engine,
            self._user,
            label,
            meaning=meaning,
            reason=reason,
            report=None if report is None else Path(report),
        )

    def signatures(self, label: str | None = None) -> list[Signature]:
        """Return the signatures (of one snapshot), oldest first."""
        with self.engine.connect() as conn:
            require(conn, self._user, Action.LIST_ACCOUNTS, bootstrap=False)
            return list_signatures(conn, label)

    def verify_signatures(self) -> list[str]:
        """Check every signature (see ``signatures.verify_signatures``)."""
        self._may(Action.VERIFY)
        with self.engine.connect() as conn:
            return verify_signatures(conn)
