from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from analyses.immunomonitoring import (
    compute_clopper_pearson,
    derive_change_from_baseline,
    derive_fraction,
    plot_mean_ci,
    plot_spider,
    summarize_immunomonitoring,
    summarize_kinetics,
    summarize_mrd_negativity,
)


def _nk() -> pd.DataFrame:
    rows = [
        ("N1", 1, -5, 0.0),
        ("N1", 1, 0, 0.0),
        ("N1", 1, 1, 10.0),
        ("N1", 1, 3, 21.0),
        ("N1", 1, 8, 5.0),
        ("N1", 1, 14, 0.05),
        ("N2", 1, 1, 4.0),
        ("N2", 1, 2, 4.0),
        ("N2", 1, 8, 2.0),
        ("N3", 2, 1, 0.05),
        ("N3", 2, 8, 0.05),
    ]
    frame = pd.DataFrame(
        rows, columns=["subject_id", "dose_level", "study_day", "value"]
    )
    frame["analyte"] = "donor NK % of lymphocytes"
    frame["lloq"] = 0.1
    return frame


def _stat(
    frame: pd.DataFrame, stat: str, subject: str | None = None, group: int | None = None
) -> float:
    sel = frame["stat"] == stat
    sel &= (
        frame["subject_id"].isna()
        if subject is None
        else frame["subject_id"] == subject
    )
    if group is not None:
        sel &= frame["dose_level"] == group
    vals = frame.loc[sel, "value"]
    assert len(vals) == 1
    return float(vals.iloc[0])


def test_kinetics_hand_computed() -> None:
    res = summarize_kinetics(_nk(), "dose_level", analyte="donor NK % of lymphocytes")
    f = res.to_frame()
    # N1 (day -5 dropped; below-LLOQ -> 0): days 0,1,3,8,14 values 0,10,21,5,0
    # AUC = 1*(0+10)/2 + 2*(10+21)/2 + 5*(21+5)/2 + 6*(5+0)/2 = 5 + 31 + 65 + 15 = 116
    assert _stat(f, "auc", "N1") == pytest.approx(116.0)
    assert _stat(f, "peak", "N1") == 21.0
    assert _stat(f, "time_to_peak", "N1") == 3.0
    assert _stat(f, "last_detectable_day", "N1") == 8.0
    # N2: 1*(4+4)/2 + 6*(4+2)/2 = 4 + 18 = 22; peak 4 first reached on day 1
    assert _stat(f, "auc", "N2") == pytest.approx(22.0)
    assert _stat(f, "time_to_peak", "N2") == 1.0
    # N3 never above LLOQ: peak 0, AUC 0, no detectable day
    assert _stat(f, "peak", "N3") == 0.0
    assert _stat(f, "auc", "N3") == 0.0
    assert math.isnan(_stat(f, "last_detectable_day", "N3"))
    # dose 1 AUC: mean (116 + 22)/2 = 69, SD |116 - 22|/sqrt(2)
    assert _stat(f, "auc_mean", group=1) == pytest.approx(69.0)
    assert _stat(f, "auc_sd", group=1) == pytest.approx(94 / math.sqrt(2))
    assert _stat(f, "auc_n", group=1) == 2
    display = res.summary().set_index(["dose_level", "metric"])
    assert display.loc[(1, "auc"), "mean"] == pytest.approx(69.0)
    assert display.loc[(1, "time_to_peak"), "median"] == pytest.approx(2.0)  # (3 + 1)/2
    assert list(display.columns) == ["n", "mean", "sd", "median", "min", "max"]
    # LLOQ/2 rule: N3 values 0.05 each (below 0.1 -> 0.05): AUC 7 * 0.05 = 0.35
    half = summarize_kinetics(
        _nk(), "dose_level", analyte="donor NK % of lymphocytes", lloq_rule="lloq_half"
    )
    assert _stat(half.to_frame(), "auc", "N3") == pytest.approx(0.35)


