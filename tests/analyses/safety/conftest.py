"""Tiny hand-made trial used across the safety tests.

Subjects S1-S4 at dose level 1, S5-S8 at dose level 2; S8 was never dosed (not in the
safety population). First doses: S1-S7 on 2024-01-10, S5-S7 get a second dose on
2024-02-10 (the dose-level-2 schedule), S1-S4 only one dose.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analyses.safety.population import derive_safety_population


@pytest.fixture
def tiny_subjects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": [f"S{i}" for i in range(1, 9)],
            "cohort_id": ["C1"] * 4 + ["C2"] * 4,
            "dose_level": [1, 1, 1, 1, 2, 2, 2, 2],
        }
    )


@pytest.fixture
def tiny_admin() -> pd.DataFrame:
    rows = [(f"S{i}", 1, "2024-01-10", True, 1) for i in range(1, 5)]
    rows += [(f"S{i}", 1, "2024-01-10", True, 2) for i in range(5, 8)]
    rows += [(f"S{i}", 2, "2024-02-10", True, 2) for i in range(5, 8)]
    rows += [("S8", 1, None, False, 2)]
    df = pd.DataFrame(
        rows, columns=["subject_id", "admin_seq", "admin_date", "given", "dose_level"]
    )
    df["admin_date"] = pd.to_datetime(df["admin_date"])
    df["given"] = df["given"].astype("boolean")
    df["route"] = "INTRAVENOUS"
    return df


@pytest.fixture
def tiny_population(tiny_subjects, tiny_admin) -> pd.DataFrame:
    return derive_safety_population(tiny_subjects, tiny_admin)


@pytest.fixture
def tiny_ae() -> pd.DataFrame:
    # S1: 2 nausea + 1 headache; S2: 1 nausea (grade 3, serious); S5: 1 nausea, 1 rash
    # (grade 4); S6: 1 headache before first dose (not TEAE); S8 (undosed): 1 nausea
    rows = [
        ("S1", 1, "GI", "NAUSEA", "2024-01-11", 1, False),
        ("S1", 2, "GI", "NAUSEA", "2024-01-20", 2, False),
        ("S1", 3, "NERV", "HEADACHE", "2024-01-12", 1, False),
        ("S2", 1, "GI", "NAUSEA", "2024-01-15", 3, True),
        ("S5", 1, "GI", "NAUSEA", "2024-01-10", 1, False),
        ("S5", 2, "SKIN", "RASH", "2024-02-12", 4, True),
        ("S6", 1, "NERV", "HEADACHE", "2024-01-01", 2, False),
        ("S8", 1, "GI", "NAUSEA", "2024-01-15", 1, False),
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "subject_id",
            "ae_seq",
            "soc",
            "preferred_term",
            "onset_date",
            "grade",
            "serious",
        ],
    )
    df["onset_date"] = pd.to_datetime(df["onset_date"])
    df["resolution_date"] = pd.to_datetime(
        ["2024-01-12", "2024-01-25", None, None, "2024-01-11", None, "2024-01-05", None]
    )
    df["serious"] = df["serious"].astype("boolean")
    df["relatedness"] = [
        "POSSIBLY RELATED",
        "NOT RELATED",
        "PROBABLY RELATED",
        "DEFINITELY RELATED",
        "UNLIKELY RELATED",
        "PROBABLY RELATED",
        "NOT RELATED",
        "NOT RELATED",
    ]
    df["outcome"] = ["RECOVERED/RESOLVED"] * 5 + [
        "FATAL",
        "RECOVERED/RESOLVED",
        "UNKNOWN",
    ]
    df["action_taken"] = (
        ["DOSE NOT CHANGED"] * 5 + ["DRUG WITHDRAWN"] + ["NOT APPLICABLE"] * 2
    )
    df["dlt"] = pd.array(
        [False, False, False, True, False, True, False, False], dtype="boolean"
    )
    df["aesi"] = pd.array(
        [None, None, None, None, "INFUSION REACTION", None, None, None], dtype="string"
    )
    return df
