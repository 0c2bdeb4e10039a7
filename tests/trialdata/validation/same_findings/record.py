"""Record the findings of every same-findings case, from a frozen copy of the code.

Run it with the frozen code first on the import path (never the working tree being
rewritten)::

    PYTHONPATH=/tmp/baseline-src python tests/trialdata/validation/same_findings/record.py \
        --label 66235fe

It writes one ``<group>.json`` per group beside this script (see README.md). When the
code that *builds* the inputs changes (the demo writer, a corpus builder), re-record in
two steps: build the inputs with the new code, then validate them with the frozen code::

    python .../record.py --build-only /tmp/inputs
    PYTHONPATH=/tmp/baseline-src python .../record.py --from-inputs /tmp/inputs --label ...
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import cases  # the module beside this script (run as a script, its folder is on the path)

import trialdata

MANIFEST = "manifest.json"


def _recording(group: str) -> dict[str, Any]:
    return json.loads((cases.DATA / f"{group}.json").read_text(encoding="utf-8"))


def _rule_inputs(fresh: bool) -> dict[str, Any]:
    """The rule examples' files: from the catalogue imported, or as recorded."""
    return (
        cases.rule_example_inputs() if fresh else _recording("rule_examples")["inputs"]
    )


def _dump(recording: dict[str, Any]) -> str:
    """JSON with one finding per line, so that a re-recording diffs line by line."""
    lines = ["{"]
    for key, value in recording.items():
        if key != "cases":
            lines.append(
                f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},"
            )
    lines.append('  "cases": {')
    items = list(recording["cases"].items())
    for number, (name, seen) in enumerate(items):
        lines.append(f"    {json.dumps(name)}: {{")
        lines.append(f'      "input": {json.dumps(seen["input"])},')
        lines.append(
            f'      "raises": {json.dumps(seen["raises"], ensure_ascii=False)},'
        )
        findings = [json.dumps(f, ensure_ascii=False) for f in seen["findings"]]
        if findings:
            lines.append('      "findings": [')
            lines += [f"        {f}," for f in findings[:-1]] + [
                f"        {findings[-1]}"
            ]
            lines.append("      ]")
        else:
            lines.append('      "findings": []')
        lines.append("    }" + ("," if number < len(items) - 1 else ""))
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def build_only(target: Path, groups: list[str]) -> None:
    """Write every case's input under ``target/<group>/<case>`` and a manifest."""
    manifest: dict[str, dict[str, str]] = {}
    for group in groups:
        manifest[group] = {}
        rule_inputs = _rule_inputs(fresh=False) if group == "rule_examples" else None
        built = cases.build_cases(group, rule_inputs)
        for name, case in built.items():
            folder = target / group / name
            folder.mkdir(parents=True)
            path = case.build(folder)
            manifest[group][name] = str(path.relative_to(folder))
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def _observe_built(group: str, rule_inputs: Any) -> dict[str, Any]:
    """Build each case of a group in a scratch folder and observe it."""
    seen: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, case in cases.build_cases(group, rule_inputs).items():
            folder = Path(scratch) / name
            folder.mkdir()
            seen[name] = cases.observe(case, folder)
    return seen


def _given(path: Path) -> cases.Build:
    """A 'builder' of an input written earlier: it only names the path."""
    return lambda folder: path


def _observe_written(inputs: Path, group: str) -> dict[str, Any]:
    """Observe the cases of a group written by :func:`build_only`."""
    manifest = json.loads((inputs / MANIFEST).read_text(encoding="utf-8"))
    seen: dict[str, Any] = {}
    for name, given in manifest[group].items():
        folder = inputs / group / name
        seen[name] = cases.observe(cases.Case(name, _given(folder / given)), folder)
    return seen


def record(groups: list[str], label: str, inputs: Path | None) -> None:
    """Validate every case of ``groups`` and write ``<group>.json``."""
    for group in groups:
        rule_inputs = None
        if group == "rule_examples":
            rule_inputs = _rule_inputs(fresh=inputs is None)
        if inputs is None:
            seen = _observe_built(group, rule_inputs)
        else:
            seen = _observe_written(inputs, group)
        recording: dict[str, Any] = {
            "group": group,
            "recorded_with": label,
            "columns": list(cases.COLUMNS),
        }
        if group == "rule_examples":
            recording["inputs"] = rule_inputs
        recording["cases"] = seen
        path = cases.DATA / f"{group}.json"
        path.write_text(_dump(recording), encoding="utf-8")
        count = sum(len(s["findings"]) for s in seen.values())
        raised = sum(s["raises"] is not None for s in seen.values())
        print(f"{group}: {len(seen)} cases, {count} findings, {raised} raised")


def main() -> int:
    """Parse the command line and record (or build the inputs only)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", action="append", choices=cases.GROUPS)
    parser.add_argument("--label", default="unlabelled", help="the code recorded")
    parser.add_argument("--build-only", type=Path, metavar="DIR")
    parser.add_argument("--from-inputs", type=Path, metavar="DIR")
    parser.add_argument(
        "--allow-working-tree",
        action="store_true",
        help="record from the trialdata of this working tree (normally refused)",
    )
    args = parser.parse_args()
    groups = args.group or list(cases.GROUPS)
    print(f"trialdata imported from {trialdata.__file__}")
    if args.build_only is not None:
        build_only(args.build_only, groups)
        return 0
    here = Path(__file__).resolve().parents[4]
    if Path(trialdata.__file__).resolve().is_relative_to(here) and not (
        args.allow_working_tree
    ):
        print(
            f"refused: trialdata is imported from this working tree ({here}); "
            "put the frozen copy first (PYTHONPATH=...)",
            file=sys.stderr,
        )
        return 2
    record(groups, args.label, args.from_inputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
