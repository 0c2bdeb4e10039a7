"""Ingest an upload that holds several sites' rows, site by site.

A coordinating centre or a data manager may receive one upload for the whole trial
(the two-site nk-aml demo is one). :func:`split_by_site` gives every row to the
site that owns it, by the same rules an ingest checks (:mod:`trialdata.store.scope`:
a subject's site, the site of a sample's subject, the coordinating site for the
trial-level domains), and :func:`ingest_by_site` stores each site's part as one
audited submission of that site, the coordinating site first (only it may create
the trial-level records the others refer to).

Nothing is lost: every row read goes to exactly one part. A row no site can be
found for (a subject neither the store nor the upload knows) goes with the
coordinating site's part, where validation has already flagged it. Rows of a site
that is not one of the store's sites (or, in a new store, of the protocol's) refuse
the whole upload before anything is stored, naming the site and the rows.

The upload is validated once, as a whole (so that a rule across sites sees every
row); each finding goes with the part holding its row. A finding on a whole file
(a missing column, say) goes with every part that has rows of that file, and one
on no row of any part with the first part, so each submission records what makes
its rows fail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from schemas.domains import DOMAINS, get_domain
from trialdata.errors import StoreError
from trialdata.store.scope import coordinating_site, row_sites, subject_sites
from trialdata.validation import ValidationReport, validate_folder
from trialdata.validation.rule import SOURCE_FILE, SOURCE_ROW

if TYPE_CHECKING:
    from trialdata.store.ingest import IngestResult
    from trialdata.store.store import TrialStore

__all__ = [
    "SiteIngestError",
    "SitePart",
    "SiteSplit",
    "ingest_by_site",
    "split_by_site",
    "validate_for_store",
]

#: Owner given to rows whose site is unknown before they join the coordinator's part.
_NOBODY = "\x00no site"

_LISTED = 10


@dataclass(frozen=True)
class SitePart:
    """One site's share of an upload.

    Attributes
    ----------
    site : str
        The site.
    report : trialdata.validation.ValidationReport
        The upload restricted to the site's rows and their findings.
    n_rows : int
        Rows of the part.
    n_unowned : int
        Rows in it whose site could not be found (the coordinating site's part
        only).
    """

    site: str
    report: ValidationReport
    n_rows: int
    n_unowned: int = 0


@dataclass(frozen=True)
class SiteSplit:
    """An upload split by site.

    Attributes
    ----------
    parts : tuple of SitePart
        One per site with rows, the coordinating site first, then in the
        protocol's order.
    coordinator : str
        The coordinating site.
    n_rows : int
        Rows of the upload (the sum over the parts).
    report : trialdata.validation.ValidationReport
        The whole upload as validated.
    """

    parts: tuple[SitePart, ...]
    coordinator: str
    n_rows: int
    report: ValidationReport


class SiteIngestError(StoreError):
    """A site's part was refused after earlier parts were stored.

    Attributes
    ----------
    site : str
        The site whose part was refused.
    stored : list of IngestResult
        The submissions stored before it (each complete and audited).
    cause : trialdata.errors.TrialDataError
        Why the part was refused.
    """

    def __init__(self, site: str, stored: list[IngestResult], cause: Exception) -> None:
        self.site = site
        self.stored = stored
        self.cause = cause
        done = ", ".join(f"{r.site_id} (submission {r.submission_id})" for r in stored)
        super().__init__(
            f"the part of site {site} was refused: {cause}\n"
            f"already stored: {done or 'nothing'}; the parts after {site} were not "
            "ingested"
        )


def validate_for_store(
    store: TrialStore, folder: str | Path, progress: Callable[[str], None] | None = None
) -> ValidationReport:
    """Validate an upload folder the way an ingest into this store does.

    Against the store's protocol in force when it has one (the folder's own
    ``protocol.toml`` is then only compared with it by the ingest), otherwise
    against the folder's ``protocol.toml``.

    Parameters
    ----------
    store : TrialStore
        The open store.
    folder : str or pathlib.Path
        The upload folder.
    progress : callable, optional
        Called with a short message as each validation step starts.

    Returns
    -------
    trialdata.validation.ValidationReport
        The report to pass to :meth:`TrialStore.ingest` or :func:`split_by_site`.
    """
    from trialdata.store.protocols import current_protocol

    with store.engine.connect() as conn:
        stored = current_protocol(conn)
    protocol = None if stored is None else stored.protocol
    return validate_folder(Path(folder), protocol=protocol, progress=progress)


def _owners(
    store: TrialStore, report: ValidationReport, coordinator: str
) -> dict[str, np.ndarray]:
    """Return the owning site of every row of every table (``_NOBODY``: unknown)."""
    from trialdata.store.records import read_versions

    with store.engine.connect() as conn:
        stored_subjects = read_versions(conn, get_domain("subjects"))
        stored_samples = read_versions(conn, get_domain("biobank_samples"))
    subjects = subject_sites(stored_subjects, report.tables.get("subjects"))
    samples = dict(
        zip(
            stored_samples["_key"].astype(str),
            stored_samples["subject_id"].astype(str),
            strict=True,
        )
    )
    uploaded = report.tables.get("biobank_samples")
    if uploaded is not None:
        pairs = uploaded[["sample_id", "subject_id"]].dropna()
        for sample, subject in zip(
            pairs["sample_id"].astype(str), pairs["subject_id"].astype(str), strict=True
        ):
            samples.setdefault(sample, subject)
    return {
        name: np.asarray(
            row_sites(
                name,
                data,
                site=_NOBODY,
                coordinator=coordinator,
                subjects=subjects,
                sample_subjects=samples,
            ),
            dtype=object,
        )
        for name, data in report.tables.items()
    }


def _allowed_sites(store: TrialStore, report: ValidationReport) -> list[str]:
    """Return the sites rows may belong to: the store's, or a new store's protocol's."""
    from trialdata.store.account_admin import list_sites

    with store.engine.connect() as conn:
        listed = list_sites(conn)
    protocol_sites = list(report.protocol.site_ids)
    if listed.empty:
        return protocol_sites
    stored = set(listed["site_id"].astype(str))
    return [site for site in protocol_sites if site in stored]


