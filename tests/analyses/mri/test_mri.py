from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import analyses.mri.rate_ratio as rate_ratio_module
from analyses.mri import (
    compute_edss_threshold,
    derive_scan_flags,
    estimate_lesion_rate_ratio,
    summarize_neda3,
    summarize_new_lesions,
    summarize_pbvc,
)

NA = pd.NA


def _scans() -> pd.DataFrame:
    rows = [
        # subject, route, date, gd, t2, pbvc, scanner, protocol, pipeline
        ("R1", "ID", "2024-01-01", 2, NA, None, "SC1", "P1", "long"),
        ("R1", "ID", "2024-07-01", 1, 3, -0.5, "SC1", "P1", "long"),
        ("R1", "ID", "2025-01-01", 0, 1, -0.4, "SC1", "P1", "long"),
        ("R2", "ID", "2024-01-01", 5, NA, None, "SC1", "P1", "long"),
        ("R2", "ID", "2024-12-31", 0, 0, -0.3, "SC1", "P1", "long"),
        ("R3", "IN", "2024-02-01", 0, NA, None, "SC2", "P1", "long"),
        ("R3", "IN", "2024-08-01", 2, 2, -1.0, "SC2", "P1", "long"),
        ("R3", "IN", "2025-01-31", NA, 1, -0.2, "SC3", "P1", "long"),
        ("R4", "IN", "2024-03-01", 1, NA, None, "SC2", "P1", "cross"),
        ("R5", "IN", "2024-03-01", 0, NA, None, "SC2", "P1", "long"),
        ("R5", "IN", "2024-09-01", 0, 0, -0.6, "SC2", "P1", "cross"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "subject_id",
            "route",
            "scan_date",
            "gd_lesions",
            "new_enlarging_t2_lesions",
            "pbvc_pct",
            "scanner_id",
            "protocol_id",
            "pipeline",
        ],
    )
    frame["scan_date"] = pd.to_datetime(frame["scan_date"])
    frame["gd_lesions"] = frame["gd_lesions"].astype("Int64")
    frame["new_enlarging_t2_lesions"] = frame["new_enlarging_t2_lesions"].astype(
        "Int64"
    )
    frame["pbvc_pct"] = frame["pbvc_pct"].astype(float)
    return frame


def _get(frame: pd.DataFrame, stat: str, **where: object) -> float:
    sel = frame["stat"] == stat
    for col, val in where.items():
        sel &= frame[col] == val
    vals = frame.loc[sel, "value"]
    assert len(vals) == 1, (stat, where)
    return float(vals.iloc[0])


def test_scan_flags() -> None:
    flags = derive_scan_flags(_scans()).set_index(["subject_id", "scan_date"])
    assert bool(flags.loc[("R3", pd.Timestamp("2025-01-31")), "scanner_changed"])
    assert not bool(flags.loc[("R3", pd.Timestamp("2024-08-01")), "longitudinal_flag"])
    # R5 follow-up reports a PBVC from the cross pipeline after a long scan -> mixed
    assert bool(flags.loc[("R5", pd.Timestamp("2024-09-01")), "pipeline_mixed"])
    assert not bool(flags.loc[("R4", pd.Timestamp("2024-03-01")), "longitudinal_flag"])
    assert flags["is_baseline"].sum() == 5


