"""pandera failures become findings with rule ids, rows and values."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.domains import get_domain
from trialdata.validation.parsing import parse_table
from trialdata.validation.rule import to_polars
from trialdata.validation.schema_check import check_keys, check_schema


def _cohorts(**columns: list[object]) -> pd.DataFrame:
    frame = pd.DataFrame(columns, dtype=object)
    frame["_source_file"] = "cohorts.csv"
    frame["_source_row"] = list(range(2, len(frame) + 2))
    typed, findings = parse_table(frame, get_domain("cohorts"))
    assert findings.empty
    return typed


def test_clean_table_has_no_findings() -> None:
    typed = _cohorts(
        cohort_id=["C1", "C2"],
        dose_level=["1", "2"],
        route=["INTRADERMAL", "INTRANODAL"],
    )
    assert check_schema(typed, get_domain("cohorts")).empty
    assert check_keys(to_polars(typed), get_domain("cohorts")).empty


def test_each_kind_of_failure_has_its_rule() -> None:
    typed = _cohorts(
        cohort_id=["C1", "C 2", "C3", None],
        dose_level=["1", "0", "2", "3"],
        route=["INTRADERMAL", "INTRANODAL", "IV", "INTRANODAL"],
    )
    findings = check_schema(typed, get_domain("cohorts"))
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
        (3, "cohort_id", "SC-FORMAT", "C 2"),
        (3, "dose_level", "SC-RANGE", "0"),
        (4, "route", "SC-TERM", "IV"),
        (5, "cohort_id", "SC-NULL", None),
    }
    messages = dict(zip(findings["rule"], findings["message"], strict=True))
    assert messages["SC-RANGE"] == "out of range: must be >= 1"
    assert messages["SC-FORMAT"] == (
        "wrong format: expected 2-40 letters, digits, '.', '-' or '_', "
        "starting with a letter or digit"
    )
    assert messages["SC-TERM"].startswith(
        "not an allowed term; allowed: INTRAVENOUS, INTRADERMAL"
    )


def test_every_row_sharing_a_key_is_reported() -> None:
    typed = _cohorts(
        cohort_id=["C1", "C2", "C1"],
        dose_level=["1", "2", "3"],
        route=["INTRADERMAL"] * 3,
    )
    findings = check_keys(to_polars(typed), get_domain("cohorts"))
    assert findings["row"].tolist() == [2, 4]
    assert set(findings["rule"]) == {"SC-KEY"}
    assert findings["message"].tolist() == [
        "duplicated key (cohort_id); first seen at row 2",
        "duplicated key (cohort_id); first seen at row 2",
    ]


_KEY_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["S-1", "S-2", "S-3", None]),
        st.sampled_from([1, 2, None]),
        st.sampled_from(["2024-01-01", "2024-01-02", "2024-01-02T10:00", None]),
    ),
    max_size=25,
)


def _key_table(rows: list[tuple[str | None, int | None, str | None]]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["subject_id", "admin_seq", "admin_date"])
    table["subject_id"] = table["subject_id"].astype("string[pyarrow]")
    table["admin_seq"] = table["admin_seq"].astype("Int64")
    table["admin_date"] = pd.to_datetime(table["admin_date"], format="ISO8601")
    table["_source_file"] = "administrations.csv"
    table["_source_row"] = range(2, len(table) + 2)
    return table


def _pandas_duplicated(table: pd.DataFrame, key: list[str]) -> list[bool]:
    complete = table.loc[table[key].notna().all(axis=1), key]
    expected = pd.Series(False, index=table.index)
    expected[complete.index] = complete.duplicated(keep=False)
    return expected.tolist()


@settings(max_examples=80, deadline=None)
@given(rows=_KEY_ROWS)
def test_rows_sharing_a_key_are_exactly_those_pandas_finds_duplicated(
    rows: list[tuple[str | None, int | None, str | None]],
) -> None:
    # rows with a missing key value are never compared
    table = _key_table(rows)
    duplicated = _pandas_duplicated(table, ["subject_id", "admin_seq"])
    findings = check_keys(to_polars(table), get_domain("administrations"))
    assert sorted(findings["row"]) == sorted(table.loc[duplicated, "_source_row"])
    first = table.loc[duplicated].groupby(["subject_id", "admin_seq"])["_source_row"]
    expected = {
        row: f"duplicated key (subject_id, admin_seq); first seen at row {low}"
        for row, low in zip(
            table.loc[duplicated, "_source_row"], first.transform("min"), strict=True
        )
    }
    assert dict(zip(findings["row"], findings["message"], strict=True)) == expected


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        (["2024-01-01T10:00", "2024-01-01T10:00", "2024-01-01T11:00", None], "M8[ns]"),
        (["1700-01-01", "2200-01-01", "1700-01-01", None], "M8[ns]"),
        ([5, 2**40, 5, None], "Int64"),
        ([-3, 7, -3, 7], "int64"),
        ([0.5, 0.25, 0.5, None], "float64"),
        ([True, False, True, None], "boolean"),
    ],
    ids=["date-times", "wide-dates", "wide-integers", "integers", "floats", "flags"],
)
def test_key_columns_of_every_type_are_compared_exactly(
    values: list[object], dtype: str
) -> None:
    column = (
        pd.Series(values).astype(dtype)
        if dtype != "M8[ns]"
        else pd.to_datetime(pd.Series(values))
    )
    table = pd.DataFrame(
        {
            "subject_id": pd.Series(["S-1"] * 4, dtype="string[pyarrow]"),
            "admin_seq": column,
            "_source_file": "administrations.csv",
            "_source_row": [2, 3, 4, 5],
        }
    )
    duplicated = _pandas_duplicated(table, ["subject_id", "admin_seq"])
    findings = check_keys(to_polars(table), get_domain("administrations"))
    assert sorted(findings["row"]) == sorted(table.loc[duplicated, "_source_row"])


def test_a_key_column_of_mixed_objects_is_compared_as_text() -> None:
    table = pd.DataFrame(
        {
            "subject_id": pd.Series(["S-2", 1, "S-2"], dtype=object),
            "admin_seq": pd.array([1, 2, 1], dtype="Int64"),
            "_source_file": "administrations.csv",
            "_source_row": [2, 3, 4],
        }
    )
    findings = check_keys(to_polars(table), get_domain("administrations"))
    assert findings["row"].tolist() == [2, 4]
    assert findings["value"].tolist() == ["S-2 | 1", "S-2 | 1"]
