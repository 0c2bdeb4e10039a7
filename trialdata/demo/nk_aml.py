"""The nk-aml demo trial: cord-blood derived NK cells in older patients with AML.

Modelled on the Dolstra et al. trial: patients in morphologic remission receive
lymphodepleting chemotherapy and one intravenous infusion of allogeneic HSPC-derived
NK cells at 3, 10 or 30 x 10^6 cells/kg (a 3+3 escalation, then an expansion cohort;
see :mod:`trialdata.demo.escalation`). Release testing caps T cells at 10^4/kg.
Follow-up covers donor chimerism and NK persistence in blood, CD16 acquisition, MRD,
relapse, new therapy and death. Subjects who relapse leave the visit schedule (their
survival is still followed); some die, and no record is dated after a death.
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
from trialdata.demo.escalation import Cohort, enrol
from trialdata.demo.protocols import COHORT_PREFIXES, NKAML_VISITS

__all__ = ["generate_nk_aml"]

#: True probability of a DLT at each dose level (3, 10, 30 x 10^6 cells/kg); besides,
#: the first cohort at the top dose has one DLT.
DLT_RATES = (0.0, 0.04, 0.08)

#: Onset of a DLT, in days after the first dose.
DLT_ONSET = (1, 10)
LAB_VISITS = tuple(v["name"] for v in NKAML_VISITS)
IMMUNO_VISITS = ("D1", "D3", "D8", "D14", "D28", "M2", "M3")
ASSESSMENT_VISITS = ("SCREENING", "D28", "M3", "M6", "M9", "M12")
RELAPSE_VISITS = ("M3", "M6", "M9", "M12")

#: Subject courses: none of the below, relapse then death, fatal infection,
#: relapse while alive, consent withdrawal.
CLEAN, RELAPSE_DEATH, INFECTION_DEATH, RELAPSE_ALIVE, WITHDRAWN = range(5)

BLOOD = "Blood and lymphatic system disorders"
INVEST = "Investigations"
IMMUNE = "Immune system disorders"
GENERAL = "General disorders and administration site conditions"
CATALOGUE = (
    AeTerm(
        "Febrile neutropenia",
        "Febrile neutropenia",
        BLOOD,
        2.0,
        (0.0, 0.1, 0.8, 0.1),
        0.05,
        onset_days=(0, 21),
    ),
    AeTerm(
        "Low neutrophils",
        "Neutrophil count decreased",
        INVEST,
        3.0,
        (0.05, 0.15, 0.4, 0.4),
        0.03,
        onset_days=(0, 14),
    ),
    AeTerm(
        "Low platelets",
        "Platelet count decreased",
        INVEST,
        2.0,
        (0.2, 0.3, 0.3, 0.2),
        0.03,
        onset_days=(0, 14),
    ),
    AeTerm("Anaemia", "Anaemia", BLOOD, 1.5, (0.3, 0.4, 0.3, 0.0), 0.05),
    AeTerm(
        "Chills and flushing during infusion",
        "Infusion related reaction",
        "Injury, poisoning and procedural complications",
        1.0,
        (0.7, 0.3, 0.0, 0.0),
        0.9,
        aesi="INFUSION REACTION",
        onset_days=(0, 0),
    ),
    AeTerm(
        "Cytokine release syndrome",
        "Cytokine release syndrome",
        IMMUNE,
        0.6,
        (0.7, 0.3, 0.0, 0.0),
        0.9,
        aesi="CRS",
        scale="ASTCT",
        onset_days=(0, 3),
    ),
    AeTerm(
        "Skin GvHD",
        "Acute graft versus host disease",
        IMMUNE,
        0.15,
        (0.6, 0.4, 0.0, 0.0),
        0.8,
        aesi="GVHD",
        scale="MAGIC",
        onset_days=(14, 60),
    ),
    AeTerm(
        "Fever", "Pyrexia", GENERAL, 1.5, (0.8, 0.2, 0.0, 0.0), 0.4, onset_days=(0, 7)
    ),
    AeTerm(
        "Nausea", "Nausea", "Gastrointestinal disorders", 1.5, (0.7, 0.3, 0.0, 0.0), 0.1
    ),
    AeTerm("Fatigue", "Fatigue", GENERAL, 1.5, (0.6, 0.35, 0.05, 0.0), 0.2),
    AeTerm(
        "Pneumonia",
        "Pneumonia",
        "Infections and infestations",
        0.5,
        (0.0, 0.4, 0.5, 0.1),
        0.05,
    ),
)


#: The dose-limiting toxicity seen now and then: grade 3 cytokine release syndrome,
#: 1 to 10 days after the infusion.
DLT = AeTerm(
    "Cytokine release syndrome with hypotension",
    "Cytokine release syndrome",
    IMMUNE,
    0.0,
    (0.0, 0.0, 1.0, 0.0),
    1.0,
    aesi="CRS",
    scale="ASTCT",
    onset_days=DLT_ONSET,
)


def _chimerism(
    days: np.ndarray, effect: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    peak = np.exp(np.log(6.0) + 0.7 * effect)
    return (
        peak * np.exp(-np.maximum(days - 8, 0) / 6) * rng.lognormal(0, 0.2, len(days))
    )


def _nk(days: np.ndarray, effect: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return 18 + 5 * effect + 8 * np.exp(-days / 10) + rng.normal(0, 2.5, len(days))


def _cd16(days: np.ndarray, effect: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return 20 + 45 * (1 - np.exp(-days / 10)) + 6 * effect + rng.normal(0, 4, len(days))


ANALYTES = (
    Analyte(
        "CHIMERISM",
        "Donor chimerism, peripheral blood",
        "% donor",
        None,
        0.5,
        100.0,
        _chimerism,
    ),
    Analyte(
        "FLOW CYTOMETRY", "NK cells CD56+CD3-", "%", "Lymphocytes", 0.1, None, _nk, 1
    ),
    Analyte(
        "FLOW CYTOMETRY",
        "CD16+ NK cells",
        "%",
        "NK cells CD56+CD3-",
        0.1,
        None,
        _cd16,
        1,
    ),
)


def _cytopenia(codes: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Blood counts fall after lymphodepletion and recover by day 28."""
    recovering = (days >= 0) & (days < 28)
    depth = np.where(recovering, 0.25 + 0.75 * days / 28, 1.0)
    counts = np.isin(codes, ["WBC", "NEUT", "LYM", "PLAT"])
    return np.where(counts, depth, np.where(codes == "HGB", 0.85 + 0.15 * depth, 1.0))


