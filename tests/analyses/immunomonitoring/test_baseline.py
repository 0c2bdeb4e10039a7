from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyses.immunomonitoring import (
    compute_lloq_imputed,
    derive_change_from_baseline,
    derive_groups,
    derive_study_day,
)


def _immuno() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": ["S1", "S1", "S1", "S1", "S2", "S2"],
            "visit": ["SCR", "T0", "V1", "V2", "T0", "V2"],
            "collection_date": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-09",
                    "2024-01-10",
                    "2024-01-17",
                    "2024-01-25",
                    "2024-02-08",
                ]
            ),
            "assay": "FLOW CYTOMETRY",
            "analyte": "Treg",
            "value": [4.0, 5.0, 6.0, 9.0, 0.4, 2.0],
            "unit": "%",
            "lloq": [1.0] * 6,
            "uloq": [50.0] * 6,
        }
    )


def test_change_from_baseline_last_on_or_before_first_dose(
    administrations: pd.DataFrame,
) -> None:
    data = _immuno()
    before = data.copy()
    out = derive_change_from_baseline(data, administrations=administrations)
    pd.testing.assert_frame_equal(data, before)  # input untouched
    # S1 first dose 2024-01-10 (01-05 not given): baseline = 6.0 collected on 01-10.
    # S1 on 01-17: change 9 - 6 = 3, fold 9/6 = 1.5, pct 100*3/6 = 50, study day 7.
    s1 = out.loc[out["subject_id"] == "S1"].set_index("visit")
    assert s1["is_baseline"].tolist() == [False, False, True, False]
    assert s1.loc["V2", "baseline_value"] == 6.0
    assert s1.loc["V2", "change"] == pytest.approx(3.0)
    assert s1.loc["V2", "fold_change"] == pytest.approx(1.5)
    assert s1.loc["V2", "pct_change"] == pytest.approx(50.0)
    assert s1.loc["V2", "study_day"] == 7.0
    assert s1.loc["SCR", "study_day"] == -9.0
    assert s1.loc["V2", "log_fold_change"] == pytest.approx(np.log(1.5))
    # S2: 0.4 < LLOQ 1.0 -> LLOQ/2 = 0.5 at baseline; 2.0 - 0.5 = 1.5, fold 4, pct 300.
    s2 = out.loc[out["subject_id"] == "S2"].set_index("visit")
    assert bool(s2.loc["T0", "below_lloq"])
    assert s2.loc["T0", "analysis_value"] == 0.5
    assert s2.loc["V2", "change"] == pytest.approx(1.5)
    assert s2.loc["V2", "fold_change"] == pytest.approx(4.0)
    assert s2.loc["V2", "pct_change"] == pytest.approx(300.0)


def test_baseline_rules_visit_and_first(administrations: pd.DataFrame) -> None:
    out = derive_change_from_baseline(
        _immuno(),
        administrations=administrations,
        baseline="visit",
        baseline_visit="T0",
    )
    # S1 baseline now the T0 value 5.0: 9 - 5 = 4; S2 under rule "lloq": baseline 1.0
    assert out.loc[3, "change"] == pytest.approx(4.0)
    first = derive_change_from_baseline(
        _immuno(), administrations=administrations, baseline="first", lloq_rule="lloq"
    )
    # S1 first value 4.0: 9 - 4 = 5; S2 first value 0.4 -> LLOQ 1.0: 2 - 1 = 1
    assert first.loc[3, "change"] == pytest.approx(5.0)
    assert first.loc[5, "change"] == pytest.approx(1.0)


def test_lloq_rules_and_uloq() -> None:
    value = pd.Series([0.2, 3.0, 80.0, np.nan])
    lloq = pd.Series([1.0, 1.0, 1.0, 1.0])
    uloq = pd.Series([50.0] * 4)
    half = compute_lloq_imputed(value, lloq, uloq)
    assert half.tolist()[:3] == [0.5, 3.0, 50.0]
    assert np.isnan(half.iloc[3])
    assert compute_lloq_imputed(value, lloq, uloq, rule="lloq").tolist()[:3] == [
        1.0,
        3.0,
        50.0,
    ]
    kept = compute_lloq_imputed(value, lloq, uloq, rule="censored", uloq_rule="keep")
    assert kept.tolist()[:3] == [1.0, 3.0, 80.0]
    with pytest.raises(ValueError):
        compute_lloq_imputed(value, lloq, rule="zero")  # type: ignore[arg-type]


