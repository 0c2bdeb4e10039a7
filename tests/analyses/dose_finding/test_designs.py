"""Design decisions and estimates on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analyses.dose_finding import (
    BOIN,
    CRM,
    MTPI2,
    I3Plus3,
    ThreePlusThree,
    getprior,
    isotonic_regression,
)


def test_isotonic_by_hand() -> None:
    # 0.3 > 0.2 violate: pooled (0.3 + 0.2) / 2 = 0.25
    np.testing.assert_allclose(
        isotonic_regression([0.1, 0.3, 0.2, 0.5]), [0.1, 0.25, 0.25, 0.5]
    )
    # weighted pool: (1 * 0.3 + 3 * 0.1) / 4 = 0.15
    np.testing.assert_allclose(isotonic_regression([0.3, 0.1], [1, 3]), [0.15, 0.15])
    # already monotone: unchanged
    np.testing.assert_allclose(isotonic_regression([0.1, 0.2, 0.4]), [0.1, 0.2, 0.4])


def test_boin_elimination_probabilities_by_hand() -> None:
    # Pr(p > 0.3 | 3/3, Beta(1,1)) = 1 - 0.3^4 = 0.9919 > 0.95: eliminate
    assert stats.beta.sf(0.3, 4, 1) == pytest.approx(1 - 0.3**4)
    # Pr(p > 0.3 | 2/3) = 1 - I_0.3(3, 2) = 1 - (4 * 0.3^3 - 3 * 0.3^4) = 0.9163: keep
    assert stats.beta.sf(0.3, 3, 2) == pytest.approx(1 - (4 * 0.3**3 - 3 * 0.3**4))
    boin = BOIN(0.3, 5)
    table = boin.decision_table(3).boundaries.set_index("n")
    assert table.loc[3, "eliminate_if_dlt_ge"] == 3


@pytest.mark.parametrize(
    ("n", "y", "current", "action", "next_dose"),
    [
        ([3, 0, 0, 0, 0], [0, 0, 0, 0, 0], 1, "escalate", 2),  # 0 <= floor(0.709) = 0
        ([3, 3, 0, 0, 0], [0, 1, 0, 0, 0], 2, "stay", 2),  # 1/3 between boundaries
        ([3, 3, 0, 0, 0], [0, 2, 0, 0, 0], 2, "de-escalate", 1),  # 2 >= ceil(1.076)
        ([3, 3, 0, 0, 0], [0, 3, 0, 0, 0], 2, "de-escalate", 1),  # eliminated
        ([3, 0, 0, 0, 0], [2, 0, 0, 0, 0], 1, "stay", 1),  # cannot de-escalate
        ([3, 0, 0, 0, 0], [3, 0, 0, 0, 0], 1, "stop", None),  # lowest dose too toxic
        ([3, 3, 3, 3, 3], [0, 0, 0, 0, 0], 5, "stay", 5),  # top dose
        ([6, 3, 0, 0, 0], [0, 3, 0, 0, 0], 1, "stay", 1),  # dose 2 eliminated
    ],
)
def test_boin_decisions(
    n: list[int], y: list[int], current: int, action: str, next_dose: int | None
) -> None:
    dec = BOIN(0.3, 5).decide(n, y, current)
    assert (dec.action, dec.next_dose) == (action, next_dose)
    assert dec.reason


def test_boin_stops_at_n_earlystop_and_max_n() -> None:
    # BOIN 2.7.2: n.earlystop ends the trial only when the decision is to stay.
    # n = 6 at dose 2: 2/6 lies between floor(0.2365 * 6) = 1 and ceil(0.3585 * 6) = 3
    boin = BOIN(0.3, 3, n_earlystop=6)
    dec = boin.decide([3, 6, 0], [0, 2, 0], 2)
    assert dec.action == "stop" and dec.next_dose is None
    # MTD: phat = 0.05/3.1 = 0.016 and 2.05/6.1 = 0.336 -> dose 2 is closest to 0.3
    assert dec.mtd == boin.select_mtd([3, 6, 0], [0, 2, 0]).mtd == 2
    # 1/6 escalates (1 <= 1), so the trial goes on despite n = 6
    assert boin.decide([3, 6, 0], [0, 1, 0], 2).next_dose == 3
    small = BOIN(0.3, 3, n_cohorts=2)
    assert small.decide([3, 3, 0], [0, 0, 0], 2).action == "stop"


def test_mtpi2_unit_probability_mass_by_hand() -> None:
    # n=1, y=0: Beta(1, 2), P(a<p<b) = (1-a)^2 - (1-b)^2. UPM of
    # [0, .05] = 0.0975/0.05 = 1.95, [.05, .15] = 0.18/0.1 = 1.8, [.15, .25] = 1.6,
    # EI [.25, .35] = 1.4, ...: the largest is below EI -> escalate
    table = MTPI2(0.3, 3).decision_table(6)
    grid = table.grid.set_index(["n", "y"])["decision"]
    assert grid[(1, 0)] == "E"


def test_mtpi2_equals_boin_at_small_n() -> None:
    """R (notes/dose_finding.md, run with escalation 0.2.3 and BOIN 2.7.2): for
    target 0.3 and eps1 = eps2 = 0.05 mTPI-2's E/S/D/DU table equals BOIN's at
    n = 1..6, 9 and 12."""
    cols = ["escalate_if_dlt_le", "deescalate_if_dlt_ge", "eliminate_if_dlt_ge"]
    m = MTPI2(0.3, 5).decision_table(12).boundaries.set_index("n")
    b = BOIN(0.3, 5).decision_table(12).boundaries.set_index("n")
    for n in (1, 2, 3, 4, 5, 6, 9, 12):
        assert m.loc[n, cols].tolist() == b.loc[n, cols].tolist(), n


@pytest.mark.parametrize(
    ("n", "y", "code"),
    [
        (3, 0, "E"),  # 0 < 0.25
        (3, 1, "S"),  # 0.333 in [0.25, 0.35]
        (3, 2, "D"),  # 0.667 > 0.35 and (2-1)/3 = 0.333 >= 0.25
        (4, 1, "S"),  # 0.25 in EI (closed)
        (4, 2, "D"),  # 0.5 > 0.35, (2-1)/4 = 0.25 not below EI
        (5, 2, "S"),  # 0.4 > 0.35 but (2-1)/5 = 0.2 < 0.25
        (6, 1, "E"),  # 0.167 < 0.25
        (6, 3, "D"),  # 0.5, (3-1)/6 = 0.333
    ],
)
def test_i3plus3_rules_by_hand(n: int, y: int, code: str) -> None:
    grid = I3Plus3(0.3, 3).decision_table(6).grid.set_index(["n", "y"])["decision"]
    assert grid[(n, y)] == code


@pytest.mark.parametrize(
    ("deesc", "n", "y", "current", "action", "next_dose", "mtd"),
    [
        (True, [3, 0, 0], [0, 0, 0], 1, "escalate", 2, None),
        (True, [3, 3, 0], [0, 1, 0], 2, "stay", 2, None),
        (True, [3, 6, 0], [0, 1, 0], 2, "escalate", 3, None),
        (True, [3, 6, 3], [0, 1, 2], 3, "stop", None, 2),
        (False, [3, 6, 3], [0, 1, 2], 3, "stop", None, 2),
        (True, [3, 3, 3], [0, 0, 2], 3, "de-escalate", 2, None),
        (False, [3, 3, 3], [0, 0, 2], 3, "stop", None, 2),
        (True, [3, 6, 3], [0, 0, 2], 2, "stop", None, 2),
        (True, [3, 6, 3], [0, 2, 2], 2, "de-escalate", 1, None),
        (True, [3, 0, 0], [2, 0, 0], 1, "stop", None, None),
        (True, [3, 3, 3], [0, 0, 0], 3, "stop", None, 3),
    ],
)
def test_three_plus_three_decisions(
    deesc: bool,
    n: list[int],
    y: list[int],
    current: int,
    action: str,
    next_dose: int | None,
    mtd: int | None,
) -> None:
    dec = ThreePlusThree(3, allow_deescalation=deesc).decide(n, y, current)
    assert (dec.action, dec.next_dose, dec.mtd) == (action, next_dose, mtd)


def test_three_plus_three_select_mtd() -> None:
    tpt = ThreePlusThree(3)
    assert tpt.select_mtd([3, 6, 3], [0, 1, 2]).mtd == 2
    assert tpt.select_mtd([6, 3, 0], [2, 0, 0]).mtd is None
    esc_only = ThreePlusThree(3, allow_deescalation=False)
    assert esc_only.select_mtd([3, 3, 3], [0, 0, 2]).mtd == 2


def test_crm_no_skip_and_coherence() -> None:
    """R (notes/dose_finding.md): dfcrm crm() after 1NNN with a
    getprior(0.05, 0.3, 3, 5) skeleton recommends dose 5; crmsim(restrict=TRUE)
    caps escalation at +1."""
    sk = getprior(0.05, 0.3, 3, 5)
    free = CRM(sk, 0.3, no_skip=False, coherence=False)
    assert free.decide([3, 0, 0, 0, 0], [0] * 5, 1, last_cohort_dlts=0).next_dose == 5
    restricted = CRM(sk, 0.3)
    assert (
        restricted.decide([3, 0, 0, 0, 0], [0] * 5, 1, last_cohort_dlts=0).next_dose
        == 2
    )
    # coherence: 1/3 at dose 2 (rate 0.33 >= 0.3) forbids escalating above dose 2
    n, y = [3, 3, 0, 0, 0], [0, 1, 0, 0, 0]
    unrestricted = free.decide(n, y, 2, last_cohort_dlts=1).next_dose
    assert unrestricted is not None and unrestricted > 2
    dec = restricted.decide(n, y, 2, last_cohort_dlts=1)
    assert dec.next_dose == 2 and "Coherence" in dec.reason


def test_crm_mle_matches_a_direct_maximisation() -> None:
    # MLE of a on the dfcrm help data: maximise the log-likelihood on a fine grid
    sk = [0.05, 0.1, 0.2, 0.35, 0.5, 0.7]
    tox = np.array([0, 0, 1, 0, 0, 1, 1, 0, 0, 0])
    level = np.array([3, 4, 4, 3, 3, 4, 3, 2, 2, 2]) - 1
    grid = np.linspace(-3, 3, 60_001)
    p = np.asarray(sk)[level][None, :] ** np.exp(grid)[:, None]
    ll = (tox * np.log(p) + (1 - tox) * np.log1p(-p)).sum(axis=1)
    fit = CRM(sk, 0.2, method="mle").fit(level + 1, tox)
    assert fit.estimate_a == pytest.approx(grid[ll.argmax()], abs=1e-4)


def test_decision_provenance_and_frame() -> None:
    dec = BOIN(0.3, 5).decide([3, 0, 0, 0, 0], [0] * 5, 1)
    frame = dec.to_frame().set_index("stat")["value"]
    assert frame["next_dose"] == 2 and frame["stop"] == 0
    assert dec.provenance.parameters["target"] == 0.3
    with pytest.raises(ValueError, match="one entry per dose"):
        BOIN(0.3, 5).decide([3], [0], 1)
    with pytest.raises(ValueError, match="0 <= y <= n"):
        BOIN(0.3, 2).decide([3, 0], [4, 0], 1)


def test_crm_safety_stop_probability_against_quadrature() -> None:
    # Pr(p_1 > 0.35 | data) = Pr(a < log(log 0.35 / log s_1)) for the empiric model,
    # integrated here directly with scipy quad over prior x likelihood
    import math

    from scipy import integrate

    sk = getprior(0.05, 0.3, 3, 5)
    crm = CRM(sk, 0.3, toxic_threshold=0.35, toxic_confidence=0.8)
    for n, y in (
        ([3, 0, 0, 0, 0], [2, 0, 0, 0, 0]),
        ([6, 3, 0, 0, 0], [2, 1, 0, 0, 0]),
    ):
        sn, sy = np.array(n), np.array(y)

        def h(a: float, sn: np.ndarray = sn, sy: np.ndarray = sy) -> float:
            log_p = math.exp(a) * np.log(sk)  # log of sk ** exp(a), no underflow
            ll = sy * log_p + (sn - sy) * np.log(-np.expm1(log_p))
            return math.exp(float(np.where(sn > 0, ll, 0.0).sum()) - a * a / (2 * 1.34))

        a_star = math.log(math.log(0.35) / math.log(sk[0]))
        want = integrate.quad(h, -15, a_star)[0] / integrate.quad(h, -15, 15)[0]
        assert crm.prob_lowest_too_toxic(n, y) == pytest.approx(want, abs=1e-5)
    # 3/3 at dose 1: Pr = 0.949 > 0.8, stop with no MTD
    dec = crm.decide([3, 0, 0, 0, 0], [3, 0, 0, 0, 0], 1, last_cohort_dlts=3)
    assert (dec.action, dec.next_dose, dec.mtd) == ("stop", None, None)


def test_three_plus_three_incomplete_cohort() -> None:
    # 2 evaluable patients at the current dose: the rule needs 3 or 6
    dec = ThreePlusThree(3).decide([2, 0, 0], [0, 0, 0], 1)
    assert (dec.action, dec.next_dose) == ("stay", 1)
    assert "need 3 or 6" in dec.reason
    # 2 DLTs among 2 already make the dose too toxic
    assert ThreePlusThree(3).decide([2, 0, 0], [2, 0, 0], 1).action == "stop"


def test_boin_estimates_aligned_by_dose_with_untreated_gap() -> None:
    """notes/dose_finding.md pitfall 2: BOIN 2.7.2 select.mtd prints dose 2 with dose
    3's CI and dose 4 with (NA, NA) for n = (0, 3, 6, 3), y = (0, 0, 1, 2). Here each
    dose gets its own interval: dose 2 (0/3) has the Beta(0.05, 3.05) interval that R
    reports for 0/3 doses in select.mtd case 1 (2.05175098448e-33, 0.196038970916)."""
    from scipy import stats

    est = (
        BOIN(0.3, 4).select_mtd([0, 3, 6, 3], [0, 0, 1, 2]).estimates.set_index("dose")
    )
    assert np.isnan(est.loc[1, "phat"])
    assert est.loc[2, "lower"] == pytest.approx(2.05175098448e-33, rel=1e-6)
    assert est.loc[2, "upper"] == pytest.approx(0.196038970916, abs=1e-9)
    # raw estimates 0.0161, 0.1721, 0.6613 are already monotone: no pooling
    assert est.loc[4, "phat"] == pytest.approx(2.05 / 3.1)
    assert est.loc[4, "lower"] == pytest.approx(stats.beta.ppf(0.025, 2.05, 1.05))
    assert est.loc[4, "upper"] == pytest.approx(stats.beta.ppf(0.975, 2.05, 1.05))
