"""A small, clean, hand-written upload that the bad-input tests corrupt one way each."""

from __future__ import annotations

from pathlib import Path

import pytest

PROTOCOL = """\
routes = ["INTRADERMAL", "INTRANODAL"]
dlt_window_days = 28

[trial]
id = "TOLDC-MS-T1"
title = "Tolerogenic dendritic cells in multiple sclerosis"
protocol_version = "1.0"

[design]
method = "3+3"
target_dlt_rate = 0.3
cohort_size = 3
max_subjects = 18
escalation_by = "route"

[[dose_levels]]
level = 1
amount = 5
unit = "10^6 cells per injection"

[[dose_levels]]
level = 2
amount = 10
unit = "10^6 cells per injection"

[[release_specifications]]
attribute = "viability_pct"
min = 70

[[sites]]
id = "BDN"
name = "Badalona"
"""

FILES = {
    "subjects.csv": """\
subject_id,site_id,cohort_id,sex,birth_year,consent_date,withdrawal_date
S-001,BDN,C1-ID,F,1980,2024-01-02,
S-002,BDN,C1-ID,M,1975,2024-01-03,
S-003,BDN,C2-IN,F,1990,2024-01-04,
""",
    "cohorts.csv": """\
cohort_id,dose_level,route
C1-ID,1,INTRADERMAL
C2-IN,1,INTRANODAL
""",
    "product_lots.csv": """\
lot_id,manufacture_date,release_date,release_status,total_cells_1e6,viability_pct,purity_pct
L-001,2024-01-08,2024-01-09,RELEASED,60,92.5,88
L-002,2024-01-08,2024-01-09,RELEASED,60,90.1,86
L-003,2024-01-09,2024-01-10,RELEASED,120,94.0,91
""",
    "administrations.csv": """\
subject_id,admin_seq,admin_date,given,reason_not_given,dose_level,dose_amount,dose_unit,route,lot_id
S-001,1,2024-01-10,Y,,1,5,10^6 cells per injection,INTRADERMAL,L-001
S-002,1,2024-01-11,Y,,1,5,10^6 cells per injection,INTRADERMAL,L-002
S-003,1,2024-01-12,Y,,1,5,10^6 cells per injection,INTRANODAL,L-003
""",
    "adverse_events.csv": """\
subject_id,ae_seq,term,preferred_term,soc,onset_date,resolution_date,grade,grading_scale,grading_version,serious,relatedness,outcome,action_taken,dlt,aesi
S-001,1,redness at injection site,Injection site erythema,General disorders and administration site conditions,2024-01-11,2024-01-14,1,CTCAE,5.0,N,PROBABLY RELATED,RECOVERED/RESOLVED,DOSE NOT CHANGED,N,
S-003,1,headache,Headache,Nervous system disorders,2024-01-13,2024-01-13,2,CTCAE,5.0,N,POSSIBLY RELATED,RECOVERED/RESOLVED,DOSE NOT CHANGED,N,
""",
}


def write_upload(folder: Path, files: dict[str, str] | None = None) -> Path:
    """Write the clean upload (with ``files`` overriding or adding files) to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "protocol.toml").write_text(PROTOCOL)
    for name, text in (FILES | (files or {})).items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def clean_upload(tmp_path: Path) -> Path:
    """A clean upload folder; tests change one thing each."""
    return write_upload(tmp_path / "upload")
