"""CTCAE v5.0 lab grades: each case is read off the CTCAE v5.0 grade ranges."""

import pandas as pd
import pytest

from analyses.safety.lab_grading import (
    compute_range_indicator,
    derive_ctcae_grade,
    derive_lab_baseline,
)


def _labs(code, values, unit, lln, uln, **extra):
    n = len(values)
    df = pd.DataFrame(
        {
            "test_code": [code] * n,
            "value": values,
            "unit": [unit] * n,
            "lower_limit": [lln] * n,
            "upper_limit": [uln] * n,
        }
    )
    for k, v in extra.items():
        df[k] = v
    return df


def test_neutrophils_absolute_cutoffs():
    # LLN 1.8: >= LLN -> 0; <LLN-1.5 -> 1; <1.5-1.0 -> 2; <1.0-0.5 -> 3; <0.5 -> 4
    labs = _labs(
        "NEUT", [2.0, 1.8, 1.7, 1.5, 1.49, 1.0, 0.99, 0.5, 0.49], "10^9/L", 1.8, 7.5
    )
    got = derive_ctcae_grade(labs)
    assert got["grade_low"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4]
    assert got["term_low"].iloc[0] == "Neutrophil count decreased"
    assert got["grade_high"].isna().all()  # no high criterion for neutrophils


def test_grade1_needs_the_normal_range():
    labs = _labs("PLAT", [100.0, 60.0], "10^9/L", None, None)
    # 100 with no LLN: grade 1 cannot be decided -> missing; 60 < 75 -> grade 2 anyway
    got = derive_ctcae_grade(labs)["grade_low"]
    assert pd.isna(got.iloc[0]) and got.iloc[1] == 2


def test_anaemia_has_no_value_based_grade_4():
    labs = _labs("HGB", [125.0, 110.0, 99.0, 79.0, 40.0], "g/L", 120.0, 160.0)
    assert derive_ctcae_grade(labs)["grade_low"].tolist() == [0, 1, 2, 3, 3]


def test_alt_relative_to_uln_when_baseline_normal():
    # ULN 40: >40-120 -> 1, >120-200 -> 2, >200-800 -> 3, >800 -> 4
    labs = _labs(
        "ALT",
        [40.0, 41.0, 120.0, 121.0, 201.0, 801.0],
        "U/L",
        7.0,
        40.0,
        baseline_value=30.0,
        baseline_upper_limit=40.0,
    )
    assert derive_ctcae_grade(labs)["grade_high"].tolist() == [0, 1, 1, 2, 3, 4]


def test_alt_relative_to_baseline_when_baseline_abnormal():
    # baseline 60 > ULN 40: grade 1 from 1.5 x 60 = 90 (inclusive), 2 > 180, 3 > 300,
    # 4 > 1200. 80 is above the ULN but below 1.5 x baseline -> 0.
    labs = _labs(
        "ALT",
        [80.0, 90.0, 181.0, 301.0, 1201.0],
        "U/L",
        7.0,
        40.0,
        baseline_value=60.0,
        baseline_upper_limit=40.0,
    )
    assert derive_ctcae_grade(labs)["grade_high"].tolist() == [0, 1, 2, 3, 4]
    # the baseline record itself is graded on the ULN: 60 > 40 -> grade 1
    base = labs.iloc[[0]].assign(value=60.0, is_baseline=True)
    assert derive_ctcae_grade(base)["grade_high"].tolist() == [1]


def test_bilirubin_baseline_abnormal_grade1_is_strict():
    # baseline 30 umol/L > ULN 21: grade 1 > 1.0 x 30; 2 > 45; 3 > 90; 4 > 300
    labs = _labs(
        "BILI",
        [30.0, 31.0, 46.0, 91.0, 301.0],
        "umol/L",
        3.0,
        21.0,
        baseline_value=30.0,
        baseline_upper_limit=21.0,
    )
    assert derive_ctcae_grade(labs)["grade_high"].tolist() == [0, 1, 2, 3, 4]


def test_creatinine_worse_of_uln_and_baseline():
    # ULN 100, baseline 50. 80: within range but 1.6 x baseline -> grade 2 (baseline);
    # 160: 1.6 x ULN -> 2 by ULN, 3.2 x baseline -> 3; 110: 1.1 x ULN -> 1, 2.2 x
    # baseline -> 2; 610: > 6 x ULN -> 4
    labs = _labs(
        "CREAT",
        [70.0, 80.0, 110.0, 160.0, 610.0],
        "umol/L",
        45.0,
        100.0,
        baseline_value=50.0,
        baseline_upper_limit=100.0,
    )
    assert derive_ctcae_grade(labs)["grade_high"].tolist() == [0, 2, 2, 3, 4]


