import pandas as pd
import pytest

from analyses.safety.deaths import summarize_deaths
from analyses.safety.dlt import tabulate_dlt
from analyses.safety.teae import derive_teae
from analyses.safety.time_to_onset import summarize_time_to_onset


@pytest.fixture
def teae(tiny_ae, tiny_population):
    return derive_teae(tiny_ae, tiny_population, worsening=False)


def _get(frame, **keys):
    sel = frame
    for k, v in keys.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, keys
    return sel["value"].iloc[0]


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


def test_dlt_window_and_evaluable_flag(teae, tiny_population):
    # S5's rash starts 2024-02-12 = day 34; a 28-day window drops it
    t = tabulate_dlt(teae, tiny_population, "dose_level", window_days=28)
    assert _get(t.to_frame(), group="2", stat="with_dlt") == 0
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


def test_dlt_evaluable_rule(teae, tiny_population):
    from analyses.safety.dlt import derive_dlt_evaluable

    # 28-day window from 2024-01-10 ends on day 28 = 2024-02-06.
    # S1 followed to 02-06 (day 28) -> evaluable; S2 DLT on day 6 -> evaluable although
    # last seen on day 10; S3 last seen day 20, no DLT -> not evaluable; S5's DLT is on
    # day 34 (outside) but followed to day 40 -> evaluable; S8 never dosed -> not.
    subjects = tiny_population.assign(
        last_contact_date=pd.to_datetime(
            [
                "2024-02-06",
                "2024-01-19",
                "2024-01-29",
                "2024-03-01",
                "2024-02-18",
                "2024-02-18",
                "2024-01-11",
                "2024-03-01",
            ]
        )
    )
    out = derive_dlt_evaluable(subjects, teae, window_days=28)
    assert out["dlt_evaluable"].tolist() == [
        True,
        True,
        False,
        True,
        True,
        True,
        False,
        False,
    ]
    assert out["dlt_in_window"].tolist() == [
        False,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
    ]
    t = tabulate_dlt(
        teae, out, "dose_level", evaluable_flag="dlt_evaluable", window_days=28
    )
    # level 1: evaluable S1, S2, S4 -> 1 DLT (S2) of 3
    assert _get(t.to_frame(), group="1", stat="evaluable") == 3
    assert _get(t.to_frame(), group="1", stat="with_dlt") == 1
    assert _get(t.to_frame(), group="2", stat="with_dlt") == 0
