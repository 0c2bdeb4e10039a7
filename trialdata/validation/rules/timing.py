"""Timing rules: consent, withdrawal, death, the DLT window and visit windows.

Records fall between consent and withdrawal or death, not after the last date the
subject is known to be alive, DLTs inside the DLT window and visits inside their
protocol windows. Dates are compared by calendar day: a record on the day of
consent, withdrawal or death is not "before" or "after" it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from trialdata.findings import Severity, findings_frame
from trialdata.validation.context import (
    SOURCE_FILE,
    SOURCE_ROW,
    RuleContext,
    Runs,
    map_values,
)
from trialdata.validation.rules import rule
from trialdata.validation.rules._domains import DATED_COLUMNS, VISIT_DATES
from trialdata.validation.rules._frames import (
    at_hits,
    dated_runs,
    dosed_subjects,
    first_dose_dates,
    has_columns,
    is_true,
    keyed_days,
    numbers,
    report,
    row_days,
    subject_days,
    text,
)

__all__ = [
    "DATED_COLUMNS",
    "VISIT_DATES",
    "check_dlt_window",
    "check_last_known_alive",
    "check_nothing_after_death",
    "check_nothing_after_withdrawal",
    "check_nothing_before_consent",
    "check_visit_known",
    "check_visit_windows",
]

ERROR, WARNING = Severity.ERROR, Severity.WARNING


def _dated(
    ctx: RuleContext, columns: dict[str, str]
) -> list[tuple[str, pd.DataFrame, str]]:
    """Return (domain, table, date column) for each present domain with its column."""
    found = []
    for name, column in columns.items():
        data = ctx.table(name)
        if has_columns(data, "subject_id", column):
            assert data is not None
            found.append((name, data, column))
    return found


def _subject_day(ctx: RuleContext, table: str, column: str) -> pd.Series:
    """Return a per-subject calendar day from a subject-level table (by subject id)."""
    data = ctx.table(table)
    if not has_columns(data, "subject_id", column):
        return pd.Series(dtype="datetime64[ns]")
    assert data is not None
    return subject_days(ctx, data, column)


def _days_by_run(
    ctx: RuleContext, data: pd.DataFrame, column: str, per_subject: pd.Series
) -> tuple[Runs, np.ndarray, np.ndarray]:
    """Return a dated table's runs of alike rows, and two day numbers per run.

    The timing rules compare a record's calendar day in ``column`` with a day of
    its subject (consent, withdrawal, death, first dose); both depend only on what
    makes the rows of a run alike (:func:`dated_runs`), so they are read once per
    run and the answers spread over the rows.

    Returns
    -------
    runs : Runs
        The runs of ``data``.
    when : numpy.ndarray of float
        Each run's day in ``column``.
    limit : numpy.ndarray of float
        Each run's subject's day in ``per_subject`` (NaN when it has none).
    """
    runs = dated_runs(ctx, data, column)
    when = runs.first(row_days(ctx, data, column))
    return runs, when, keyed_days(ctx, data, "subject_id", per_subject, runs.starts)


def _dated_past(
    ctx: RuleContext,
    columns: dict[str, str],
    limits: pd.Series,
    *,
    rule: str,
    after: bool,
    event: str,
) -> pd.DataFrame:
    """Report records dated on the wrong side of a per-subject calendar day.

    Parameters
    ----------
    ctx : RuleContext
        The upload.
    columns : dict of str to str
        Domain to the date column checked (domains absent or without the column are
        skipped).
    limits : pandas.Series
        Calendar day indexed by subject id (see :func:`_subject_day`).
    rule : str
        Rule identifier (severity ERROR).
    after : bool
        Flag records dated after the limit (True) or before it (False); the same
        day is fine either way.
    event : str
        What the limit is, for messages: ``"subject S-01's <event> on <day>"``.

    Returns
    -------
    pandas.DataFrame
        The findings of every domain, about its date column.
    """
    word = "after" if after else "before"
    frames = []
    for name, data, column in _dated(ctx, columns):
        runs, when, limit = _days_by_run(ctx, data, column, limits)
        frames.append(
            report(
                data,
                runs.spread(when > limit if after else when < limit),
                domain=name,
                rule=rule,
                severity=ERROR,
                column=column,
                message=lambda h, column=column: (
                    f"{column} "
                    + text(h[column])
                    + f" is {word} subject "
                    + text(h["subject_id"])
                    + f"'s {event} on "
                    + text(map_values(h["subject_id"], limits))
                ),
            )
        )
    return findings_frame(frames)


@rule(
    "XD-002",
    ERROR,
    "No record is dated before the subject's consent_date (same day is fine).",
    requires=("subjects",),
)
def check_nothing_before_consent(ctx: RuleContext) -> pd.DataFrame:
    """Flag records dated before the subject signed consent (XD-002)."""
    consent = _subject_day(ctx, "subjects", "consent_date")
    return _dated_past(
        ctx, DATED_COLUMNS, consent, rule="XD-002", after=False, event="consent"
    )


@rule(
    "XD-003",
    ERROR,
    "No dose is given and no sample collected after the subject's withdrawal_date.",
    requires=("subjects",),
)
def check_nothing_after_withdrawal(ctx: RuleContext) -> pd.DataFrame:
    """Flag doses and sample collections after consent withdrawal (XD-003)."""
    withdrawn = _subject_day(ctx, "subjects", "withdrawal_date")
    frames = []
    checked = {
        k: DATED_COLUMNS[k]
        for k in ("administrations", "biobank_samples", "immunomonitoring")
    }
    for name, data, column in _dated(ctx, checked):
        dosing = name == "administrations"
        if dosing and not has_columns(data, "given"):
            continue
        runs, when, limit = _days_by_run(ctx, data, column, withdrawn)
        after = runs.spread(when > limit)
        if dosing:
            after &= is_true(data["given"]).to_numpy()
        what = "dose given" if dosing else "sample collected"
        frames.append(
            report(
                data,
                after,
                domain=name,
                rule="XD-003",
                severity=ERROR,
                column=column,
                message=lambda h, column=column, what=what: (
                    f"{what} on "
                    + text(h[column])
                    + " after subject "
                    + text(h["subject_id"])
                    + " withdrew consent on "
                    + text(map_values(h["subject_id"], withdrawn))
                ),
            )
        )
    return findings_frame(frames)


@rule(
    "XD-010",
    ERROR,
    "No record is dated after the subject's death_date (survival_status), including "
    "last_known_alive_date.",
    requires=("survival_status",),
)
def check_nothing_after_death(ctx: RuleContext) -> pd.DataFrame:
    """Flag records dated after the subject's death (XD-010)."""
    death = _subject_day(ctx, "survival_status", "death_date")
    columns = dict(DATED_COLUMNS, survival_status="last_known_alive_date")
    return _dated_past(ctx, columns, death, rule="XD-010", after=True, event="death")


