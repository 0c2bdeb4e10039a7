import pandas as pd
import pytest

from analyses.safety.lab_grading import derive_ctcae_grade, derive_lab_baseline
from analyses.safety.shifts import tabulate_grade_shift, tabulate_range_shift


def _get(frame, **keys):
    sel = frame
    for k, v in keys.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, keys
    return sel["value"].iloc[0]


@pytest.fixture
def labs(tiny_population):
    # Neutrophils (LLN 1.8): first dose 2024-01-10 for S1-S7.
    # S1 baseline 2.0 (g0), post 1.2 (g2), 0.8 (g3) -> 0 -> 3, last LOW
    # S2 baseline 1.6 (g1), post 1.7 (g1)            -> 1 -> 1
    # S3 no baseline,       post 0.4 (g4)            -> missing -> 4
    # S4 baseline 2.5 (g0), no post value            -> not in the table
    # S5 baseline 2.2 (g0), post 2.1 (g0), 8.0 HIGH  -> 0 -> 0 ; range NORMAL -> HIGH
    rows = [
        ("S1", "2024-01-08", 2.0),
        ("S1", "2024-01-20", 1.2),
        ("S1", "2024-02-01", 0.8),
        ("S2", "2024-01-09", 1.6),
        ("S2", "2024-01-20", 1.7),
        ("S3", "2024-01-20", 0.4),
        ("S4", "2024-01-05", 2.5),
        ("S5", "2024-01-05", 2.2),
        ("S5", "2024-01-20", 2.1),
        ("S5", "2024-02-20", 8.0),
    ]
    df = pd.DataFrame(rows, columns=["subject_id", "lab_date", "value"])
    df["lab_date"] = pd.to_datetime(df["lab_date"])
    df = df.assign(test_code="NEUT", unit="10^9/L", lower_limit=1.8, upper_limit=7.5)
    return derive_ctcae_grade(derive_lab_baseline(df, tiny_population))


def test_grade_shift_missing_baseline_as_grade0(labs, tiny_population):
    f = tabulate_grade_shift(labs, tiny_population, "dose_level").to_frame()
    key = dict(test_code="NEUT", group="1")
    # level 1 subjects with a post-baseline value: S1, S2, S3 (S4 has none) -> N = 3
    assert _get(f, **key, baseline="0", post="3", stat="N") == 3
    assert _get(f, **key, baseline="0", post="3", stat="n") == 1
    assert _get(f, **key, baseline="1", post="1", stat="n") == 1
    # S3's missing baseline counted as grade 0
    assert _get(f, **key, baseline="0", post="4", stat="n") == 1
    assert _get(f, **key, baseline="0", post="4", stat="pct") == pytest.approx(100 / 3)
    assert _get(f, test_code="NEUT", group="2", baseline="0", post="0", stat="n") == 1
    assert (
        _get(f, test_code="NEUT", group="Total", baseline="0", post="0", stat="N") == 4
    )


def test_grade_shift_missing_baseline_options(labs, tiny_population):
    f = tabulate_grade_shift(
        labs, tiny_population, "dose_level", missing_baseline="missing"
    ).to_frame()
    assert (
        _get(f, test_code="NEUT", group="1", baseline="Missing", post="4", stat="n")
        == 1
    )
    assert _get(f, test_code="NEUT", group="1", baseline="0", post="4", stat="n") == 0
    f = tabulate_grade_shift(
        labs, tiny_population, "dose_level", missing_baseline="exclude"
    ).to_frame()
    assert _get(f, test_code="NEUT", group="1", baseline="0", post="3", stat="N") == 2


def test_range_shift_last_and_most_extreme(labs, tiny_population):
    f = tabulate_range_shift(labs, tiny_population, "dose_level", total=None).to_frame()
    # S5: baseline NORMAL, last post 8.0 > 7.5 -> HIGH
    assert (
        _get(f, test_code="NEUT", group="2", baseline="NORMAL", post="HIGH", stat="n")
        == 1
    )
    # S2: baseline 1.6 LOW, last 1.7 LOW
    assert (
        _get(f, test_code="NEUT", group="1", baseline="LOW", post="LOW", stat="n") == 1
    )
    assert (
        _get(f, test_code="NEUT", group="1", baseline="Missing", post="LOW", stat="n")
        == 1
    )
    # S5 with most_extreme: 2.1 is normal, 8.0 high -> HIGH as well; S1 -> LOW
    f2 = tabulate_range_shift(
        labs, tiny_population, "dose_level", total=None, post_baseline="most_extreme"
    ).to_frame()
    assert (
        _get(f2, test_code="NEUT", group="1", baseline="NORMAL", post="LOW", stat="n")
        == 1
    )


def test_range_shift_most_extreme_differs_from_last(tiny_population):
    # one subject: baseline normal, post HIGH (10 vs ULN 7.5) then NORMAL (5): last
    # says NORMAL, most extreme says HIGH
    df = pd.DataFrame(
        {
            "subject_id": ["S1"] * 3,
            "lab_date": pd.to_datetime(["2024-01-05", "2024-01-20", "2024-02-20"]),
            "value": [5.0, 10.0, 5.0],
            "test_code": "WBC",
            "unit": "10^9/L",
            "lower_limit": 4.0,
            "upper_limit": 7.5,
        }
    )
    labs = derive_lab_baseline(df, tiny_population)
    last = tabulate_range_shift(labs, tiny_population, total=None).to_frame()
    extreme = tabulate_range_shift(
        labs, tiny_population, total=None, post_baseline="most_extreme"
    ).to_frame()
    assert (
        _get(
            last,
            test_code="WBC",
            group="All",
            baseline="NORMAL",
            post="NORMAL",
            stat="n",
        )
        == 1
    )
    assert (
        _get(
            extreme,
            test_code="WBC",
            group="All",
            baseline="NORMAL",
            post="HIGH",
            stat="n",
        )
        == 1
    )
