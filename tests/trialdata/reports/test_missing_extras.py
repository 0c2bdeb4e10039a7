"""A report format whose extra is missing says which extra to install."""

from __future__ import annotations

import ctypes.util
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trialdata.cli import app
from trialdata.errors import MissingExtraError
from trialdata.reports import Report, render
from trialdata.reports.pdf import _loader_cache_lookup

runner = CliRunner()


@pytest.mark.parametrize(
    ("fmt", "module", "message"),
    [
        (
            "pdf",
            "weasyprint",
            "PDF output needs WeasyPrint: pip install 'trialdata[pdf]'",
        ),
        (
            "docx",
            "docx",
            "DOCX output needs python-docx: pip install 'trialdata[reports]'",
        ),
        (
            "rtf",
            "rtflite",
            "RTF output needs rtflite: pip install 'trialdata[reports]'",
        ),
    ],
)
def test_a_format_without_its_extra_names_the_extra(
    synthetic_report: Report,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
    module: str,
    message: str,
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    with pytest.raises(MissingExtraError) as caught:
        render(synthetic_report, fmt)
    assert str(caught.value) == message


def test_the_cli_says_which_extra_without_a_traceback(
    synthetic_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    out = tmp_path / "report.pdf"
    result = runner.invoke(
        app, ["report", "safety", str(synthetic_folder), "--output", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert "pip install 'trialdata[pdf]'" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.skipif(
    not hasattr(ctypes.util, "_findSoname_ldconfig"), reason="Linux loader cache"
)
def test_weasyprint_libraries_are_found_in_the_loader_cache() -> None:
    original = ctypes.util.find_library
    with _loader_cache_lookup():
        assert ctypes.util.find_library is not original
        assert ctypes.util.find_library("c") is not None  # libc.so.6
        assert ctypes.util.find_library("not-a-library-xyz") is None
    assert ctypes.util.find_library is original
