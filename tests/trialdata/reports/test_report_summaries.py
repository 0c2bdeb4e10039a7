"""The report's own summaries on tiny hand-computed cases (numbers written out)."""

from __future__ import annotations

import pandas as pd
import pytest

from trialdata.reports import report_summaries as rs
from trialdata.reports.formatting import format_n_pct, pivot_counts
from trialdata.reports.prepare import apply_cutoff, latest_date

T = pd.Timestamp


def _subjects() -> pd.DataFrame:
    """Four treated subjects: A, B at DL1; C, D at DL2; D died on day 10."""
    return pd.DataFrame(
        {
            "subject_id": ["A", "B", "C", "D"],
            "group": pd.Categorical(["DL1", "DL1", "DL2", "DL2"], ["DL1", "DL2"]),
            "safety": [True, True, True, True],
            "first_dose_date": [
                T("2025-01-01"),
                T("2025-01-05"),
                T("2025-02-01"),
                T("2025-02-03"),
            ],
            "withdrawal_date": [pd.NaT, T("2025-03-01"), pd.NaT, pd.NaT],
            "death_date": [pd.NaT, pd.NaT, pd.NaT, T("2025-02-12")],
            "death_cause": [None, None, None, "Sepsis"],
            "sex": ["F", "M", "M", "F"],
            "age": [40, 50, 60, 71],
        }
    )


def _row(frame: pd.DataFrame, label: str, group: str) -> tuple[int, int]:
    hit = frame.loc[(frame["row"] == label) & (frame["group"] == group)]
    return int(hit["n"].iloc[0]), int(hit["N"].iloc[0])


def test_count_subjects_uses_the_population_as_denominator() -> None:
    counts = rs.count_subjects(_subjects(), pd.Series(["A", "A", "C", "Z"]))
    assert counts[["group", "n", "N"]].values.tolist() == [
        ["DL1", 1, 2],
        ["DL2", 1, 2],
        ["Total", 2, 4],
    ]
    assert counts["pct"].tolist() == [50.0, 50.0, 50.0]


def test_disposition_counts_withdrawals_and_deaths_up_to_the_cutoff() -> None:
    disposition = rs.summarize_disposition(_subjects(), cutoff=T("2025-02-28"))
    assert _row(disposition, "Withdrawn from study", "Total") == (0, 4)  # B: March
    assert _row(disposition, "Died", "DL2") == (1, 2)
    assert _row(disposition, "On study at data cut-off", "Total") == (3, 4)
    later = rs.summarize_disposition(_subjects(), cutoff=T("2025-03-31"))
    assert _row(later, "Withdrawn from study", "DL1") == (1, 2)


def test_dlt_evaluable_needs_a_dlt_or_the_full_window() -> None:
    ae = pd.DataFrame({"subject_id": ["A", "C"], "dlt": [False, True]})
    last = pd.Series(
        {
            "A": T("2025-01-29"),  # day 28 after first dose: evaluable
            "B": T("2025-01-20"),  # 15 days: not evaluable
            "C": T("2025-02-02"),  # DLT: evaluable whatever the follow-up
            "D": T("2025-03-10"),
        }
    )
    dlt = rs.summarize_dlt(_subjects(), ae, dlt_window_days=28, last_contact=last)
    assert dlt.set_index("group")[["treated", "evaluable", "dlt"]].to_dict("index") == {
        "DL1": {"treated": 2, "evaluable": 1, "dlt": 0},
        "DL2": {"treated": 2, "evaluable": 2, "dlt": 1},
        "Total": {"treated": 4, "evaluable": 3, "dlt": 1},
    }
    assert dlt["rate"].tolist() == [0.0, 0.5, pytest.approx(1 / 3)]


def _teae() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": ["A", "A", "C", "D", "D"],
            "grade": [1, 3, 2, 5, 4],
            "serious": [False, True, False, True, False],
            "relatedness": [
                "NOT RELATED",
                "POSSIBLY RELATED",
                "UNLIKELY RELATED",
                "DEFINITELY RELATED",
                "NOT RELATED",
            ],
            "dlt": [False, False, True, False, False],
            "aesi": [None, "CRS", "CRS", "CRS", "ICANS"],
            "outcome": ["RECOVERED/RESOLVED"] * 3 + ["FATAL", "RECOVERED/RESOLVED"],
            "action_taken": ["NOT APPLICABLE"] * 4 + ["DRUG WITHDRAWN"],
        }
    )


def test_teae_overview_counts_each_subject_once_per_row() -> None:
    overview = rs.summarize_teae_overview(_subjects(), _teae())
    assert _row(overview, "Any TEAE", "Total") == (3, 4)
    assert _row(overview, "Related TEAE (possibly, probably, definitely)", "Total") == (
        2,
        4,
    )
    assert _row(overview, "TEAE of grade >= 3", "DL2") == (1, 2)
    assert _row(overview, "Serious TEAE", "Total") == (2, 4)
    assert _row(overview, "Related serious TEAE", "DL1") == (1, 2)
    assert _row(overview, "Dose-limiting toxicity", "DL2") == (1, 2)
    assert _row(overview, "TEAE leading to product withdrawal", "Total") == (1, 4)
    assert _row(overview, "TEAE with fatal outcome", "Total") == (1, 4)


