"""CI runs exactly the README's test command, then the pandas 2.2 pass."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = _bash_blocks()[1]
    assert "pytest" in test_command and "pip install" in test_command
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in lines


def test_the_readme_test_command_installs_every_extra_the_tests_use() -> None:
    test_command = _bash_blocks()[1]
    match = re.search(r'pip install -e "\.\[([a-z,]+)\]"', test_command)
    assert match is not None
    assert {"all", "test"} <= set(match.group(1).split(","))


def test_ci_runs_a_second_pass_on_pandas_2_2_with_the_crosschecks() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert '".[all,test,crosscheck]" "pandas>=2.2,<2.3"' in script
    assert "TRIALDATA_CROSSCHECK=1" in script
