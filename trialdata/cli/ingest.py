"""``trialdata ingest FOLDER``: validate an upload and store it, audited.

``--site SITE`` stores the upload as one submission of that site; ``--split-sites``
stores an upload holding several sites' rows as one submission per site
(:mod:`trialdata.store.site_split`), each printed with its counts and the audit head
after it. ``--format json`` prints one JSON document instead (``submissions``: one
entry per submission). Progress (validation steps, the site being stored) shows on
stderr when it is a terminal, unless ``--quiet``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from trialdata.cli._errors import fail, user_errors
from trialdata.cli._options import FormatOption, OutputFormat, QuietOption, StoreOption
from trialdata.cli._output import emit, records
from trialdata.errors import TrialDataError

if TYPE_CHECKING:
    from trialdata.store.ingest import IngestResult, UploadRefusedError
    from trialdata.store.site_split import SiteSplit

__all__ = ["register"]

#: Error findings listed per submission in the text output.
_LISTED = 20

#: Columns of a finding in the JSON output.
_FINDING_FIELDS = (
    "domain",
    "file",
    "row",
    "subject_id",
    "column",
    "rule",
    "severity",
    "message",
    "value",
    "record_key",
    "query_id",
    "flagged",
)


def _say(message: str) -> None:
    print(f"trialdata: {message}", file=sys.stderr, flush=True)


def ingest(
    folder: Annotated[Path, typer.Argument(help="Upload folder with protocol.toml.")],
    site: Annotated[
        str | None,
        typer.Option("--site", help="The uploading site (or --split-sites)."),
    ] = None,
    split_sites: Annotated[
        bool,
        typer.Option(
            "--split-sites",
            help="The upload holds several sites' rows: store each site's rows as "
            "one submission of that site, the coordinating site first.",
        ),
    ] = False,
    store: StoreOption = None,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why; required when stored records change."),
    ] = None,
    quarantine_bad_files: Annotated[
        bool,
        typer.Option(
            "--quarantine-bad-files",
            help="Quarantine a file not read in full (unreadable, a malformed line, "
            "a symbolic link, ...) whole and store the rest, instead of refusing "
            "the upload. A missing required file still refuses it.",
        ),
    ] = False,
    output_format: FormatOption = OutputFormat.TEXT,
    quiet: QuietOption = False,
) -> None:
    """Validate an upload and store it: valid rows accepted, failing rows quarantined.

    All or nothing per upload: one that was not read in full (an unreadable file, a
    malformed line, a missing required file, a symbolic link) is refused and nothing
    is stored, unless --quarantine-bad-files holds such files whole. Exit 0 when
    every row was accepted, 1 when rows were quarantined, the upload has error
    findings or was refused for its files, 2 on usage errors or an upload that
    cannot be used at all (no protocol, another site's records, a change without
    --reason, permission denied; nothing is stored then).

    The upload is validated against the store's protocol; the folder's own
    protocol.toml may be left out, and one that differs is a finding (ST-PROTOCOL),
    never a change. Into a store without a protocol, the upload's protocol.toml
    becomes its first version (the user who creates a store is its coordinator).
    Who uploads is the operating-system user (SQLite) or the database login
    (PostgreSQL); it needs site_data_entry of the site or data_manager.

    With --split-sites every row goes to the site that owns it (a subject's site;
    the coordinating site for cohorts and product lots, and for rows of a subject
    no one knows); rows of a site the store does not have refuse the upload.
    """
    if (site is None) == (not split_sites):
        raise fail("give either --site SITE or --split-sites")
    from trialdata.progress import progress_steps
    from trialdata.store.engine import missing_sqlite_file, remove_sqlite_store
    from trialdata.store.ingest import UploadRefusedError
    from trialdata.store.site_split import (
        SiteIngestError,
        ingest_by_site,
        split_by_site,
        validate_for_store,
    )
    from trialdata.store.store import TrialStore

    results: list[IngestResult] = []
    split: SiteSplit | None = None
    with user_errors():
        new_file = missing_sqlite_file(store)
        try:
            with (
                TrialStore.open(store) as opened,
                progress_steps(quiet=quiet) as step,
            ):
                if site is not None:
                    _may_ingest(opened, site)  # before the validation's work
                step(f"validating {folder}")
                report = validate_for_store(opened, folder, progress=step)
                if site is not None:
                    step(f"storing the upload of site {site}")
                    results.append(
                        opened.ingest(
                            report,
                            site=site,
                            reason=reason,
                            quarantine_bad_files=quarantine_bad_files,
                        )
                    )
                else:
                    split = split_by_site(opened, report)
                    n = len(split.parts)
                    results = ingest_by_site(
                        opened,
                        split,
                        reason=reason,
                        quarantine_bad_files=quarantine_bad_files,
                        on_part=lambda part, i: step(
                            f"storing site {part.site} ({i} of {n}, {part.n_rows} rows)"
                        ),
                    )
        except SiteIngestError as error:
            _print_results(folder, error.stored, split, output_format, failed=error)
            raise
        except TrialDataError as error:
            if new_file is not None:  # refused: leave no empty store behind
                remove_sqlite_store(new_file)
            if isinstance(error, UploadRefusedError):
                _refused(error, quarantine_bad_files, output_format)
            raise
    _print_results(folder, results, split, output_format)
    raise typer.Exit(max(result.exit_code for result in results))


def _may_ingest(opened: Any, site: str) -> None:
    """Check (read-only) that the acting user may ingest for the site."""
    from trialdata.store.accounts import Action, require

    with opened.engine.connect() as conn:
        require(conn, opened.user, Action.INGEST, site, bootstrap=False)


def _result_lines(result: IngestResult) -> list[str]:
    """Return the text lines of one submission."""
    import pandas as pd

    lines = [
        f"submission {result.submission_id} from site {result.site_id}: "
        f"{result.n_rows} rows read, {result.n_created} created, "
        f"{result.n_updated} updated, {result.n_unchanged} unchanged, "
        f"{result.n_quarantined} quarantined, {result.n_released} released from "
        f"quarantine; {result.n_findings} finding(s)",
        f"rows: {result.count_line()}",
        f"audit head {result.audit_head}",
    ]
    lines.extend(f"  {line}" for line in result.quarantine_lines())
    if result.n_flagged:
        lines.append(
            f"  {result.n_flagged} conflict(s) with stored records flagged (left in "
            "the store; `trialdata freeze` refuses until they are resolved)"
        )
    errors = result.findings[result.findings["severity"] == "error"]
    for row in errors.head(_LISTED).to_dict("records"):
        where = str(row["file"])
        if not pd.isna(row["row"]):
            where += f" row {int(row['row'])}"
        column = "" if pd.isna(row["column"]) else f"{row['column']} "
        label = "flagged" if bool(row.get("flagged", False)) else "quarantined"
        lines.append(f"  {label}: {where}: {column}{row['rule']}: {row['message']}")
    if len(errors) > _LISTED:
        lines.append(
            f"  ... and {len(errors) - _LISTED} more (see `trialdata queries`)"
        )
    return lines


def _result_document(result: IngestResult) -> dict[str, Any]:
    """Return the JSON facts of one submission."""
    errors = result.findings[result.findings["severity"] == "error"]
    return {
        "submission_id": result.submission_id,
        "changeset_id": result.changeset_id,
        "site_id": result.site_id,
        "n_rows": result.n_rows,
        "n_stored": result.n_stored,
        "n_created": result.n_created,
        "n_updated": result.n_updated,
        "n_unchanged": result.n_unchanged,
        "n_quarantined": result.n_quarantined,
        "n_released": result.n_released,
        "n_findings": result.n_findings,
        "n_errors": result.n_errors,
        "n_flagged": result.n_flagged,
        "audit_head": result.audit_head,
        "exit_code": result.exit_code,
        "quarantine": records(result.quarantine_summary),
        "quarantined_files": records(result.quarantined_files),
        "errors": records(errors, _FINDING_FIELDS),
    }


def _print_results(
    folder: Path,
    results: list[IngestResult],
    split: SiteSplit | None,
    output_format: OutputFormat,
    failed: Exception | None = None,
) -> None:
    """Print every submission stored (and, after a refused part, what was not)."""
    lines: list[str] = []
    if split is not None:
        sites = ", ".join(f"{p.site} ({p.n_rows} rows)" for p in split.parts)
        lines.append(
            f"upload {folder}: {split.n_rows} rows of "
            f"{len(split.parts)} site(s): {sites}; one submission each"
        )
        unowned = sum(p.n_unowned for p in split.parts)
        if unowned:
            lines.append(
                f"  {unowned} row(s) of no known subject go with the coordinating "
                f"site {split.coordinator}'s submission"
            )
    for result in results:
        lines.extend(_result_lines(result))
    document: dict[str, Any] = {
        "folder": str(folder),
        "split_sites": split is not None,
        "n_rows": sum(r.n_rows for r in results) if split is None else split.n_rows,
        "submissions": [_result_document(r) for r in results],
        "audit_head": results[-1].audit_head if results else None,
        "exit_code": max((r.exit_code for r in results), default=2),
    }
    if split is not None:
        document["sites"] = {p.site: p.n_rows for p in split.parts}
        document["coordinator"] = split.coordinator
        document["n_unowned"] = sum(p.n_unowned for p in split.parts)
    if failed is not None:
        document["refused_site"] = getattr(failed, "site", None)
        document["error"] = str(getattr(failed, "cause", failed))
        document["exit_code"] = 2
    emit(output_format, document, lines)


def _refused(
    refused: UploadRefusedError,
    quarantine_bad_files: bool,
    output_format: OutputFormat,
) -> None:
    """Report an upload refused for its files (nothing stored) and exit with 1."""
    from trialdata.store.ingest import finding_lines

    n = refused.n_rows
    lines = [
        f"upload refused, nothing stored: {n} rows read = 0 stored + 0 quarantined "
        f"+ {refused.n_refused} refused"
    ]
    lines.extend(f"  refused: {line}" for line in finding_lines(refused.reasons))
    errors = refused.findings.loc[refused.findings["severity"] == "error"]
    if len(errors) > len(refused.reasons):
        lines.append(
            f"  ({len(errors)} error finding(s) in all; `trialdata validate` lists "
            "them)"
        )
    hint = (
        "a required file is missing"
        if quarantine_bad_files
        else "send the files again, or ingest with --quarantine-bad-files to store "
        "the rest and hold these files in quarantine"
    )
    document = {
        "refused": True,
        "n_rows": n,
        "n_stored": 0,
        "n_quarantined": 0,
        "n_refused": refused.n_refused,
        "n_errors": len(errors),
        "reasons": records(refused.reasons, _FINDING_FIELDS),
        "submissions": [],
        "audit_head": None,
        "exit_code": 1,
        "hint": hint,
    }
    emit(output_format, document, lines)
    _say(f"upload refused: it was not read in full; {hint}")
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``ingest`` command to the command line."""
    app.command("ingest")(ingest)