def test_aesi_grades_count_subjects_at_their_maximum_grade() -> None:
    grades = rs.summarize_aesi_grades(_subjects(), _teae(), ["CRS", "GVHD"])
    crs = grades.loc[grades["aesi"] == "CRS"]
    assert _row(crs, "Any grade", "Total") == (3, 4)
    assert _row(crs, "Grade 3", "DL1") == (1, 2)
    assert _row(crs, "Grade 2", "DL2") == (1, 2)
    assert _row(crs, "Grade 5", "DL2") == (1, 2)
    assert _row(crs, "Grade >= 3", "Total") == (2, 4)
    gvhd = grades.loc[grades["aesi"] == "GVHD"]
    assert gvhd["n"].sum() == 0 and len(gvhd) == 7 * 3


def test_lab_shift_baseline_is_last_value_on_or_before_first_dose() -> None:
    labs = pd.DataFrame(
        {
            "subject_id": ["A", "A", "A", "A", "B", "B", "C"],
            "test_code": ["ALT"] * 7,
            "lab_date": [
                T("2024-12-20"),  # A: low, superseded
                T("2025-01-01"),  # A: normal baseline (dose day)
                T("2025-01-08"),  # A: high
                T("2025-01-15"),  # A: low -> "Low and high"
                T("2025-01-10"),  # B: no baseline, post normal
                T("2025-01-20"),  # B: post high
                T("2025-01-01"),  # C: baseline only, no post value
            ],
            "value": [5.0, 20.0, 90.0, 5.0, 20.0, 50.0, 20.0],
            "lower_limit": [10.0] * 7,
            "upper_limit": [40.0] * 7,
        }
    )
    shifts = rs.summarize_lab_shifts(_subjects(), labs)
    nonzero = shifts.loc[shifts["n"] > 0, ["baseline", "post", "n"]].values.tolist()
    assert sorted(nonzero) == [["Missing", "High", 1], ["Normal", "Low and high", 1]]


def test_deaths_listing_days_from_first_dose() -> None:
    deaths = rs.summarize_deaths(
        _subjects(), dlt_window_days=28, cutoff=T("2025-12-31")
    )
    assert deaths[
        ["subject_id", "days_from_first_dose", "in_dlt_window"]
    ].values.tolist() == [["D", 10, True]]
    assert rs.summarize_deaths(
        _subjects(), dlt_window_days=28, cutoff=T("2025-02-11")
    ).empty


def test_exposure_counts_given_and_missed_doses() -> None:
    admin = pd.DataFrame(
        {
            "subject_id": ["A", "A", "B", "B", "C", "D"],
            "given": [True, True, True, False, True, True],
            "dose_amount": [1.0, 1.0, 1.0, None, 3.0, 3.0],
        }
    )
    exposure = rs.summarize_exposure(_subjects(), admin).set_index("group")
    assert exposure.loc["DL1", ["given", "not_given"]].tolist() == [3, 1]
    assert exposure.loc["DL1", "median_cumulative_dose"] == 1.5
    assert exposure.loc["Total", "subjects"] == 4


def test_formatting_rounds_half_up_and_shows_zero_plainly() -> None:
    assert format_n_pct(1, 100 / 16) == "1 (6.3%)"  # 6.25 -> 6.3 (half-up)
    assert format_n_pct(0, 0.0) == "0"
    counts = rs.count_subjects(_subjects(), pd.Series(["A"])).assign(row="x")
    wide = pivot_counts(counts, row_label="Rows")
    assert wide.columns.tolist() == ["Rows", "DL1 (N=2)", "DL2 (N=2)", "Total (N=4)"]
    assert wide.iloc[0].tolist() == ["x", "1 (50.0%)", "0", "1 (25.0%)"]


def test_cutoff_drops_later_records_and_censors_survival() -> None:
    tables = {
        "adverse_events": pd.DataFrame(
            {
                "subject_id": ["A", "A"],
                "onset_date": [T("2025-01-10"), T("2025-02-10")],
                "resolution_date": [T("2025-02-20"), pd.NaT],
            }
        ),
        "survival_status": pd.DataFrame(
            {
                "subject_id": ["A", "B"],
                "last_known_alive_date": [T("2025-03-01"), T("2025-01-20")],
                "death_date": [T("2025-03-01"), pd.NaT],
                "death_cause": ["x", None],
            }
        ),
    }
    assert latest_date(tables) == T("2025-03-01")
    cut = apply_cutoff(tables, T("2025-01-31"))
    assert cut["adverse_events"]["onset_date"].tolist() == [T("2025-01-10")]
    assert cut["adverse_events"]["resolution_date"].isna().all()
    status = cut["survival_status"]
    assert status["death_date"].isna().all()
    assert status["last_known_alive_date"].tolist() == [
        T("2025-01-31"),
        T("2025-01-20"),
    ]
