"""Availability of biobank aliquots per subject, visit and sample type."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from analyses._results import AnalysisResult, make_provenance

__all__ = ["AvailabilityResult", "tabulate_availability"]


@dataclass(frozen=True, kw_only=True)
class AvailabilityResult(AnalysisResult):
    """Counts of available and destroyed aliquots.

    Attributes
    ----------
    table : pandas.DataFrame
        Long frame: the ``by`` columns, ``stat`` (``n_available``,
        ``n_destroyed``, ``n_total``) and ``value``.
    by : tuple of str
        Group columns.
    """

    table: pd.DataFrame
    by: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """Return the long, unrounded frame.

        Returns
        -------
        pandas.DataFrame
            Group columns, ``stat``, ``value``.
        """
        return self.table.copy()

    def matrix(self, stat: str = "n_available") -> pd.DataFrame:
        """Return the subject x (visit, sample type) matrix of one count.

        Parameters
        ----------
        stat : str, default "n_available"
            Count shown in the cells.

        Returns
        -------
        pandas.DataFrame
            Rows = first ``by`` column, columns = the other ``by`` columns, 0 where
            no sample exists.
        """
        part = self.table.loc[self.table["stat"] == stat]
        wide = part.pivot_table(
            index=self.by[0], columns=list(self.by[1:]), values="value", aggfunc="sum"
        )
        return wide.fillna(0.0)


def tabulate_availability(
    data: pd.DataFrame,
    by: Sequence[str] = ("subject_id", "visit", "sample_type"),
    *,
    as_of: pd.Timestamp | str | None = None,
) -> AvailabilityResult:
    """Count available (not destroyed) aliquots per subject, visit and sample type.

    Parameters
    ----------
    data : pandas.DataFrame
        Biobank samples (``destroyed_date`` and the ``by`` columns).
    by : sequence of str, default ("subject_id", "visit", "sample_type")
        Group columns.
    as_of : timestamp or str, optional
        Availability on this date: a sample destroyed after it still counts as
        available. Default: now, i.e. any ``destroyed_date`` makes it unavailable.

    Returns
    -------
    AvailabilityResult
        Counts per group.
    """
    cols = list(by)
    destroyed = data["destroyed_date"].notna()
    if as_of is not None:
        destroyed &= pd.to_datetime(data["destroyed_date"]) <= pd.Timestamp(as_of)
    work = data[cols].assign(
        n_available=(~destroyed).astype(float), n_destroyed=destroyed.astype(float)
    )
    counts = work.groupby(cols, sort=True, dropna=False)[
        ["n_available", "n_destroyed"]
    ].sum()
    counts["n_total"] = counts["n_available"] + counts["n_destroyed"]
    table = counts.reset_index().melt(id_vars=cols, var_name="stat")
    order = {"n_available": 0, "n_destroyed": 1, "n_total": 2}
    table["_s"] = table["stat"].map(order)
    table = table.sort_values([*cols, "_s"], kind="stable").drop(columns="_s")
    prov = make_provenance(
        "tabulate_availability",
        inputs={"data": data},
        by=cols,
        as_of=None if as_of is None else str(pd.Timestamp(as_of).date()),
    )
    return AvailabilityResult(
        provenance=prov, table=table.reset_index(drop=True), by=tuple(cols)
    )
