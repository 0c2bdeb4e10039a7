"""The Python examples of docs/*.md run as written and print what the CLI prints.

Every ```python block of ``docs/*.md`` runs in a folder holding the demo trials the
docs name: ``demo-trial`` (``trialdata demo demo-trial --archetype nk-aml --seed 3``)
and ``ms-trial`` (``--archetype tolDC-ms --seed 3``). What it prints or returns is
checked against the command line run in-process on the same folder, as
``tests/test_readme.py`` does for the README's script.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

import trialdata as td
from analyses.survival import (
    ConvergenceWarning,
    SmallSampleWarning,
    estimate_kaplan_meier,
)
from trialdata.cli import app
from trialdata.demo import write_trial
from trialdata.reports.formatting import format_number
from trialdata.reports.json_twin import report_data

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: The demo trials the examples read: folder name -> archetype (seed 3).
DEMO_TRIALS = {"demo-trial": "nk-aml", "ms-trial": "tolDC-ms"}
SEED = 3
_BLOCK = re.compile(r"```python\n(.*?)```", flags=re.DOTALL)
_UTC_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00")


def _python_blocks(path: Path) -> list[tuple[int, str]]:
    """Return each ```python block of a Markdown file with the line it starts on."""
    text = path.read_text()
    return [
        (text.count("\n", 0, match.start(1)), match.group(1))
        for match in _BLOCK.finditer(text)
    ]


BLOCKS = [
    (path.name, index)
    for path in sorted(DOCS.glob("*.md"))
    for index in range(len(_python_blocks(path)))
]


@dataclass
class Example:
    """One docs example after it ran: its namespace, its output and its warnings."""

    namespace: dict[str, Any]
    out: str
    warned: set[type[Warning]]
    request: pytest.FixtureRequest = field(repr=False)

    def __getitem__(self, name: str) -> Any:
        return self.namespace[name]

    def cli(self, *args: str) -> Result:
        """Run ``trialdata ARGS`` in-process in the example's folder; it must exit 0."""
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result

    def safety_report(self) -> dict[str, Any]:
        """The JSON twin ``trialdata report safety demo-trial`` writes."""
        return self.request.getfixturevalue("cli_safety_report")


@dataclass(frozen=True)
class Check:
    """What an example must print or return, and the warnings it may raise."""

    run: Callable[[Example], None]
    warnings: frozenset[type[Warning]] = frozenset()


CHECKS: dict[tuple[str, int], Check] = {}


def check(
    doc: str, index: int, *, allowed: frozenset[type[Warning]] = frozenset()
) -> Callable[[Callable[[Example], None]], Callable[[Example], None]]:
    """Register the checks of the example ``docs/DOC`` block ``index`` (from 0)."""

    def register(run: Callable[[Example], None]) -> Callable[[Example], None]:
        CHECKS[(doc, index)] = Check(run, allowed)
        return run

    return register


@pytest.fixture(scope="module")
def demo_trials(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with both demo trials, written once for the module."""
    root = tmp_path_factory.mktemp("demo-trials")
    for folder, archetype in DEMO_TRIALS.items():
        write_trial(root / folder, archetype, seed=SEED)
    return root


@pytest.fixture(scope="module")
def cli_safety_report(demo_trials: Path) -> dict[str, Any]:
    """``trialdata report safety demo-trial --output report.json``, read back."""
    output = demo_trials / "report.json"
    result = CliRunner().invoke(
        app,
        ["report", "safety", str(demo_trials / "demo-trial"), "--output", str(output)],
    )
    assert result.exit_code == 0, result.output
    return json.loads(output.read_text())


@pytest.fixture
def workdir(demo_trials: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder holding (links to) the demo trials, made current."""
    for folder in DEMO_TRIALS:
        (tmp_path / folder).symlink_to(demo_trials / folder, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run_example(
    doc: str,
    index: int,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> Example:
    start, code = _python_blocks(DOCS / doc)[index]
    # padded so that a traceback names the Markdown file's own line numbers
    source = "\n" * start + code
    namespace: dict[str, Any] = {"__name__": "__docs_example__"}
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(source, f"docs/{doc}", "exec"), namespace)
    out = capsys.readouterr().out
    return Example(namespace, out, {w.category for w in caught}, request)


def test_every_docs_example_is_checked() -> None:
    assert BLOCKS, "docs/*.md hold no ```python example"
    assert sorted(CHECKS) == sorted(BLOCKS)


