"""Demo trials follow their own design: rebuilt from the written CSVs with plain pandas.

For each escalation (a route of tolDC-ms, the pooled nk-aml escalation) the escalation
cohorts are walked in order of their first dose; the design object built from the
written ``protocol.toml`` must give each next cohort's dose level from the DLTs seen
in the cohorts before it. The subjects beyond the escalation are in the expansion
cohorts the protocol lists, at the dose the escalation selected.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.dose_finding import design_from_protocol
from schemas.protocol import Protocol, load_protocol
from trialdata.demo import generate_trial, write_trial
from trialdata.demo.escalation import enrol
from trialdata.demo.protocols import COHORT_PREFIXES, protocol_data
from trialdata.validation import validate_folder

#: (archetype, subjects, seed): defaults, tiny, odd sizes and large expansions.
CASES = [
    ("nk-aml", None, 0),
    ("nk-aml", 6, 1),
    ("nk-aml", 13, 4),
    ("nk-aml", 25, 2),
    ("nk-aml", 60, 3),
    ("tolDC-ms", None, 0),
    ("tolDC-ms", 7, 4),
    ("tolDC-ms", 30, 5),
    ("tolDC-ms", 60, 6),
]


def _rebuild(folder: Path) -> tuple[Protocol, pd.DataFrame]:
    """One row per subject: cohort, level, route, escalation group, first dose, DLT."""
    protocol = load_protocol(folder / "protocol.toml")
    window = protocol.dlt_window_days
    subjects = pd.read_csv(folder / "subjects.csv")[["subject_id", "cohort_id"]]
    cohorts = pd.read_csv(folder / "cohorts.csv")
    admin = pd.read_csv(folder / "administrations.csv", parse_dates=["admin_date"])
    events = pd.read_csv(folder / "adverse_events.csv", parse_dates=["onset_date"])
    first = admin[admin["given"] == "Y"].groupby("subject_id")["admin_date"].min()
    data = subjects.merge(cohorts, on="cohort_id", validate="many_to_one")
    data["first_dose"] = data["subject_id"].map(first)
    dlt = events[events["dlt"] == "Y"].copy()
    dlt["day"] = (dlt["onset_date"] - dlt["subject_id"].map(first)).dt.days
    # every DLT flagged is one the design could see: inside the window
    assert dlt["day"].between(0, window - 1).all(), dlt
    data["dlt"] = data["subject_id"].isin(dlt["subject_id"])
    by_route = protocol.design.escalation_by == "route"
    data["group"] = data["route"] if by_route else "pooled"
    data["expansion"] = data["cohort_id"].isin(protocol.design.expansion_cohorts)
    return protocol, data


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def rebuilt(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Protocol, pd.DataFrame]:
    archetype, n, seed = request.param
    folder = tmp_path_factory.mktemp("demo") / "upload"
    write_trial(folder, archetype, n, seed)
    protocol, data = _rebuild(folder)
    assert data["first_dose"].notna().all()
    return protocol, data


def _escalation_cohorts(data: pd.DataFrame) -> pd.DataFrame:
    """Per escalation cohort: group, level, subjects, DLTs, first and last dose."""
    esc = data[~data["expansion"]]
    cohorts = esc.groupby("cohort_id").agg(
        group=("group", "first"),
        dose_level=("dose_level", "first"),
        n=("subject_id", "size"),
        dlts=("dlt", "sum"),
        start=("first_dose", "min"),
        last=("first_dose", "max"),
    )
    return cohorts.sort_values(["group", "start"]).reset_index()


def _walk(protocol: Protocol, cohorts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Check each cohort's level against the design; return the final counts."""
    design = design_from_protocol(protocol)
    k = len(protocol.dose_levels)
    n, y = np.zeros(k, int), np.zeros(k, int)
    previous = None
    for row in cohorts.itertuples():
        if previous is None:
            assert row.dose_level == protocol.design.start_dose_level
        else:
            decision = design.decide(
                n, y, previous.dose_level, last_cohort_dlts=previous.dlts
            )
            assert decision.action != "stop", (row.cohort_id, str(decision))
            assert row.dose_level == decision.next_dose, (row.cohort_id, str(decision))
        n[row.dose_level - 1] += row.n
        y[row.dose_level - 1] += row.dlts
        previous = row
    return n, y


def test_each_new_cohort_is_dosed_where_the_design_says(rebuilt: tuple) -> None:
    protocol, data = rebuilt
    cohorts = _escalation_cohorts(data)
    assert (cohorts["n"] <= protocol.design.cohort_size).all()
    for _, group in cohorts.groupby("group"):
        n, _ = _walk(protocol, group)
        assert n.sum() <= protocol.design.max_subjects
        # only the last cohort of an escalation may be incomplete (subjects ran out)
        assert (group["n"].iloc[:-1] == protocol.design.cohort_size).all()


def test_a_cohort_starts_after_the_previous_cohort_cleared_its_window(
    rebuilt: tuple,
) -> None:
    protocol, data = rebuilt
    window = pd.Timedelta(days=protocol.dlt_window_days)
    cohorts = _escalation_cohorts(data)
    for _, group in cohorts.groupby("group"):
        ids = group["cohort_id"].tolist()
        for before, after in itertools.pairwise(ids):
            prev = data[data["cohort_id"] == before]
            start = data.loc[data["cohort_id"] == after, "first_dose"].min()
            # every subject of the previous cohort completed the DLT window
            assert start > (prev["first_dose"] + window).max(), (before, after)


