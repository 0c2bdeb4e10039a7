"""Every rule has an example that fires it alone, and docs/rules.md is up to date."""

from __future__ import annotations

from pathlib import Path

import pytest

from trialdata.validation.rules import all_rules, find_rule, run_rules
from trialdata.validation.rules.catalogue import render_catalogue
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
