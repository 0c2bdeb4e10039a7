"""Which tables and columns the rules read: subject-level records and their dates."""

from __future__ import annotations

from schemas.domains import DOMAINS

__all__ = ["DATED_COLUMNS", "SUBJECT_DOMAINS", "VISIT_DATES"]

#: Domains whose rows belong to a subject, other than ``subjects`` itself.
SUBJECT_DOMAINS: tuple[str, ...] = tuple(
    spec.name for spec in DOMAINS if spec.has_subject and spec.name != "subjects"
)

#: The date of each subject-level record, by domain.
DATED_COLUMNS: dict[str, str] = {
    "administrations": "admin_date",
    "adverse_events": "onset_date",
    "labs": "lab_date",
    "mri": "scan_date",
    "biobank_samples": "collection_time",
    "immunomonitoring": "collection_date",
    "disease_assessments": "assessment_date",
}

#: Domains with a visit column, and the date that places the visit.
VISIT_DATES: dict[str, str] = {
    name: column for name, column in DATED_COLUMNS.items() if name != "adverse_events"
}
