"""Treatment-emergent adverse events: partial-date imputation and the TEAE flag.

Imputation of partial onset dates (admiral-style, ``derive_vars_dt`` with
``highest_imputation = "M"``, ``date_imputation = "first"`` and the first-dose date as
the minimum date):

* ``YYYY-MM-DD`` (or a date-time): kept, no flag.
* ``YYYY-MM``: the first day of the month; if the first dose falls in that month, the
  first-dose date instead (an event reported in the dosing month is not assumed to
  predate the dose). Flag ``"D"``.
* ``YYYY``: 1 January; if the first dose falls in that year, the first-dose date. Flag
  ``"M"`` (month and day imputed).
* empty: no date, no flag. Whether such an event is treatment emergent is the
  ``missing_onset`` parameter of :func:`derive_teae` (FDA STF-IG: include them).

TEAE rule (:func:`derive_teae`): an event is treatment emergent when its onset is on or
after the first given administration and, if ``window_days`` is set, not later than
``window_days`` after the last given administration. With ``worsening=True`` a
pre-existing condition is handled as in admiral's ``derive_var_trtemfl`` with an
intensity: when a subject has an event of the same preferred term that started before
the first dose and was still ongoing at the first dose, a later record of that term
counts as treatment emergent only when its grade is higher than the highest grade of the
pre-existing record(s). A grade increase recorded by overwriting the grade of the
pre-existing record itself cannot be seen in the data and is not detected.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

__all__ = [
    "TEAE_RULE_ATTR",
    "MissingOnsetRule",
    "compute_imputation_flags",
    "compute_imputed_dates",
    "derive_imputed_onset",
    "derive_teae",
    "describe_teae_rule",
]

#: Key of ``DataFrame.attrs`` where :func:`derive_teae` records its rule, so that the
#: tables can state it (readers of ADaM set it to ``{"source": "ADaM TRTEMFL"}``).
TEAE_RULE_ATTR = "teae_rule"

#: Whether an event with no onset date at all is treatment emergent.
MissingOnsetRule = Literal["teae", "not_teae"]

_FULL = r"^\d{4}-\d{2}-\d{2}"
_MONTH = r"^\d{4}-\d{2}$"
_YEAR = r"^\d{4}$"


def compute_imputation_flags(raw: pd.Series) -> pd.Series:
    """Return the imputation flag of ISO 8601 (possibly partial) dates.

    Parameters
    ----------
    raw : pandas.Series
        Dates as text: ``YYYY-MM-DD[Thh:mm...]``, ``YYYY-MM``, ``YYYY`` or empty.

    Returns
    -------
    pandas.Series
        ``"D"`` when the day is imputed, ``"M"`` when month and day are, else missing
        (string dtype).
    """
    text = raw.astype("string").str.strip()
    flags = pd.Series(pd.NA, index=raw.index, dtype="string")
    flags = flags.mask(text.str.match(_MONTH).fillna(False).astype(bool), "D")
    flags = flags.mask(text.str.match(_YEAR).fillna(False).astype(bool), "M")
    return flags


def compute_imputed_dates(
    raw: pd.Series, first_dose: pd.Series | None = None
) -> pd.Series:
    """Return dates imputed from ISO 8601 partial dates by the rules of this module.

    Parameters
    ----------
    raw : pandas.Series
        Dates as text (``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY`` or empty).
    first_dose : pandas.Series, optional
        First-dose date of the subject of each element (aligned with ``raw``). When the
        partial date's month (or year) contains the first dose, the first-dose date is
        used instead of the first day of the period.

    Returns
    -------
    pandas.Series
        ``datetime64[ns]`` dates, NaT where ``raw`` is empty or unreadable.
    """
    text = raw.astype("string").str.strip()
    full = text.str.match(_FULL).fillna(False).astype(bool)
    month = text.str.match(_MONTH).fillna(False).astype(bool)
    year = text.str.match(_YEAR).fillna(False).astype(bool)
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    out[full] = pd.to_datetime(text[full].str.slice(0, 10), errors="coerce")
    out[month] = pd.to_datetime(text[month] + "-01", errors="coerce")
    out[year] = pd.to_datetime(text[year] + "-01-01", errors="coerce")
    if first_dose is not None:
        dose = pd.to_datetime(first_dose).dt.normalize()
        same_month = month & (dose.dt.strftime("%Y-%m") == text)
        same_year = year & (dose.dt.strftime("%Y") == text)
        replace = (same_month | same_year) & (dose > out)
        out[replace] = dose[replace]
    return out


def derive_imputed_onset(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    *,
    column: str = "onset_date_raw",
) -> pd.DataFrame:
    """Impute partial onset dates of adverse events and flag the imputation.

    Parameters
    ----------
    data : pandas.DataFrame
        Adverse events with ``subject_id`` and the raw onset text in ``column``.
    subjects : pandas.DataFrame
        Subjects with ``first_dose_date`` (see ``derive_safety_population``).
    column : str, default "onset_date_raw"
        The column holding the raw ISO 8601 onset text.

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` with ``onset_date`` (imputed) and ``onset_date_imputed``
        (``"D"``, ``"M"`` or missing).
    """
    out = data.copy()
    first = out["subject_id"].map(subjects.set_index("subject_id")["first_dose_date"])
    out["onset_date"] = compute_imputed_dates(out[column], first)
    out["onset_date_imputed"] = compute_imputation_flags(out[column])
    return out


def describe_teae_rule(data: pd.DataFrame) -> tuple[dict[str, object] | None, str]:
    """Return the TEAE rule recorded on an adverse-event frame, and a sentence for it.

    Parameters
    ----------
    data : pandas.DataFrame
        Adverse events flagged by :func:`derive_teae` (or read from ADaM).

    Returns
    -------
    tuple
        The rule as a dictionary (None when the frame carries none) and its wording for
        a table footnote.
    """
    rule = data.attrs.get(TEAE_RULE_ATTR)
    if not isinstance(rule, dict):
        return None, "TEAE flag as supplied with the data (rule not recorded)."
    if "source" in rule:
        return dict(rule), f"TEAE flag taken from {rule['source']}."
    window = rule.get("window_days")
    text = "TEAE: onset on or after the first administration"
    text += f" and at most {window} days after the last" if window is not None else ""
    if rule.get("worsening"):
        text += "; a pre-existing event counts only when its grade worsens"
    text += (
        "; events without onset date count as TEAE."
        if rule.get("missing_onset") == "teae"
        else "; events without onset date do not count."
    )
    return dict(rule), text


def derive_teae(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    *,
    window_days: int | None = None,
    worsening: bool = True,
    missing_onset: MissingOnsetRule = "teae",
) -> pd.DataFrame:
    """Flag treatment-emergent adverse events.

    Parameters
    ----------
    data : pandas.DataFrame
        Adverse events: ``subject_id``, ``preferred_term``, ``onset_date``, ``grade``,
        and ``resolution_date`` (used by ``worsening``).
    subjects : pandas.DataFrame
        Subjects with ``first_dose_date`` and ``last_dose_date`` (see
        ``derive_safety_population``).
    window_days : int, optional
        Upper bound of the on-treatment window, in days after the last given dose. By
        default every event from the first dose on is treatment emergent.
    worsening : bool, default True
        Apply the pre-existing-condition rule of the module docstring. With ``False``
        every event with onset on or after the first dose counts (the CDISC pilot's
        rule: "events which start on or after the start of treatment").
    missing_onset : {"teae", "not_teae"}, default "teae"
        Treatment emergence of events without any onset date in dosed subjects
        (``"teae"`` is the conservative FDA STF-IG choice).

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` with ``teae`` (bool) and ``teae_reason`` (``"onset"``,
        ``"worsening"``, ``"missing onset"`` or missing for non-TEAEs).
    """
    out = data.copy()
    by_subject = subjects.set_index("subject_id")
    first = pd.to_datetime(out["subject_id"].map(by_subject["first_dose_date"]))
    last = pd.to_datetime(out["subject_id"].map(by_subject["last_dose_date"]))
    first_day = first.dt.normalize()
    onset = pd.to_datetime(out["onset_date"]).dt.normalize()
    dosed = first_day.notna()
    after_first = dosed & onset.notna() & (onset >= first_day)
    if window_days is not None:
        limit = last.dt.normalize() + pd.to_timedelta(window_days, unit="D")
        after_first &= onset <= limit
    no_onset = dosed & onset.isna()
    teae = after_first.copy()
    reason = pd.Series(pd.NA, index=out.index, dtype="string")
    reason = reason.mask(after_first, "onset")
    if missing_onset == "teae":
        teae |= no_onset
        reason = reason.mask(no_onset, "missing onset")
    if worsening:
        teae, reason = _apply_worsening(out, onset, first_day, teae, reason)
    out["teae"] = teae.astype(bool)
    out["teae_reason"] = reason
    out.attrs[TEAE_RULE_ATTR] = {
        "window_days": window_days,
        "worsening": worsening,
        "missing_onset": missing_onset,
    }
    return out


def _apply_worsening(
    data: pd.DataFrame,
    onset: pd.Series,
    first_day: pd.Series,
    teae: pd.Series,
    reason: pd.Series,
) -> tuple[pd.Series, pd.Series]:
    resolution = (
        pd.to_datetime(data["resolution_date"]).dt.normalize()
        if "resolution_date" in data.columns
        else pd.Series(pd.NaT, index=data.index)
    )
    pre = (
        onset.notna()
        & (onset < first_day)
        & (resolution.isna() | (resolution >= first_day))
    )
    if not pre.any():
        return teae, reason
    grade = pd.to_numeric(data["grade"], errors="coerce")
    keys = ["subject_id", "preferred_term"]
    baseline = (
        data.loc[pre, keys]
        .assign(_g=grade[pre])
        .groupby(keys)["_g"]
        .max()
        .rename("_base")
    )
    base = data[keys].join(baseline, on=keys)["_base"]
    has_pre = base.notna() & teae & (reason == "onset")
    higher = grade > base
    not_worse = has_pre & ~higher.fillna(False)
    worse = has_pre & higher.fillna(False)
    teae = teae & ~not_worse
    reason = reason.mask(not_worse, pd.NA).mask(worse, "worsening")
    return teae, reason
