"""Biobank rules: withdrawn consent, storage positions, processing and custody."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trialdata.findings import Severity, findings_frame
from trialdata.validation.context import RuleContext
from trialdata.validation.rules import rule
from trialdata.validation.rules._frames import (
    at_hits,
    has_columns,
    report,
    subject_fact,
    text,
)

__all__ = [
    "check_custody_order",
    "check_one_sample_per_position",
    "check_processing_order",
    "check_withdrawn_samples_destroyed",
]

ERROR, WARNING = Severity.ERROR, Severity.WARNING
SAMPLES = "biobank_samples"


@rule(
    "XD-004",
    WARNING,
    "Samples of a subject who withdrew consent are destroyed (destroyed_date set).",
    requires=(SAMPLES, "subjects"),
)
def check_withdrawn_samples_destroyed(ctx: RuleContext) -> pd.DataFrame:
    """Flag samples still stored after their subject withdrew consent (XD-004)."""
    samples = ctx.tables[SAMPLES]
    if not has_columns(samples, "subject_id", "destroyed_date"):
        return findings_frame([])
    withdrawn = subject_fact(ctx, samples["subject_id"], "withdrawal_date")
    return report(
        samples,
        withdrawn.notna() & samples["destroyed_date"].isna(),
        domain=SAMPLES,
        rule="XD-004",
        severity=WARNING,
        column="destroyed_date",
        message=lambda h: (
            "sample "
            + text(h["sample_id"])
            + " is still stored although subject "
            + text(h["subject_id"])
            + " withdrew consent on "
            + text(pd.to_datetime(withdrawn.loc[h.index]))
            + "; destroy it or record why it is kept"
        ),
    )


@rule(
    "BB-001",
    ERROR,
    "No two samples that are not destroyed share a storage_position.",
    requires=(SAMPLES,),
)
def check_one_sample_per_position(ctx: RuleContext) -> pd.DataFrame:
    """Flag stored samples that share a storage position (BB-001)."""
    samples = ctx.tables[SAMPLES]
    if not has_columns(samples, "storage_position", "destroyed_date"):
        return findings_frame([])
    position = ctx.codes(samples, "storage_position")
    stored = samples["destroyed_date"].isna().to_numpy() & position.present
    holding = np.bincount(position.codes[stored], minlength=len(position.distinct))
    shared = stored & position.spread(holding > 1, False)

    def occupants(h: pd.DataFrame) -> pd.Series:
        """Return the stored samples sharing each flagged sample's position."""
        by_position = (
            samples.loc[shared]
            .groupby("storage_position")["sample_id"]
            .agg(lambda ids: ", ".join(ids.astype(str)))
        )
        return h["storage_position"].map(by_position).astype("string")

    return report(
        samples,
        shared,
        domain=SAMPLES,
        rule="BB-001",
        severity=ERROR,
        column="storage_position",
        message=lambda h: (
            "storage position "
            + text(h["storage_position"])
            + " holds more than one stored sample ("
            + occupants(h)
            + ")"
        ),
    )


@rule(
    "BB-002",
    ERROR,
    "A sample's processing_time is not before its collection_time, nor its "
    "freezing_time before its processing_time.",
    requires=(SAMPLES,),
)
def check_processing_order(ctx: RuleContext) -> pd.DataFrame:
    """Flag samples processed before collection or frozen before processing (BB-002)."""
    samples = ctx.tables[SAMPLES]
    frames = []
    for later, earlier in (
        ("processing_time", "collection_time"),
        ("freezing_time", "processing_time"),
    ):
        if not has_columns(samples, later, earlier):
            continue
        frames.append(
            report(
                samples,
                samples[later].lt(samples[earlier]),
                domain=SAMPLES,
                rule="BB-002",
                severity=ERROR,
                column=later,
                message=lambda h, later=later, earlier=earlier: (
                    "sample "
                    + text(h["sample_id"])
                    + f" has {later} "
                    + text(h[later])
                    + f" before its {earlier} "
                    + text(h[earlier])
                ),
            )
        )
    return findings_frame(frames)


@rule(
    "BB-003",
    ERROR,
    "A sample's custody events are in time order when sorted by event_seq.",
    requires=("custody_events",),
)
def check_custody_order(ctx: RuleContext) -> pd.DataFrame:
    """Flag custody events dated before the sample's previous event (BB-003)."""
    events = ctx.tables["custody_events"]
    if not has_columns(events, "sample_id", "event_seq", "event_time"):
        return findings_frame([])
    previous = _previous_event(
        ctx.codes(events, "sample_id").codes, events["event_seq"]
    )
    times = events["event_time"].to_numpy()
    earlier = np.zeros(len(events), dtype=bool)
    has_previous = previous >= 0
    earlier[has_previous] = times[has_previous] < times[previous[has_previous]]

    def before(h: pd.DataFrame, column: str) -> pd.Series:
        """Return ``column`` of the previous event of each flagged event."""
        values = events[column].array.take(previous, allow_fill=True)
        return at_hits(values, events, h)

    return report(
        events,
        earlier,
        domain="custody_events",
        rule="BB-003",
        severity=ERROR,
        column="event_time",
        message=lambda h: (
            "custody event "
            + text(h["event_seq"])
            + " of sample "
            + text(h["sample_id"])
            + " at "
            + text(h["event_time"])
            + " is before event "
            + text(before(h, "event_seq").astype("Int64"))
            + " at "
            + text(before(h, "event_time"))
        ),
    )


def _previous_event(sample: np.ndarray, seq: pd.Series) -> np.ndarray:
    """Return the row of each custody event's previous event of the same sample.

    Events of a sample are ordered by ``event_seq`` (missing last, ties in file
    order), as a stable sort by sample and sequence orders them.

    Parameters
    ----------
    sample : numpy.ndarray of int
        The factorised ``sample_id`` of each event (-1 where missing).
    seq : pandas.Series
        The ``event_seq`` of each event.

    Returns
    -------
    numpy.ndarray of int
        Position of the previous event; -1 for a sample's first event and for events
        without a sample.
    """
    numbers = seq.to_numpy(dtype="int64", na_value=0)
    unnumbered = seq.isna().to_numpy()
    if _in_order(sample, numbers) and not unnumbered.any():
        order = np.arange(len(sample))  # as exported: by sample, then sequence
    else:
        order = np.lexsort((numbers, unnumbered, sample))
    same = np.zeros(len(order), dtype=bool)
    same[1:] = sample[order[1:]] == sample[order[:-1]]
    same &= sample[order] >= 0
    previous = np.full(len(sample), -1, dtype=np.intp)
    previous[order[same]] = order[np.flatnonzero(same) - 1]
    return previous


def _in_order(sample: np.ndarray, numbers: np.ndarray) -> bool:
    """Return whether rows are sorted by sample code, then number (no code missing).

    A stable sort would then leave them where they are.
    """
    if len(sample) < 2:
        return True
    step = np.diff(sample)
    return bool(
        sample[0] >= 0
        and (step >= 0).all()
        and (numbers[1:] >= numbers[:-1])[step == 0].all()
    )
