"""Readers: site files in, tables as sent out, every row tied to its source line."""

from trialdata.io.files import DATA_SUFFIXES, SourceFile, discover_upload
from trialdata.io.identifiers import find_identifier_columns
from trialdata.io.readers import RawTable, read_raw

__all__ = [
    "DATA_SUFFIXES",
    "RawTable",
    "SourceFile",
    "discover_upload",
    "find_identifier_columns",
    "read_raw",
]
