"""The statistics of trialdata: pure functions, DataFrames in, result objects out.

``analyses`` imports ``schemas`` only: no files, no store, no printing, no CLI.
"""

import importlib
from types import ModuleType

from analyses._results import AnalysisResult, Provenance, hash_frame, make_provenance

#: Analysis subpackages, imported on first use (``analyses.survival``).
SUBPACKAGES = (
    "biobank",
    "dose_finding",
    "immunomonitoring",
    "mri",
    "safety",
    "survival",
)

__all__ = [
    "SUBPACKAGES",
    "AnalysisResult",
    "Provenance",
    "hash_frame",
    "make_provenance",
]


def __getattr__(name: str) -> ModuleType:
    """Import an analysis subpackage on first access, e.g. ``td.analyses.survival``."""
    if name in SUBPACKAGES:
        return importlib.import_module(f"analyses.{name}")
    raise AttributeError(f"module 'analyses' has no attribute {name!r}")
