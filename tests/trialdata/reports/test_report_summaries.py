"""The report's own summaries on tiny hand-computed cases (numbers written out)."""

from __future__ import annotations

import pandas as pd

from analyses.datasets import apply_cutoff, latest_date
from trialdata.reports import report_summaries as rs
from trialdata.reports.formatting import format_n_pct, pivot_counts

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


def test_deaths_listing_days_from_first_dose() -> None:
    deaths = rs.list_deaths(_subjects(), dlt_window_days=28, cutoff=T("2025-12-31"))
    assert deaths[
        ["subject_id", "days_from_first_dose", "in_dlt_window"]
    ].values.tolist() == [["D", 10, True]]
    assert rs.list_deaths(_subjects(), dlt_window_days=28, cutoff=T("2025-02-11")).empty


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
