"""Competing events from an ADTTE frame: which event ended each subject's time.

ADTTE's PFS (or RFS) ends at the first of relapse/progression and death, and says
which in ``EVNTDESC`` (``"DISEASE PROGRESSION"`` or ``"DEATH"``, see
:func:`analyses.survival.derive_adtte`). For competing risks the two are kept
apart: relapse, and death without relapse. :func:`derive_competing_events` adds the
cause as ``CAUSE`` (text, categorical) and ``CAUSEN`` (0 = censored, 1, 2, ... in
the order of ``causes``), the input of :func:`estimate_cumulative_incidence`,
:func:`compare_cumulative_incidence` and :func:`estimate_fine_gray`. The shared
analysis datasets are not changed: this works on a copy of their ADTTE rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from analyses.survival._data import select_parameter

__all__ = ["AML_CAUSES", "CENSORED", "derive_competing_events"]

#: Value of ``CAUSE`` for a censored time.
CENSORED = "CENSORED"
#: AML: ADTTE ``EVNTDESC`` of a PFS/RFS event -> competing cause, in report order.
AML_CAUSES: dict[str, str] = {
    "DISEASE PROGRESSION": "RELAPSE",
    "DEATH": "DEATH WITHOUT RELAPSE",
}


def derive_competing_events(
    adtte: pd.DataFrame,
    *,
    paramcd: str | None = "PFS",
    causes: Mapping[str, str] | None = None,
    event_column: str = "EVNTDESC",
    cnsr: str = "CNSR",
) -> pd.DataFrame:
    """Return the rows of one ADTTE parameter with their competing cause.

    Parameters
    ----------
    adtte : pandas.DataFrame
        ADTTE rows (``PARAMCD``, ``AVAL``, ``CNSR``, ``EVNTDESC``), e.g.
        ``Trial.analysis_data().adtte``.
    paramcd : str or None
        Parameter whose events compete (default ``"PFS"``: relapse/progression vs
        death without it; ``"RFS"`` counts from the first remission). None: the
        frame must hold one parameter.
    causes : mapping, optional
        ``EVNTDESC`` value of an event (CNSR 0) -> cause label, in the order the
        causes are to be reported. Default :data:`AML_CAUSES`.
    event_column : str
        Column describing the event (default ``"EVNTDESC"``).
    cnsr : str
        ADaM censoring column (0 = event).

    Returns
    -------
    pandas.DataFrame
        A copy of the rows with ``CAUSE`` (categorical: :data:`CENSORED`, then the
        causes in order; missing where ``CNSR`` is missing, e.g. no time origin)
        and ``CAUSEN`` (0 censored, k for the k-th cause; nullable integer).

    Raises
    ------
    ValueError
        If an event (CNSR 0) has an ``EVNTDESC`` that ``causes`` does not map.
    """
    given = AML_CAUSES if causes is None else causes
    mapping = {str(k).strip().upper(): v for k, v in given.items()}
    rows = select_parameter(adtte, paramcd).copy()
    for col in (cnsr, event_column):
        if col not in rows.columns:
            raise KeyError(f"column {col!r} not in the data: {list(rows.columns)}")
    labels = list(dict.fromkeys(mapping.values()))
    status = pd.to_numeric(rows[cnsr], errors="coerce")
    event = status == 0
    described = rows[event_column].astype("string").str.strip().str.upper()
    unknown = sorted(set(described[event].dropna()) - set(mapping))
    if unknown or described[event].isna().any():
        raise ValueError(
            f"events (CNSR 0) with {event_column} {unknown or ['<missing>']} have no "
            f"cause; give causes= mapping each of them (known: {sorted(mapping)})"
        )
    cause = pd.Series(pd.NA, index=rows.index, dtype="object")
    cause[status.notna() & ~event] = CENSORED
    cause[event] = described[event].map(mapping)
    rows["CAUSE"] = pd.Categorical(cause, categories=[CENSORED, *labels])
    code = {CENSORED: 0, **{lab: k + 1 for k, lab in enumerate(labels)}}
    rows["CAUSEN"] = pd.array(
        [code[c] if isinstance(c, str) else pd.NA for c in rows["CAUSE"]],
        dtype="Int64",
    )
    return rows
