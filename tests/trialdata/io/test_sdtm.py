"""SDTM/ADaM reading, checked against the CDISC pilot's published safety tables.

Published numbers: Atorus ``CDISC_pilot_replication`` outputs/14-5.01.rtf and
14-5.02.rtf (replications of CDISC pilot Tables 14-5.01 "Incidence of Treatment Emergent
Adverse Events by Treatment Group" and 14-5.02 "... Serious Adverse Events ...", safety
population, N = 86 / 84 / 84) and R Consortium submissions-pilot1 output/
tlf-demographic.out (Table 14-2.01).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analyses.safety.population import derive_safety_population
from analyses.safety.soc_pt import tabulate_serious_teae, tabulate_teae_by_soc_pt
from analyses.safety.teae import derive_teae
from trialdata.errors import UnreadableFileError
from trialdata.io.sdtm import read_adam, read_sdtm, read_xpt

ARMS = ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]


@pytest.fixture(scope="module")
def sdtm(cdisc_pilot_dir: Path) -> dict[str, pd.DataFrame]:
    return read_sdtm(cdisc_pilot_dir / "sdtm")


@pytest.fixture(scope="module")
def pilot(sdtm):
    subjects = derive_safety_population(sdtm["subjects"], sdtm["administrations"])
    # The pilot's rule: "events which start on or after the start of treatment"
    ae = derive_teae(sdtm["adverse_events"], subjects, worsening=False)
    return subjects, ae


def test_shapes_and_mapping(sdtm):
    assert len(sdtm["subjects"]) == 306
    assert len(sdtm["administrations"]) == 591
    assert len(sdtm["adverse_events"]) == 1191
    cohorts = sdtm["cohorts"].set_index("cohort_id")
    # dose rank: placebo 0 mg < low 54 mg < high 81 mg
    assert cohorts["dose_level"].to_dict() == {"Pbo": 1, "Xan_Lo": 2, "Xan_Hi": 3}
    ae = sdtm["adverse_events"]
    # AESEV mapped to grade 1-3; AEREL mapped to our relatedness terms
    assert ae["grade"].value_counts().to_dict() == {1: 770, 2: 378, 3: 43}
    assert set(ae["relatedness"].dropna()) == {
        "NOT RELATED",
        "UNLIKELY RELATED",
        "POSSIBLY RELATED",
        "PROBABLY RELATED",
    }
    # 15 month-only and 11 year-only onset dates are imputed and flagged
    assert ae["onset_date_imputed"].value_counts().to_dict() == {"D": 15, "M": 11}
    assert ae["serious"].sum() == 3


def test_safety_population_from_exposure(pilot):
    subjects, _ = pilot
    # 254 randomised subjects dosed; the 52 screen failures were never dosed
    n = subjects.loc[subjects["safety"]].groupby("arm", observed=True).size()
    assert n.reindex(ARMS).tolist() == [86, 84, 84]
    # the actual arm (ACTARM) differs: 86 / 96 / 72 -- the column-variable trap
    n_act = subjects.loc[subjects["safety"]].groupby("actual_arm", observed=True).size()
    assert n_act.reindex(ARMS).tolist() == [86, 96, 72]


def test_teae_derivation_matches_adam_trtemfl(pilot, cdisc_pilot_dir):
    _, ae = pilot
    assert ae["teae"].sum() == 1126
    adae = read_adam(cdisc_pilot_dir / "adam")["adverse_events"]
    mine = ae.set_index(["subject_id", "ae_seq"])["teae"]
    theirs = adae.set_index(["subject_id", "ae_seq"])["teae"]
    assert (mine.reindex(theirs.index) == theirs).all()


def _cell(frame, soc, pt, arm, stat):
    sel = frame[
        (frame["soc"] == soc)
        & (frame["preferred_term"] == pt)
        & (frame["group"] == arm)
        & (frame["stat"] == stat)
    ]
    return sel["value"].item()


GEN = "GENERAL DISORDERS AND ADMINISTRATION SITE CONDITIONS"
# (soc, pt) -> per arm (n, events), from published Table 14-5.01
PUBLISHED_14_5_01 = {
    ("ANY", "ANY"): [(65, 281), (77, 412), (76, 433)],
    ("CARDIAC DISORDERS", "ANY"): [(12, 26), (13, 30), (15, 30)],
    ("CARDIAC DISORDERS", "SINUS BRADYCARDIA"): [(2, 2), (7, 10), (8, 12)],
    ("CARDIAC DISORDERS", "MYOCARDIAL INFARCTION"): [(4, 4), (2, 4), (4, 8)],
    ("CARDIAC DISORDERS", "ATRIAL FIBRILLATION"): [(1, 1), (1, 1), (3, 5)],
    ("CARDIAC DISORDERS", "ATRIAL FLUTTER"): [(0, 0), (1, 1), (1, 2)],
    ("CARDIAC DISORDERS", "VENTRICULAR EXTRASYSTOLES"): [(0, 0), (2, 4), (1, 1)],
    ("CARDIAC DISORDERS", "ATRIAL HYPERTROPHY"): [(1, 2), (0, 0), (0, 0)],
    (GEN, "ANY"): [(21, 46), (47, 118), (40, 124)],
    (GEN, "APPLICATION SITE PRURITUS"): [(6, 10), (22, 32), (22, 35)],
    (GEN, "APPLICATION SITE ERYTHEMA"): [(3, 3), (12, 20), (15, 23)],
    (GEN, "APPLICATION SITE IRRITATION"): [(3, 7), (9, 18), (9, 16)],
    (GEN, "APPLICATION SITE DERMATITIS"): [(5, 9), (9, 15), (7, 12)],
    (GEN, "APPLICATION SITE VESICLES"): [(1, 2), (4, 5), (6, 6)],
    (GEN, "FATIGUE"): [(1, 2), (5, 5), (5, 5)],
    (GEN, "APPLICATION SITE PAIN"): [(0, 0), (0, 0), (2, 2)],
    (GEN, "APPLICATION SITE PERSPIRATION"): [(0, 0), (0, 0), (2, 3)],
    (GEN, "ULCER"): [(0, 0), (1, 1), (0, 0)],
    ("HEPATOBILIARY DISORDERS", "HYPERBILIRUBINAEMIA"): [(1, 1), (0, 0), (0, 0)],
    ("IMMUNE SYSTEM DISORDERS", "HYPERSENSITIVITY"): [(0, 0), (1, 2), (0, 0)],
    ("INFECTIONS AND INFESTATIONS", "ANY"): [(16, 35), (9, 16), (13, 20)],
    ("INFECTIONS AND INFESTATIONS", "NASOPHARYNGITIS"): [(2, 4), (4, 9), (6, 8)],
}
# published p-values (placebo vs low, placebo vs high), 3 decimals
PUBLISHED_P = {
    ("ANY", "ANY"): ("0.007", "0.014"),
    ("CARDIAC DISORDERS", "ANY"): ("0.831", "0.534"),
    ("CARDIAC DISORDERS", "SINUS BRADYCARDIA"): ("0.097", "0.056"),
    ("CARDIAC DISORDERS", "MYOCARDIAL INFARCTION"): ("0.682", ">.99"),
    ("CARDIAC DISORDERS", "ATRIAL FIBRILLATION"): (">.99", "0.365"),
    (GEN, "APPLICATION SITE PRURITUS"): ("0.001", "0.001"),
    (GEN, "APPLICATION SITE ERYTHEMA"): ("0.015", "0.002"),
    (GEN, "APPLICATION SITE IRRITATION"): ("0.078", "0.078"),
    (GEN, "APPLICATION SITE DERMATITIS"): ("0.277", "0.563"),
    (GEN, "APPLICATION SITE VESICLES"): ("0.208", "0.062"),
    (GEN, "FATIGUE"): ("0.115", "0.115"),
    ("INFECTIONS AND INFESTATIONS", "ANY"): ("0.194", "0.685"),
    ("INFECTIONS AND INFESTATIONS", "NASOPHARYNGITIS"): ("0.441", "0.166"),
}


def test_teae_table_matches_published_14_5_01(pilot):
    subjects, ae = pilot
    table = tabulate_teae_by_soc_pt(
        ae,
        subjects,
        "arm",
        total=None,
        compare_to="Placebo",
        sort_by="Xanomeline High Dose",
        soc_order="alphabetical",
    )
    frame = table.to_frame()
    for (soc, pt), cells in PUBLISHED_14_5_01.items():
        for arm, (n, events) in zip(ARMS, cells, strict=True):
            assert _cell(frame, soc, pt, arm, "n") == n, (soc, pt, arm)
            assert _cell(frame, soc, pt, arm, "events") == events, (soc, pt, arm)
    summary = table.summary()
    summary["key"] = summary["label"].str.strip()
    for (soc, pt), (p_low, p_high) in PUBLISHED_P.items():
        key = "Any adverse event" if soc == "ANY" else (soc if pt == "ANY" else pt)
        row = summary.loc[summary["key"] == key].iloc[0]
        assert row["p (Placebo vs Xanomeline Low Dose)"] == p_low, key
        assert row["p (Placebo vs Xanomeline High Dose)"] == p_high, key
    # The pilot prints p < 0.0005 as "0.000" (GENERAL DISORDERS, placebo vs low dose);
    # we print "<.001" -- same value, different display.
    gen = summary.loc[summary["key"] == GEN].iloc[0]
    assert gen["p (Placebo vs Xanomeline Low Dose)"] == "<.001"
    assert gen["p (Placebo vs Xanomeline High Dose)"] == "0.002"
    # display cells as published: "65 (75.6%)" etc.
    first = summary.iloc[0]
    assert first["Placebo (N=86)"] == "65 (75.6%) [281]"
    assert first["Xanomeline High Dose (N=84)"] == "76 (90.5%) [433]"
    # published order inside CARDIAC DISORDERS: by high-dose count, then alphabetical
    labels = summary["key"].tolist()
    start = labels.index("CARDIAC DISORDERS")
    assert labels[start + 1 : start + 11] == [
        "SINUS BRADYCARDIA",
        "MYOCARDIAL INFARCTION",
        "ATRIAL FIBRILLATION",
        "ATRIAL FLUTTER",
        "CARDIAC DISORDER",
        "SUPRAVENTRICULAR EXTRASYSTOLES",
        "VENTRICULAR EXTRASYSTOLES",
        "ATRIAL HYPERTROPHY",
        "ATRIOVENTRICULAR BLOCK FIRST DEGREE",
        "ATRIOVENTRICULAR BLOCK SECOND DEGREE",
    ]
    # p-value blank when neither arm has the event (CARDIAC DISORDER, placebo vs low)
    row = summary.loc[summary["key"] == "CARDIAC DISORDER"].iloc[0]
    assert row["p (Placebo vs Xanomeline Low Dose)"] == ""
    assert row["p (Placebo vs Xanomeline High Dose)"] == "0.494"


def test_serious_table_matches_published_14_5_02(pilot):
    subjects, ae = pilot
    table = tabulate_serious_teae(ae, subjects, "arm", total=None, compare_to="Placebo")
    frame = table.to_frame()
    published = {
        ("ANY", "ANY"): [(0, 0), (1, 1), (2, 2)],
        ("NERVOUS SYSTEM DISORDERS", "ANY"): [(0, 0), (1, 1), (2, 2)],
        ("NERVOUS SYSTEM DISORDERS", "SYNCOPE"): [(0, 0), (1, 1), (1, 1)],
        (
            "NERVOUS SYSTEM DISORDERS",
            "PARTIAL SEIZURES WITH SECONDARY GENERALISATION",
        ): [(0, 0), (0, 0), (1, 1)],
    }
    for (soc, pt), cells in published.items():
        for arm, (n, events) in zip(ARMS, cells, strict=True):
            assert _cell(frame, soc, pt, arm, "n") == n
            assert _cell(frame, soc, pt, arm, "events") == events
    # published p-values 0.494 / 0.243 for the any-event row
    assert _cell(
        frame, "ANY", "ANY", "Xanomeline Low Dose", "p_value"
    ) == pytest.approx(84 / 170)
    summary = table.summary()
    assert summary.iloc[0]["p (Placebo vs Xanomeline High Dose)"] == "0.243"
    assert len(summary) == 4


def test_adam_reader(cdisc_pilot_dir):
    adam = read_adam(cdisc_pilot_dir / "adam")
    subjects = adam["subjects"]
    assert len(subjects) == 254
    assert subjects["safety"].sum() == 254
    assert list(subjects["arm"].cat.categories) == ARMS
    assert adam["adverse_events"]["teae"].sum() == 1126


def test_unreadable_file_names_the_file(tmp_path):
    bad = tmp_path / "ae.xpt"
    bad.write_text("not a transport file")
    with pytest.raises(UnreadableFileError) as err:
        read_xpt(bad)
    assert "ae.xpt" in str(err.value)
    with pytest.raises(UnreadableFileError):
        read_xpt(tmp_path / "missing.xpt")


# R Consortium submissions-pilot1 output/tlf-demographic.out (Table 14-2.01, ITT,
# N = 86 / 84 / 84): mean (sd), median, min, max -- published to 2 decimals
PUBLISHED_14_2_01 = {
    "age": [
        (75.21, 8.59, 76, 52, 89),
        (75.67, 8.29, 77.5, 51, 88),
        (74.38, 7.89, 76, 56, 88),
    ],
    "height_cm": [
        (162.57, 11.52, 162.6, 137.2, 185.4),
        (163.43, 10.42, 162.6, 135.9, 195.6),
        (165.82, 10.13, 165.1, 146.1, 190.5),
    ],
    "weight_kg": [
        (62.76, 12.77, 60.55, 34, 86.2),
        (67.28, 14.12, 64.9, 45.4, 106.1),
        (70.00, 14.65, 69.2, 41.7, 108),
    ],
    "bmi": [
        (23.64, 3.67, 23.4, 15.1, 33.3),
        (25.06, 4.27, 24.3, 17.7, 40.1),
        (25.35, 4.16, 24.8, 13.7, 34.5),
    ],
    "mmse": [
        (18.05, 4.27, 19.5, 10, 23),
        (17.87, 4.22, 18, 10, 24),
        (18.51, 4.16, 20, 10, 24),
    ],
}
PUBLISHED_14_2_01_COUNTS = {
    ("age_group", "<65"): [14, 8, 11],
    ("age_group", "65-80"): [42, 47, 55],
    ("age_group", ">80"): [30, 29, 18],
    ("race", "WHITE"): [78, 78, 74],
    ("race", "BLACK OR AFRICAN AMERICAN"): [8, 6, 9],
    ("race", "AMERICAN INDIAN OR ALASKA NATIVE"): [0, 0, 1],
}


def test_demographics_match_published_14_2_01(cdisc_pilot_dir):
    from analyses.safety.demographics import summarize_demographics
    from analyses.safety.stats import round_value

    subjects = read_adam(cdisc_pilot_dir / "adam")["subjects"]
    table = summarize_demographics(
        subjects,
        "arm",
        continuous=list(PUBLISHED_14_2_01),
        categorical=["age_group", "race"],
        population_flag="itt",
        total=None,
    )
    f = table.to_frame()

    def get(variable, arm, stat, category=""):
        sel = f[
            (f["variable"] == variable)
            & (f["group"] == arm)
            & (f["stat"] == stat)
            & (f["category"] == category)
        ]
        return sel["value"].item()

    for variable, cells in PUBLISHED_14_2_01.items():
        for arm, (mean, sd, median, lo, hi) in zip(ARMS, cells, strict=True):
            # published to 2 decimals: compare after the same rounding
            assert round_value(get(variable, arm, "mean"), 2) == mean, (variable, arm)
            assert round_value(get(variable, arm, "sd"), 2) == sd, (variable, arm)
            assert get(variable, arm, "median") == pytest.approx(median)
            assert get(variable, arm, "min") == pytest.approx(lo)
            assert get(variable, arm, "max") == pytest.approx(hi)
    for (variable, category), counts in PUBLISHED_14_2_01_COUNTS.items():
        for arm, n in zip(ARMS, counts, strict=True):
            assert get(variable, arm, "n", category) == n, (variable, category, arm)


def test_lb_mapping_round_trip(tmp_path, cdisc_pilot_dir):
    import pyreadstat

    from trialdata.io.sdtm import sdtm_labs

    lb = pd.DataFrame(
        {
            "STUDYID": ["X", "X", "X"],
            "USUBJID": ["01-701-1015"] * 3,
            "LBTESTCD": ["NEUT", "NEUT", "ALT"],
            "LBDTC": ["2014-01-02T08:00", "2014-01-20", "2014-01"],
            "LBSTRESN": [3.1, 1.2, 30.0],
            "LBSTRESU": ["10^9/L", "10^9/L", "U/L"],
            "LBSTNRLO": [1.8, 1.8, 7.0],
            "LBSTNRHI": [7.5, 7.5, 40.0],
            "LBNRIND": ["NORMAL", "LOW", "NORMAL"],
            "LBBLFL": ["Y", "", ""],
            "VISIT": ["BASELINE", "WEEK 2", "WEEK 2"],
        }
    )
    path = tmp_path / "lb.xpt"
    pyreadstat.write_xport(lb, str(path), table_name="LB")
    labs = sdtm_labs(read_xpt(path))
    assert labs["test_code"].tolist() == ["NEUT", "NEUT", "ALT"]
    assert labs["value"].tolist() == [3.1, 1.2, 30.0]
    assert labs["lower_limit"].tolist() == [1.8, 1.8, 7.0]
    assert labs["baseline"].tolist() == [True, False, False]
    # date-time kept to the day; a partial date is not a lab date (missing)
    assert labs["lab_date"].iloc[0] == pd.Timestamp("2014-01-02")
    assert pd.isna(labs["lab_date"].iloc[2])
    # read_sdtm picks LB up when it is in the folder
    for name in ("dm", "ex", "ae", "ds"):
        (tmp_path / f"{name}.xpt").write_bytes(
            (cdisc_pilot_dir / "sdtm" / f"{name}.xpt").read_bytes()
        )
    assert len(read_sdtm(tmp_path)["labs"]) == 3
