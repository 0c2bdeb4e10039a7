"""pandera failures become findings with rule ids, rows and values."""

from __future__ import annotations

import subprocess
import sys
from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandera import pandas as pa
from pandera.errors import SchemaErrors

from schemas.domains import get_domain
from trialdata.validation import schema_check
from trialdata.validation.context import Derived
from trialdata.validation.parsing import parse_table
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
    assert check_keys(typed, get_domain("cohorts")).empty


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
    findings = check_keys(typed, get_domain("cohorts"))
    assert findings["row"].tolist() == [2, 4]
    assert set(findings["rule"]) == {"SC-KEY"}
    assert findings["message"].tolist() == [
        "duplicated key (cohort_id); first seen at row 2",
        "duplicated key (cohort_id); first seen at row 2",
    ]


@pytest.mark.parametrize("dense_slots", [0, 16], ids=["recoded", "dense"])
@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["S-1", "S-2", "S-3", None]),
            st.sampled_from([1, 2, None]),
            st.sampled_from(["2024-01-01", "2024-01-02", None]),
        ),
        max_size=25,
    )
)
def test_key_check_reports_exactly_the_complete_rows_pandas_finds_duplicated(
    dense_slots: int, rows: list[tuple[str | None, int | None, str | None]]
) -> None:
    # the mixed-radix codes (counted densely, or re-coded first) against pandas
    table = pd.DataFrame(rows, columns=["subject_id", "admin_seq", "admin_date"])
    table["subject_id"] = table["subject_id"].astype("string[pyarrow]")
    table["admin_seq"] = table["admin_seq"].astype("Int64")
    table["admin_date"] = pd.to_datetime(table["admin_date"])
    key = ["subject_id", "admin_seq", "admin_date"]
    complete = table.loc[table[key].notna().all(axis=1), key]
    expected = pd.Series(False, index=table.index)
    expected[complete.index] = complete.duplicated(keep=False)
    with patch.object(schema_check, "_DENSE_SLOTS_PER_ROW", dense_slots):
        shared = schema_check._shared(*schema_check._key_codes(table, key))
    assert shared.tolist() == expected.tolist()


@pytest.mark.parametrize("factorised", [False, True], ids=["values", "distinct"])
@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["C1", "C-2", "C 3", "", None]),
            st.sampled_from(["1", "0", "-4", "12", None]),
            st.sampled_from(["INTRADERMAL", "INTRANODAL", "IV", "intradermal", None]),
            st.sampled_from(["3", "0", "", None]),
        ),
        max_size=8,
    )
)
def test_a_table_is_accepted_without_pandera_only_when_pandera_finds_nothing(
    factorised: bool, rows: list[tuple[str | None, ...]]
) -> None:
    # the fast acceptance runs the checks' own functions (on the distinct values of
    # columns already factorised); pandera decides otherwise
    columns = ["cohort_id", "dose_level", "route", "planned_subjects"]
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    frame["_source_file"] = "cohorts.csv"
    frame["_source_row"] = list(range(2, len(frame) + 2))
    spec = get_domain("cohorts")
    typed, _ = parse_table(frame, spec)
    kept = Derived()
    if factorised:
        for column in ("cohort_id", "route"):
            kept.codes(typed, column)
    accepted = schema_check._certainly_passes(typed, spec.value_schema, kept)
    try:
        spec.value_schema.validate(typed, lazy=True)
        clean = True
    except SchemaErrors:
        clean = False
    assert accepted == clean
    with patch.object(schema_check, "_certainly_passes", return_value=False):
        by_pandera = check_schema(typed, spec)
    pd.testing.assert_frame_equal(check_schema(typed, spec), by_pandera)


_KEY_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["S-1", "S-2", "S-10", "S-3", None]),
        st.sampled_from([1, 2, 3, None]),
        st.sampled_from(["2024-01-01", "2024-01-02", "2023-12-31", None]),
    ),
    max_size=25,
)


def _key_table(rows: list[tuple[str | None, int | None, str | None]]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["subject_id", "admin_seq", "admin_date"])
    table["subject_id"] = table["subject_id"].astype("string[pyarrow]")
    table["admin_seq"] = table["admin_seq"].astype("Int64")
    table["admin_date"] = pd.to_datetime(table["admin_date"])
    return table


def _pandas_duplicated(table: pd.DataFrame, key: list[str]) -> list[bool]:
    complete = table.loc[table[key].notna().all(axis=1), key]
    expected = pd.Series(False, index=table.index)
    expected[complete.index] = complete.duplicated(keep=False)
    return expected.tolist()


