"""Where ``escalation`` and ``report safety`` read a trial: a folder or a snapshot.

Both commands take an upload ``FOLDER`` or ``--store URL --snapshot LABEL`` (the
store also from ``TRIALDATA_STORE``, as for every store command), ``--cutoff
YYYY-MM-DD`` and ``--allow-errors``: data with error-level findings stop them with
exit 1 unless ``--allow-errors`` is given, and then their output says so.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from trialdata.cli._errors import fail
from trialdata.cli._options import STORE_ENV

if TYPE_CHECKING:
    import pandas as pd

    from trialdata.progress import Step
    from trialdata.trial import Trial

#: Error findings named in the message of a command stopped by them.
_EXAMPLES = 5

__all__ = [
    "ErrorGate",
    "TrialSource",
    "choose_source",
    "error_gate",
    "load_trial",
    "parse_cutoff",
]


@dataclass(frozen=True)
class TrialSource:
    """A trial and where it came from.

    Attributes
    ----------
    trial : trialdata.trial.Trial
        The trial.
    label : str
        ``folder``, or the snapshot label.
    digest : str
        The content hash (the snapshot's as frozen, for a snapshot).
    findings : pandas.DataFrame
        The findings that decide whether the data have errors: the upload's
        validation, or the error findings a snapshot's freeze recorded with it
        (``freeze --allow-errors``; none for a snapshot frozen clean).
    """

    trial: Trial
    label: str
    digest: str
    findings: pd.DataFrame


def choose_source(
    ctx: typer.Context,
    folder: Path | None,
    store: str | None,
    snapshot: str | None,
) -> str | None:
    """Return the store to read, or None to read the folder; exit 2 on bad usage.

    A ``FOLDER`` wins over a store that only comes from ``TRIALDATA_STORE`` (the
    variable names the store of the store commands; it must not make a folder
    argument an error).

    Parameters
    ----------
    ctx : typer.Context
        The command's context (to tell ``--store`` from the environment variable).
    folder : pathlib.Path or None
        The ``FOLDER`` argument.
    store, snapshot : str or None
        ``--store`` and ``--snapshot``.

    Returns
    -------
    str or None
        The store URL, or None for the folder.
    """
    from_env = False
    try:
        source = ctx.get_parameter_source("store")
        from_env = source is not None and source.name == "ENVIRONMENT"
    except (AttributeError, KeyError):
        pass
    if folder is not None and store is not None and from_env and snapshot is None:
        store = None
    if (folder is None) == (store is None):
        hint = f" (the store may come from {STORE_ENV})" if folder is None else ""
        raise fail(
            f"give either an upload FOLDER or --store URL --snapshot LABEL{hint}"
        )
    if store is not None and not snapshot:
        raise fail("--store needs --snapshot LABEL")
    if store is None and snapshot is not None:
        raise fail("--snapshot needs --store URL (or TRIALDATA_STORE)")
    return store


def parse_cutoff(cutoff: str | None) -> pd.Timestamp | None:
    """Return ``--cutoff`` as a day; exit 2 when it is not an ISO date.

    Parameters
    ----------
    cutoff : str or None
        The option's value.

    Returns
    -------
    pandas.Timestamp or None
        The day (None: the latest date in the data).
    """
    if cutoff is None:
        return None
    import pandas as pd

    try:
        day = date.fromisoformat(cutoff)
    except ValueError:
        raise fail(f"--cutoff {cutoff!r} is not a date (YYYY-MM-DD)") from None
    try:
        return pd.Timestamp(day).as_unit("ns")
    except (ValueError, OverflowError):
        raise fail(
            f"--cutoff {cutoff!r} is outside the supported dates "
            f"{pd.Timestamp.min.date()} to {pd.Timestamp.max.date()}"
        ) from None


def load_trial(
    folder: Path | None,
    store: str | None,
    snapshot: str | None,
    step: Step,
) -> TrialSource:
    """Read and validate the trial from a folder or a store snapshot.

    Parameters
    ----------
    folder : pathlib.Path or None
        The upload folder (None: the snapshot).
    store, snapshot : str or None
        The store and snapshot label.
    step : callable
        Progress reporter.

    Returns
    -------
    TrialSource
        The trial, its label and its content hash.

    Raises
    ------
    trialdata.errors.TrialDataError
        When the folder or snapshot cannot be read.
    """
    if folder is not None:
        from trialdata.trial import Trial
        from trialdata.validation import validate_folder

        if not (folder / "protocol.toml").is_file():
            raise fail(f"{folder} is not an upload folder (no protocol.toml)")
        step(f"validating {folder}")
        report = validate_folder(folder, progress=step)
        findings = report.findings
        trial = Trial(report.protocol, dict(report.tables), findings, str(folder))
        return TrialSource(trial, "folder", trial.content_hash, findings)
    assert store is not None and snapshot is not None
    step(f"reading snapshot {snapshot}")
    return _from_store(store, snapshot)


def _from_store(url: str, label: str) -> TrialSource:
    """Read a snapshot with ``Trial.from_store``; keep its hash and errors as frozen."""
    from trialdata.store import TrialStore
    from trialdata.trial import Trial

    if "://" not in url and not Path(url).is_file():
        raise fail(f"store {url} does not exist")
    trial = Trial.from_store(url, snapshot=label)
    with TrialStore.open(url, create=False) as opened:
        frozen = opened.snapshot(label)
    return TrialSource(trial, label, frozen.content_sha256, frozen.errors)


@dataclass(frozen=True)
class ErrorGate:
    """The error-level findings of the data and what the command does about them.

    Attributes
    ----------
    n_errors, n_warnings : int
        Findings of the data as loaded.
    by_rule : dict of str to int
        Error findings per rule.
    allowed : bool
        ``--allow-errors`` was given.
    examples : tuple of str
        The first error findings, each naming file, row, column and rule.
    """

    n_errors: int
    n_warnings: int
    by_rule: dict[str, int]
    allowed: bool
    examples: tuple[str, ...] = ()

    @property
    def refused(self) -> bool:
        """Whether the command stops (exit 1): errors and no ``--allow-errors``."""
        return bool(self.n_errors) and not self.allowed

    def note(self, what: str) -> str:
        """Return the line that states the findings and what was done.

        Parameters
        ----------
        what : str
            What the command produces, e.g. ``"the safety report"``.

        Returns
        -------
        str
            Empty when there are no error findings.
        """
        if not self.n_errors:
            return ""
        rules = ", ".join(f"{rule} {n}" for rule, n in self.by_rule.items())
        if self.allowed:
            return (
                f"--allow-errors: {what} includes data with {self.n_errors} "
                f"error-level finding(s) ({rules}); see `trialdata validate`"
            )
        listed = "".join(f"\n  {line}" for line in self.examples)
        return (
            f"{self.n_errors} error-level finding(s) in the data ({rules}); "
            f"{what} was not produced (exit 1). Correct the data (`trialdata "
            "validate` lists the findings), or give --allow-errors to go on with "
            f"them:{listed}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the gate's facts for a JSON document."""
        return {
            "n_errors": self.n_errors,
            "n_warnings": self.n_warnings,
            "errors_by_rule": self.by_rule,
            "allow_errors": self.allowed,
            "refused": self.refused,
            "examples": list(self.examples),
        }


def error_gate(findings: pd.DataFrame, allow_errors: bool) -> ErrorGate:
    """Count the error-level findings of the data.

    Parameters
    ----------
    findings : pandas.DataFrame
        The trial's findings.
    allow_errors : bool
        ``--allow-errors``.

    Returns
    -------
    ErrorGate
        The counts and the decision.
    """
    severity = findings["severity"].astype(str).str.lower()
    errors = findings.loc[severity == "error"]
    by_rule = {str(k): int(v) for k, v in errors["rule"].value_counts().items()}
    return ErrorGate(
        n_errors=len(errors),
        n_warnings=int((severity == "warning").sum()),
        by_rule=by_rule,
        allowed=allow_errors,
        examples=tuple(
            _located(row) for row in errors.head(_EXAMPLES).to_dict("records")
        ),
    )


def _located(finding: Mapping[Hashable, Any]) -> str:
    """Return a finding as ``file row N: column: RULE: message``."""
    import pandas as pd

    where = str(finding["file"])
    if not pd.isna(finding["row"]):
        where += f" row {int(finding['row'])}"
    column = "" if pd.isna(finding["column"]) else f"{finding['column']}: "
    return f"{where}: {column}{finding['rule']}: {finding['message']}"