def test_derive_fraction_cd16() -> None:
    data = pd.DataFrame(
        {
            "subject_id": ["S1", "S1", "S1", "S1"],
            "collection_date": pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-08"]
            ),
            "analyte": ["NK", "CD16+ NK", "NK", "CD16+ NK"],
            "value": [200.0, 50.0, 100.0, 80.0],
            "unit": "cells/uL",
            "lloq": 1.0,
            "uloq": 1e5,
            "parent_population": "lymphocytes",
        }
    )
    out = derive_fraction(
        data, numerator="CD16+ NK", denominator="NK", analyte="CD16+ % of NK"
    )
    frac = out.loc[out["analyte"] == "CD16+ % of NK", "value"].tolist()
    assert frac == [25.0, 80.0]  # 100*50/200, 100*80/100
    assert len(data) == 4
    mixed_units = data.assign(unit=["cells/uL", "%", "cells/uL", "%"])
    with pytest.raises(ValueError, match="different units"):
        derive_fraction(
            mixed_units, numerator="CD16+ NK", denominator="NK", analyte="x"
        )


def _mrd() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [
        ("M1", 1, "2024-01-01", 0.5),
        ("M1", 1, "2024-02-01", 0.05),
        ("M1", 1, "2024-03-01", 0.3),
        ("M2", 1, "2024-01-01", 1.0),
        ("M2", 1, "2024-02-01", 0.2),
        ("M3", 1, "2024-01-01", 0.3),
        ("M3", 1, "2024-02-01", 0.08),
        ("M4", 1, "2024-01-01", 0.05),
        ("M4", 1, "2024-02-01", 0.01),
        ("M5", 2, "2024-01-01", 2.0),
        ("M5", 2, "2024-02-01", 0.5),
        ("M6", 2, "2024-01-01", 2.0),
    ]
    data = pd.DataFrame(
        rows, columns=["subject_id", "dose_level", "assessment_date", "mrd_pct"]
    )
    data["assessment_date"] = pd.to_datetime(data["assessment_date"])
    adm = pd.DataFrame(
        {
            "subject_id": [f"M{i}" for i in range(1, 7)],
            "admin_date": pd.to_datetime(["2024-01-10"] * 6),
            "given": pd.array([True] * 6, dtype="boolean"),
        }
    )
    return data, adm


def _group(frame: pd.DataFrame, group: int, stat: str) -> float:
    return float(
        frame.loc[
            (frame["dose_level"] == group) & (frame["stat"] == stat), "value"
        ].iloc[0]
    )


def test_mrd_negativity_clopper_pearson() -> None:
    data, adm = _mrd()
    # rule "last": M1 last 0.3 (pos), M2 pos, M3 0.08 neg, M4 0.01 neg -> 2/4
    f = summarize_mrd_negativity(
        data, "dose_level", administrations=adm, rule="last"
    ).to_frame()
    assert _group(f, 1, "n") == 4
    assert _group(f, 1, "n_negative") == 2
    # R: binom.test(2, 4)$conf.int = 0.06758599 0.93241401
    assert _group(f, 1, "lower") == pytest.approx(0.06758599, abs=5e-9)
    assert _group(f, 1, "upper") == pytest.approx(0.93241401, abs=5e-9)
    # dose 2: M5 positive, M6 has no post-dose result -> 0/1,
    # CI [0, 1 - 0.025] = [0, 0.975]
    assert _group(f, 2, "n") == 1
    assert _group(f, 2, "lower") == 0.0
    assert _group(f, 2, "upper") == pytest.approx(0.975, abs=1e-12)
    # rule "any", MRD-positive at baseline only (M4 baseline 0.05 < 0.1 drops):
    # M1, M3 negative of 3
    g = summarize_mrd_negativity(
        data, "dose_level", administrations=adm, population="mrd_positive_at_baseline"
    ).to_frame()
    assert (_group(g, 1, "n_negative"), _group(g, 1, "n")) == (2, 3)
    # 2/3: upper = qbeta(0.975, 3, 1) = 0.975^(1/3); lower x solves P(Beta(2,2) < x) =
    # 3x^2 - 2x^3 = 0.025
    assert _group(g, 1, "upper") == pytest.approx(0.975 ** (1 / 3), rel=1e-10)
    x = _group(g, 1, "lower")
    assert 3 * x**2 - 2 * x**3 == pytest.approx(0.025, rel=1e-8)
    # threshold 0.06: M1 0.05 and M4 0.01 are negative under "any",
    # M3 0.08 is not -> 2/4
    h = summarize_mrd_negativity(
        data, "dose_level", administrations=adm, threshold_pct=0.06
    ).to_frame()
    assert _group(h, 1, "n_negative") == 2