def test_expansion_cohorts_are_listed_and_dosed_at_the_selected_dose(
    rebuilt: tuple,
) -> None:
    protocol, data = rebuilt
    design = design_from_protocol(protocol)
    window = pd.Timedelta(days=protocol.dlt_window_days)
    listed = set(protocol.design.expansion_cohorts)
    assert listed <= set(data["cohort_id"])  # the protocol lists what was opened
    cohorts = _escalation_cohorts(data)
    expansion = data[data["expansion"]]
    for group, subjects in expansion.groupby("group"):
        mine = cohorts[cohorts["group"] == group]
        n, y = _walk(protocol, mine)
        last = mine.iloc[-1]
        decision = design.decide(
            n, y, int(last["dose_level"]), last_cohort_dlts=int(last["dlts"])
        )
        if decision.action == "stop":
            selected = decision.mtd
        else:  # the escalation used every subject it may treat
            assert n.sum() == protocol.design.max_subjects
            selected = design.select_mtd(n, y).mtd
        assert set(subjects["dose_level"]) == {selected}
        assert subjects["cohort_id"].nunique() == 1
        escalated = data[(data["group"] == group) & ~data["expansion"]]
        assert subjects["first_dose"].min() > (escalated["first_dose"] + window).max()


def test_subjects_are_numbered_in_order_of_first_dose(rebuilt: tuple) -> None:
    _, data = rebuilt
    ordered = data.sort_values("subject_id")["first_dose"]
    assert ordered.is_monotonic_increasing


def test_default_nk_aml_demo_expands_a_3plus3_cohort_with_one_dlt() -> None:
    protocol, tables = generate_trial("nk-aml", seed=0)
    subjects = tables["subjects"].merge(tables["cohorts"], on="cohort_id")
    events = tables["adverse_events"]
    dlt = subjects["subject_id"].isin(events.loc[events["dlt"], "subject_id"])
    per_cohort = subjects.assign(dlt=dlt).groupby("cohort_id", sort=False)
    got = per_cohort.agg(level=("dose_level", "first"), dlts=("dlt", "sum"))
    # 0/3 at DL1 and DL2: escalate; 1/3 at DL3: three more at DL3 (12 subjects)
    assert got["level"].tolist() == [1, 2, 3, 3]
    assert got["dlts"].tolist() == [0, 0, 1, 1]
    assert protocol["design"]["max_subjects"] == 18
    assert "expansion_cohorts" not in protocol["design"]


@pytest.mark.parametrize(
    ("archetype", "n", "levels", "expansion"),
    [
        # 3+3 without DLTs but the certain one at the top dose: 0/3, 0/3, 1/3 then
        # 0/3 more at DL3 (1/6): stop, MTD = DL3; eight subjects expand it.
        ("nk-aml", 20, {"": [1, 2, 3, 3]}, {"EXP": (3, 8)}),
        # BOIN per route: 0/3 escalates, 0/3 escalates, 1/3 at DL3 reaches the
        # nine subjects of the route: stop; the isotonic estimates 0, 0, 1/3 put
        # DL3 closest to 0.3. Twelve subjects left: six per route.
        (
            "tolDC-ms",
            30,
            {"ID-": [1, 2, 3], "IN-": [1, 2, 3]},
            {"ID-EXP": (3, 6), "IN-EXP": (3, 6)},
        ),
    ],
)
def test_enrolment_without_random_dlts(
    archetype: str,
    n: int,
    levels: dict[str, list[int]],
    expansion: dict[str, tuple[int, int]],
) -> None:
    plan = enrol(
        protocol_data(archetype, n),
        n,
        np.random.default_rng(1),
        dlt_rates=(0.0, 0.0, 0.0),
        dlt_onset=(1, 10),
        prefixes=COHORT_PREFIXES[archetype],
    )
    esc = [c for c in plan.cohorts if c.role == "escalation"]
    for prefix, expected in levels.items():
        mine = [c.dose_level for c in esc if c.cohort_id.startswith(prefix + "C")]
        assert mine == expected
    exp = {
        c.cohort_id: (c.dose_level, c.planned) for c in plan.cohorts if c.number == 0
    }
    assert exp == expansion
    assert plan.n == n
    assert int(plan.has_dlt.sum()) == len(levels)  # the certain DLT at the top dose
    assert (
        (plan.dlt_onset[plan.has_dlt] >= 1) & (plan.dlt_onset[plan.has_dlt] <= 10)
    ).all()
    assert set(plan.mtd.values()) == {3}


@pytest.mark.parametrize(("subjects", "deviation"), [(12, True), (30, False)])
def test_injected_wrong_dose_level_leaves_the_escalation_alone(
    tmp_path: Path, subjects: int, deviation: bool
) -> None:
    upload = write_trial(tmp_path, "nk-aml", subjects, 0, inject=True)
    wrong = [e for e in upload.expected if e.rule == "XD-005"]
    design = [e for e in upload.expected if e.rule == "XD-023"]
    assert len(wrong) == 1
    admin = pd.read_csv(tmp_path / "administrations.csv")
    row = admin.iloc[wrong[0].row - 2]
    cohort = pd.read_csv(tmp_path / "subjects.csv").set_index("subject_id")
    if deviation:
        # no subject beyond the escalation (3 + 3 + 6): the last infusion is spoilt,
        # and the design review reports that subject's one-subject cohort only
        assert [(e.file, e.row, e.column) for e in design] == [
            (wrong[0].file, wrong[0].row, "dose_level")
        ]
        dates = pd.to_datetime(admin["admin_date"])
        assert dates.iloc[wrong[0].row - 2] == dates.max()
    else:
        assert design == []
        assert cohort.loc[row["subject_id"], "cohort_id"] == "EXP"
    report = validate_folder(upload.folder)
    found = {
        (r.rule, r.file, None if pd.isna(r.row) else int(r.row), r.column)
        for r in report.findings.itertuples()
    }
    assert found == {(e.rule, e.file, e.row, e.column) for e in upload.expected}