def test_derive_groups_and_study_day(
    subjects: pd.DataFrame, cohorts: pd.DataFrame, administrations: pd.DataFrame
) -> None:
    data = pd.DataFrame(
        {
            "subject_id": ["S2", "S1", "S9"],
            "d": pd.to_datetime(["2024-02-11", "2024-01-10", "2024-01-01"]),
        }
    )
    out = derive_groups(data, subjects, cohorts)
    assert out["dose_level"].tolist()[:2] == [2, 1]
    assert out["route"].tolist()[:2] == ["INTRANODAL", "INTRADERMAL"]
    assert pd.isna(out.loc[2, "dose_level"])
    days = derive_study_day(data, administrations, date_column="d")
    assert days["study_day"].tolist()[:2] == [10.0, 0.0]
    sdtm = derive_study_day(data, administrations, date_column="d", day_of_first_dose=1)
    assert sdtm["study_day"].tolist()[:2] == [11.0, 1.0]


def test_sdtm_study_day_counts_calendar_dates() -> None:
    # dose at 14:00 on 1 January; samples that morning, the next morning, and the
    # evening before: SDTM --DY is 1, 2 and -1 whatever the times of day
    administrations = pd.DataFrame(
        {
            "subject_id": ["S1"],
            "admin_seq": [1],
            "admin_date": pd.to_datetime(["2024-01-01 14:00"]),
            "given": pd.array([True], dtype="boolean"),
        }
    )
    data = pd.DataFrame(
        {
            "subject_id": ["S1"] * 3,
            "d": pd.to_datetime(
                ["2024-01-01 09:00", "2024-01-02 08:00", "2023-12-31 20:00"]
            ),
        }
    )
    sdtm = derive_study_day(data, administrations, date_column="d", day_of_first_dose=1)
    assert sdtm["study_day"].tolist() == [1.0, 2.0, -1.0]
    elapsed = derive_study_day(data, administrations, date_column="d")
    assert elapsed["study_day"].round(4).tolist() == [
        round(-5 / 24, 4),
        round(18 / 24, 4),
        round(-18 / 24, 4),
    ]


def test_same_results_with_arrow_string_columns(
    administrations: pd.DataFrame, subjects: pd.DataFrame, cohorts: pd.DataFrame
) -> None:
    from analyses.immunomonitoring import summarize_immunomonitoring

    data = _immuno()
    arrow = data.copy()
    for col in ("subject_id", "visit", "assay", "analyte", "unit"):
        arrow[col] = arrow[col].astype("string[pyarrow]")
    adm = administrations.assign(
        subject_id=administrations["subject_id"].astype("string[pyarrow]")
    )
    subj = subjects.astype("string[pyarrow]")
    coh = cohorts.assign(cohort_id=cohorts["cohort_id"].astype("string[pyarrow]"))
    a = derive_groups(
        derive_change_from_baseline(arrow, administrations=adm), subj, coh
    )
    b = derive_groups(
        derive_change_from_baseline(data, administrations=administrations),
        subjects,
        cohorts,
    )
    assert np.allclose(a["change"], b["change"], equal_nan=True)
    ra = summarize_immunomonitoring(
        a, ("dose_level", "visit"), variable="change"
    ).to_frame()
    rb = summarize_immunomonitoring(
        b, ("dose_level", "visit"), variable="change"
    ).to_frame()
    assert np.allclose(ra["value"], rb["value"], equal_nan=True)
    upstream = summarize_immunomonitoring(b, ("dose_level", "visit"), variable="change")
    assert upstream.provenance.parameters["upstream"] == {
        "lloq_rule": ["lloq_half"],
        "baseline_rule": ["last_on_or_before_first_dose"],
    }
