"""The tree stays ``ruff check`` and ``ruff format`` clean (mypy runs separately: slow)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "arguments", [["check", "--quiet", "."], ["format", "--check", "--quiet", "."]]
)
def test_ruff_is_clean(arguments: list[str]) -> None:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it is in the 'test' extra)")
    result = subprocess.run(
        [ruff, *arguments], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
