"""3+3 input checks: histories and counts a 3+3 variant cannot produce are refused.

Quiet cases: every history the variant can produce (enumerated here from its own
rule, all orders of DLTs within cohorts, every prefix including incomplete cohorts)
is accepted and decided as ``decide`` decides on its counts; the demo trial's
escalation passes. Fire cases: the refusals of R ``escalation::three_plus_three
(strict_mode = TRUE)`` (``enforce_three_plus_three``: more than 6 patients at a dose,
more than 3 patients at a dose without a DLT, skipped doses, several cohorts in
progress, an incomplete intermediate cohort), and the orders that only a history
shows (escalation after >= 2 DLTs, 6 treated after 0/3, a cohort after the stop).
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest

from analyses.dose_finding import (
    InconsistentHistoryError,
    ThreePlusThree,
    cohort_history,
    design_from_protocol,
)
from analyses.dose_finding.three_plus_three_history import parse_history

ESC_ONLY = ThreePlusThree(4, allow_deescalation=False)
DEESC = ThreePlusThree(4, allow_deescalation=True)
VARIANTS = {"escalation_only": ESC_ONLY, "deescalation": DEESC}
# one order per number of DLTs, and the DLT first or last for one DLT
COHORT_OUTCOMES = ["NNN", "TNN", "NNT", "TNT", "TTT"]


def _histories(design: ThreePlusThree) -> list[list[tuple[int, str]]]:
    """Every complete history the design produces, walked with its own rule."""
    from analyses.dose_finding._base import STOP

    out: list[list[tuple[int, str]]] = []

    def walk(
        history: list[tuple[int, str]], n: np.ndarray, y: np.ndarray, dose: int
    ) -> None:
        for outcomes in COHORT_OUTCOMES:
            nn, yy = n.copy(), y.copy()
            nn[dose - 1] += 3
            yy[dose - 1] += outcomes.count("T")
            step = [*history, (dose, outcomes)]
            action, nxt, _ = design._update(nn[None], yy[None], np.array([dose - 1]))
            if action[0] == STOP:
                out.append(step)
            else:
                walk(step, nn, yy, int(nxt[0]) + 1)

    k = design.n_doses
    walk([], np.zeros(k, np.int64), np.zeros(k, np.int64), design.start_dose)
    return out


@pytest.mark.parametrize("allow_deescalation", [False, True])
def test_every_history_the_variant_produces_is_accepted(
    allow_deescalation: bool,
) -> None:
    design = ThreePlusThree(3, allow_deescalation=allow_deescalation)
    histories = _histories(design)
    assert len(histories) > 50
    for history in histories:
        patients = [(d, o) for d, cohort in history for o in cohort]
        # the whole history (its replay accepts every cohort on the way), and the
        # last cohort cut after its first patient (still enrolling)
        cuts = [len(patients) - 2, len(patients)]
        for cut in cuts:
            prefix = patients[:cut]
            n = np.zeros(design.n_doses, int)
            y = np.zeros(design.n_doses, int)
            for d, o in prefix:
                n[d - 1] += 1
                y[d - 1] += o == "T"
            tokens = [
                (d, "".join(o for _, o in grp))
                for d, grp in itertools.groupby(prefix, key=lambda p: p[0])
            ]
            decision = design.decide_history(tokens)
            current = prefix[-1][0]
            expected = design.decide(n, y, current)
            assert (decision.action, decision.next_dose, decision.mtd) == (
                expected.action,
                expected.next_dose,
                expected.mtd,
            ), tokens
            design.check_counts(n, y, current)  # quiet
        design.select_mtd(n, y, strict=True)


FIRE = [
    # (variant, history, position of the refused cohort, words in the reason)
    ("escalation_only", "1NNN 1NNN", 2, "next patients go to dose level 2"),
    ("deescalation", "1NNN 1NNN", 2, "next patients go to dose level 2"),
    ("escalation_only", "1NTN 1TNN 2NNN", 3, "after the design stopped"),
    ("deescalation", "1NTN 1TNN 2NNN", 3, "after the design stopped"),
    ("escalation_only", "1NNN 2NTT 1NNN", 3, "after the design stopped"),
    ("escalation_only", "1NNN 3NNN", 2, "is at dose level 3"),
    ("deescalation", "2NNN", 1, "at the start"),
    ("escalation_only", "1NN 2N", 2, "not complete (2 of 3)"),
    ("deescalation", "1NTN 1NNN 1NNN", 3, "next patients go to dose level 2"),
    ("deescalation", "1TTN 1NNN", 2, "after the design stopped"),
    ("escalation_only", "1NNN 2NTN 2NNT 3NNN", 4, "after the design stopped"),
    ("deescalation", "1NNN 2TTN 1NNN 2NNN", 4, "after the design stopped"),
    ("deescalation", "1NNN 2NNN 7NNN", 3, "not in 1..4"),
]


@pytest.mark.parametrize(("variant", "history", "position", "words"), FIRE)
def test_histories_the_variant_cannot_produce_are_refused(
    variant: str, history: str, position: int, words: str
) -> None:
    design = VARIANTS[variant]
    with pytest.raises(InconsistentHistoryError) as caught:
        design.decide_history(history)
    error = caught.value
    assert error.cohort == position
    assert words in error.reason
    message = str(error)
    assert f'"{history}"' in message and design.name in message
    assert isinstance(error, ValueError)  # callers catching ValueError still do


def test_the_variants_differ_on_deescalation() -> None:
    """0/3, 2/3 above, then 3 more at the lower dose: only with de-escalation."""
    assert DEESC.decide_history("1NNN 2TTN 1NNN").mtd == 1
    with pytest.raises(InconsistentHistoryError, match="after the design stopped"):
        ESC_ONLY.decide_history("1NNN 2TTN 1NNN")


COUNTS_FIRE = [
    # R enforce_three_plus_three: "doses have been given to more than 6 patients"
    ("deescalation", [3, 9, 0, 0], [0, 1, 0, 0], 2, "at most 6"),
    # "toxless doses given to more than 3 patients"
    ("escalation_only", [3, 6, 0, 0], [0, 0, 0, 0], 2, "without a DLT"),
    ("deescalation", [3, 6, 0, 0], [0, 0, 0, 0], 2, "not too toxic"),
    # "some doses have been skipped"
    ("escalation_only", [3, 0, 3, 0], [0, 0, 0, 0], 3, "skipped"),
    # "there are several cohorts in progress"
    ("deescalation", [3, 2, 1, 0], [0, 0, 0, 0], 3, "incomplete cohort"),
    # treated above a too-toxic dose
    ("escalation_only", [6, 3, 0, 0], [2, 0, 0, 0], None, "stops there"),
    ("deescalation", [6, 3, 0, 0], [2, 0, 0, 0], None, "passed above"),
    # the start dose
    ("deescalation", [0, 3, 0, 0], [0, 0, 0, 0], 2, "start dose"),
]


@pytest.mark.parametrize(("variant", "n", "y", "current", "words"), COUNTS_FIRE)
def test_counts_the_variant_cannot_produce_are_refused(
    variant: str, n: list[int], y: list[int], current: int | None, words: str
) -> None:
    design = VARIANTS[variant]
    with pytest.raises(
        InconsistentHistoryError, match="cannot produce the counts"
    ) as caught:
        design.check_counts(n, y, current)
    assert words in caught.value.reason
    assert "DL1 " in str(caught.value)  # the counts are named
    with pytest.raises(InconsistentHistoryError):
        design.select_mtd(n, y, strict=True)
    if current is not None:
        with pytest.raises(InconsistentHistoryError):
            design.decide(n, y, current, strict=True)
        # lenient by default (the adherence review decides after deviations)
        design.decide(n, y, current)


@pytest.mark.parametrize(
    ("variant", "n", "y", "current"),
    [
        ("escalation_only", [3, 6, 3, 0], [0, 1, 2, 0], 3),
        ("deescalation", [3, 6, 3, 0], [0, 0, 2, 0], 2),  # 0/6 after de-escalating
        ("deescalation", [3, 6, 3, 0], [0, 2, 2, 0], 2),
        ("deescalation", [3, 3, 0, 0], [0, 1, 0, 0], 2),
        ("escalation_only", [3, 2, 0, 0], [0, 1, 0, 0], 2),  # cohort in progress
        ("deescalation", [0, 0, 0, 0], [0, 0, 0, 0], 1),  # nothing yet
        ("deescalation", [3, 3, 3, 3], [0, 0, 0, 0], 4),
    ],
)
def test_counts_the_variant_produces_pass(
    variant: str, n: list[int], y: list[int], current: int
) -> None:
    design = VARIANTS[variant]
    design.check_counts(n, y, current)
    strict = design.decide(n, y, current, strict=True)
    assert strict.action == design.decide(n, y, current).action


def test_counts_must_end_at_the_current_dose() -> None:
    # 0/3 at DL1 then 1/3 at DL2: the last cohort was at DL2, not DL1
    with pytest.raises(InconsistentHistoryError, match="last cohort at dose level 1"):
        ESC_ONLY.check_counts([3, 3, 0, 0], [0, 1, 0, 0], current=1)


def test_parse_errors_name_the_cohort() -> None:
    with pytest.raises(ValueError, match="'1NXN'"):
        parse_history("1NNN 1NXN")
    with pytest.raises(ValueError, match="'NNN'"):
        parse_history("NNN")
    assert [str(c) for c in parse_history("1nnn 2ntn")] == ["1NNN", "2NTN"]
    assert [str(c) for c in parse_history([(1, "NNN"), (2, "tn")])] == ["1NNN", "2TN"]


def test_the_demo_escalation_is_a_3plus3_history(tmp_path: Path) -> None:
    import trialdata as td
    from trialdata.demo import write_trial

    folder = write_trial(tmp_path / "t", "nk-aml", seed=3).folder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = td.Trial.load(Path(folder)).analysis_data()
    history = cohort_history(data.adsl)
    assert history == "1NNN 2NNN 3NTN 3NTN"
    design = design_from_protocol(data.protocol)
    decision = design.decide_history(history)
    summary = data.escalation().group("pooled").decision
    assert summary is not None
    assert (decision.action, decision.next_dose) == (summary.action, summary.next_dose)
    # the same cohorts in the escalation-only variant: 2/6 at DL3 stops the trial
    esc_only = ThreePlusThree(design.n_doses, allow_deescalation=False)
    assert esc_only.decide_history(history).mtd == 2
    # a cohort that went elsewhere is refused with the history named
    with pytest.raises(InconsistentHistoryError, match='"1NNN 2NNN 3NTN 3NTN 4NNN"'):
        design.decide_history(history + " 4NNN")
