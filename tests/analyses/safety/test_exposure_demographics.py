import pandas as pd
import pytest

from analyses.safety.demographics import summarize_demographics
from analyses.safety.exposure import summarize_exposure


def _get(frame, **keys):
    sel = frame
    for k, v in keys.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, keys
    return sel["value"].iloc[0]


def test_exposure_per_kg(tiny_population, tiny_admin):
    subjects = tiny_population.assign(
        weight_kg=[50.0, 100.0, 80.0, 80.0, 70.0, 70.0, 70.0, 70.0]
    )
    adm = tiny_admin.assign(
        dose_amount=[10.0] * 4 + [5.0] * 7,  # level 1: 10e6 cells (absolute)
        dose_unit=["10^6 cells"] * 4 + ["10^6 cells/kg"] * 7,
        lot_id=["L1", "L1", "L2", "L2", "L3", "L3", "L3", "L4", "L4", "L4", None],
    )
    f = summarize_exposure(adm, subjects, "dose_level").to_frame()
    # level 1: one dose each of 10 (10^6 cells); per kg = 10/50, 10/100, 10/80, 10/80
    assert _get(
        f, group="1", variable="dose per administration (per kg)", stat="max"
    ) == pytest.approx(0.2)
    assert _get(
        f, group="1", variable="dose per administration (per kg)", stat="mean"
    ) == pytest.approx((0.2 + 0.1 + 0.125 + 0.125) / 4)
    # level 2: S5-S7 two doses of 5 /kg -> cumulative 10 /kg, absolute 10 * 70 = 700
    assert _get(f, group="2", variable="doses per subject", stat="median") == 2
    assert _get(
        f, group="2", variable="cumulative dose per subject (per kg)", stat="mean"
    ) == pytest.approx(10)
    assert _get(
        f, group="2", variable="cumulative dose per subject", stat="mean"
    ) == pytest.approx(700)
    assert _get(f, group="2", variable="administrations not given", stat="n") == 0
    assert _get(f, group="2", variable="product lots used", stat="n") == 2
    assert _get(f, group="Total", variable="subjects", stat="n") == 7


def test_demographics_hand_case():
    subjects = pd.DataFrame(
        {
            "subject_id": ["A", "B", "C", "D", "E"],
            "safety": [True, True, True, True, False],
            "arm": ["x", "x", "y", "y", "y"],
            "age": [30, 41, 50, 60, 99],
            "sex": ["F", "M", "F", None, "F"],
        }
    )
    t = summarize_demographics(subjects, "arm", continuous=["age"], categorical=["sex"])
    f = t.to_frame()
    # x: ages 30, 41 -> mean 35.5, sd = sqrt(((5.5)^2 * 2) / 1) = 7.778175
    assert _get(f, variable="age", group="x", stat="mean") == pytest.approx(35.5)
    assert _get(f, variable="age", group="x", stat="sd") == pytest.approx(
        7.7781746, abs=1e-6
    )
    # E is outside the population: total mean of 30, 41, 50, 60 = 45.25
    assert _get(f, variable="age", group="Total", stat="mean") == pytest.approx(45.25)
    assert _get(f, variable="sex", category="F", group="y", stat="n") == 1
    assert _get(
        f, variable="sex", category="Missing", group="y", stat="pct"
    ) == pytest.approx(50.0)
    s = t.summary()
    assert (
        s.loc[(s["variable"] == "age") & (s["label"] == "Mean (SD)"), "x"].item()
        == "35.5 (7.78)"
    )


def test_exposure_without_weight_has_no_per_kg_total(tiny_population, tiny_admin):
    adm = tiny_admin.assign(dose_amount=10.0, dose_unit="10^6 cells", lot_id="L1")
    f = summarize_exposure(adm, tiny_population, "dose_level").to_frame()
    # no weight column: doses cannot be expressed per kg -> no statistics, not zeros
    assert (
        _get(f, group="1", variable="cumulative dose per subject (per kg)", stat="n")
        == 0
    )
    assert (
        _get(f, group="2", variable="cumulative dose per subject", stat="mean") == 20.0
    )


def test_exposure_display_carries_the_unit_and_the_usual_statistics(
    tiny_population: pd.DataFrame, tiny_admin: pd.DataFrame
) -> None:
    subjects = tiny_population.assign(weight_kg=70.0)
    adm = tiny_admin.assign(dose_amount=5.0, dose_unit="10^6 cells/kg", lot_id="L1")
    t = summarize_exposure(adm, subjects, "dose_level")
    s = t.summary()

    def cell(variable: str, label: str, group: str) -> str:
        row = s.loc[(s["variable"] == variable) & (s["label"] == label), group]
        return str(row.item())

    # one dose of 5 per subject at level 1; two at level 2 (S5-S7)
    assert cell("subjects", "n", "1") == "4"
    assert cell("dose per administration (10^6 cells/kg)", "Mean (SD)", "1") == (
        "5.0 (0.00)"
    )
    assert cell("cumulative dose per subject (10^6 cells/kg)", "Median", "2") == "10.0"
    # absolute cumulative dose: 2 x 5 /kg x 70 kg = 700 x 10^6 cells
    assert cell("cumulative dose per subject (10^6 cells)", "Min - Max", "2") == (
        "700 - 700"
    )
    assert cell("doses per subject", "Mean (SD)", "Total") == "1.4 (0.53)"
    assert any("rounded half-up to 1 decimal" in note for note in t.footnotes)
    # mixed units: labels stay generic rather than naming one unit
    mixed = adm.assign(dose_unit=["10^6 cells"] * 4 + ["10^6 cells/kg"] * 7)
    labels = summarize_exposure(mixed, subjects, "dose_level").summary()["variable"]
    assert "dose per administration (per kg)" in set(labels)
