"""Every rule has an example that fires it alone, and docs/rules.md is up to date."""

from __future__ import annotations

from pathlib import Path

import pytest

from trialdata.validation.rules import RULES, _load_rule_modules, run_rules
from trialdata.validation.rules.catalogue import EXAMPLES, render_catalogue
from trialdata.validation.rules.testing import clean_context, clean_records, run_rule

ROOT = Path(__file__).resolve().parents[3]

_load_rule_modules()


def test_every_rule_has_an_example() -> None:
    assert sorted(EXAMPLES) == sorted(r.id for r in RULES)


def test_clean_upload_passes_every_rule() -> None:
    assert run_rules(clean_context()).empty


@pytest.mark.parametrize("rule", sorted(EXAMPLES))
def test_example_fires_its_rule(rule: str) -> None:
    records = clean_records()
    EXAMPLES[rule](records)
    found = run_rule(rule, clean_context(records))
    assert len(found) >= 1
    assert set(found["rule"]) == {rule}


def test_docs_rules_md_matches_the_code() -> None:
    assert (ROOT / "docs" / "rules.md").read_text(
        encoding="utf-8"
    ) == render_catalogue()
