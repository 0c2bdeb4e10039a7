"""The one definition of a subject's first given dose, and that every area uses it.

Hand cases pin the definition (``analyses.dosing``); on a demo trial with an undated
dose injected, the safety population, ADSL (dose finding, the report), immunomonitoring
study days and the validation rules are checked to start from the same dose.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trialdata as td
from analyses.datasets import derive_adsl, latest_date
from analyses.dosing import first_given_doses, first_given_rows, given_mask
from analyses.immunomonitoring.groups import derive_first_dose
from analyses.safety.population import derive_safety_population
from trialdata.demo import write_trial
from trialdata.validation.rule import Upload
from trialdata.validation.rules._dates import first_dose_day


def _admin(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["subject_id", "admin_seq", "admin_date", "given", "dose_level"]
    )
    frame["admin_date"] = pd.to_datetime(frame["admin_date"])
    frame["given"] = frame["given"].astype("boolean")
    frame["route"] = "INTRAVENOUS"
    return frame


def test_given_counts_only_true() -> None:
    admin = _admin(
        [
            ("A", 1, "2024-01-01", True, 1),
            ("A", 2, "2024-01-02", False, 1),
            ("A", 3, "2024-01-03", None, 1),
        ]
    )
    assert given_mask(admin).tolist() == [True, False, False]


def test_first_is_the_earliest_given_dated_dose_ties_by_sequence() -> None:
    admin = _admin(
        [
            ("A", 2, "2024-01-05", True, 2),
            ("A", 1, "2024-01-05", True, 1),  # same date: lower number first
            ("A", 0, "2024-01-01", False, 3),  # not given: never first
            ("B", 1, None, True, 1),  # no dated given dose: B is absent
        ]
    )
    first = first_given_doses(admin)
    assert first.index.tolist() == ["A"]
    assert first.loc["A", "first_dose_date"] == pd.Timestamp("2024-01-05")
    assert first.loc["A", "admin_seq"] == 1 and first.loc["A", "dose_level"] == 1
    assert not first.loc["A", "uncertain"]
    # the same dose, located in the table (row 1: the lower number on the date)
    assert first_given_rows(admin).to_dict() == {"A": 1}


@pytest.mark.parametrize(
    ("undated_seq", "uncertain"),
    [(1, True), (2, True), (3, False), (None, True)],
    ids=["numbered-before", "same-number", "numbered-after", "unnumbered"],
)
def test_an_undated_dose_that_may_have_come_first_makes_it_uncertain(
    undated_seq: int | None, uncertain: bool
) -> None:
    admin = _admin([("A", 2, "2024-01-05", True, 1), ("A", undated_seq, None, True, 1)])
    assert first_given_doses(admin).loc["A", "uncertain"] == uncertain


def test_without_sequence_numbers_nothing_is_uncertain() -> None:
    admin = _admin([("A", 1, "2024-01-05", True, 1), ("A", 2, None, True, 1)])
    first = first_given_doses(admin.drop(columns="admin_seq"))
    assert not first.loc["A", "uncertain"]
    assert "admin_seq" not in first.columns


def test_every_area_starts_from_the_same_first_dose(tmp_path: Path) -> None:
    folder = write_trial(tmp_path / "upload", "tolDC-ms", seed=3).folder
    trial = td.Trial.load(folder)
    admin = trial.table("administrations").copy()
    # the first dated dose of one subject loses its date: that subject's first dose
    # becomes uncertain (the rules skip it) and the analyses move to the next one
    given = admin.loc[given_mask(admin)].sort_values(["subject_id", "admin_seq"])
    counts = given["subject_id"].value_counts()
    subject = counts.index[counts >= 2][0]
    admin.loc[given.index[given["subject_id"] == subject][0], "admin_date"] = pd.NaT
    expected = first_given_doses(admin)
    assert expected.loc[subject, "uncertain"]

    safety = derive_safety_population(trial.table("subjects"), admin)
    by_safety = safety.set_index("subject_id")["first_dose_date"].dropna()
    pd.testing.assert_series_equal(
        by_safety, expected["first_dose_date"], check_names=False, check_freq=False
    )
    pd.testing.assert_series_equal(
        derive_first_dose(admin), expected["first_dose_date"], check_names=False
    )
    tables = {name: trial.table(name) for name in trial.tables}
    tables["administrations"] = admin
    cutoff = latest_date(tables)
    assert cutoff is not None
    adsl = derive_adsl(tables, trial.protocol, cutoff=cutoff).set_index("subject_id")
    treated = adsl.loc[adsl["safety"], "first_dose_date"]
    pd.testing.assert_series_equal(
        treated.sort_index(),
        expected["first_dose_date"].dt.normalize().sort_index(),
        check_names=False,
    )
    assert adsl.loc[subject, "first_dose_uncertain"]
    days = first_dose_day(Upload(trial.protocol, tables)).collect().to_pandas()
    by_rules = days.set_index("subject_id")["first_dose"].astype("datetime64[ns]")
    certain = expected.loc[~expected["uncertain"], "first_dose_date"].dt.normalize()
    pd.testing.assert_series_equal(
        by_rules.sort_index(),
        certain.sort_index(),
        check_names=False,
        check_index_type=False,
    )
    assert subject not in by_rules.index


def _first_by_pandas(administrations: pd.DataFrame) -> pd.DataFrame:
    """The definition in plain pandas: a stable sort, then a subject's first row."""
    given = administrations.loc[given_mask(administrations)]
    dates = given["admin_date"]
    carried = [c for c in ("admin_seq", "dose_level", "route") if c in given]
    doses = given[["subject_id", *carried]].assign(first_dose_date=dates)
    order = ["subject_id", "first_dose_date"] + ["admin_seq"] * ("admin_seq" in given)
    first = (
        doses.loc[dates.notna()]
        .sort_values(order, kind="stable")
        .drop_duplicates("subject_id")
        .set_index("subject_id")[["first_dose_date", *carried]]
    )
    first["uncertain"] = False
    if "admin_seq" in given and dates.isna().any():
        seq = given["admin_seq"].astype(float)
        dated_seq = seq.where(dates.notna()).groupby(given["subject_id"]).min()
        undated_seq = (
            seq.fillna(-np.inf).where(dates.isna()).groupby(given["subject_id"]).min()
        )
        uncertain = undated_seq.reindex(first.index) <= dated_seq.reindex(first.index)
        first["uncertain"] = uncertain.fillna(False).astype(bool).to_numpy()
    return first


