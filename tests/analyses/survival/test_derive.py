"""ADTTE derivation on hand-built tiny trials, one subject per censoring rule.

Origin = first given administration on 2024-01-01 (day 0) for everyone but S09
(never dosed). AVAL (days) = ADT - STARTDT + 1 (add_one_day=True). Assessment
interval 56 days, 2 missed assessments: an event more than 2 * 56 = 112 days after
the last adequate assessment is censored there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyses.survival import compare_survival, derive_adtte, estimate_kaplan_meier

D0 = pd.Timestamp("2024-01-01")


def day(n: float | None) -> pd.Timestamp:
    return pd.NaT if n is None else D0 + pd.Timedelta(days=n)


IDS = [f"S{i:02d}" for i in range(1, 14)]


def tables() -> dict[str, pd.DataFrame]:
    subjects = pd.DataFrame(
        {
            "subject_id": IDS,
            "site_id": "S1",
            "cohort_id": ["C1"] * 6 + ["C2"] * 7,
            "sex": "F",
            "consent_date": day(-30),
            "enrolment_date": day(-10),
            "withdrawal_date": pd.NaT,
        }
    )
    cohorts = pd.DataFrame(
        {
            "cohort_id": ["C1", "C2"],
            "dose_level": pd.array([1, 2], dtype="Int64"),
            "route": ["INTRAVENOUS"] * 2,
        }
    )
    admin = pd.DataFrame(
        {
            "subject_id": [*IDS, "S01"],
            "admin_seq": [1] * 13 + [2],
            "admin_date": [day(0)] * 8 + [pd.NaT] + [day(0)] * 4 + [day(28)],
            "given": pd.array([True] * 8 + [False] + [True] * 5, dtype="boolean"),
            "reason_not_given": [None] * 8 + ["WITHDREW BEFORE DOSING"] + [None] * 5,
            "dose_level": pd.array([1] * 6 + [2] * 8, dtype="Int64"),
            "dose_amount": 1.0,
            "dose_unit": "10^6 cells/kg",
            "route": "INTRAVENOUS",
            "lot_id": "LOT-1",
        }
    )
    admin["admin_seq"] = admin["admin_seq"].astype("Int64")
    rows = [
        # (subject, day, response, progression)
        ("S01", 56, "SD", False),
        ("S01", 112, "PD", True),
        ("S02", 56, "SD", False),
        ("S03", 56, "SD", False),
        ("S03", 200, "PD", True),
        ("S04", 56, "SD", False),
        ("S04", 112, "SD", False),
        ("S04", 168, "PD", True),
        ("S05", 56, "SD", False),
        ("S05", 112, "PR", False),
        ("S06", 56, "NE", False),
        ("S10", -5, "SD", False),  # baseline: before the origin, does not count
        ("S10", 56, "CR", False),
        ("S11", 56, "CR", False),
        ("S11", 112, "CR", False),
        ("S11", 168, "RELAPSE", False),
        ("S12", 56, "SD", False),
        ("S12", 90, "PD", True),
        ("S13", 56, "PR", False),
    ]
    assess = pd.DataFrame(rows, columns=["subject_id", "d", "response", "progression"])
    assess["assessment_date"] = assess["d"].map(day)
    assess["progression"] = assess["progression"].astype("boolean")
    status = pd.DataFrame(
        {
            "subject_id": IDS,
            "last_known_alive_date": [
                day(x)
                for x in [300, 99, 250, 250, 150, 80, 29, 199, 60, 70, 200, 120, 100]
            ],
            "death_date": [
                day(x)
                for x in [
                    None,
                    100,
                    None,
                    None,
                    None,
                    None,
                    30,
                    200,
                    None,
                    None,
                    None,
                    None,
                    None,
                ]
            ],
            "death_cause": None,
            # S04: new therapy before PD; S12: therapy on the PD date (no censoring);
            # S13: new therapy with no adequate assessment on or before it except day 56
            "new_therapy_date": [
                day(x)
                for x in [
                    None,
                    None,
                    None,
                    130,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    90,
                    40,
                ]
            ],
        }
    )
    return {
        "subjects": subjects,
        "cohorts": cohorts,
        "administrations": admin,
        "disease_assessments": assess.drop(columns="d"),
        "survival_status": status,
    }


def derive(**kwargs: object) -> pd.DataFrame:
    t = tables()
    opts: dict[str, object] = {"assessment_schedule": 56.0}
    opts.update(kwargs)
    return derive_adtte(
        t["subjects"],
        t["administrations"],
        t["disease_assessments"],
        t["survival_status"],
        cohorts=t["cohorts"],
        **opts,  # type: ignore[arg-type]
    )


def rows(adtte: pd.DataFrame, param: str) -> pd.DataFrame:
    return adtte[adtte["PARAMCD"] == param].set_index("subject_id")


# Expected PFS rows: (ADT day, AVAL = day + 1, CNSR, EVNTDESC, CNSDTDSC)
PFS_EXPECTED = {
    "S01": (112, 113, 0, "DISEASE PROGRESSION", ""),  # documented PD
    "S02": (100, 101, 0, "DEATH", ""),  # death 44 d after last assessment
    # PD 144 d (> 112) after the last adequate assessment: censored at day 56
    "S03": (56, 57, 4, "", "EVENT AFTER MISSED ASSESSMENTS"),
    # new therapy day 130 before PD day 168: last adequate on/before day 130 = 112
    "S04": (112, 113, 3, "", "NEW ANTICANCER THERAPY"),
    "S05": (112, 113, 1, "", "LAST ADEQUATE ASSESSMENT"),  # alive, no PD
    # only an NE assessment: no adequate post-baseline assessment -> origin
    "S06": (0, 1, 2, "", "NO ADEQUATE POST-BASELINE ASSESSMENT"),
    "S07": (30, 31, 0, "DEATH", ""),  # early death (30 d <= 112 d), no assessment
    # death 200 d after origin with no assessment at all: censored at origin
    "S08": (0, 1, 2, "", "NO ADEQUATE POST-BASELINE ASSESSMENT"),
    "S10": (56, 57, 1, "", "LAST ADEQUATE ASSESSMENT"),  # day -5 baseline ignored
    "S11": (168, 169, 0, "DISEASE PROGRESSION", ""),  # RELAPSE response = event
    "S12": (90, 91, 0, "DISEASE PROGRESSION", ""),  # therapy on PD date: event
    # therapy day 40 before any adequate assessment: censored at origin
    "S13": (0, 1, 3, "", "NEW ANTICANCER THERAPY"),
}


@pytest.mark.parametrize("subject", sorted(PFS_EXPECTED))
def test_pfs_rules(subject: str) -> None:
    pfs = rows(derive(), "PFS")
    adt, aval, cnsr, evnt, cns = PFS_EXPECTED[subject]
    row = pfs.loc[subject]
    assert row["ADT"] == day(adt)
    assert row["STARTDT"] == D0
    assert row["AVAL"] == aval
    assert row["CNSR"] == cnsr
    assert row["EVNTDESC"] == evnt
    assert row["CNSDTDSC"] == cns
    assert row["AVALU"] == "DAYS"


def test_never_dosed_subject_is_kept_without_time() -> None:
    pfs = rows(derive(), "PFS")
    row = pfs.loc["S09"]
    assert pd.isna(row["AVAL"]) and pd.isna(row["CNSR"])
    assert row["CNSDTDSC"] == "NO TIME ORIGIN"
    # and the KM drops it, keeping the count of dropped rows
    km = estimate_kaplan_meier(derive()[lambda d: d["PARAMCD"] == "PFS"])
    assert km.n_dropped == 1
    # 12 analysable subjects, events: S01 S02 S07 S11 S12 = 5
    med = km.median()
    assert med["n"].iloc[0] == 12 and med["events"].iloc[0] == 5


OS_EXPECTED = {
    "S01": (300, 301, 1, "", "LAST KNOWN ALIVE"),
    "S02": (100, 101, 0, "DEATH", ""),
    "S07": (30, 31, 0, "DEATH", ""),
    "S08": (200, 201, 0, "DEATH", ""),  # OS counts the death missed-visits or not
    "S13": (100, 101, 1, "", "LAST KNOWN ALIVE"),
}


@pytest.mark.parametrize("subject", sorted(OS_EXPECTED))
def test_os_rules(subject: str) -> None:
    os_ = rows(derive(), "OS")
    adt, aval, cnsr, evnt, cns = OS_EXPECTED[subject]
    row = os_.loc[subject]
    assert (row["ADT"], row["AVAL"], row["CNSR"]) == (day(adt), aval, cnsr)
    assert (row["EVNTDESC"], row["CNSDTDSC"]) == (evnt, cns)


def test_cohort_columns_joined() -> None:
    adtte = derive()
    assert adtte.loc[adtte["subject_id"] == "S01", "dose_level"].iloc[0] == 1
    assert adtte.loc[adtte["subject_id"] == "S13", "dose_level"].iloc[0] == 2
    assert set(adtte["route"]) == {"INTRAVENOUS"}


def test_months_unit() -> None:
    pfs = rows(derive(unit="months"), "PFS")
    # S01: 113 days / 30.4375 days per month
    assert pfs.loc["S01", "AVAL"] == pytest.approx(113 / 30.4375, rel=1e-12)
    assert pfs.loc["S01", "AVALU"] == "MONTHS"
    pfs = rows(derive(unit="months", days_per_month=30.0, add_one_day=False), "PFS")
    assert pfs.loc["S01", "AVAL"] == pytest.approx(112 / 30.0, rel=1e-12)


def test_enrolment_origin() -> None:
    pfs = rows(derive(origin="enrolment"), "PFS")
    # origin day -10: S01 PD day 112 -> 122 + 1 = 123 days; S09 (never dosed) now has
    # an origin; its only data: alive at day 60, no assessment -> censored at origin
    assert pfs.loc["S01", "STARTDT"] == day(-10)
    assert pfs.loc["S01", "AVAL"] == 123
    assert (pfs.loc["S09", "CNSR"], pfs.loc["S09", "AVAL"]) == (2, 1)
    # S10's day -5 assessment is after the enrolment origin now: still the CR at day
    # 56 is the last adequate one -> 66 + 1
    assert pfs.loc["S10", "AVAL"] == 67


def test_missed_rule_disabled_and_count() -> None:
    pfs = rows(derive(assessment_schedule=None), "PFS")
    # S03's PD (day 200) and S08's death (day 200) become events
    assert (pfs.loc["S03", "CNSR"], pfs.loc["S03", "AVAL"]) == (0, 201)
    assert (pfs.loc["S08", "CNSR"], pfs.loc["S08", "EVNTDESC"]) == (0, "DEATH")
    counted = rows(derive(), "PFS")
    # S03: gap 144 d, k * 56 < 144 for k = 1, 2 -> 2 missed
    assert counted.loc["S03", "N_MISSED"] == 2
    # S02: gap 44 d -> 0 missed
    assert counted.loc["S02", "N_MISSED"] == 0


def test_visit_schedule_rule() -> None:
    # scheduled days 28, 56, 84, 112, 168, 224
    sched = [28, 56, 84, 112, 168, 224]
    pfs = rows(derive(assessment_schedule=sched), "PFS")
    # S03: last adequate day 56, PD day 200 -> 84, 112, 168 missed (3 >= 2): censored
    assert (pfs.loc["S03", "CNSR"], pfs.loc["S03", "N_MISSED"]) == (4, 3)
    # S02: last day 56, death day 100 -> only 84 missed: event
    assert (pfs.loc["S02", "CNSR"], pfs.loc["S02", "N_MISSED"]) == (0, 1)
    # S07: death day 30, from origin: 28 missed (1): event
    assert (pfs.loc["S07", "CNSR"], pfs.loc["S07", "N_MISSED"]) == (0, 1)
    # with a 7-day window, S02's visit 84 counts only if 56 + 7 < 84 and 84 + 7 < 100
    pfs = rows(derive(assessment_schedule=sched, assessment_window_days=7), "PFS")
    assert pfs.loc["S02", "N_MISSED"] == 1
    # S07: 28 + 7 = 35 > 30: not yet missed
    assert pfs.loc["S07", "N_MISSED"] == 0


def test_new_therapy_rule_disabled() -> None:
    pfs = rows(derive(censor_new_therapy=False), "PFS")
    # S04: PD day 168, 56 d after the day-112 assessment: event
    assert (pfs.loc["S04", "CNSR"], pfs.loc["S04", "AVAL"]) == (0, 169)


def test_rfs_and_dor() -> None:
    adtte = derive(parameters=("RFS", "DOR"))
    rfs = rows(adtte, "RFS")
    # RFS only for CR/CRi: S10 (CR day 56, no later assessment) and S11
    assert sorted(rfs.index) == ["S10", "S11"]
    # S11: CR day 56 -> relapse day 168: 112 + 1 days, event
    assert (rfs.loc["S11", "STARTDT"], rfs.loc["S11", "AVAL"]) == (day(56), 113)
    assert rfs.loc["S11", "CNSR"] == 0
    # S10: censored at the CR assessment itself (last adequate): 0 + 1 day
    assert (rfs.loc["S10", "CNSR"], rfs.loc["S10", "AVAL"]) == (1, 1)
    dor = rows(adtte, "DOR")
    # DOR: responders CR/CRi/MLFS/PR: S05 (PR 112), S10, S11, S13 (PR 56)
    assert sorted(dor.index) == ["S05", "S10", "S11", "S13"]
    assert dor.loc["S05", "STARTDT"] == day(112)
    # S13: new therapy day 40 is before the response: no censoring by it (only
    # therapies after the start count); alive, last adequate = the PR itself
    assert (dor.loc["S13", "CNSR"], dor.loc["S13", "AVAL"]) == (1, 1)


def test_data_cutoff() -> None:
    pfs = rows(derive(data_cutoff=day(110), parameters=("PFS", "OS")), "PFS")
    # S01's PD on day 112 is after the cut-off: censored at the day-56 assessment
    assert (pfs.loc["S01", "CNSR"], pfs.loc["S01", "AVAL"]) == (1, 57)
    os_ = rows(derive(data_cutoff=day(110)), "OS")
    # S08 died on day 200, after the cut-off: alive at the cut-off
    assert (os_.loc["S08", "CNSR"], os_.loc["S08", "ADT"]) == (1, day(110))


def test_inputs_not_mutated() -> None:
    t = tables()
    before = {k: v.copy() for k, v in t.items()}
    derive_adtte(
        t["subjects"],
        t["administrations"],
        t["disease_assessments"],
        t["survival_status"],
        assessment_schedule=56.0,
    )
    for k, v in t.items():
        pd.testing.assert_frame_equal(v, before[k])


def test_cnsr_codes_distinct_per_reason() -> None:
    pfs = rows(derive(), "PFS").dropna(subset=["CNSR"])
    pairs = pfs.loc[pfs["CNSR"] > 0, ["CNSR", "CNSDTDSC"]].drop_duplicates()
    assert pairs["CNSR"].is_unique and pairs["CNSDTDSC"].is_unique
    assert np.all(pfs.loc[pfs["CNSR"] == 0, "CNSDTDSC"] == "")


def test_compare_by_dose_level_on_derived_frame() -> None:
    adtte = derive()
    # S09 (never dosed) has no time and is dropped; cohort C1 = dose 1 (S01-S06),
    # C2 = dose 2 (S07, S08, S10-S13)
    with pytest.warns(UserWarning):  # 5 PFS events < min_events = 10
        res = compare_survival(adtte, "dose_level", paramcd="PFS")
    assert res.groups == (1, 2)
    assert res.n == (6, 6)
    # PFS events: dose 1 -> S01, S02; dose 2 -> S07, S11, S12
    assert res.events == (2, 3)
    assert res.few_events
    km = estimate_kaplan_meier(adtte, "dose_level", paramcd="OS")
    assert km.median()["events"].tolist() == [1, 2]  # deaths: S02 | S07, S08


def test_fixture_tables_satisfy_the_domain_schemas() -> None:
    # the derivation reads the real column names: the fixtures must validate
    from schemas.domains import get_domain

    for name, frame in tables().items():
        get_domain(name).schema.validate(frame, lazy=True)


def test_time_of_day_is_ignored() -> None:
    t = tables()
    admin = t["administrations"].copy()
    admin["admin_date"] = admin["admin_date"] + pd.Timedelta(hours=10, minutes=30)
    adtte = derive_adtte(
        t["subjects"],
        admin,
        t["disease_assessments"],
        t["survival_status"],
        assessment_schedule=56.0,
    )
    pfs = rows(adtte, "PFS")
    # an infusion at 10:30 on day 0 is still day 1: S01 PD on day 112 -> 113 days
    assert pfs.loc["S01", "AVAL"] == 113
    assert pfs.loc["S01", "STARTDT"] == D0


def test_mrd_relapse_option() -> None:
    t = tables()
    assess = t["disease_assessments"].copy()
    # S10: CR day 56 with MRD 0.05 % (negative, < 0.1), then day 84 CR with MRD 0.5 %
    assess["mrd_pct"] = np.nan
    assess.loc[
        (assess["subject_id"] == "S10") & (assess["response"] == "CR"), "mrd_pct"
    ] = 0.05
    extra = pd.DataFrame(
        {
            "subject_id": ["S10"],
            "response": ["CR"],
            "progression": pd.array([False], dtype="boolean"),
            "assessment_date": [day(84)],
            "mrd_pct": [0.5],
        }
    )
    assess = pd.concat([assess, extra], ignore_index=True)
    # S05 is MRD-positive (1 %) without a prior negative: not an MRD relapse
    assess.loc[
        (assess["subject_id"] == "S05") & (assess["response"] == "PR"), "mrd_pct"
    ] = 1.0
    common = {
        "assessment_schedule": 56.0,
        "parameters": ("PFS", "RFS"),
    }
    args = (t["subjects"], t["administrations"], assess, t["survival_status"])
    plain = derive_adtte(*args, **common)  # type: ignore[arg-type]
    mrd = derive_adtte(*args, mrd_relapse_threshold=0.1, **common)  # type: ignore[arg-type]
    # without the option S10 is censored at its last CR (day 84): 85 days
    assert (
        rows(plain, "PFS").loc["S10", "CNSR"],
        rows(plain, "PFS").loc["S10", "AVAL"],
    ) == (1, 85)
    # with it, MRD conversion on day 84 is a relapse: PFS event at 85 days,
    # RFS from the CR on day 56: 28 + 1 days
    assert (
        rows(mrd, "PFS").loc["S10", "CNSR"],
        rows(mrd, "PFS").loc["S10", "AVAL"],
    ) == (0, 85)
    assert rows(mrd, "PFS").loc["S10", "EVNTDESC"] == "DISEASE PROGRESSION"
    assert (
        rows(mrd, "RFS").loc["S10", "CNSR"],
        rows(mrd, "RFS").loc["S10", "AVAL"],
    ) == (0, 29)
    assert rows(mrd, "PFS").loc["S05", "CNSR"] == 1


def test_no_assessments_at_all() -> None:
    t = tables()
    adtte = derive_adtte(
        t["subjects"],
        t["administrations"],
        t["disease_assessments"].iloc[0:0],
        t["survival_status"],
        assessment_schedule=56.0,
        parameters=("PFS", "RFS"),
    )
    pfs = rows(adtte, "PFS")
    # deaths within 2 * 56 days of the origin stay events (S02 day 100, S07 day 30);
    # S08's death on day 200 follows 3 missed assessments: censored at origin
    events = sorted(pfs.index[pfs["CNSR"] == 0])
    assert events == ["S02", "S07"]
    assert (pfs.loc["S08", "CNSR"], pfs.loc["S08", "AVAL"]) == (2, 1)
    assert rows(adtte, "RFS").empty
