"""The README's script example runs as written on a demo trial."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from analyses.survival import SmallSampleWarning
from trialdata.demo import write_trial

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_has_a_script_example() -> None:
    assert len(_python_blocks()) == 1


def test_readme_script_runs_on_the_demo_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_trial(tmp_path / "demo-trial", "nk-aml", seed=3)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(_python_blocks()[0], "README.md", "exec"), namespace)
    # The clean demo loads without warnings; its 12 subjects have too few events for
    # the log-rank chi-square approximation, which the comparison says.
    assert {type(w.message) for w in caught} == {SmallSampleWarning}
    out = capsys.readouterr().out
    assert "Empty DataFrame" in out  # no findings on the clean demo
    km = namespace["km"]
    assert km.provenance.parameters["conf_type"] == "log-log"  # type: ignore[attr-defined]
    # the script prints what the CLI prints for the same folder
    from typer.testing import CliRunner

    from trialdata.cli import app

    cli = CliRunner().invoke(app, ["escalation", "demo-trial"])
    assert cli.exit_code == 0, cli.output
    escalation = namespace["escalation"]
    for group in escalation.groups:  # type: ignore[attr-defined]
        sentence = group.describe()
        assert sentence in out and sentence in cli.stdout
    for rule in namespace["data"].describe_rules():  # type: ignore[attr-defined]
        assert rule in out and rule in cli.stdout
