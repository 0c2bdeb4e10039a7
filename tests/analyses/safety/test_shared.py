import pandas as pd
import pytest

from analyses.safety._counting import (
    COMPARISON_COLUMNS,
    add_fisher,
    compare_groups,
    count_events,
)
from analyses.safety._shared import (
    event_mask,
    format_count_cell,
    group_headers,
    known_group,
    melt_stats,
    n_pct_cells,
    population_groups,
    population_rules_notes,
    rounding_note,
    sort_by_row,
    subject_day,
)
from analyses.safety.population import select_population
from analyses.safety.soc_pt import format_count_cell as soc_pt_format_count_cell
from analyses.safety.teae import derive_teae


def test_population_groups_text_labels_in_display_order(tiny_population):
    pop, groups = population_groups(tiny_population, "dose_level", "safety")
    population = select_population(tiny_population, "dose_level")
    assert groups == ["1", "2"]
    assert list(pop["subject_id"]) == list(population["subject_id"])
    assert list(pop["group"]) == [str(g) for g in population["group"]]
    # plain text (object on pandas 2, str on pandas 3), no longer categorical
    assert pd.api.types.is_string_dtype(pop["group"])
    assert not isinstance(pop["group"].dtype, pd.CategoricalDtype)


def test_event_mask_teae_and_where_missing_count_as_false():
    data = pd.DataFrame(
        {"teae": pd.array([True, None, True, False], dtype="boolean")},
        index=[10, 11, 12, 13],
    )
    where = pd.Series(pd.array([True, True, None], dtype="boolean"), index=[10, 11, 12])
    assert list(event_mask(data, teae_only=False, where=None)) == [True] * 4
    assert list(event_mask(data, teae_only=True, where=None)) == [
        True,
        False,
        True,
        False,
    ]
    assert list(event_mask(data, teae_only=True, where=where)) == [
        True,
        False,
        False,
        False,
    ]


def test_known_group():
    counts = pd.DataFrame({"group": pd.Categorical(["1", "Total"])})
    assert known_group("Total", counts) == "Total"
    assert known_group("2", counts) is None
    assert known_group(None, counts) is None


def test_subject_day_normalises_and_aligns():
    subjects = pd.DataFrame(
        {
            "subject_id": ["A", "B"],
            "first_dose_date": pd.to_datetime(["2024-01-10 13:45", None]),
        }
    )
    ids = pd.Series(["B", "A", "C"], index=[5, 6, 7])
    day = subject_day(ids, subjects, "first_dose_date")
    assert list(day.index) == [5, 6, 7]
    assert pd.isna(day[5]) and pd.isna(day[7])
    assert day[6] == pd.Timestamp("2024-01-10")


def test_count_cells():
    assert soc_pt_format_count_cell is format_count_cell
    counts = pd.DataFrame({"n": [0, 1, 2], "pct": [0.0, 12.25, 100 / 3]})
    assert n_pct_cells(counts, digits=1, rounding="half_up") == [
        "0",
        "1 (12.3%)",
        "2 (33.3%)",
    ]
    assert n_pct_cells(counts, digits=1, rounding="half_even")[1] == "1 (12.2%)"
    assert format_count_cell(2, 50.0, 3, digits=0, rounding="half_up") == "2 (50%) [3]"


def test_group_headers():
    counts = pd.DataFrame({"group": ["1", "1", "Total"], "N": [4, 4, 7]})
    assert group_headers(["Total", "1"], counts) == ["Total (N=7)", "1 (N=4)"]


def test_melt_stats_and_sort_by_row():
    wide = pd.DataFrame({"row": [1, 0], "group": ["a", "b"], "N": [3, 4], "n": [1, 2]})
    long = melt_stats(wide, ["row", "group"])
    assert list(long.columns) == ["row", "group", "stat", "value"]
    assert long["value"].dtype == float
    assert list(melt_stats(wide, ["row", "group"], ["n"])["stat"]) == ["n", "n"]
    ordered = sort_by_row(long)
    assert list(ordered.columns) == ["group", "stat", "value"]
    assert list(ordered["group"]) == ["b", "b", "a", "a"]
    assert list(ordered.index) == [0, 1, 2, 3]


def test_footnote_sentences(tiny_population):
    assert rounding_note("half_even", 2) == (
        "Percentages rounded half-even to 2 decimal(s)."
    )
    assert population_rules_notes(pd.DataFrame({"subject_id": []})) == ()
    (note,) = population_rules_notes(tiny_population)
    assert note.startswith("Derived: safety_population = ")


def test_compare_groups_with_and_without_reference(tiny_ae, tiny_population):
    teae = derive_teae(tiny_ae, tiny_population, worsening=False)
    population = select_population(tiny_population, "dose_level")
    counts = count_events(teae, population, ["soc"])
    empty = compare_groups(counts, ["soc"], None)
    assert empty.empty
    assert list(empty.columns) == ["soc", *COMPARISON_COLUMNS]
    pd.testing.assert_frame_equal(
        compare_groups(counts, ["soc"], "1", risk_difference="wald"),
        add_fisher(counts, ["soc"], "1", risk_difference="wald"),
    )
    with pytest.raises(KeyError):
        compare_groups(counts, ["soc"], "9")
