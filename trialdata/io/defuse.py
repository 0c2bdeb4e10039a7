"""Defuse text for spreadsheets: values that a spreadsheet would run as formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["defuse_formulas"]

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def defuse_formulas(data: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would read as a formula with an apostrophe.

    Cells of text columns that start with ``=``, ``+``, ``-``, ``@``, tab or carriage
    return (OWASP CSV injection) get a leading ``'``. Numbers are left alone, so a
    negative number stays a number.

    Parameters
    ----------
    data : pandas.DataFrame
        A frame about to be written to CSV or Excel.

    Returns
    -------
    pandas.DataFrame
        A copy with text cells defused.
    """
    result = data.copy()
    for column in result.columns:
        values = result[column]
        if not (
            pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)
        ):
            continue
        # NumPy masks: an empty column maps to an empty str Series on pandas 3
        is_text = np.fromiter(
            (isinstance(v, str) for v in values), dtype=bool, count=len(values)
        )
        starts = values.astype(str).str.startswith(_TRIGGERS).to_numpy(dtype=bool)
        risky = is_text & starts
        if risky.any():
            result[column] = values.where(~risky, "'" + values.astype(str))
    return result