#: Domains whose records XD-003 checks after withdrawal (doses only when given).
_WITHDRAWAL_CHECKED = ("administrations", "biobank_samples", "immunomonitoring")


@rule(
    "XD-022",
    WARNING,
    "A subject's last_known_alive_date (survival_status) is on or after every record "
    "that shows the subject alive (a given dose, an adverse event's onset, a lab, an "
    "MRI scan, a sample, an immunomonitoring result, a disease assessment); records "
    "after death (XD-010) and doses or samples after withdrawal (XD-003) are left to "
    "those rules.",
    requires=("survival_status",),
)
def check_last_known_alive(ctx: RuleContext) -> pd.DataFrame:
    """Flag last-known-alive dates that a later record shows to be stale (XD-022).

    A record dated after ``last_known_alive_date`` shows the subject alive on a later
    day, so the survival_status row is out of date (or the record's date is wrong).
    One finding per subject, on the survival_status row, names the latest such
    record and how many there are.
    """
    survival = ctx.tables["survival_status"]
    if not has_columns(survival, "subject_id", "last_known_alive_date"):
        return findings_frame([])
    alive = subject_days(ctx, survival, "last_known_alive_date")
    dated = [
        found
        for found in _dated(ctx, DATED_COLUMNS)
        if found[0] != "administrations" or has_columns(found[1], "given")
    ]
    later = _records_after(ctx, alive, dated)
    if later.empty:
        return findings_frame([])
    # the latest record of each subject (the first in domain and row order on ties)
    ordered = later.sort_values("day", ascending=False, kind="stable")
    latest = _describe(ordered.drop_duplicates("subject_id"), dated)
    count = later.groupby("subject_id", sort=False).size()
    subject = survival["subject_id"]
    first = (subject.notna() & ~subject.duplicated()).to_numpy()
    flagged = first & subject.isin(latest.index).to_numpy(dtype=bool)

    def message(h: pd.DataFrame) -> pd.Series:
        ids = h["subject_id"]
        more = map_values(ids, count).astype("Int64")
        how_many = (" (the latest of " + text(more) + " records after it)").where(
            more > 1, ""
        )
        return (
            "last_known_alive_date "
            + text(h["last_known_alive_date"])
            + " is before "
            + text(map_values(ids, latest))
            + ", which shows subject "
            + text(ids)
            + " alive later"
            + how_many
            + "; update last_known_alive_date or correct the record's date"
        )

    return report(
        survival,
        flagged,
        domain="survival_status",
        rule="XD-022",
        severity=WARNING,
        column="last_known_alive_date",
        message=message,
    )


