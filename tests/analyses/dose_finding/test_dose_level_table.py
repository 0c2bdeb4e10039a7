"""The per-dose-level table on a hand-built seven-subject trial.

Worked out by hand (DLT window 28 days, onset day counted as days after first dose):

* S01 dose 1, first dose 01-01, last record 02-15 >= 01-29: evaluable, no DLT
  (its AE on 01-03 is not a DLT).
* S02 dose 1, DLT onset 01-20 = day 15: DLT, evaluable.
* S03 dose 1, withdrew 01-20 < window end 02-05, no DLT: not evaluable.
* S04 first planned dose not given; given 02-01 (dose level from cohort C2 = 2);
  DLT-flagged AE on 03-15 = day 42 is outside the window; last record 03-20 >= 03-01:
  evaluable, no DLT.
* S05 dose 2, DLT onset 03-03 = day 28: inside an inclusive window.
* S06 dose 2, only record 02-10: still in window (pending) unless a cutoff >= 03-10.
* S07 never dosed: not treated.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analyses.dose_finding import BOIN, tabulate_dose_levels
from schemas.protocol import parse_protocol

from .conftest import protocol_data  # type: ignore[import-not-found]


def _row(table: pd.DataFrame, level: int) -> dict[str, int]:
    r = table.set_index("dose_level").loc[level]
    return {
        k: int(r[k])
        for k in ("treated", "evaluable", "dlt", "pending", "not_evaluable")
    }


def test_counts_by_hand(trial_tables, protocol) -> None:  # type: ignore[no-untyped-def]
    res = tabulate_dose_levels(**trial_tables, protocol=protocol)
    assert not res.by_route
    assert _row(res.table, 1) == {
        "treated": 3,
        "evaluable": 2,
        "dlt": 1,
        "pending": 0,
        "not_evaluable": 1,
    }
    assert _row(res.table, 2) == {
        "treated": 3,
        "evaluable": 2,
        "dlt": 1,
        "pending": 1,
        "not_evaluable": 0,
    }
    assert _row(res.table, 3) == {
        "treated": 0,
        "evaluable": 0,
        "dlt": 0,
        "pending": 0,
        "not_evaluable": 0,
    }
    n, y = res.counts()
    assert n.tolist() == [2, 2, 0] and y.tolist() == [1, 1, 0]
    # latest first dose is S06 (02-10), cohort C2 at dose level 2 with one DLT (S05)
    assert res.current() == (2, 1, 3)
    subj = res.subjects.set_index("subject_id")
    assert subj.loc["S04", "dose_level"] == 2
    assert subj.loc["S04", "first_dose_date"] == pd.Timestamp("2026-02-01")
    assert not subj.loc["S07", "treated"]
    assert res.provenance.parameters["dlt_window_days"] == 28


def test_data_cutoff_and_exclusive_window(trial_tables, protocol) -> None:  # type: ignore[no-untyped-def]
    # cutoff 03-20: S06 followed 38 days -> evaluable; S03 still withdrawn
    res = tabulate_dose_levels(
        **trial_tables, protocol=protocol, data_cutoff="2026-03-20"
    )
    assert _row(res.table, 2)["evaluable"] == 3
    assert _row(res.table, 1)["evaluable"] == 2
    # exclusive window end: S05's day-28 onset is no longer a DLT; S05 is still
    # evaluable because its last record (03-03) reaches the window end (03-03)
    res = tabulate_dose_levels(
        **trial_tables, protocol=protocol, dlt_window_inclusive=False
    )
    assert _row(res.table, 2)["dlt"] == 0
    assert _row(res.table, 2)["evaluable"] == 2
    # a 10-day window: S02's day-15 onset is outside it
    res = tabulate_dose_levels(**trial_tables, protocol=protocol, dlt_window_days=10)
    assert _row(res.table, 1)["dlt"] == 0
    res = tabulate_dose_levels(
        **trial_tables, protocol=protocol, evaluable_rule="all_treated"
    )
    assert _row(res.table, 1)["evaluable"] == 3


def test_by_route(trial_tables) -> None:  # type: ignore[no-untyped-def]
    protocol = parse_protocol(protocol_data(["INTRADERMAL", "INTRANODAL"]))
    tables = dict(trial_tables)
    adm = tables["administrations"].copy()
    adm.loc[adm["subject_id"] == "S02", "route"] = "INTRANODAL"
    tables["administrations"] = adm
    res = tabulate_dose_levels(**tables, protocol=protocol)
    assert res.by_route
    assert res.routes == ["INTRADERMAL", "INTRANODAL"]
    n_id, y_id = res.counts("INTRADERMAL")
    n_in, y_in = res.counts("INTRANODAL")
    assert (n_id.tolist(), y_id.tolist()) == ([1, 2, 0], [0, 1, 0])
    assert (n_in.tolist(), y_in.tolist()) == ([1, 0, 0], [1, 0, 0])
    with pytest.raises(ValueError, match="choose a route"):
        res.counts()


def test_inputs_not_mutated(trial_tables, protocol) -> None:  # type: ignore[no-untyped-def]
    before = {k: v.copy() for k, v in trial_tables.items()}
    tabulate_dose_levels(**trial_tables, protocol=protocol)
    for k, v in trial_tables.items():
        pd.testing.assert_frame_equal(v, before[k])


def test_table_feeds_design(trial_tables, protocol) -> None:  # type: ignore[no-untyped-def]
    res = tabulate_dose_levels(**trial_tables, protocol=protocol)
    n, y = res.counts()
    current, last, _ = res.current()
    assert current is not None
    # BOIN target 0.3 at dose 2 with 1/2: lambda_e*2 = 0.47 -> escalate only if 0 DLT,
    # lambda_d*2 = 0.72 -> de-escalate if >= 1 DLT: de-escalate to dose 1
    dec = BOIN(0.3, 3).decide(n, y, current, last_cohort_dlts=last)
    assert (dec.action, dec.next_dose) == ("de-escalate", 1)


def test_contacts_from_other_domains(trial_tables, protocol) -> None:  # type: ignore[no-untyped-def]
    """S06 (dosed 02-10, window end 03-10) has a lab on 03-12: evaluable. S04 (dosed
    02-01, window end 03-01) died on 02-10 without a DLT in the window: not evaluable.
    Dose level 2 then has S05 (DLT) and S06 evaluable, S04 not evaluable."""
    from analyses.dose_finding import derive_contact_dates

    labs = pd.DataFrame(
        {
            "subject_id": ["S06", "S01"],
            "lab_date": pd.to_datetime(["2026-03-12", "2026-01-02"]),
        }
    )
    surv = pd.DataFrame(
        {
            "subject_id": ["S04", "S06"],
            "last_known_alive_date": pd.to_datetime([None, "2026-03-01"]),
            "death_date": pd.to_datetime(["2026-02-10", None]),
        }
    )
    last, death = derive_contact_dates({"labs": labs, "survival_status": surv})
    assert last["S06"] == pd.Timestamp("2026-03-12")
    assert death.to_dict() == {"S04": pd.Timestamp("2026-02-10")}
    res = tabulate_dose_levels(
        **trial_tables, protocol=protocol, last_contact=last, off_study=death
    )
    assert _row(res.table, 2) == {
        "treated": 3,
        "evaluable": 2,
        "dlt": 1,
        "pending": 0,
        "not_evaluable": 1,
    }
