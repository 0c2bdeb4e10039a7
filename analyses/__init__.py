"""The statistics of trialdata: pure functions, DataFrames in, result objects out.

``analyses`` imports ``schemas`` only: no files, no store, no printing, no CLI.
"""

from analyses._results import AnalysisResult, Provenance, hash_frame, make_provenance

__all__ = ["AnalysisResult", "Provenance", "hash_frame", "make_provenance"]
