"""DLT window, DLT-evaluability and escalation counts of a seven-subject trial, by hand.

The facts come from the analysis datasets (``analyses.datasets.derive_analysis_data``:
ADSL and ADAE) and the counts from ``summarize_escalation(adsl, protocol)``; nothing
here derives them a second way. The rules, as named in ``AnalysisData.rules``:

* ``dlt_window``: study days 1-28, day 1 = day of the first given dose, so a DLT counts
  when its onset is 0-27 days after the first dose; the window's last day
  (``dlt_window_end``) is first dose + 27 days;
* ``cutoff``: the latest date recorded in the data unless one is given; records dated
  after it are dropped;
* ``followup_end``: a subject on study is followed to the cut-off, or to withdrawal or
  death when earlier;
* ``dlt_evaluable`` (``dlt_or_complete_window``): a DLT in the window, or followed up to
  the window's last day (``followup_end >= dlt_window_end``).

The fixture ``trial_tables`` (conftest.py), worked out by hand. Default cut-off: the
latest of withdrawal 01-20, administrations up to 02-15, AE onsets up to 03-15 and AE
resolutions up to 03-20 = 2026-03-20.

* S01 DL1, first dose 01-01, window ends 01-01 + 27 = 01-28; followed to 03-20:
  evaluable, no DLT (its AE on 01-03, study day 3, is not flagged).
* S02 DL1, first dose 01-05; DLT onset 01-20 = 15 days later = study day 16: DLT,
  evaluable.
* S03 DL1, first dose 01-08, window ends 02-04; withdrew 01-20 without a DLT, so
  follow-up ends 01-20 < 02-04: withdrawn in the window, not evaluable, not pending.
* S04: first planned dose not given; first given 02-01 (the row has no dose level: its
  cohort C2's level 2); window ends 02-28; DLT-flagged rash 03-15 = 42 days later =
  study day 43, outside; followed to 03-20: evaluable, no DLT.
* S05 DL2, first dose 02-03, window ends 03-02; DLT-flagged CRS 03-03 = 28 days later
  = study day 29, outside (it was inside the old 0-28-day window); followed to 03-20:
  evaluable, no DLT.
* S06 DL2, first dose 02-10, window ends 03-09 <= 03-20: evaluable, no DLT (pending
  under the old rule, which ended follow-up at its last record, 02-10).
* S07 never dosed: not treated.

Counts: DL1 treated 3, evaluable 2, DLT 1, pending 0, not evaluable 1; DL2 treated 3,
evaluable 3, DLT 0, pending 0, not evaluable 0; DL3 nobody.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from analyses.datasets import AnalysisData, derive_analysis_data
from analyses.dose_finding import EscalationGroup, summarize_escalation
from schemas.protocol import Protocol, parse_protocol

from .conftest import protocol_data  # type: ignore[import-not-found]

T = pd.Timestamp
NAT = pd.NaT
IDS = ["S01", "S02", "S03", "S04", "S05", "S06", "S07"]
COUNTS = ("treated", "evaluable", "dlt", "pending", "not_evaluable")


def _column(data: AnalysisData, column: str) -> list[Any]:
    adsl = data.adsl.set_index("subject_id")
    assert adsl.index.tolist() == IDS
    return [None if pd.isna(v) else v for v in adsl[column].tolist()]


def _pooled(data: AnalysisData) -> EscalationGroup:
    return summarize_escalation(data.adsl, data.protocol).group("pooled")


def _row(group: EscalationGroup, level: int) -> dict[str, int]:
    r = group.table.set_index("dose_level").loc[level]
    return {k: int(r[k]) for k in COUNTS}


def _counts(**values: int) -> dict[str, int]:
    return {k: values.get(k, 0) for k in COUNTS}


def _with_events(
    tables: dict[str, pd.DataFrame], rows: list[tuple[Any, ...]]
) -> dict[str, pd.DataFrame]:
    """``tables`` with ``rows`` (subject, seq, onset, resolution, dlt) added to the AEs."""
    extra = pd.DataFrame(
        rows, columns=["subject_id", "ae_seq", "onset_date", "resolution_date", "dlt"]
    )
    extra["onset_date"] = pd.to_datetime(extra["onset_date"])
    extra["resolution_date"] = pd.to_datetime(extra["resolution_date"])
    extra["dlt"] = extra["dlt"].astype("boolean")
    out = dict(tables)
    out["adverse_events"] = pd.concat(
        [tables["adverse_events"], extra], ignore_index=True
    )
    return out


def test_adsl_by_hand(trial_tables, protocol) -> None:  # type: ignore[no-untyped-def]
    data = derive_analysis_data(protocol, trial_tables)
    assert data.cutoff == T("2026-03-20")
    assert data.cutoff_source == "latest date in the data"
    assert data.rules["dlt_window_days"] == 28
    assert data.rules["dlt_window"] == (
        "study days 1-28 (day 1 = day of the first given dose)"
    )
    assert data.rules["dlt_evaluable"] == "dlt_or_complete_window"
    assert data.rules["followup_end"] == (
        "cut-off, withdrawal or death, whichever is first"
    )
    assert _column(data, "safety") == [True] * 6 + [False]
    assert _column(data, "first_dose_date") == [
        T("2026-01-01"),
        T("2026-01-05"),
        T("2026-01-08"),
        T("2026-02-01"),  # S04's first row was not given
        T("2026-02-03"),
        T("2026-02-10"),
        None,
    ]
    # S04's given row has no dose level: its cohort's (C2) level 2
    assert _column(data, "dose_level") == [1, 1, 1, 2, 2, 2, None]
    # first dose + 27 days
    assert _column(data, "dlt_window_end") == [
        T("2026-01-28"),
        T("2026-02-01"),
        T("2026-02-04"),
        T("2026-02-28"),
        T("2026-03-02"),
        T("2026-03-09"),
        None,
    ]
    # the cut-off, except S03 (withdrawn 01-20); nobody untreated is followed
    cut, withdrawn = T("2026-03-20"), T("2026-01-20")
    assert _column(data, "followup_end") == [cut, cut, withdrawn, cut, cut, cut, None]
    assert _column(data, "first_dlt_onset") == [None, T("2026-01-20")] + [None] * 5
    assert _column(data, "dlt") == [False, True] + [False] * 5
    assert _column(data, "withdrawn_in_window") == [False, False, True] + [False] * 4
    assert _column(data, "dlt_evaluable") == [
        True,
        True,
        False,
        True,
        True,
        True,
        False,
    ]
    assert _column(data, "dlt_pending") == [False] * 7
    assert _column(data, "group")[3] == "DL2 3 10^6 cells/kg ID"
    # ADAE: study day = onset - first dose + 1; in the window = flagged, days 1-28
    adae = data.adae.set_index(["subject_id", "ae_seq"])
    assert adae["study_day"].to_dict() == {
        ("S02", 1): 16,
        ("S04", 1): 43,
        ("S05", 1): 29,
        ("S01", 1): 3,
    }
    assert adae.loc[adae["dlt_in_window"]].index.tolist() == [("S02", 1)]


def test_escalation_counts_and_decision_by_hand(trial_tables, protocol) -> None:  # type: ignore[no-untyped-def]
    data = derive_analysis_data(protocol, trial_tables)
    summary = summarize_escalation(data.adsl, protocol)
    assert summary.escalation_by == "pooled"
    group = summary.group("pooled")
    assert _row(group, 1) == _counts(treated=3, evaluable=2, dlt=1, not_evaluable=1)
    assert _row(group, 2) == _counts(treated=3, evaluable=3)
    assert _row(group, 3) == _counts()
    assert group.n.tolist() == [2, 3, 0] and group.y.tolist() == [1, 0, 0]
    # latest first dose: S06 (02-10), cohort C2 at DL2, no DLT in the window there
    assert (group.current_dose, group.last_cohort_dlts) == (2, 0)
    # BOIN target 0.3: lambda_e = 0.236; 0/3 = 0 <= 0.236 -> escalate to DL3
    assert group.decision is not None
    assert (group.decision.action, group.decision.next_dose) == ("escalate", 3)
    # 6 escalation subjects < max_subjects 18 and the design did not stop
    assert group.status == "ongoing" and group.mtd is None
    assert group.note == ""
    # the datasets' own shortcut gives the same counts
    pd.testing.assert_frame_equal(data.escalation().summary(), summary.summary())


def test_cutoff_drops_later_records_and_ends_followup(trial_tables, protocol) -> None:  # type: ignore[no-untyped-def]
    # cut-off 03-01: S04's rash (03-15) and S05's CRS (03-03) are dropped. DL1 as by
    # default (windows end 01-28, 02-01, 02-04 <= 03-01). DL2: S04 window ends 02-28
    # <= 03-01: evaluable; S05 (03-02) and S06 (03-09) still in their windows: pending
    data = derive_analysis_data(protocol, trial_tables, cutoff="2026-03-01")
    assert data.cutoff == T("2026-03-01") and data.cutoff_source == "given"
    assert len(data.tables["adverse_events"]) == 2
    group = _pooled(data)
    assert _row(group, 1) == _counts(treated=3, evaluable=2, dlt=1, not_evaluable=1)
    assert _row(group, 2) == _counts(treated=3, evaluable=1, pending=2)
    assert _column(data, "dlt_pending") == [False] * 4 + [True, True, False]
    assert "2 treated subject(s) still within the DLT window" in group.note
    # cut-off 03-02 = S05's window's last day: followed to it, so evaluable; S06 not yet
    group = _pooled(derive_analysis_data(protocol, trial_tables, cutoff="2026-03-02"))
    assert _row(group, 2) == _counts(treated=3, evaluable=2, pending=1)
    # cut-off 02-05: S06's only dose (02-10) is after it, so S06 is not treated; S04
    # (window ends 02-28) and S05 (03-02) are pending
    data = derive_analysis_data(protocol, trial_tables, cutoff="2026-02-05")
    assert _column(data, "safety") == [True] * 5 + [False, False]
    assert _column(data, "last_dose_date")[0] == T("2026-01-01")  # 02-15 dropped
    group = _pooled(data)
    assert _row(group, 2) == _counts(treated=2, pending=2)
    assert (group.current_dose, group.last_cohort_dlts) == (2, 0)  # S05, 02-03


def test_dlt_window_edges(trial_tables, protocol) -> None:  # type: ignore[no-untyped-def]
    # S05's CRS one day earlier, 03-02 = 27 days after 02-03 = study day 28: the
    # window's last day, so a DLT: DL2 evaluable 3, DLT 1
    tables = dict(trial_tables)
    ae = tables["adverse_events"].copy()
    ae.loc[ae["subject_id"] == "S05", "onset_date"] = T("2026-03-02")
    tables["adverse_events"] = ae
    data = derive_analysis_data(protocol, tables)
    assert _column(data, "first_dlt_onset")[4] == T("2026-03-02")
    assert _row(_pooled(data), 2) == _counts(treated=3, evaluable=3, dlt=1)
    # S06: a DLT-flagged event the day before the first dose (02-09, study day -1) is
    # outside the window; one on the first-dose day (02-10, study day 1) is inside
    # (the fixture's AEs have no grade, which the TEAE worsening rule needs for an
    # event before the first dose)
    before = _with_events(trial_tables, [("S06", 2, "2026-02-09", None, True)])
    data = derive_analysis_data(protocol, before, teae_worsening=False)
    assert not _column(data, "dlt")[5]
    assert _row(_pooled(data), 2) == _counts(treated=3, evaluable=3)
    same_day = _with_events(trial_tables, [("S06", 2, "2026-02-10", None, True)])
    data = derive_analysis_data(protocol, same_day)
    assert _column(data, "first_dlt_onset")[5] == T("2026-02-10")
    assert _row(_pooled(data), 2) == _counts(treated=3, evaluable=3, dlt=1)


def test_window_length_and_evaluable_rule(trial_tables, protocol) -> None:  # type: ignore[no-untyped-def]
    # a 10-day window (study days 1-10, last day = first dose + 9): S02's day-16 onset
    # is outside; S03's window ends 01-08 + 9 = 01-17 < withdrawal 01-20, so S03
    # completed it: DL1 treated 3, evaluable 3, no DLT. DL2 windows end 02-10, 02-12,
    # 02-19: all evaluable, no DLT (days 43 and 29 are outside)
    data = derive_analysis_data(protocol, trial_tables, dlt_window_days=10)
    assert data.rules["dlt_window_days"] == 10
    assert _column(data, "dlt_window_end")[2] == T("2026-01-17")
    group = _pooled(data)
    assert _row(group, 1) == _counts(treated=3, evaluable=3)
    assert _row(group, 2) == _counts(treated=3, evaluable=3)
    # every treated subject evaluable: DL1 evaluable 3 with S02's DLT
    data = derive_analysis_data(protocol, trial_tables, evaluable_rule="all_treated")
    assert data.rules["dlt_evaluable"] == "all_treated"
    assert _column(data, "dlt_evaluable") == [True] * 6 + [False]
    group = _pooled(data)
    assert _row(group, 1)["evaluable"] == 3 and _row(group, 1)["dlt"] == 1
    assert _row(group, 2)["evaluable"] == 3


def test_escalation_per_route(trial_tables) -> None:  # type: ignore[no-untyped-def]
    """S02 is dosed intranodally; each route escalates alone.

    INTRADERMAL: DL1 S01 (evaluable) and S03 (withdrawn): n 1, y 0; DL2 S04-S06 all
    evaluable, no DLT: n 3, y 0. INTRANODAL: DL1 S02 with its day-16 DLT: n 1, y 1.
    """
    spec = protocol_data(["INTRADERMAL", "INTRANODAL"])
    spec["design"]["escalation_by"] = "route"
    protocol: Protocol = parse_protocol(spec)
    tables = dict(trial_tables)
    adm = tables["administrations"].copy()
    adm.loc[adm["subject_id"] == "S02", "route"] = "INTRANODAL"
    tables["administrations"] = adm
    data = derive_analysis_data(protocol, tables)
    assert _column(data, "escalation_group")[:3] == [
        "INTRADERMAL",
        "INTRANODAL",
        "INTRADERMAL",
    ]
    assert _column(data, "group")[1] == "DL1 1 10^6 cells/kg IN"
    summary = summarize_escalation(data.adsl, protocol)
    assert [g.name for g in summary.groups] == ["INTRADERMAL", "INTRANODAL"]
    intradermal = summary.group("INTRADERMAL")
    intranodal = summary.group("INTRANODAL")
    assert (intradermal.n.tolist(), intradermal.y.tolist()) == ([1, 3, 0], [0, 0, 0])
    assert (intranodal.n.tolist(), intranodal.y.tolist()) == ([1, 0, 0], [1, 0, 0])
    assert _row(intradermal, 1) == _counts(treated=2, evaluable=1, not_evaluable=1)
    assert (intradermal.current_dose, intranodal.current_dose) == (2, 1)
    with pytest.raises(KeyError, match="no escalation 'pooled'"):
        summary.group("pooled")


def test_inputs_not_mutated(trial_tables, protocol) -> None:  # type: ignore[no-untyped-def]
    before = {k: v.copy() for k, v in trial_tables.items()}
    derive_analysis_data(protocol, trial_tables, cutoff="2026-02-05")
    for k, v in trial_tables.items():
        pd.testing.assert_frame_equal(v, before[k])


def test_death_and_contacts_from_other_domains(trial_tables, protocol) -> None:  # type: ignore[no-untyped-def]
    """S04 (dosed 02-01, window ends 02-28) died on 02-10 without a DLT in the window:
    follow-up ends 02-10, not evaluable. S06 (dosed 02-10, window ends 03-09) is
    followed to the cut-off (still 03-20: the lab and survival dates are earlier):
    evaluable. DL2: S05 and S06 evaluable, no DLT; S04 not evaluable."""
    labs = pd.DataFrame(
        {
            "subject_id": ["S06", "S01"],
            "lab_date": pd.to_datetime(["2026-03-12", "2026-01-02"]),
        }
    )
    survival = pd.DataFrame(
        {
            "subject_id": ["S04", "S06"],
            "last_known_alive_date": pd.to_datetime([None, "2026-03-01"]),
            "death_date": pd.to_datetime(["2026-02-10", None]),
        }
    )
    tables = {**trial_tables, "labs": labs, "survival_status": survival}
    data = derive_analysis_data(protocol, tables)
    assert data.cutoff == T("2026-03-20")
    assert _column(data, "death_date")[3] == T("2026-02-10")
    assert _column(data, "followup_end")[3] == T("2026-02-10")
    assert _column(data, "withdrawn_in_window")[3]
    # last contact: the latest dated record (S06: lab 03-12; S01: dose 02-15)
    assert _column(data, "last_contact")[5] == T("2026-03-12")
    assert _column(data, "last_contact")[0] == T("2026-02-15")
    assert _row(_pooled(data), 2) == _counts(treated=3, evaluable=2, not_evaluable=1)
    # follow-up to the last contact instead of the cut-off: S06 seen 03-12 >= 03-09,
    # evaluable; S05 last seen 03-03 (its CRS) >= 03-02, evaluable
    data = derive_analysis_data(protocol, tables, followup_rule="last_contact")
    assert _column(data, "followup_end")[4:6] == [T("2026-03-03"), T("2026-03-12")]
    assert _row(_pooled(data), 2) == _counts(treated=3, evaluable=2, not_evaluable=1)
    # without the lab S06 was last seen 03-01 (alive) < 03-09: pending
    data = derive_analysis_data(
        protocol, {**tables, "labs": labs.iloc[1:]}, followup_rule="last_contact"
    )
    assert _column(data, "followup_end")[5] == T("2026-03-01")
    assert _row(_pooled(data), 2) == _counts(
        treated=3, evaluable=1, pending=1, not_evaluable=1
    )
