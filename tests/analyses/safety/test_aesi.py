"""CRS / ICANS (ASTCT, Lee et al. 2019) and acute GvHD (MAGIC, Harris et al. 2016).

Each row is a case read off the published grading tables.
"""

import pandas as pd
import pytest

from analyses.safety.aesi import (
    compute_liver_stage,
    compute_lower_gi_stage,
    compute_skin_stage,
    derive_crs_grade,
    derive_icans_grade,
    derive_magic_grade,
    derive_magic_stages,
)


def test_crs_grades_from_signs():
    signs = pd.DataFrame(
        {
            "temperature_c": [
                37.5,
                38.0,
                39.2,
                38.5,
                38.5,
                38.9,
                39.0,
                37.0,
                36.8,
                38.2,
            ],
            "hypotension": [
                "none",
                "none",
                "no_vasopressor",
                "none",
                "one_vasopressor",
                "none",
                "multiple_vasopressors",
                "one_vasopressor",
                "none",
                None,
            ],
            "hypoxia": [
                "none",
                "none",
                "none",
                "low_flow",
                "low_flow",
                "high_flow",
                "none",
                "none",
                "none",
                "positive_pressure",
            ],
            "fever_treated": [False] * 7 + [True, True, False],
        }
    )
    got = derive_crs_grade(signs)["crs_grade"].tolist()
    # 0: no fever; 1: fever only (38.0 is fever); 2: fluids; 2: low-flow O2;
    # 3: one pressor beats low flow; 3: high flow; 4: multiple pressors;
    # 3: afebrile after tocilizumab, one pressor drives the grade;
    # 1: treated, no hypotension/hypoxia; 4: fever + CPAP (missing hypotension = none)
    assert got == [0, 1, 2, 2, 3, 3, 4, 3, 1, 4]


def test_crs_without_fever_is_not_crs_and_death_is_grade_5():
    signs = pd.DataFrame(
        {
            "fever": [False, True],
            "hypotension": ["one_vasopressor", "none"],
            "hypoxia": ["none", "none"],
            "death": [False, True],
        }
    )
    assert derive_crs_grade(signs)["crs_grade"].tolist() == [0, 5]


def test_crs_rejects_unknown_codes():
    with pytest.raises(ValueError, match="hypoxia"):
        derive_crs_grade(pd.DataFrame({"fever": [True], "hypoxia": ["ventilator"]}))


def test_icans_grades_from_domains():
    signs = pd.DataFrame(
        {
            "ice_score": [10, 9, 7, 6, 3, 2, 0, 10, 10, 10, 10, None],
            "consciousness": [
                "normal",
                "awakens_spontaneously",
                "normal",
                "normal",
                "awakens_to_voice",
                "normal",
                "unarousable",
                "normal",
                "normal",
                "normal",
                "normal",
                "awakens_to_tactile",
            ],
            "seizure": ["none"] * 7
            + ["rapidly_resolving", "prolonged", "none", "none", "none"],
            "motor": ["none"] * 9 + ["deep_focal_weakness", "none", "none"],
            "cerebral_oedema": ["none"] * 10 + ["focal", "none"],
        }
    )
    got = derive_icans_grade(signs)["icans_grade"].tolist()
    # ICE 10 -> 0; 9 -> 1; 7 -> 1; 6 -> 2; 3 + awakens to voice -> 2; 2 -> 3;
    # 0 and unarousable -> 4; rapidly resolving seizure -> 3; prolonged seizure -> 4;
    # deep focal motor weakness -> 4; focal oedema -> 3; ICE missing, tactile -> 3
    assert got == [0, 1, 1, 2, 2, 3, 4, 3, 4, 4, 3, 3]


def test_magic_grade_is_not_the_maximum_stage():
    stages = pd.DataFrame(
        {
            "skin_stage": [0, 1, 2, 3, 0, 0, 0, 4, 2, 3, 0, 0],
            "liver_stage": [0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 3, 4],
            "upper_gi_stage": [0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0],
            "lower_gi_stage": [0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0],
        }
    )
    got = derive_magic_grade(stages)["gvhd_grade"].tolist()
    # none -> 0; skin 1 -> I; skin 2 -> I; skin 3 alone -> II (not III);
    # liver 1 -> II; liver 2 -> III; upper GI 1 -> II; skin 4 -> IV;
    # skin 2 + upper GI -> II; skin 3 + lower GI 2 -> III; liver 3 -> III; liver 4 -> IV
    assert got == [0, 1, 1, 2, 2, 3, 2, 4, 2, 3, 3, 4]


def test_magic_organ_stages_from_measurements():
    assert compute_skin_stage(
        pd.Series([0, 10, 25, 50, 51, 80]), pd.Series([False] * 5 + [True])
    ).tolist() == [0, 1, 2, 2, 3, 4]
    # bilirubin mg/dL: <2 -> 0, 2-3 -> 1, 3.1-6 -> 2, 6.1-15 -> 3, >15 -> 4
    assert compute_liver_stage(
        pd.Series([1.9, 2.0, 3.0, 3.1, 6.0, 6.1, 15.0, 15.1])
    ).tolist() == [0, 1, 1, 2, 2, 3, 3, 4]
    lower = compute_lower_gi_stage(
        pd.Series([400, 500, 999, 1000, 1500, 1501, 300]),
        severe=pd.Series([False] * 6 + [True]),
    )
    assert lower.tolist() == [0, 1, 1, 2, 2, 3, 4]
    # episodes can raise the stage: 200 mL but 6 episodes/day -> stage 2
    assert compute_lower_gi_stage(
        pd.Series([200]), episodes_per_day=pd.Series([6])
    ).tolist() == [2]


def test_magic_from_raw_measurements():
    raw = pd.DataFrame(
        {
            "rash_bsa_pct": [60.0, 10.0],
            "bilirubin_mg_dl": [1.0, 4.0],
            "upper_gi": [False, True],
            "stool_ml_per_day": [0.0, 600.0],
        }
    )
    out = derive_magic_grade(derive_magic_stages(raw))
    # skin 3 only -> II; skin 1 + liver 2 + upper GI 1 + lower GI 1 -> III
    assert out["gvhd_grade"].tolist() == [2, 3]
    assert out["liver_stage"].tolist() == [0, 2]