def test_new_lesion_counts_and_annualised_rates() -> None:
    res = summarize_new_lesions(_scans(), "route")
    subj = res.subjects.set_index("subject_id")
    # R1: baseline Gd 2 excluded; Gd 1 + 0 = 1; T2 3 + 1 = 4;
    # 2024-01-01 -> 2025-01-01 = 366 d
    assert subj.loc["R1", "new_gd"] == 1
    assert subj.loc["R1", "new_t2"] == 4
    assert subj.loc["R1", "follow_up_days"] == 366
    # R3: Gd 2 + missing = 2; T2 2 + 1 = 3; 2024-02-01 -> 2025-01-31 = 365 d
    assert (subj.loc["R3", "new_gd"], subj.loc["R3", "new_t2"]) == (2, 3)
    # R4 has no follow-up scan
    assert subj.loc["R4", "follow_up_days"] == 0
    assert math.isnan(subj.loc["R4", "new_t2"])
    f = res.to_frame()
    # ID new T2: (4 + 0) / ((366 + 365) / 365.25) years
    assert _get(f, "annualised_rate", route="ID", lesion="new_t2") == pytest.approx(
        4 / (731 / 365.25), rel=1e-12
    )
    assert _get(f, "n_subjects", route="ID", lesion="new_t2") == 2
    # IN new T2: R3 3 over 365 d, R5 0 over 184 d (2024-03-01 -> 09-01); R4 excluded
    assert _get(f, "annualised_rate", route="IN", lesion="new_t2") == pytest.approx(
        3 / (549 / 365.25), rel=1e-12
    )
    assert _get(f, "n_active", route="IN", lesion="new_combined") == 1
    # days_per_year parameter: 365 gives 4 / (731/365)
    f365 = summarize_new_lesions(_scans(), "route", days_per_year=365.0).to_frame()
    assert _get(f365, "annualised_rate", route="ID", lesion="new_t2") == pytest.approx(
        4 / (731 / 365), rel=1e-12
    )


def test_pbvc_summary_excludes_flagged_intervals() -> None:
    res = summarize_pbvc(_scans(), "route")
    subj = res.subjects.set_index("subject_id")
    # R1: (-0.5 - 0.4) over (182 + 184) days -> -0.9 * 365.25 / 366
    assert subj.loc["R1", "annualised_pbvc_pct"] == pytest.approx(-0.9 * 365.25 / 366)
    # R3: the scanner-changed interval is excluded: -1.0 over 182 days
    assert subj.loc["R3", "annualised_pbvc_pct"] == pytest.approx(-1.0 * 365.25 / 182)
    assert "R5" not in subj.index  # only a mixed-pipeline interval
    f = res.to_frame()
    r1, r2 = -0.9 * 365.25 / 366, -0.3 * 365.25 / 365
    assert _get(f, "mean", route="ID") == pytest.approx((r1 + r2) / 2)
    assert _get(f, "sd", route="ID") == pytest.approx(abs(r1 - r2) / math.sqrt(2))
    assert _get(f, "n_excluded", route="IN") == 2
    # not excluding: R3 -1.2 over 365 days
    kept = summarize_pbvc(_scans(), "route", exclude_flagged=False).subjects
    r3 = kept.set_index("subject_id").loc["R3", "annualised_pbvc_pct"]
    assert r3 == pytest.approx(-1.2 * 365.25 / 365)
    # interval annualisation: R1 first interval -0.5 over 182 days
    iv = res.intervals
    first = iv.loc[(iv["subject_id"] == "R1")].iloc[0]
    assert first["annualised_pbvc_pct"] == pytest.approx(-0.5 * 365.25 / 182)


