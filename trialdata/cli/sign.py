"""``trialdata sign`` and ``trialdata signatures``: electronic signatures.

``trialdata sign LABEL --meaning approved`` signs a snapshot; ``trialdata sign LABEL
--report FILE --meaning approved|reviewed`` signs the release of a report made from
that snapshot (binding the file's SHA-256; the snapshot must be approved first). The
signer is the acting user (operating-system user on SQLite, database login on
PostgreSQL), the time the database server's UTC time; which role may sign with which
meaning is ``trialdata.store.accounts.SIGNING``. ``trialdata signatures`` lists them
and checks them (``--report FILE`` names the signatures bound to that file as it is
now). Exit codes: 0 done (or every signature holds), 1 a signature no longer holds
or a report file matches no signature, 2 usage error or permission denied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trialdata.cli._errors import user_errors
from trialdata.cli.store import StoreOption, head_line
from trialdata.store.signatures import signatures_of_file
from trialdata.store.store import TrialStore

__all__ = ["register"]


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
) -> None:
    """Sign a snapshot, or the release of a report made from it."""
    with user_errors(), TrialStore.open(store, create=False) as opened:
        signature = opened.sign(snapshot, meaning=meaning, reason=reason, report=report)
    print(signature.describe())
    print(head_line(signature.audit_head))


def signatures(
    store: StoreOption = None,
    snapshot: Annotated[
        str | None, typer.Option("--snapshot", help="Only this snapshot's.")
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="List the signatures bound to this file."),
    ] = None,
) -> None:
    """List the signatures and check that each still holds."""
    with user_errors(), TrialStore.open(store, create=False) as opened:
        listed = opened.signatures(snapshot)
        problems = opened.verify_signatures()
        if report is not None:
            with opened.engine.connect() as conn:
                bound = signatures_of_file(conn, report)
    for signature in listed:
        print(signature.describe())
    if not listed:
        print("no signatures")
    for problem in problems:
        print(f"  PROBLEM: {problem}")
    if report is not None:
        if not bound:
            print(f"{report}: no signature is bound to this file as it is now")
            raise typer.Exit(1)
        ids = ", ".join(str(s.id) for s in bound)
        print(f"{report}: bound to signature(s) {ids}")
    raise typer.Exit(1 if problems else 0)


def register(app: typer.Typer) -> None:
    """Add ``sign`` and ``signatures`` to the command line."""
    app.command("sign")(sign)
    app.command("signatures")(signatures)
