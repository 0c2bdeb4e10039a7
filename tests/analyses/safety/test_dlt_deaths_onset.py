import pandas as pd
import pytest

from analyses.datasets import AnalysisData, derive_analysis_data
from analyses.safety.deaths import summarize_deaths
from analyses.safety.dlt import tabulate_dlt
from analyses.safety.teae import derive_teae
from analyses.safety.time_to_onset import summarize_time_to_onset
from schemas.protocol import Protocol, parse_protocol


@pytest.fixture
def teae(tiny_ae, tiny_population):
    return derive_teae(tiny_ae, tiny_population, worsening=False)


def _get(frame, **keys):
    sel = frame
    for k, v in keys.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, keys
    return sel["value"].iloc[0]


def _protocol() -> Protocol:
    """Two dose levels given intravenously, DLT window 28 days."""
    return parse_protocol(
        {
            "trial": {"id": "TINY", "title": "tiny", "protocol_version": "1"},
            "design": {
                "method": "BOIN",
                "target_dlt_rate": 0.3,
                "cohort_size": 3,
                "max_subjects": 12,
            },
            "dose_levels": [
                {"level": 1, "amount": 1, "unit": "10^6 cells/kg"},
                {"level": 2, "amount": 3, "unit": "10^6 cells/kg"},
            ],
            "routes": ["INTRAVENOUS"],
            "dlt_window_days": 28,
            "sites": [{"id": "S1", "name": "Site 1"}],
        }
    )


def _datasets(
    subjects: pd.DataFrame, admin: pd.DataFrame, ae: pd.DataFrame, cutoff=None
) -> AnalysisData:
    """ADSL and ADAE of the tiny trial (cohort C1 = dose level 1, C2 = level 2)."""
    cohorts = pd.DataFrame(
        {
            "cohort_id": ["C1", "C2"],
            "dose_level": pd.array([1, 2], dtype="Int64"),
            "route": ["INTRAVENOUS"] * 2,
        }
    )
    tables = {
        "subjects": subjects,
        "cohorts": cohorts,
        "administrations": admin,
        "adverse_events": ae,
    }
    return derive_analysis_data(_protocol(), tables, cutoff=cutoff)


def test_dlt_by_dose_level_with_exact_ci(teae, tiny_population):
    t = tabulate_dlt(teae, tiny_population, "dose_level")
    f = t.to_frame()
    # level 1: 4 treated, S2 has a DLT -> 1/4; level 2: 3 treated, S5 -> 1/3
    assert _get(f, group="1", stat="treated") == 4
    assert _get(f, group="1", stat="with_dlt") == 1
    assert _get(f, group="1", stat="rate") == pytest.approx(0.25)
    assert _get(f, group="2", stat="rate") == pytest.approx(1 / 3)
    # R: binom.test(1, 4)$conf.int = 0.006309463 0.805879550
    assert _get(f, group="1", stat="ci_lower") == pytest.approx(0.006309463, abs=1e-8)
    assert _get(f, group="1", stat="ci_upper") == pytest.approx(0.805879550, abs=1e-8)
    # listing: S2 nausea onset day 6 (2024-01-15, first dose 2024-01-10 = day 1)
    row = t.listing.loc[t.listing["subject_id"] == "S2"].iloc[0]
    assert row["onset_day"] == 6 and row["preferred_term"] == "NAUSEA"
    assert t.summary().loc[0, "Subjects with DLT"] == "1/4 (25.0%)"


def test_dlt_window_from_adae(tiny_subjects, tiny_admin, tiny_ae):
    # The default cut-off is the latest date, S5's rash onset 2024-02-12. First doses
    # 2024-01-10 (study day 1), so the 28-day window ends 2024-02-06 and every treated
    # subject (S1-S7) is followed to the cut-off: all evaluable. ADAE dlt_in_window:
    # S2's nausea 01-15 = day 6, inside; S5's rash 02-12 = day 34, outside.
    data = _datasets(tiny_subjects, tiny_admin, tiny_ae)
    adae = data.adae.set_index(["subject_id", "ae_seq"])
    assert adae.loc[("S5", 2), "study_day"] == 34
    assert adae.loc[adae["dlt_in_window"]].index.tolist() == [("S2", 1)]
    assert data.adsl["dlt_evaluable"].tolist() == [True] * 7 + [False]
    t = tabulate_dlt(
        data.adae,
        data.adsl,
        "dose_level",
        evaluable_flag="dlt_evaluable",
        dlt_flag="dlt_in_window",
    )
    f = t.to_frame()
    # level 1: S1-S4 treated and evaluable, S2 with a DLT; level 2: S5-S7, none
    assert _get(f, group="1", stat="evaluable") == 4
    assert _get(f, group="1", stat="with_dlt") == 1
    assert _get(f, group="2", stat="treated") == 3
    assert _get(f, group="2", stat="with_dlt") == 0
    assert t.provenance.parameters["dlt_flag"] == "dlt_in_window"
    assert any("onset in the DLT window" in note for note in t.footnotes)
    # the investigator's flag alone counts S5's day-34 rash at level 2
    t = tabulate_dlt(data.adae, data.adsl, "dose_level", evaluable_flag="dlt_evaluable")
    assert _get(t.to_frame(), group="2", stat="with_dlt") == 1


def test_evaluable_flag(teae, tiny_population):
    subjects = tiny_population.assign(evaluable=tiny_population["subject_id"] != "S3")
    t = tabulate_dlt(teae, subjects, "dose_level", evaluable_flag="evaluable")
    assert _get(t.to_frame(), group="1", stat="evaluable") == 3
    assert _get(t.to_frame(), group="1", stat="rate") == pytest.approx(1 / 3)
    assert t.provenance.parameters["evaluable_flag"] == "evaluable"