def _refuse_foreign(
    owners: dict[str, np.ndarray], allowed: Sequence[str], report: ValidationReport
) -> None:
    """Refuse the upload when rows belong to sites that cannot take them."""
    counts: dict[str, dict[str, int]] = {}
    for name in [spec.name for spec in DOMAINS if spec.name in owners]:
        owner = owners[name]
        foreign = ~np.isin(owner, [*allowed, _NOBODY])
        for site, n in zip(*np.unique(owner[foreign], return_counts=True), strict=True):
            counts.setdefault(str(site), {})[name] = int(n)
    if not counts:
        return
    lines = [
        f"  site {site}: "
        + ", ".join(f"{n} row(s) of {domain}" for domain, n in by_domain.items())
        for site, by_domain in counts.items()
    ]
    raise StoreError(
        f"upload {report.folder} refused, nothing stored: rows belong to "
        f"{len(counts)} site(s) that are not sites of the store "
        f"({', '.join(allowed) or 'none'}); add the site (`trialdata sites add`, "
        "and the protocol) or correct the rows:\n" + "\n".join(lines[:_LISTED])
    )


def _finding_sites(
    findings: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    owners: dict[str, np.ndarray],
    order: list[str],
) -> list[list[str]]:
    """Return, for every finding, the parts it goes with (see the module notes)."""
    located = [
        pd.DataFrame(
            {
                "file": data[SOURCE_FILE].astype(str).to_numpy(dtype=object),
                "row": pd.to_numeric(data[SOURCE_ROW]).to_numpy(dtype=np.int64),
                "site": owners[name],
            }
        )
        for name, data in tables.items()
    ]
    rows = pd.concat(located, ignore_index=True) if located else pd.DataFrame()
    site_of: dict[tuple[str, int], str] = {}
    files_of: dict[str, set[str]] = {site: set() for site in order}
    if len(rows):
        site_of = dict(
            zip(
                zip(rows["file"], rows["row"].tolist(), strict=True),
                rows["site"],
                strict=True,
            )
        )
        for held_by, group in rows.groupby("site", sort=False):
            files_of[str(held_by)] = set(group["file"])
    result: list[list[str]] = []
    for file, row in zip(findings["file"], findings["row"], strict=True):
        if pd.isna(file):
            result.append(order[:1])
            continue
        if not pd.isna(row):
            owner = site_of.get((str(file), int(row)))
            if owner is not None:
                result.append([owner])
                continue
        holding = [site for site in order if str(file) in files_of[site]]
        result.append(holding or order[:1])
    return result