dose_rows = st.lists(
    st.tuples(
        st.sampled_from(["S-2", "S-1", "S-10", None]),
        st.sampled_from([1, 2, 3, None]),
        st.sampled_from(["2024-01-05", "2024-01-05 09:30", "2024-01-01", None]),
        st.sampled_from([True, False, None]),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(
    rows=dose_rows,
    subject_dtype=st.sampled_from(["string[pyarrow]", "object"]),
    with_seq=st.booleans(),
)
def test_first_given_doses_equal_the_pandas_definition(
    rows: list[tuple[object, ...]], subject_dtype: str, with_seq: bool
) -> None:
    # sorted subjects (a missing id last), ties kept in table order, missing
    # sequence numbers last; dtypes of the carried columns kept
    admin = pd.DataFrame(
        {
            "subject_id": pd.Series([r[0] for r in rows], dtype=subject_dtype),
            "admin_seq": pd.Series([r[1] for r in rows], dtype="Int64"),
            "admin_date": pd.to_datetime(
                pd.Series([r[2] for r in rows], dtype=object), format="ISO8601"
            ),
            "given": pd.Series([r[3] for r in rows], dtype="boolean"),
            "dose_level": pd.Series(range(len(rows)), dtype="Int64"),
        },
        index=np.arange(len(rows)) * 2 + 5,
    )
    if not with_seq:
        admin = admin.drop(columns="admin_seq")
    pd.testing.assert_frame_equal(first_given_doses(admin), _first_by_pandas(admin))
