"""Rendering: every result renders with great_tables and carries its footnotes."""

import pandas as pd
import pytest

from analyses.safety.dlt import tabulate_dlt
from analyses.safety.grades import (
    tabulate_aesi_by_max_grade,
    tabulate_teae_by_max_grade,
)
from analyses.safety.overview import summarize_teae_overview
from analyses.safety.soc_pt import tabulate_teae_by_soc_pt
from analyses.safety.teae import derive_teae


@pytest.fixture
def teae(tiny_ae, tiny_population):
    return derive_teae(tiny_ae, tiny_population, worsening=False)


def test_gt_rendering_has_title_cells_and_footnotes(teae, tiny_population):
    table = tabulate_teae_by_soc_pt(teae, tiny_population, "dose_level")
    html = table.to_gt().as_raw_html()
    assert table.title in html
    assert "2 (50.0%) [4]" in html  # level 1, any TEAE
    assert "safety = true" in html
    assert "tabulate_events_by_soc_pt(" in html  # provenance line
    assert "<table" in table._repr_html_()


@pytest.mark.parametrize(
    "make",
    [
        lambda ae, s: summarize_teae_overview(ae, s, "dose_level"),
        lambda ae, s: tabulate_teae_by_max_grade(ae, s, "dose_level"),
        lambda ae, s: tabulate_dlt(ae, s, "dose_level"),
    ],
)
def test_other_results_render(teae, tiny_population, make):
    result = make(teae, tiny_population)
    html = result.to_gt().as_raw_html()
    assert result.title in html
    # one source note per footnote plus the provenance line
    assert html.count('class="gt_sourcenote"') == len(result.footnotes) + 1


def test_aesi_by_max_grade(teae, tiny_population):
    f = tabulate_aesi_by_max_grade(teae, tiny_population, "dose_level").to_frame()
    sel = f[
        (f["aesi"] == "INFUSION REACTION") & (f["group"] == "2") & (f["grade"] == "1")
    ]
    assert sel.loc[sel["stat"] == "n", "value"].item() == 1
    assert isinstance(f, pd.DataFrame)