def _per_subject(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 40
    route = np.where(np.arange(n) % 2 == 0, "INTRADERMAL", "INTRANODAL")
    years = rng.uniform(0.5, 2.0, n)
    mu = years * np.where(route == "INTRADERMAL", 2.0, 0.8)
    lam = rng.gamma(shape=1 / 0.7, scale=0.7 * mu)  # NB2 with alpha 0.7
    counts = rng.poisson(lam)
    return pd.DataFrame(
        {
            "subject_id": [f"S{i}" for i in range(n)],
            "route": route,
            "follow_up_years": years,
            "new_t2": counts.astype(float),
        }
    )


def test_nb2_rate_ratio_against_statsmodels_formula_fit() -> None:
    data = _per_subject()
    res = estimate_lesion_rate_ratio(data, "route", count="new_t2")
    # Newton-Raphson to a 1e-12 step: the MLE itself (statsmodels' default BFGS stops
    # at a gradient of ~3e-4 here, 3e-5 away in the rate ratio, and where it stops
    # depends on the BLAS kernel)
    ref = sm.NegativeBinomial.from_formula(
        "new_t2 ~ C(route)",
        data,
        offset=np.log(data["follow_up_years"]),
        loglike_method="nb2",
    ).fit(disp=0, method="newton", maxiter=100, tol=1e-12)
    assert np.abs(ref.model.score(ref.params.to_numpy())).max() < 1e-10
    b = ref.params.iloc[1]
    se = ref.bse.iloc[1]
    f = res.to_frame()
    assert _get(f, "rate_ratio", route="INTRANODAL") == pytest.approx(
        math.exp(b), rel=1e-10
    )
    assert _get(f, "lower", route="INTRANODAL") == pytest.approx(
        math.exp(b - 1.959963984540054 * se), rel=1e-8
    )
    assert _get(f, "p_value", route="INTRANODAL") == pytest.approx(
        ref.pvalues.iloc[1], rel=1e-8
    )
    assert res.alpha == pytest.approx(ref.params.iloc[-1], rel=1e-10)
    assert _get(f, "rate", route="INTRADERMAL") == pytest.approx(
        math.exp(ref.params.iloc[0]), rel=1e-10
    )
    assert not res.poisson_limit and res.converged and res.note == ""


def test_nb2_equal_follow_up_rate_ratio_is_ratio_of_means() -> None:
    # equal exposure: the NB2 score for each group intercept is
    # sum((y - mu)/(1 + a mu)) = 0
    # with a common mu, so mu = group mean whatever alpha: RR = mean(B) / mean(A)
    data = pd.DataFrame(
        {
            "route": ["A"] * 5 + ["B"] * 5,
            "new_t2": [0, 1, 6, 2, 9, 0, 0, 1, 3, 0],
            "follow_up_years": 2.0,
        }
    )
    res = estimate_lesion_rate_ratio(data, "route")
    f = res.to_frame()
    # mean A = 18/5 = 3.6, mean B = 4/5 = 0.8 -> RR 0.8/3.6 = 2/9;
    # rate A = 3.6 / 2 years
    assert _get(f, "rate_ratio", route="B") == pytest.approx(2 / 9, rel=1e-5)
    assert _get(f, "rate", route="A") == pytest.approx(1.8, rel=1e-5)
    assert res.alpha > 0


def test_poisson_rate_ratio_hand_computed() -> None:
    data = _per_subject()
    res = estimate_lesion_rate_ratio(data, "route", model="poisson")
    f = res.to_frame()
    tot = data.groupby("route")[["new_t2", "follow_up_years"]].sum()
    y0, t0 = tot.loc["INTRADERMAL"]
    y1, t1 = tot.loc["INTRANODAL"]
    # Poisson MLE: RR = (y1/t1)/(y0/t0); SE(log RR) = sqrt(1/y1 + 1/y0)
    rr = (y1 / t1) / (y0 / t0)
    se = math.sqrt(1 / y1 + 1 / y0)
    assert _get(f, "rate_ratio", route="INTRANODAL") == pytest.approx(rr, rel=1e-6)
    assert _get(f, "upper", route="INTRANODAL") == pytest.approx(
        rr * math.exp(1.959963984540054 * se), rel=1e-5
    )
    assert res.alpha == 0.0


def test_edss_thresholds() -> None:
    out = compute_edss_threshold(pd.Series([0.0, 1.0, 5.0, 5.5, 7.0, np.nan]))
    assert out.tolist()[:5] == [1.5, 1.0, 1.0, 0.5, 0.5]
    assert math.isnan(out.iloc[5])


def test_neda3() -> None:
    d0 = pd.Timestamp("2024-01-10")

    def day(n: int) -> pd.Timestamp:
        return d0 + pd.Timedelta(days=n)

    rows = [
        # N1: baseline 0; 1.5 at d180 and 2.0 at d300 -> +1.5 sustained 120 d >= 84: CDP
        ("N1", day(-5), 0.0, False),
        ("N1", day(90), 1.0, False),
        ("N1", day(180), 1.5, False),
        ("N1", day(300), 2.0, False),
        # N2: baseline 2.0; 3.0 at d100 not sustained (2.5 at d200), 3.0 at d300 last
        ("N2", day(-5), 2.0, False),
        ("N2", day(100), 3.0, False),
        ("N2", day(200), 2.5, False),
        ("N2", day(300), 3.0, False),
        # N3: baseline 6.0; 6.5 for d100-d150 only (50 d) -> no CDP; relapse at d120
        ("N3", day(-5), 6.0, False),
        ("N3", day(100), 6.5, False),
        ("N3", day(120), 6.5, True),
        ("N3", day(150), 6.5, False),
        ("N3", day(250), 6.0, False),
        # N4: stable, no relapse, but MRI activity
        ("N4", day(-5), 3.0, False),
        ("N4", day(200), 3.0, False),
        # N5: baseline only -> relapse and EDSS not evaluable
        ("N5", day(-5), 1.0, NA),
    ]
    assessments = pd.DataFrame(
        rows, columns=["subject_id", "assessment_date", "edss", "relapse"]
    )
    assessments["relapse"] = assessments["relapse"].astype("boolean")
    lesions = pd.DataFrame(
        {
            "subject_id": ["N1", "N2", "N3", "N4", "N5"],
            "route": ["A", "A", "B", "B", "B"],
            "new_gd": [0.0, 0.0, 0.0, 0.0, 0.0],
            "new_t2": [0.0, 0.0, 0.0, 1.0, 0.0],
        }
    )
    adm = pd.DataFrame(
        {"subject_id": ["N1", "N2", "N3", "N4", "N5"], "admin_date": d0, "given": True}
    )
    res = summarize_neda3(assessments, lesions, "route", administrations=adm)
    subj = res.subjects.set_index("subject_id")
    assert subj["confirmed_progression"].tolist()[:4] == [True, False, False, False]
    assert subj["neda3"].tolist()[:4] == [False, True, False, False]
    assert pd.isna(subj.loc["N5", "neda3"])
    f = res.to_frame()
    # A: 1 of 2 NEDA-3 -> binom.test(1, 2) CI [0.01257912, 0.98742088]
    assert _get(f, "proportion", route="A") == 0.5
    assert _get(f, "lower", route="A") == pytest.approx(0.01257912, abs=5e-9)
    assert _get(f, "n_evaluable", route="B") == 2
    assert _get(f, "n_neda3", route="B") == 0
    # without relapse data nobody without another failing component is evaluable
    no_relapse = summarize_neda3(
        assessments.drop(columns="relapse"), lesions, "route", administrations=adm
    ).subjects.set_index("subject_id")
    assert no_relapse["neda3"].isna().tolist() == [False, True, True, False, True]
    # confirmation of 130 days: N1's 120-day run no longer confirms
    longer = summarize_neda3(
        assessments, lesions, "route", administrations=adm, confirmation_days=130
    )
    assert not bool(
        longer.subjects.set_index("subject_id").loc["N1", "confirmed_progression"]
    )


def test_same_results_with_arrow_string_columns() -> None:
    scans = _scans()
    arrow = scans.copy()
    for col in ("subject_id", "route", "scanner_id", "protocol_id", "pipeline"):
        arrow[col] = arrow[col].astype("string[pyarrow]")
    flags_a = derive_scan_flags(arrow)["longitudinal_flag"].astype(bool).tolist()
    assert flags_a == derive_scan_flags(scans)["longitudinal_flag"].tolist()
    a = summarize_new_lesions(arrow, "route").to_frame()["value"].tolist()
    b = summarize_new_lesions(scans, "route").to_frame()["value"].tolist()
    assert a == b
    pa_ = summarize_pbvc(arrow, "route").to_frame()["value"].tolist()
    pb_ = summarize_pbvc(scans, "route").to_frame()["value"].tolist()
    assert np.allclose(pa_, pb_, equal_nan=True)


def _underdispersed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "route": ["A"] * 6 + ["B"] * 6,
            "new_t2": [2, 3, 2, 3, 2, 3, 1, 1, 2, 1, 1, 2],
            "follow_up_years": [1.0, 1.5] * 6,
        }
    )


