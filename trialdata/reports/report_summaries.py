"""The report's own summaries, for what ``analyses.safety`` does not provide.

Enrolment and disposition by group (enrolled, treated, not treated, withdrawn, died,
on study at the cut-off) and the listing of deaths with the study day of death and
whether it fell in the DLT window. Each returns numbers only (integers, unrounded
percentages, dates); the report formats them. Every function takes the subjects frame
with a categorical ``group`` column (the subject-level analysis dataset, see
:func:`analyses.datasets.derive_adsl`) and counts subjects, never rows, with the
group's subjects as denominator.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "ANY_GROUP",
    "count_subjects",
    "list_deaths",
    "summarize_disposition",
]

#: Label of the all-groups column.
ANY_GROUP = "Total"


def _groups(subjects: pd.DataFrame) -> list[str]:
    return [str(g) for g in subjects["group"].cat.categories]


def count_subjects(
    subjects: pd.DataFrame,
    ids: pd.Series | pd.Index,
    *,
    within: pd.Series | None = None,
) -> pd.DataFrame:
    """Count subjects of a set by group, with the group sizes as denominators.

    Parameters
    ----------
    subjects : pandas.DataFrame
        The denominator population: ``subject_id`` and categorical ``group``.
    ids : pandas.Series or pandas.Index
        Subject ids that have the characteristic (duplicates are counted once; ids
        outside ``subjects`` are ignored).
    within : pandas.Series of bool, optional
        Restrict the denominator to these subjects (aligned with ``subjects``).

    Returns
    -------
    pandas.DataFrame
        One row per group plus :data:`ANY_GROUP`: ``group``, ``n``, ``N``, ``pct``
        (unrounded; missing when ``N`` is 0).
    """
    pop = subjects if within is None else subjects.loc[within.to_numpy(dtype=bool)]
    has = pop["subject_id"].isin(pd.Index(ids).unique())
    groups = _groups(subjects)
    n = has.groupby(pop["group"], observed=False).sum().reindex(groups, fill_value=0)
    big_n = pop.groupby("group", observed=False).size().reindex(groups, fill_value=0)
    out = pd.DataFrame({"group": groups, "n": n.to_numpy(), "N": big_n.to_numpy()})
    total = pd.DataFrame({"group": [ANY_GROUP], "n": [int(has.sum())], "N": [len(pop)]})
    out = pd.concat([out, total], ignore_index=True)
    out["n"] = out["n"].astype(int)
    out["N"] = out["N"].astype(int)
    out["pct"] = (100.0 * out["n"] / out["N"]).where(out["N"] > 0)
    return out


def _rows(
    subjects: pd.DataFrame, items: list[tuple[str, pd.Series | pd.Index]]
) -> pd.DataFrame:
    parts = [count_subjects(subjects, ids).assign(row=label) for label, ids in items]
    return pd.concat(parts, ignore_index=True)[["row", "group", "n", "N", "pct"]]


def summarize_disposition(
    subjects: pd.DataFrame, *, cutoff: pd.Timestamp
) -> pd.DataFrame:
    """Enrolment and disposition by group.

    Parameters
    ----------
    subjects : pandas.DataFrame
        All enrolled subjects with ``group``, ``safety``, ``withdrawal_date`` and
        ``death_date`` (missing when alive or unknown).
    cutoff : pandas.Timestamp
        Data cut-off; withdrawals and deaths after it are not counted.

    Returns
    -------
    pandas.DataFrame
        ``row``, ``group``, ``n``, ``N``, ``pct`` for: enrolled, treated (safety
        population), not treated, withdrawn, died, on study at cut-off.
    """
    ids = subjects["subject_id"]
    withdrawn = subjects["withdrawal_date"].notna() & (
        subjects["withdrawal_date"] <= cutoff
    )
    died = subjects["death_date"].notna() & (subjects["death_date"] <= cutoff)
    treated = subjects["safety"].astype(bool)
    return _rows(
        subjects,
        [
            ("Enrolled", ids),
            ("Treated (safety population)", ids[treated]),
            ("Enrolled, not treated", ids[~treated]),
            ("Withdrawn from study", ids[withdrawn]),
            ("Died", ids[died]),
            ("On study at data cut-off", ids[~withdrawn & ~died]),
        ],
    )


def list_deaths(
    subjects: pd.DataFrame, *, dlt_window_days: int, cutoff: pd.Timestamp
) -> pd.DataFrame:
    """List the deaths on or before the cut-off, one row each.

    Parameters
    ----------
    subjects : pandas.DataFrame
        Safety population with ``subject_id``, ``group``, ``first_dose_date``,
        ``death_date`` and ``death_cause``.
    dlt_window_days : int
        DLT window, to flag deaths inside it.
    cutoff : pandas.Timestamp
        Data cut-off.

    Returns
    -------
    pandas.DataFrame
        ``subject_id``, ``group``, ``death_date``, ``days_from_first_dose`` (first
        dose = day 1), ``in_dlt_window`` and ``death_cause``, by date.
    """
    dead = subjects.loc[
        subjects["death_date"].notna() & (subjects["death_date"] <= cutoff)
    ]
    days = (
        dead["death_date"].dt.normalize() - dead["first_dose_date"].dt.normalize()
    ).dt.days + 1
    out = pd.DataFrame(
        {
            "subject_id": dead["subject_id"],
            "group": dead["group"].astype(str),
            "death_date": dead["death_date"],
            "days_from_first_dose": days.astype("Int64"),
            "in_dlt_window": days <= dlt_window_days,
            "death_cause": dead["death_cause"],
        }
    )
    return out.sort_values(["death_date", "subject_id"]).reset_index(drop=True)
