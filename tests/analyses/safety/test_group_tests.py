"""Between-group tests against R (tests/analyses/reference/group_tests.json).

The JSON is written by ``tests/analyses/reference/group_tests.R`` (R 4.2.2, stats):
``chisq.test`` with and without correction, ``fisher.test`` on r x c tables, ``aov`` /
``oneway.test``, ``kruskal.test`` and ``mantelhaen.test``, on inline tables and on the
CDISC pilot ADSL (read here with the project's ADaM reader).

Tolerance: 1e-6 relative on statistics, degrees of freedom and p-values. One
exception, because of how R computes it: ``fisher.test``'s 2 x 2 odds ratio and its
interval are roots found by ``uniroot`` with R's default tolerance
``.Machine$double.eps^0.25`` (1.22e-4) on the root's own scale (t in (0, 1), else
1/t), so they are compared on that scale with that tolerance; their defining equations
(conditional mean = observed; tail probabilities = alpha/2) are checked here to 1e-8.
Fisher's r x c p-value is also checked against a brute-force enumeration of every
table with the observed margins.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analyses.safety import group_tests as g
from analyses.safety._fisher_network import (
    _concentrate,
    _spread,
    fisher_rxc_pvalue,
    table_log_probability,
)
from analyses.safety.demographics import summarize_demographics

REFERENCE = json.loads(
    (Path(__file__).parents[1] / "reference" / "group_tests.json").read_text()
)
CASES = REFERENCE["cases"]
RTOL = 1e-6
UNIROOT_TOL = np.finfo(float).eps ** 0.25


def _close(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) <= RTOL * max(abs(theirs), 1e-300)


def _run(case: dict[str, Any]) -> g.GroupTest:
    test, inputs = case["test"], case["inputs"]
    if test in ("chisq", "chisq_correct"):
        return g.pearson_chisq(inputs["table"], correct=test == "chisq_correct")
    if test == "fisher":
        return g.fisher_exact_rxc(inputs["table"])
    if test in ("anova", "welch", "kruskal"):
        func = {
            "anova": g.oneway_anova,
            "welch": g.welch_anova,
            "kruskal": g.kruskal_wallis,
        }[test]
        return func(inputs["values"], inputs["groups"])
    x = np.asarray(inputs["values"], dtype=float).reshape(inputs["dim"], order="F")
    return g.cochran_mantel_haenszel(x, correct=test == "cmh_correct")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_against_r(case: dict[str, Any]) -> None:
    expected, result = case["expected"], _run(case)
    assert _close(result.p_value, expected["p_value"]), (result.p_value, expected)
    if expected.get("statistic") is not None:
        assert _close(result.statistic, expected["statistic"])
    if expected.get("parameter") is not None:
        df = np.atleast_1d(expected["parameter"])
        assert len(result.df) == len(df)
        assert all(_close(a, b) for a, b in zip(result.df, df, strict=True))
    method = expected.get("oneway_test", expected)["method"]
    assert result.method == method
    if case["test"] in ("cmh", "cmh_correct") and "estimate" in expected:
        assert _close(result.estimates["odds_ratio"], expected["estimate"])
        low, high = expected["conf_int"]
        assert _close(result.estimates["conf_low"], low)
        assert _close(result.estimates["conf_high"], high)
    frame = result.to_frame().set_index("stat")["value"]
    assert frame["p_value"] == result.p_value


def _root_scale(value: float) -> float:
    """R's uniroot scale for fisher.test's 2 x 2 odds ratio: t in (0, 1), else 1/t."""
    return value if value <= 1 else 1 / value


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c["test"] == "fisher" and "estimate" in c["expected"]],
    ids=lambda c: c["id"],
)
def test_fisher_2x2_odds_ratio(case: dict[str, Any]) -> None:
    table = np.asarray(case["inputs"]["table"], dtype=int)
    est = g.fisher_exact_rxc(table).estimates
    expected = case["expected"]
    for ours, theirs in (
        (est["odds_ratio"], expected["estimate"]),
        (est["conf_low"], expected["conf_int"][0]),
        (est["conf_high"], expected["conf_int"][1]),
    ):
        assert abs(_root_scale(ours) - _root_scale(theirs)) <= UNIROOT_TOL
    # the defining equations, exactly: conditional MLE and the two exact tails
    m, n_, big_n = table[0].sum(), table[:, 0].sum(), table.sum()
    x = table[0, 0]

    def dist(psi: float) -> Any:
        return stats.nchypergeom_fisher(big_n, n_, m, psi)

    assert dist(est["odds_ratio"]).mean() == pytest.approx(x, rel=1e-8)
    assert dist(est["conf_low"]).sf(x - 1) == pytest.approx(0.025, rel=1e-6)
    assert dist(est["conf_high"]).cdf(x) == pytest.approx(0.025, rel=1e-6)


def _brute_force_fisher(table: np.ndarray) -> float:
    """Sum the probabilities of every table with the margins, as R defines p."""
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    observed = table_log_probability(table)
    total = 0.0

    def fill(prefix: list[np.ndarray], left: np.ndarray, j: int) -> None:
        nonlocal total
        if j == len(cols) - 1:
            t = np.column_stack([*prefix, left])
            logp = table_log_probability(t)
            if logp <= observed + math.log(1 + 1e-7):
                total += math.exp(logp)
            return
        for split in itertools.product(*[range(int(v) + 1) for v in left]):
            if sum(split) == cols[j]:
                col = np.asarray(split)
                fill([*prefix, col], left - col, j + 1)

    fill([], rows.copy(), 0)
    return total


@pytest.mark.parametrize("seed", range(12))
def test_fisher_network_equals_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = [(2, 3), (3, 3), (2, 4), (3, 4)][seed % 4]
    cells = shape[0] * shape[1]
    n = int(rng.integers(6, 16))
    table = rng.multinomial(n, np.full(cells, 1 / cells)).reshape(shape)
    table[table.sum(axis=1) == 0, 0] += 1  # no empty row or column
    table[0, table.sum(axis=0) == 0] += 1
    assert fisher_rxc_pvalue(table) == pytest.approx(
        _brute_force_fisher(table), rel=1e-10
    )


def test_fisher_ties_and_symmetry() -> None:
    # symmetric tables: many tables share the observed probability
    table = np.array([[2, 1, 1], [1, 2, 1], [1, 1, 2]])
    p = fisher_rxc_pvalue(table)
    assert p == pytest.approx(_brute_force_fisher(table), rel=1e-10)
    # the same p whatever the order of rows and columns, transposed or not
    for perm_r in itertools.permutations(range(3)):
        for perm_c in itertools.permutations(range(3)):
            t = table[list(perm_r)][:, list(perm_c)]
            assert fisher_rxc_pvalue(t) == pytest.approx(p, rel=1e-12)
            assert fisher_rxc_pvalue(t.T) == pytest.approx(p, rel=1e-12)


def test_fisher_refuses_tables_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    from analyses.safety import _fisher_network

    monkeypatch.setattr(_fisher_network, "MAX_PARTIAL_TABLES", 10)
    job = next(c for c in CASES if c["id"] == "fisher_job")["inputs"]["table"]
    with pytest.raises(ValueError, match="too large for the exact test"):
        fisher_rxc_pvalue(job)


def test_fisher_degenerate_tables() -> None:
    assert fisher_rxc_pvalue([[3, 0], [4, 0]]) == 1.0
    result = g.fisher_exact_rxc([[5, 3, 2]])
    assert result.p_value == 1.0 and result.notes
    with pytest.raises(ValueError, match="non-negative integers"):
        fisher_rxc_pvalue([[1.5, 2], [3, 4]])


@pytest.mark.parametrize("seed", range(20))
def test_splits_bound_every_split(seed: int) -> None:
    """The water-filled and concentrated splits are the extreme sums of log x!."""
    from scipy.special import gammaln

    rng = np.random.default_rng(seed)
    caps = np.sort(rng.integers(0, 6, size=int(rng.integers(2, 5))))
    total = int(rng.integers(0, caps.sum() + 1))
    sums = [
        gammaln(np.asarray(x) + 1.0).sum()
        for x in itertools.product(*[range(c + 1) for c in caps])
        if sum(x) == total
    ]
    low = gammaln(_spread(np.array([total]), caps[None, :]) + 1.0).sum()
    high = gammaln(_concentrate(np.array([total]), caps[None, :]) + 1.0).sum()
    assert low == pytest.approx(min(sums)) and high == pytest.approx(max(sums))


def test_chisq_notes_and_undefined() -> None:
    r = g.pearson_chisq([[0, 0], [3, 4]])
    assert math.isnan(r.p_value) and "sums to zero" in r.notes[0]
    r = g.pearson_chisq([[3, 4, 5]])
    assert math.isnan(r.p_value) and "fewer than two" in r.notes[0]


def test_welch_and_kruskal_undefined() -> None:
    r = g.welch_anova([1.0, 2.0, 3.0], ["a", "a", "b"])
    assert math.isnan(r.p_value) and r.notes
    r = g.kruskal_wallis([2.0, 2.0, 2.0, 2.0], ["a", "a", "b", "b"])
    assert math.isnan(r.p_value) and "tied" in r.notes[-1]


def test_cmh_refuses_small_strata() -> None:
    x = np.zeros((2, 2, 2))
    x[:, :, 0] = [[2, 3], [1, 4]]
    x[0, 0, 1] = 1
    with pytest.raises(ValueError, match="must be > 1"):
        g.cochran_mantel_haenszel(x)
    empty_row = np.zeros((3, 2, 2))
    empty_row[:2, :, 0] = [[2, 3], [1, 4]]
    empty_row[:2, :, 1] = [[3, 1], [2, 2]]
    with pytest.raises(ValueError, match="singular"):
        g.cochran_mantel_haenszel(empty_row)


def test_compare_groups_drops_missing_and_names_the_variable() -> None:
    data = pd.DataFrame(
        {
            "sex": ["F", "M", "F", None, "M", "F", "M", "M"],
            "arm": ["A", "A", "A", "A", "B", "B", None, "B"],
            "age": [50.0, 61, np.nan, 47, 70, 66, 58, 64],
        }
    )
    r = g.compare_groups(data, "sex", "arm", test="fisher")
    assert r.variable == "sex" and r.n == 6
    assert any("left out" in n for n in r.notes)
    assert r.p_value == pytest.approx(fisher_rxc_pvalue([[2, 1], [1, 2]]))
    k = g.compare_groups(data, "age", "arm", test="kruskal")
    assert k.n == 6
    with pytest.raises(ValueError, match="strata"):
        g.compare_groups(data, "sex", "arm", test="cmh")
    with pytest.raises(ValueError, match="unknown test"):
        g.compare_groups(data, "sex", "arm", test="t")  # type: ignore[arg-type]


# ---------------------------------------------------------- the CDISC pilot ADSL


@pytest.fixture(scope="module")
def pilot_adsl(cdisc_pilot_dir: Path) -> pd.DataFrame:
    from trialdata.io.sdtm import read_adam

    return read_adam(cdisc_pilot_dir / "adam")["subjects"]


PILOT = REFERENCE["pilot_adsl"]["results"]


def test_demographics_tests_on_the_pilot_adsl(pilot_adsl: pd.DataFrame) -> None:
    table = summarize_demographics(
        pilot_adsl,
        "arm",
        continuous=["age", "height_cm"],
        categorical=["sex", "race", "age_group"],
        population_flag="itt",
        continuous_test={"age": "anova", "height_cm": "kruskal"},
        categorical_test={
            "sex": "fisher",
            "race": "fisher",
            "age_group": "chisq_correct",
        },
    )
    tests = table.tests.set_index("variable")
    assert int(tests.loc["age", "n"]) == REFERENCE["pilot_adsl"]["n"]
    for variable, key in (
        ("age", "age_anova"),
        ("height_cm", "height_cm_kruskal"),
        ("sex", "sex_fisher"),
        ("race", "race_fisher"),
        ("age_group", "age_group_chisq"),
    ):
        assert _close(tests.loc[variable, "p_value"], PILOT[key]["p_value"]), variable
        if PILOT[key]["statistic"] is not None:
            assert _close(tests.loc[variable, "statistic"], PILOT[key]["statistic"])
    # the long frame carries the tests; the display shows p-values; footnotes name them
    frame = table.to_frame()
    p = frame.loc[(frame["variable"] == "age") & (frame["stat"] == "p_value"), "value"]
    assert p.item() == tests.loc["age", "p_value"]
    shown = table.summary()
    assert shown.loc[shown["variable"] == "age", "p-value"].tolist()[0] == "0.593"
    notes = " ".join(table.footnotes)
    assert "age: one-way ANOVA F test" in notes
    assert "sex: Fisher's exact test" in notes and "not Total" in notes
    assert table.provenance.parameters["tests"]["race"] == "fisher"


@pytest.mark.parametrize(
    ("variable", "test", "key"),
    [
        ("age", "welch", "age_welch"),
        ("age", "kruskal", "age_kruskal"),
        ("sex", "chisq", "sex_chisq"),
        ("race", "chisq_correct", "race_chisq"),
    ],
)
def test_compare_groups_on_the_pilot_adsl(
    pilot_adsl: pd.DataFrame, variable: str, test: str, key: str
) -> None:
    itt = pilot_adsl.loc[pilot_adsl["itt"]]
    r = g.compare_groups(itt, variable, "arm", test=test)  # type: ignore[arg-type]
    assert _close(r.p_value, PILOT[key]["p_value"])
    assert _close(r.statistic, PILOT[key]["statistic"])


def test_row_order_does_not_change_a_p_value(pilot_adsl: pd.DataFrame) -> None:
    shuffled = pilot_adsl.sample(frac=1, random_state=np.random.default_rng(3))
    for variable, test in (
        ("age", "anova"),
        ("age", "welch"),
        ("age", "kruskal"),
        ("race", "fisher"),
        ("age_group", "chisq"),
    ):
        a = g.compare_groups(pilot_adsl, variable, "arm", test=test)  # type: ignore[arg-type]
        b = g.compare_groups(shuffled, variable, "arm", test=test)  # type: ignore[arg-type]
        assert b.p_value == pytest.approx(a.p_value, rel=1e-12), (variable, test)
    a = g.compare_groups(pilot_adsl, "sex", "arm", test="cmh", strata="age_group")
    b = g.compare_groups(shuffled, "sex", "arm", test="cmh", strata="age_group")
    assert b.p_value == pytest.approx(a.p_value, rel=1e-12)


def test_cmh_on_the_pilot_adsl(pilot_adsl: pd.DataFrame) -> None:
    expected = PILOT["sex_cmh_by_age_group"]
    itt = pilot_adsl.loc[pilot_adsl["itt"]]
    r = g.compare_groups(itt, "sex", "arm", test="cmh", strata="age_group")
    assert _close(r.statistic, expected["statistic"])
    assert _close(r.p_value, expected["p_value"])
    table = summarize_demographics(
        pilot_adsl,
        "arm",
        continuous=[],
        categorical=["sex"],
        population_flag="itt",
        categorical_test="cmh",
        strata="age_group",
    )
    assert _close(table.tests["p_value"].item(), expected["p_value"])
    assert "stratified by age_group" in " ".join(table.footnotes)


# ------------------------------------------------------------ demographics choices


def test_demographics_without_tests_is_unchanged(pilot_adsl: pd.DataFrame) -> None:
    plain = summarize_demographics(pilot_adsl, "arm", population_flag="itt")
    assert plain.tests.empty and "p-value" not in plain.summary()
    assert not (plain.to_frame()["stat"] == "p_value").any()
    assert not any("P-values" in f for f in plain.footnotes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"continuous_test": "fisher"}, "not a test of a continuous"),
        ({"categorical_test": "anova"}, "not a test of a categorical"),
        ({"categorical_test": {"race": "fisher"}}, "not categorical variables"),
        ({"categorical_test": "cmh"}, "needs strata"),
        ({"by": None, "continuous_test": "anova"}, "need a group column"),
    ],
)
def test_demographics_refuses_bad_choices(
    pilot_adsl: pd.DataFrame, kwargs: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {"by": "arm", "population_flag": "itt", **kwargs}
    with pytest.raises(ValueError, match=message):
        summarize_demographics(pilot_adsl, **args)


def test_tests_exclude_total_and_missing_groups() -> None:
    data = pd.DataFrame(
        {
            "safety": True,
            "arm": ["A"] * 5 + ["B"] * 5 + [None] * 3,
            "age": [50.0, 52, 55, 58, 51, 61, 66, 63, 70, 68, 10, 11, 12],
            "sex": list("FFMMFMMMFMFFF"),
        }
    )
    table = summarize_demographics(
        data, "arm", continuous_test="anova", categorical_test="fisher"
    )
    tests = table.tests.set_index("variable")
    known = data.dropna(subset=["arm"])
    assert tests.loc["age", "n"] == 10
    assert tests.loc["age", "df"] == (1.0, 8.0)
    expected = stats.f_oneway(
        known.loc[known["arm"] == "A", "age"], known.loc[known["arm"] == "B", "age"]
    ).pvalue
    assert tests.loc["age", "p_value"] == pytest.approx(expected, rel=1e-12)
    counts = pd.crosstab(known["sex"], known["arm"]).to_numpy()
    assert tests.loc["sex", "p_value"] == pytest.approx(
        stats.fisher_exact(counts).pvalue
    )


_KERNEL_SCRIPT = """
import json, sys
import numpy as np
from analyses.safety import group_tests as g
cases = json.loads(sys.stdin.read())
out = {}
for case in cases:
    t, i = case["test"], case["inputs"]
    if t == "fisher":
        r = g.fisher_exact_rxc(i["table"])
    elif t.startswith("cmh"):
        x = np.asarray(i["values"], dtype=float).reshape(i["dim"], order="F")
        r = g.cochran_mantel_haenszel(x, correct=t == "cmh_correct")
    elif t == "welch":
        r = g.welch_anova(i["values"], i["groups"])
    else:
        continue
    out[case["id"]] = [r.statistic, r.p_value, *r.df]
print(json.dumps(out))
"""


def test_same_numbers_with_every_blas_kernel_and_thread_count(
    blas_variants: Callable[[str, str], list[tuple[dict[str, str], str]]],
) -> None:
    """The I x J x K CMH solves a small linear system: no kernel may change it."""
    cases = [c for c in CASES if c["test"] in ("fisher", "cmh", "cmh_correct", "welch")]
    runs = blas_variants(_KERNEL_SCRIPT, json.dumps(cases))
    assert len(runs) >= 2
    first = json.loads(runs[0][1])
    assert len(first) == len(cases)
    for env, text in runs[1:]:
        assert json.loads(text) == first, env
