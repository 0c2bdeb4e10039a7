"""Type parsing reports every value it cannot read, once, with file/row/column."""

from __future__ import annotations

import pandas as pd
import pytest

from schemas.domains import get_domain
from trialdata.io.text import value_text
from trialdata.validation.parsing import parse_table


def _raw(**columns: list[object]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame(columns, dtype=object)
    frame["_source_file"] = "adverse_events.csv"
    frame["_source_row"] = list(range(2, n + 2))
    return frame


def test_values_are_parsed_to_schema_types() -> None:
    raw = _raw(
        subject_id=["S-01", "S-02"],
        ae_seq=["1", "2.0"],
        onset_date=["2024-01-05", "2024-01-06T10:30"],
        serious=["Y", "false"],
    )
    typed, findings = parse_table(raw, get_domain("adverse_events"))
    assert findings.empty
    assert typed["ae_seq"].tolist() == [1, 2]
    assert str(typed["ae_seq"].dtype) == "Int64"
    assert typed["onset_date"].tolist() == [
        pd.Timestamp("2024-01-05"),
        pd.Timestamp("2024-01-06 10:30"),
    ]
    assert typed["serious"].tolist() == [True, False]


def test_unparseable_values_are_findings_and_rows_are_kept() -> None:
    raw = _raw(
        subject_id=["S-01", "S-02", "S-03", "S-04"],
        ae_seq=["1", "2.5", "x", None],
        onset_date=["2024-01-05", "31/02/2024", "2024-13-01", None],
        serious=["Y", "maybe", "N", None],
    )
    typed, findings = parse_table(raw, get_domain("adverse_events"))
    assert len(typed) == 4
    got = set(
        zip(
            findings["row"],
            findings["column"],
            findings["rule"],
            findings["value"],
            strict=True,
        )
    )
    assert got == {
        (3, "ae_seq", "RD-008", "2.5"),
        (4, "ae_seq", "RD-008", "x"),
        (3, "onset_date", "RD-008", "31/02/2024"),
        (4, "onset_date", "RD-008", "2024-13-01"),
        (3, "serious", "RD-008", "maybe"),
    }
    assert (findings["file"] == "adverse_events.csv").all()
    message = findings.set_index(["row", "column"]).loc[(3, "onset_date"), "message"]
    assert message == "cannot read '31/02/2024' as an ISO 8601 date (YYYY-MM-DD)"
    assert typed["ae_seq"].isna().tolist() == [False, True, True, True]


def test_partial_onset_dates_are_imputed_and_flagged() -> None:
    raw = _raw(subject_id=["S-01", "S-02"], onset_date=["2024-03", "2023"])
    typed, findings = parse_table(raw, get_domain("adverse_events"))
    assert typed["onset_date"].tolist() == [
        pd.Timestamp("2024-03-01"),
        pd.Timestamp("2023-01-01"),
    ]
    assert typed["onset_date_imputed"].tolist() == ["D", "M"]
    assert findings["rule"].tolist() == ["RD-011", "RD-011"]
    assert (findings["severity"] == "warning").all()


def test_partial_dates_elsewhere_are_errors() -> None:
    raw = _raw(subject_id=["S-01"], resolution_date=["2024-03"])
    typed, findings = parse_table(raw, get_domain("adverse_events"))
    assert findings[["column", "rule"]].values.tolist() == [
        ["resolution_date", "RD-008"]
    ]
    assert typed["resolution_date"].isna().all()


# -- typed values: read directly, as their text would be read -------------------------

_NS = pd.Timestamp("2025-02-17T10:30:00.000000001")
_TYPED: dict[str, list[pd.Series]] = {
    # a whole-number column: doubles (fractions, -0.0, beyond 2^53 and 64 bits),
    # integers of every width and sign, and values of other types
    "ae_seq": [
        pd.Series([1.0, 2.5, -0.0, 2.0**53, 1e19, float("inf"), None, 9.2e18]),
        pd.Series([1, None, 2**62], dtype="Int64"),
        pd.Series([2**64 - 1, 3], dtype="uint64"),
        pd.Series([-5, 7], dtype="int8"),
        pd.Series([True, False]),
        pd.Series(pd.to_datetime(["2024-01-05", None])),
    ],
    # a date column that imputes partial dates (a year sent as a number)
    "onset_date": [
        pd.Series(
            pd.to_datetime(
                ["2024-01-05", "2024-01-06T10:30:00.25", None], format="ISO8601"
            )
        ),
        pd.Series([_NS, pd.Timestamp("2025-02-17")]),
        pd.Series([pd.Timestamp(3000, 1, 1), None], dtype="datetime64[us]"),
        pd.Series(
            pd.to_datetime(["2025-01-15T09:30Z", "2025-07-15T00:00Z", None])
        ).dt.tz_convert("Europe/Amsterdam"),
        pd.Series([_NS]).dt.tz_localize("Europe/Amsterdam"),
        pd.Series([2024.0, 1e10, None]),
        pd.Series([2024, 202401], dtype="Int64"),
        pd.Series([True, None], dtype="boolean"),
    ],
    "serious": [
        pd.Series([True, None, False], dtype="boolean"),
        pd.Series([True, False]),
        pd.Series([1.0, 0.0, 2.0, -0.0, 0.5]),
        pd.Series([1, 0, 5]),
        pd.Series(pd.to_datetime(["2024-01-05"])),
    ],
    "subject_id": [
        pd.Series([12.0, 0.5, -0.0, 1e15, 2.0**53, 1e-7, None]),
        pd.Series([12, None], dtype="Int64"),
        pd.Series([True, False]),
        pd.Series(pd.to_datetime(["2024-01-05", "2024-01-06T10:30"], format="ISO8601")),
    ],
}
_NUMBERS: list[pd.Series] = [
    pd.Series([0.1, -0.0, 1e300, float("inf"), -float("inf"), None, 1e-7]),
    pd.Series([2**53 + 1, 2**53, 3, -(2**63)]),
    pd.Series([2**64 - 1, 7], dtype="uint64"),
    pd.Series([True, False]),
    pd.Series(pd.to_datetime(["2024-01-05"])),
]


def _one_column(domain: str, column: str, values: pd.Series) -> pd.DataFrame:
    frame = pd.DataFrame({column: values.reset_index(drop=True)})
    frame["_source_file"] = f"{domain}.parquet"
    frame["_source_row"] = range(2, len(frame) + 2)
    return frame


def _cases() -> list[tuple[str, str, pd.Series]]:
    cases = [("adverse_events", c, v) for c, values in _TYPED.items() for v in values]
    return cases + [("labs", "value", values) for values in _NUMBERS]


@pytest.mark.parametrize(
    ("domain", "column", "values"),
    _cases(),
    ids=[f"{c}-{v.dtype}-{i}" for i, (_, c, v) in enumerate(_cases())],
)
def test_a_typed_value_is_read_as_its_text_would_be(
    domain: str, column: str, values: pd.Series
) -> None:
    """The typed path and the text path agree: values, offsets, flags, findings."""
    spec = get_domain(domain)
    typed, found = parse_table(_one_column(domain, column, values), spec)
    text = value_text(values)
    assert str(text.dtype) == "string"
    from_text, found_from_text = parse_table(_one_column(domain, column, text), spec)
    pd.testing.assert_frame_equal(typed, from_text)
    pd.testing.assert_frame_equal(found, found_from_text)


def test_typed_values_that_cannot_be_read_are_shown_in_the_one_convention() -> None:
    raw = _one_column(
        "adverse_events",
        "ae_seq",
        pd.Series([2.5, 1e19, float("inf"), True, 4.0], dtype=object),
    )
    raw["ae_seq"] = pd.Series([2.5, 1e19, float("inf"), 0.0, 4.0])
    raw["serious"] = pd.Series([1.0, 0.0, 2.0, -0.0, None])
    _, found = parse_table(raw, get_domain("adverse_events"))
    assert found[["row", "column", "value"]].values.tolist() == [
        [2, "ae_seq", "2.5"],
        [3, "ae_seq", "1e+19"],
        [4, "ae_seq", "inf"],
        [4, "serious", "2"],
        [5, "serious", "-0"],
    ]
    assert (
        found["message"]
        .iloc[1]
        .endswith(
            "out of range (a whole number from -9223372036854775808 to "
            "9223372036854775807)"
        )
    )
