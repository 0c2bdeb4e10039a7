"""The Kaplan-Meier figure: nothing clipped, number-at-risk table = R's n.risk."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from analyses.survival import estimate_kaplan_meier, plot_kaplan_meier

# survival::aml (R), weeks
AML = pd.DataFrame(
    {
        "time": [
            9,
            13,
            13,
            18,
            23,
            28,
            31,
            34,
            45,
            48,
            161,
            5,
            5,
            8,
            8,
            12,
            16,
            23,
            27,
            30,
            33,
            43,
            45,
        ],
        "status": [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1],
        "arm": ["Maintained"] * 11 + ["Nonmaintained"] * 12,
    }
)


def _texts(fig: Figure) -> list[Text]:
    return [
        t
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.figure is not None
    ]


@pytest.mark.parametrize("by", [None, "arm"])
def test_all_text_inside_saved_figure(tmp_path: Path, by: str | None) -> None:
    km = estimate_kaplan_meier(AML, by, time="time", event="status", cnsr=None)
    fig = plot_kaplan_meier(km, risk_times=[0, 12, 24, 36, 48, 96, 144, 168])
    FigureCanvasAgg(fig)
    out = tmp_path / "km.png"
    fig.savefig(out, dpi=100)
    assert out.stat().st_size > 0
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    box = fig.bbox
    texts = _texts(fig)
    # the risk table: one number per group and tick, plus labels and legend
    assert len(texts) > 8
    for t in texts:
        ext = t.get_window_extent(renderer)
        assert ext.x0 >= box.x0 - 0.5 and ext.x1 <= box.x1 + 0.5, t.get_text()
        assert ext.y0 >= box.y0 - 0.5 and ext.y1 <= box.y1 + 0.5, t.get_text()


def test_risk_table_numbers_are_r_n_risk() -> None:
    km = estimate_kaplan_meier(AML, "arm", time="time", event="status", cnsr=None)
    fig = plot_kaplan_meier(km, risk_times=[0, 12, 24, 36, 48])
    ax_risk = fig.axes[1]
    numbers = sorted(
        (round(t.get_position()[1]), t.get_position()[0], t.get_text())
        for t in ax_risk.texts
    )
    # R: summary(survfit(Surv(time, status) ~ x, aml), times = c(0,12,24,36,48))$n.risk
    # Maintained 11 10 6 3 2 (row y = 1), Nonmaintained 12 8 5 2 0 (row y = 0);
    # t = 12: the Nonmaintained subject with time 12 is still at risk (time >= t).
    assert [n for y, _, n in numbers if y == 1] == ["11", "10", "6", "3", "2"]
    assert [n for y, _, n in numbers if y == 0] == ["12", "8", "5", "2", "0"]
