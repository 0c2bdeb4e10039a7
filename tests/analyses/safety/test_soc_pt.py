import pytest

from analyses.safety.soc_pt import (
    tabulate_grade3_teae,
    tabulate_serious_teae,
    tabulate_teae_by_soc_pt,
)
from analyses.safety.teae import derive_teae


def _stat(frame, soc, pt, group, stat):
    sel = frame[
        (frame["soc"] == soc)
        & (frame["preferred_term"] == pt)
        & (frame["group"] == group)
        & (frame["stat"] == stat)
    ]
    assert len(sel) == 1, (soc, pt, group, stat)
    return sel["value"].iloc[0]


@pytest.fixture
def teae(tiny_ae, tiny_population):
    return derive_teae(tiny_ae, tiny_population, worsening=False)


def test_counts_by_dose_level(teae, tiny_population):
    t = tabulate_teae_by_soc_pt(teae, tiny_population, "dose_level")
    f = t.to_frame()
    # Denominators from the safety population: level 1 = S1-S4 (4), level 2 = S5-S7 (3;
    # S8 never dosed), total 7 -- not the 3 subjects that have an AE.
    assert _stat(f, "ANY", "ANY", "1", "N") == 4
    assert _stat(f, "ANY", "ANY", "2", "N") == 3
    assert _stat(f, "ANY", "ANY", "Total", "N") == 7
    # Any TEAE: level 1 S1, S2 -> 2 subjects, 4 events;
    # level 2 S5 -> 1 subject, 2 events
    assert _stat(f, "ANY", "ANY", "1", "n") == 2
    assert _stat(f, "ANY", "ANY", "1", "events") == 4
    assert _stat(f, "ANY", "ANY", "1", "pct") == pytest.approx(50.0)
    assert _stat(f, "ANY", "ANY", "Total", "n") == 3
    assert _stat(f, "ANY", "ANY", "Total", "pct") == pytest.approx(300 / 7)
    # Nausea: S1 twice + S2 -> 2 subjects, 3 events at level 1; S5 once at level 2;
    # S8's nausea is outside the population and not counted.
    assert _stat(f, "GI", "NAUSEA", "1", "n") == 2
    assert _stat(f, "GI", "NAUSEA", "1", "events") == 3
    assert _stat(f, "GI", "NAUSEA", "Total", "n") == 3
    assert _stat(f, "GI", "NAUSEA", "Total", "events") == 4
    # Zero cells are present
    assert _stat(f, "SKIN", "RASH", "1", "n") == 0
    assert _stat(f, "GI", "ANY", "2", "n") == 1


def test_rows_sorted_by_descending_total_frequency(teae, tiny_population):
    t = tabulate_teae_by_soc_pt(teae, tiny_population, "dose_level")
    labels = t.summary()["label"].str.strip().tolist()
    # GI (3 subjects) before NERV and SKIN (1 each, alphabetical)
    assert labels == [
        "Any adverse event",
        "GI",
        "NAUSEA",
        "NERV",
        "HEADACHE",
        "SKIN",
        "RASH",
    ]


def test_display_cells_and_footnotes(teae, tiny_population):
    t = tabulate_teae_by_soc_pt(
        teae, tiny_population, "dose_level", rounding="half_even", digits=0
    )
    s = t.summary()
    # 3/7 = 42.857 % -> "43%"; 1/4 = 25 %; zero shown as "0"
    assert s.loc[0, "Total (N=7)"] == "3 (43%) [6]"
    assert s.loc[s["label"].str.strip() == "RASH", "1 (N=4)"].item() == "0"
    assert any("half-even" in note for note in t.footnotes)
    assert t.provenance.parameters["rounding"] == "half_even"
    assert t.provenance.parameters["by"] == "dose_level"


def test_serious_and_grade3_subsets(teae, tiny_population):
    ser = tabulate_serious_teae(teae, tiny_population, "dose_level").to_frame()
    # serious TEAEs: S2 nausea (level 1) and S5 rash (level 2)
    assert _stat(ser, "ANY", "ANY", "Total", "n") == 2
    assert _stat(ser, "GI", "NAUSEA", "1", "n") == 1
    g3 = tabulate_grade3_teae(teae, tiny_population, "dose_level").to_frame()
    assert _stat(g3, "ANY", "ANY", "1", "n") == 1
    assert _stat(g3, "SKIN", "RASH", "2", "n") == 1