def split_by_site(store: TrialStore, report: ValidationReport) -> SiteSplit:
    """Split a validated upload into one part per site that owns rows of it.

    Parameters
    ----------
    store : TrialStore
        The open store (its subjects and samples say who owns a stored subject's
        rows; its sites which sites may take rows).
    report : trialdata.validation.ValidationReport
        The upload validated against the store's protocol
        (:func:`validate_for_store`).

    Returns
    -------
    SiteSplit
        The parts, the coordinating site's first.

    Raises
    ------
    trialdata.errors.StoreError
        When rows belong to a site that is not a site of the store (nothing is
        stored; the message names the sites and counts their rows by domain).
    """
    coordinator = coordinating_site(report.protocol)
    owners = _owners(store, report, coordinator)
    unowned = {name: owner == _NOBODY for name, owner in owners.items()}
    owners = {
        name: np.where(unowned[name], coordinator, owner).astype(object)
        for name, owner in owners.items()
    }
    _refuse_foreign(owners, _allowed_sites(store, report), report)
    present = {str(site) for owner in owners.values() for site in set(owner)}
    order = [coordinator] + [
        s for s in report.protocol.site_ids if s != coordinator and s in present
    ]
    if coordinator not in present:
        order = order[1:] or [coordinator]
    targets = _finding_sites(report.findings, report.tables, owners, order)
    parts = []
    for site in order:
        tables = {
            name: data.loc[owners[name] == site].reset_index(drop=True)
            for name, data in report.tables.items()
        }
        keep = np.array([site in t for t in targets], dtype=bool)
        findings = report.findings.loc[keep].reset_index(drop=True)
        n_unowned = (
            sum(int(mask.sum()) for mask in unowned.values())
            if site == coordinator
            else 0
        )
        parts.append(
            SitePart(
                site=site,
                report=replace(report, tables=tables, findings=findings),
                n_rows=sum(len(t) for t in tables.values()),
                n_unowned=n_unowned,
            )
        )
    n_rows = sum(len(data) for data in report.tables.values())
    return SiteSplit(
        parts=tuple(parts), coordinator=coordinator, n_rows=n_rows, report=report
    )


def _check_may_ingest(store: TrialStore, sites: Sequence[str]) -> None:
    """Refuse before anything is stored when the user may not ingest for a site."""
    from trialdata.store.accounts import Action, require

    with store.engine.connect() as conn:
        for site in sites:
            require(conn, store.user, Action.INGEST, site, bootstrap=False)


def ingest_by_site(
    store: TrialStore,
    split: SiteSplit,
    *,
    reason: str | None = None,
    quarantine_bad_files: bool = False,
    on_part: Callable[[SitePart, int], None] | None = None,
) -> list[IngestResult]:
    """Store each site's part as one audited submission of that site.

    Before anything is stored, the acting user's right to ingest for every site
    is checked and an upload not read in full is refused whole (unless
    ``quarantine_bad_files``), so that the usual refusals leave the store
    untouched. A part refused later (a change without ``reason``, a record
    another site owns) stops the run: the parts before it stay stored.

    Parameters
    ----------
    store : TrialStore
        The open store.
    split : SiteSplit
        The upload's parts (:func:`split_by_site`).
    reason : str, optional
        Why; required when a part changes stored records.
    quarantine_bad_files : bool, optional
        Hold files not read in full whole instead of refusing the upload.
    on_part : callable, optional
        Called with each part and its number (from 1) before it is stored.

    Returns
    -------
    list of IngestResult
        One per part, in order.

    Raises
    ------
    trialdata.store.ingest.UploadRefusedError
        When the upload was not read in full (nothing stored).
    trialdata.errors.StoreError
        A refusal before anything was stored (permission, the first part), or
        :class:`SiteIngestError` when a later part was refused.
    """
    from trialdata.store.ingest import _intake, _with_stored_domains

    _check_may_ingest(store, [part.site for part in split.parts])
    # refused as a whole, as one ingest of the upload would be, before any part
    _intake(_with_stored_domains(store.engine, split.report), quarantine_bad_files)
    results: list[IngestResult] = []
    for number, part in enumerate(split.parts, start=1):
        if on_part is not None:
            on_part(part, number)
        try:
            result = store.ingest(
                part.report,
                site=part.site,
                reason=reason,
                quarantine_bad_files=quarantine_bad_files,
            )
        except StoreError as error:
            if not results:
                raise
            raise SiteIngestError(part.site, results, error) from error
        results.append(result)
    return results