def _courses(n: int, rng: np.random.Generator) -> np.ndarray:
    """Assign each subject a course; the first three seen are guaranteed."""
    course = rng.choice(
        [CLEAN, RELAPSE_DEATH, INFECTION_DEATH, RELAPSE_ALIVE],
        n,
        p=[0.62, 0.16, 0.08, 0.14],
    )
    order = rng.permutation(n)
    for role, who in zip(
        (WITHDRAWN, RELAPSE_DEATH, INFECTION_DEATH), order, strict=False
    ):
        course[who] = role
    return course


def generate_nk_aml(
    protocol: dict[str, Any],
    n_subjects: int,
    rng: np.random.Generator,
    extra_draws: int = 0,
) -> dict[str, pd.DataFrame]:
    """Generate every domain table of the nk-aml demo trial (no MRI).

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
        prefixes=COHORT_PREFIXES["nk-aml"],
    )
    ids = subject_ids("NK", n)
    timeline = make_timeline(ids, enrolment.first_dose, rng)
    course = _courses(n, rng)
    first = timeline["first_dose"]
    planned = visit_grid(timeline, NKAML_VISITS, rng)
    relapse_visit = np.array(RELAPSE_VISITS, dtype=object)[
        rng.integers(0, len(RELAPSE_VISITS), n)
    ]
    relapsing = np.isin(course, [RELAPSE_DEATH, RELAPSE_ALIVE])
    at = planned.merge(
        pd.DataFrame({"subject": np.arange(n), "visit": relapse_visit}),
        on=["subject", "visit"],
    ).set_index("subject")["date"]
    relapse = pd.Series(at.reindex(range(n)).to_numpy()).where(relapsing)
    death = missing_dates(n)
    dies_relapse = course == RELAPSE_DEATH
    death[dies_relapse] = add_days(
        relapse[dies_relapse], rng.integers(30, 150, n)[dies_relapse]
    )
    dies_infection = course == INFECTION_DEATH
    death[dies_infection] = add_days(
        first[dies_infection], rng.integers(45, 300, n)[dies_infection]
    )
    timeline["death"] = death.to_numpy()
    withdrawn = course == WITHDRAWN
    timeline.loc[withdrawn, "withdrawal"] = add_days(
        first[withdrawn], rng.integers(70, 81, int(withdrawn.sum()))
    )
    timeline = with_end(timeline)
    # Relapsing subjects leave the schedule after the visit that found the relapse.
    off_study = add_days(relapse, 1)
    timeline["end"] = pd.concat([timeline["end"], off_study], axis=1).min(axis=1)
    grid = planned[
        planned["date"].to_numpy() < timeline["end"].to_numpy()[planned["subject"]]
    ].reset_index(drop=True)

    levels = dose_levels(protocol)

    def describe(c: Cohort) -> str:
        dose = f"{levels[c.dose_level]['amount']:g} x 10^6 NK cells/kg IV"
        if c.role == "expansion":
            return f"Expansion at the selected dose: {dose}"
        return f"Escalation cohort {c.number}: {dose}"

    cohorts = enrolment.cohort_table(describe)
    age = rng.integers(60, 81, n)
    weight = np.round(rng.normal(76, 13, n).clip(45, 130), 1)
    sites = np.array([s["id"] for s in protocol["sites"]], dtype=object)
    # Keyword arguments are evaluated in order: this is the order of the draws.
    subjects = subjects_table(
        ids,
        timeline,
        withdrawn,
        site_id=sites[rng.integers(0, len(sites), n)],
        cohort_id=enrolment.cohort_id,
        sex=np.where(rng.random(n) < 0.55, "M", "F"),
        birth_year=birth_years(timeline, age, rng),
        age=age,
        weight_kg=weight,
        enrolment_date=add_days(first, -rng.integers(6, 10, n)),
    )
    level = enrolment.level
    lots = _product_lots(timeline, level, weight, levels, rng)
    released = lots.loc[lots["release_status"] == "RELEASED", "lot_id"].to_numpy()
    administrations = pd.DataFrame(
        {
            "subject_id": ids,
            "admin_seq": pd.array(np.ones(n, int), dtype="Int64"),
            "admin_date": first,
            "visit": "D0",
            "given": pd.array(np.ones(n, bool), dtype="boolean"),
            "reason_not_given": missing_text(n),
            "dose_level": pd.array(level, dtype="Int64"),
            "dose_amount": level_values(levels, level, "amount"),
            "dose_unit": level_values(levels, level, "unit", dtype=object),
            "route": "INTRAVENOUS",
            "lot_id": released,
        }
    )
    fatal_who = np.flatnonzero(dies_infection)
    fatal = pd.DataFrame(
        {
            "subject": fatal_who,
            "term": "Septic shock",
            "preferred_term": "Sepsis",
            "soc": "Infections and infestations",
            "onset": add_days(death[fatal_who], -rng.integers(3, 11, len(fatal_who))),
        }
    )
    events = trial_adverse_events(
        timeline,
        CATALOGUE,
        rng,
        enrolment,
        rate=4.0,
        action="NOT APPLICABLE",
        dlt_term=DLT,
        fatal=fatal,
    )
    draws = blood_draws(
        grid,
        timeline,
        NKAML_VISITS,
        rng,
        site=subjects["site_id"],
        lab_visits=LAB_VISITS,
        bank_visits=IMMUNO_VISITS,
        extra_draws=extra_draws,
        future_scope="FUTURE RESEARCH INCLUDING GENETIC",
        p_future=0.7,
    )
    assessed = visits_in(grid, ASSESSMENT_VISITS)
    tables = {
        "subjects": subjects,
        "cohorts": cohorts,
        "product_lots": lots,
        "administrations": administrations,
        "adverse_events": events,
        "labs": labs(draws.lab_grid, rng, factor=_cytopenia),
        "biobank_samples": draws.bank.samples,
        "custody_events": draws.bank.custody,
        "immunomonitoring": immunomonitoring(
            draws.immuno_grid, ANALYTES, rng, n, draws.bank.assay_sample
        ),
        "disease_assessments": _disease(assessed, relapse, n, rng),
        "survival_status": _survival(timeline, grid, relapse, course, rng),
    }
    # an adverse event can start after the last visit: known alive then too
    tables["survival_status"] = still_alive_after_records(tables)
    return tables


def _product_lots(
    timeline: pd.DataFrame,
    level: np.ndarray,
    weight: np.ndarray,
    levels: dict[int, dict[str, Any]],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One released allogeneic lot per infusion; some earlier lots were rejected."""
    n = len(timeline)
    number = np.char.zfill(np.arange(1, n + 1).astype(str), max(4, len(str(n))))
    dose = level_values(levels, level, "amount")
    first = timeline["first_dose"]

    def lots(count: int, rejected: bool) -> dict[str, Any]:
        return {
            "total_cells_1e6": np.round(
                dose[:count] * weight[:count] * rng.uniform(1.1, 1.5, count), 1
            ),
            "viability_pct": np.round(
                rng.uniform(55, 68, count) if rejected else rng.uniform(80, 97, count),
                1,
            ),
            "purity_pct": np.round(rng.uniform(60, 92, count), 1),
            "cd3_t_cells_per_kg": np.round(rng.uniform(200, 5000, count), 0),
            "cd3_pct": np.round(rng.uniform(0.01, 0.3, count), 2),
            "cd16_pct": np.round(rng.uniform(5, 25, count), 1),
            "fold_expansion": np.round(rng.uniform(800, 4000, count), 0),
            "sterility_passed": pd.array(np.ones(count, bool), dtype="boolean"),
        }

    released = pd.DataFrame(
        {
            "lot_id": np.char.add("UCB-NK-", number).astype(object),
            "manufacture_date": add_days(first, -2),
            "release_date": add_days(first, -1),
            "expiry_date": add_days(first, 1),
            "release_status": "RELEASED",
            **lots(n, rejected=False),
        }
    )
    failed_who = np.flatnonzero(rng.random(n) < 0.1)
    failed_who = np.union1d(failed_who, [rng.integers(0, n)])
    r = len(failed_who)
    failed = pd.DataFrame(
        {
            "lot_id": np.char.add(
                np.char.add("UCB-NK-", number[failed_who]), "R"
            ).astype(object),
            "manufacture_date": add_days(first, -10).to_numpy()[failed_who],
            "release_date": missing_dates(r),
            "expiry_date": missing_dates(r),
            "release_status": "REJECTED",
            **lots(r, rejected=True),
        }
    )
    return stack_lots(released, failed, failed_who)


