"""Shared fixtures: the repository's ``../shared`` reference material."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared").resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` folder beside the project; skips when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"reference material not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def cdisc_pilot_dir(shared_dir: Path) -> Path:
    """The CDISC pilot study data (SDTM and ADaM)."""
    path = shared_dir / "data" / "cdiscpilot01"
    if not path.is_dir():
        pytest.skip(f"CDISC pilot data not found at {path}")
    return path


def load_reference(shared: Path, name: str) -> Any:
    """Load one of the R reference JSON files in ``shared/reference``."""
    return json.loads((shared / "reference" / name).read_text())
