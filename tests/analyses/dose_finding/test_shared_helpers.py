"""Tests of the helpers the dose-finding designs share (``_base``, interval designs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analyses.dose_finding._base import enrol_cohort, long_frame, start_trials
from analyses.dose_finding.boin import BOIN
from analyses.dose_finding.crm import CRM
from analyses.dose_finding.from_protocol import design_from_protocol
from analyses.dose_finding.i3plus3 import I3Plus3
from analyses.dose_finding.interval_design import EquivalenceIntervalDesign
from analyses.dose_finding.mtpi2 import MTPI2
from analyses.dose_finding.three_plus_three import ThreePlusThree
from analyses.dose_finding.tite_crm import TITECRM
from schemas.protocol import parse_protocol

from .conftest import protocol_data  # type: ignore[import-not-found]


def test_start_trials_is_empty_at_the_start_dose() -> None:
    n, y, cur, active = start_trials(4, 3, 2)
    assert n.shape == y.shape == (4, 3)
    assert n.dtype == y.dtype == cur.dtype == np.int64
    assert not n.any() and not y.any()
    assert (cur == 1).all() and active.all()


def test_enrol_cohort_draws_from_the_next_free_slots() -> None:
    n, y, cur, active = start_trials(3, 2, 1)
    u = np.array(
        [
            [[0.1, 0.9, 0.2, 0.9], [0.0, 0.0, 0.0, 0.0]],
            [[0.9, 0.9, 0.9, 0.05], [0.0, 0.0, 0.0, 0.0]],
            [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]],
        ]
    )
    p = np.array([0.3, 0.5])
    active[2] = False
    step = enrol_cohort(u, p, n, y, cur, active, 2)
    assert step is not None
    rows, dose, dlts = step
    assert rows.tolist() == [0, 1] and dose.tolist() == [0, 0]
    assert dlts.tolist() == [1, 0]
    assert n[:, 0].tolist() == [2, 2, 0] and y[:, 0].tolist() == [1, 0, 0]
    step = enrol_cohort(u, p, n, y, cur, active, 2)
    assert step is not None
    assert step[2].tolist() == [1, 1]  # slots 2 and 3 are used now
    assert y[:, 0].tolist() == [2, 1, 0]
    active[:] = False
    assert enrol_cohort(u, p, n, y, cur, active, 2) is None


def test_long_frame_turns_missing_values_into_nan() -> None:
    wide = pd.DataFrame(
        {"n": [1, 2], "a": pd.array([1, pd.NA], "Int64"), "b": [0.5, 0.25]}
    )
    long = long_frame(wide, "n", "X")
    assert list(long.columns) == ["design", "n", "stat", "value"]
    assert (long["design"] == "X").all()
    assert long["value"].dtype == float
    assert np.isnan(long["value"].iloc[1])
    only_b = long_frame(wide, "n", "X", value_vars=["b"])
    assert only_b["stat"].tolist() == ["b", "b"]
    assert only_b["value"].tolist() == [0.5, 0.25]


@pytest.mark.parametrize(
    ("design", "own"),
    [
        (BOIN(0.3, 4), ["p_saf", "p_tox", "bound_mtd"]),
        (MTPI2(0.3, 4), ["eps1", "eps2", "prior_a", "prior_b"]),
        (I3Plus3(0.3, 4), ["eps1", "eps2"]),
        (ThreePlusThree(4), ["n_doses", "allow_deescalation", "start_dose"]),
        (
            TITECRM([0.1, 0.2, 0.3], 0.3, obswin=30, arrival_interval=10),
            ["obswin", "arrival_interval", "weights", "dlt_time"],
        ),
    ],
)
def test_parameters_start_with_the_design_name(design: object, own: list[str]) -> None:
    params = design.parameters()  # type: ignore[attr-defined]
    keys = list(params)
    assert keys[0] == "design"
    assert params["design"] == design.name  # type: ignore[attr-defined]
    assert keys[-len(own) :] == own


def test_equivalence_interval_designs_share_eps() -> None:
    for cls in (MTPI2, I3Plus3):
        d = cls(0.3, 4, eps1=0.02, eps2=0.07, cohort_size=2)
        assert isinstance(d, EquivalenceIntervalDesign)
        assert (d.eps1, d.eps2, d.cohort_size) == (0.02, 0.07, 2)


def test_extrasafe_stop_matches_the_beta_tail() -> None:
    d = BOIN(0.3, 3, extrasafe=True)
    n0 = np.array([2, 3, 3, 6, 9])
    y0 = np.array([2, 1, 3, 4, 2])
    tail = stats.beta.sf(0.3, y0 + 1, n0 - y0 + 1)
    expected = (n0 >= 3) & (tail > d.cutoff_eli - d.offset)
    assert d._extrasafe_stop(n0, y0).tolist() == expected.tolist()
    assert d._extrasafe_stop(n0, y0).tolist() == [False, False, True, True, False]


@pytest.mark.parametrize(
    ("method", "cls"),
    [
        ("BOIN", BOIN),
        ("mTPI-2", MTPI2),
        ("i3+3", I3Plus3),
        ("CRM", CRM),
        ("3+3", ThreePlusThree),
    ],
)
def test_design_from_protocol_builds_each_method(method: str, cls: type) -> None:
    design = design_from_protocol(
        parse_protocol(protocol_data(["INTRADERMAL"], method=method))
    )
    assert type(design) is cls
    assert design.n_doses == 3
    if cls is not ThreePlusThree:
        assert (design.cohort_size, design.n_cohorts, design.start_dose) == (3, 6, 1)
    if cls in (BOIN, MTPI2, I3Plus3):
        assert design.cutoff_eli == 0.95  # type: ignore[attr-defined]
