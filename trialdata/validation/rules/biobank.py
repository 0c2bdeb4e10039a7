"""Biobank rules: withdrawn consent, storage positions, processing and custody."""

from __future__ import annotations

import pandas as pd

from trialdata.findings import Severity, findings_frame
from trialdata.validation.context import RuleContext
from trialdata.validation.rules import rule
from trialdata.validation.rules._frames import has_columns, report, subject_fact, text

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
    position = samples["storage_position"]
    stored = samples["destroyed_date"].isna() & position.notna()
    shared = stored & position.where(stored).duplicated(keep=False)
    occupants = (
        samples.loc[shared]
        .groupby("storage_position")["sample_id"]
        .agg(lambda ids: ", ".join(ids.astype(str)))
    )
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
            + h["storage_position"].map(occupants).astype("string")
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
    ordered = events.sort_values(["sample_id", "event_seq"], kind="stable")
    previous = ordered.groupby("sample_id", sort=False)["event_time"].shift()
    previous_seq = ordered.groupby("sample_id", sort=False)["event_seq"].shift()
    earlier = ordered["event_time"].lt(previous)
    return report(
        events,
        earlier.reindex(events.index),
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
            + text(previous_seq.loc[h.index].astype("Int64"))
            + " at "
            + text(previous.loc[h.index])
        ),
    )
