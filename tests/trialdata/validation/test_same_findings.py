"""Issue 22 §4: the validation code finds what the code of 66235fe found.

Before the validation package was rewritten, ``same_findings/record.py`` ran the code
of commit 66235fe on five groups of inputs and recorded every finding (see
``same_findings/README.md``): the dirty-upload corpus of ``test_intake_corpus.py``,
the bad-input tests, the rule catalogue's examples as whole uploads, injected-error
demos of both archetypes over 12 seeds and clean demos. These tests build the same
inputs again and validate them with the code of the working tree:

- ``test_same_inputs``: the inputs are the recorded ones (else a comparison of their
  findings says nothing about validation; re-record them, see the README);
- ``test_same_findings``: rule, severity, file, row, column and value of every finding
  (and the class of the error, for an input that cannot be validated) are identical;
- ``test_same_messages``: the wording too (message, domain and subject), kept apart so
  that a deliberate change of wording can be told from a change of findings.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SHOWN = 20  # findings shown per case, and cases shown per group, on a mismatch


def _cases_module() -> ModuleType:
    path = Path(__file__).parent / "same_findings" / "cases.py"
    spec = importlib.util.spec_from_file_location("_same_findings_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


CASES = _cases_module()

Observed = dict[str, dict[str, Any]]


def _recorded(group: str) -> dict[str, Any]:
    path = CASES.DATA / f"{group}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=CASES.GROUPS)
def group(request: pytest.FixtureRequest) -> str:
    """A group of cases; the tests run group by group (one build per group)."""
    return str(request.param)


@pytest.fixture(scope="module")
def observed(group: str, tmp_path_factory: pytest.TempPathFactory) -> Observed:
    """Build and validate the recorded cases of a group."""
    recording = _recorded(group)
    built = CASES.build_cases(group, recording.get("inputs"))
    root = tmp_path_factory.mktemp(group)
    result: Observed = {}
    for name in recording["cases"]:
        if name in built:  # a case no longer built is reported by test_same_inputs
            folder = root / f"case{len(result)}"
            folder.mkdir()
            result[name] = CASES.observe(built[name], folder)
    return result


def _outcome(seen: dict[str, Any], fields: int) -> Counter[tuple[Any, ...]]:
    """Findings cut to their first ``fields`` fields, and the error raised, if any."""
    found: Counter[tuple[Any, ...]] = Counter(
        tuple(f[:fields]) for f in seen["findings"]
    )
    if seen["raises"] is not None:
        raised = seen["raises"] if fields > CASES.STRICT else seen["raises"][:1]
        found[("raises", *raised)] += 1
    return found


def _differences(group: str, observed: Observed, fields: int) -> list[str]:
    """Each case whose findings differ from the recording, with what differs."""
    recording = _recorded(group)
    lines = []
    for name, before in recording["cases"].items():
        if name not in observed:
            continue
        now = observed[name]
        old, new = _outcome(before, fields), _outcome(now, fields)
        if old == new:
            continue
        note = "" if now["input"] == before["input"] else " (its input changed too)"
        lines.append(f"case {group}/{name}{note}:")
        for label, items in (
            ("missing (recorded, not found now)", old - new),
            ("extra (found now, not recorded)", new - old),
        ):
            listed = sorted(items.elements(), key=CASES.sort_key)
            if listed:
                lines.append(f"  {label}: {len(listed)}")
                lines += [f"    {item!r}" for item in listed[:SHOWN]]
    return lines


def _fail_on(lines: list[str], what: str) -> None:
    cases = sum(line.startswith("case ") for line in lines)
    if cases:
        shown = [n for n, line in enumerate(lines) if line.startswith("case ")]
        cut = shown[SHOWN] if len(shown) > SHOWN else len(lines)
        more = f"\n... and {cases - SHOWN} more cases" if cases > SHOWN else ""
        pytest.fail(
            f"{cases} case(s) with other {what}:\n" + "\n".join(lines[:cut]) + more
        )


def test_the_recordings_cover_the_issue() -> None:
    counts = {g: len(_recorded(g)["cases"]) for g in CASES.GROUPS}
    assert counts["intake_corpus"] >= 113
    assert counts["bad_input"] >= 19
    assert counts["demo_injected"] == 2 * len(CASES.DEMO_SEEDS) >= 24
    recorded = {g: _recorded(g) for g in CASES.GROUPS}
    for group, recording in recorded.items():
        assert recording["recorded_with"] == "66235fe", group
        assert recording["columns"] == list(CASES.COLUMNS), group
    # every rule example fires its rule; the clean uploads find nothing
    examples = recorded["rule_examples"]["cases"]
    for rule_id, seen in examples.items():
        rules = {f[0] for f in seen["findings"]}
        expected = rule_id.removeprefix("read-") if rule_id != "clean" else None
        assert (expected in rules) if expected else not rules, rule_id
    assert not any(s["findings"] for s in recorded["demo_clean"]["cases"].values())
    # every injected-error demo has its findings (20 to 23 injected errors each)
    injected = recorded["demo_injected"]["cases"]
    assert all(len(s["findings"]) >= 10 for s in injected.values())


def test_same_inputs(group: str, observed: Observed) -> None:
    recording = _recorded(group)
    now = observed
    lost = [name for name in recording["cases"] if name not in now]
    assert not lost, f"recorded cases no longer built in {group}: {lost}"
    changed = [
        name
        for name, before in recording["cases"].items()
        if now[name]["input"] != before["input"]
    ]
    assert not changed, (
        f"{len(changed)} input(s) of {group} are not the recorded ones, so their "
        f"findings cannot be compared (re-record them, see same_findings/README.md): "
        f"{changed[:SHOWN]}"
    )


def test_same_findings(group: str, observed: Observed) -> None:
    _fail_on(_differences(group, observed, CASES.STRICT), "findings")


def test_same_messages(group: str, observed: Observed) -> None:
    """Messages, domains and subjects too (fails as well when findings differ)."""
    _fail_on(_differences(group, observed, len(CASES.COLUMNS)), "wording")
