"""Exposure-adjusted incidence against R (tests/analyses/reference/exposure_adjusted.json).

``exposure_adjusted.R`` (R 4.2.2, stats) gives exact Poisson intervals
(``poisson.test(x, T)``), exact conditional rate ratios (``poisson.test(c(x1, x2),
c(T1, T2))``, estimate, interval and p-value, including the infinite and undefined
ratios of zero counts) and a small trial computed end to end in R: exposure windows
(to the end of follow-up, and to 28 days after the last dose), EAIR and EAER per
group and per term, and the comparisons with the lowest dose group. Tolerance 1e-6
relative; counts exactly. On the demo trial the function is called on the analysis
datasets and checked against counts and days computed here directly.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import trialdata as td
from analyses.datasets import AnalysisData
from analyses.safety import (
    derive_exposure_time,
    estimate_exposure_adjusted_incidence,
    poisson_rate_ci,
    poisson_rate_ratio,
    rate_difference_wald,
)
from trialdata.demo import write_trial

REFERENCE = json.loads(
    (Path(__file__).parents[1] / "reference" / "exposure_adjusted.json").read_text()
)
RTOL = 1e-6


def _value(v: Any) -> float:
    return float(v) if not isinstance(v, str) else float(v.replace("Inf", "inf"))


def _close(ours: float, theirs: Any) -> bool:
    want = _value(theirs)
    if math.isnan(want) or math.isinf(want):
        return (math.isnan(ours) and math.isnan(want)) or ours == want
    return abs(ours - want) <= RTOL * max(abs(want), 1e-300)


@pytest.mark.parametrize(
    "case", REFERENCE["rates"], ids=lambda c: f"{c['x']}/{c['time']}"
)
def test_poisson_rate_interval(case: dict[str, Any]) -> None:
    rate, low, high = poisson_rate_ci(case["x"], case["time"])
    assert _close(float(rate[0]), case["estimate"])
    assert _close(float(low[0]), case["conf_int"][0])
    assert _close(float(high[0]), case["conf_int"][1])


@pytest.mark.parametrize(
    "case",
    REFERENCE["rate_ratios"],
    ids=lambda c: f"{c['x1']}/{c['t1']}-vs-{c['x2']}/{c['t2']}",
)
def test_poisson_rate_ratio(case: dict[str, Any]) -> None:
    ratio, low, high, p = poisson_rate_ratio(
        case["x1"], case["t1"], case["x2"], case["t2"]
    )
    assert _close(ratio, case["estimate"])
    assert _close(low, case["conf_int"][0])
    assert _close(high, case["conf_int"][1])
    assert _close(p, case["p_value"])


def test_rate_difference_is_the_wald_interval() -> None:
    diff, low, high = rate_difference_wald(3, 10.5, 1, 12.25)
    se = math.sqrt(3 / 10.5**2 + 1 / 12.25**2)
    assert diff == pytest.approx(3 / 10.5 - 1 / 12.25)
    assert (high - low) / 2 == pytest.approx(1.959963984540054 * se)


TRIAL = REFERENCE["trial"]


@pytest.fixture(scope="module")
def trial() -> tuple[pd.DataFrame, pd.DataFrame]:
    subjects = pd.DataFrame(TRIAL["subjects"]).assign(safety=True)
    for column in ("first_dose_date", "last_dose_date", "followup_end"):
        subjects[column] = pd.to_datetime(subjects[column])
    events = pd.DataFrame(TRIAL["events"])
    events["onset_date"] = pd.to_datetime(events["onset_date"])
    return subjects, events


@pytest.mark.parametrize(
    "case",
    TRIAL["cases"],
    ids=lambda c: f"window{c['window_days']}-{c['term'] or 'any'}",
)
def test_trial_against_r(
    case: dict[str, Any], trial: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    subjects, events = trial
    result = estimate_exposure_adjusted_incidence(
        events,
        subjects,
        "group",
        term="term" if case["term"] else None,
        window_days=case["window_days"],
    )
    label = case["term"] or "Any event"
    rates = result.rates.loc[result.rates["term"] == label].set_index(
        ["group", "measure"]
    )
    for row in case["rates"]:
        ours = rates.loc[(row["group"], row["measure"])]
        assert ours["events"] == row["events"] and ours["subjects"] == row["subjects"]
        for column in ("patient_years", "rate", "lower", "upper"):
            assert _close(float(ours[column]), row[column]), (row, column)
    comp = result.comparisons.loc[result.comparisons["term"] == label]
    comp = comp.set_index(["group", "measure"])
    assert len(comp) == len(case["comparisons"])
    for row in case["comparisons"]:
        ours = comp.loc[(row["group"], row["measure"])]
        assert ours["reference"] == row["reference"]
        for column in (
            "rate_ratio",
            "rate_ratio_lower",
            "rate_ratio_upper",
            "rate_ratio_p_value",
            "rate_difference",
            "rate_difference_lower",
            "rate_difference_upper",
        ):
            assert _close(float(ours[column]), row[column]), (row, column)
    exposure = result.exposure.set_index("group")
    for row in case["rates"]:
        assert exposure.loc[row["group"], "treatment_days"] == row["treatment_days"]


def test_window_rules_and_missing_onset(
    trial: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    subjects, events = trial
    time = derive_exposure_time(subjects)
    s01 = time.set_index("subject_id").loc["S01"]
    # 2024-01-10 to 2024-12-31 inclusive
    assert s01["exposure_days"] == 357 and s01["treatment_days"] == 1
    capped = derive_exposure_time(subjects, window_days=28).set_index("subject_id")
    assert capped.loc["S01", "exposure_days"] == 29  # day 1 to last dose + 28
    assert capped.loc["S13", "exposure_days"] == 57  # 2024-06-26 to 2024-08-21
    early = subjects.assign(
        followup_end=subjects["followup_end"].where(
            subjects["subject_id"] != "S10", pd.Timestamp("2024-05-20")
        )
    )
    early_time = derive_exposure_time(early, window_days=28).set_index("subject_id")
    assert early_time.loc["S10", "exposure_days"] == 6  # follow-up ends first
    full = estimate_exposure_adjusted_incidence(events, subjects)
    dropped = estimate_exposure_adjusted_incidence(
        events, subjects, missing_onset="exclude"
    )
    eaer = full.rates.set_index(["group", "measure"])["events"]
    eaer_dropped = dropped.rates.set_index(["group", "measure"])["events"]
    # S06's event without onset date is an event of DL2 unless left out
    assert eaer[("DL2", "EAER")] - eaer_dropped[("DL2", "EAER")] == 1
    assert "outside the exposure window" in full.footnotes[-1]
    assert full.provenance.parameters["window_rule"].startswith("first dose")


def test_reference_group_and_errors(trial: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    subjects, events = trial
    result = estimate_exposure_adjusted_incidence(events, subjects, reference="DL3")
    assert set(result.comparisons["group"]) == {"DL1", "DL2"}
    assert set(result.comparisons["reference"]) == {"DL3"}
    with pytest.raises(ValueError, match="reference group"):
        estimate_exposure_adjusted_incidence(events, subjects, reference="DL9")
    with pytest.raises(ValueError, match="lack column"):
        estimate_exposure_adjusted_incidence(
            events.drop(columns="onset_date"), subjects
        )
    no_end = subjects.assign(followup_end=pd.NaT)
    with pytest.raises(ValueError, match="without followup_end"):
        derive_exposure_time(no_end)


def test_row_order_does_not_change_a_number(
    trial: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    subjects, events = trial
    base = estimate_exposure_adjusted_incidence(events, subjects, term="term")
    rng = np.random.default_rng(7)
    shuffled = estimate_exposure_adjusted_incidence(
        events.sample(frac=1, random_state=rng),
        subjects.sample(frac=1, random_state=rng),
        term="term",
    )
    pd.testing.assert_frame_equal(base.to_frame(), shuffled.to_frame())


# ---------------------------------------------------- reached from the analysis datasets


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> AnalysisData:
    folder = write_trial(tmp_path_factory.mktemp("eair") / "t", "nk-aml", seed=3).folder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return td.Trial.load(Path(folder)).analysis_data()


def test_on_the_analysis_datasets(data: AnalysisData) -> None:
    result = estimate_exposure_adjusted_incidence(data.teae, data.adsl)
    safety = data.safety
    days = (safety["followup_end"] - safety["first_dose_date"]).dt.days + 1
    rates = result.rates.set_index(["group", "measure"])
    total = rates.loc[("Total", "EAER")]
    assert total["subjects"] == len(safety)
    assert total["patient_years"] == pytest.approx(days.sum() / 365.25, rel=1e-12)
    teae = data.teae
    end = teae["subject_id"].map(safety.set_index("subject_id")["followup_end"])
    inside = teae["onset_date"].isna() | (teae["onset_date"] <= end)
    assert total["events"] == int(inside.sum())
    assert (
        rates.loc[("Total", "EAIR"), "events"]
        == teae.loc[inside, "subject_id"].nunique()
    )
    # the TEAE rule of the analysis datasets has no window after the last dose: no note
    assert not any("TEAE rule has window_days" in f for f in result.footnotes)
    assert result.provenance.parameters["teae_rule"]["window_days"] is None
    # a window that does not match the events' TEAE rule is pointed out
    other = estimate_exposure_adjusted_incidence(data.teae, data.adsl, window_days=30)
    assert any("TEAE rule has window_days=None" in f for f in other.footnotes)
    shown = result.summary()
    assert {"rate (95% CI)", "rate ratio (95% CI)"} <= set(shown.columns)
    frame = result.to_frame()
    assert set(frame["measure"]) == {"EAIR", "EAER", "exposure"}
