"""One trial, one answer: the CLI, the report's JSON twin and the API agree exactly.

Sixty generated trials (both archetypes, 6 to 60 subjects, several seeds, random
cut-offs, expansion cohorts, per-route and pooled escalation, with and without a
design deviation). For each, every number that appears in more than one output is
compared: the ``escalation --format json`` output of the CLI, the JSON twin written by
``report safety --output x.json`` and ``trial.analysis_data(cutoff)`` with the
analyses called on it. Nothing is scraped from HTML.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import trialdata as td
from analyses.datasets import latest_date
from analyses.survival import estimate_kaplan_meier
from trialdata.cli import app
from trialdata.demo import write_trial
from trialdata.reports import build_safety_report
from trialdata.reports.json_twin import render_json


@dataclass(frozen=True)
class Case:
    """One generated trial and how its outputs are asked for."""

    archetype: str
    n_subjects: int
    seed: int
    cutoff_fraction: float | None  # None: the default cut-off (latest date)
    escalation_by: str | None = None  # override the protocol's
    deviation: bool = False  # dose one escalation cohort a level too high

    @property
    def name(self) -> str:
        parts = [self.archetype, f"n{self.n_subjects}", f"s{self.seed}"]
        parts.append("latest" if self.cutoff_fraction is None else "cut")
        if self.escalation_by:
            parts.append(self.escalation_by)
        if self.deviation:
            parts.append("deviation")
        return "-".join(parts)


def _cases() -> list[Case]:
    rng = np.random.default_rng(20261207)
    sizes = [6, 9, 12, 15, 18, 24, 30, 40, 50, 60]
    cases = []
    for i in range(60):
        archetype = "nk-aml" if i % 2 == 0 else "tolDC-ms"
        n = sizes[(i // 2) % len(sizes)]
        fraction = None if i % 5 == 0 else float(rng.uniform(0.3, 1.0))
        override = None
        if archetype == "tolDC-ms" and i % 4 == 1:
            override = "pooled"
        cases.append(
            Case(
                archetype,
                n,
                seed=100 + i,
                cutoff_fraction=fraction,
                escalation_by=override,
                deviation=(i % 6 == 3) and n >= 9,
            )
        )
    return cases


CASES = _cases()


def _set_escalation_by(folder: Path, value: str) -> None:
    path = folder / "protocol.toml"
    text = path.read_text()
    if "escalation_by" in text:
        lines = [
            f'escalation_by = "{value}"' if ln.startswith("escalation_by") else ln
            for ln in text.splitlines()
        ]
        text = "\n".join(lines) + "\n"
    else:
        text = text.replace("[design]\n", f'[design]\nescalation_by = "{value}"\n')
    path.write_text(text)


def _skip_a_dose_level(folder: Path) -> str | None:
    """Dose the second escalation cohort two levels above the first (a skip)."""
    cohorts = pd.read_csv(folder / "cohorts.csv", dtype=str, keep_default_na=False)
    subjects = pd.read_csv(folder / "subjects.csv", dtype=str, keep_default_na=False)
    admin = pd.read_csv(
        folder / "administrations.csv", dtype=str, keep_default_na=False
    )
    protocol = td.schemas.protocol.load_protocol(folder / "protocol.toml")
    dated = admin.loc[admin["admin_date"] != ""].merge(
        subjects[["subject_id", "cohort_id"]], on="subject_id"
    )
    first = dated.groupby("cohort_id")["admin_date"].min().sort_values()
    info = cohorts.set_index("cohort_id")
    escalation = [c for c in first.index if protocol.cohort_role(c) == "escalation"]
    if protocol.design.escalation_by == "route":
        route = info.loc[escalation[0], "route"]
        escalation = [c for c in escalation if info.loc[c, "route"] == route]
    if len(escalation) < 2:
        return None
    start, moved = escalation[0], escalation[1]
    new = int(info.loc[start, "dose_level"]) + 2
    if new > len(protocol.dose_levels):
        return None
    amount = protocol.dose_level(new).amount
    cohorts.loc[cohorts["cohort_id"] == moved, "dose_level"] = str(new)
    members = subjects.loc[subjects["cohort_id"] == moved, "subject_id"]
    dosed = admin["subject_id"].isin(members) & (admin["dose_level"] != "")
    admin.loc[dosed, "dose_level"] = str(new)
    admin.loc[dosed, "dose_amount"] = f"{amount:g}"
    cohorts.to_csv(folder / "cohorts.csv", index=False)
    admin.to_csv(folder / "administrations.csv", index=False)
    return moved


def _cutoff(trial: td.Trial, fraction: float | None) -> str | None:
    if fraction is None:
        return None
    first = pd.to_datetime(trial.table("administrations")["admin_date"]).min()
    last = latest_date({name: trial.table(name) for name in trial.tables})
    day = first + (last - first) * fraction
    return str(pd.Timestamp(day).date())


def _invoke(*args: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


GENERATED = datetime(2026, 1, 1, tzinfo=UTC)


def _without_times(value: Any) -> Any:
    """Drop the computation times of provenance records (they differ per run)."""
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k != "created_utc"}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"computed \S+", "computed (time)", value)
    return value


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _long(frame: list[dict[str, Any]], stat: str) -> dict[str, float]:
    return {rec["group"]: rec["value"] for rec in frame if rec["stat"] == stat}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("agreement")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_output_states_the_same_numbers(case: Case, workdir: Path) -> None:
    folder = write_trial(
        workdir / case.name, case.archetype, case.n_subjects, seed=case.seed
    ).folder
    if case.escalation_by:
        _set_escalation_by(folder, case.escalation_by)
    moved = _skip_a_dose_level(folder) if case.deviation else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trial = td.Trial.load(folder)
    assert not trial.has_errors, trial.findings
    cutoff = _cutoff(trial, case.cutoff_fraction)
    option = [] if cutoff is None else ["--cutoff", cutoff]

    # the three outputs
    api = trial.analysis_data(cutoff)
    escalation = api.escalation()
    adherence = api.adherence()
    cli = json.loads(_invoke("escalation", str(folder), "--format", "json", *option))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = build_safety_report(trial, data_cutoff=cutoff, generated_utc=GENERATED)
    twin = json.loads(render_json(report))
    results = twin["results"]
    if case.seed % 4 == 0:  # the CLI writes the same twin
        path = workdir / f"{case.name}.json"
        _invoke("report", "safety", str(folder), *option, "--output", str(path))
        written = json.loads(path.read_text())
        for key in ("Generated (UTC)", "Data source"):
            written["provenance"].pop(key)
            twin["provenance"].pop(key, None)
        assert written["provenance"] == twin["provenance"]
        assert _without_times(written["sections"]) == _without_times(twin["sections"])
        assert _without_times(written["results"]) == _without_times(results)

    # the cut-off and the rules behind every number
    day = api.cutoff.date().isoformat()
    assert cli["cutoff"] == twin["provenance"]["Data cut-off"] == day
    assert cli["rules"] == twin["rules"] == _plain(api.rules)

    # escalation: counts per dose level, decision, status and MTD
    expected = _plain(escalation.to_dict())
    assert cli["escalations"] == results["escalation"]["data"]["escalations"]
    assert cli["escalations"] == expected["escalations"]
    decisions = [
        b["text"]
        for s in twin["sections"]
        for b in s["blocks"]
        if b["kind"] == "paragraph" and b["text"].startswith("Design decision")
    ]
    assert len(decisions) == len(escalation.groups)
    for group, paragraph in zip(escalation.groups, decisions, strict=True):
        # the sentence `trialdata escalation` prints for the group, word for word
        assert paragraph.endswith(group.describe())
        if group.status == "complete":  # the MTD is stated once complete
            assert "MTD" in group.describe() and group.mtd_reason

    # design adherence
    assert (
        cli["adherence"] == results["adherence"]["data"] == _plain(adherence.to_dict())
    )
    if not case.deviation and case.escalation_by is None:
        assert adherence.n_deviations == 0, adherence.deviations  # demos follow
    if moved is not None:
        assert adherence.n_deviations >= 1
        flagged = adherence.deviations["cohort_id"].tolist()
        assert moved in flagged or any(
            api.adsl.loc[api.adsl["cohort_id"] == moved, "first_dose_date"].isna()
        )

    # DLT table (report) = ADSL (API) = escalation table (CLI), per group
    adsl = api.safety
    dlt = results["Dose-limiting toxicities by dose level and route"]["frame"]
    by_group = adsl.groupby("group", observed=True)
    assert _long(dlt, "treated") == {str(g): float(len(rows)) for g, rows in by_group}
    assert _long(dlt, "evaluable") == {
        str(g): float(rows["dlt_evaluable"].sum()) for g, rows in by_group
    }
    assert _long(dlt, "with_dlt") == {
        str(g): float((rows["dlt_evaluable"] & rows["dlt"]).sum())
        for g, rows in by_group
    }
    totals: Counter[tuple[int, str]] = Counter()
    dlts: Counter[tuple[int, str]] = Counter()
    for group in cli["escalations"]:
        for row in group["dose_levels"]:
            key = (row["dose_level"], group["escalation_group"])
            totals[key] += row["treated"] + row["expansion_treated"]
            dlts[key] += row["dlt"] + row["expansion_dlt"]
    per_level = adsl.assign(
        key=list(
            zip(adsl["dose_level"].astype(int), adsl["escalation_group"], strict=True)
        )
    )
    assert {k: v for k, v in totals.items() if v} == dict(
        Counter(per_level["key"].tolist())
    )
    assert {k: v for k, v in dlts.items() if v} == dict(
        Counter(per_level.loc[per_level["dlt_evaluable"] & per_level["dlt"], "key"])
    )
    listing = next(
        b
        for s in twin["sections"]
        for b in s["blocks"]
        if b.get("title") == "Listing of dose-limiting toxicities"
    )
    assert len({row["Subject"] for row in listing["rows"]}) == int(adsl["dlt"].sum())
    assert len(listing["rows"]) == sum(_long(dlt, "dlt_events").values())

    # denominators of the AE overview = treated per group
    overview = results["Overview of treatment-emergent adverse events"]["frame"]
    n_rows = {
        rec["group"]: rec["value"]
        for rec in overview
        if rec["stat"] == "N" and rec["category"] == "Any TEAE"
    }
    assert {g: v for g, v in n_rows.items() if g != "Total"} == _long(dlt, "treated")
    assert n_rows["Total"] == float(len(adsl))

    # deaths in the safety population
    n_dead = int(adsl["death_date"].notna().sum())
    deaths = next(s for s in twin["sections"] if s["title"] == "Deaths")
    assert deaths["blocks"][0]["text"].startswith(
        f"{n_dead} death{'s' if n_dead != 1 else ''} in the safety population"
    )

    # time to event: the protocol's endpoints only, and the same medians
    endpoints = set(api.protocol.analysis_endpoints)
    shown = {key.removeprefix("km_") for key in results if key.startswith("km_")}
    assert shown <= endpoints
    if case.archetype == "tolDC-ms":
        assert not shown and not any(s["title"] == "Efficacy" for s in twin["sections"])
    adtte = api.adtte.loc[api.adtte["safety"] & api.adtte["AVAL"].notna()]
    for param in shown:
        data = adtte.loc[adtte["PARAMCD"] == param].assign(
            group=lambda d: d["group"].astype(str)
        )
        km = estimate_kaplan_meier(data, by="group")
        assert results[f"km_{param}"]["median"] == _plain(
            [
                {k: (None if pd.isna(v) else v) for k, v in rec.items()}
                for rec in km.median().to_dict(orient="records")
            ]
        )