def test_nb2_poisson_limit_with_underdispersed_counts() -> None:
    # Counts less variable than Poisson: the NB2 dispersion MLE sits at its boundary 0,
    # where the information matrix is singular (statsmodels gives no covariance, or
    # stops at a kernel-dependent alpha ~1e-8), so NB2 reduces to Poisson:
    # RR = (8 / 7.5) / (15 / 7.5) = 8/15, SE(log RR) = sqrt(1/8 + 1/15).
    # sum((y - mu)^2 - y) at the Poisson fit: A mu = 2, 3 -> 3 * (0 + 0) - 15 = -15;
    # B mu = 16/15, 24/15 -> negative as well.
    data = _underdispersed()
    res = estimate_lesion_rate_ratio(data, "route")
    f = res.to_frame()
    assert res.model == "nb2"
    assert res.poisson_limit
    assert res.converged
    assert res.alpha == 0.0
    assert "NB2 reduces to Poisson" in res.note and "alpha = 0" in res.note
    assert _get(f, "rate_ratio", route="B") == pytest.approx(8 / 15, rel=1e-12)
    se = math.sqrt(1 / 8 + 1 / 15)
    assert _get(f, "upper", route="B") == pytest.approx(
        8 / 15 * math.exp(1.959963984540054 * se), rel=1e-12
    )
    assert _get(f, "lower", route="B") == pytest.approx(
        8 / 15 * math.exp(-1.959963984540054 * se), rel=1e-12
    )
    assert _get(f, "p_value", route="B") == pytest.approx(
        2 * stats.norm.sf(abs(math.log(8 / 15)) / se), rel=1e-12
    )
    assert _get(f, "rate", route="A") == pytest.approx(15 / 7.5, rel=1e-12)
    # the same numbers as the Poisson model, which has no note
    poisson = estimate_lesion_rate_ratio(data, "route", model="poisson")
    assert poisson.to_frame()["value"].tolist() == f["value"].tolist()
    assert not poisson.poisson_limit and poisson.note == ""


