import pytest

from analyses.safety.grades import tabulate_teae_by_max_grade
from analyses.safety.overview import summarize_teae_overview
from analyses.safety.teae import derive_teae


@pytest.fixture
def teae(tiny_ae, tiny_population):
    return derive_teae(tiny_ae, tiny_population, worsening=False)


def _get(frame, **keys):
    sel = frame
    for k, v in keys.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, keys
    return sel["value"].iloc[0]


def test_max_grade_counts_each_subject_once(teae, tiny_population):
    f = tabulate_teae_by_max_grade(teae, tiny_population, "dose_level").to_frame()
    # Level 1: S1 grades 1, 2, 1 -> max 2; S2 grade 3 -> max 3. Level 2: S5 grades 1, 4.
    anyrow = dict(soc="ANY", preferred_term="ANY")
    assert _get(f, **anyrow, group="1", grade="2", stat="n") == 1
    assert _get(f, **anyrow, group="1", grade="3", stat="n") == 1
    assert _get(f, **anyrow, group="1", grade="1", stat="n") == 0
    assert _get(f, **anyrow, group="1", grade=">=3", stat="n") == 1
    assert _get(f, **anyrow, group="1", grade="Any", stat="n") == 2
    assert _get(f, **anyrow, group="2", grade="4", stat="n") == 1
    assert _get(f, **anyrow, group="Total", grade=">=3", stat="n") == 2
    assert _get(f, **anyrow, group="Total", grade=">=3", stat="pct") == pytest.approx(
        200 / 7
    )
    # Nausea at level 1: S1 max 2 (grades 1 and 2), S2 grade 3
    naus = dict(soc="GI", preferred_term="NAUSEA")
    assert _get(f, **naus, group="1", grade="2", stat="n") == 1
    assert _get(f, **naus, group="1", grade="3", stat="n") == 1
    # Nausea at level 2: S5 grade 1 (the grade-4 event is a rash)
    assert _get(f, **naus, group="2", grade="1", stat="n") == 1
    assert _get(f, **naus, group="2", grade="4", stat="n") == 0


def test_max_grade_display(teae, tiny_population):
    s = tabulate_teae_by_max_grade(
        teae, tiny_population, "dose_level", total=None
    ).summary()
    first = s.iloc[:7]
    assert first["grade"].tolist() == ["Any grade", "1", "2", "3", "4", "5", ">=3"]
    assert first["1 (N=4)"].tolist() == [
        "2 (50.0%)",
        "0",
        "1 (25.0%)",
        "1 (25.0%)",
        "0",
        "0",
        "1 (25.0%)",
    ]


def test_overview_categories(teae, tiny_population):
    t = summarize_teae_overview(teae, tiny_population, "dose_level")
    f = t.to_frame()
    # TEAEs: S1 x3 (level 1), S2 x1 (level 1), S5 x2 (level 2)
    assert _get(f, category="Any TEAE", group="Total", stat="n") == 3
    assert _get(f, category="Any TEAE", group="Total", stat="events") == 6
    # related (possibly/probably/definitely): S1 seq 1 and 3, S2 seq 1, S5 rash
    assert _get(f, category="Related TEAE", group="1", stat="n") == 2
    assert _get(f, category="Related TEAE", group="1", stat="events") == 3
    assert _get(f, category="Related TEAE", group="2", stat="n") == 1
    assert _get(f, category="Grade >= 3 TEAE", group="Total", stat="n") == 2
    assert _get(f, category="Serious TEAE", group="Total", stat="events") == 2
    assert _get(f, category="TEAE leading to discontinuation", group="2", stat="n") == 1
    assert _get(f, category="Fatal TEAE", group="2", stat="n") == 1
    assert _get(f, category="Dose-limiting toxicity", group="Total", stat="n") == 2
    assert _get(f, category="AESI: INFUSION REACTION", group="2", stat="n") == 1
    assert _get(f, category="AESI: CRS", group="Total", stat="n") == 0
    labels = t.summary()["label"].tolist()
    assert labels[0] == "Any TEAE" and "AESI: GVHD" in labels


def test_overview_discontinuation_from_subject_flag(teae, tiny_population):
    subjects = tiny_population.assign(disc=tiny_population["subject_id"].isin(["S1"]))
    f = summarize_teae_overview(
        teae, subjects, "dose_level", discontinuation="disc"
    ).to_frame()
    assert _get(f, category="TEAE leading to discontinuation", group="1", stat="n") == 1
    assert _get(f, category="TEAE leading to discontinuation", group="2", stat="n") == 0