@pytest.mark.parametrize(
    ("doc", "index"), BLOCKS, ids=[f"{doc}[{index}]" for doc, index in BLOCKS]
)
@pytest.mark.usefixtures("workdir")
def test_docs_example_runs_and_agrees_with_the_cli(
    doc: str,
    index: int,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    spec = CHECKS.get((doc, index))
    assert spec is not None, f"docs/{doc} example {index} has no check in this file"
    example = _run_example(doc, index, capsys, request)
    # the clean demo trials load without warnings; survival on 12 subjects says its
    # event counts are small
    assert example.warned <= spec.warnings, example.warned
    spec.run(example)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _assert_lines_in(expected: str, *texts: str) -> None:
    """Every non-blank line of ``expected`` is a line of each text (indent aside)."""
    for text in texts:
        lines = set(_lines(text))
        missing = [line for line in _lines(expected) if line not in lines]
        assert not missing, missing


def _plain(value: Any) -> Any:
    """Plain JSON values, as the report's JSON twin writes them (missing: None)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    return None if pd.isna(value) else str(value)


def _records(frame: pd.DataFrame) -> Any:
    return _plain(frame.to_dict(orient="records"))


# ---------------------------------------------------------------------- demo.md


@check("demo.md", 0)
def _demo(example: Example) -> None:
    cli = example.cli(
        "demo", "out/cli", "--archetype", "nk-aml", "--seed", "1", "--inject-errors"
    )
    upload = example["upload"]
    summary = f"{len(upload.files)} files, {len(upload.expected)} injected findings"
    assert summary in example.out and summary in cli.stderr
    written = sorted(p.name for p in Path("out/nk").iterdir())
    assert written == sorted(p.name for p in Path("out/cli").iterdir())
    for name in written:
        ours, theirs = Path("out/nk", name), Path("out/cli", name)
        if name.endswith(".xlsx"):  # the workbook records when it was written
            for a, b in zip(
                pd.read_excel(ours, sheet_name=None).values(),
                pd.read_excel(theirs, sheet_name=None).values(),
                strict=True,
            ):
                pd.testing.assert_frame_equal(a, b)
        else:
            assert ours.read_bytes() == theirs.read_bytes(), name
    tables = example["tables"]
    data_files = {
        Path(name).stem for name in written if not name.startswith(("_", "protocol"))
    }
    assert set(tables) == data_files
    assert str({name: len(table) for name, table in tables.items()}) in example.out


# --------------------------------------------------------------- dose_finding.md


@check("dose_finding.md", 0)
def _designs(example: Example) -> None:
    decision = example["boin"].decide(n=[3, 3, 0, 0, 0], y=[0, 1, 0, 0, 0], current=2)
    assert (decision.action, decision.next_dose) == ("stay", 2)
    assert str(decision) in example.out
    oc = example["oc"]
    assert oc.selection().to_string() in example.out
    Path("DESIGN.toml").write_text(
        "n_doses = 5\nn_trials = 10000\nseed = 1\ntarget = 0.3\n"
        '[[design]]\nmethod = "BOIN"\ntarget = 0.3\n'
        '[[design]]\nmethod = "CRM"\ntarget = 0.3\n'
        "skeleton = { halfwidth = 0.05, nu = 3 }\n"
        '[[design]]\nmethod = "3+3"\n'
        "[scenarios]\nA = [0.05, 0.15, 0.30, 0.45, 0.60]\n"
    )
    cli = json.loads(example.cli("simulate", "DESIGN.toml", "--format", "json").stdout)
    theirs = {
        (r["design"], r["dose"]): r["value"]
        for r in cli["results"]
        if r["stat"] == "pct_select"
    }
    frame = oc.to_frame()
    frame = frame.loc[frame["stat"] == "pct_select"]
    ours = {
        (r["design"], int(r["dose"])): r["value"]
        for r in frame.to_dict(orient="records")
    }
    assert ours == pytest.approx(theirs)


@check("dose_finding.md", 1)
def _escalation(example: Example) -> None:
    data, group, early = example["data"], example["group"], example["early"]
    cli = example.cli("escalation", "demo-trial").stdout
    _assert_lines_in(group.table.to_string(index=False), example.out, cli)
    assert group.describe() in example.out and group.describe() in cli
    _assert_lines_in("\n".join(data.describe_rules()), example.out, cli)
    assert group.table.equals(data.escalation().group("pooled").table)
    # cut off on the last subject's first dose: that subject is still in the window
    day = example["day"].date().isoformat()
    table = early.escalation().group("pooled").table
    assert table["pending"].sum() >= 1
    cli = example.cli("escalation", "demo-trial", "--cutoff", day).stdout
    _assert_lines_in(table.to_string(index=False), example.out, cli)


@check("dose_finding.md", 2)
def _boin_boundaries(example: Example) -> None:
    from scipy import stats

    ref = json.loads((ROOT / "tests/analyses/reference/boin_boundary.json").read_text())
    r_case = next(
        c for c in ref["cases"] if c["id"] == "get_boundary_target_0.30_cutoff_0.95"
    )["expected"]
    table = example["table"]
    for col in ("escalate_if_dlt_le", "deescalate_if_dlt_ge", "eliminate_if_dlt_ge"):
        ours = [None if pd.isna(v) else int(v) for v in table[col]]
        assert ours == r_case[col], col
    assert (
        table.loc[table["n"].isin([3, 30, 100, 300])].to_string(index=False)
        in example.out
    )
    bound = example["bound"]
    assert str(bound[[3, 300, 2_000, 20_000]].astype(int).tolist()) in example.out
    # the first eliminating count at 20,000 patients, checked at the boundary
    y = int(bound[20_000])
    assert stats.beta.sf(0.3, y + 1, 20_000 - y + 1) > 0.95
    assert stats.beta.sf(0.3, y, 20_000 - y + 2) <= 0.95


@check("dose_finding.md", 3)
def _three_plus_three_checks(example: Example) -> None:
    data, design, history = example["data"], example["design"], example["history"]
    assert history == "1NNN 2NNN 3NTN 3NTN" and history in example.out
    decision = design.decide_history(history)
    summary = data.escalation().group("pooled").decision
    assert (decision.action, decision.next_dose) == (summary.action, summary.next_dose)
    assert str(decision) in example.out
    assert '3+3 (escalation only) cannot produce the dose history "1NNN 1NNN"' in (
        example.out
    )
    assert 'cannot produce the dose history "1NTN 1TNN 2NNN"' in example.out
    assert "dose level 2 has 6 patients without a DLT" in example.out


# ------------------------------------------------- immunomonitoring_mri_biobank.md


@check("immunomonitoring_mri_biobank.md", 0)
def _immunomonitoring(example: Example) -> None:
    data, im, planned = example["data"], example["im"], example["planned"]
    adsl = data.adsl.set_index("subject_id")
    # the study day counts from ADSL's first dose; the cohort's plan is ADSL's plan
    first = im["subject_id"].map(adsl["first_dose_date"])
    pd.testing.assert_series_equal(
        im["first_dose_date"], first, check_dtype=False, check_names=False
    )
    assert planned["dose_level"].tolist() == (
        planned["subject_id"].map(adsl["planned_dose_level"]).tolist()
    )
    assert planned["route"].astype(str).tolist() == (
        planned["subject_id"].map(adsl["planned_route"]).astype(str).tolist()
    )
    summary = example["result"].summary()
    assert summary.to_string(index=False) in example.out
    # the medians and counts are those of the safety report's table
    table = next(
        block
        for section in example.safety_report()["sections"]
        for block in section["blocks"]
        if str(block.get("title", "")).startswith("Immunomonitoring")
    )
    cells = {
        (row["Assay: analyte (unit)"], row["Dose level and route"]): row
        for row in table["rows"]
    }
    shown = summary.loc[summary["n"] > 0]
    assert len(shown)
    for rec in shown.to_dict(orient="records"):
        key = (f"{rec['assay']}: {rec['analyte']} ({rec['unit']})", rec["group"])
        cell = f"{format_number(rec['median'], 2)} ({rec['n']:.0f})"
        assert cells[key][rec["visit"]] == cell, (key, rec["visit"])


@check("immunomonitoring_mri_biobank.md", 1)
def _change_from_baseline(example: Example) -> None:
    from analyses.immunomonitoring import estimate_mmrm
    from analyses.mri import estimate_lesion_rate_ratio

    data, treg, mmrm = example["data"], example["treg"], example["mmrm"]
    for name in ("ancova", "mmrm", "t2", "arr"):
        assert example[name].describe() in example.out, name
    # the output shown under the example is what it prints
    text = (DOCS / "immunomonitoring_mri_biobank.md").read_text()
    shown = text.split("The MMRM part prints", 1)[1].split("```text\n", 1)[1]
    _assert_lines_in(shown.split("```", 1)[0], example.out)
    # ADIM's rows of the safety population, whatever their order
    assert set(treg["subject_id"]) <= set(data.safety["subject_id"])
    again = estimate_mmrm(treg.sample(frac=1, random_state=1), group="route")
    pd.testing.assert_frame_equal(again.lsmeans, mmrm.lsmeans)
    assert mmrm.converged and mmrm.n_subjects == treg["subject_id"].nunique()
    # without covariates the NB2 rate ratio is estimate_lesion_rate_ratio's
    old = estimate_lesion_rate_ratio(example["lesions"], by="route", count="new_t2")
    ratio = old.to_frame().query("stat == 'rate_ratio'")["value"].item()
    assert example["t2"].rate_ratios["rate_ratio"].item() == pytest.approx(ratio)


# -------------------------------------------------------------------- reports.md


def _timeless(report: dict[str, Any]) -> Any:
    return json.loads(_UTC_TIME.sub("<time>", json.dumps(report)))


@check("reports.md", 0)
def _report(example: Example) -> None:
    path = Path("dmc.html")
    assert path.is_file() and path.stat().st_size > 0
    assert "dmc.html" in example.out
    html = path.read_text()
    assert "NK-AML-DEMO" in html and "2025-03-31" in html
    # the same report as the command line's, its generation time aside
    example.cli(
        "report", "safety", "demo-trial", "--cutoff", "2025-03-31", "-o", "cli.json"
    )
    theirs = _timeless(json.loads(Path("cli.json").read_text()))
    ours = _timeless(report_data(example["report"]))
    for key in ("title", "provenance", "rules", "sections", "results"):
        assert ours[key] == theirs[key], key


# --------------------------------------------------------------------- safety.md

#: The safety report's titles of the tables the example computes the same way.
_REPORT_TITLES = {
    "overview": "Overview of treatment-emergent adverse events",
    "soc_pt": (
        "Treatment-emergent adverse events by system organ class and preferred term"
    ),
    "grade3": "Grade >= 3 treatment-emergent adverse events by SOC and PT",
    "serious": "Serious treatment-emergent adverse events by SOC and preferred term",
    "deaths": "Deaths",
    "exposure": "Exposure to the cell product",
    "demographics": "Demographics and baseline characteristics, safety population",
}


@check("safety.md", 0)
def _safety_tables(example: Example) -> None:
    results, data = example["results"], example["data"]
    for name, result in results.items():
        assert f"{name}: {result.title}" in example.out
        assert result.summary().to_string(index=False) in example.out
    report = example.safety_report()["results"]
    for name, title in _REPORT_TITLES.items():
        assert _records(results[name].to_frame()) == report[title]["frame"], name
    # time to onset and the SAE listing are by dose level and route, not only Total
    onset_groups = set(results["aesi_onset"].to_frame()["group"].astype(str))
    assert onset_groups - {"Total"}
    serious = data.adae["serious"].astype(bool) & data.adae["safety"].astype(bool)
    assert len(results["sae_listing"].listing) == int(serious.sum())
    # the derive_* functions give the analysis datasets' flags on the domain tables
    dm = example["dm"].set_index("subject_id")
    adsl = data.adsl.set_index("subject_id")
    assert dm["safety"].astype(bool).equals(adsl["safety"].astype(bool))
    treated = adsl.index[adsl["safety"].astype(bool)]
    assert dm.loc[treated, "actual_dose_level"].astype(int).tolist() == (
        adsl.loc[treated, "dose_level"].astype(int).tolist()
    )
    keys = ["subject_id", "ae_seq"]
    teae = example["teae"].set_index(keys)["teae"].astype(bool).sort_index()
    assert teae.equals(data.adae.set_index(keys)["teae"].astype(bool).sort_index())
    imputed = example["imputed"]
    assert set(imputed["onset_date_imputed"].dropna()) == {"D"}


@check("safety.md", 1)
def _safety_dlt(example: Example) -> None:
    data, dlt, escalation = example["data"], example["dlt"], example["escalation"]
    cli = example.cli("escalation", "ms-trial").stdout
    for group in escalation.groups:
        assert group.describe() in example.out and group.describe() in cli
    _assert_lines_in("\n".join(data.describe_rules()), example.out, cli)
    assert dlt.summary().to_string(index=False) in example.out
    # the DLT table and the escalation count the same subjects and DLTs
    counts = dlt.to_frame().groupby("stat")["value"].sum()
    steps = escalation.summary()
    assert counts["treated"] == len(data.safety)
    assert counts["evaluable"] == (
        steps["evaluable"].sum() + steps["expansion_evaluable"].sum()
    )
    assert counts["with_dlt"] == steps["dlt"].sum() + steps["expansion_dlt"].sum()


@check("safety.md", 2)
def _safety_tests_rates_shifts(example: Example) -> None:
    import analyses.safety as s

    data, baseline = example["data"], example["baseline"]
    assert baseline.summary().to_string(index=False) in example.out
    tests = baseline.tests.set_index("variable")
    assert list(tests["test"]) == ["kruskal", "anova", "fisher"]
    for variable, test in (("age", "kruskal"), ("sex", "fisher")):
        alone = s.compare_groups(data.safety, variable, "group", test=test)
        assert tests.loc[variable, "p_value"] == alone.p_value
    assert "age: Kruskal-Wallis" in example.out
    rates = example["rates"]
    assert rates.summary().to_string(index=False) in example.out
    total = rates.rates.set_index(["group", "measure"]).loc[("Total", "EAER")]
    assert total["events"] == len(data.teae)  # every TEAE of the demo is in a window
    days = (data.safety["followup_end"] - data.safety["first_dose_date"]).dt.days + 1
    assert total["patient_years"] == pytest.approx(days.sum() / 365.25)
    by_term = example["by_term"].rates
    eaer = by_term.loc[(by_term["group"] == "Total") & (by_term["measure"] == "EAER")]
    assert eaer["events"].sum() == total["events"]
    # with flags made from the limits, the indicator source gives the limits' table
    shift = example["shift"]
    assert example["hgb"].to_string(index=False) in example.out
    assert set(example["hgb"]["test_code"]) == {"HGB"}
    limits = s.tabulate_range_shift(data.adlb, data.safety, "group")
    pd.testing.assert_frame_equal(shift.to_frame(), limits.to_frame())


# ---------------------------------------------------------------------- store.md


@check("store.md", 0)
def _store(example: Example) -> None:
    result, snap = example["result"], example["snap"]
    assert Path("trial.sqlite").is_file()
    assert (result.n_quarantined, result.n_flagged) == (0, 0)
    assert result.n_rows == result.n_created > 0
    store = ("--store", "cli.sqlite")
    ingest = example.cli("ingest", "ms-trial", "--site", "BDN", *store).stdout
    counts = f"{result.n_rows} rows read, {result.n_created} created"
    assert counts in ingest
    assert f"{result.n_quarantined} quarantined" in ingest
    assert f"{result.n_rows} rows read, {result.n_created} created," in example.out
    freeze = example.cli("freeze", "--label", "interim-1", *store).stdout
    assert f"sha256 {snap.content_sha256}" in freeze
    assert f"{snap.label} {snap.content_sha256}" in example.out
    # the snapshot holds the trial of the folder: the same escalation
    folder = td.Trial.load("ms-trial").analysis_data().escalation()
    assert folder.summary().to_string(index=False) in example.out


# ------------------------------------------------------------------- survival.md


@check("survival.md", 0, allowed=frozenset({SmallSampleWarning}))
def _survival(example: Example) -> None:
    adtte = td.Trial.load("demo-trial").analysis_data().adtte
    adtte = adtte.loc[adtte["safety"]]
    km = estimate_kaplan_meier(
        adtte, by="dose_level", paramcd="PFS", conf_type="log-log"
    )
    assert km.median().to_string(index=False) in example.out
    # the safety report's PFS medians (by dose level and route: one route here)
    report = example.safety_report()["results"]["km_PFS"]["median"]
    assert [r["median"] for r in report] == _plain(km.median()["median"].tolist())
    own = example["own"]
    assert set(own["PARAMCD"]) == {"PFS", "OS"}
    assert len(own) == 2 * len(example["data"].adsl)
    figure = Path("km_pfs.png")
    assert figure.is_file() and figure.stat().st_size > 0


def _block_index(doc: str, marker: str) -> int:
    """Index of the ```python block of ``docs/DOC`` that contains ``marker``."""
    blocks = [code for _, code in _python_blocks(DOCS / doc)]
    found = [i for i, code in enumerate(blocks) if marker in code]
    assert len(found) == 1, (doc, marker, found)
    return found[0]


@check(
    "survival.md",
    _block_index("survival.md", "estimate_cumulative_incidence("),
    allowed=frozenset({SmallSampleWarning}),
)
def _competing_risks(example: Example) -> None:
    from analyses.survival import (
        derive_competing_events,
        estimate_cumulative_incidence,
    )

    # the analysis datasets' ADTTE, split into relapse and death without relapse
    adtte = td.Trial.load("demo-trial").analysis_data().adtte
    pfs = adtte.loc[adtte["safety"] & (adtte["PARAMCD"] == "PFS")]
    cr = example["cr"]
    events = pfs["CNSR"] == 0
    assert (cr["CAUSE"] == "RELAPSE").sum() == (
        events & (pfs["EVNTDESC"] == "DISEASE PROGRESSION")
    ).sum()
    assert (cr["CAUSE"] == "DEATH WITHOUT RELAPSE").sum() == (
        events & (pfs["EVNTDESC"] == "DEATH")
    ).sum()
    # what it prints is the cumulative incidence of relapse, below 1 - KM
    safety = adtte.loc[adtte["safety"]]
    ours = estimate_cumulative_incidence(derive_competing_events(safety))
    at = ours.cumulative_incidence_at([180, 365])
    relapse = at.loc[at["state"] == "RELAPSE"]
    assert relapse.to_string(index=False) == example["relapse"].to_string(index=False)
    assert relapse.to_string(index=False) in example.out
    one_minus_km = 1 - example["naive"].survival_at([365])["surv"].iloc[0]
    assert float(relapse["estimate"].iloc[-1]) < one_minus_km
    for name in ("by_dose", "gray", "fg"):
        assert example[name].summary().to_string(index=False) in example.out


def _block_index(doc: str, marker: str) -> int:
    """Index of the ```python block of ``doc`` whose code contains ``marker``."""
    blocks = _python_blocks(DOCS / doc)
    return next(i for i, (_, code) in enumerate(blocks) if marker in code)


@check(
    "survival.md",
    _block_index("survival.md", "add_time_dependent_covariate("),
    allowed=frozenset({SmallSampleWarning, ConvergenceWarning}),
)
def _survival_cox_extensions(example: Example) -> None:
    data, rows, fit = example["data"], example["rows"], example["fit"]
    adtte = data.adtte.loc[data.adtte["safety"] & (data.adtte["PARAMCD"] == "OS")]
    assert rows["subject_id"].nunique() == len(adtte)
    assert len(rows) == len(adtte) + int(
        (rows["tstart"] > 0).sum()
    )  # one extra interval per GvHD onset inside follow-up
    assert fit.robust and fit.start == "tstart" and fit.cluster == "subject_id"
    assert fit.summary().to_string(index=False) in example.out
    assert example["zph"].summary().to_string(index=False) in example.out
    assert example["pred"].survival_at([180, 365]).to_string(index=False) in example.out
    assert ConvergenceWarning in example.warned and not fit.converged
