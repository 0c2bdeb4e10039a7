"""Base class of the safety results: a title, footnotes and a great_tables rendering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analyses._results import AnalysisResult

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["SafetyResult"]


@dataclass(frozen=True, kw_only=True)
class SafetyResult(AnalysisResult):
    """A safety table or listing: numbers plus the text that must travel with them.

    Attributes
    ----------
    title : str
        Table title.
    footnotes : tuple of str
        Every definition that changes a number (population, denominator, TEAE rule,
        column variable, rounding), printed under the rendered table.
    """

    title: str
    footnotes: tuple[str, ...] = ()

    def display(self) -> pd.DataFrame:
        """Return the formatted display frame rendered by :meth:`to_gt`.

        Returns
        -------
        pandas.DataFrame
            Text cells, one row per table row. Defaults to :meth:`summary`.
        """
        return self.summary()

    def to_gt(self) -> Any:
        """Render the table with great_tables.

        Returns
        -------
        great_tables.GT
            Title, the display frame, and the footnotes and provenance as source notes.
        """
        from analyses.safety.tables import render_gt

        return render_gt(self)
