"""Fixtures of the dose-finding tests: a small protocol and trial tables."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from schemas.protocol import Protocol, parse_protocol


def protocol_data(routes: list[str], method: str = "BOIN") -> dict[str, Any]:
    design: dict[str, Any] = {
        "method": method,
        "target_dlt_rate": 0.3,
        "cohort_size": 3,
        "max_subjects": 18,
    }
    if method == "CRM":
        design["skeleton"] = [0.1, 0.2, 0.3]
    return {
        "trial": {
            "id": "DF-TEST",
            "title": "dose finding test",
            "protocol_version": "1",
        },
        "design": design,
        "dose_levels": [
            {"level": 1, "amount": 1, "unit": "10^6 cells/kg"},
            {"level": 2, "amount": 3, "unit": "10^6 cells/kg"},
            {"level": 3, "amount": 10, "unit": "10^6 cells/kg"},
        ],
        "routes": routes,
        "dlt_window_days": 28,
        "sites": [{"id": "S1", "name": "Site 1"}],
    }


@pytest.fixture
def protocol() -> Protocol:
    return parse_protocol(protocol_data(["INTRADERMAL"]))


def _d(s: str | None) -> Any:
    return pd.NaT if s is None else pd.Timestamp(s)


@pytest.fixture
def trial_tables() -> dict[str, pd.DataFrame]:
    """Seven subjects; their ADSL and escalation counts are worked out by hand in
    test_dose_level_table."""
    subjects = pd.DataFrame(
        {
            "subject_id": ["S01", "S02", "S03", "S04", "S05", "S06", "S07"],
            "cohort_id": ["C1", "C1", "C1", "C2", "C2", "C2", "C3"],
            "withdrawal_date": [None, None, "2026-01-20", None, None, None, None],
        }
    )
    subjects["withdrawal_date"] = pd.to_datetime(subjects["withdrawal_date"])
    cohorts = pd.DataFrame(
        {
            "cohort_id": ["C1", "C2", "C3"],
            "dose_level": pd.array([1, 2, 3], dtype="Int64"),
            "route": ["INTRADERMAL"] * 3,
        }
    )
    adm = pd.DataFrame(
        [
            ("S01", 1, "2026-01-01", True, 1),
            ("S01", 2, "2026-02-15", True, 1),
            ("S02", 1, "2026-01-05", True, 1),
            ("S03", 1, "2026-01-08", True, 1),
            ("S04", 1, None, False, None),
            ("S04", 2, "2026-02-01", True, None),
            ("S05", 1, "2026-02-03", True, 2),
            ("S06", 1, "2026-02-10", True, 2),
            ("S07", 1, None, False, None),
        ],
        columns=["subject_id", "admin_seq", "admin_date", "given", "dose_level"],
    )
    adm["admin_date"] = pd.to_datetime(adm["admin_date"])
    adm["given"] = adm["given"].astype("boolean")
    adm["dose_level"] = adm["dose_level"].astype("Int64")
    adm["route"] = ["INTRADERMAL"] * 4 + [
        None,
        None,
        "INTRADERMAL",
        "INTRADERMAL",
        None,
    ]
    ae = pd.DataFrame(
        [
            ("S02", 1, "2026-01-20", None, True),
            ("S04", 1, "2026-03-15", "2026-03-20", True),
            ("S05", 1, "2026-03-03", None, True),
            ("S01", 1, "2026-01-03", "2026-01-04", False),
        ],
        columns=["subject_id", "ae_seq", "onset_date", "resolution_date", "dlt"],
    )
    ae["onset_date"] = pd.to_datetime(ae["onset_date"])
    ae["resolution_date"] = pd.to_datetime(ae["resolution_date"])
    ae["dlt"] = ae["dlt"].astype("boolean")
    return {
        "subjects": subjects,
        "cohorts": cohorts,
        "administrations": adm,
        "adverse_events": ae,
    }