def test_potassium_two_directions_and_symptom_only_grade():
    # K: low grade 2 is "symptomatic" (not derivable) -> <LLN-3.0 is 1, <3.0-2.5 is 3
    labs = _labs("K", [3.2, 2.9, 2.4, 5.6, 6.1, 7.1], "mmol/L", 3.5, 5.1)
    got = derive_ctcae_grade(labs)
    assert got["grade_low"].tolist() == [1, 3, 4, 0, 0, 0]
    assert got["grade_high"].tolist() == [0, 0, 0, 2, 3, 4]


def test_unit_check():
    labs = pd.concat(
        [
            _labs("PLAT", [60.0], "x10^9/L", 150.0, 400.0),
            _labs("PLAT", [60.0], "10*9/l", 150.0, 400.0),
            _labs("PLAT", [60000.0], "/uL", 150000.0, 400000.0),
        ],
        ignore_index=True,
    )
    got = derive_ctcae_grade(labs)
    assert got["unit_ok"].tolist() == [True, True, False]
    assert got["grade_low"].iloc[:2].tolist() == [2, 2]
    assert pd.isna(got["grade_low"].iloc[2])
    unchecked = derive_ctcae_grade(labs, check_units=False)
    # graded blindly, 60000/uL is below its LLN (grade 1) but never below the absolute
    # 75 x 10^9/L cut-off: grade 1 instead of the correct grade 2
    assert unchecked["grade_low"].iloc[2] == 1


def test_baseline_derivation(tiny_population):
    labs = pd.DataFrame(
        {
            "subject_id": ["S1"] * 4 + ["S8"],
            "test_code": ["ALT"] * 5,
            "lab_date": pd.to_datetime(
                ["2024-01-02", "2024-01-10", "2024-01-17", "2024-03-01", "2024-01-02"]
            ),
            "value": [30.0, 35.0, 90.0, 50.0, 20.0],
            "unit": ["U/L"] * 5,
            "lower_limit": [7.0] * 5,
            "upper_limit": [40.0] * 5,
        }
    )
    out = derive_lab_baseline(labs, tiny_population)
    # S1 first dose 2024-01-10: the dosing-day sample is the baseline (last on/before)
    assert out["is_baseline"].tolist() == [False, True, False, False, False]
    assert out["post_baseline"].tolist() == [False, False, True, True, False]
    assert out.loc[0, "baseline_value"] == 35.0
    strict = derive_lab_baseline(labs, tiny_population, same_day="post")
    assert strict["is_baseline"].tolist() == [True, False, False, False, False]
    windowed = derive_lab_baseline(labs, tiny_population, window_days=30)
    # last dose 2024-01-10 + 30 days = 2024-02-09: the March sample is outside
    assert windowed["post_baseline"].tolist() == [False, False, True, False, False]


def test_range_indicator():
    got = compute_range_indicator(
        pd.Series([1.0, 5.0, 9.0, None, 5.0]),
        pd.Series([2.0, 2.0, 2.0, 2.0, None]),
        pd.Series([8.0, 8.0, 8.0, 8.0, None]),
    )
    assert got.tolist()[:3] == ["LOW", "NORMAL", "HIGH"]
    assert pd.isna(got.iloc[3]) and pd.isna(got.iloc[4])


@pytest.mark.parametrize(
    ("code", "unit", "values", "lln", "uln", "direction", "expected"),
    [
        (
            "SODIUM",
            "mmol/L",
            [134.0, 129.0, 124.0, 119.0],
            135.0,
            145.0,
            "low",
            [1, 2, 3, 4],
        ),
        (
            "SODIUM",
            "mEq/L",
            [146.0, 151.0, 156.0, 161.0],
            135.0,
            145.0,
            "high",
            [1, 2, 3, 4],
        ),
        (
            "ALP",
            "U/L",
            [100.0, 251.0, 501.0, 2001.0],
            40.0,
            100.0,
            "high",
            [0, 2, 3, 4],
        ),
        ("FIBRINO", "g/L", [1.9, 1.4, 0.9, 0.4], 2.0, 4.0, "low", [1, 2, 3, 4]),
        ("INR", "ratio", [1.2, 1.3, 1.6, 2.6], 0.8, 1.2, "high", [0, 1, 2, 3]),
        ("LYM", "10^9/L", [3.9, 4.1, 20.1], 1.0, 4.0, "high", [0, 2, 3]),
    ],
)
def test_other_criteria(code, unit, values, lln, uln, direction, expected):
    got = derive_ctcae_grade(_labs(code, values, unit, lln, uln))[f"grade_{direction}"]
    assert got.tolist() == expected
