from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analyses.immunomonitoring import estimate_mixed_model


def _emm(
    frame: pd.DataFrame, group: object, visit: str, stat: str, contrast: str = "emm"
) -> float:
    sel = frame.loc[
        (frame["contrast"] == contrast)
        & (frame["dose_level"] == group)
        & (frame["visit"] == visit)
        & (frame["stat"] == stat),
        "value",
    ]
    assert len(sel) == 1
    return float(sel.iloc[0])


def _balanced() -> pd.DataFrame:
    # 2 dose levels x 3 subjects x 2 visits, every cell complete.
    y = {
        ("A1", "V1"): 1.0,
        ("A1", "V2"): 2.0,
        ("A2", "V1"): 2.0,
        ("A2", "V2"): 2.5,
        ("A3", "V1"): 3.5,
        ("A3", "V2"): 5.0,
        ("B1", "V1"): 4.0,
        ("B1", "V2"): 6.0,
        ("B2", "V1"): 5.5,
        ("B2", "V2"): 6.5,
        ("B3", "V1"): 3.0,
        ("B3", "V2"): 5.5,
    }
    rows = [
        {"subject_id": s, "visit": v, "dose_level": 1 if s[0] == "A" else 2, "y": val}
        for (s, v), val in y.items()
    ]
    return pd.DataFrame(rows)


def test_balanced_case_emm_equals_cell_mean() -> None:
    data = _balanced()
    res = estimate_mixed_model(data, "dose_level", response="y")
    f = res.to_frame()
    # balanced complete data, saturated mean model: GLS = OLS, so each EMM is the
    # cell mean
    # dose 1 V1: (1 + 2 + 3.5)/3 = 6.5/3; dose 1 V2: (2 + 2.5 + 5)/3 = 9.5/3
    # dose 2 V1: (4 + 5.5 + 3)/3 = 12.5/3; dose 2 V2: (6 + 6.5 + 5.5)/3 = 6
    assert _emm(f, 1, "V1", "estimate") == pytest.approx(6.5 / 3, rel=1e-6)
    assert _emm(f, 1, "V2", "estimate") == pytest.approx(9.5 / 3, rel=1e-6)
    assert _emm(f, 2, "V1", "estimate") == pytest.approx(12.5 / 3, rel=1e-6)
    assert _emm(f, 2, "V2", "estimate") == pytest.approx(6.0, rel=1e-6)
    # Var(cell mean) = (subject var + residual var) / 3 subjects per cell
    total = res.subject_variance + res.residual_variance
    assert _emm(f, 1, "V2", "se") == pytest.approx(math.sqrt(total / 3), rel=1e-5)
    # difference 2 - 1 at V2: 6 - 9.5/3 = 8.5/3, SE sqrt(2 * total / 3)
    assert _emm(f, 2, "V2", "estimate", "2 - 1") == pytest.approx(8.5 / 3, rel=1e-6)
    assert _emm(f, 2, "V2", "se", "2 - 1") == pytest.approx(
        math.sqrt(2 * total / 3), rel=1e-5
    )
    assert _emm(f, 1, "V1", "n") == 3
    # Wald 95% interval: estimate -/+ 1.959963984540054 * se
    est, se = _emm(f, 1, "V1", "estimate"), _emm(f, 1, "V1", "se")
    assert _emm(f, 1, "V1", "lower") == pytest.approx(
        est - 1.959963984540054 * se, rel=1e-12
    )


def test_against_statsmodels_formula_fit() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for i in range(12):
        dose = 1 + i % 3
        u = rng.normal(0, 0.6)
        for j, visit in enumerate(["V1", "V2", "V3"]):
            if (i, j) in {(1, 2), (4, 1), (8, 2)}:
                continue  # unbalanced: missing visits
            rows.append(
                {
                    "subject_id": f"S{i:02d}",
                    "visit": visit,
                    "dose_level": dose,
                    "log_value": 1.0 + 0.3 * j * dose + u + rng.normal(0, 0.4),
                }
            )
    data = pd.DataFrame(rows)
    res = estimate_mixed_model(data, "dose_level")
    ref = smf.mixedlm(
        "log_value ~ C(visit) * C(dose_level)", data, groups=data["subject_id"]
    ).fit(reml=True)
    k = len(ref.fe_params)
    cov = np.asarray(ref.cov_params())[:k, :k]
    exog = np.asarray(ref.model.exog)
    f = res.to_frame()
    for (dose, visit), idx in data.groupby(["dose_level", "visit"]).groups.items():
        lvec = exog[idx[0]]
        assert _emm(f, dose, visit, "estimate") == pytest.approx(
            float(lvec @ ref.fe_params), rel=1e-5
        )
        assert _emm(f, dose, visit, "se") == pytest.approx(
            float(np.sqrt(lvec @ cov @ lvec)), rel=1e-4
        )
        assert _emm(f, dose, visit, "exp_estimate") == pytest.approx(
            math.exp(float(lvec @ ref.fe_params)), rel=1e-5
        )
    assert res.residual_variance == pytest.approx(ref.scale, rel=1e-4)
    assert res.subject_variance == pytest.approx(float(ref.cov_re.iloc[0, 0]), rel=1e-3)
    assert res.provenance.parameters["reml"] is True
