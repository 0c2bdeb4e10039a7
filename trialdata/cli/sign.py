"""``trialdata sign`` and ``trialdata signatures``: electronic signatures.

``trialdata sign LABEL --meaning approved`` signs a snapshot; ``trialdata sign LABEL
--report FILE --meaning approved|reviewed`` signs the release of a report made from
that snapshot (binding the file's SHA-256; the snapshot must be approved first). The
signer is the acting user (operating-system user on SQLite, database login on
PostgreSQL), the time the database server's UTC time; which role may sign with which
meaning is ``trialdata.store.accounts.SIGNING``. ``trialdata signatures`` lists them
and checks them (``--report FILE`` names the signatures bound to that file as it is
now). Both take ``--format json``. Exit codes: 0 done (or every signature holds), 1
a signature no longer holds or a report file matches no signature, 2 usage error or
permission denied.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from trialdata.cli._errors import user_errors
from trialdata.cli._options import FormatOption, OutputFormat, StoreOption
from trialdata.cli._output import emit
from trialdata.cli.store import head_line

__all__ = ["register"]


def _open(store: str | None) -> Any:
    from trialdata.store.store import TrialStore

    return TrialStore.open(store, create=False)


def sign(
    snapshot: Annotated[str, typer.Argument(help="Snapshot label.")],
    meaning: Annotated[
        str,
        typer.Option("--meaning", help="What the signature means: reviewed, approved."),
    ],
    reason: Annotated[
        str | None, typer.Option("--reason", help="The signer's comment.")
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Sign the release of this report file instead."),
    ] = None,
    store: StoreOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """Sign a snapshot, or the release of a report made from it."""
    with user_errors(), _open(store) as opened:
        signature = opened.sign(snapshot, meaning=meaning, reason=reason, report=report)
    document = {**asdict(signature), "description": signature.describe()}
    lines = [signature.describe(), head_line(signature.audit_head)]
    emit(output_format, document, lines)


def signatures(
    store: StoreOption = None,
    snapshot: Annotated[
        str | None, typer.Option("--snapshot", help="Only this snapshot's.")
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="List the signatures bound to this file."),
    ] = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """List the signatures and check that each still holds."""
    from trialdata.store.signatures import signatures_of_file

    with user_errors(), _open(store) as opened:
        listed = opened.signatures(snapshot)
        problems = opened.verify_signatures()
        if report is not None:
            with opened.engine.connect() as conn:
                bound = signatures_of_file(conn, report)
    lines = [signature.describe() for signature in listed]
    if not listed:
        lines.append("no signatures")
    lines.extend(f"  PROBLEM: {problem}" for problem in problems)
    document: dict[str, Any] = {
        "signatures": [{**asdict(s), "description": s.describe()} for s in listed],
        "problems": list(problems),
    }
    code = 1 if problems else 0
    if report is not None:
        document["report"] = str(report)
        document["bound_to"] = [s.id for s in bound]
        if not bound:
            lines.append(f"{report}: no signature is bound to this file as it is now")
            code = 1
        else:
            ids = ", ".join(str(s.id) for s in bound)
            lines.append(f"{report}: bound to signature(s) {ids}")
    document["exit_code"] = code
    emit(output_format, document, lines)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``sign`` and ``signatures`` to the command line."""
    app.command("sign")(sign)
    app.command("signatures")(signatures)
