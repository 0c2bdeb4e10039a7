"""Validation: per-table schemas plus cross-domain and protocol rules, as findings."""

from trialdata.validation.report import FileRecord, ValidationReport
from trialdata.validation.runner import PROTOCOL_FILE, validate_folder, validate_tables

__all__ = [
    "PROTOCOL_FILE",
    "FileRecord",
    "ValidationReport",
    "validate_folder",
    "validate_tables",
]
