"""Vectorised rules agree with plain row-by-row reference implementations."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from trialdata.validation.rules.bb003_custody_order import with_previous_event
from trialdata.validation.rules.testing import (
    findings_set,
    make_upload,
    run_rule,
    typed_table,
)

START = datetime(2024, 1, 1, 8, 0)
times = st.one_of(
    st.none(), st.integers(0, 20).map(lambda h: START + timedelta(hours=h))
)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["A1", "A2", "A3"]), st.integers(1, 6), times),
        min_size=1,
        max_size=12,
        unique_by=lambda e: (e[0], e[1]),
    )
)
def test_bb003_matches_reference(events: list[tuple]) -> None:
    records = [
        {
            "sample_id": s,
            "event_seq": q,
            "event_time": t,
            "event_type": "STORED",
            "party": "lab",
            "location": "lab",
        }
        for s, q, t in events
    ]
    table = typed_table("custody_events", records)
    expected = set()
    for sample in {s for s, _, _ in events}:
        mine = sorted((q, t, i) for i, (s, q, t) in enumerate(events) if s == sample)
        for (_, before, _), (_, time, i) in pairwise(mine):
            if before is not None and time is not None and time < before:
                expected.add(("BB-003", "custody_events.csv", i + 2, "event_time"))
    found = findings_set(run_rule("BB-003", make_upload(custody_events=table)))
    assert found == expected


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["P1", "P2", "P3", None]), st.booleans()),
        min_size=1,
        max_size=10,
    )
)
def test_bb001_matches_reference(samples: list[tuple]) -> None:
    records = [
        {
            "sample_id": f"S-{i:02d}",
            "subject_id": "S-01",
            "sample_type": "SERUM",
            "collection_time": START,
            "storage_position": position,
            "destroyed_date": START if destroyed else None,
            "freeze_thaw_count": 0,
            "consent_scope": "TRIAL ONLY",
            "consent_status": "ACTIVE",
        }
        for i, (position, destroyed) in enumerate(samples)
    ]
    table = typed_table("biobank_samples", records)
    stored = [(i, p) for i, (p, d) in enumerate(samples) if p is not None and not d]
    expected = {
        ("BB-001", "biobank_samples.csv", i + 2, "storage_position")
        for i, p in stored
        if sum(q == p for _, q in stored) > 1
    }
    found = findings_set(run_rule("BB-001", make_upload(biobank_samples=table)))
    assert found == expected


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["S-01", "S-02", "S-09"]), st.integers(-5, 5)),
        min_size=1,
        max_size=10,
    )
)
def test_xd002_matches_reference(labs: list[tuple]) -> None:
    consent = {"S-01": datetime(2024, 1, 10), "S-02": datetime(2024, 1, 12)}
    subjects = typed_table(
        "subjects",
        [
            {
                "subject_id": s,
                "site_id": "BDN",
                "cohort_id": "C1",
                "sex": "F",
                "consent_date": d,
            }
            for s, d in consent.items()
        ],
    )
    records = [
        {
            "subject_id": s,
            "lab_date": datetime(2024, 1, 11) + timedelta(days=k),
            "test_code": "ALT",
        }
        for s, k in labs
    ]
    expected = {
        ("XD-002", "labs.csv", i + 2, "lab_date")
        for i, (s, k) in enumerate(labs)
        if s in consent and datetime(2024, 1, 11) + timedelta(days=k) < consent[s]
    }
    ctx = make_upload(subjects=subjects, labs=typed_table("labs", records))
    assert findings_set(run_rule("XD-002", ctx)) == expected


@settings(max_examples=120, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([-1, 0, 1, 2]), st.sampled_from([1, 2, 3, None])),
        max_size=15,
    ),
    st.booleans(),
)
def test_previous_custody_event_equals_a_stable_sort(
    events: list[tuple[int, int | None]], presorted: bool
) -> None:
    # a table with each sample's events together and in sequence order skips the
    # sort; either way each event's previous one is that of a stable sort
    # (missing numbers last)
    if presorted:
        events = sorted(events, key=lambda e: (e[0], e[1] is None, e[1] or 0))
    names = {-1: None, 0: "C", 1: "A", 2: "B"}  # together, yet not in text order
    frame = pl.LazyFrame(
        {
            "sample_id": [names[s] for s, _ in events],
            "event_seq": [q for _, q in events],
            "event_time": list(range(len(events))),  # each event's position
        },
        schema={"sample_id": pl.String, "event_seq": pl.Int64, "event_time": pl.Int64},
    )
    order = sorted(
        range(len(events)),
        key=lambda i: (events[i][0], events[i][1] is None, events[i][1] or 0),
    )
    expected: dict[int, int | None] = {
        i: None for i, (s, _) in enumerate(events) if s >= 0
    }
    for before, after in pairwise(order):
        if events[before][0] == events[after][0] >= 0:
            expected[after] = before
    found = with_previous_event(frame).collect()
    previous = zip(found["event_time"], found["previous_time"], strict=True)
    assert dict(previous) == expected
