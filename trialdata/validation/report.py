"""The result of validating an upload."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from schemas.protocol import Protocol
from trialdata.findings import Severity
from trialdata.validation.rule import SOURCE_FILE, SOURCE_ROW

__all__ = ["FileRecord", "ValidationReport"]


@dataclass(frozen=True)
class FileRecord:
    """A file of the upload as it was read.

    Attributes
    ----------
    path : pathlib.Path
        Where it is.
    domain : str or None
        The domain it holds; None for a file that is not a domain file.
    sha256 : str
        Content hash of its bytes.
    n_rows : int
        Records read (0 when unreadable).
    """

    path: Path
    domain: str | None
    sha256: str
    n_rows: int

    @property
    def name(self) -> str:
        """File name without folder."""
        return self.path.name


@dataclass(frozen=True)
class ValidationReport:
    """Everything known about one upload after validation.

    Attributes
    ----------
    folder : pathlib.Path
        The upload folder.
    protocol : schemas.protocol.Protocol
        Its protocol.
    tables : dict of str to pandas.DataFrame
        Every row read, typed, by domain, with ``_source_file`` and ``_source_row``.
    findings : pandas.DataFrame
        One row per finding (:data:`trialdata.findings.FINDING_COLUMNS`).
    files : list of FileRecord
        The data files read.
    """

    folder: Path
    protocol: Protocol
    tables: dict[str, pd.DataFrame]
    findings: pd.DataFrame
    files: list[FileRecord] = field(default_factory=list)

    @property
    def n_errors(self) -> int:
        """Number of error-level findings."""
        return int((self.findings["severity"] == Severity.ERROR).sum())

    @property
    def n_warnings(self) -> int:
        """Number of warning-level findings."""
        return int((self.findings["severity"] == Severity.WARNING).sum())

    @property
    def exit_code(self) -> int:
        """0 when no finding is an error, 1 otherwise."""
        return 1 if self.n_errors else 0

    def rejected_mask(self, domain: str) -> pd.Series:
        """Return which rows of a domain table have an error-level finding.

        A file-level error (missing column, duplicated column, refused identifier
        column) rejects every row of that file.

        Parameters
        ----------
        domain : str
            Domain name.

        Returns
        -------
        pandas.Series of bool
            Aligned on ``tables[domain]``'s index.
        """
        table = self.tables[domain]
        errors = self.findings[
            (self.findings["severity"] == Severity.ERROR)
            & (self.findings["domain"] == domain)
        ]
        mask = np.zeros(len(table), dtype=bool)
        if len(errors):
            files = table[SOURCE_FILE].astype(str)
            whole_files = set(errors.loc[errors["row"].isna(), "file"])
            mask |= files.isin(whole_files).to_numpy()
            line = pd.to_numeric(table[SOURCE_ROW]).to_numpy(dtype=np.int64)
            by_file = errors.loc[errors["row"].notna()].groupby("file")["row"]
            for name, rows in by_file:
                in_file = (files == str(name)).to_numpy(dtype=bool)
                mask |= in_file & np.isin(line, rows.to_numpy(dtype=np.int64))
        return pd.Series(mask, index=table.index, name="rejected")

    def accepted(self, domain: str) -> pd.DataFrame:
        """Return the rows of a domain with no error-level finding.

        Parameters
        ----------
        domain : str
            Domain name.

        Returns
        -------
        pandas.DataFrame
            The accepted rows, source columns included.
        """
        return self.tables[domain].loc[~self.rejected_mask(domain)]
