"""The tolDC-ms demo trial: tolerogenic dendritic cells in multiple sclerosis.

Modelled on the RESTORE trials: three dose levels (5, 10 and 15 x 10^6 cells per
injection) given intradermally or intranodally (one BOIN escalation per route, then
expansion cohorts; see :mod:`trialdata.demo.escalation`), six injections (every two
weeks four times, then every four weeks twice), MRI every three months, EDSS, ELISpot
and flow immunomonitoring, and a consented biobank. Everyone is alive at the end; some
subjects withdraw consent after the third injection.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from trialdata.demo._archetype import (
    birth_years,
    blood_draws,
    last_visit_dates,
    stack_lots,
    still_alive_after_records,
    subjects_table,
    survival_table,
    trial_adverse_events,
)
from trialdata.demo.common import (
    AeTerm,
    Analyte,
    add_days,
    choose,
    dose_levels,
    immunomonitoring,
    labs,
    level_values,
    make_timeline,
    missing_dates,
    missing_text,
    subject_ids,
    visit_grid,
    visits_in,
    with_end,
)
from trialdata.demo.escalation import Cohort, Enrolment, enrol
from trialdata.demo.protocols import COHORT_PREFIXES, TOLDC_VISITS

__all__ = ["generate_tol_dc_ms"]

#: True probability of a DLT at each dose level (5, 10, 15 x 10^6 cells); besides,
#: the first cohort of each route at the top dose has one DLT.
DLT_RATES = (0.0, 0.04, 0.08)

#: Onset of a DLT, in days after the first dose.
DLT_ONSET = (2, 27)
DOSE_VISITS = ("V1", "V2", "V3", "V4", "V5", "V6")
LAB_VISITS = ("SCREENING", *DOSE_VISITS, "F1", "M6", "M12")
MRI_VISITS = ("SCREENING", "M3", "M6", "M9", "M12")
IMMUNO_VISITS = ("V1", "W3", "V5", "F1", "M6")

GENERAL = "General disorders and administration site conditions"
CATALOGUE = (
    AeTerm(
        "Redness and swelling at injection site",
        "Injection site reaction",
        GENERAL,
        4.0,
        (0.85, 0.14, 0.01, 0.0),
        0.95,
        onset_days=(0, 100),
    ),
    AeTerm(
        "Headache",
        "Headache",
        "Nervous system disorders",
        2.0,
        (0.7, 0.27, 0.03, 0.0),
        0.3,
    ),
    AeTerm("Tiredness", "Fatigue", GENERAL, 2.0, (0.7, 0.28, 0.02, 0.0), 0.3),
    AeTerm(
        "Flu-like symptoms",
        "Influenza like illness",
        GENERAL,
        1.5,
        (0.6, 0.37, 0.03, 0.0),
        0.5,
        onset_days=(0, 100),
    ),
    AeTerm(
        "Fever after injection",
        "Pyrexia",
        GENERAL,
        0.7,
        (0.8, 0.18, 0.02, 0.0),
        0.6,
        onset_days=(0, 100),
    ),
    AeTerm(
        "Swollen lymph node",
        "Lymphadenopathy",
        "Blood and lymphatic system disorders",
        0.5,
        (0.8, 0.2, 0.0, 0.0),
        0.5,
        onset_days=(0, 100),
    ),
    AeTerm(
        "Common cold",
        "Nasopharyngitis",
        "Infections and infestations",
        1.5,
        (0.8, 0.2, 0.0, 0.0),
        0.02,
    ),
    AeTerm(
        "Urinary tract infection",
        "Urinary tract infection",
        "Infections and infestations",
        0.7,
        (0.5, 0.45, 0.05, 0.0),
        0.02,
    ),
    AeTerm(
        "MS relapse",
        "Multiple sclerosis relapse",
        "Nervous system disorders",
        0.5,
        (0.3, 0.5, 0.2, 0.0),
        0.05,
    ),
)


#: The dose-limiting toxicity seen now and then: a severe local reaction inside the
#: 28-day DLT window.
DLT = AeTerm(
    "Ulcerating injection site reaction",
    "Injection site ulcer",
    GENERAL,
    0.0,
    (0.0, 0.0, 1.0, 0.0),
    1.0,
    onset_days=DLT_ONSET,
)


def _treg(days: np.ndarray, effect: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return 5.5 + 1.2 * effect + 1.0 * (days > 0) + rng.normal(0, 0.6, len(days))


def _cd4(days: np.ndarray, effect: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return 820 + 180 * effect + rng.normal(0, 80, len(days))


def _elispot(
    days: np.ndarray, effect: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    decline = np.exp(-np.maximum(days, 0) / 120)
    return np.exp(np.log(25) + 0.8 * effect + rng.normal(0, 0.4, len(days))) * (
        0.4 + 0.6 * decline
    )


def _cef(days: np.ndarray, effect: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.exp(np.log(350) + 0.5 * effect + rng.normal(0, 0.25, len(days)))


ANALYTES = (
    Analyte(
        "FLOW CYTOMETRY",
        "Treg CD4+CD25+CD127lo",
        "%",
        "CD4+ T cells",
        0.01,
        None,
        _treg,
    ),
    Analyte(
        "FLOW CYTOMETRY", "CD4+ T cells", "cells/uL", "Lymphocytes", 1.0, None, _cd4, 0
    ),
    Analyte(
        "ELISPOT",
        "IFN-gamma, myelin peptide pool",
        "SFU/10^6 PBMC",
        None,
        10.0,
        2000.0,
        _elispot,
        0,
    ),
    Analyte(
        "ELISPOT",
        "IFN-gamma, CEF control",
        "SFU/10^6 PBMC",
        None,
        10.0,
        2000.0,
        _cef,
        0,
    ),
)


def generate_tol_dc_ms(
    protocol: dict[str, Any],
    n_subjects: int,
    rng: np.random.Generator,
    extra_draws: int = 0,
) -> dict[str, pd.DataFrame]:
    """Generate every domain table of the tolDC-ms demo trial.

    Parameters
    ----------
    protocol : dict
        The protocol data (:func:`trialdata.demo.protocols.protocol_data`).
    n_subjects : int
        Number of subjects.
    rng : numpy.random.Generator
        Random source.
    extra_draws : int, optional
        Unscheduled lab and immunomonitoring draws per subject (for large demos).

    Returns
    -------
    dict of str to pandas.DataFrame
        Domain name to typed table.
    """
    n = n_subjects
    enrolment = enrol(
        protocol,
        n,
        rng,
        dlt_rates=DLT_RATES,
        dlt_onset=DLT_ONSET,
        prefixes=COHORT_PREFIXES["tolDC-ms"],
    )
    ids = subject_ids("TOL", n)
    timeline = make_timeline(ids, enrolment.first_dose, rng)
    withdrawn = rng.random(n) < 0.04
    withdrawn[rng.integers(0, n)] = True
    timeline.loc[withdrawn, "withdrawal"] = add_days(
        timeline.loc[withdrawn, "first_dose"],
        rng.integers(33, 38, int(withdrawn.sum())),
    )
    timeline = with_end(timeline)
    grid = visit_grid(timeline, TOLDC_VISITS, rng)
    levels = dose_levels(protocol)

    def describe(c: Cohort) -> str:
        dose = f"{levels[c.dose_level]['label']} tolDC, {c.route.lower()}"
        if c.role == "expansion":
            return f"Expansion at the selected dose: {dose}"
        return f"Escalation cohort {c.number}: {dose}"

    cohorts = enrolment.cohort_table(describe)
    age = rng.integers(18, 56, n)
    # Keyword arguments are evaluated in order: this is the order of the draws.
    subjects = subjects_table(
        ids,
        timeline,
        withdrawn,
        site_id="BDN",
        cohort_id=enrolment.cohort_id,
        sex=np.where(rng.random(n) < 0.7, "F", "M"),
        birth_year=birth_years(timeline, age, rng),
        age=age,
        weight_kg=np.round(rng.normal(70, 12, n).clip(45, 130), 1),
        enrolment_date=add_days(timeline["first_dose"], -rng.integers(3, 8, n)),
    )

    lots = _product_lots(timeline, enrolment.level, levels, rng)
    administrations = _administrations(timeline, grid, enrolment, levels, lots, rng)
    events = trial_adverse_events(
        timeline,
        CATALOGUE,
        rng,
        enrolment,
        rate=3.0,
        action="DOSE NOT CHANGED",
        dlt_term=DLT,
    )
    draws = blood_draws(
        grid,
        timeline,
        TOLDC_VISITS,
        rng,
        site=subjects["site_id"],
        lab_visits=LAB_VISITS,
        bank_visits=IMMUNO_VISITS,
        extra_draws=extra_draws,
        future_scope="FUTURE RESEARCH",
        p_future=0.8,
    )
    mri_grid = visits_in(grid, MRI_VISITS)
    last_alive = pd.concat(
        [
            last_visit_dates(grid, n).rename("visit"),
            timeline["withdrawal"].rename("withdrawal"),
        ],
        axis=1,
    ).max(axis=1)
    # Everyone is alive at the end and no one starts a new therapy.
    survival = survival_table(ids, last_alive.to_numpy())
    tables = {
        "subjects": subjects,
        "cohorts": cohorts,
        "product_lots": lots,
        "administrations": administrations,
        "adverse_events": events,
        "labs": labs(draws.lab_grid, rng),
        "mri": _mri(mri_grid, n, rng),
        "biobank_samples": draws.bank.samples,
        "custody_events": draws.bank.custody,
        "immunomonitoring": immunomonitoring(
            draws.immuno_grid, ANALYTES, rng, n, draws.bank.assay_sample
        ),
        "disease_assessments": _disease(mri_grid, n, rng),
        "survival_status": survival,
    }
    # an adverse event can start after the last visit: known alive then too
    tables["survival_status"] = still_alive_after_records(tables)
    return tables


def _product_lots(
    timeline: pd.DataFrame,
    level: np.ndarray,
    levels: dict[int, dict[str, Any]],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One released autologous lot per subject; some first had a lot rejected."""
    n = len(timeline)
    number = np.char.zfill(np.arange(1, n + 1).astype(str), max(3, len(str(n))))
    dose = level_values(levels, level, "amount")
    first = timeline["first_dose"]
    manufactured = add_days(first, -rng.integers(8, 13, n))
    released = pd.DataFrame(
        {
            "lot_id": np.char.add("TDC-", number).astype(object) + "-B",
            "manufacture_date": manufactured,
            "release_date": add_days(first, -rng.integers(2, 6, n)),
            "expiry_date": add_days(first, 180),
            "release_status": "RELEASED",
            "total_cells_1e6": np.round(6 * dose * rng.uniform(1.3, 1.8, n), 1),
            "viability_pct": np.round(rng.uniform(78, 96, n), 1),
            "purity_pct": np.round(rng.uniform(65, 92, n), 1),
            "sterility_passed": pd.array(np.ones(n, bool), dtype="boolean"),
        }
    )
    rejected = rng.random(n) < 0.12
    rejected[rng.integers(0, n)] = True
    r = int(rejected.sum())
    failed = pd.DataFrame(
        {
            "lot_id": np.char.add("TDC-", number[rejected]).astype(object) + "-A",
            "manufacture_date": add_days(manufactured[rejected], -1).to_numpy(),
            "release_date": missing_dates(r),
            "expiry_date": missing_dates(r),
            "release_status": "REJECTED",
            "total_cells_1e6": np.round(
                6 * dose[rejected] * rng.uniform(0.6, 1.1, r), 1
            ),
            "viability_pct": np.round(rng.uniform(52, 68, r), 1),
            "purity_pct": np.round(rng.uniform(40, 70, r), 1),
            "sterility_passed": pd.array(np.ones(r, bool), dtype="boolean"),
        }
    )
    return stack_lots(released, failed, np.flatnonzero(rejected))


