"""Warning classes of the survival analyses."""

from __future__ import annotations

__all__ = ["SmallSampleWarning"]


class SmallSampleWarning(UserWarning):
    """Too few events for the large-sample (chi-square / normal) approximation.

    Raised by the comparisons and the Cox model when the number of events is below
    the ``min_events`` threshold; the result then carries ``few_events=True``.
    Consider ``compare_survival(..., method="exact")`` for a two-group comparison.
    """
