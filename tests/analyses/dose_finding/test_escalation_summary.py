"""summarize_escalation: the one place the design is applied to a trial's ADSL."""

from __future__ import annotations

import pandas as pd
import pytest

from analyses.dose_finding import design_from_protocol
from analyses.dose_finding.escalation import summarize_escalation
from schemas.protocol import parse_protocol


def _protocol(method: str, cutoff: float = 0.95, **design: object):
    return parse_protocol(
        {
            "trial": {"id": "TRIAL-1", "title": "t", "protocol_version": "1"},
            "design": {
                "method": method,
                "target_dlt_rate": 0.3,
                "cohort_size": 3,
                "max_subjects": 18,
                "elimination_cutoff": cutoff,
                **design,
            },
            "dose_levels": [
                {"level": i, "amount": a, "unit": "10^6 cells/kg"}
                for i, a in ((1, 1.0), (2, 3.0), (3, 10.0))
            ],
            "routes": ["INTRAVENOUS", "INTRADERMAL"],
            "dlt_window_days": 28,
            "sites": [{"id": "SITE1", "name": "Site"}],
        }
    )


def _adsl(rows: list[tuple[str, str, int, str, bool]], **extra: object) -> pd.DataFrame:
    """ADSL rows: subject, cohort, dose level, first dose, DLT (all evaluable)."""
    frame = pd.DataFrame(
        rows,
        columns=["subject_id", "cohort_id", "dose_level", "first_dose_date", "dlt"],
    )
    frame["first_dose_date"] = pd.to_datetime(frame["first_dose_date"])
    frame["dose_level"] = frame["dose_level"].astype("Int64")
    defaults = {
        "safety": True,
        "cohort_role": "escalation",
        "escalation_group": "pooled",
        "dlt_evaluable": True,
        "dlt_pending": False,
        "withdrawn_in_window": False,
    }
    defaults.update(extra)
    return frame.assign(**defaults)


@pytest.mark.parametrize("method", ["BOIN", "mTPI-2", "i3+3"])
def test_elimination_cutoff_of_every_interval_design_is_used(method: str) -> None:
    # 2 DLTs in 3 at the lowest dose: Pr(rate > 0.3) = 0.916 under Beta(1, 1), so the
    # dose is eliminated (and the trial stops) with a cut-off of 0.9, not with 0.95
    adsl = _adsl(
        [
            ("S1", "C1", 1, "2025-01-01", True),
            ("S2", "C1", 1, "2025-01-01", True),
            ("S3", "C1", 1, "2025-01-01", False),
        ]
    )
    strict = summarize_escalation(adsl, _protocol(method, 0.9)).group("pooled")
    lenient = summarize_escalation(adsl, _protocol(method, 0.95)).group("pooled")
    assert strict.decision is not None and lenient.decision is not None
    assert strict.decision.action == "stop" and lenient.decision.action != "stop"
    expected = design_from_protocol(_protocol(method, 0.9)).decide(
        [3, 0, 0], [2, 0, 0], 1, last_cohort_dlts=2
    )
    assert (strict.decision.action, strict.decision.next_dose) == (
        expected.action,
        expected.next_dose,
    )
    # the design stopped at the lowest dose: complete, and no dose is tolerated
    assert strict.status == "complete" and strict.mtd is None


def test_three_plus_three_states_its_mtd_when_complete() -> None:
    rows = [(f"A{i}", "C1", 1, "2025-01-01", False) for i in range(3)]
    rows += [(f"B{i}", "C2", 2, "2025-03-01", i == 0) for i in range(3)]
    rows += [(f"C{i}", "C3", 2, "2025-05-01", False) for i in range(3)]
    rows += [(f"D{i}", "C4", 3, "2025-07-01", i < 2) for i in range(3)]
    summary = summarize_escalation(_adsl(rows), _protocol("3+3"))
    group = summary.group("pooled")
    assert group.status == "complete"
    assert group.mtd == 2  # 1/6 at DL2, 2/3 at DL3
    assert list(group.table["evaluable"]) == [3, 6, 3]
    assert list(group.table["dlt"]) == [0, 1, 2]
    frame = summary.to_frame()
    mtd = frame.loc[frame["stat"].eq("mtd"), "value"]
    assert mtd.tolist() == [2.0]
    assert "MTD: DL2" in group.describe()


