"""``keys.map(values)`` that also works with no values on pandas 3."""

from __future__ import annotations

import pandas as pd

__all__ = ["lookup"]


def lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """Return each key's value, missing where ``values`` has none (``keys.map``).

    Parameters
    ----------
    keys : pandas.Series
        The keys, e.g. subject ids.
    values : pandas.Series
        Values indexed by key (a unique index).

    Returns
    -------
    pandas.Series
        Aligned with ``keys``. With no values at all the result keeps their dtype, all
        missing: pandas 3 casts an empty mapper to float64, which a datetime mapper
        refuses.
    """
    if len(values):
        return keys.map(values)
    return pd.Series(values.reindex(keys.to_numpy()).to_numpy(), index=keys.index)
