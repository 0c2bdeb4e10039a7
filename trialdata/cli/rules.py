"""``trialdata rules``: every rule id with what it checks.

The same source as ``docs/rules.md`` (:mod:`trialdata.validation.rules.catalogue`):
the rules of the readers (RD-*), of the domain models (SC-*), the cross-domain rules
(XD-*, AD-*, AE-*, BB-*, LB-*, PV-*) and the store's (ST-*). ``--stage`` keeps one
kind; ``--format json`` prints them as one JSON document.
"""

from __future__ import annotations

from dataclasses import asdict
from enum import StrEnum
from typing import Annotated

import typer

from trialdata.cli._options import FormatOption, OutputFormat
from trialdata.cli._output import emit

__all__ = ["register"]


class Stage(StrEnum):
    """Where a rule is checked."""

    READER = "reader"
    SCHEMA = "schema"
    CROSS_DOMAIN = "cross-domain"
    STORE = "store"


def rules(
    stage: Annotated[
        Stage | None, typer.Option("--stage", help="Only the rules of this stage.")
    ] = None,
    output_format: FormatOption = OutputFormat.TEXT,
) -> None:
    """List every rule id: its stage, severity and what it checks."""
    from trialdata.validation.rules.catalogue import catalogue_entries

    entries = [e for e in catalogue_entries() if stage is None or e.stage == stage]
    lines = [
        f"{e.id:<12} {e.stage:<12} {e.severity:<8} {e.checks}"
        + (f" [reads: {', '.join(e.reads)}]" if e.reads else "")
        for e in entries
    ]
    emit(output_format, {"rules": [asdict(e) for e in entries]}, lines)


def register(app: typer.Typer) -> None:
    """Add the ``rules`` command to the command line."""
    app.command("rules")(rules)