def _disease(
    grid: pd.DataFrame, relapse: pd.Series, n: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Response and MRD at each assessment; RELAPSE with progression when found."""
    m = len(grid)
    subject = grid["subject"].to_numpy()
    found = grid["date"].to_numpy() == relapse.to_numpy()[subject]
    positive = rng.random(n) < 0.5
    baseline_mrd = np.where(
        positive, rng.uniform(0.1, 2.0, n), rng.uniform(0.01, 0.09, n)
    )
    clears = rng.random(n) < 0.5
    mrd = baseline_mrd[subject] * np.where(
        (grid["day"].to_numpy() > 0) & clears[subject], rng.uniform(0.02, 0.3, m), 1.0
    )
    mrd = mrd * rng.lognormal(0, 0.3, m)
    mrd = np.where(found, rng.uniform(5, 40, m), mrd)
    incomplete = (rng.random(n) < 0.15)[subject]
    response = np.where(found, "RELAPSE", np.where(incomplete, "CRi", "CR")).astype(
        object
    )
    return pd.DataFrame(
        {
            "subject_id": grid["subject_id"].to_numpy(),
            "visit": grid["visit"].to_numpy(),
            "assessment_date": grid["date"].to_numpy(),
            "response": response,
            "progression": pd.array(found, dtype="boolean"),
            "mrd_pct": np.round(mrd, 3),
        }
    )


def _survival(
    timeline: pd.DataFrame,
    grid: pd.DataFrame,
    relapse: pd.Series,
    course: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Death, last known alive and new therapy after relapse."""
    n = len(timeline)
    death = timeline["death"]
    last_visit = last_visit_dates(grid, n)
    follow = add_days(relapse, rng.integers(60, 240, n))
    alive_relapse = course == RELAPSE_ALIVE
    last_alive = last_visit.where(~alive_relapse, follow)
    last_alive = last_alive.where(death.isna(), death)
    last_alive = last_alive.where(timeline["withdrawal"].isna(), timeline["withdrawal"])
    new_therapy = add_days(relapse, rng.integers(7, 22, n))
    cause = np.where(
        course == RELAPSE_DEATH,
        "AML relapse",
        choose(course == INFECTION_DEATH, "Septic shock", None),
    )
    return survival_table(
        timeline["subject_id"].to_numpy(),
        last_alive.to_numpy().astype("datetime64[ns]"),
        death_date=death.to_numpy(),
        death_cause=cause,
        new_therapy_date=new_therapy.to_numpy().astype("datetime64[ns]"),
        new_therapy=choose(relapse.notna(), "Azacitidine + venetoclax", None),
    )
