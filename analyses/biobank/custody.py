"""Chain-of-custody gaps of biobank samples."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analyses._results import make_provenance
from analyses.biobank._flags import SampleFlagResult, make_flag_result
from schemas.terms import CustodyEventType as E

__all__ = ["flag_custody_gaps"]

#: Events after which a sample may rest indefinitely (no time-gap check).
RESTING_EVENTS: tuple[str, ...] = (E.STORED.value, E.FROZEN.value, E.DESTROYED.value)
#: Events at which a new custodian may legitimately take a sample: shipment and receipt,
#: and the steps by which a lab of the same institution takes it in (processing,
#: storing, thawing, aliquoting).
HANDOVER_EVENTS: tuple[str, ...] = (
    E.SHIPPED.value,
    E.RECEIVED.value,
    E.PROCESSED.value,
    E.STORED.value,
    E.THAWED.value,
    E.ALIQUOTED.value,
)


def flag_custody_gaps(
    data: pd.DataFrame,
    events: pd.DataFrame,
    *,
    max_gap_hours: float = 24.0,
    max_transit_hours: float = 72.0,
    max_processing_delay_hours: float = 2.0,
    resting_events: Sequence[str] = RESTING_EVENTS,
    handover_events: Sequence[str] = HANDOVER_EVENTS,
) -> SampleFlagResult:
    """Flag breaks in the chain of custody of each sample.

    Events are ordered by ``event_seq``. Rules:

    * ``shipped_not_received``: a ``SHIPPED`` event not directly followed by a
      ``RECEIVED`` event (``value`` = hours to the next event, missing if none);
    * ``transit_too_long``: ``SHIPPED`` to ``RECEIVED`` took more than
      ``max_transit_hours``;
    * ``time_gap``: more than ``max_gap_hours`` between an event and the next, when
      the earlier event is neither a shipment nor a resting event (stored, frozen,
      destroyed);
    * ``custodian_change_without_handover``: the custodian (``party``) differs from
      the previous event's at an event that is not a handover (by default a change is
      accepted at shipped, received, processed, stored, thawed and aliquoted events,
      and flagged at frozen, temperature-excursion and destroyed events); pass
      ``handover_events=("SHIPPED", "RECEIVED")`` to demand an explicit transfer for
      every change;
    * ``out_of_time_order``: an event's time is earlier than the previous event's;
    * ``processing_delay``: ``processing_time - collection_time`` of the sample is
      above ``max_processing_delay_hours`` (SPREC pre-centrifugation codes A/B are
      "< 2 h").

    Parameters
    ----------
    data : pandas.DataFrame
        Biobank samples (``sample_id``, ``subject_id``, ``collection_time``,
        ``processing_time``).
    events : pandas.DataFrame
        Custody events (``sample_id``, ``event_seq``, ``event_time``,
        ``event_type``, ``party``).
    max_gap_hours : float, default 24
        Longest acceptable gap after a non-resting event.
    max_transit_hours : float, default 72
        Longest acceptable shipment.
    max_processing_delay_hours : float, default 2
        Longest acceptable collection-to-processing delay.
    resting_events : sequence of str
        Event types after which a sample may rest (no time-gap check).
    handover_events : sequence of str
        Event types at which the custodian may change.

    Returns
    -------
    SampleFlagResult
        One row per sample, rule and offending event (``value`` in hours).
    """
    subject = data.drop_duplicates("sample_id").set_index("sample_id")["subject_id"]
    ev = events.sort_values(["sample_id", "event_seq"], kind="stable").reset_index(
        drop=True
    )
    ev["subject_id"] = ev["sample_id"].map(subject)
    g = ev.groupby("sample_id", sort=False)
    t = pd.to_datetime(ev["event_time"])
    nxt_type = g["event_type"].shift(-1)
    hours_to_next = (
        g["event_time"].shift(-1).pipe(pd.to_datetime) - t
    ).dt.total_seconds() / 3600
    prev_party = g["party"].shift()
    prev_time = g["event_time"].shift().pipe(pd.to_datetime)
    shipped = ev["event_type"] == E.SHIPPED.value
    checks: list[tuple[str, pd.Series, pd.Series, str, str]] = [
        (
            "shipped_not_received",
            shipped & (nxt_type != E.RECEIVED.value),
            hours_to_next,
            "hours_to_next",
            "SHIPPED not followed by RECEIVED",
        ),
        (
            "transit_too_long",
            shipped
            & (nxt_type == E.RECEIVED.value)
            & (hours_to_next > max_transit_hours),
            hours_to_next,
            "transit_hours",
            f"shipment longer than {max_transit_hours:g} h",
        ),
        (
            "time_gap",
            ~ev["event_type"].isin([*resting_events, E.SHIPPED.value])
            & (hours_to_next > max_gap_hours),
            hours_to_next,
            "gap_hours",
            f"more than {max_gap_hours:g} h to the next event",
        ),
        (
            "custodian_change_without_handover",
            prev_party.notna()
            & (ev["party"] != prev_party)
            & ~ev["event_type"].isin(list(handover_events)),
            pd.Series(np.nan, index=ev.index),
            "none",
            "custodian changed at an event that is not a handover",
        ),
        (
            "out_of_time_order",
            t < prev_time,
            (t - prev_time).dt.total_seconds() / 3600,
            "hours_before_previous",
            "event earlier than the previous event",
        ),
    ]
    parts = []
    for rule, mask, value, stat, text in checks:
        sel = mask.fillna(False).astype(bool)
        part = ev.loc[sel, ["sample_id", "subject_id", "event_seq"]].copy()
        part["rule"] = rule
        part["stat"] = stat
        part["value"] = value[sel].astype(float)
        part["message"] = text + " (event " + part["event_seq"].astype(str) + ")"
        parts.append(part)
    delay = (
        pd.to_datetime(data["processing_time"])
        - pd.to_datetime(data["collection_time"])
    ).dt.total_seconds() / 3600
    late = (delay > max_processing_delay_hours).fillna(False)
    part = data.loc[late, ["sample_id", "subject_id"]].copy()
    part["rule"] = "processing_delay"
    part["stat"] = "delay_hours"
    part["value"] = delay[late]
    part["message"] = f"collection to processing over {max_processing_delay_hours:g} h"
    parts.append(part)
    prov = make_provenance(
        "flag_custody_gaps",
        inputs={"data": data, "events": events},
        max_gap_hours=max_gap_hours,
        max_transit_hours=max_transit_hours,
        max_processing_delay_hours=max_processing_delay_hours,
        resting_events=list(resting_events),
        handover_events=list(handover_events),
    )
    return make_flag_result(parts, provenance=prov, n_checked=len(data))
