"""Which administrations were given, and each subject's first given dose.

One definition shared by the safety population, dose finding, immunomonitoring study
days and the validation rules that count days from the first dose, so that they all
start counting from the same dose.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["FIRST_DOSE_RULE", "first_given_doses", "given_mask"]

#: How the first dose is chosen, for provenance and footnotes.
FIRST_DOSE_RULE = (
    "earliest dated administration with given = true (ties: lowest admin_seq)"
)

_CARRIED = ("admin_seq", "dose_level", "route")


def given_mask(administrations: pd.DataFrame) -> pd.Series:
    """Return which administrations were given (a missing ``given`` counts as not).

    Parameters
    ----------
    administrations : pandas.DataFrame
        The administrations domain (``given``).

    Returns
    -------
    pandas.Series of bool
        Aligned on ``administrations``.
    """
    return administrations["given"].astype("boolean").fillna(False).astype(bool)


def first_given_doses(administrations: pd.DataFrame) -> pd.DataFrame:
    """Return each dosed subject's first given dose.

    The first dose is the given administration with the earliest ``admin_date``;
    between doses of the same date-time the lower ``admin_seq`` comes first. Given
    doses without a (readable) date cannot be placed and are not candidates, which
    makes the first dose *uncertain* when such a dose is numbered (``admin_seq``) at
    or before the first dated one, or carries no number: it may have come first.

    Parameters
    ----------
    administrations : pandas.DataFrame
        The administrations domain: ``subject_id``, ``admin_date``, ``given``;
        ``admin_seq``, ``dose_level`` and ``route`` are carried when present.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``subject_id`` (subjects with no dated given dose are absent):
        ``first_dose_date`` (date-time as recorded), the carried columns of that
        dose, and ``uncertain`` (bool). Without an ``admin_seq`` column no first
        dose is uncertain.
    """
    given = administrations.loc[given_mask(administrations)]
    dates = given["admin_date"]
    if not pd.api.types.is_datetime64_any_dtype(dates):
        dates = pd.to_datetime(dates, errors="coerce")
    carried = [c for c in _CARRIED if c in given.columns]
    doses = given[["subject_id", *carried]].assign(first_dose_date=dates)
    dated = doses.loc[dates.notna()]
    order = ["subject_id", "first_dose_date"]
    order += ["admin_seq"] if "admin_seq" in carried else []
    first = (
        dated.sort_values(order, kind="stable")
        .drop_duplicates("subject_id")
        .set_index("subject_id")[["first_dose_date", *carried]]
    )
    first["uncertain"] = False
    if "admin_seq" in given.columns and dates.isna().any():
        seq = pd.to_numeric(given["admin_seq"], errors="coerce").astype(float)
        by_subject = given["subject_id"]
        dated_seq = seq.where(dates.notna()).groupby(by_subject).min()
        # an undated dose without a number could be any of them: it counts as -inf
        undated_seq = seq.fillna(-np.inf).where(dates.isna()).groupby(by_subject).min()
        uncertain = undated_seq.reindex(first.index) <= dated_seq.reindex(first.index)
        first["uncertain"] = uncertain.fillna(False).astype(bool).to_numpy()
    return first
