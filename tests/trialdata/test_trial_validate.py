"""``Trial.validate`` checks tables edited in a session: never a traceback."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from trialdata.demo import write_trial
from trialdata.trial import Trial


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> Trial:
    folder = tmp_path_factory.mktemp("nk")
    write_trial(folder, "nk-aml", 12, 3)
    return Trial.load(folder)


def _edited(trial: Trial, name: str, table: pd.DataFrame) -> Trial:
    return Trial(trial.protocol, {**trial.tables, name: table}, trial.findings, "edit")


def test_an_unedited_trial_validates_as_it_loaded(trial: Trial) -> None:
    assert trial.validate().empty
    assert trial.findings.empty


def test_columns_turned_to_text_are_parsed_and_bad_values_named(trial: Trial) -> None:
    labs = trial.tables["labs"].copy()
    labs["lab_date"] = labs["lab_date"].dt.strftime("%Y-%m-%d")
    labs["lower_limit"] = labs["lower_limit"].astype(object)
    labs.loc[labs.index[1], "lower_limit"] = "low"
    findings = _edited(trial, "labs", labs).validate()
    assert findings[["domain", "row", "column", "rule", "value"]].values.tolist() == [
        ["labs", labs.loc[labs.index[1], "_source_row"], "lower_limit", "RD-008", "low"]
    ]


def test_a_column_of_another_type_is_read_as_its_values(trial: Trial) -> None:
    # one typed path: numbers in an integer column are taken as the integers they
    # hold (as from a Parquet file); a number with a fraction is one RD-008 finding
    events = trial.tables["adverse_events"].copy()
    events["grade"] = events["grade"].astype("float64")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no pandas warnings either
        assert _edited(trial, "adverse_events", events).validate().empty
        events.loc[events.index[0], "grade"] = 2.5
        findings = _edited(trial, "adverse_events", events).validate()
    assert findings[["domain", "row", "column", "rule", "value"]].values.tolist() == [
        [
            "adverse_events",
            events.loc[events.index[0], "_source_row"],
            "grade",
            "RD-008",
            "2.5",
        ]
    ]


def test_text_in_compared_columns_does_not_crash_the_rules(trial: Trial) -> None:
    # the normal-range rule compares lower with upper limits
    labs = trial.tables["labs"].copy()
    labs.loc[labs.index[0], "lower_limit"] = float("nan")
    labs["lower_limit"] = labs["lower_limit"].astype(str)  # "nan" where missing
    labs["upper_limit"] = labs["upper_limit"].astype(str)
    findings = _edited(trial, "labs", labs).validate()
    assert findings[["row", "column", "rule", "value"]].values.tolist() == [
        [labs.loc[labs.index[0], "_source_row"], "lower_limit", "RD-008", "nan"]
    ]
