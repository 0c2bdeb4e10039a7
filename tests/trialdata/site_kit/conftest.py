"""A small clean demo upload (nk-aml: two sites, one route) and helpers to edit it."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from trialdata.demo import write_trial


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean nk-aml upload of 4 subjects (written once; copy before editing)."""
    folder = tmp_path_factory.mktemp("site_kit") / "nk-aml"
    write_trial(folder, "nk-aml", 4, seed=0)
    return folder


@pytest.fixture
def demo_upload(demo_source: Path, tmp_path: Path) -> Path:
    """A copy of the clean upload that a test may change."""
    return Path(shutil.copytree(demo_source, tmp_path / "upload"))


class CsvFile:
    """Read a CSV file of an upload, change its rows or header, write it back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            self.header = list(reader.fieldnames or [])
            self.rows = list(reader)

    def save(self) -> None:
        with self.path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, self.header, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.rows)


@pytest.fixture
def csv_file() -> type[CsvFile]:
    """The :class:`CsvFile` helper."""
    return CsvFile