def test_deaths_counts_and_listing(teae, tiny_population):
    deaths = pd.DataFrame(
        {
            "subject_id": ["S5", "S2", "S8"],
            "death_date": pd.to_datetime(["2024-02-20", "2024-06-01", "2024-03-01"]),
            "death_cause": ["RASH", "PROGRESSION", "PROGRESSION"],
        }
    )
    t = summarize_deaths(
        deaths, tiny_population, "dose_level", adverse_events=teae, window_days=30
    )
    f = t.to_frame()
    # S8 is not in the safety population. S5 died 10 days after the last dose (02-10);
    # S2 died 143 days after the last dose (01-10).
    assert _get(f, category="Deaths (on study)", group="Total", stat="n") == 2
    assert (
        _get(f, category="Deaths within 30 days of the last dose", group="1", stat="n")
        == 0
    )
    assert (
        _get(f, category="Deaths within 30 days of the last dose", group="2", stat="n")
        == 1
    )
    assert _get(f, category="Subjects with a fatal TEAE", group="2", stat="n") == 1
    s5 = t.listing.loc[t.listing["subject_id"] == "S5"].iloc[0]
    assert s5["days_after_last_dose"] == 10 and s5["fatal_ae"] == "RASH"


def test_time_to_onset_study_days(teae, tiny_population):
    ae = teae.assign(aesi=["X", "X", None, "X", "Y", None, None, None])
    t = summarize_time_to_onset(ae, tiny_population, "dose_level")
    f = t.to_frame()
    # X: S1 first event 01-11 (day 2), S2 01-15 (day 6) at level 1 -> median 4
    assert _get(f, category="X", group="1", measure="onset_day", stat="median") == 4
    assert _get(f, category="X", group="1", measure="onset_day", stat="n") == 2
    # durations: S1 01-11..01-12 = 2 days; S2 ongoing
    assert _get(f, category="X", group="1", measure="duration_days", stat="median") == 2
    assert (
        _get(f, category="X", group="1", measure="duration_days", stat="ongoing") == 1
    )
    # Y: S5 on the dosing day -> day 1 (day 0 with day_one=False)
    assert _get(f, category="Y", group="2", measure="onset_day", stat="min") == 1
    f0 = summarize_time_to_onset(
        ae, tiny_population, "dose_level", day_one=False
    ).to_frame()
    assert _get(f0, category="Y", group="2", measure="onset_day", stat="min") == 0
    # all events instead of the first: S1 has two X events (days 2 and 11)
    fa = summarize_time_to_onset(
        ae, tiny_population, "dose_level", first_only=False
    ).to_frame()
    assert _get(fa, category="X", group="1", measure="onset_day", stat="n") == 3


def test_dlt_evaluable_rule(tiny_subjects, tiny_admin, tiny_ae):
    # ADSL's rule: evaluable = a DLT in the window (study days 1-28), or followed up to
    # the window's last day, first dose 2024-01-10 + 27 = 2024-02-06. Follow-up ends at
    # the cut-off, or at withdrawal when earlier. S2 withdraws 01-19 (day 10), S3 01-29
    # (day 20), S7 01-11 (day 2).
    subjects = tiny_subjects.assign(
        withdrawal_date=pd.to_datetime(
            [None, "2024-01-19", "2024-01-29", None, None, None, "2024-01-11", None]
        )
    )
    # cut-off 2024-02-06, the window's last day: S1, S4, S5, S6 followed to it,
    # evaluable; S2 DLT on day 6, evaluable although withdrawn on day 10; S3 and S7
    # left without a DLT, not evaluable; S8 never dosed. (S5's rash of 02-12 is after
    # the cut-off.)
    data = _datasets(subjects, tiny_admin, tiny_ae, cutoff="2024-02-06")
    adsl = data.adsl
    assert adsl["dlt_window_end"].iloc[0] == pd.Timestamp("2024-02-06")
    assert adsl["dlt_evaluable"].tolist() == [
        True,
        True,
        False,
        True,
        True,
        True,
        False,
        False,
    ]
    assert adsl["dlt"].tolist() == [False, True] + [False] * 6
    assert adsl["withdrawn_in_window"].tolist() == [
        False,
        False,
        True,
        False,
        False,
        False,
        True,
        False,
    ]
    # cut-off 02-05 (day 27): S1, S4, S5, S6 are still in the window, pending
    data = _datasets(subjects, tiny_admin, tiny_ae, cutoff="2024-02-05")
    assert data.adsl["dlt_evaluable"].tolist() == [False, True] + [False] * 6
    assert data.adsl["dlt_pending"].tolist() == [
        True,
        False,
        False,
        True,
        True,
        True,
        False,
        False,
    ]
    # default cut-off 02-12: S5's rash (day 34) is recorded but outside the window;
    # S5 stays evaluable without a DLT
    data = _datasets(subjects, tiny_admin, tiny_ae)
    assert data.adsl["dlt_evaluable"].tolist() == [
        True,
        True,
        False,
        True,
        True,
        True,
        False,
        False,
    ]
    t = tabulate_dlt(
        data.adae,
        data.adsl,
        "dose_level",
        evaluable_flag="dlt_evaluable",
        dlt_flag="dlt_in_window",
    )
    # level 1: evaluable S1, S2, S4 -> 1 DLT (S2) of 3; level 2: S5, S6, no DLT
    f = t.to_frame()
    assert _get(f, group="1", stat="evaluable") == 3
    assert _get(f, group="1", stat="with_dlt") == 1
    assert _get(f, group="1", stat="rate") == pytest.approx(1 / 3)
    assert _get(f, group="2", stat="evaluable") == 2
    assert _get(f, group="2", stat="with_dlt") == 0