def test_expansion_subjects_never_enter_the_step_rules() -> None:
    # nk-aml, 40 subjects, seed 7 fed a 34-patient expansion at DL3 with 4 DLTs to the
    # 3+3 step rules ("too toxic; de-escalate"); expansion counts beside them instead
    rows = [(f"A{i}", "C1", 1, "2025-01-01", False) for i in range(3)]
    rows += [(f"B{i}", "C2", 2, "2025-03-01", False) for i in range(3)]
    rows += [(f"C{i}", "C3", 3, "2025-05-01", i == 0) for i in range(6)]
    rows += [(f"E{i:02d}", "EXP", 3, "2025-08-01", i < 4) for i in range(34)]
    adsl = _adsl(rows)
    adsl.loc[adsl["cohort_id"].eq("EXP"), "cohort_role"] = "expansion"
    protocol = _protocol("3+3", expansion_cohorts=["EXP"], max_subjects=12)
    group = summarize_escalation(adsl, protocol).group("pooled")
    assert group.decision is not None and group.decision.action == "stop"
    assert group.mtd == 3
    assert list(group.table["treated"]) == [3, 3, 6]
    assert list(group.table["expansion_treated"]) == [0, 0, 34]
    assert list(group.table["expansion_dlt"]) == [0, 0, 4]


def test_per_route_escalation_decides_each_route_alone() -> None:
    rows = [(f"I{i}", "ID1", 1, "2025-01-01", False) for i in range(3)]
    rows += [(f"N{i}", "IN1", 1, "2025-01-01", i < 2) for i in range(3)]
    adsl = _adsl(rows)
    adsl["escalation_group"] = ["INTRADERMAL"] * 3 + ["INTRAVENOUS"] * 3
    summary = summarize_escalation(adsl, _protocol("BOIN", escalation_by="route"))
    assert [g.name for g in summary.groups] == ["INTRAVENOUS", "INTRADERMAL"]
    assert summary.group("INTRADERMAL").decision.next_dose == 2  # type: ignore[union-attr]
    assert summary.group("INTRAVENOUS").decision.next_dose == 1  # type: ignore[union-attr]
    # a pooled protocol's ADSL puts every subject in one escalation
    adsl["escalation_group"] = "pooled"
    pooled = summarize_escalation(adsl, _protocol("BOIN")).group("pooled")
    assert list(pooled.table["evaluable"]) == [6, 0, 0]


def test_boin_states_the_isotonic_mtd_once_max_subjects_are_treated() -> None:
    rows = [(f"A{i}", "C1", 1, "2025-01-01", False) for i in range(3)]
    rows += [(f"B{i}", "C2", 2, "2025-03-01", False) for i in range(3)]
    rows += [(f"C{i}", "C3", 3, "2025-05-01", i == 0) for i in range(6)]
    protocol = _protocol("BOIN", max_subjects=12)
    group = summarize_escalation(_adsl(rows), protocol).group("pooled")
    assert group.status == "complete"
    selection = design_from_protocol(protocol).select_mtd([3, 3, 6], [0, 0, 1])
    assert group.mtd == selection.mtd == 3
    ongoing = summarize_escalation(_adsl(rows[:-1]), protocol).group("pooled")
    assert ongoing.status == "ongoing" and ongoing.mtd is None


def test_pending_subjects_keep_the_escalation_open() -> None:
    rows = [(f"A{i}", "C1", 1, "2025-01-01", False) for i in range(3)]
    rows += [(f"B{i}", "C2", 2, "2025-03-01", False) for i in range(3)]
    rows += [(f"C{i}", "C3", 3, "2025-05-01", False) for i in range(6)]
    adsl = _adsl(rows)
    adsl.loc[adsl["subject_id"].eq("C5"), ["dlt_evaluable", "dlt_pending"]] = (
        False,
        True,
    )
    group = summarize_escalation(adsl, _protocol("BOIN", max_subjects=12)).group(
        "pooled"
    )
    assert group.status == "ongoing"
    assert list(group.table["pending"]) == [0, 0, 1]
    assert "1 treated subject(s) still within the DLT window" in group.describe()
