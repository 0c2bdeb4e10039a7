"""Warning classes of the survival analyses."""

from __future__ import annotations

__all__ = ["ConvergenceWarning", "SmallSampleWarning"]


class SmallSampleWarning(UserWarning):
    """Too few events for the large-sample (chi-square / normal) approximation.

    Raised by the comparisons and the Cox model when the number of events is below
    the ``min_events`` threshold; the result then carries ``few_events=True``.
    Consider ``compare_survival(..., method="exact")`` for a two-group comparison.
    """


class ConvergenceWarning(UserWarning):
    """The Cox model did not converge or a coefficient may be infinite.

    The counterpart of R ``coxph``'s "Ran out of iterations" and "Loglik converged
    before variable ...; coefficient may be infinite" warnings; the result carries
    ``converged=False``.
    """
