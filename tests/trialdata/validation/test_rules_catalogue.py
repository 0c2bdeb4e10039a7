"""Every rule has an example that fires it alone, and docs/rules.md is up to date."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from trialdata.validation.rules import all_rules, find_rule, run_rules
from trialdata.validation.rules.catalogue import catalogue_entries, render_catalogue
from trialdata.validation.rules.testing import clean_records, clean_upload, run_rule

ROOT = Path(__file__).resolve().parents[3]

RULE_IDS = [r.id for r in all_rules()]


def test_rule_ids_are_unique() -> None:
    assert len(RULE_IDS) == len(set(RULE_IDS))


def test_clean_upload_passes_every_rule() -> None:
    assert run_rules(clean_upload()).empty


@pytest.mark.parametrize("rule", RULE_IDS)
def test_quiet_on_the_clean_upload(rule: str) -> None:
    assert run_rule(rule, clean_upload()).empty


@pytest.mark.parametrize("rule", RULE_IDS)
def test_example_fires_its_rule(rule: str) -> None:
    records = clean_records()
    find_rule(rule).example(records)
    found = run_rule(rule, clean_upload(records))
    assert len(found) >= 1
    assert set(found["rule"]) == {rule}


def test_docs_rules_md_matches_the_code() -> None:
    assert (ROOT / "docs" / "rules.md").read_text(
        encoding="utf-8"
    ) == render_catalogue()


PACKAGE = ROOT / "trialdata"
RULE_ID = re.compile(r"\"((?:RD|SC|ST|XD|AD|AE|BB|LB|PV)-[0-9A-Z]+)\"")


def test_every_rule_id_the_code_reports_is_in_the_catalogue() -> None:
    # any quoted rule id in the package's source is one a finding may carry
    in_code = {
        found
        for path in PACKAGE.rglob("*.py")
        for found in RULE_ID.findall(path.read_text(encoding="utf-8"))
    }
    listed = {entry.id for entry in catalogue_entries()}
    assert in_code - listed == set()
    assert {"RD-001", "SC-KEY", "ST-PROTOCOL", "XD-001"} <= listed
    assert len(listed) == len(catalogue_entries())  # each id once


def test_trialdata_rules_lists_the_catalogue(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from trialdata.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(["rules", "--format", "json"])
    assert stopped.value.code in (0, None)
    listed = json.loads(capsys.readouterr().out)["rules"]
    assert [r["id"] for r in listed] == [e.id for e in catalogue_entries()]
    with pytest.raises(SystemExit):
        main(["rules", "--stage", "store"])
    text = capsys.readouterr().out
    assert [line.split()[0] for line in text.splitlines()] == [
        "ST-001",
        "ST-002",
        "ST-PROTOCOL",
    ]
