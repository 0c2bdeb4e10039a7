import pandas as pd

from analyses.safety.teae import (
    compute_imputation_flags,
    compute_imputed_dates,
    derive_imputed_onset,
    derive_teae,
)


def test_partial_date_imputation_rules():
    raw = pd.Series(
        ["2024-03-17", "2024-03", "2024-05", "2024", "2023", None, "2024-03-17T10:30"]
    )
    first = pd.Series(pd.to_datetime(["2024-03-10"] * 7))
    got = compute_imputed_dates(raw, first)
    expected = pd.to_datetime(
        [
            "2024-03-17",  # complete: kept
            "2024-03-10",  # month of first dose: first-dose date, not 2024-03-01
            "2024-05-01",  # other month: first of month
            "2024-03-10",  # year of first dose: first-dose date, not 2024-01-01
            "2023-01-01",  # other year: 1 January
            None,
            "2024-03-17",
        ]
    )
    pd.testing.assert_series_equal(got, pd.Series(expected), check_names=False)
    flags = compute_imputation_flags(raw)
    assert flags.tolist()[:5] == [pd.NA, "D", "D", "M", "M"]
    assert pd.isna(flags.iloc[5])


def test_imputation_without_first_dose_uses_first_of_period():
    got = compute_imputed_dates(pd.Series(["2024-03", "2024"]))
    assert got.tolist() == [pd.Timestamp("2024-03-01"), pd.Timestamp("2024-01-01")]


def test_derive_imputed_onset_uses_each_subjects_first_dose(tiny_population):
    ae = pd.DataFrame(
        {"subject_id": ["S1", "S8"], "onset_date_raw": ["2024-01", "2024-01"]}
    )
    out = derive_imputed_onset(ae, tiny_population)
    # S1 first dose 2024-01-10 -> imputed to it; S8 never dosed -> 2024-01-01
    assert out["onset_date"].tolist() == [
        pd.Timestamp("2024-01-10"),
        pd.Timestamp("2024-01-01"),
    ]
    assert out["onset_date_imputed"].tolist() == ["D", "D"]


def test_teae_onset_rule(tiny_ae, tiny_population):
    out = derive_teae(tiny_ae, tiny_population, worsening=False)
    # S6 headache 2024-01-01 is before the 2024-01-10 dose; S8 was never dosed;
    # S5 nausea on the day of the first dose counts (on or after).
    assert out["teae"].tolist() == [True, True, True, True, True, True, False, False]


def test_teae_window_after_last_dose(tiny_ae, tiny_population):
    # S1-S4 last dose 2024-01-10: with a 7-day window S1's nausea on 01-20 (day +10)
    # and S2's nausea on 01-15 (+5) -> only the 01-20 one drops out. S5's last dose is
    # 02-10, rash 02-12 (+2) stays.
    out = derive_teae(tiny_ae, tiny_population, window_days=7, worsening=False)
    assert out["teae"].tolist() == [True, False, True, True, True, True, False, False]


def test_teae_missing_onset_rule(tiny_population):
    ae = pd.DataFrame(
        {
            "subject_id": ["S1"],
            "preferred_term": ["X"],
            "onset_date": [pd.NaT],
            "grade": [1],
        }
    )
    assert derive_teae(ae, tiny_population)["teae"].tolist() == [True]
    assert derive_teae(ae, tiny_population, missing_onset="not_teae")[
        "teae"
    ].tolist() == [False]


def test_teae_worsening_of_pre_existing_event(tiny_population):
    # S1 has grade-2 headache ongoing since before the first dose (2024-01-10).
    # A grade-2 headache record after dosing is the same condition, not worse ->
    # not TEAE;
    # a grade-3 record is a worsening -> TEAE; another PT is unaffected.
    ae = pd.DataFrame(
        {
            "subject_id": ["S1", "S1", "S1", "S1"],
            "preferred_term": ["HEADACHE", "HEADACHE", "HEADACHE", "NAUSEA"],
            "onset_date": pd.to_datetime(
                ["2024-01-01", "2024-01-15", "2024-01-20", "2024-01-15"]
            ),
            "resolution_date": pd.to_datetime([None, "2024-01-16", None, None]),
            "grade": [2, 2, 3, 1],
        }
    )
    out = derive_teae(ae, tiny_population, worsening=True)
    assert out["teae"].tolist() == [False, False, True, True]
    assert out["teae_reason"].tolist()[2:] == ["worsening", "onset"]
    # a pre-existing event resolved before the first dose is not a baseline condition
    ae.loc[0, "resolution_date"] = pd.Timestamp("2024-01-05")
    assert derive_teae(ae, tiny_population)["teae"].tolist() == [
        False,
        True,
        True,
        True,
    ]