def test_group_without_counts_has_rate_zero_and_no_interval() -> None:
    # B has no lesions: its MLE rate is 0 (log rate -inf), no Wald interval; A and
    # alpha are fitted on A alone (a group of zeros adds 0 to the log-likelihood)
    data = pd.DataFrame(
        {
            "route": ["A"] * 6 + ["B"] * 6,
            "new_t2": [0, 5, 2, 9, 0, 3, 0, 0, 0, 0, 0, 0],
            "follow_up_years": [1.0, 1.5] * 6,
        }
    )
    for model in ("nb2", "poisson"):
        res = estimate_lesion_rate_ratio(data, "route", model=model)
        f = res.to_frame()
        assert res.converged
        assert "No new_t2 counts in route ['B']" in res.note
        assert _get(f, "rate", route="B") == 0.0
        assert _get(f, "rate_ratio", route="B") == 0.0
        for stat in ("rate_lower", "rate_upper", "lower", "upper", "p_value"):
            assert math.isnan(_get(f, stat, route="B"))
        a_only = estimate_lesion_rate_ratio(
            data[data["route"] == "A"].assign(route=lambda d: d["route"] + "x"),
            "route",
            model=model,
        )
        assert _get(f, "rate", route="A") == pytest.approx(
            _get(a_only.to_frame(), "rate", route="Ax"), rel=1e-10
        )
        assert res.alpha == pytest.approx(a_only.alpha, rel=1e-10)
    # Poisson: rate A = 19 / 7.5
    assert _get(f, "rate", route="A") == pytest.approx(19 / 7.5, rel=1e-12)
    # a reference without counts: the rate ratio is infinite, no interval
    res = estimate_lesion_rate_ratio(data, "route", reference="B")
    f = res.to_frame()
    assert _get(f, "rate_ratio", route="A") == math.inf
    assert math.isnan(_get(f, "lower", route="A"))
    assert _get(f, "rate", route="B") == 0.0


