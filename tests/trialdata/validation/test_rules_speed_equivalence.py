"""The rules' fast paths give what the plain pandas formulations give.

Rules look values up once per distinct value (``Codes``), compare dates as day
numbers, check runs of alike rows once (``Runs``) and keep work per context; these tests hold each shortcut to the slower
formulation it replaces, on awkward inputs: missing and repeated keys, unknown
keys, non-string identifiers, empty columns, dates before 1970 and NaT.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal, assert_series_equal

from trialdata.demo import write_trial
from trialdata.validation import validate_folder
from trialdata.validation.context import (
    Codes,
    Derived,
    RuleContext,
    Runs,
    is_in,
    map_values,
)
from trialdata.validation.rules import _frames as frames
from trialdata.validation.rules import run_rules
from trialdata.validation.rules._frames import (
    day,
    day_numbers,
    equal_to,
    is_false,
    is_true,
    keyed_days,
    keyed_values,
    not_equal,
    one_of,
    stripped,
)
from trialdata.validation.rules.catalogue import EXAMPLES
from trialdata.validation.rules.prepare import prepare
from trialdata.validation.rules.testing import clean_context, clean_records

ARROW = "string[pyarrow]"
keys = st.lists(
    st.sampled_from(["S-1", "S-2", "S-3", "S-9", " S-1", None]), max_size=30
)


def _column(values: list, dtype: str) -> pd.Series:
    return pd.Series(values, dtype=dtype, index=np.arange(len(values)) * 3 + 7)


@settings(max_examples=60, deadline=None)
@given(keys, st.sampled_from([ARROW, "object", "string"]))
def test_codes_lookup_and_is_in_equal_the_row_by_row_helpers(
    values: list, dtype: str
) -> None:
    column = _column(values, dtype)
    codes = Codes.of(column)
    dates = pd.Series(
        pd.to_datetime(
            ["2024-01-05", "2024-02-01", "2023-12-31 18:00", None], format="ISO8601"
        ),
        index=["S-1", "S-2", "S-1", None],
    )
    expected = day_numbers(map_values(column, dates))
    np.testing.assert_array_equal(codes.lookup(dates, day_numbers, np.nan), expected)
    for allowed in (["S-1", "S-3"], pd.Series(["S-2", None]), []):
        found = is_in(column, allowed).to_numpy()
        np.testing.assert_array_equal(codes.is_in(allowed), found)
        missing = column.notna().to_numpy() & ~found
        np.testing.assert_array_equal(codes.is_in(allowed, negate=True), missing)


def test_codes_of_mixed_objects_look_up_row_by_row() -> None:
    column = pd.Series([1, 1.0, "1", True, None, "1.0"], dtype=object)
    codes = Codes.of(column)
    assert not codes.textual  # 1, 1.0 and True factorise as one value
    mapping = pd.Series([10.0, 20.0], index=["1", "1.0"])
    as_float = lambda v: v.to_numpy(dtype=float, na_value=np.nan)  # noqa: E731
    np.testing.assert_array_equal(
        codes.lookup(mapping, as_float, np.nan), as_float(map_values(column, mapping))
    )
    np.testing.assert_array_equal(codes.is_in(["1"]), is_in(column, ["1"]).to_numpy())


def test_factorising_by_run_equals_pandas_factorize() -> None:
    rng = np.random.default_rng(1)
    ids = np.repeat([f"S-{i:04d}" for i in rng.permutation(3000)], 40).astype(object)
    ids[rng.choice(len(ids), 500, replace=False)] = None
    column = pd.Series(ids, dtype=ARROW)
    codes = Codes.of(column)
    expected_codes, expected_distinct = pd.factorize(column, use_na_sentinel=True)
    np.testing.assert_array_equal(codes.codes, expected_codes)
    assert codes.distinct.tolist() == expected_distinct.tolist()
    shuffled = pd.Series(rng.permutation(ids), dtype=ARROW)  # no runs: plain path
    np.testing.assert_array_equal(
        Codes.of(shuffled).codes, pd.factorize(shuffled, use_na_sentinel=True)[0]
    )


@pytest.mark.parametrize("later", [False, True])
def test_day_numbers_compare_as_calendar_days(later: bool) -> None:
    when = pd.Series(
        pd.to_datetime(
            ["1969-12-31 23:59", "1970-01-01", "2024-03-01 08:00", None],
            format="ISO8601",
        )
    )
    limit = pd.Series(
        pd.to_datetime(["1969-12-31", "1969-12-31", "2024-03-01", "2024-01-01"])
    )
    by_day = day(when).gt(day(limit)) if later else day(when).lt(day(limit))
    a, b = day_numbers(when), day_numbers(limit)
    np.testing.assert_array_equal(a > b if later else a < b, by_day.to_numpy())


NAT = np.iinfo(np.int64).min


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.just(NAT), st.integers(-(2**62), 2**62)), max_size=40))
def test_day_numbers_are_the_days_datetime64_floors_to(moments: list[int]) -> None:
    # the years 1823 to 2116 (NumPy's own cast to days overflows near int64's ends)
    # days before 1970 floor (to the day before), as datetime64[D] does: a
    # truncating division would put 1969-12-31T23:00 on 1970-01-01
    values = pd.Series(np.array(moments, dtype=np.int64).view("datetime64[ns]"))
    days = values.to_numpy().astype("datetime64[D]")
    expected = np.where(np.isnat(days), np.nan, days.view(np.int64).astype(float))
    np.testing.assert_array_equal(day_numbers(values), expected)


def test_day_numbers_of_zoned_times_are_their_own_calendar_days() -> None:
    values = pd.Series(pd.to_datetime(["2024-01-01 23:30", None, "1969-12-31 05:00"]))
    zoned = values.dt.tz_localize("Europe/Amsterdam")
    np.testing.assert_array_equal(day_numbers(zoned), [19723.0, np.nan, -1.0])


texts = st.lists(st.sampled_from(["A", "B", " A", "", None]), max_size=20)


@settings(max_examples=80, deadline=None)
@given(texts, texts, st.sampled_from([ARROW, "object", "string"]))
def test_text_masks_equal_the_pandas_comparisons(
    left: list, right: list, dtype: str
) -> None:
    values = _column(left, dtype)
    expected = values.eq("A").fillna(False).astype(bool).to_numpy()
    np.testing.assert_array_equal(equal_to(values, "A"), expected)
    for allowed in (["A", ""], pd.Series(["B", None]), []):
        expected = (values.isin(allowed) & values.notna()).to_numpy()
        np.testing.assert_array_equal(one_of(values, allowed), expected)
    other = _column((right + [None] * len(left))[: len(left)], dtype)
    for a, b in ((values, other), (values, other.astype(object))):
        expected = (a.ne(b) & a.notna() & b.notna()).to_numpy(dtype=bool)
        np.testing.assert_array_equal(not_equal(a, b), expected)


@settings(max_examples=80, deadline=None)
@given(
    keys,
    st.lists(
        st.tuples(st.sampled_from(["S-1", "S-2", "S-4", None]), st.integers(0, 9))
    ),
    st.sampled_from([ARROW, "object", "string"]),
    st.sampled_from(["Int64", ARROW, "float64"]),
)
def test_keyed_values_equal_map_values(
    values: list, entries: list[tuple], dtype: str, kind: str
) -> None:
    data = pd.DataFrame({"subject_id": _column(values, dtype)})
    index = pd.Index([k for k, _ in entries], dtype=object)
    mapping = pd.Series([v for _, v in entries], index=index).astype(kind)
    ctx = RuleContext(clean_context().protocol, {"labs": data})
    expected = map_values(data["subject_id"], mapping)
    found = keyed_values(ctx, data, "subject_id", mapping)
    assert_series_equal(found, expected, check_names=False)


def test_codes_lookup_in_an_empty_mapping_finds_nothing() -> None:
    codes = Codes.of(pd.Series(["S-1", None, "S-2"], dtype=ARROW))
    for empty, missing in ((pd.Series(dtype="datetime64[ns]"), np.nan), ({}, False)):
        found = codes.lookup(empty, lambda v: v.to_numpy(), missing)
        np.testing.assert_array_equal(found, np.full(3, missing))


def test_keyed_days_equal_mapped_days_and_stay_with_their_table() -> None:
    ctx = clean_context()
    subjects = ctx.tables["subjects"]
    consent = subjects["consent_date"].set_axis(subjects["subject_id"])
    for name in ("administrations", "adverse_events", "biobank_samples"):
        data = ctx.tables[name]
        expected = day_numbers(map_values(data["subject_id"], consent))
        np.testing.assert_array_equal(
            keyed_days(ctx, data, "subject_id", consent), expected
        )
    other = ctx.tables["administrations"].iloc[::-1]  # another object, other order
    np.testing.assert_array_equal(
        keyed_days(ctx, other, "subject_id", consent),
        day_numbers(map_values(other["subject_id"], consent)),
    )


@pytest.mark.parametrize("dtype", ["boolean", "object"])
def test_true_and_false_masks_equal_the_nullable_formulation(dtype: str) -> None:
    values = pd.Series([True, False, None, True], dtype=dtype, index=[5, 6, 7, 8])
    as_boolean = values.astype("boolean")
    assert_series_equal(is_true(values), as_boolean.fillna(False).astype(bool))
    assert_series_equal(
        is_false(values), as_boolean.eq(False).fillna(False).astype(bool)
    )


@pytest.mark.parametrize("dtype", [ARROW, "object"])
def test_stripped_equals_stripping_every_row(dtype: str) -> None:
    values = [" 10^6 cells", "10^6 cells\x1c", None, "\u2003x\xa0", "", " 10^6 cells"]
    data = pd.DataFrame({"dose_unit": pd.Series(values, dtype=dtype)})
    ctx = RuleContext(clean_context().protocol, {})
    expected = data["dose_unit"].astype("string").str.strip()
    assert_series_equal(stripped(ctx, data, "dose_unit"), expected)


def test_a_reused_context_gives_the_findings_of_a_fresh_one() -> None:
    records = clean_records()
    for change in EXAMPLES.values():  # most rules fire
        change(records)
    ctx = clean_context(records)
    first = run_rules(ctx)
    assert len(set(first["rule"])) > 20
    assert_frame_equal(run_rules(ctx), first)
    assert isinstance(ctx.tables, dict)
    labs = ctx.tables["labs"].copy()
    labs["subject_id"] = "S-77"  # a table replaced: nothing kept for the old one
    ctx.tables["labs"] = labs
    assert_frame_equal(
        run_rules(ctx), run_rules(RuleContext(ctx.protocol, dict(ctx.tables)))
    )
    assert len(run_rules(ctx)) > len(first)


def test_rules_given_prepared_values_find_what_they_find_without() -> None:
    # codes, day numbers and first doses worked out as each table is parsed
    # (rules.prepare) give the findings the rules get computing them themselves
    records = clean_records()
    for change in EXAMPLES.values():  # most rules fire
        change(records)
    ctx = clean_context(records)
    kept = Derived()
    for name, table in ctx.tables.items():
        kept.update(prepare(name, table))
    labs, admin = ctx.tables["labs"], ctx.tables["administrations"]
    assert kept.known_codes(labs, "subject_id") is not None
    assert kept.known_codes(labs, "test_code") is not None  # a key column
    assert kept.known(admin, "first_dose_dates") is not None
    subjects = ctx.tables["subjects"]
    assert kept.known(subjects, ("subject_days", "consent_date")) is not None
    prepared = run_rules(RuleContext(ctx.protocol, ctx.tables, kept))
    assert len(set(prepared["rule"])) > 20
    assert_frame_equal(prepared, run_rules(RuleContext(ctx.protocol, ctx.tables)))


@settings(max_examples=80, deadline=None)
@given(
    values=keys, allowed=keys, container=st.sampled_from(["series", "index", "list"])
)
def test_is_in_equals_series_isin_with_repeated_and_missing_references(
    values: list[str | None], allowed: list[str | None], container: str
) -> None:
    # Arrow's set lookup on the references as they are: repeats and gaps included
    column = _column(values, ARROW)
    reference = {
        "series": pd.Series(allowed, dtype=ARROW),
        "index": pd.Index(allowed, dtype=object),
        "list": list(allowed),
    }[container]
    expected = column.isin([a for a in allowed if a is not None]) & column.notna()
    assert_series_equal(is_in(column, reference), expected.astype(bool))


day_or_missing = st.one_of(st.none(), st.integers(19_700, 19_703))


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from([-1, 0, 1, 2]), day_or_missing), max_size=40
    ),
    limits=st.lists(day_or_missing, min_size=3, max_size=3),
)
def test_checking_runs_of_alike_rows_equals_checking_every_row(
    rows: list[tuple[int, int | None]], limits: list[int | None]
) -> None:
    # a check that depends only on what makes rows alike (here a subject code and a
    # day, missing days included) gives the same answer once per run
    codes = np.array([c for c, _ in rows], dtype=np.int64)
    days = np.array([np.nan if d is None else d for _, d in rows], dtype=float)
    per_code = np.array([np.nan if d is None else d for d in limits] + [np.nan])
    runs = Runs.where_changed([codes, days])
    assert runs.starts.tolist() == [
        i
        for i in range(len(rows))
        if i == 0 or codes[i] != codes[i - 1] or days[i] != days[i - 1]
    ]
    expected = days < per_code[codes]
    first_codes = runs.first(codes)
    np.testing.assert_array_equal(
        runs.spread(runs.first(days) < per_code[first_codes]), expected
    )
    np.testing.assert_array_equal(runs.spread(runs.first(days)), days)
    single = Runs.each_row(len(rows))
    assert single.starts is None
    np.testing.assert_array_equal(single.spread(single.first(days)), days)


def _scatter_dates(folder: Path) -> None:
    """Move some lab and immunomonitoring rows to other days, visits or no date.

    The demo's runs of a subject's tests on one day are broken mid-run, so rows
    of one run differ in what the timing rules check.
    """
    rng = np.random.default_rng(5)
    for name, column in (("labs", "lab_date"), ("immunomonitoring", "collection_date")):
        path = folder / f"{name}.csv"
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        rows = rng.choice(len(table), size=len(table) // 15, replace=False)
        moved = pd.to_datetime(table.loc[rows, column]) + pd.to_timedelta(
            rng.choice([-400, -30, -9, 1, 5, 40, 900], size=len(rows)), unit="D"
        )
        table.loc[rows, column] = moved.dt.strftime("%Y-%m-%d")
        table.loc[rows[::7], column] = ""
        relabelled = rng.choice(len(table), size=len(table) // 40, replace=False)
        table.loc[relabelled, "visit"] = table["visit"].iloc[-1]
        table.to_csv(path, index=False)


@pytest.mark.parametrize("archetype", ["tolDC-ms", "nk-aml"])
def test_timing_rules_by_run_find_what_they_find_row_by_row(
    archetype: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_trial(tmp_path, archetype, 8, 2, inject=True)
    _scatter_dates(tmp_path)
    monkeypatch.setattr(frames, "RUNS_FROM", 1 << 62)  # a run per row
    row_by_row = validate_folder(tmp_path).findings
    monkeypatch.setattr(frames, "RUNS_FROM", 0)  # runs on every table
    report = validate_folder(tmp_path)
    labs = report.tables["labs"]
    assert frames.dated_runs(Derived(), labs, "lab_date").starts is not None
    deaths = {"XD-010"} if archetype == "nk-aml" else set()  # tolDC: no deaths
    timing = {"XD-002", "XD-003", "XD-011"} | deaths
    assert timing <= set(row_by_row["rule"])
    assert_frame_equal(report.findings, row_by_row)
