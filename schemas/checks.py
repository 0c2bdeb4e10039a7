"""Vectorised check methods registered with pandera for the domain models.

``matches_pattern`` is ``str_matches`` run by Arrow's vectorised regular-expression
engine instead of a Python call per value, which matters at a million rows.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from pandera.extensions import register_check_method

__all__ = [
    "PATTERN_DESCRIPTIONS",
    "describe_pattern",
    "failing_values",
    "matches_pattern",
]

#: Plain-language descriptions of the patterns the domain models use.
PATTERN_DESCRIPTIONS: dict[str, str] = {
    r"^[A-Za-z0-9][A-Za-z0-9_.\-]{1,39}$": "2-40 letters, digits, '.', '-' or '_', "
    "starting with a letter or digit",
    r"^[A-Z][A-Z0-9]{0,7}$": "1-8 upper-case letters or digits, starting with a letter",
}


def describe_pattern(pattern: str) -> str:
    """Return a plain-language description of a pattern, or the pattern itself.

    Parameters
    ----------
    pattern : str
        A regular expression used by a domain model.

    Returns
    -------
    str
        Words a site can act on.
    """
    return PATTERN_DESCRIPTIONS.get(pattern, f"the pattern {pattern}")


@register_check_method(statistics=["pattern"], supported_types=pd.Series)
def matches_pattern(series: pd.Series, *, pattern: str) -> pd.Series:
    """Return which values fully match a regular expression; missing values pass.

    The match runs in Arrow's C++ regular-expression engine (RE2 syntax) over the
    distinct values of the column only (identifiers repeat on many rows); rows are
    then marked by membership in the failing values.

    Parameters
    ----------
    series : pandas.Series
        Text values.
    pattern : str
        Regular expression the whole value must match.

    Returns
    -------
    pandas.Series of bool
        Aligned on ``series``.
    """
    values = pyarrow.array(series.astype(pd.StringDtype("pyarrow")).array)
    failing = failing_values(pc.unique(values).drop_null(), pattern)
    if len(failing) == 0:
        return pd.Series(True, index=series.index)
    passed = pc.invert(pc.is_in(values, value_set=failing))
    return pd.Series(passed.to_numpy(zero_copy_only=False), index=series.index)


_ = pa  # pandera.pandas must be imported before registering pandas checks


def failing_values(distinct: pyarrow.Array, pattern: str) -> pyarrow.Array:
    """Return the values that do not fully match a regular expression.

    Parameters
    ----------
    distinct : pyarrow.Array
        Distinct text values, none missing (each is matched once).
    pattern : str
        Regular expression (RE2 syntax) the whole value must match.

    Returns
    -------
    pyarrow.Array
        The values that fail, in their order.
    """
    matched = pc.match_substring_regex(distinct, f"^(?:{pattern})$")
    return distinct.filter(pc.invert(matched))
