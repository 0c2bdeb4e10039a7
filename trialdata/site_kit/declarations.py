"""What a domain schema declares about a column: terms, range, pattern, date-time.

The pandera models of :mod:`schemas.domains` declare each column's checks
(``isin``, ``ge``/``gt``/``le``/``lt``/``in_range``, ``matches_pattern`` or
``str_matches``); these functions read them back through pandera's public
``Column.checks`` (each check's ``name`` and ``statistics``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from schemas import terms
from trialdata.site_kit.model import ValueRange

__all__ = [
    "RANGE_CHECKS",
    "TERM_CHECKS",
    "TEXT_PATTERN_CHECKS",
    "allowed_terms",
    "is_date_time",
    "other_checks",
    "pattern_of",
    "terminology_name",
    "value_range",
]

#: Range checks and the bound each sets: (bound, inclusive).
RANGE_CHECKS: dict[str, tuple[str, bool]] = {
    "greater_than": ("minimum", False),
    "greater_than_or_equal_to": ("minimum", True),
    "less_than": ("maximum", False),
    "less_than_or_equal_to": ("maximum", True),
}

#: Checks of a controlled terminology.
TERM_CHECKS = frozenset({"isin"})

#: Checks of a text pattern.
TEXT_PATTERN_CHECKS = frozenset({"matches_pattern", "str_matches"})

_KNOWN_CHECKS = (
    frozenset(RANGE_CHECKS) | TERM_CHECKS | TEXT_PATTERN_CHECKS | {"in_range"}
)


def allowed_terms(column: Any) -> tuple[str, ...]:
    """Return the terms an ``isin`` check of a column allows (empty: no such check).

    Parameters
    ----------
    column : pandera.api.pandas.components.Column
        A column of a domain schema.

    Returns
    -------
    tuple of str
        In the order the schema lists them.
    """
    for check in column.checks:
        if check.name in TERM_CHECKS:
            return tuple(str(v) for v in check.statistics["allowed_values"])
    return ()


def value_range(column: Any) -> ValueRange | None:
    """Return the bounds of a column's range checks (the tightest of each side).

    Parameters
    ----------
    column : pandera.api.pandas.components.Column
        A column of a domain schema.

    Returns
    -------
    ValueRange or None
        None when the column has no range check.
    """
    bounds: dict[str, tuple[Any, bool]] = {}

    def tighten(side: str, value: Any, inclusive: bool) -> None:
        current = bounds.get(side)
        if current is None:
            bounds[side] = (value, inclusive)
            return
        higher = side == "minimum"
        if (value > current[0]) == higher and value != current[0]:
            bounds[side] = (value, inclusive)
        elif value == current[0]:
            bounds[side] = (value, inclusive and current[1])

    for check in column.checks:
        stats = check.statistics or {}
        if check.name in RANGE_CHECKS:
            side, inclusive = RANGE_CHECKS[check.name]
            tighten(side, stats[f"{side[:3]}_value"], inclusive)
        elif check.name == "in_range":
            tighten("minimum", stats["min_value"], bool(stats.get("include_min", True)))
            tighten("maximum", stats["max_value"], bool(stats.get("include_max", True)))
    if not bounds:
        return None
    low = bounds.get("minimum", (None, True))
    high = bounds.get("maximum", (None, True))
    return ValueRange(low[0], low[1], high[0], high[1])


def pattern_of(column: Any) -> str | None:
    """Return the regular expression a column's text must match, or None.

    Parameters
    ----------
    column : pandera.api.pandas.components.Column
        A column of a domain schema.

    Returns
    -------
    str or None
        The pattern as declared.
    """
    for check in column.checks:
        if check.name in TEXT_PATTERN_CHECKS:
            pattern = (check.statistics or {}).get("pattern")
            return getattr(pattern, "pattern", pattern)
    return None


def other_checks(column: Any) -> tuple[str, ...]:
    """Return the names of a column's checks that are not terms, ranges or patterns."""
    return tuple(c.name for c in column.checks if c.name not in _KNOWN_CHECKS)


def terminology_name(values: tuple[str, ...]) -> str | None:
    """Return the name of the controlled terminology with exactly these values.

    Parameters
    ----------
    values : tuple of str
        The terms of a column's ``isin`` check.

    Returns
    -------
    str or None
        The list's name and the first line of its docstring, e.g. ``"Outcome:
        Outcome of an adverse event (CDISC C66768)."``; None when no list of
        :mod:`schemas.terms` has exactly these values (a list in the schema
        itself).
    """
    for name in terms.__all__:
        enum = getattr(terms, name)
        is_list = isinstance(enum, type) and issubclass(enum, StrEnum)
        if is_list and tuple(terms.values(enum)) == values:
            summary = (enum.__doc__ or "").strip().splitlines()[0]
            return f"{name}: {summary}" if summary else name
    return None


_TIME_WORDS = re.compile(r"date-time|date and time", re.IGNORECASE)


def is_date_time(name: str, description: str) -> bool:
    """Return whether a date column holds a time of day as well.

    A column is a date-time when its name ends in ``_time`` or its description
    says "date-time"; other date columns hold a date (a time may still be sent).

    Parameters
    ----------
    name : str
        Column name.
    description : str
        Its description in the schema.

    Returns
    -------
    bool
        True for a date-time.
    """
    return name.endswith("_time") or bool(_TIME_WORDS.search(description))