def test_teae_does_not_mutate_input(tiny_ae, tiny_population):
    before = tiny_ae.copy()
    derive_teae(tiny_ae, tiny_population)
    pd.testing.assert_frame_equal(tiny_ae, before)


def test_dose_groups_planned_and_actual(tiny_subjects, tiny_admin):
    from analyses.safety.population import derive_dose_groups

    cohorts = pd.DataFrame(
        {
            "cohort_id": ["C1", "C2"],
            "dose_level": [1, 2],
            "route": ["INTRAVENOUS", "INTRADERMAL"],
        }
    )
    # S4 planned level 1 but received a level-2 dose as its second administration
    admin = pd.concat(
        [
            tiny_admin,
            pd.DataFrame(
                {
                    "subject_id": ["S4"],
                    "admin_seq": [2],
                    "admin_date": pd.to_datetime(["2024-02-10"]),
                    "given": pd.array([True], dtype="boolean"),
                    "dose_level": [2],
                    "route": ["INTRAVENOUS"],
                }
            ),
        ],
        ignore_index=True,
    )
    out = derive_dose_groups(tiny_subjects, admin, cohorts)
    s4 = out.set_index("subject_id").loc["S4"]
    assert s4["planned_dose_level"] == 1 and s4["actual_dose_level"] == 2
    assert s4["planned_route"] == "INTRAVENOUS"
    first = derive_dose_groups(tiny_subjects, admin, cohorts, actual_rule="first")
    assert first.set_index("subject_id").loc["S4", "actual_dose_level"] == 1
    # S8 was never dosed: no actual dose level
    assert pd.isna(out.set_index("subject_id").loc["S8", "actual_dose_level"])
    assert out.set_index("subject_id").loc["S5", "planned_route"] == "INTRADERMAL"


def test_safety_population_from_flag_and_missing_group(tiny_subjects, tiny_admin):
    from analyses.safety.population import derive_safety_population, select_population

    flagged = tiny_subjects.assign(SAFFL=["Y", "Y", "N", "Y", "Y", "Y", "Y", None])
    out = derive_safety_population(flagged, tiny_admin, flag="SAFFL")
    assert out["safety"].tolist() == [True, True, False, True, True, True, True, False]
    # first/last given dose: S5 dosed 01-10 and 02-10; S8 never
    s5 = out.set_index("subject_id").loc["S5"]
    assert s5["first_dose_date"] == pd.Timestamp("2024-01-10")
    assert s5["last_dose_date"] == pd.Timestamp("2024-02-10")
    out.loc[out["subject_id"] == "S1", "dose_level"] = None
    pop = select_population(out.astype({"dose_level": "Int64"}), "dose_level")
    assert list(pop["group"].cat.categories) == ["1", "2", "Missing"]
    assert (pop["group"] == "Missing").sum() == 1


def test_population_rules_travel_to_tables(tiny_subjects, tiny_admin, tiny_ae):
    from analyses.safety.population import derive_dose_groups, derive_safety_population
    from analyses.safety.soc_pt import tabulate_teae_by_soc_pt

    cohorts = pd.DataFrame(
        {"cohort_id": ["C1", "C2"], "dose_level": [1, 2], "route": ["INTRAVENOUS"] * 2}
    )
    subjects = derive_dose_groups(
        derive_safety_population(tiny_subjects, tiny_admin),
        tiny_admin,
        cohorts,
        actual_rule="first",
    )
    ae = derive_teae(tiny_ae, subjects)
    t = tabulate_teae_by_soc_pt(ae, subjects, "actual_dose_level")
    assert t.provenance.parameters["population_rules"] == {
        "safety_population": "at least one given administration",
        "actual_dose_level": "first dose level given",
    }
    assert any(note.startswith("Derived: safety_population") for note in t.footnotes)
