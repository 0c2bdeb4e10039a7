"""Which administrations were given, and each subject's first given dose.

One definition shared by the safety population, dose finding, immunomonitoring study
days and the validation rules that count days from the first dose, so that they all
start counting from the same dose.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["FIRST_DOSE_RULE", "first_given_doses", "first_given_rows", "given_mask"]

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
    rows, given, dates, seq = _first_rows(administrations)
    carried = [c for c in _CARRIED if c in administrations.columns]
    first = pd.DataFrame(
        {
            "first_dose_date": dates.array.take(rows),
            **{c: administrations[c].array.take(rows) for c in carried},
        },
        index=pd.Index(administrations["subject_id"].array.take(rows)),
    )
    first.index.name = "subject_id"
    first["uncertain"] = False
    undated = given & dates.isna().to_numpy()
    if seq is not None and undated.any():
        given_seq = seq[given]
        by_subject = administrations["subject_id"][given]
        dated_seq = given_seq.where(~undated[given]).groupby(by_subject).min()
        # an undated dose without a number could be any of them: it counts as -inf
        undated_seq = (
            given_seq.fillna(-np.inf).where(undated[given]).groupby(by_subject).min()
        )
        uncertain = undated_seq.reindex(first.index) <= dated_seq.reindex(first.index)
        first["uncertain"] = uncertain.fillna(False).astype(bool).to_numpy()
    return first


def first_given_rows(administrations: pd.DataFrame) -> pd.Series:
    """Return the row of each dosed subject's first given dose.

    The dose :func:`first_given_doses` describes, located in the table (for a
    finding on that row).

    Parameters
    ----------
    administrations : pandas.DataFrame
        The administrations domain (``subject_id``, ``admin_date``, ``given``,
        ``admin_seq`` when present).

    Returns
    -------
    pandas.Series of int
        0-based row positions in ``administrations``, indexed by ``subject_id``.
    """
    rows = _first_rows(administrations)[0]
    subjects = pd.Index(administrations["subject_id"].array.take(rows))
    return pd.Series(rows, index=subjects.rename("subject_id"), name="row")


def _first_rows(
    administrations: pd.DataFrame,
) -> tuple[np.ndarray, np.ndarray, pd.Series, pd.Series | None]:
    """Return the first-dose rows, the given mask, the dates and ``admin_seq``."""
    given = given_mask(administrations).to_numpy()
    dates = administrations["admin_date"]
    if not pd.api.types.is_datetime64_any_dtype(dates):
        dates = pd.to_datetime(dates, errors="coerce")
    seq = (
        _sequence_numbers(administrations)
        if "admin_seq" in administrations.columns
        else None
    )
    dated = np.flatnonzero(given & dates.notna().to_numpy())
    rows = _earliest_per_subject(administrations["subject_id"], dates, seq, dated)
    return rows, given, dates, seq


def _sequence_numbers(administrations: pd.DataFrame) -> pd.Series:
    """Return ``admin_seq`` as floats, NaN where missing or not a number."""
    return pd.to_numeric(administrations["admin_seq"], errors="coerce").astype(float)


def _earliest_per_subject(
    subject_ids: pd.Series,
    dates: pd.Series,
    seq: pd.Series | None,
    candidates: np.ndarray,
) -> np.ndarray:
    """Return the position of each subject's earliest candidate dose.

    Candidates are ordered by subject, date-time and ``admin_seq`` (missing numbers
    last), keeping the table's order between equals, and the first of each subject
    is taken: a stable ``sort_values`` and ``drop_duplicates("subject_id")``, in
    NumPy. Subjects come out in sorted order, a missing subject id last.

    Parameters
    ----------
    subject_ids : pandas.Series
        The administrations' ``subject_id``.
    dates : pandas.Series
        Their ``admin_date`` as date-times.
    seq : pandas.Series or None
        Their ``admin_seq`` as floats (:func:`_sequence_numbers`); None without
        the column.
    candidates : numpy.ndarray of int
        Positions of the doses to choose from (given, dated).

    Returns
    -------
    numpy.ndarray of int
        Positions among the administrations, one per subject.
    """
    subject = subject_ids.take(candidates)
    codes, distinct = pd.factorize(subject, sort=True)
    codes = np.where(codes < 0, len(distinct), codes)  # a missing id sorts last
    moments = dates.to_numpy(dtype="datetime64[ns]")[candidates].view(np.int64)
    keys = [moments, codes]  # np.lexsort sorts by the last key first
    if seq is not None:
        numbered = seq.to_numpy()[candidates]
        keys.insert(0, np.where(np.isnan(numbered), np.inf, numbered))
    order = np.lexsort(keys)
    ordered = codes[order]
    heads = np.ones(len(order), dtype=bool)
    heads[1:] = ordered[1:] != ordered[:-1]
    return np.asarray(candidates[order[heads]], dtype=np.int64)
