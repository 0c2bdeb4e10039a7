from __future__ import annotations

import pandas as pd
import pytest


def _ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s)


@pytest.fixture
def administrations() -> pd.DataFrame:
    # S1: the 2024-01-05 dose was not given, so the first dose is 2024-01-10.
    return pd.DataFrame(
        {
            "subject_id": ["S1", "S1", "S1", "S2"],
            "admin_seq": pd.array([1, 2, 3, 1], dtype="Int64"),
            "admin_date": pd.to_datetime(
                ["2024-01-05", "2024-01-10", "2024-01-24", "2024-02-01"]
            ),
            "given": pd.array([False, True, True, True], dtype="boolean"),
        }
    )


@pytest.fixture
def subjects() -> pd.DataFrame:
    return pd.DataFrame(
        {"subject_id": ["S1", "S2", "S3"], "cohort_id": ["C1", "C2", "C2"]}
    )


@pytest.fixture
def cohorts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cohort_id": ["C1", "C2"],
            "dose_level": pd.array([1, 2], dtype="Int64"),
            "route": ["INTRADERMAL", "INTRANODAL"],
        }
    )
