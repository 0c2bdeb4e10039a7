"""Immunomonitoring, MRI and biobank analyses on the demo trials (issue 7 §4).

Each analysis runs on a generated demo trial, read back through validation exactly as
a site upload would be, and its numbers are checked against a direct computation from
the raw CSV files with plain pandas: the definitions are restated in each test.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import trialdata as td
from analyses.biobank import list_samples_to_destroy, tabulate_availability
from analyses.immunomonitoring import derive_groups, summarize_mrd_negativity
from analyses.mri import summarize_new_lesions
from trialdata.demo import write_trial


@pytest.fixture(scope="module")
def nk_aml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_trial(
        tmp_path_factory.mktemp("nk") / "upload", "nk-aml", seed=5
    ).folder


@pytest.fixture(scope="module")
def tol_dc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_trial(
        tmp_path_factory.mktemp("ms") / "upload", "tolDC-ms", seed=5
    ).folder


def _csv(folder: Path, domain: str, dates: list[str]) -> pd.DataFrame:
    return pd.read_csv(folder / f"{domain}.csv", parse_dates=dates)


def _dose_level(folder: Path) -> pd.Series:
    subjects = pd.read_csv(folder / "subjects.csv")
    cohorts = pd.read_csv(folder / "cohorts.csv")
    return subjects.merge(cohorts, on="cohort_id").set_index("subject_id")["dose_level"]


def test_mrd_negativity_by_dose_level(nk_aml: Path) -> None:
    trial = td.Trial.load(nk_aml)
    data = derive_groups(
        trial.table("disease_assessments"),
        trial.table("subjects"),
        trial.table("cohorts"),
    )
    result = summarize_mrd_negativity(
        data, "dose_level", administrations=trial.table("administrations")
    ).to_frame()

    # Direct: first given dose per subject; post-dose = assessed after it; a subject is
    # evaluable with >= 1 post-dose MRD result and negative when any is < 0.1 %.
    admin = _csv(nk_aml, "administrations", ["admin_date"])
    first = admin[admin["given"] == "Y"].groupby("subject_id")["admin_date"].min()
    assessed = _csv(nk_aml, "disease_assessments", ["assessment_date"])
    assessed = assessed[assessed["mrd_pct"].notna()]
    post = assessed[assessed["assessment_date"] > assessed["subject_id"].map(first)]
    negative = post.groupby("subject_id")["mrd_pct"].min() < 0.1
    by_level = negative.groupby(_dose_level(nk_aml).reindex(negative.index))
    expected_n = by_level.size()
    expected_negative = by_level.sum()

    got = result.pivot(index="dose_level", columns="stat", values="value")
    assert got["n"].astype(int).to_dict() == expected_n.to_dict()
    assert (
        got["n_negative"].astype(int).to_dict()
        == expected_negative.astype(int).to_dict()
    )
    assert got["n"].sum() > 0


def test_new_lesion_counts_and_annualised_rates(tol_dc: Path) -> None:
    trial = td.Trial.load(tol_dc)
    data = derive_groups(
        trial.table("mri"), trial.table("subjects"), trial.table("cohorts")
    )
    result = summarize_new_lesions(data, "route").to_frame()

    # Direct: the first scan is baseline; sum Gd+ counts over later scans; follow-up is
    # last scan - baseline scan in days / 365.25; rate = total / total years.
    mri = _csv(tol_dc, "mri", ["scan_date"]).sort_values(["subject_id", "scan_date"])
    first_scan = mri.groupby("subject_id")["scan_date"].transform("min")
    later = mri[mri["scan_date"] > first_scan]
    subjects = pd.read_csv(tol_dc / "subjects.csv")
    route = subjects.merge(
        pd.read_csv(tol_dc / "cohorts.csv"), on="cohort_id"
    ).set_index("subject_id")["route"]
    gd_total = later.groupby(later["subject_id"].map(route))["gd_lesions"].sum()
    span = mri.groupby("subject_id")["scan_date"].agg(
        lambda d: (d.max() - d.min()).days
    )
    years = (span / 365.25).groupby(span.index.map(route)).sum()

    got = result[result["lesion"] == "new_gd"].pivot(
        index="route", columns="stat", values="value"
    )
    for name in gd_total.index:
        assert got.loc[name, "total"] == gd_total[name]
        assert got.loc[name, "follow_up_years"] == pytest.approx(years[name], rel=1e-12)
        assert got.loc[name, "annualised_rate"] == pytest.approx(
            gd_total[name] / years[name], rel=1e-12
        )


def test_biobank_availability_and_destruction_list(tol_dc: Path) -> None:
    trial = td.Trial.load(tol_dc)
    samples = trial.table("biobank_samples")
    available = tabulate_availability(samples).to_frame()

    # Direct: an aliquot is available while it has no destroyed_date.
    raw = pd.read_csv(tol_dc / "biobank_samples.csv")
    expected = raw[raw["destroyed_date"].isna()].groupby("sample_type").size()
    got = (
        available[available["stat"] == "n_available"]
        .groupby("sample_type")["value"]
        .sum()
        .astype(int)
    )
    assert got[got > 0].to_dict() == expected.to_dict()

    # The clean demo destroys every stored sample of the subject who withdrew, so no
    # sample is left to destroy.
    assert list_samples_to_destroy(samples, trial.table("subjects")).to_frame().empty
    withdrawn = pd.read_csv(tol_dc / "subjects.csv").dropna(subset=["withdrawal_date"])
    assert len(withdrawn) >= 1
