"""Statistics of the safety tables: Fisher's exact test, Clopper-Pearson, rounding.

The functions here are scalar or vectorised building blocks; the table functions record
which of them they used in their provenance.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from analyses.proportions import clopper_pearson

__all__ = [
    "RiskDifferenceMethod",
    "RoundingRule",
    "clopper_pearson",
    "fisher_exact_p",
    "fisher_exact_p_many",
    "format_p_value",
    "risk_difference_ci",
    "round_value",
]

#: Confidence interval of a difference of two proportions.
RiskDifferenceMethod = Literal["newcombe", "wald", "wald_cc"]

#: How a displayed number is rounded: SAS-style half away from zero, or IEEE half-even.
RoundingRule = Literal["half_up", "half_even"]


def fisher_exact_p(a: int, b: int, c: int, d: int) -> float:
    """Return the two-sided p-value of Fisher's exact test for a 2x2 table.

    The table is ``[[a, b], [c, d]]``. The two-sided p-value sums the probabilities of
    all tables with the same margins that are no more likely than the observed one,
    which is what R's ``fisher.test`` does.

    Parameters
    ----------
    a, b, c, d : int
        Cell counts: row 1 (events, non-events) then row 2 (events, non-events).

    Returns
    -------
    float
        Two-sided p-value in [0, 1].
    """
    result = stats.fisher_exact([[a, b], [c, d]], alternative="two-sided")
    return float(min(1.0, result.pvalue))


def fisher_exact_p_many(
    n1: pd.Series, total1: pd.Series, n2: pd.Series, total2: pd.Series
) -> pd.Series:
    """Return Fisher's exact two-sided p-value for many pairs of proportions.

    Each element compares ``n1 / total1`` with ``n2 / total2``. Identical tables are
    computed once, so an AE table with hundreds of rows needs only a few dozen tests.

    Parameters
    ----------
    n1, total1 : pandas.Series
        Subjects with the event and subjects at risk in the first group.
    n2, total2 : pandas.Series
        The same for the second group (aligned on the same index).

    Returns
    -------
    pandas.Series
        p-values, aligned with ``n1``.
    """
    tables = pd.DataFrame(
        {
            "a": n1.astype("int64"),
            "b": (total1 - n1).astype("int64"),
            "c": n2.astype("int64"),
            "d": (total2 - n2).astype("int64"),
        }
    )
    unique = tables.drop_duplicates()
    pvals = {
        key: fisher_exact_p(*key) for key in unique.itertuples(index=False, name=None)
    }
    keys = pd.Series(
        list(tables.itertuples(index=False, name=None)), index=tables.index
    )
    return keys.map(pvals).astype(float)


def round_value(value: float, digits: int, rule: RoundingRule = "half_up") -> float:
    """Round a number for display by a named rule.

    The value is rounded on its shortest decimal representation (``repr``), so 2.675
    rounds to 2.68 under ``half_up`` (SAS ``ROUND``) although its binary value is
    slightly below 2.675.

    Parameters
    ----------
    value : float
        The number; NaN is returned unchanged.
    digits : int
        Decimal places kept.
    rule : {"half_up", "half_even"}, default "half_up"
        ``half_up`` rounds halves away from zero (SAS); ``half_even`` rounds halves to
        the even neighbour (R's ``round``, Python's ``round``).

    Returns
    -------
    float
        The rounded number.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return float("nan")
    mode = ROUND_HALF_UP if rule == "half_up" else ROUND_HALF_EVEN
    quantum = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(float(value))).quantize(quantum, rounding=mode))


def format_p_value(p: float, *, digits: int = 3, rule: RoundingRule = "half_up") -> str:
    """Format a p-value the way the CDISC pilot tables do.

    Values that round to 1 are shown as ``>.99``; values below ``10**-digits`` as
    ``<.001`` (for 3 digits); NaN as an empty string.

    Parameters
    ----------
    p : float
        The p-value.
    digits : int, default 3
        Decimal places.
    rule : {"half_up", "half_even"}, default "half_up"
        Rounding rule.

    Returns
    -------
    str
        The display text.
    """
    if p is None or np.isnan(p):
        return ""
    rounded = round_value(p, digits, rule)
    if rounded > 0.99:
        return ">.99"
    if rounded < 10.0**-digits:
        return "<." + "0" * (digits - 1) + "1"
    return f"{rounded:.{digits}f}"


def _wilson(x: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def risk_difference_ci(
    x1: np.ndarray | pd.Series | int,
    n1: np.ndarray | pd.Series | int,
    x2: np.ndarray | pd.Series | int,
    n2: np.ndarray | pd.Series | int,
    *,
    method: RiskDifferenceMethod = "newcombe",
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the difference of two proportions ``x1/n1 - x2/n2`` and its interval.

    Parameters
    ----------
    x1, n1 : array-like
        Events and subjects of the group of interest.
    x2, n2 : array-like
        Events and subjects of the reference group.
    method : {"newcombe", "wald", "wald_cc"}, default "newcombe"
        ``newcombe``: hybrid Wilson score interval (Newcombe 1998, method 10), which
        behaves at 0 events; ``wald``: normal approximation; ``wald_cc``: with Yates'
        continuity correction (R ``prop.test`` default).
    confidence : float, default 0.95
        Two-sided level.

    Returns
    -------
    tuple of numpy.ndarray
        Difference, lower and upper bound.
    """
    a1 = np.atleast_1d(np.asarray(x1, dtype=float))
    m1 = np.atleast_1d(np.asarray(n1, dtype=float))
    a2 = np.atleast_1d(np.asarray(x2, dtype=float))
    m2 = np.atleast_1d(np.asarray(n2, dtype=float))
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    p1, p2 = a1 / m1, a2 / m2
    d = p1 - p2
    if method == "newcombe":
        l1, u1 = _wilson(a1, m1, z)
        l2, u2 = _wilson(a2, m2, z)
        lower = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        upper = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    else:
        se = np.sqrt(p1 * (1 - p1) / m1 + p2 * (1 - p2) / m2)
        cc = 0.5 * (1 / m1 + 1 / m2) if method == "wald_cc" else 0.0
        lower = np.maximum(d - z * se - cc, -1.0)
        upper = np.minimum(d + z * se + cc, 1.0)
    return d, lower, upper
