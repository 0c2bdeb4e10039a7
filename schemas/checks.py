"""Vectorised check methods registered with pandera for the domain models.

``matches_pattern`` is ``str_matches`` evaluated once per distinct value: identifiers
and codes repeat across rows (a subject has hundreds of lab rows), so checking the
distinct values and mapping the answer back costs a fraction of a per-row regex.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.extensions import register_check_method

__all__ = ["PATTERN_DESCRIPTIONS", "describe_pattern", "matches_pattern"]

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
    distinct = pd.Series(series.dropna().unique(), dtype=object)
    good = distinct[
        distinct.astype(str).str.fullmatch(pattern).fillna(False).astype(bool)
    ]
    return series.isin(good.to_numpy()) | series.isna()


_ = pa  # pandera.pandas must be imported before registering pandas checks
