"""CTCAE v5.0 grading of laboratory values (SI units), with baselines and unit checks.

The criteria follow NCI CTCAE v5.0 as encoded by admiral
(``pharmaverse/admiral: data-raw/adlb_grading/ncictcaev5.json``, summarised in the
project's data-standards note, section 6.1). Only criteria that can be decided from the
value alone are graded: e.g. anaemia grade 4 (life-threatening), hypokalaemia grade 2
(symptomatic) or hyponatraemia grade 3 by symptoms are not derivable and never assigned.

Comparison rule: every grade's lower bound in the CTCAE text is strict ("<1.5 - 1.0"
means grade 2 when value < 1.5; ">3.0 - 5.0 x ULN" means grade 3 when value > 3 x ULN),
except the baseline-relative grade 1 of ALT, AST, ALP and GGT ("1.5 - 3.0 x baseline"),
which is inclusive. Grades are evaluated from 4 down; grade 1 needs the normal range
and is missing (not 0) when the limit it needs is missing and no higher grade applies.
Values are compared as recorded (admiral rounds to significant digits first).

Baseline-relative rules: ALT, AST, ALP, GGT and bilirubin use multiples of the baseline
value instead of the ULN when the baseline value is above its ULN; creatinine grade 2
and 3 also apply ``> 1.5`` and ``> 3.0 x baseline`` whatever the baseline, and the worse
of the ULN and baseline grades counts. The baseline record itself is graded on the ULN
rules only (grading a baseline relative to itself is meaningless: admiral issue #2512).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "CTCAE_V4",
    "CTCAE_V5",
    "CtcaeCriterion",
    "compute_range_indicator",
    "derive_ctcae_grade",
    "derive_lab_baseline",
    "normalise_unit",
]

_COUNT = ("10^9/l", "10e9/l", "10**9/l", "x10^9/l", "gi/l", "10^3/ul", "k/ul", "/nl")
_ENZYME = ("u/l", "iu/l")
_UMOL = ("umol/l",)
_MMOL = ("mmol/l",)
_MMOL_MONO = ("mmol/l", "meq/l")  # monovalent ions: 1 mmol = 1 mEq
_GL = ("g/l",)


@dataclass(frozen=True)
class CtcaeCriterion:
    """One CTCAE term graded from one lab test in one direction.

    Attributes
    ----------
    test_code : str
        SDTM LBTESTCD of the test.
    term : str
        CTCAE term.
    direction : {"low", "high"}
        Direction of the abnormality.
    units : tuple of str
        Accepted units (normalised spellings, see :func:`normalise_unit`).
    basis : {"absolute", "uln", "lln"}
        Cut-offs are absolute values, or multiples of the ULN / LLN.
    cutoffs : tuple of 4 floats or None
        Lower bounds of grades 1-4 (a cut-off of None: grade not derivable from the
        value; for grade 1, None means "beyond the normal limit" when
        ``grade1_from_limit``).
    grade1_from_limit : bool
        Grade 1 starts at the normal limit (LLN or ULN) when ``cutoffs[0]`` is None.
    baseline_cutoffs : tuple of 4 floats or None, optional
        Multiples of the baseline value for grades 1-4.
    baseline_when : {"abnormal", "always"}, optional
        ``abnormal``: baseline multiples replace the ULN ones when the baseline is above
        its ULN; ``always``: the worse of ULN and baseline grades counts.
    baseline_grade1_inclusive : bool
        Whether the baseline-relative grade 1 bound is inclusive.
    """

    test_code: str
    term: str
    direction: Literal["low", "high"]
    units: tuple[str, ...]
    basis: Literal["absolute", "uln", "lln"]
    cutoffs: tuple[float | None, float | None, float | None, float | None]
    grade1_from_limit: bool = True
    baseline_cutoffs: (
        tuple[float | None, float | None, float | None, float | None] | None
    ) = None
    baseline_when: Literal["abnormal", "always"] | None = None
    baseline_grade1_inclusive: bool = False


def _low(
    code: str,
    term: str,
    units: tuple[str, ...],
    g2: float | None,
    g3: float | None,
    g4: float | None,
) -> CtcaeCriterion:
    return CtcaeCriterion(code, term, "low", units, "absolute", (None, g2, g3, g4))


def _high(
    code: str,
    term: str,
    units: tuple[str, ...],
    g2: float | None,
    g3: float | None,
    g4: float | None,
) -> CtcaeCriterion:
    return CtcaeCriterion(code, term, "high", units, "absolute", (None, g2, g3, g4))


#: CTCAE v5.0 lab criteria in SI units.
CTCAE_V5: tuple[CtcaeCriterion, ...] = (
    _low("NEUT", "Neutrophil count decreased", _COUNT, 1.5, 1.0, 0.5),
    _low("LYM", "Lymphocyte count decreased", _COUNT, 0.8, 0.5, 0.2),
    _low("PLAT", "Platelet count decreased", _COUNT, 75.0, 50.0, 25.0),
    _low("WBC", "White blood cell decreased", _COUNT, 3.0, 2.0, 1.0),
    _low("HGB", "Anemia", _GL, 100.0, 80.0, None),
    _low("ALB", "Hypoalbuminemia", _GL, 30.0, 20.0, None),
    _low("SODIUM", "Hyponatremia", _MMOL_MONO, 130.0, 125.0, 120.0),
    _high("SODIUM", "Hypernatremia", _MMOL_MONO, 150.0, 155.0, 160.0),
    _low("K", "Hypokalemia", _MMOL_MONO, None, 3.0, 2.5),
    _high("K", "Hyperkalemia", _MMOL_MONO, 5.5, 6.0, 7.0),
    _low("CA", "Hypocalcemia", _MMOL, 2.0, 1.75, 1.5),
    _high("CA", "Hypercalcemia", _MMOL, 2.9, 3.1, 3.4),
    _low("MG", "Hypomagnesemia", _MMOL, 0.5, 0.4, 0.3),
    _high("MG", "Hypermagnesemia", _MMOL, None, 1.23, 3.30),
    _low("GLUC", "Hypoglycemia", _MMOL, 3.0, 2.2, 1.7),
    CtcaeCriterion(
        "LYM", "Lymphocyte count increased", "high", _COUNT, "absolute",
        (None, 4.0, 20.0, None), grade1_from_limit=False,
    ),
    CtcaeCriterion(
        "WBC", "Leukocytosis", "high", _COUNT, "absolute", (None, None, 100.0, None),
        grade1_from_limit=False,
    ),
    CtcaeCriterion(
        "INR", "INR increased", "high", ("", "ratio", "1"), "absolute",
        (1.2, 1.5, 2.5, None), grade1_from_limit=False,
    ),
    CtcaeCriterion(
        "FIBRINO", "Fibrinogen decreased", "low", _GL, "lln", (1.0, 0.75, 0.5, 0.25)
    ),
    CtcaeCriterion(
        "CK", "CPK increased", "high", _ENZYME, "uln", (1.0, 2.5, 5.0, 10.0)
    ),
    *(
        CtcaeCriterion(
            code, term, "high", _ENZYME, "uln", (1.0, 3.0, 5.0, 20.0),
            baseline_cutoffs=(1.5, 3.0, 5.0, 20.0), baseline_when="abnormal",
            baseline_grade1_inclusive=True,
        )
        for code, term in (
            ("ALT", "Alanine aminotransferase increased"),
            ("AST", "Aspartate aminotransferase increased"),
        )
    ),
    *(
        CtcaeCriterion(
            code, term, "high", _ENZYME, "uln", (1.0, 2.5, 5.0, 20.0),
            baseline_cutoffs=(2.0, 2.5, 5.0, 20.0), baseline_when="abnormal",
            baseline_grade1_inclusive=True,
        )
        for code, term in (
            ("ALP", "Alkaline phosphatase increased"),
            ("GGT", "GGT increased"),
        )
    ),
    CtcaeCriterion(
        "BILI", "Blood bilirubin increased", "high", _UMOL, "uln",
        (1.0, 1.5, 3.0, 10.0),
        baseline_cutoffs=(1.0, 1.5, 3.0, 10.0), baseline_when="abnormal",
    ),
    CtcaeCriterion(
        "CREAT", "Creatinine increased", "high", _UMOL, "uln", (1.0, 1.5, 3.0, 6.0),
        baseline_cutoffs=(None, 1.5, 3.0, None), baseline_when="always",
    ),
)  # fmt: skip


def _replace(
    base: tuple[CtcaeCriterion, ...], changes: tuple[CtcaeCriterion, ...]
) -> tuple[CtcaeCriterion, ...]:
    new = {(c.test_code, c.direction): c for c in changes}
    return tuple(new.get((c.test_code, c.direction), c) for c in base)


#: CTCAE v4.03 lab criteria where they differ from v5.0: no baseline-relative rules
#: for ALT, AST, ALP, GGT and bilirubin; creatinine grade 1 from > 1 x baseline;
#: hyponatraemia without a grade 2. Terms not listed are graded as in v5.0.
CTCAE_V4: tuple[CtcaeCriterion, ...] = _replace(
    CTCAE_V5,
    (
        *(
            CtcaeCriterion(code, term, "high", _ENZYME, "uln", cut)
            for code, term, cut in (
                ("ALT", "Alanine aminotransferase increased", (1.0, 3.0, 5.0, 20.0)),
                ("AST", "Aspartate aminotransferase increased", (1.0, 3.0, 5.0, 20.0)),
                ("ALP", "Alkaline phosphatase increased", (1.0, 2.5, 5.0, 20.0)),
                ("GGT", "GGT increased", (1.0, 2.5, 5.0, 20.0)),
            )
        ),
        CtcaeCriterion(
            "BILI", "Blood bilirubin increased", "high", _UMOL, "uln",
            (1.0, 1.5, 3.0, 10.0),
        ),
        CtcaeCriterion(
            "CREAT", "Creatinine increased", "high", _UMOL, "uln", (1.0, 1.5, 3.0, 6.0),
            baseline_cutoffs=(1.0, 1.5, 3.0, None), baseline_when="always",
        ),
        _low("SODIUM", "Hyponatremia", _MMOL_MONO, None, 130.0, 120.0),
    ),
)  # fmt: skip


def normalise_unit(unit: pd.Series) -> pd.Series:
    """Return unit spellings normalised for comparison.

    Lower case, spaces removed, ``µ``/``μ``/``mc`` to ``u``, ``x10`` and ``10*``
    spellings of powers of ten to ``10^``.

    Parameters
    ----------
    unit : pandas.Series
        Units as recorded.

    Returns
    -------
    pandas.Series
        Normalised units (missing stays missing).
    """
    u = unit.astype("string").str.lower().str.replace(" ", "", regex=False)
    u = u.str.replace("µ", "u", regex=False).str.replace("μ", "u", regex=False)
    u = u.str.replace(r"^mc", "u", regex=True).str.replace("/mcl", "/ul", regex=False)
    u = u.str.replace(r"10\*\*|10\*|10e", "10^", regex=True)
    return u.fillna("")


def compute_range_indicator(
    value: pd.Series, lower: pd.Series, upper: pd.Series
) -> pd.Series:
    """Return LOW / NORMAL / HIGH of values against their normal range.

    Parameters
    ----------
    value, lower, upper : pandas.Series
        Values and their normal-range limits (aligned).

    Returns
    -------
    pandas.Series
        ``"LOW"`` (value < lower), ``"HIGH"`` (value > upper), ``"NORMAL"`` otherwise;
        missing when the value, or the limit needed to decide, is missing.
    """
    v = pd.to_numeric(value, errors="coerce")
    lo = pd.to_numeric(lower, errors="coerce")
    hi = pd.to_numeric(upper, errors="coerce")
    out = pd.Series(pd.NA, index=value.index, dtype="string")
    out = out.mask(v.notna() & lo.notna() & hi.notna(), "NORMAL")
    out = out.mask(v.notna() & lo.notna() & (v < lo), "LOW")
    out = out.mask(v.notna() & hi.notna() & (v > hi), "HIGH")
    return out


def derive_lab_baseline(
    data: pd.DataFrame,
    subjects: pd.DataFrame,
    *,
    same_day: Literal["baseline", "post"] = "baseline",
    window_days: int | None = None,
) -> pd.DataFrame:
    """Flag baseline and post-baseline records and carry the baseline value to each row.

    The baseline is the last non-missing value of the test on or before the day of the
    first dose (``same_day="baseline"``, pre-dose samples drawn on the dosing day) or
    strictly before it (``same_day="post"``).

    Parameters
    ----------
    data : pandas.DataFrame
        Labs: ``subject_id``, ``test_code``, ``lab_date``, ``value``, ``lower_limit``,
        ``upper_limit``.
    subjects : pandas.DataFrame
        Subjects with ``first_dose_date`` and ``last_dose_date``.
    same_day : {"baseline", "post"}, default "baseline"
        Where a sample on the first-dose day belongs.
    window_days : int, optional
        Post-baseline records must fall within this many days after the last dose.

    Returns
    -------
    pandas.DataFrame
        A copy with ``is_baseline``, ``post_baseline``, ``baseline_value``,
        ``baseline_lower_limit`` and ``baseline_upper_limit``.
    """
    out = data.copy()
    subj = subjects.set_index("subject_id")
    first = pd.to_datetime(
        out["subject_id"].map(subj["first_dose_date"])
    ).dt.normalize()
    day = pd.to_datetime(out["lab_date"]).dt.normalize()
    has_value = pd.to_numeric(out["value"], errors="coerce").notna()
    before = day <= first if same_day == "baseline" else day < first
    candidate = before & has_value & first.notna()
    order = out.assign(_day=day, _cand=candidate).sort_values(
        ["subject_id", "test_code", "_day"], kind="mergesort"
    )
    chosen = (
        order.loc[order["_cand"]].groupby(["subject_id", "test_code"]).tail(1).index
    )
    out["is_baseline"] = out.index.isin(chosen)
    post = (day > first) if same_day == "baseline" else (day >= first)
    if window_days is not None:
        last = pd.to_datetime(
            out["subject_id"].map(subj["last_dose_date"])
        ).dt.normalize()
        post &= day <= last + pd.to_timedelta(window_days, unit="D")
    out["post_baseline"] = (post & first.notna()).astype(bool)
    base = out.loc[
        out["is_baseline"],
        ["subject_id", "test_code", "value", "lower_limit", "upper_limit"],
    ]
    base = base.rename(
        columns={
            "value": "baseline_value",
            "lower_limit": "baseline_lower_limit",
            "upper_limit": "baseline_upper_limit",
        }
    )
    joined = out[["subject_id", "test_code"]].merge(
        base, on=["subject_id", "test_code"], how="left"
    )
    for col in ("baseline_value", "baseline_lower_limit", "baseline_upper_limit"):
        out[col] = joined[col].to_numpy()
    return out


def _grade_one(
    crit: CtcaeCriterion,
    v: np.ndarray,
    lln: np.ndarray,
    uln: np.ndarray,
    base: np.ndarray,
    base_uln: np.ndarray,
    is_baseline: np.ndarray,
) -> np.ndarray:
    n = len(v)
    grade = np.full(n, np.nan)
    decided = np.zeros(n, dtype=bool)

    def bounds(cutoff: float | None, limit: np.ndarray) -> np.ndarray | None:
        if cutoff is None:
            return None
        if crit.basis == "absolute":
            return np.full(n, cutoff)
        return cutoff * limit

    limit = lln if crit.direction == "low" else uln
    with np.errstate(invalid="ignore"):
        for g in (4, 3, 2):
            b = bounds(crit.cutoffs[g - 1], limit)
            if b is None:
                continue
            hit = (v < b) if crit.direction == "low" else (v > b)
            hit &= ~decided & ~np.isnan(b)
            grade[hit] = g
            decided |= hit
        g1 = crit.cutoffs[0]
        if g1 is not None or crit.grade1_from_limit:
            b1 = limit if g1 is None else bounds(g1, limit)
            assert b1 is not None
            hit = ((v < b1) if crit.direction == "low" else (v > b1)) & ~decided
            grade[hit & ~np.isnan(b1)] = 1
            decided |= hit & ~np.isnan(b1)
            grade[~decided & ~np.isnan(v) & ~np.isnan(b1)] = 0
            # limit missing and no higher grade: grade stays missing
        else:
            grade[~decided & ~np.isnan(v)] = 0
        if crit.baseline_cutoffs is not None:
            rel = np.full(n, np.nan)
            rel_done = np.zeros(n, dtype=bool)
            for g in (4, 3, 2, 1):
                m = crit.baseline_cutoffs[g - 1]
                if m is None:
                    continue
                if g == 1 and crit.baseline_grade1_inclusive:
                    hit = v >= m * base
                else:
                    hit = v > m * base
                hit &= ~rel_done & ~np.isnan(base)
                rel[hit] = g
                rel_done |= hit
            rel[~rel_done & ~np.isnan(v) & ~np.isnan(base)] = 0
            usable = ~np.isnan(base) & ~is_baseline
            if crit.baseline_when == "abnormal":
                use = usable & ~np.isnan(base_uln) & (base > base_uln)
                grade = np.where(use, rel, grade)
            else:
                both = np.fmax(grade, rel)
                grade = np.where(usable, both, grade)
    grade[np.isnan(v)] = np.nan
    return grade


def derive_ctcae_grade(
    data: pd.DataFrame,
    *,
    criteria: Sequence[CtcaeCriterion] = CTCAE_V5,
    check_units: bool = True,
) -> pd.DataFrame:
    """Add CTCAE grades (low and high direction) to lab records.

    Parameters
    ----------
    data : pandas.DataFrame
        Labs with ``test_code``, ``value``, ``unit``, ``lower_limit``, ``upper_limit``;
        optional ``baseline_value``, ``baseline_upper_limit`` and ``is_baseline`` (see
        :func:`derive_lab_baseline`) for the baseline-relative rules.
    criteria : sequence of CtcaeCriterion, default CTCAE_V5
        The grading criteria (``CTCAE_V4`` for CTCAE v4.03).
    check_units : bool, default True
        Leave the grade missing (and ``unit_ok`` false) where the unit is not one the
        criterion accepts, instead of grading a number in the wrong unit.

    Returns
    -------
    pandas.DataFrame
        A copy with ``grade_low``, ``grade_high`` (Int64; missing where the test has no
        criterion in that direction or the grade cannot be decided), ``term_low``,
        ``term_high`` and ``unit_ok`` (missing for tests without criteria).
    """
    out = data.copy()
    n = len(out)
    v_all = pd.to_numeric(out["value"], errors="coerce").to_numpy(dtype=float)
    lln_all = pd.to_numeric(out["lower_limit"], errors="coerce").to_numpy(dtype=float)
    uln_all = pd.to_numeric(out["upper_limit"], errors="coerce").to_numpy(dtype=float)

    def column(name: str) -> np.ndarray:
        if name not in out.columns:
            return np.full(n, np.nan)
        return pd.to_numeric(out[name], errors="coerce").to_numpy(dtype=float)

    base_all = column("baseline_value")
    base_uln_all = column("baseline_upper_limit")
    if "baseline_upper_limit" not in out.columns:
        base_uln_all = uln_all
    is_base_all = (
        out["is_baseline"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if "is_baseline" in out.columns
        else np.zeros(n, dtype=bool)
    )
    units = (
        normalise_unit(out["unit"]).to_numpy()
        if "unit" in out.columns
        else np.full(n, "")
    )
    codes = out["test_code"].astype(str).to_numpy()
    grades = {"low": np.full(n, np.nan), "high": np.full(n, np.nan)}
    terms = {
        "low": np.full(n, None, dtype=object),
        "high": np.full(n, None, dtype=object),
    }
    unit_ok = np.full(n, None, dtype=object)
    for crit in criteria:
        rows = codes == crit.test_code
        if not rows.any():
            continue
        ok = np.isin(units[rows], list(crit.units))
        unit_ok[rows] = ok
        g = _grade_one(
            crit,
            v_all[rows],
            lln_all[rows],
            uln_all[rows],
            base_all[rows],
            base_uln_all[rows],
            is_base_all[rows],
        )
        if check_units:
            g = np.where(ok, g, np.nan)
        grades[crit.direction][rows] = g
        terms[crit.direction][rows] = crit.term
    for direction in ("low", "high"):
        out[f"grade_{direction}"] = pd.Series(
            grades[direction], index=out.index, dtype="Float64"
        ).astype("Int64")
        out[f"term_{direction}"] = pd.Series(
            terms[direction], index=out.index, dtype="string"
        )
    out["unit_ok"] = pd.Series(unit_ok, index=out.index, dtype="boolean")
    return out
