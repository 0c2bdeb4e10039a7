"""A trial: its protocol plus its validated domain tables."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from analyses._results import hash_frame
from schemas.domains import get_domain
from schemas.protocol import Protocol
from trialdata.errors import InputError
from trialdata.findings import Severity
from trialdata.validation import validate_folder
from trialdata.validation.rule import SOURCE_FILE, SOURCE_ROW
from trialdata.validation.runner import validate_tables

if TYPE_CHECKING:
    from analyses.datasets import AnalysisData

__all__ = ["Trial", "TrialDataWarning"]

OnError = Literal["warn", "raise", "drop"]

#: Findings that make a whole domain table unusable for an analysis: the file could
#: not be read (RD-001), a required column is missing (RD-002), a required domain file
#: is missing (RD-006).
_UNUSABLE_RULES = ("RD-001", "RD-002", "RD-006")


class TrialDataWarning(UserWarning):
    """Data were loaded although validation found errors."""


@dataclass(frozen=True)
class Trial:
    """A protocol and its typed, validated domain tables.

    Attributes
    ----------
    protocol : schemas.protocol.Protocol
        The trial's protocol.
    tables : Mapping of str to pandas.DataFrame
        Domain name to typed table. Tables read from files keep ``_source_file`` and
        ``_source_row`` for every row.
    findings : pandas.DataFrame
        Validation findings of the data as loaded.
    source : str
        Where the data came from (a folder, or a store URL and snapshot label).
    """

    protocol: Protocol
    tables: Mapping[str, pd.DataFrame]
    findings: pd.DataFrame = field(repr=False)
    source: str = ""
    _derived: dict[tuple[Any, ...], Any] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def load(cls, folder: str | Path, *, on_error: OnError = "warn") -> Trial:
        """Read and validate an upload folder.

        Parameters
        ----------
        folder : str or pathlib.Path
            Folder with ``protocol.toml`` and one file per domain.
        on_error : {"warn", "raise", "drop"}, optional
            What to do when validation finds errors: keep every row and warn
            (default), raise :class:`trialdata.errors.InputError`, or drop the rows
            that have error findings (with a warning giving their number).

        Returns
        -------
        Trial
            The trial.
        """
        report = validate_folder(folder)
        tables = dict(report.tables)
        n_errors = report.n_errors
        if n_errors:
            summary = (
                f"{n_errors} error finding(s) in {folder}; see trial.findings or run "
                f"'trialdata validate {folder}'"
            )
            if on_error == "raise":
                raise InputError(summary, file=str(folder))
            if on_error == "drop":
                dropped = 0
                for name in tables:
                    rejected = report.rejected_mask(name)
                    dropped += int(rejected.sum())
                    tables[name] = tables[name].loc[~rejected]
                summary += f"; {dropped} row(s) with errors dropped"
            warnings.warn(summary, TrialDataWarning, stacklevel=2)
        return cls(report.protocol, tables, report.findings, str(folder))

    @classmethod
    def from_store(cls, url: str | Path | None = None, *, snapshot: str) -> Trial:
        """Read a frozen snapshot of a trial store.

        The data are exactly those frozen under ``snapshot``, whatever was ingested
        since; the snapshot's content hash is checked on reading.

        Parameters
        ----------
        url : str or pathlib.Path, optional
            Store URL or SQLite file; default ``./trialdata.sqlite``.
        snapshot : str
            Label given to ``trialdata freeze``.

        Returns
        -------
        Trial
            The snapshot's protocol and tables (with ``_source_file`` and
            ``_source_row`` of the upload each row came from), and the findings of
            validating them again.

        Raises
        ------
        trialdata.errors.StoreError
            When the store has no such snapshot or its content changed.
        """
        from trialdata.store import TrialStore

        with TrialStore.open(url) as store:
            frozen = store.snapshot(snapshot)
        tables = {
            name: data[[c for c in data.columns if not c.startswith("_")]].assign(
                **{SOURCE_FILE: data[SOURCE_FILE], SOURCE_ROW: data[SOURCE_ROW]}
            )
            for name, data in frozen.tables.items()
        }
        protocol = frozen.protocol
        findings = validate_tables(protocol, tables)[1]
        from trialdata.store.engine import display_url

        source = f"{display_url(url)}#{snapshot}"
        return cls(protocol, tables, findings, source)

    def table(self, name: str) -> pd.DataFrame:
        """Return a copy of a domain table without the source columns.

        Parameters
        ----------
        name : str
            Domain name, e.g. ``"adverse_events"``.

        Returns
        -------
        pandas.DataFrame
            The table; an empty frame with the domain's columns when absent.
        """
        spec = get_domain(name)
        data = self.tables.get(name)
        if data is None:
            return pd.DataFrame(columns=list(spec.columns))
        return data.drop(columns=[SOURCE_FILE, SOURCE_ROW], errors="ignore").copy()

    def validate(self) -> pd.DataFrame:
        """Check the tables as they are now against the schemas and rules.

        Tables edited in a session are checked as an upload would be, through the
        one typed path: a column turned to text is parsed again, and a column of
        another type is read as the values it holds (whole numbers in an integer
        column are those integers); a value that cannot be read as the schema's
        type is an RD-008 finding on its row. The rules then see typed values.

        Returns
        -------
        pandas.DataFrame
            The findings.
        """
        return validate_tables(self.protocol, dict(self.tables))[1]

    def require_domains(
        self,
        domains: Sequence[str],
        purpose: str,
        *,
        present: Sequence[str] = (),
        unique_keys: Sequence[str] = ("subjects", "cohorts"),
    ) -> None:
        """Raise when a domain an analysis needs is unreadable, incomplete or absent.

        Row-level findings (a bad date, a bad number) only warn; this refuses what
        would make the analysis silently wrong: a file that could not be read, a
        missing required column or domain file, or duplicated keys in a table that
        others are joined to.

        Parameters
        ----------
        domains : sequence of str
            Domains whose unreadable file, missing required column or missing
            required file stops the analysis.
        purpose : str
            What needs them, for the message (e.g. ``"the safety report"``).
        present : sequence of str, optional
            Domains that must also have a table even when the protocol does not
            require their file.
        unique_keys : sequence of str, optional
            Domains (among ``domains``) whose duplicated keys (SC-KEY) stop the
            analysis.

        Raises
        ------
        trialdata.errors.InputError
            Naming the file, row and column of every such problem.
        """
        found = self.findings
        blocking = found[
            (found["severity"] == Severity.ERROR)
            & found["domain"].isin(list(domains))
            & (
                found["rule"].isin(_UNUSABLE_RULES)
                | (found["rule"].eq("SC-KEY") & found["domain"].isin(list(unique_keys)))
            )
        ]
        problems = [
            str(
                InputError(
                    f"{rec['rule']}: {rec['message']}",
                    file=None if pd.isna(rec["file"]) else str(rec["file"]),
                    row=None if pd.isna(rec["row"]) else int(rec["row"]),
                    column=None if pd.isna(rec["column"]) else str(rec["column"]),
                )
            )
            for rec in blocking.to_dict(orient="records")
        ]
        problems += [
            f"{name}: no {name} data in {self.source}"
            for name in present
            if name not in self.tables and not blocking["domain"].eq(name).any()
        ]
        if problems:
            shown = "; ".join(problems[:5])
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise InputError(f"{purpose} cannot be computed: {shown}{more}")

    def analysis_data(self, cutoff: object = None, **rules: Any) -> AnalysisData:
        """Return the trial's analysis datasets at a cut-off, derived once.

        Every output of the trial reads these datasets (ADSL, ADAE, ADEX, ADTTE):
        the ``escalation`` command, the safety report and any script, so that they
        state the same numbers. The result is kept: asking again with the same
        cut-off and rules returns the same object.

        Parameters
        ----------
        cutoff : str, date or pandas.Timestamp, optional
            Data cut-off (inclusive); default the latest date recorded in the data.
        **rules
            Derivation rules of :func:`analyses.datasets.derive_analysis_data`
            (``dlt_window_days``, ``actual_dose_rule``, ``evaluable_rule``,
            ``followup_rule``, ``teae_worsening``, ``missing_onset``,
            ``assessment_schedule``).

        Returns
        -------
        analyses.datasets.AnalysisData
            The datasets with their rules (``.describe_rules()``) and provenance.

        Raises
        ------
        trialdata.errors.InputError
            When a domain the datasets need is unreadable or missing, or the
            cut-off is not a date.
        """
        from analyses.datasets import derive_analysis_data, normalise_cutoff

        self.require_domains(
            ("subjects", "cohorts", "administrations", "adverse_events"),
            "the analysis datasets",
            present=("subjects", "cohorts", "administrations"),
        )
        try:
            day = None if cutoff is None else normalise_cutoff(cutoff)
        except ValueError as error:
            raise InputError(f"cutoff: {error}") from None
        key = (day, tuple(sorted((k, repr(v)) for k, v in rules.items())))
        cached = self._derived.get(key)
        if cached is None:
            tables = {name: self.table(name) for name in self.tables}
            tables.setdefault("adverse_events", self.table("adverse_events"))
            try:
                cached = derive_analysis_data(
                    self.protocol, tables, cutoff=day, **rules
                )
            except ValueError as error:
                raise InputError(
                    f"analysis datasets of {self.source}: {error}"
                ) from None
            self._derived[key] = cached
        return cached

    @property
    def has_errors(self) -> bool:
        """Whether the findings include any error."""
        return bool((self.findings["severity"] == Severity.ERROR).any())

    @property
    def content_hash(self) -> str:
        """SHA-256 of the protocol and every table (source columns excluded)."""
        digest = hashlib.sha256(self.protocol.model_dump_json().encode())
        for name in sorted(self.tables):
            digest.update(name.encode())
            digest.update(hash_frame(self.table(name)).encode())
        return digest.hexdigest()