def test_fisher_comparison_in_frame(teae, tiny_population):
    t = tabulate_teae_by_soc_pt(
        teae, tiny_population, "dose_level", compare_to="1", total=None
    )
    f = t.to_frame()
    # any TEAE 1/3 (level 2) vs 2/4 (level 1): margins 3 of 7 with event; hypergeometric
    # P(a) for a = 0..3 events in level 2 (3 subjects): C(3,a)C(4,3-a)/C(7,3)
    # = 4, 18, 12, 1 (/35); observed a=1 (18/35) is the mode -> p = 35/35 = 1
    assert _stat(f, "ANY", "ANY", "2", "p_value") == pytest.approx(1.0)


def test_teae_rule_travels_to_provenance_and_footnote(tiny_ae, tiny_population):
    teae = derive_teae(tiny_ae, tiny_population, window_days=30, worsening=True)
    t = tabulate_teae_by_soc_pt(teae, tiny_population, "dose_level")
    assert t.provenance.parameters["teae_rule"] == {
        "window_days": 30,
        "worsening": True,
        "missing_onset": "teae",
    }
    assert any("at most 30 days after the last" in note for note in t.footnotes)
    # a frame without a recorded rule says so instead of inventing one
    bare = teae.copy()
    bare.attrs = {}
    t2 = tabulate_teae_by_soc_pt(bare, tiny_population, "dose_level")
    assert t2.provenance.parameters["teae_rule"] is None
    assert any("rule not recorded" in note for note in t2.footnotes)


def test_table_by_dose_level_and_route(teae, tiny_population):
    from analyses.safety.population import derive_combined_group

    subjects = tiny_population.assign(
        route=["INTRAVENOUS", "INTRAVENOUS", "INTRADERMAL", "INTRADERMAL"]
        + ["INTRAVENOUS"] * 4
    )
    subjects = derive_combined_group(subjects, ["dose_level", "route"])
    t = tabulate_teae_by_soc_pt(teae, subjects, "dose_level_route")
    assert t.groups == [
        "1 / INTRADERMAL",
        "1 / INTRAVENOUS",
        "2 / INTRAVENOUS",
        "Total",
    ]
    f = t.to_frame()
    # S1, S2 (level 1, IV) have TEAEs; S3, S4 (level 1, ID) none
    assert _stat(f, "ANY", "ANY", "1 / INTRAVENOUS", "n") == 2
    assert _stat(f, "ANY", "ANY", "1 / INTRADERMAL", "N") == 2
    assert _stat(f, "ANY", "ANY", "1 / INTRADERMAL", "n") == 0


def test_uncoded_events_keep_the_totals_consistent(teae, tiny_population):
    ae = teae.copy()
    ae.loc[
        ae["ae_seq"].eq(3) & ae["subject_id"].eq("S1"), ["soc", "preferred_term"]
    ] = None
    f = tabulate_teae_by_soc_pt(ae, tiny_population, "dose_level").to_frame()
    # S1's headache lost its coding: still one event in the overall row, under UNCODED
    assert _stat(f, "ANY", "ANY", "1", "events") == 4
    assert _stat(f, "UNCODED", "UNCODED", "1", "events") == 1
    assert _stat(f, "UNCODED", "ANY", "1", "n") == 1


def test_risk_difference_column(teae, tiny_population):
    t = tabulate_teae_by_soc_pt(
        teae,
        tiny_population,
        "dose_level",
        compare_to="1",
        total=None,
        risk_difference="wald",
    )
    f = t.to_frame()
    # any TEAE: level 2 1/3 vs level 1 2/4 -> d = 0.333333 - 0.5 = -0.166667
    assert _stat(f, "ANY", "ANY", "2", "risk_difference") == pytest.approx(-1 / 6)
    # Wald: se = sqrt(1/3*2/3/3 + 0.5*0.5/4) = sqrt(0.074074 + 0.0625) = 0.369559
    assert _stat(f, "ANY", "ANY", "2", "rd_upper") == pytest.approx(
        -1 / 6 + 1.959964 * 0.369559, abs=1e-5
    )
    s = t.summary()
    assert s.loc[0, "RD % (2 - 1)"].startswith("-16.7 (")
    assert t.provenance.parameters["risk_difference"] == "wald"


def test_discontinuation_table(teae, tiny_population):
    from analyses.safety.soc_pt import tabulate_teae_leading_to_discontinuation

    f = tabulate_teae_leading_to_discontinuation(
        teae, tiny_population, "dose_level"
    ).to_frame()
    # only S5's rash has action taken DRUG WITHDRAWN
    assert _stat(f, "ANY", "ANY", "2", "n") == 1
    assert _stat(f, "ANY", "ANY", "1", "n") == 0
    assert _stat(f, "SKIN", "RASH", "Total", "events") == 1
