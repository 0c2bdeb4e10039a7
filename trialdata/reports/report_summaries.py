"""The report's own summaries, for sections ``analyses.safety`` does not provide yet.

These are small pandas counts computed inside the report package because the matching
analysis functions had not landed when the report was written: enrolment and
disposition, exposure, demographics, DLTs by dose level, the TEAE overview, AESI by
maximum grade, laboratory normal-range shifts and deaths. Each returns numbers only
(integers and unrounded percentages, or dates); :mod:`trialdata.reports.formatting`
turns them into text. Every function takes the subjects frame with a categorical
``group`` column (see :func:`trialdata.reports.groups.derive_report_groups`) and
counts subjects, never rows, with the group's subjects as denominator.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "ANY_GROUP",
    "count_subjects",
    "summarize_aesi_grades",
    "summarize_deaths",
    "summarize_demographics",
    "summarize_disposition",
    "summarize_dlt",
    "summarize_exposure",
    "summarize_lab_shifts",
    "summarize_teae_overview",
]

#: Label of the all-groups column.
ANY_GROUP = "Total"


def _groups(subjects: pd.DataFrame) -> list[str]:
    return [str(g) for g in subjects["group"].cat.categories]


def count_subjects(
    subjects: pd.DataFrame,
    ids: pd.Series | pd.Index,
    *,
    within: pd.Series | None = None,
) -> pd.DataFrame:
    """Count subjects of a set by group, with the group sizes as denominators.

    Parameters
    ----------
    subjects : pandas.DataFrame
        The denominator population: ``subject_id`` and categorical ``group``.
    ids : pandas.Series or pandas.Index
        Subject ids that have the characteristic (duplicates are counted once; ids
        outside ``subjects`` are ignored).
    within : pandas.Series of bool, optional
        Restrict the denominator to these subjects (aligned with ``subjects``).

    Returns
    -------
    pandas.DataFrame
        One row per group plus :data:`ANY_GROUP`: ``group``, ``n``, ``N``, ``pct``
        (unrounded; missing when ``N`` is 0).
    """
    pop = subjects if within is None else subjects.loc[within.to_numpy(dtype=bool)]
    has = pop["subject_id"].isin(pd.Index(ids).unique())
    groups = _groups(subjects)
    n = has.groupby(pop["group"], observed=False).sum().reindex(groups, fill_value=0)
    big_n = pop.groupby("group", observed=False).size().reindex(groups, fill_value=0)
    out = pd.DataFrame({"group": groups, "n": n.to_numpy(), "N": big_n.to_numpy()})
    total = pd.DataFrame({"group": [ANY_GROUP], "n": [int(has.sum())], "N": [len(pop)]})
    out = pd.concat([out, total], ignore_index=True)
    out["n"] = out["n"].astype(int)
    out["N"] = out["N"].astype(int)
    out["pct"] = (100.0 * out["n"] / out["N"]).where(out["N"] > 0)
    return out


def _rows(
    subjects: pd.DataFrame, items: list[tuple[str, pd.Series | pd.Index]]
) -> pd.DataFrame:
    parts = [count_subjects(subjects, ids).assign(row=label) for label, ids in items]
    return pd.concat(parts, ignore_index=True)[["row", "group", "n", "N", "pct"]]


def summarize_disposition(
    subjects: pd.DataFrame, *, cutoff: pd.Timestamp
) -> pd.DataFrame:
    """Enrolment and disposition by group.

    Parameters
    ----------
    subjects : pandas.DataFrame
        All enrolled subjects with ``group``, ``safety``, ``withdrawal_date`` and
        ``death_date`` (missing when alive or unknown).
    cutoff : pandas.Timestamp
        Data cut-off; withdrawals and deaths after it are not counted.

    Returns
    -------
    pandas.DataFrame
        ``row``, ``group``, ``n``, ``N``, ``pct`` for: enrolled, treated (safety
        population), not treated, withdrawn, died, on study at cut-off.
    """
    ids = subjects["subject_id"]
    withdrawn = subjects["withdrawal_date"].notna() & (
        subjects["withdrawal_date"] <= cutoff
    )
    died = subjects["death_date"].notna() & (subjects["death_date"] <= cutoff)
    treated = subjects["safety"].astype(bool)
    return _rows(
        subjects,
        [
            ("Enrolled", ids),
            ("Treated (safety population)", ids[treated]),
            ("Enrolled, not treated", ids[~treated]),
            ("Withdrawn from study", ids[withdrawn]),
            ("Died", ids[died]),
            ("On study at data cut-off", ids[~withdrawn & ~died]),
        ],
    )


def summarize_demographics(subjects: pd.DataFrame) -> pd.DataFrame:
    """Age, sex and weight of the safety population by group.

    Parameters
    ----------
    subjects : pandas.DataFrame
        Safety population with ``group``, ``sex`` and optionally ``age`` and
        ``weight_kg``.

    Returns
    -------
    pandas.DataFrame
        ``row``, ``group``, ``stat``, ``value``: for age and weight the statistics
        n, mean, sd, median, min, max; for sex the count ``n`` and ``pct`` per value.
    """
    frames = []
    labelled = pd.concat(
        [subjects, subjects.assign(group=ANY_GROUP)], ignore_index=True
    )
    labelled["group"] = pd.Categorical(
        labelled["group"].astype(str), categories=[*_groups(subjects), ANY_GROUP]
    )
    for column, label in (("age", "Age (years)"), ("weight_kg", "Weight (kg)")):
        if column not in subjects.columns:
            continue
        values = pd.to_numeric(labelled[column], errors="coerce").astype(float)
        grouped = values.groupby(labelled["group"], observed=False)
        stats = pd.DataFrame(
            {
                "n": grouped.count(),
                "mean": grouped.mean(),
                "sd": grouped.std(ddof=1),
                "median": grouped.median(),
                "min": grouped.min(),
                "max": grouped.max(),
            }
        )
        long = stats.reset_index().melt(
            id_vars="group", var_name="stat", value_name="value"
        )
        frames.append(long.assign(row=label))
    sex = (
        labelled["sex"].astype(str).map({"F": "Female", "M": "Male"}).fillna("Unknown")
    )
    table = pd.crosstab(sex, labelled["group"], dropna=False)
    sizes = labelled.groupby("group", observed=False).size()
    for value in table.index:
        counts = table.loc[value]
        pct = 100.0 * counts / sizes.reindex(counts.index)
        part = pd.DataFrame(
            {
                "group": list(counts.index) * 2,
                "stat": ["n"] * len(counts) + ["pct"] * len(counts),
                "value": [*counts.to_numpy(), *pct.to_numpy()],
            }
        )
        frames.append(part.assign(row=f"Sex: {value}"))
    out = pd.concat(frames, ignore_index=True)
    out["group"] = out["group"].astype(str)
    return out[["row", "group", "stat", "value"]]


def summarize_exposure(
    subjects: pd.DataFrame, administrations: pd.DataFrame
) -> pd.DataFrame:
    """Administrations given and not given, and cumulative dose, by group.

    Parameters
    ----------
    subjects : pandas.DataFrame
        Safety population with ``group``.
    administrations : pandas.DataFrame
        ``subject_id``, ``given``, ``dose_amount``.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``subjects``, ``given``, ``not_given`` (administrations),
        ``median_given``, ``min_given``, ``max_given`` (per subject) and
        ``median_cumulative_dose`` (sum of dose_amount per subject).
    """
    given = administrations["given"].astype("boolean").fillna(False).astype(bool)
    adm = administrations.assign(_given=given)
    per = adm.groupby("subject_id").agg(
        given=("_given", "sum"),
        planned=("_given", "size"),
        dose=("dose_amount", lambda s: s[adm.loc[s.index, "_given"]].sum()),
    )
    both = subjects[["subject_id", "group"]].merge(
        per, left_on="subject_id", right_index=True, how="left"
    )
    both[["given", "planned", "dose"]] = both[["given", "planned", "dose"]].fillna(0)
    both["not_given"] = both["planned"] - both["given"]
    whole = pd.concat([both, both.assign(group=ANY_GROUP)], ignore_index=True)
    whole["group"] = pd.Categorical(
        whole["group"].astype(str), categories=[*_groups(subjects), ANY_GROUP]
    )
    grouped = whole.groupby("group", observed=False)
    out = pd.DataFrame(
        {
            "subjects": grouped.size(),
            "given": grouped["given"].sum(),
            "not_given": grouped["not_given"].sum(),
            "median_given": grouped["given"].median(),
            "min_given": grouped["given"].min(),
            "max_given": grouped["given"].max(),
            "median_cumulative_dose": grouped["dose"].median(),
        }
    ).reset_index()
    out["group"] = out["group"].astype(str)
    return out


def summarize_dlt(
    subjects: pd.DataFrame,
    adverse_events: pd.DataFrame,
    *,
    dlt_window_days: int,
    last_contact: pd.Series,
) -> pd.DataFrame:
    """DLTs by dose level: treated, DLT-evaluable, subjects with a DLT and the rate.

    A treated subject is DLT-evaluable when they had a DLT, or when their last contact
    (latest date of any record) is at least ``dlt_window_days`` after the first dose.

    Parameters
    ----------
    subjects : pandas.DataFrame
        Safety population with ``group``, ``subject_id`` and ``first_dose_date``.
    adverse_events : pandas.DataFrame
        ``subject_id`` and ``dlt``.
    dlt_window_days : int
        DLT observation window from the protocol.
    last_contact : pandas.Series
        Latest date on record per subject id.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``treated``, ``evaluable``, ``dlt`` (subjects with at least one DLT)
        and ``rate`` (``dlt / evaluable``, unrounded; missing when none evaluable).
    """
    dlt = adverse_events["dlt"].astype("boolean").fillna(False).astype(bool)
    with_dlt = subjects["subject_id"].isin(adverse_events.loc[dlt, "subject_id"])
    window_end = subjects["first_dose_date"] + pd.Timedelta(days=dlt_window_days)
    seen = pd.to_datetime(subjects["subject_id"].map(last_contact))
    evaluable = with_dlt | (seen.notna() & (seen >= window_end))
    flags = pd.DataFrame(
        {"group": subjects["group"], "evaluable": evaluable, "dlt": with_dlt}
    )
    whole = pd.concat([flags, flags.assign(group=ANY_GROUP)], ignore_index=True)
    whole["group"] = pd.Categorical(
        whole["group"].astype(str), categories=[*_groups(subjects), ANY_GROUP]
    )
    grouped = whole.groupby("group", observed=False)
    out = pd.DataFrame(
        {
            "treated": grouped.size(),
            "evaluable": grouped["evaluable"].sum(),
            "dlt": grouped["dlt"].sum(),
        }
    ).reset_index()
    out["group"] = out["group"].astype(str)
    out[["treated", "evaluable", "dlt"]] = out[["treated", "evaluable", "dlt"]].astype(
        int
    )
    out["rate"] = (out["dlt"] / out["evaluable"]).where(out["evaluable"] > 0)
    return out


def summarize_teae_overview(subjects: pd.DataFrame, teae: pd.DataFrame) -> pd.DataFrame:
    """Subjects with at least one TEAE of each kind, by group.

    Parameters
    ----------
    subjects : pandas.DataFrame
        Safety population with ``group``.
    teae : pandas.DataFrame
        Treatment-emergent adverse events: ``subject_id``, ``grade``, ``serious``,
        ``relatedness``, ``dlt``, ``aesi``, ``outcome``, ``action_taken``.

    Returns
    -------
    pandas.DataFrame
        ``row``, ``group``, ``n``, ``N``, ``pct``.
    """
    ids = teae["subject_id"]
    grade = pd.to_numeric(teae["grade"], errors="coerce")
    serious = teae["serious"].astype("boolean").fillna(False).astype(bool)
    related = teae["relatedness"].isin(
        ["POSSIBLY RELATED", "PROBABLY RELATED", "DEFINITELY RELATED"]
    )
    dlt = teae["dlt"].astype("boolean").fillna(False).astype(bool)
    fatal = (grade == 5) | (teae["outcome"] == "FATAL")
    withdrawn = teae["action_taken"] == "DRUG WITHDRAWN"
    aesi = teae["aesi"].notna() & (teae["aesi"].astype(str).str.len() > 0)
    return _rows(
        subjects,
        [
            ("Any TEAE", ids),
            ("Related TEAE (possibly, probably, definitely)", ids[related]),
            ("TEAE of grade >= 3", ids[grade >= 3]),
            ("Serious TEAE", ids[serious]),
            ("Related serious TEAE", ids[serious & related]),
            ("Dose-limiting toxicity", ids[dlt]),
            ("AE of special interest", ids[aesi]),
            ("TEAE leading to product withdrawal", ids[withdrawn]),
            ("TEAE with fatal outcome", ids[fatal]),
        ],
    )


def summarize_aesi_grades(
    subjects: pd.DataFrame, teae: pd.DataFrame, categories: list[str]
) -> pd.DataFrame:
    """Subjects by maximum grade of each AE of special interest, by group.

    Parameters
    ----------
    subjects : pandas.DataFrame
        Safety population with ``group``.
    teae : pandas.DataFrame
        Treatment-emergent AEs with ``subject_id``, ``aesi`` and ``grade``.
    categories : list of str
        AESI categories to report (e.g. ``["CRS", "ICANS", "GVHD"]``), in order.

    Returns
    -------
    pandas.DataFrame
        ``aesi``, ``row`` (``Any grade``, ``Grade 1`` ... ``Grade 5``, ``Grade >= 3``),
        ``group``, ``n``, ``N``, ``pct``. Each subject is counted once per category,
        at their maximum grade.
    """
    parts = []
    grade = pd.to_numeric(teae["grade"], errors="coerce")
    for category in categories:
        events = teae.assign(_g=grade).loc[teae["aesi"] == category]
        worst = events.groupby("subject_id")["_g"].max()
        items: list[tuple[str, pd.Series | pd.Index]] = [("Any grade", worst.index)]
        items += [(f"Grade {g}", worst.index[worst == g]) for g in range(1, 6)]
        items.append(("Grade >= 3", worst.index[worst >= 3]))
        parts.append(_rows(subjects, items).assign(aesi=category))
    if not parts:
        return pd.DataFrame(columns=["aesi", "row", "group", "n", "N", "pct"])
    out = pd.concat(parts, ignore_index=True)
    return out[["aesi", "row", "group", "n", "N", "pct"]]


#: Normal-range categories of a lab value.
LAB_CATEGORIES = ("Low", "Normal", "High")


def _range_category(labs: pd.DataFrame) -> pd.Series:
    value = labs["value"]
    cat = pd.Series(pd.NA, index=labs.index, dtype="string")
    known = value.notna()
    cat = cat.mask(known, "Normal")
    cat = cat.mask(
        known & labs["lower_limit"].notna() & (value < labs["lower_limit"]), "Low"
    )
    cat = cat.mask(
        known & labs["upper_limit"].notna() & (value > labs["upper_limit"]), "High"
    )
    return cat


def summarize_lab_shifts(subjects: pd.DataFrame, labs: pd.DataFrame) -> pd.DataFrame:
    """Normal-range shift from baseline to the worst post-baseline value, by test.

    Baseline is the last non-missing value on or before the first-dose date. The
    post-baseline category is ``Low`` when any later value is below the lower limit,
    ``High`` when any is above the upper limit, ``Low and high`` when both occur, and
    ``Normal`` otherwise. Subjects without a post-baseline value are not counted;
    subjects without a baseline value are counted under baseline ``Missing``.

    Parameters
    ----------
    subjects : pandas.DataFrame
        Safety population with ``subject_id`` and ``first_dose_date``.
    labs : pandas.DataFrame
        ``subject_id``, ``test_code``, ``lab_date``, ``value``, ``lower_limit``,
        ``upper_limit``.

    Returns
    -------
    pandas.DataFrame
        ``test_code``, ``baseline`` (Low, Normal, High, Missing), ``post`` (Low,
        Normal, High, Low and high) and ``n`` (subjects), zeros included.
    """
    first = subjects.set_index("subject_id")["first_dose_date"]
    data = labs.loc[labs["subject_id"].isin(first.index) & labs["value"].notna()].copy()
    data["category"] = _range_category(data)
    dose_day = pd.to_datetime(data["subject_id"].map(first)).dt.normalize()
    day = pd.to_datetime(data["lab_date"]).dt.normalize()
    pre = data.loc[day <= dose_day].sort_values("lab_date", kind="mergesort")
    post = data.loc[day > dose_day]
    keys = ["subject_id", "test_code"]
    baseline = pre.groupby(keys)["category"].last().rename("baseline")
    low = post["category"].eq("Low").groupby([post[k] for k in keys]).any()
    high = post["category"].eq("High").groupby([post[k] for k in keys]).any()
    worst = pd.Series("Normal", index=low.index, dtype="string")
    worst = worst.mask(low & ~high, "Low").mask(high & ~low, "High")
    worst = worst.mask(low & high, "Low and high").rename("post")
    joined = worst.to_frame().join(baseline, how="left")
    joined["baseline"] = joined["baseline"].fillna("Missing")
    counts = joined.reset_index().groupby(["test_code", "baseline", "post"]).size()
    tests = sorted(data["test_code"].unique())
    index = pd.MultiIndex.from_product(
        [
            tests,
            [*LAB_CATEGORIES, "Missing"],
            ["Low", "Normal", "High", "Low and high"],
        ],
        names=["test_code", "baseline", "post"],
    )
    return counts.reindex(index, fill_value=0).rename("n").reset_index()


def summarize_deaths(
    subjects: pd.DataFrame, *, dlt_window_days: int, cutoff: pd.Timestamp
) -> pd.DataFrame:
    """One row per death on or before the cut-off.

    Parameters
    ----------
    subjects : pandas.DataFrame
        Safety population with ``subject_id``, ``group``, ``first_dose_date``,
        ``death_date`` and ``death_cause``.
    dlt_window_days : int
        DLT window, to flag deaths inside it.
    cutoff : pandas.Timestamp
        Data cut-off.

    Returns
    -------
    pandas.DataFrame
        ``subject_id``, ``group``, ``death_date``, ``days_from_first_dose`` (first
        dose = day 1), ``in_dlt_window`` and ``death_cause``, by date.
    """
    dead = subjects.loc[
        subjects["death_date"].notna() & (subjects["death_date"] <= cutoff)
    ]
    days = (
        dead["death_date"].dt.normalize() - dead["first_dose_date"].dt.normalize()
    ).dt.days + 1
    out = pd.DataFrame(
        {
            "subject_id": dead["subject_id"],
            "group": dead["group"].astype(str),
            "death_date": dead["death_date"],
            "days_from_first_dose": days.astype("Int64"),
            "in_dlt_window": days <= dlt_window_days,
            "death_cause": dead["death_cause"],
        }
    )
    return out.sort_values(["death_date", "subject_id"]).reset_index(drop=True)