def _records_after(
    ctx: RuleContext, alive: pd.Series, dated: list[tuple[str, pd.DataFrame, str]]
) -> pd.DataFrame:
    """Return the records dated after their subject's last known alive day.

    Doses count only when given; records after the subject's death (XD-010) and
    doses and samples after withdrawal (XD-003) are left out.

    Parameters
    ----------
    ctx : RuleContext
        The upload.
    alive : pandas.Series
        Last known alive day, indexed by subject id.
    dated : list of (str, pandas.DataFrame, str)
        The domains checked, their tables and date columns (see ``_dated``).

    Returns
    -------
    pandas.DataFrame
        One row per record, in table and row order: ``subject_id``, ``day`` (day
        number), ``table`` (position in ``dated``) and ``position`` (row position
        in its table).
    """
    death = _subject_day(ctx, "survival_status", "death_date")
    withdrawn = _subject_day(ctx, "subjects", "withdrawal_date")
    frames = []
    for table, (name, data, column) in enumerate(dated):
        runs, when, limit = _days_by_run(ctx, data, column, alive)
        after = when > limit
        if not after.any():  # the usual case: nothing more to look up
            continue
        after &= ~(when > keyed_days(ctx, data, "subject_id", death, runs.starts))
        if name in _WITHDRAWAL_CHECKED:
            gone = keyed_days(ctx, data, "subject_id", withdrawn, runs.starts)
            after &= ~(when > gone)
        rows = runs.spread(after)
        if name == "administrations":
            rows &= is_true(data["given"]).to_numpy()
        position = np.flatnonzero(rows)
        if not len(position):
            continue
        frames.append(
            pd.DataFrame(
                {
                    "subject_id": data["subject_id"].iloc[position].to_numpy(object),
                    "day": row_days(ctx, data, column)[position],
                    "table": table,
                    "position": position,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["subject_id", "day", "table", "position"])
    return pd.concat(frames, ignore_index=True)


def _describe(
    records: pd.DataFrame, dated: list[tuple[str, pd.DataFrame, str]]
) -> pd.Series:
    """Return ``file row N (column value)`` of records, indexed by subject id."""
    parts = []
    for table, (_, data, column) in enumerate(dated):
        part = records.loc[records["table"].to_numpy() == table]
        if part.empty:
            continue
        rows = data.iloc[part["position"].to_numpy(dtype=np.intp)]
        parts.append(
            pd.Series(
                (
                    text(rows[SOURCE_FILE])
                    + " row "
                    + text(rows[SOURCE_ROW].astype("Int64"))
                    + f" ({column} "
                    + text(rows[column])
                    + ")"
                ).to_numpy(dtype=object),
                index=part["subject_id"].to_numpy(),
            )
        )
    return pd.concat(parts)


@rule(
    "XD-009",
    ERROR,
    "A DLT (dlt = Y) is flagged only for a dosed subject, with onset within the DLT "
    "window: study days 1 to dlt_window_days (day 1 = the first given dose).",
    requires=("adverse_events", "administrations"),
)
def check_dlt_window(ctx: RuleContext) -> pd.DataFrame:
    """Flag DLTs of undosed subjects or with onset outside the DLT window (XD-009)."""
    events = ctx.tables["adverse_events"]
    if not has_columns(events, "subject_id", "dlt", "onset_date"):
        return findings_frame([])
    window = ctx.protocol.dlt_window_days
    first = keyed_days(ctx, events, "subject_id", first_dose_dates(ctx))
    onset = row_days(ctx, events, "onset_date")
    dlt = is_true(events["dlt"]).to_numpy() & ~np.isnan(onset)
    subject = ctx.codes(events, "subject_id")
    subjects = ctx.table("subjects")
    known = (
        subject.is_in(subjects["subject_id"])
        if has_columns(subjects, "subject_id") and subjects is not None
        else np.ones(len(events), dtype=bool)
    )  # an unknown subject is reported once, by XD-001
    undosed = dlt & known & ~subject.is_in(dosed_subjects(ctx))
    offset = onset - first  # whole days; NaN without a first dose
    outside = dlt & ((offset < 0) | (offset > window - 1))  # study days 1..window

    def message(h: pd.DataFrame) -> pd.Series:
        no_dose = (
            "DLT flagged but subject " + text(h["subject_id"]) + " was never dosed"
        )
        late = (
            "DLT onset "
            + text(h["onset_date"])
            + f" is outside the DLT window (study days 1-{window}, day 1 = the "
            + "first dose on "
            + text(map_values(h["subject_id"], first_dose_dates(ctx)))
            + ")"
        )
        return no_dose.where(at_hits(undosed, events, h), late)

    return report(
        events,
        undosed | outside,
        domain="adverse_events",
        rule="XD-009",
        severity=ERROR,
        column="dlt",
        message=message,
    )


@rule(
    "XD-011",
    WARNING,
    "A visit's date lies within its protocol window (study day = date - first given "
    "dose date, day 0 = first dose).",
    requires=("administrations",),
)
def check_visit_windows(ctx: RuleContext) -> pd.DataFrame:
    """Flag visits dated outside their protocol window (XD-011)."""
    schedule = ctx.protocol.visit_days
    if not schedule:
        return findings_frame([])
    first = first_dose_dates(ctx)
    target = {name: v.day for name, v in schedule.items()}
    # each visit's first and last allowed study day; the row past the last visit is
    # for an unscheduled visit, which has no window
    earliest = np.array([v.day - v.window_before for v in schedule.values()] + [np.nan])
    latest = np.array([v.day + v.window_after for v in schedule.values()] + [np.nan])
    frames = []
    for name, data, column in _dated(ctx, VISIT_DATES):
        if not has_columns(data, "visit"):
            continue
        runs, when, first_dose = _days_by_run(ctx, data, column, first)
        study_day = when - first_dose
        visit = _visit_number(ctx, data, list(schedule), runs)
        low, high = earliest[visit], latest[visit]
        frames.append(
            report(
                data,
                runs.spread((study_day < low) | (study_day > high)),
                domain=name,
                rule="XD-011",
                severity=WARNING,
                column=column,
                message=_window_message(
                    data, column, runs, (study_day, low, high), target
                ),
            )
        )
    return findings_frame(frames)


def _window_message(
    data: pd.DataFrame,
    column: str,
    runs: Runs,
    days: tuple[np.ndarray, np.ndarray, np.ndarray],
    target: dict[str, int],
) -> Callable[[pd.DataFrame], pd.Series]:
    """Return the XD-011 message builder of a table.

    ``days`` are the study day, first and last allowed day of each run.
    """

    def message(h: pd.DataFrame) -> pd.Series:
        study_day, low, high = (
            text(at_hits(runs.spread(d), data, h).astype("Int64")) for d in days
        )
        return (
            "visit "
            + text(h["visit"])
            + " on "
            + text(h[column])
            + " is study day "
            + study_day
            + ", outside its window (day "
            + text(h["visit"].map(target).astype("Int64"))
            + ", allowed "
            + low
            + " to "
            + high
            + ")"
        )

    return message


def _visit_number(
    ctx: RuleContext, data: pd.DataFrame, names: list[str], runs: Runs
) -> np.ndarray:
    """Return each run's visit's position in ``names`` (``len(names)`` if not one)."""
    visits = ctx.codes(data, "visit")
    number = {name: i for i, name in enumerate(names)}
    if visits.textual:  # a few distinct names: matched as Python text, once each
        per_visit = [number.get(v, len(names)) for v in visits.distinct.tolist()]
        return visits.spread(
            np.array(per_visit, dtype=np.intp), len(names), runs.starts
        )
    found = visits.lookup(pd.Series(number, dtype=float), numbers, np.nan, runs.starts)
    return np.where(np.isnan(found), len(names), found).astype(np.intp)


@rule(
    "XD-021",
    WARNING,
    "A visit name is one of the protocol's scheduled visits (when it lists visits).",
    requires=(),
)
def check_visit_known(ctx: RuleContext) -> pd.DataFrame:
    """Flag visit names that are not in the protocol's schedule (XD-021)."""
    names = list(ctx.protocol.visit_days)
    if not names:
        return findings_frame([])
    frames = []
    for name in VISIT_DATES:
        data = ctx.table(name)
        if not has_columns(data, "visit"):
            continue
        assert data is not None
        visits = ctx.codes(data, "visit")
        listed = set(names)  # a few distinct names: looked up once each
        unlisted = np.array(
            [v not in listed for v in visits.distinct.tolist()], dtype=bool
        )
        frames.append(
            report(
                data,
                visits.spread(unlisted, False),
                domain=name,
                rule="XD-021",
                severity=WARNING,
                column="visit",
                message=lambda h: (
                    "visit "
                    + text(h["visit"])
                    + " is not in the protocol's schedule ("
                    + ", ".join(names)
                    + ")"
                ),
            )
        )
    return findings_frame(frames)