@pytest.mark.parametrize("prepared", [False, True], ids=["own-codes", "kept-codes"])
@settings(max_examples=80, deadline=None)
@given(
    rows=_KEY_ROWS,
    order=st.permutations(["subject_id", "admin_seq", "admin_date"]),
    sort=st.booleans(),
)
def test_rows_sharing_a_key_are_exactly_those_pandas_finds_duplicated(
    prepared: bool,
    rows: list[tuple[str | None, int | None, str | None]],
    order: list[str],
    sort: bool,
) -> None:
    # sorted by the key in any column order (codes that increase: nothing counted)
    # or not, with missing values, with text codes kept beforehand or not
    table = _key_table(rows)
    if sort:
        table = table.sort_values(order, kind="stable").reset_index(drop=True)
    key = ["subject_id", "admin_seq", "admin_date"]
    kept = Derived()
    if prepared:
        kept.codes(table, "subject_id")
    shared = schema_check._shared_keys(table, key, kept)
    assert shared.tolist() == _pandas_duplicated(table, key)
    assert kept.known_codes(table, "subject_id") is not None  # kept for the rules
    table["_source_file"] = "administrations.csv"
    table["_source_row"] = range(2, len(table) + 2)
    own = ["subject_id", "admin_seq"]
    duplicated = np.asarray(_pandas_duplicated(table, own))
    findings = check_keys(table, get_domain("administrations"))
    assert sorted(findings["row"]) == sorted(table.loc[duplicated, "_source_row"])


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
def test_key_columns_of_every_type_are_coded_exactly(
    values: list[object], dtype: str
) -> None:
    # coded by value where whole and narrow, else factorised: equal exactly when equal
    column = (
        pd.Series(values).astype(dtype)
        if dtype != "M8[ns]"
        else pd.to_datetime(pd.Series(values))
    )
    table = pd.DataFrame({"subject_id": ["S-1"] * 4, "value": column})
    table["subject_id"] = table["subject_id"].astype("string[pyarrow]")
    key = ["subject_id", "value"]
    shared = schema_check._shared_keys(table, key)
    assert shared.tolist() == _pandas_duplicated(table, key)


def test_a_key_column_of_mixed_objects_is_compared_as_codes() -> None:
    table = pd.DataFrame(
        {
            "subject_id": pd.Series(["S-2", 1, "S-2"], dtype=object),
            "admin_seq": pd.array([1, 2, 1], dtype="Int64"),
            "_source_file": "administrations.csv",
            "_source_row": [2, 3, 4],
        }
    )
    findings = check_keys(table, get_domain("administrations"))
    assert findings["row"].tolist() == [2, 4]


def test_a_clean_table_is_accepted_fast_in_a_fresh_process() -> None:
    # before pandera has validated anything, its built-in checks' dispatchers in a
    # schema may not know a Series yet; the fast path looks them up as pandera does
    script = """
import pandas as pd
from schemas.domains import get_domain
from trialdata.validation import schema_check
from trialdata.validation.parsing import parse_table
frame = pd.DataFrame(
    {"cohort_id": ["C1"], "dose_level": ["1"], "route": ["INTRAVENOUS"],
     "planned_subjects": ["3"], "_source_file": ["cohorts.csv"], "_source_row": [2]}
)
spec = get_domain("cohorts")
typed, _ = parse_table(frame, spec)
print(schema_check._certainly_passes(typed, spec.value_schema))
"""
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert ran.stdout.strip() == "True"


_RANGE_CHECKS = [
    pa.Check.ge(0),
    pa.Check.gt(0),
    pa.Check.le(5),
    pa.Check.lt(5),
    pa.Check.in_range(0, 5),
    pa.Check.in_range(0, 5, include_min=False, include_max=False),
]


@settings(max_examples=120, deadline=None)
@given(
    numbers=st.lists(
        st.one_of(
            st.none(),
            st.sampled_from([-1.5, 0, 0.5, 5, 7, np.inf, -np.inf, np.nan]),
        ),
        max_size=10,
    ),
    dtype=st.sampled_from(["float64", "Float64", "Int64", "int64"]),
    check=st.sampled_from(_RANGE_CHECKS),
)
def test_a_range_check_is_decided_on_the_lowest_and_highest_as_row_by_row(
    numbers: list[float | None], dtype: str, check: pa.Check
) -> None:
    # missing values (None, NaN) are left out, as pandera leaves them out
    if dtype in ("Int64", "int64"):
        numbers = [n for n in numbers if n is None or (np.isfinite(n) and n == int(n))]
        if dtype == "int64":
            numbers = [n for n in numbers if n is not None]
    values = pd.Series(numbers, dtype=object).astype(dtype)
    present = values.dropna()
    by_row = schema_check._check_function(check)(present, **check._check_kwargs)
    held = schema_check._range_holds(values, check)
    assert held is not None  # numeric columns are decided without a row mask
    assert held == bool(by_row.all())


@settings(max_examples=80, deadline=None)
@given(
    terms=st.lists(st.sampled_from(["RELEASED", "QUARANTINE", "", "released", None])),
    dtype=st.sampled_from(["string[pyarrow]", "object"]),
)
def test_a_term_check_on_arrow_text_is_decided_as_row_by_row(
    terms: list[str | None], dtype: str
) -> None:
    check = pa.Check.isin(["RELEASED", "QUARANTINE", "REJECTED"])
    values = pd.Series(terms, dtype=dtype)
    held = schema_check._terms_hold(values, check)
    if dtype == "object":  # only Arrow text is decided in Arrow
        assert held is None
        return
    present = values.dropna()
    by_row = schema_check._check_function(check)(present, **check._check_kwargs)
    assert held == bool(by_row.all())
