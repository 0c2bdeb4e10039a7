"""great_tables rendering of the safety results.

Numbers and formatting are separate steps: the results hold unrounded numbers and a
display frame; this module turns the display frame into a ``great_tables.GT`` with the
title, the footnotes that define the numbers, and the provenance line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analyses._optional import import_optional

if TYPE_CHECKING:  # pragma: no cover
    from analyses.safety._base import SafetyResult

__all__ = ["render_gt"]


def render_gt(result: SafetyResult) -> Any:
    """Render a safety result as a great_tables table.

    Parameters
    ----------
    result : SafetyResult
        Any safety table or listing.

    Returns
    -------
    great_tables.GT
        The table: title, the display frame, one source note per footnote and a final
        note with the provenance.
    """
    GT = import_optional("great_tables", "reports", "SafetyResult.to_gt()").GT

    frame = result.display().copy()
    frame.columns = [str(c) for c in frame.columns]
    table = GT(frame).tab_header(title=result.title)
    if "label" in frame.columns:
        table = table.cols_label(label="")
    for note in result.footnotes:
        table = table.tab_source_note(note)
    return table.tab_source_note(result.provenance.describe())
