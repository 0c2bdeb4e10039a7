"""Work the checks and rules will ask of a table, done as soon as it is parsed.

Rules factorise a table's identifiers and read its dates as day numbers (kept in a
:class:`~trialdata.validation.context.Derived` store); the key check codes the key's
text columns and the schema check matches identifier patterns on distinct values.
On a million-row table that is most of their time, as is finding the runs of rows
the timing rules check once per run (``dated_runs``). :func:`prepare` factorises each
such column once, on the worker thread that has just parsed the table, while other
files are still being read; the checks and rules then share it. What is not prepared
is computed when asked for, so these lists decide speed only, never a finding.
"""

from __future__ import annotations

import pandas as pd

from schemas.domains import get_domain
from trialdata.validation.context import Derived
from trialdata.validation.rules._domains import (
    DATED_COLUMNS,
    SUBJECT_DOMAINS,
    VISIT_DATES,
)
from trialdata.validation.rules._frames import (
    dated_runs,
    first_dose_dates_of,
    has_columns,
    row_days,
    subject_days,
)

__all__ = ["PREPARED_CODES", "PREPARED_DAYS", "PREPARED_SUBJECT_DAYS", "prepare"]

#: References the sample and dosing rules look up, by domain.
_REFERENCES: dict[str, tuple[str, ...]] = {
    "custody_events": ("sample_id",),
    "biobank_samples": ("parent_sample_id", "storage_position"),
    "administrations": ("lot_id",),
}


def _factorised_columns(name: str) -> tuple[str, ...]:
    """Return the columns of a domain that the rules factorise."""
    subject = ("subject_id",) if name in SUBJECT_DOMAINS else ()
    visit = ("visit",) if name in VISIT_DATES else ()
    return subject + visit + _REFERENCES.get(name, ())


#: Columns the rules factorise, by domain (see ``RuleContext.codes``): every
#: record's subject (XD-001 and the per-subject dates), visits (XD-011, XD-021) and
#: the references of the sample and dosing rules.
PREPARED_CODES: dict[str, tuple[str, ...]] = {
    name: _factorised_columns(name)
    for name in dict.fromkeys([*SUBJECT_DOMAINS, *_REFERENCES])
}

#: Per-subject dates the rules compare records with, by domain (``subject_days``):
#: consent (XD-002), withdrawal (XD-003), death (XD-010) and last known alive
#: (XD-022).
PREPARED_SUBJECT_DAYS: dict[str, tuple[str, ...]] = {
    "subjects": ("consent_date", "withdrawal_date"),
    "survival_status": ("death_date", "last_known_alive_date"),
}

#: Date columns the rules read as day numbers, by domain (see ``row_days``).
PREPARED_DAYS: dict[str, tuple[str, ...]] = {
    name: (column,) for name, column in DATED_COLUMNS.items()
}
PREPARED_DAYS["survival_status"] = ("last_known_alive_date",)


def prepare(name: str, data: pd.DataFrame) -> Derived:
    """Factorise a parsed table's identifiers and read its dates as day numbers.

    Parameters
    ----------
    name : str
        The table's domain (its text key columns are factorised too).
    data : pandas.DataFrame
        The typed table, the very object the rules will be given.

    Returns
    -------
    Derived
        The values, keyed as the rules ask for them; merge it into the
        :class:`~trialdata.validation.context.RuleContext`.
    """
    kept = Derived()
    spec = get_domain(name)
    keys = [c for c in spec.key if spec.column_kinds.get(c) == "string"]
    for column in dict.fromkeys([*PREPARED_CODES.get(name, ()), *keys]):
        if has_columns(data, column):
            kept.codes(data, column)
    for column in PREPARED_DAYS.get(name, ()):
        if has_columns(data, column):
            row_days(kept, data, column)
            if has_columns(data, "subject_id"):
                dated_runs(kept, data, column)  # the timing rules' runs
    for column in PREPARED_SUBJECT_DAYS.get(name, ()):
        if has_columns(data, "subject_id", column):
            subject_days(kept, data, column)
    if name == "administrations" and has_columns(
        data, "subject_id", "admin_date", "given"
    ):
        first_dose_dates_of(kept, data)  # the DLT and visit windows count from it
    return kept
