"""One rendering of values as text: the store's canonical text, for every dtype."""

from __future__ import annotations

import datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from schemas.domains import get_domain
from trialdata.io.text import kind_text, value_text
from trialdata.store.codec import canonical_text


def _text(values: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) else v for v in value_text(values)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # whole doubles below 2^53 are the integers they hold; others are floats
        (
            pd.Series([12.0, 0.5, -0.0, 1e15, 2.0**53, 1e-7, float("inf"), None]),
            [
                "12",
                "0.5",
                "-0",
                "1000000000000000",
                "9.007199254740992e+15",
                "1e-7",
                "inf",
                None,
            ],
        ),
        (pd.Series([2**63 - 1, None], dtype="Int64"), ["9223372036854775807", None]),
        (pd.Series([2**64 - 1], dtype="uint64"), ["18446744073709551615"]),
        (pd.Series([True, None], dtype="boolean"), ["true", None]),
        (
            pd.Series(
                pd.to_datetime(
                    ["2024-01-05", "2024-01-06T10:30:00.25", None], format="ISO8601"
                )
            ),
            ["2024-01-05", "2024-01-06T10:30:00.250000", None],
        ),
        (
            pd.Series(pd.to_datetime(["2025-01-15T00:00Z"])).dt.tz_convert(
                "Europe/Amsterdam"
            ),
            ["2025-01-15T01:00:00+01:00"],
        ),
        (
            pd.Series([datetime.datetime(3000, 1, 1)], dtype="datetime64[us]"),
            ["3000-01-01"],
        ),
        # a column of Python objects (a workbook column mixing kinds)
        (
            pd.Series(
                [
                    "x",
                    3.0,
                    False,
                    datetime.date(2024, 1, 5),
                    datetime.datetime(2024, 1, 5, 10, 30),
                    datetime.time(10, 30),
                    Decimal("1.50"),
                    np.array([1, 2]),
                    float("nan"),
                    None,
                ],
                dtype=object,
            ),
            [
                "x",
                "3",
                "false",
                "2024-01-05",
                "2024-01-05T10:30:00",
                "10:30:00",
                "1.50",
                "[1, 2]",
                None,
                None,
            ],
        ),
    ],
)
def test_values_are_written_in_one_convention(
    values: pd.Series, expected: list[str | None]
) -> None:
    assert _text(values) == expected


def test_the_store_writes_its_canonical_text_with_the_same_function() -> None:
    spec = get_domain("labs")
    table = pd.DataFrame(
        {
            "subject_id": pd.array(["S1", None], dtype="string[pyarrow]"),
            "visit": pd.array(["D1", "D2"], dtype="string[pyarrow]"),
            "lab_date": pd.to_datetime(
                ["2024-01-05", "2024-01-05T10:30"], format="ISO8601"
            ),
            "test_code": pd.array(["ALT", "AST"], dtype="string[pyarrow]"),
            "value": [0.1, 1e15],
            "unit": pd.array(["U/L", "U/L"], dtype="string[pyarrow]"),
            "lower_limit": [-0.0, None],
            "upper_limit": [40.0, 1e-7],
        }
    )
    text = canonical_text(table, spec)
    for name in spec.columns:
        kind = spec.column_kinds[name]
        assert text.arrow[name].equals(kind_text(table[name], kind)[0]), name
    # a float column's canonical text is Arrow's shortest double; a double read
    # from a typed file is written as the whole number it holds
    assert text["value"].tolist() == ["0.1", "1e+15"]
    assert _text(table["value"]) == ["0.1", "1000000000000000"]
    assert text["lower_limit"].tolist() == ["-0", None] == _text(table["lower_limit"])