def test_failed_nb2_fit_is_an_answer_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Failing:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def fit(self, *args: object, **kwargs: object) -> None:
            raise ValueError(
                "need covariance of parameters for computing (unnormalized) covariances"
            )

    monkeypatch.setattr(rate_ratio_module, "NegativeBinomial", Failing)
    res = estimate_lesion_rate_ratio(_per_subject(), "route")
    f = res.to_frame()
    assert not res.converged
    assert math.isnan(res.alpha)
    assert "NB2 fit failed" in res.note
    assert f.loc[f["stat"] != "n", "value"].isna().all()
    assert _get(f, "n", route="INTRANODAL") == 20


@pytest.mark.parametrize("data_fn", [_per_subject, _underdispersed])
def test_rate_ratio_unchanged_by_ulp_perturbation_and_row_order(
    data_fn: Callable[[], pd.DataFrame],
) -> None:
    data = data_fn()
    base = estimate_lesion_rate_ratio(data, "route")
    rng = np.random.default_rng(11)
    # every follow-up a few ulps up or down, rows shuffled
    years = data["follow_up_years"].to_numpy(dtype=float)
    steps = rng.integers(-3, 4, years.size)
    for _ in range(3):
        years = np.where(
            steps > 0,
            np.nextafter(years, np.inf),
            np.where(steps < 0, np.nextafter(years, -np.inf), years),
        )
    moved = data.assign(follow_up_years=years).iloc[rng.permutation(len(data))]
    res = estimate_lesion_rate_ratio(moved, "route")
    assert res.poisson_limit == base.poisson_limit
    assert res.converged and base.converged
    assert res.alpha == pytest.approx(base.alpha, rel=1e-10, abs=1e-12)
    a = base.to_frame()
    b = res.to_frame()
    assert a[["route", "stat"]].equals(b[["route", "stat"]])
    np.testing.assert_allclose(b["value"], a["value"], rtol=1e-10)


_KERNEL_SCRIPT = """
import json, sys
import pandas as pd
from analyses.mri import estimate_lesion_rate_ratio
out = []
for rows in json.loads(sys.stdin.read()):
    res = estimate_lesion_rate_ratio(pd.DataFrame(rows), "route")
    f = res.to_frame()
    values = {f"{g}/{s}": v for g, s, v in zip(f["route"], f["stat"], f["value"])}
    out.append({"values": values, "alpha": res.alpha,
                "limit": res.poisson_limit, "note": res.note})
print(json.dumps(out))
"""


def test_rate_ratio_same_with_every_blas_kernel_and_thread_count(
    blas_variants: Callable[[str, str], list[tuple[dict[str, str], str]]],
) -> None:
    # The failure this guards against: the NB2 fit of the underdispersed counts
    # raised "need covariance of parameters" with OpenBLAS's SkylakeX kernel and
    # returned alpha ~3e-8 with the Haswell one.
    frames = [_per_subject().to_dict("list"), _underdispersed().to_dict("list")]
    runs = blas_variants(_KERNEL_SCRIPT, json.dumps(frames))
    assert len(runs) >= 2
    first = json.loads(runs[0][1])
    assert first[1]["limit"] and first[1]["alpha"] == 0.0
    assert first[1]["values"]["B/rate_ratio"] == pytest.approx(8 / 15, rel=1e-12)
    for env, text in runs[1:]:
        other = json.loads(text)
        for x, y in zip(first, other, strict=True):
            assert (x["limit"], x["note"]) == (y["limit"], y["note"]), env
            assert x["values"].keys() == y["values"].keys()
            np.testing.assert_allclose(
                list(y["values"].values()), list(x["values"].values()), rtol=1e-10
            )
            assert y["alpha"] == pytest.approx(x["alpha"], rel=1e-10, abs=0), env
