"""Build small typed uploads in code, to test rules without files.

Examples
--------
>>> from trialdata.validation.rules.testing import make_upload, run_rule, typed_table
>>> labs = typed_table("labs", [{"subject_id": "S-01", "lab_date": "2024-01-02",
...     "test_code": "ALT", "lower_limit": 56.0, "upper_limit": 7.0}])
>>> upload = make_upload(labs=labs)
>>> run_rule("LB-001", upload)[["rule", "file", "row", "column"]].values.tolist()
[['LB-001', 'labs.csv', 2, 'lower_limit']]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import pandas as pd

from schemas.domains import get_domain
from schemas.protocol import Protocol, parse_protocol
from trialdata.validation.rule import SOURCE_FILE, SOURCE_ROW, Upload
from trialdata.validation.rule import run_rule as run_one_rule
from trialdata.validation.rules import find_rule

__all__ = [
    "BASE_PROTOCOL",
    "clean_records",
    "clean_upload",
    "findings_set",
    "make_upload",
    "run_rule",
    "typed_table",
]

#: A minimal two-dose-level, two-route, one-site protocol with a short visit schedule.
BASE_PROTOCOL: dict[str, Any] = {
    "trial": {"id": "RULES-TEST", "title": "Rule tests", "protocol_version": "1"},
    "design": {
        "method": "3+3",
        "target_dlt_rate": 0.3,
        "cohort_size": 3,
        "max_subjects": 12,
        "escalation_by": "route",
    },
    "dose_levels": [
        {"level": 1, "amount": 5.0, "unit": "10^6 cells"},
        {"level": 2, "amount": 10.0, "unit": "10^6 cells"},
    ],
    "routes": ["INTRADERMAL", "INTRANODAL"],
    "dlt_window_days": 28,
    "visits": [
        {"name": "V1", "day": 0},
        {"name": "V2", "day": 14, "window_before": 3, "window_after": 3},
    ],
    "release_specifications": [{"attribute": "viability_pct", "min": 70.0}],
    "sites": [{"id": "BDN", "name": "Badalona"}],
}


def typed_table(
    domain: str, records: Sequence[Mapping[str, Any]], file: str | None = None
) -> pd.DataFrame:
    """Return a typed domain table from records, as the runner would hand it to rules.

    Parameters
    ----------
    domain : str
        Domain name.
    records : sequence of mappings
        One mapping per row; dates may be ISO strings, booleans True/False/None.
    file : str, optional
        Source file name; defaults to ``<domain>.csv``.

    Returns
    -------
    pandas.DataFrame
        The records with schema columns cast to their types and the source columns
        (rows numbered from 2, as below a header line).
    """
    spec = get_domain(domain)
    raw = pd.DataFrame(list(records))
    casts: dict[str, Callable[[pd.Series], pd.Series]] = {
        "datetime": lambda v: pd.Series(
            pd.to_datetime(v, format="ISO8601"), index=v.index
        ).astype("datetime64[ns]"),
        "integer": lambda v: v.astype("Int64"),
        "float": lambda v: v.astype(float),
        "boolean": lambda v: v.astype("boolean"),
    }
    columns = {}
    for column in raw.columns:
        cast = casts.get(spec.column_kinds.get(column, "string"))
        columns[column] = cast(raw[column]) if cast else raw[column].astype(object)
    data = pd.DataFrame(columns, index=raw.index)
    data[SOURCE_FILE] = file or f"{domain}.csv"
    data[SOURCE_ROW] = range(2, len(data) + 2)
    return data


def make_upload(
    protocol: Protocol | Mapping[str, Any] | None = None, **tables: pd.DataFrame
) -> Upload:
    """Return the upload of a protocol (default :data:`BASE_PROTOCOL`) and tables."""
    if protocol is None:
        protocol = BASE_PROTOCOL
    if not isinstance(protocol, Protocol):
        protocol = parse_protocol(protocol)
    return Upload(protocol, tables)


def run_rule(rule_id: str, upload: Upload) -> pd.DataFrame:
    """Run one rule on an upload, whatever domains it reads.

    Raises
    ------
    KeyError
        If no rule has that id.
    """
    return run_one_rule(find_rule(rule_id), upload)


_NO_CRITERIA = {
    "ser_death": False,
    "ser_life_threatening": False,
    "ser_hospitalisation": False,
    "ser_disability": False,
    "ser_congenital_anomaly": False,
    "ser_medically_important": False,
}


def _ae(subject: str, seq: int, **values: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "subject_id": subject,
        "ae_seq": seq,
        "term": "redness",
        "preferred_term": "Injection site reaction",
        "soc": "General disorders and administration site conditions",
        "onset_date": "2024-01-11",
        "resolution_date": "2024-01-14",
        "grade": 1,
        "grading_scale": "CTCAE",
        "grading_version": "5.0",
        "serious": False,
        **_NO_CRITERIA,
        "relatedness": "PROBABLY RELATED",
        "outcome": "RECOVERED/RESOLVED",
        "action_taken": "DOSE NOT CHANGED",
        "dlt": False,
        "aesi": None,
    }
    record.update(values)
    return record


def _dose(subject: str, seq: int, date: str | None, level: int, **values: Any) -> dict:
    record: dict[str, Any] = {
        "subject_id": subject,
        "admin_seq": seq,
        "admin_date": date,
        "visit": f"V{seq}",
        "given": date is not None,
        "reason_not_given": None if date else "Consent withdrawn",
        "dose_level": level if date else None,
        "dose_amount": 5.0 * level if date else None,
        "dose_unit": "10^6 cells" if date else None,
        "route": ("INTRADERMAL" if level == 1 else "INTRANODAL") if date else None,
        "lot_id": f"L-0{subject[-1]}" if date else None,
    }
    record.update(values)
    return record


def _sample(sample: str, subject: str, day: str, **values: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "sample_id": sample,
        "parent_sample_id": None,
        "subject_id": subject,
        "visit": "V1",
        "sample_type": "SERUM",
        "collection_time": f"{day}T08:00",
        "processing_time": f"{day}T09:00",
        "freezing_time": f"{day}T10:00",
        "storage_temperature": "-60 to -85 C",
        "storage_position": None,
        "freeze_thaw_count": 0,
        "consent_scope": "FUTURE RESEARCH",
        "consent_status": "ACTIVE",
        "destroyed_date": None,
    }
    record.update(values)
    return record


def clean_records() -> dict[str, list[dict[str, Any]]]:
    """Return a tiny upload, as records, that passes every rule.

    Three subjects under :data:`BASE_PROTOCOL`: S-01 (cohort C1, two doses, a DLT on
    day 10), S-02 (cohort C2, withdrew consent after the first dose; samples destroyed)
    and S-03 (cohort C1, died of sepsis after one dose). Tests change one value and
    check the findings of one rule.
    """
    return {
        "subjects": [
            {
                "subject_id": "S-01",
                "site_id": "BDN",
                "cohort_id": "C1",
                "sex": "F",
                "consent_date": "2024-01-02",
                "withdrawal_date": None,
            },
            {
                "subject_id": "S-02",
                "site_id": "BDN",
                "cohort_id": "C2",
                "sex": "M",
                "consent_date": "2024-01-03",
                "withdrawal_date": "2024-02-15",
            },
            {
                "subject_id": "S-03",
                "site_id": "BDN",
                "cohort_id": "C1",
                "sex": "F",
                "consent_date": "2024-01-04",
                "withdrawal_date": None,
            },
        ],
        "cohorts": [
            {"cohort_id": "C1", "dose_level": 1, "route": "INTRADERMAL"},
            {"cohort_id": "C2", "dose_level": 1, "route": "INTRANODAL"},
        ],
        "product_lots": [
            {
                "lot_id": f"L-0{i}",
                "manufacture_date": "2024-01-05",
                "release_date": "2024-01-08",
                "expiry_date": "2024-06-30",
                "release_status": "RELEASED",
                "total_cells_1e6": 60.0,
                "viability_pct": 90.0,
                "purity_pct": 80.0,
            }
            for i in (1, 2, 3)
        ]
        + [
            {
                "lot_id": "L-04",
                "manufacture_date": "2024-01-05",
                "release_date": None,
                "expiry_date": None,
                "release_status": "REJECTED",
                "total_cells_1e6": 20.0,
                "viability_pct": 60.0,
                "purity_pct": 50.0,
            }
        ],
        "administrations": [
            _dose("S-01", 1, "2024-01-10", 1),
            _dose("S-01", 2, "2024-01-24", 1),
            _dose("S-02", 1, "2024-01-12", 1, route="INTRANODAL"),
            _dose("S-02", 2, None, 1),
            _dose("S-03", 1, "2024-01-15", 1),
        ],
        "adverse_events": [
            _ae("S-01", 1),
            _ae(
                "S-01",
                2,
                term="fever",
                preferred_term="Pyrexia",
                onset_date="2024-01-20",
                resolution_date="2024-01-25",
                grade=3,
                serious=True,
                ser_hospitalisation=True,
                dlt=True,
                action_taken="DRUG INTERRUPTED",
            ),
            _ae(
                "S-02",
                1,
                term="CRS",
                preferred_term="Cytokine release syndrome",
                soc="Immune system disorders",
                onset_date="2024-01-13",
                resolution_date="2024-01-16",
                grade=2,
                grading_scale="ASTCT",
                grading_version="2019",
                aesi="CRS",
            ),
            _ae(
                "S-03",
                1,
                term="septic shock",
                preferred_term="Sepsis",
                soc="Infections and infestations",
                onset_date="2024-02-25",
                resolution_date="2024-03-01",
                grade=5,
                serious=True,
                ser_death=True,
                relatedness="NOT RELATED",
                outcome="FATAL",
                action_taken="NOT APPLICABLE",
            ),
        ],
        "labs": [
            {
                "subject_id": "S-01",
                "visit": None,
                "lab_date": "2024-01-02",
                "test_code": "ALT",
                "value": 20.0,
                "unit": "U/L",
                "lower_limit": 7.0,
                "upper_limit": 56.0,
            },
            {
                "subject_id": "S-01",
                "visit": "V2",
                "lab_date": "2024-01-24",
                "test_code": "ALT",
                "value": 25.0,
                "unit": "U/L",
                "lower_limit": 7.0,
                "upper_limit": 56.0,
            },
        ],
        "mri": [
            {
                "subject_id": "S-01",
                "visit": "V2",
                "scan_date": "2024-01-25",
                "gd_lesions": 0,
                "new_enlarging_t2_lesions": 1,
                "t2_lesion_volume_ml": 5.0,
                "pbvc_pct": -0.1,
                "scanner_id": "SC1",
                "protocol_id": "P1",
                "pipeline": "long",
                "reader_id": "R1",
            },
        ],
        "biobank_samples": [
            _sample(
                "S-01-V1-PB",
                "S-01",
                "2024-01-10",
                sample_type="WHOLE BLOOD",
                freezing_time=None,
                storage_temperature=None,
                destroyed_date="2024-01-10",
            ),
            _sample(
                "S-01-V1-PBMC1",
                "S-01",
                "2024-01-10",
                parent_sample_id="S-01-V1-PB",
                sample_type="PBMC",
                storage_temperature="LN2 vapour",
                storage_position="LN2/R1/B1/A1",
            ),
            _sample(
                "S-02-V1-SER1",
                "S-02",
                "2024-01-12",
                storage_position="F80/R1/B1/A1",
                consent_status="WITHDRAWN",
                destroyed_date="2024-02-20",
            ),
            _sample(
                "S-03-V1-SER1", "S-03", "2024-01-15", storage_position="F80/R1/B1/A2"
            ),
        ],
        "custody_events": [
            {
                "sample_id": "S-01-V1-PBMC1",
                "event_seq": i + 1,
                "event_time": time,
                "event_type": kind,
                "party": "BDN lab",
                "location": "BDN lab",
            }
            for i, (time, kind) in enumerate(
                [
                    ("2024-01-10T08:00", "COLLECTED"),
                    ("2024-01-10T09:00", "PROCESSED"),
                    ("2024-01-10T10:00", "FROZEN"),
                    ("2024-01-10T12:00", "STORED"),
                ]
            )
        ],
        "immunomonitoring": [
            {
                "subject_id": subject,
                "visit": visit,
                "collection_date": day,
                "assay": "FLOW CYTOMETRY",
                "analyte": "Treg",
                "parent_population": "CD4",
                "value": 5.0,
                "unit": "%",
                "lloq": 0.01,
                "uloq": None,
                "batch": "B1",
            }
            for subject, visit, day in (
                ("S-01", "V2", "2024-01-24"),
                ("S-02", "V1", "2024-01-12"),
            )
        ],
        "disease_assessments": [
            {
                "subject_id": "S-01",
                "visit": "V2",
                "assessment_date": "2024-01-24",
                "response": None,
                "progression": False,
                "edss": 2.0,
            },
        ],
        "survival_status": [
            {
                "subject_id": "S-01",
                "last_known_alive_date": "2024-06-01",
                "death_date": None,
            },
            {
                "subject_id": "S-02",
                "last_known_alive_date": "2024-02-15",
                "death_date": None,
            },
            {
                "subject_id": "S-03",
                "last_known_alive_date": "2024-03-01",
                "death_date": "2024-03-01",
            },
        ],
    }


def clean_upload(
    records: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    protocol: Protocol | Mapping[str, Any] | None = None,
) -> Upload:
    """Return the upload of ``records`` (default :func:`clean_records`)."""
    records = clean_records() if records is None else records
    tables = {
        domain: _typed_cached(domain, json.dumps(rows, default=str))
        for domain, rows in records.items()
    }
    return make_upload(protocol, **tables)


@lru_cache(maxsize=256)
def _typed_cached(domain: str, rows: str) -> pd.DataFrame:
    """Return :func:`typed_table` of JSON records, cached (rules never modify it)."""
    return typed_table(domain, json.loads(rows))


def findings_set(
    findings: pd.DataFrame,
) -> set[tuple[str, str, int | None, str | None]]:
    """Return the findings as a set of (rule, file, row, column)."""
    rows = [None if pd.isna(r) else int(r) for r in findings["row"]]
    return set(
        zip(findings["rule"], findings["file"], rows, findings["column"], strict=True)
    )
