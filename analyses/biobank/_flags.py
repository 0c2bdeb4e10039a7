"""The result object shared by the biobank sample checks."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analyses._results import AnalysisResult, Provenance

__all__ = ["FLAG_COLUMNS", "SampleFlagResult", "make_flag_result"]

#: Columns of every flag listing.
FLAG_COLUMNS: tuple[str, ...] = (
    "sample_id",
    "subject_id",
    "rule",
    "stat",
    "value",
    "message",
)


@dataclass(frozen=True, kw_only=True)
class SampleFlagResult(AnalysisResult):
    """Samples flagged by a biobank check, one row per sample and rule.

    Attributes
    ----------
    flags : pandas.DataFrame
        ``sample_id``, ``subject_id``, ``rule`` (rule id), ``stat`` (what ``value``
        measures, e.g. ``gap_hours``), ``value`` (the offending number) and
        ``message`` (plain-language statement of the problem).
    n_checked : int
        Number of samples checked.
    """

    flags: pd.DataFrame
    n_checked: int

    def to_frame(self) -> pd.DataFrame:
        """Return the long, unrounded frame.

        Returns
        -------
        pandas.DataFrame
            ``sample_id``, ``subject_id``, ``rule``, ``stat``, ``value``.
        """
        return self.flags[["sample_id", "subject_id", "rule", "stat", "value"]].copy()

    def summary(self) -> pd.DataFrame:
        """Return the number of flagged samples per rule.

        Returns
        -------
        pandas.DataFrame
            ``rule``, ``n_samples``, ``n_checked``.
        """
        counts = self.flags.groupby("rule")["sample_id"].nunique()
        out = counts.rename("n_samples").reset_index()
        out["n_checked"] = self.n_checked
        return out


def make_flag_result(
    parts: list[pd.DataFrame], *, provenance: Provenance, n_checked: int
) -> SampleFlagResult:
    """Concatenate flag listings into a :class:`SampleFlagResult`.

    Parameters
    ----------
    parts : list of pandas.DataFrame
        Listings with the :data:`FLAG_COLUMNS`.
    provenance : Provenance
        Provenance of the check.
    n_checked : int
        Number of samples checked.

    Returns
    -------
    SampleFlagResult
        Rows sorted by sample and rule.
    """
    frames = [p[list(FLAG_COLUMNS)] for p in parts if len(p)]
    if frames:
        flags = pd.concat(frames, ignore_index=True)
    else:
        flags = pd.DataFrame({c: pd.Series(dtype=object) for c in FLAG_COLUMNS})
    flags["value"] = flags["value"].astype(float)
    flags = flags.sort_values(["sample_id", "rule"], kind="stable").reset_index(
        drop=True
    )
    return SampleFlagResult(provenance=provenance, flags=flags, n_checked=n_checked)
