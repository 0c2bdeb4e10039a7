"""Safety tables take ADAE and ADLB rows as they are.

ADAE and ADLB rows carry their subject's ADSL columns (``group``, ``dose_level``,
...). Every table joins each event to its subject's group in the population it is
given; the columns the rows carry must neither clash with that join nor change a
number: the tables equal those of the same rows without them.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import analyses.safety as s
import trialdata as td
from analyses.datasets import SUBJECT_COLUMNS, AnalysisData
from trialdata.demo import write_trial


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> AnalysisData:
    folder = write_trial(
        tmp_path_factory.mktemp("adam") / "t", "nk-aml", 24, seed=2
    ).folder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return td.Trial.load(Path(folder)).analysis_data()


def _bare(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.drop(columns=[c for c in SUBJECT_COLUMNS if c != "first_dose_date"])


@pytest.mark.parametrize(
    "table",
    [
        lambda ae, subjects: s.summarize_teae_overview(ae, subjects, "group"),
        lambda ae, subjects: s.tabulate_teae_by_soc_pt(ae, subjects, "group"),
        lambda ae, subjects: s.tabulate_teae_by_max_grade(ae, subjects, "group"),
        lambda ae, subjects: s.tabulate_aesi_by_max_grade(ae, subjects, "group"),
        lambda ae, subjects: s.summarize_time_to_onset(
            ae, subjects, "group", category="aesi"
        ),
        lambda ae, subjects: s.tabulate_dlt(
            ae,
            subjects,
            "group",
            evaluable_flag="dlt_evaluable",
            dlt_flag="dlt_in_window",
        ),
        lambda ae, subjects: s.list_serious_adverse_events(ae, subjects, "group"),
    ],
)
def test_adae_columns_change_no_number(data: AnalysisData, table) -> None:  # type: ignore[no-untyped-def]
    with_columns = table(data.adae, data.safety).to_frame()
    without = table(_bare(data.adae), data.safety).to_frame()
    pd.testing.assert_frame_equal(with_columns, without)
    assert len(with_columns)


def test_adlb_columns_change_no_number(data: AnalysisData) -> None:
    shift = s.tabulate_range_shift(data.adlb, data.safety, "group").to_frame()
    bare = s.tabulate_range_shift(_bare(data.adlb), data.safety, "group").to_frame()
    pd.testing.assert_frame_equal(shift, bare)
    assert shift["value"].sum() > 0