def _administrations(
    timeline: pd.DataFrame,
    grid: pd.DataFrame,
    enrolment: Enrolment,
    levels: dict[int, dict[str, Any]],
    lots: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Six planned injections per subject; none after withdrawal, a few missed."""
    n, k = len(timeline), len(DOSE_VISITS)
    subject = np.repeat(np.arange(n), k)
    visit = np.tile(np.array(DOSE_VISITS, dtype=object), n)
    planned = pd.DataFrame({"subject": subject, "visit": visit})
    dated = planned.merge(
        grid[["subject", "visit", "date"]], on=["subject", "visit"], how="left"
    )
    seq = np.tile(np.arange(1, k + 1), n)
    missed = (seq > 1) & (rng.random(n * k) < 0.03) & dated["date"].notna().to_numpy()
    given = dated["date"].notna().to_numpy() & ~missed
    reason = np.where(
        missed, "Intercurrent infection", choose(given, None, "Consent withdrawn")
    )
    level = enrolment.level[subject]
    route = enrolment.route[subject]
    side = np.where(seq % 2 == 1, "left", "right")
    site = np.where(
        route == "INTRADERMAL",
        np.char.add("Upper arm, ", side),
        np.char.add("Inguinal lymph node, ", side),
    ).astype(object)
    released = lots.loc[lots["release_status"] == "RELEASED", "lot_id"].to_numpy()
    amount = level_values(levels, level, "amount")
    unit = level_values(levels, level, "unit", dtype=object)
    return pd.DataFrame(
        {
            "subject_id": timeline["subject_id"].to_numpy()[subject],
            "admin_seq": pd.array(seq, dtype="Int64"),
            "admin_date": dated["date"].where(given).astype("datetime64[ns]"),
            "visit": visit,
            "given": pd.array(given, dtype="boolean"),
            "reason_not_given": reason,
            "dose_level": pd.array(choose(given, level, None), dtype="Int64"),
            "dose_amount": np.where(given, amount, np.nan),
            "dose_unit": choose(given, unit, None),
            "route": choose(given, route, None),
            "injection_site": choose(given, site, None),
            "lot_id": choose(given, released[subject], None),
        }
    )


def _mri(grid: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Central MRI reads: overdispersed lesion counts, shrinking brain volume."""
    m = len(grid)
    subject = grid["subject"].to_numpy()
    baseline = grid["visit"].to_numpy() == "SCREENING"
    activity = np.exp(rng.normal(-0.5, 0.8, n))[subject]
    k = 0.7
    gd = rng.negative_binomial(k, k / (k + activity))
    new_t2 = rng.negative_binomial(k, k / (k + 1.2 * activity))
    volume = np.exp(rng.normal(np.log(6.0), 0.6, n))[subject]
    pbvc = np.round(rng.normal(-0.12, 0.2, m), 2)
    brain = rng.normal(1450, 90, n)[subject]
    scan = grid.groupby("subject").cumcount().to_numpy()
    return pd.DataFrame(
        {
            "subject_id": grid["subject_id"].to_numpy(),
            "visit": grid["visit"].to_numpy(),
            "scan_date": grid["date"].to_numpy(),
            "gd_lesions": pd.array(gd, dtype="Int64"),
            "new_enlarging_t2_lesions": pd.array(
                choose(baseline, None, new_t2), dtype="Int64"
            ),
            "t2_lesion_volume_ml": np.round(volume * (1 + 0.02 * scan), 2),
            "brain_volume_ml": np.round(brain * (1 - 0.0012 * scan), 1),
            "pbvc_pct": np.where(baseline, np.nan, pbvc),
            "scanner_id": "BDN-SIEMENS-PRISMA-3T",
            "protocol_id": "RESTORE-MRI-v2",
            "pipeline": np.where(baseline, "cross", "long"),
            "reader_id": np.where(subject % 2 == 0, "ICO-R01", "ICO-R02"),
        }
    )


def _disease(grid: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """EDSS and relapses at the MRI visits."""
    m = len(grid)
    subject = grid["subject"].to_numpy()
    baseline_edss = rng.choice(np.arange(1.5, 6.0, 0.5), n)[subject]
    baseline = grid["visit"].to_numpy() == "SCREENING"
    change = np.where(
        baseline, 0.0, rng.choice([-0.5, 0.0, 0.5, 1.0], m, p=[0.15, 0.6, 0.2, 0.05])
    )
    edss = np.clip(baseline_edss + change, 0, 10)
    return pd.DataFrame(
        {
            "subject_id": grid["subject_id"].to_numpy(),
            "visit": grid["visit"].to_numpy(),
            "assessment_date": grid["date"].to_numpy(),
            "response": missing_text(m),
            "progression": pd.array(change >= 1.0, dtype="boolean"),
            "relapse": pd.array(~baseline & (rng.random(m) < 0.07), dtype="boolean"),
            "edss": edss,
        }
    )
