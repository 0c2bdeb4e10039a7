"""Design adherence on hand-built ADSL frames.

Every frame uses a 28-day DLT window: ``dlt_window_end`` = first dose + 27 days, and
subjects are followed 60 days unless a test says otherwise. Cohorts of three start well
after the previous cohort's last window end unless the test is about a premature start,
so the design's decision at each start sees complete data; the expected decisions are
worked out by hand in each test (3+3: 0/3 escalate, 1/3 treat three more, 1/6
escalate, >= 2 too toxic; BOIN target 0.3 with cohorts of 3: escalate when y <= 0 of
3 or y <= 1 of 6, de-escalate when y >= 2 of 3).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from analyses.dose_finding import DesignAdherence, review_design_adherence
from schemas.protocol import Protocol, parse_protocol

#: (subject, cohort, dose level or None, first dose or None, DLT onset or None[, role
#: [, escalation group[, follow-up end]]])
Row = tuple[Any, ...]


def make_protocol(
    method: str = "3+3",
    *,
    max_subjects: int = 24,
    escalation_by: str = "pooled",
    **design: Any,
) -> Protocol:
    return parse_protocol(
        {
            "trial": {"id": "ADH-TEST", "title": "adherence", "protocol_version": "1"},
            "design": {
                "method": method,
                "target_dlt_rate": 0.3,
                "cohort_size": 3,
                "max_subjects": max_subjects,
                "escalation_by": escalation_by,
                **design,
            },
            "dose_levels": [
                {"level": i, "amount": amount, "unit": "10^6 cells/kg"}
                for i, amount in enumerate([1, 3, 10, 30], start=1)
            ],
            "routes": ["INTRADERMAL", "INTRANODAL"],
            "dlt_window_days": 28,
            "sites": [{"id": "S1", "name": "Site 1"}],
        }
    )


def make_adsl(rows: list[Row]) -> pd.DataFrame:
    records = []
    for sid, cid, level, first, onset, *rest in rows:
        role = rest[0] if len(rest) > 0 else "escalation"
        group = rest[1] if len(rest) > 1 else "pooled"
        start = pd.Timestamp(first) if first else pd.NaT
        followup = (
            pd.Timestamp(rest[2]) if len(rest) > 2 else start + pd.Timedelta(days=60)
        )
        records.append(
            {
                "subject_id": sid,
                "site_id": "S1",  # not read by the review
                "cohort_id": cid,
                "cohort_role": role,
                "escalation_group": group,
                "dose_level": level,
                "first_dose_date": start,
                "dlt": onset is not None,
                "first_dlt_onset": pd.Timestamp(onset) if onset else pd.NaT,
                "dlt_window_end": start + pd.Timedelta(days=27),
                "followup_end": followup,
            }
        )
    adsl = pd.DataFrame(records)
    adsl["dose_level"] = adsl["dose_level"].astype("Int64")
    return adsl


def rows_of(result: DesignAdherence) -> list[tuple[Any, ...]]:
    """Sequence rows as plain tuples (allowed dose None when missing)."""
    seq = result.sequence
    return [
        (
            r.escalation_group,
            r.cohort_id,
            r.cohort_role,
            int(r.dose_level),
            f"{r.first_dose_date:%Y-%m-%d}",
            int(r.n_subjects),
            None if pd.isna(r.allowed_dose) else int(r.allowed_dose),
            bool(r.deviation),
        )
        for r in seq.itertuples()
    ]


# a clean 3+3 escalation: DL1 0/3, DL2 1/3, DL2 0/3 more, DL3 2/3
CLEAN_3PLUS3: list[Row] = [
    ("S01", "C1", 1, "2026-01-05", None),
    ("S02", "C1", 1, "2026-01-06", None),
    ("S03", "C1", 1, "2026-01-07", None),
    ("S04", "C2", 2, "2026-02-10", "2026-02-20"),
    ("S05", "C2", 2, "2026-02-11", None),
    ("S06", "C2", 2, "2026-02-12", None),
    ("S07", "C3", 2, "2026-03-16", None),
    ("S08", "C3", 2, "2026-03-17", None),
    ("S09", "C3", 2, "2026-03-18", None),
    ("S10", "C4", 3, "2026-04-20", "2026-04-25"),
    ("S11", "C4", 3, "2026-04-21", "2026-05-01"),
    ("S12", "C4", 3, "2026-04-22", None),
]


def test_clean_3plus3_has_no_deviation() -> None:
    # untreated subjects (one in C4, a whole cohort C5) are ignored
    rows = [
        *CLEAN_3PLUS3,
        ("S13", "C4", None, None, None),
        ("S14", "C5", None, None, None),
        ("S15", "C5", None, None, None),
    ]
    res = review_design_adherence(make_adsl(rows), make_protocol())
    assert rows_of(res) == [
        ("pooled", "C1", "escalation", 1, "2026-01-05", 3, 1, False),
        ("pooled", "C2", "escalation", 2, "2026-02-10", 3, 2, False),
        ("pooled", "C3", "escalation", 2, "2026-03-16", 3, 2, False),
        ("pooled", "C4", "escalation", 3, "2026-04-20", 3, 3, False),
    ]
    assert res.sequence["decision"].tolist() == [
        "start at DL1",
        "escalate, next DL2: 0/3 DLTs at dose level 1: escalate.",
        "stay, next DL2: 1/3 DLTs at dose level 2: treat 3 more patients at the "
        "same dose.",
        "escalate, next DL3: 1/6 DLTs at dose level 2: escalate.",
    ]
    assert res.sequence["reason"].tolist() == ["", "", "", ""]
    assert res.n_deviations == 0
    assert res.deviations.empty
    assert list(res.deviations.columns) == list(res.sequence.columns)
    assert res.to_frame().to_dict("records") == [
        {"escalation_group": "pooled", "stat": "n_cohorts", "value": 4.0},
        {"escalation_group": "pooled", "stat": "n_subjects", "value": 12.0},
        {"escalation_group": "pooled", "stat": "n_deviations", "value": 0.0},
    ]
    assert res.summary()["first_dose_date"].tolist() == [
        "2026-01-05",
        "2026-02-10",
        "2026-03-16",
        "2026-04-20",
    ]
    assert res.provenance.analysis == "review_design_adherence"
    params = res.provenance.parameters
    assert params["design"] == "3+3"
    assert params["allow_deescalation"] is True
    assert (params["cohort_size"], params["max_subjects"]) == (3, 24)
    assert params["start_dose_level"] == 1


def test_other_columns_do_not_change_the_result() -> None:
    adsl = make_adsl(CLEAN_3PLUS3)
    before = adsl.copy()
    res = review_design_adherence(adsl, make_protocol())
    pd.testing.assert_frame_equal(adsl, before)  # the input is not changed
    other = review_design_adherence(adsl.assign(site_id="S9", age=50), make_protocol())
    pd.testing.assert_frame_equal(res.sequence, other.sequence)
    assert res.provenance.input_hashes == other.provenance.input_hashes


def test_escalation_after_1_of_3_without_expansion() -> None:
    # C3 goes to DL3 after 1/3 at DL2: the rule said treat 3 more at DL2
    rows = [r for r in CLEAN_3PLUS3 if r[1] not in ("C3",)]
    rows = [(s, "C3" if c == "C4" else c, *rest) for s, c, *rest in rows]
    res = review_design_adherence(make_adsl(rows), make_protocol())
    assert rows_of(res) == [
        ("pooled", "C1", "escalation", 1, "2026-01-05", 3, 1, False),
        ("pooled", "C2", "escalation", 2, "2026-02-10", 3, 2, False),
        ("pooled", "C3", "escalation", 3, "2026-04-20", 3, 2, True),
    ]
    assert res.n_deviations == 1
    assert res.deviations["reason"].tolist() == [
        "cohort C3 dosed at DL3; the 3+3 rule allowed DL2 (1/3 DLTs at dose level 2: "
        "treat 3 more patients at the same dose.)"
    ]
    assert res.to_frame().set_index("stat")["value"].to_dict() == {
        "n_cohorts": 3.0,
        "n_subjects": 9.0,
        "n_deviations": 1.0,
    }


def test_cohort_started_while_previous_still_in_window() -> None:
    # C1 windows end 02-01, 02-02, 02-03 (first dose + 27 days); C2 starts 02-02:
    # S01's window ended the day before, S02 (last day 02-02) and S03 are still in it
    rows: list[Row] = [
        ("S01", "C1", 1, "2026-01-05", None),
        ("S02", "C1", 1, "2026-01-06", None),
        ("S03", "C1", 1, "2026-01-07", None),
        ("S04", "C2", 2, "2026-02-02", None),
        ("S05", "C2", 2, "2026-02-03", None),
        ("S06", "C2", 2, "2026-02-04", None),
    ]
    res = review_design_adherence(make_adsl(rows), make_protocol())
    assert rows_of(res)[1] == (
        "pooled",
        "C2",
        "escalation",
        2,
        "2026-02-02",
        3,
        None,
        True,
    )
    assert res.deviations["reason"].tolist() == [
        "cohort C2 started at 2026-02-02 while 2 subject(s) of DL1 were still in "
        "their DLT window"
    ]
    assert res.sequence["decision"].iloc[1] == (
        "no decision: 2 subject(s) still in their DLT window"
    )


def test_dlt_known_and_early_leaver_are_not_pending() -> None:
    # C2 starts 01-25, inside all C1 windows: S01's DLT (01-20) is known, S02 left
    # on 01-15 without DLT (not evaluable, no longer followed), S03 is pending
    rows: list[Row] = [
        ("S01", "C1", 1, "2026-01-05", "2026-01-20"),
        ("S02", "C1", 1, "2026-01-06", None, "escalation", "pooled", "2026-01-15"),
        ("S03", "C1", 1, "2026-01-07", None),
        ("S04", "C2", 1, "2026-01-25", None),
    ]
    res = review_design_adherence(make_adsl(rows), make_protocol())
    assert res.deviations["reason"].tolist() == [
        "cohort C2 started at 2026-01-25 while 1 subject(s) of DL1 was still in "
        "their DLT window"
    ]


def test_boin_two_routes_are_two_escalations() -> None:
    # INTRADERMAL: DL1 0/3 -> DL2 1/3 (stay) -> DL2 0/3 (1/6: escalate) -> DL3.
    # INTRANODAL: DL1 0/3 allows DL2 but N2 skips to DL3; from DL3 (0/3) the rule
    # escalates to DL4, which N3 follows: no deviation after the skip.
    grp = [
        ("D1", 1, "2026-01-05", [None, None, None]),
        ("D2", 2, "2026-02-10", ["2026-02-15", None, None]),
        ("D3", 2, "2026-03-16", [None, None, None]),
        ("D4", 3, "2026-04-20", [None, None, None]),
    ]
    rows: list[Row] = []
    for route, prefix, cohorts in [
        ("INTRADERMAL", "D", grp),
        (
            "INTRANODAL",
            "N",
            [
                ("N1", 1, "2026-01-12", [None, None, None]),
                ("N2", 3, "2026-02-16", [None, None, None]),
                ("N3", 4, "2026-03-23", [None, None, None]),
            ],
        ),
    ]:
        for cid, level, first, onsets in cohorts:
            for i, onset in enumerate(onsets):
                day = pd.Timestamp(first) + pd.Timedelta(days=i)
                rows.append(
                    (
                        f"{prefix}{cid}{i}",
                        cid,
                        level,
                        f"{day:%Y-%m-%d}",
                        onset,
                        "escalation",
                        route,
                    )
                )
    protocol = make_protocol("BOIN", max_subjects=18, escalation_by="route")
    res = review_design_adherence(make_adsl(rows), protocol)
    assert rows_of(res) == [
        ("INTRADERMAL", "D1", "escalation", 1, "2026-01-05", 3, 1, False),
        ("INTRADERMAL", "D2", "escalation", 2, "2026-02-10", 3, 2, False),
        ("INTRADERMAL", "D3", "escalation", 2, "2026-03-16", 3, 2, False),
        ("INTRADERMAL", "D4", "escalation", 3, "2026-04-20", 3, 3, False),
        ("INTRANODAL", "N1", "escalation", 1, "2026-01-12", 3, 1, False),
        ("INTRANODAL", "N2", "escalation", 3, "2026-02-16", 3, 2, True),
        ("INTRANODAL", "N3", "escalation", 4, "2026-03-23", 3, 4, False),
    ]
    assert res.deviations["reason"].tolist() == [
        "cohort N2 dosed at DL3; the BOIN rule allowed DL2 (0 DLT(s) in 3 "
        "patient(s) at dose level 1: escalate.)"
    ]
    assert res.sequence["decision"].iloc[2] == (
        "stay, next DL2: 1 DLT(s) in 3 patient(s) at dose level 2: stay."
    )
    assert res.to_frame().to_dict("records") == [
        {"escalation_group": "INTRADERMAL", "stat": "n_cohorts", "value": 4.0},
        {"escalation_group": "INTRANODAL", "stat": "n_cohorts", "value": 3.0},
        {"escalation_group": "INTRADERMAL", "stat": "n_subjects", "value": 12.0},
        {"escalation_group": "INTRANODAL", "stat": "n_subjects", "value": 9.0},
        {"escalation_group": "INTRADERMAL", "stat": "n_deviations", "value": 0.0},
        {"escalation_group": "INTRANODAL", "stat": "n_deviations", "value": 1.0},
    ]
    assert res.provenance.parameters["design"] == "BOIN"
    assert res.provenance.parameters["target"] == 0.3


def test_expansion_at_and_above_the_cleared_level() -> None:
    # DL1 0/3 is complete on 02-10 when C2 starts DL2. On 02-15 the escalation has
    # cleared DL1 (3+3 escalates from it) but not DL2 (all of C2 still in window):
    # expansion E1 at DL1 is allowed, backfill B1 at DL2 (02-20) is above DL1.
    # C3 starts DL3 on 03-16: B1 (window to 03-18) is not an escalation subject, so
    # it neither counts nor makes the start premature.
    rows: list[Row] = [
        ("S01", "C1", 1, "2026-01-05", None),
        ("S02", "C1", 1, "2026-01-06", None),
        ("S03", "C1", 1, "2026-01-07", None),
        ("S04", "C2", 2, "2026-02-10", None),
        ("S05", "C2", 2, "2026-02-11", None),
        ("S06", "C2", 2, "2026-02-12", None),
        ("E01", "E1", 1, "2026-02-15", "2026-02-20", "expansion"),
        ("E02", "E1", 1, "2026-02-15", "2026-02-21", "expansion"),
        ("E03", "E1", 1, "2026-02-16", None, "expansion"),
        ("E04", "E1", 1, "2026-02-16", None, "expansion"),
        ("B01", "B1", 2, "2026-02-20", None, "backfill"),
        ("S07", "C3", 3, "2026-03-16", None),
        ("S08", "C3", 3, "2026-03-17", None),
        ("S09", "C3", 3, "2026-03-18", None),
        ("E05", "E1", None, None, None, "expansion"),  # untreated
    ]
    protocol = make_protocol(expansion_cohorts=["E1"], backfill_cohorts=["B1"])
    res = review_design_adherence(make_adsl(rows), protocol)
    assert rows_of(res) == [
        ("pooled", "C1", "escalation", 1, "2026-01-05", 3, 1, False),
        ("pooled", "C2", "escalation", 2, "2026-02-10", 3, 2, False),
        ("pooled", "E1", "expansion", 1, "2026-02-15", 4, 1, False),
        ("pooled", "B1", "backfill", 2, "2026-02-20", 1, 1, True),
        ("pooled", "C3", "escalation", 3, "2026-03-16", 3, 3, False),
    ]
    assert res.deviations["reason"].tolist() == [
        "backfill cohort B1 dosed at DL2 on 2026-02-20, above DL1, the highest level "
        "the escalation had cleared"
    ]
    # the expansion's two DLTs and four subjects (more than the cohort size) are
    # neither step-rule deviations nor escalation data: C3's decision sees 0/3, 0/3
    assert res.sequence["decision"].iloc[4] == (
        "escalate, next DL3: 0/3 DLTs at dose level 2: escalate."
    )
    assert res.sequence["decision"].iloc[2] == (
        "highest level cleared by the escalation on 2026-02-15: DL1"
    )


def test_expansion_before_anything_is_cleared() -> None:
    rows: list[Row] = [
        ("S01", "C1", 1, "2026-01-05", None),
        ("E01", "E1", 1, "2026-01-10", None, "expansion"),
    ]
    res = review_design_adherence(make_adsl(rows), make_protocol())
    assert rows_of(res) == [
        ("pooled", "C1", "escalation", 1, "2026-01-05", 1, 1, False),
        ("pooled", "E1", "expansion", 1, "2026-01-10", 1, None, True),
    ]
    assert res.deviations["reason"].tolist() == [
        "expansion cohort E1 dosed at DL1 on 2026-01-10 before the escalation had "
        "cleared any level"
    ]


def test_wrong_start_dose() -> None:
    rows: list[Row] = [("S01", "C1", 2, "2026-01-05", None)]
    res = review_design_adherence(make_adsl(rows), make_protocol())
    assert rows_of(res) == [
        ("pooled", "C1", "escalation", 2, "2026-01-05", 1, 1, True),
    ]
    assert res.deviations["reason"].tolist() == [
        "cohort C1 started at DL2, design starts at DL1"
    ]


def test_oversized_cohort_is_checked_as_the_design_continuation() -> None:
    # C2 holds six subjects: 4-6 start 03-16 after 1/3 (the 3+3 expansion: allowed).
    # C3 holds four subjects dosed together: subject 4 starts while 1-3 are in window.
    rows: list[Row] = [
        ("S01", "C1", 1, "2026-01-05", None),
        ("S02", "C1", 1, "2026-01-06", None),
        ("S03", "C1", 1, "2026-01-07", None),
        ("S04", "C2", 2, "2026-02-10", "2026-02-20"),
        ("S05", "C2", 2, "2026-02-11", None),
        ("S06", "C2", 2, "2026-02-12", None),
        ("S07", "C2", 2, "2026-03-16", None),
        ("S08", "C2", 2, "2026-03-17", None),
        ("S09", "C2", 2, "2026-03-18", None),
        ("S10", "C3", 3, "2026-04-20", None),
        ("S11", "C3", 3, "2026-04-20", None),
        ("S12", "C3", 3, "2026-04-21", None),
        ("S13", "C3", 3, "2026-04-21", None),
    ]
    res = review_design_adherence(make_adsl(rows), make_protocol())
    assert rows_of(res) == [
        ("pooled", "C1", "escalation", 1, "2026-01-05", 3, 1, False),
        ("pooled", "C2", "escalation", 2, "2026-02-10", 6, 2, False),
        ("pooled", "C3", "escalation", 3, "2026-04-20", 4, 3, True),
    ]
    assert res.sequence["decision"].iloc[1] == (
        "escalate, next DL2: 0/3 DLTs at dose level 1: escalate.; subjects 4-6: "
        "stay, next DL2: 1/3 DLTs at dose level 2: treat 3 more patients at the "
        "same dose."
    )
    assert res.deviations["reason"].tolist() == [
        "cohort C3 subject 4 (beyond the cohort size 3) started at 2026-04-21 while "
        "3 subject(s) of DL3 were still in their DLT window"
    ]


def test_dosing_after_stop_and_beyond_max_subjects() -> None:
    # DL1 2/3: the 3+3 rule stops with no MTD; C2 is dosed anyway, and takes the
    # escalation to 6 subjects, above max_subjects 3
    rows: list[Row] = [
        ("S01", "C1", 1, "2026-01-05", "2026-01-10"),
        ("S02", "C1", 1, "2026-01-06", "2026-01-12"),
        ("S03", "C1", 1, "2026-01-07", None),
        ("S04", "C2", 1, "2026-02-10", None),
        ("S05", "C2", 1, "2026-02-11", None),
        ("S06", "C2", 1, "2026-02-12", None),
    ]
    res = review_design_adherence(make_adsl(rows), make_protocol(max_subjects=3))
    assert rows_of(res)[1] == (
        "pooled",
        "C2",
        "escalation",
        1,
        "2026-02-10",
        3,
        None,
        True,
    )
    assert res.deviations["reason"].tolist() == [
        "cohort C2 dosed at DL1 on 2026-02-10 after the 3+3 rule said stop (2/3 DLTs "
        "at dose level 1: the lowest dose is too toxic (>= 2 DLTs). Stop; no MTD.); "
        "cohort C2 takes the escalation to 6 subjects, above max_subjects 3"
    ]


def test_cohort_id_reused_at_another_level_is_a_new_cohort() -> None:
    rows: list[Row] = [
        ("S01", "C1", 1, "2026-01-05", None),
        ("S02", "C1", 1, "2026-01-06", None),
        ("S03", "C1", 1, "2026-01-07", None),
        ("S04", "C1", 2, "2026-02-10", None),
    ]
    res = review_design_adherence(make_adsl(rows), make_protocol())
    assert rows_of(res) == [
        ("pooled", "C1", "escalation", 1, "2026-01-05", 3, 1, False),
        ("pooled", "C1", "escalation", 2, "2026-02-10", 1, 2, False),
    ]


def test_no_treated_subject() -> None:
    rows: list[Row] = [("S01", "C1", None, None, None)]
    res = review_design_adherence(make_adsl(rows), make_protocol())
    assert res.sequence.empty
    assert res.n_deviations == 0
    assert res.to_frame().empty


def test_bad_input_names_the_problem() -> None:
    adsl = make_adsl([("S01", "C1", 5, "2026-01-05", None)])
    with pytest.raises(ValueError, match="subject S01: column dose_level = 5"):
        review_design_adherence(adsl, make_protocol())
    with pytest.raises(ValueError, match="lacks column"):
        review_design_adherence(adsl.drop(columns="followup_end"), make_protocol())


def test_missing_cohort_id_is_reviewed_as_its_own_cohort() -> None:
    adsl = make_adsl(
        [
            ("S01", "C1", 1, "2026-01-05", None),
            ("S02", None, 1, "2026-01-06", None),
        ]
    )
    adsl["escalation_group"] = adsl["escalation_group"].astype("string")
    res = review_design_adherence(adsl, make_protocol())
    assert [r[1] for r in rows_of(res)] == ["C1", "(no cohort)"]
    assert res.deviations["reason"].tolist() == [
        "cohort (no cohort) started at 2026-01-06 while 1 subject(s) of DL1 was "
        "still in their DLT window"
    ]
