"""A small, deterministic allogeneic-NK-in-AML trial folder for the report tests.

The folder holds a ``protocol.toml`` and one CSV per domain and validates clean. Its
content is fixed by ``n_subjects`` and ``seed`` so tests can recompute every count
from the CSV files independently of the report code. ``hostile_term`` is written into
one verbatim AE term and one site name to check escaping.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HOSTILE = "<script>alert(1)</script> & rash"

PROTOCOL = """
routes = ["INTRAVENOUS", "INTRADERMAL"]
dlt_window_days = 28
[trial]
id = "SYN-NK-01"
title = "Synthetic allogeneic NK cells in AML"
protocol_version = "1.2"
[design]
method = "3+3"
target_dlt_rate = 0.3
cohort_size = 3
max_subjects = {max_subjects}
[[dose_levels]]
level = 1
amount = 1
unit = "10^6 cells/kg"
[[dose_levels]]
level = 2
amount = 3
unit = "10^6 cells/kg"
[[dose_levels]]
level = 3
amount = 10
unit = "10^6 cells/kg"
[[visits]]
name = "D0"
day = 0
[[visits]]
name = "D14"
day = 14
window_before = 2
window_after = 2
[[visits]]
name = "D28"
day = 28
window_before = 3
window_after = 3
[[sites]]
id = "NIJ"
name = "{site_name}"
[[sites]]
id = "UTR"
name = "Utrecht"
"""

#: (term, preferred term, SOC, AESI or "")
AE_TERMS = [
    ("fever", "Pyrexia", "General disorders and administration site conditions", ""),
    (
        "tiredness",
        "Fatigue",
        "General disorders and administration site conditions",
        "",
    ),
    ("low neutrophils", "Neutropenia", "Blood and lymphatic system disorders", ""),
    ("low platelets", "Thrombocytopenia", "Blood and lymphatic system disorders", ""),
    ("nausea", "Nausea", "Gastrointestinal disorders", ""),
    ("CRS", "Cytokine release syndrome", "Immune system disorders", "CRS"),
    (
        "ICANS",
        "Immune effector cell-associated neurotoxicity syndrome",
        "Nervous system disorders",
        "ICANS",
    ),
    (
        "skin GvHD",
        "Acute graft versus host disease in skin",
        "Immune system disorders",
        "GVHD",
    ),
    (
        "infusion reaction",
        "Infusion related reaction",
        "Injury, poisoning and procedural complications",
        "INFUSION REACTION",
    ),
]


def write_trial(
    folder: Path, n_subjects: int = 12, seed: int = 7, hostile: bool = True
) -> Path:
    """Write a synthetic trial folder and return it.

    Parameters
    ----------
    folder : pathlib.Path
        Folder to create.
    n_subjects : int
        Number of dosed subjects (multiple of 3).
    seed : int
        Random seed.
    hostile : bool
        Put :data:`HOSTILE` into one AE term and the first site's name.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    site_name = HOSTILE if hostile else "Nijmegen & Arnhem"
    (folder / "protocol.toml").write_text(
        PROTOCOL.format(max_subjects=max(n_subjects, 18), site_name=site_name),
        encoding="utf-8",
    )
    cohorts = pd.DataFrame(
        {
            "cohort_id": ["C1", "C2", "C3", "C3ID"],
            "dose_level": [1, 2, 3, 3],
            "route": ["INTRAVENOUS", "INTRAVENOUS", "INTRAVENOUS", "INTRADERMAL"],
            "planned_subjects": [6, 6, 6, 6],
        }
    )
    ids = [f"S{i + 1:03d}" for i in range(n_subjects)]
    # cohorts of 3 in order of treatment: levels 1, 2, 3, 3 (intradermal), then 3...
    cohort_of = [["C1", "C2", "C3", "C3ID"][min(i // 3, 3)] for i in range(n_subjects)]
    level_of = cohorts.set_index("cohort_id")["dose_level"]
    route_of = cohorts.set_index("cohort_id")["route"]
    start = pd.Timestamp("2025-01-06")
    first_dose = [start + pd.Timedelta(days=14 * i) for i in range(n_subjects)]
    subjects = pd.DataFrame(
        {
            "subject_id": ids,
            "site_id": ["NIJ" if i % 2 == 0 else "UTR" for i in range(n_subjects)],
            "cohort_id": cohort_of,
            "sex": ["F" if i % 3 == 0 else "M" for i in range(n_subjects)],
            "age": rng.integers(35, 75, n_subjects),
            "weight_kg": np.round(rng.uniform(55, 95, n_subjects), 1),
            "consent_date": [d - pd.Timedelta(days=10) for d in first_dose],
            "enrolment_date": [d - pd.Timedelta(days=3) for d in first_dose],
            "withdrawal_date": [
                d + pd.Timedelta(days=40) if i % 5 == 4 else pd.NaT
                for i, d in enumerate(first_dose)
            ],
            "withdrawal_reason": [
                "Withdrawal by subject" if i % 5 == 4 else "" for i in range(n_subjects)
            ],
        }
    )
    lots = pd.DataFrame(
        {
            "lot_id": [f"L{i + 1:03d}" for i in range(n_subjects)],
            "manufacture_date": [d - pd.Timedelta(days=2) for d in first_dose],
            "release_date": [d - pd.Timedelta(days=1) for d in first_dose],
            "release_status": "RELEASED",
            "total_cells_1e6": np.round(rng.uniform(500, 2000, n_subjects), 0),
            "viability_pct": np.round(rng.uniform(80, 98, n_subjects), 1),
            "purity_pct": np.round(rng.uniform(85, 99, n_subjects), 1),
        }
    )
    amounts = {1: 1.0, 2: 3.0, 3: 10.0}
    admin_rows = []
    for i, sid in enumerate(ids):
        level = int(level_of[cohort_of[i]])
        n_doses = 2 if i % 4 != 3 else 1
        for k in range(2):
            given = k < n_doses
            admin_rows.append(
                {
                    "subject_id": sid,
                    "admin_seq": k + 1,
                    "admin_date": first_dose[i] + pd.Timedelta(days=14 * k)
                    if given
                    else pd.NaT,
                    "visit": ["D0", "D14"][k],
                    "given": "Y" if given else "N",
                    "reason_not_given": "" if given else "Adverse event",
                    "dose_level": level if given else pd.NA,
                    "dose_amount": amounts[level] if given else np.nan,
                    "dose_unit": "10^6 cells/kg" if given else "",
                    "route": route_of[cohort_of[i]] if given else "",
                    "lot_id": lots["lot_id"].iloc[i],
                }
            )
    administrations = pd.DataFrame(admin_rows)
    ae_rows = []
    for i, sid in enumerate(ids):
        level = int(level_of[cohort_of[i]])
        n_ae = 1 + (i % 3)
        for k in range(n_ae):
            idx = (i * 2 + k * 3) % len(AE_TERMS)
            term, pt, soc, aesi = AE_TERMS[idx]
            if hostile and i == 0 and k == 0:
                term = HOSTILE
            grade = 1 + ((i + k) % (level + 1)) % 4
            dlt = level == 3 and k == 0 and i % 3 == 0
            if dlt:
                grade = max(grade, 3)
            onset = first_dose[i] + pd.Timedelta(days=1 + 3 * k)
            serious = grade >= 3
            fatal = i == n_subjects - 1 and k == 0
            if fatal:
                grade, serious = 5, True
            ae_rows.append(
                {
                    "subject_id": sid,
                    "ae_seq": k + 1,
                    "term": term,
                    "preferred_term": pt,
                    "soc": soc,
                    "onset_date": onset,
                    "resolution_date": pd.NaT
                    if fatal
                    else onset + pd.Timedelta(days=5),
                    "grade": grade,
                    "grading_scale": "ASTCT"
                    if aesi in ("CRS", "ICANS")
                    else ("MAGIC" if aesi == "GVHD" else "CTCAE"),
                    "grading_version": "2019" if aesi in ("CRS", "ICANS") else "5.0",
                    "serious": "Y" if serious else "N",
                    "relatedness": "POSSIBLY RELATED" if k == 0 else "NOT RELATED",
                    "outcome": "FATAL" if fatal else "RECOVERED/RESOLVED",
                    "action_taken": "NOT APPLICABLE",
                    "dlt": "Y" if dlt else "N",
                    "aesi": aesi,
                }
            )
    # one pre-dose event (not treatment emergent)
    ae_rows.append(
        {
            **ae_rows[0],
            "ae_seq": 99,
            "term": "headache",
            "preferred_term": "Headache",
            "soc": "Nervous system disorders",
            "onset_date": first_dose[0] - pd.Timedelta(days=2),
            "resolution_date": first_dose[0] - pd.Timedelta(days=1),
            "grade": 1,
            "grading_scale": "CTCAE",
            "grading_version": "5.0",
            "serious": "N",
            "dlt": "N",
            "aesi": "",
        }
    )
    adverse_events = pd.DataFrame(ae_rows)
    lab_rows = []
    tests = {
        "NEUT": ("10^9/L", 1.5, 8.0),
        "PLAT": ("10^9/L", 150.0, 400.0),
        "ALT": ("U/L", 0.0, 40.0),
    }
    for i, sid in enumerate(ids):
        for day, visit in ((-3, None), (14, "D14"), (28, "D28")):
            for code, (unit, lo, hi) in tests.items():
                base = (lo + hi) / 2
                factor = 1.0
                if day > 0 and (i + len(code)) % 4 == 0:
                    factor = 0.1 if code != "ALT" else 3.0
                lab_rows.append(
                    {
                        "subject_id": sid,
                        "visit": visit or "",
                        "lab_date": first_dose[i] + pd.Timedelta(days=day),
                        "test_code": code,
                        "value": round(base * factor, 2),
                        "unit": unit,
                        "lower_limit": lo,
                        "upper_limit": hi,
                    }
                )
    labs = pd.DataFrame(lab_rows)
    death = [i == n_subjects - 1 for i in range(n_subjects)]
    survival = pd.DataFrame(
        {
            "subject_id": ids,
            "last_known_alive_date": [
                d + pd.Timedelta(days=(30 if dead else 60 + 7 * (i % 6)))
                for i, (d, dead) in enumerate(zip(first_dose, death, strict=True))
            ],
            "death_date": [
                d + pd.Timedelta(days=30) if dead else pd.NaT
                for d, dead in zip(first_dose, death, strict=True)
            ],
            "death_cause": [
                "Cytokine release syndrome" if dead else "" for dead in death
            ],
            "new_therapy_date": pd.NaT,
        }
    )
    disease = pd.DataFrame(
        {
            "subject_id": ids,
            "assessment_date": [d + pd.Timedelta(days=28) for d in first_dose],
            "response": ["CR" if i % 2 == 0 else "PD" for i in range(n_subjects)],
            "progression": ["N" if i % 2 == 0 else "Y" for i in range(n_subjects)],
        }
    )
    frames = {
        "subjects": subjects,
        "cohorts": cohorts,
        "product_lots": lots,
        "administrations": administrations,
        "adverse_events": adverse_events,
        "labs": labs,
        "survival_status": survival,
        "disease_assessments": disease,
    }
    for name, frame in frames.items():
        out = frame.copy()
        for column in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[column]):
                out[column] = out[column].dt.strftime("%Y-%m-%d")
        out.to_csv(folder / f"{name}.csv", index=False)
    return folder