def test_clopper_pearson_boundaries() -> None:
    lower, upper = compute_clopper_pearson(pd.Series([0, 3, 0]), pd.Series([3, 3, 0]))
    # binom.test(0, 3): [0, 1 - 0.025^(1/3)]; binom.test(3, 3): [0.025^(1/3), 1]
    assert lower.iloc[0] == 0.0
    assert upper.iloc[0] == pytest.approx(1 - 0.025 ** (1 / 3), rel=1e-10)
    assert lower.iloc[1] == pytest.approx(0.025 ** (1 / 3), rel=1e-10)
    assert upper.iloc[1] == 1.0
    assert np.isnan(lower.iloc[2])


def test_plots_render_expected_lines() -> None:
    data = pd.DataFrame(
        {
            "subject_id": ["A", "A", "A", "B", "B", "B", "C", "C", "C"],
            "dose_level": [1, 1, 1, 1, 1, 1, 2, 2, 2],
            "visit": ["T0", "V1", "V2"] * 3,
            "collection_date": pd.to_datetime(
                ["2024-01-01", "2024-01-08", "2024-01-15"] * 3
            ),
            "assay": "FLOW CYTOMETRY",
            "analyte": "Treg",
            "value": [2.0, 3.0, 4.0, 5.0, 4.0, 6.0, 1.0, 2.0, 2.5],
            "unit": "%",
            "lloq": 0.1,
            "uloq": 100.0,
        }
    )
    adm = pd.DataFrame(
        {
            "subject_id": ["A", "B", "C"],
            "admin_date": pd.to_datetime(["2024-01-01"] * 3),
            "given": True,
        }
    )
    changes = derive_change_from_baseline(data, administrations=adm)
    fig = plot_spider(changes, "dose_level")
    two = pd.concat([changes, changes.assign(analyte="CD4")])
    with pytest.raises(ValueError, match="one analyte"):
        plot_spider(two, "dose_level")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    subject_lines = [ln for ln in ax.get_lines() if ln.get_gid() in {"A", "B", "C"}]
    assert len(subject_lines) == 3
    assert len(ax.get_lines()) == 4  # plus the zero reference line
    a_line = next(ln for ln in subject_lines if ln.get_gid() == "A")
    # A: 2 -> 3 -> 4 is 0%, 50%, 100% at days 0, 7, 14
    assert list(a_line.get_ydata()) == pytest.approx([0.0, 50.0, 100.0])
    assert list(a_line.get_xdata()) == [0.0, 7.0, 14.0]
    assert len(ax.get_legend().get_texts()) == 2
    res = summarize_immunomonitoring(changes, ("dose_level", "visit"))
    fig2 = plot_mean_ci(res, "dose_level")
    ax2 = fig2.axes[0]
    bars = [c for c in ax2.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2
    # dose 1 V1: geometric mean sqrt(3 * 4) = sqrt(12)
    line = bars[0].lines[0]
    assert len(line.get_ydata()) == 3
    assert line.get_ydata()[1] == pytest.approx(math.sqrt(12))
    for figure in (fig, fig2):  # renders to PNG without error
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        assert buffer.getvalue().startswith(b"\x89PNG")
