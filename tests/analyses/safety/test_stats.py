import math

import numpy as np
import pandas as pd
import pytest

from analyses.safety.stats import (
    clopper_pearson,
    fisher_exact_p,
    fisher_exact_p_many,
    format_p_value,
    round_value,
)


def test_fisher_tea_tasting_matches_r():
    # R: fisher.test(matrix(c(3, 1, 1, 3), 2))$p.value = 0.4857143
    # margins 4/4 of 8: P(a=0..4) = 1, 16, 36, 16, 1 (/70); tables no more likely than
    # the observed a=3 (16/70) are a=0,1,3,4 -> (1 + 16 + 16 + 1) / 70 = 34/70
    assert fisher_exact_p(3, 1, 1, 3) == pytest.approx(34 / 70, rel=1e-12)


def test_fisher_one_event_against_none_matches_cdisc_pilot():
    # CDISC pilot Table 14-5.02: 0/86 placebo vs 1/84 low dose -> p = 0.494.
    # One event among 170 subjects: P(it falls in the low-dose arm) = 84/170 = 0.494118;
    # the other table (event in placebo, 86/170) is more likely, so p = 84/170.
    assert fisher_exact_p(1, 83, 0, 86) == pytest.approx(84 / 170, rel=1e-12)
    assert format_p_value(fisher_exact_p(2, 82, 0, 86)) == "0.243"


def test_fisher_many_reuses_identical_tables():
    p = fisher_exact_p_many(
        pd.Series([1, 1, 3]),
        pd.Series([84, 84, 4]),
        pd.Series([0, 0, 1]),
        pd.Series([86, 86, 4]),
    )
    assert p.tolist() == pytest.approx([84 / 170, 84 / 170, 34 / 70])


def test_clopper_pearson_closed_forms_and_r():
    # x = 0: upper = 1 - (alpha/2)^(1/n); R binom.test(0, 10): [0, 0.3084971]
    lo, hi = clopper_pearson(0, 10)
    assert lo[0] == 0.0
    assert hi[0] == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-10)
    assert hi[0] == pytest.approx(0.3084971, abs=1e-7)
    # x = n: lower = (alpha/2)^(1/n)
    lo, hi = clopper_pearson(6, 6)
    assert lo[0] == pytest.approx(0.025 ** (1 / 6), rel=1e-10)
    assert hi[0] == 1.0
    # R binom.test(3, 10)$conf.int = 0.06673951 0.65245285
    lo, hi = clopper_pearson(np.array([3]), np.array([10]))
    assert lo[0] == pytest.approx(0.06673951, abs=1e-8)
    assert hi[0] == pytest.approx(0.65245285, abs=1e-8)


def test_clopper_pearson_rejects_bad_counts():
    with pytest.raises(ValueError):
        clopper_pearson(3, 0)
    with pytest.raises(ValueError):
        clopper_pearson(5, 4)


def test_rounding_rules_differ_on_exact_half():
    # 1 of 8 subjects = 12.5 % exactly: SAS half-up shows 13, half-even shows 12
    assert round_value(12.5, 0, "half_up") == 13.0
    assert round_value(12.5, 0, "half_even") == 12.0
    # 2.675 is stored as 2.67499999...; rounding the decimal text gives 2.68 half-up
    assert round_value(2.675, 2, "half_up") == 2.68
    assert math.isnan(round_value(float("nan"), 1))


def test_p_value_display():
    assert format_p_value(1.0) == ">.99"
    assert format_p_value(0.0004) == "<.001"
    assert format_p_value(0.0966) == "0.097"
    assert format_p_value(float("nan")) == ""


def test_risk_difference_newcombe_published_examples():
    from analyses.safety.stats import risk_difference_ci

    # Newcombe (1998) Stat Med 17:873, Table II, method 10 (hybrid score):
    # 56/70 - 48/80 = 0.2000, 95% CI 0.0524 to 0.3339;
    # 9/10 - 3/10 = 0.6, 0.1705 to 0.8090
    d, lo, hi = risk_difference_ci([56, 9], [70, 10], [48, 3], [80, 10])
    assert d.tolist() == pytest.approx([0.2, 0.6])
    assert lo.tolist() == pytest.approx([0.0524, 0.1705], abs=5e-5)
    assert hi.tolist() == pytest.approx([0.3339, 0.8090], abs=5e-5)


def test_risk_difference_wald_by_hand():
    from analyses.safety.stats import risk_difference_ci

    # 15/84 - 5/86: d = 0.178571 - 0.058140 = 0.120432
    # se = sqrt(0.178571*0.821429/84 + 0.058140*0.941860/86)
    #    = sqrt(0.0017462 + 0.00063675)
    #    = 0.048816; z = 1.959964 -> +- 0.095677
    # Yates (R prop.test default): extra 0.5*(1/84 + 1/86) = 0.011766
    d, lo, hi = risk_difference_ci(15, 84, 5, 86, method="wald")
    assert d[0] == pytest.approx(0.120432, abs=1e-6)
    assert lo[0] == pytest.approx(0.120432 - 0.095677, abs=2e-6)
    assert hi[0] == pytest.approx(0.120432 + 0.095677, abs=2e-6)
    _, lo, _ = risk_difference_ci(15, 84, 5, 86, method="wald_cc")
    assert lo[0] == pytest.approx(0.120432 - 0.095677 - 0.011766, abs=2e-6)
