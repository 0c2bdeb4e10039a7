"""BB-003: a sample's custody events are in time order, taken by event_seq.

A sample's events are ordered by event_seq (events without one last, ties in file
order); an event timed before the event it follows is flagged.
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import ERROR, Rule, Upload, change, flagged, union

EVENTS = "custody_events"


def in_event_order(events: pl.LazyFrame) -> pl.LazyFrame:
    """Return the events with a sample, each sample's events together in order.

    Events are ordered by event_seq, those without one last, ties in file order.
    Exports list each sample's events together and in that order already: that is
    checked in one pass, and the events are sorted (which costs far more on
    millions of rows) only when they are not.

    Parameters
    ----------
    events : polars.LazyFrame
        Custody events with ``sample_id`` and ``event_seq``.

    Returns
    -------
    polars.LazyFrame
        The events with a sample, a sample's events in consecutive rows.
    """
    sample, seq = pl.col("sample_id"), pl.col("event_seq")
    events = events.filter(sample.is_not_null())
    first = sample.ne_missing(sample.shift(1))  # first row of a run of one sample
    found = (
        events.select(
            runs=first.sum(),
            samples=sample.filter(first).n_unique(),
            ordered=(first | (seq >= seq.shift(1))).all() & seq.is_not_null().all(),
        )
        .collect()
        .row(0, named=True)
    )
    if found["ordered"] and found["runs"] == found["samples"]:
        return events
    return events.sort(sample, seq, nulls_last=True, maintain_order=True)


def with_previous_event(events: pl.LazyFrame) -> pl.LazyFrame:
    """Return each custody event with ``previous_seq`` and ``previous_time``.

    Parameters
    ----------
    events : polars.LazyFrame
        Custody events with ``sample_id``, ``event_seq`` and ``event_time``.

    Returns
    -------
    polars.LazyFrame
        The events with a sample (see :func:`in_event_order`), each with the
        sequence number and time of the event before it of the same sample (null
        for a sample's first event).
    """
    sample = pl.col("sample_id")
    same = sample.shift(1) == sample
    return in_event_order(events).with_columns(
        pl.when(same).then(pl.col("event_seq").shift(1)).alias("previous_seq"),
        pl.when(same).then(pl.col("event_time").shift(1)).alias("previous_time"),
    )


def events_out_of_order(upload: Upload) -> pl.LazyFrame:
    """Return the custody events timed before the sample's previous event."""
    if not upload.has_columns(EVENTS, "sample_id", "event_seq", "event_time"):
        return union([])
    events = with_previous_event(upload.frame(EVENTS))
    return flagged(
        events.filter(pl.col("event_time") < pl.col("previous_time")),
        domain=EVENTS,
        column="event_time",
        fields=["event_seq", "sample_id", "previous_seq", "previous_time"],
    )


RULE = Rule(
    id="BB-003",
    severity=ERROR,
    description="A sample's custody events are in time order when sorted by event_seq.",
    reads=(EVENTS,),
    finds=events_out_of_order,
    message="custody event {event_seq} of sample {sample_id} at {value} is before "
    "event {previous_seq} at {previous_time}",
    example=change(EVENTS, 2, event_time="2024-01-10T08:30"),
)
