"""Rule helpers: key lookups and findings tied to source rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trialdata.validation.context import (
    flag_rows,
    has_missing,
    is_in,
    lookup,
    map_values,
)


def test_lookup_matches_keys_first_row_wins_and_missing_stays_missing() -> None:
    table = pd.DataFrame(
        {
            "subject_id": ["S-1", "S-2", "S-2", None],
            "consent_date": pd.to_datetime(
                ["2024-01-01", "2024-01-02", "2024-02-02", "2024-03-03"]
            ),
        }
    )
    keys = pd.Series(
        ["S-2", "S-9", None, "S-1"], index=[10, 11, 12, 13], dtype="string[pyarrow]"
    )
    result = lookup(keys, table, "subject_id", "consent_date")
    assert list(result.index) == [10, 11, 12, 13]
    assert result.tolist()[0] == pd.Timestamp("2024-01-02")
    assert result.isna().tolist() == [False, True, True, False]


def test_lookup_of_non_text_keys() -> None:
    table = pd.DataFrame({"level": [1, 2], "unit": ["a", "b"]})
    result = lookup(pd.Series([2, 3, 1]), table, "level", "unit")
    assert result.tolist()[0::2] == ["b", "a"]
    assert pd.isna(result.iloc[1])


def test_flag_rows_reports_source_file_row_and_value() -> None:
    data = pd.DataFrame(
        {
            "subject_id": ["S-1", "S-2"],
            "grade": pd.array([3, 6], dtype="Int64"),
            "_source_file": "adverse_events.csv",
            "_source_row": [2, 3],
        }
    )
    findings = flag_rows(
        data,
        data["grade"] > 5,
        domain="adverse_events",
        rule="X-1",
        severity="error",
        message="grade above 5",
        column="grade",
    )
    assert findings[
        ["file", "row", "subject_id", "column", "rule", "value"]
    ].values.tolist() == [["adverse_events.csv", 3, "S-2", "grade", "X-1", "6"]]


def test_map_values_equals_series_map() -> None:
    mapping = pd.Series([10, 20, 30], index=["a", "b", "b"])
    keys = pd.Series(["b", "x", None, "a"], dtype="string[pyarrow]")
    result = map_values(keys, mapping)
    assert result.iloc[[0, 3]].tolist() == [20, 10]
    assert result.isna().tolist() == [False, True, True, False]


def test_is_in_equals_series_isin_and_missing_is_never_in() -> None:
    values = pd.Series(["S-1", "S-2", None, "S-3"], dtype="string[pyarrow]")
    assert is_in(values, ["S-1", "S-3", None]).tolist() == [True, False, False, True]
    assert is_in(values, []).tolist() == [False] * 4
    assert is_in(pd.Series([1, 2, 3]), [3, 1]).tolist() == [True, False, True]
    assert is_in(pd.Series([1.0, 2.0]), [1]).tolist() == [True, False]


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["a", None, "b"], dtype="string[pyarrow]"),
        pd.Series(["a", "b"], dtype="string[pyarrow]"),
        pd.Series([1.0, np.nan]),
        pd.Series([1.0, 2.5]),
        pd.Series([1e308, 1e308]),  # the sum overflows: not a missing value
        pd.Series([np.inf, -np.inf]),
        pd.Series([], dtype="float64"),
        pd.Series(pd.to_datetime(["2024-01-01", None])),
        pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02"])),
        pd.Series(pd.to_datetime(["2024-01-01", None]).tz_localize("UTC")),
        pd.Series([1, None], dtype="Int64"),
        pd.Series([1, 2], dtype="int64"),
        pd.Series([True, None], dtype="boolean"),
        pd.Series(["a", None], dtype=object),
    ],
    ids=lambda v: f"{v.dtype}-{list(v)}",
)
def test_has_missing_equals_hasnans(values: pd.Series) -> None:
    assert has_missing(values) == values.hasnans
