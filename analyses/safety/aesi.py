"""Grading of cell-therapy AEs of special interest from clinical signs.

* CRS and ICANS: ASTCT consensus grading (Lee DW et al., Biol Blood Marrow Transplant
  2019;25:625-638, Tables 1 and 5).
* Acute GvHD: MAGIC organ staging and overall grade (Harris AC et al., Biol Blood Marrow
  Transplant 2016;22:4-10, Table 1 and 2).

These are pure functions on a frame of signs, one row per assessment (or per episode
with the worst signs); they add the grade and never look at the investigator's grade.

Codes of the sign columns
-------------------------
CRS (``derive_crs_grade``):
    ``temperature_c`` (highest, degrees C) or ``fever`` (bool); ``hypotension``:
    ``none``, ``no_vasopressor`` (fluids only), ``one_vasopressor`` (with or without
    vasopressin), ``multiple_vasopressors`` (excluding vasopressin); ``hypoxia``:
    ``none``, ``low_flow`` (nasal cannula <= 6 L/min or blow-by), ``high_flow``
    (> 6 L/min, facemask, non-rebreather, Venturi), ``positive_pressure`` (CPAP, BiPAP,
    intubation); optional ``fever_treated`` (antipyretic or anti-cytokine therapy such
    as tocilizumab or corticosteroids given, after which fever is no longer required)
    and ``death`` (bool, grade 5).
ICANS (``derive_icans_grade``):
    ``ice_score`` (0-10); ``consciousness``: ``normal``, ``awakens_spontaneously``,
    ``awakens_to_voice``, ``awakens_to_tactile``, ``unarousable``; ``seizure``:
    ``none``, ``rapidly_resolving`` (clinical seizure resolving rapidly or EEG seizure
    resolving with intervention), ``prolonged`` (> 5 min or repetitive without return
    to baseline);
    ``motor``: ``none``, ``deep_focal_weakness`` (hemiparesis, paraparesis);
    ``cerebral_oedema``: ``none``, ``focal``, ``diffuse`` (diffuse oedema on imaging,
    decerebrate or decorticate posturing, cranial nerve VI palsy, papilloedema or
    Cushing's triad); optional ``death``. Missing domains count as normal. ICE is for
    adults; the CAPD of children under 12 is not implemented.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "compute_liver_stage",
    "compute_lower_gi_stage",
    "compute_skin_stage",
    "derive_crs_grade",
    "derive_icans_grade",
    "derive_magic_grade",
    "derive_magic_stages",
]

_HYPOTENSION = {
    "none": 0,
    "no_vasopressor": 2,
    "one_vasopressor": 3,
    "multiple_vasopressors": 4,
}
_HYPOXIA = {"none": 0, "low_flow": 2, "high_flow": 3, "positive_pressure": 4}
_CONSCIOUSNESS = {
    "normal": 0,
    "awakens_spontaneously": 1,
    "awakens_to_voice": 2,
    "awakens_to_tactile": 3,
    "unarousable": 4,
}
_SEIZURE = {"none": 0, "rapidly_resolving": 3, "prolonged": 4}
_MOTOR = {"none": 0, "deep_focal_weakness": 4}
_OEDEMA = {"none": 0, "focal": 3, "diffuse": 4}


def _coded(data: pd.DataFrame, column: str, codes: dict[str, int]) -> np.ndarray:
    if column not in data.columns:
        return np.zeros(len(data), dtype=int)
    text = data[column].astype("string").str.strip().str.lower().fillna("none")
    unknown = ~text.isin(list(codes))
    if unknown.any():
        bad = sorted(set(text[unknown]))
        raise ValueError(
            f"{column}: unknown code(s) {bad}; expected one of {list(codes)}"
        )
    return text.map(codes).to_numpy(dtype=int)


def _flag(data: pd.DataFrame, column: str) -> np.ndarray:
    if column not in data.columns:
        return np.zeros(len(data), dtype=bool)
    return data[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


def derive_crs_grade(
    data: pd.DataFrame, *, fever_threshold_c: float = 38.0
) -> pd.DataFrame:
    """Add the ASTCT consensus CRS grade (0 = no CRS) to a frame of clinical signs.

    Grade 1 is fever alone; grades 2-4 are set by the worse of hypotension and hypoxia,
    provided fever is present (or fever was treated: then hypotension and hypoxia alone
    drive the grade, and a treated episode without them stays grade 1). Death from CRS
    is grade 5. Without fever (and no treatment) there is no CRS: grade 0.

    Parameters
    ----------
    data : pandas.DataFrame
        Signs, coded as in the module docstring.
    fever_threshold_c : float, default 38.0
        Temperature defining fever.

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` with ``crs_grade`` (int).
    """
    out = data.copy()
    fever = _flag(data, "fever")
    if "temperature_c" in data.columns:
        temp = pd.to_numeric(data["temperature_c"], errors="coerce").to_numpy(
            dtype=float
        )
        fever = fever | (np.nan_to_num(temp, nan=-np.inf) >= fever_threshold_c)
    treated = _flag(data, "fever_treated")
    organ = np.maximum(
        _coded(data, "hypotension", _HYPOTENSION), _coded(data, "hypoxia", _HYPOXIA)
    )
    has_crs = fever | treated
    grade = np.where(has_crs, np.maximum(organ, 1), 0)
    grade = np.where(_flag(data, "death"), 5, grade)
    out["crs_grade"] = grade.astype(int)
    return out


def _ice_grade(score: pd.Series) -> np.ndarray:
    s = pd.to_numeric(score, errors="coerce").to_numpy(dtype=float)
    if np.any((s < 0) | (s > 10)):
        raise ValueError("ice_score must be between 0 and 10")
    grade = np.select([s <= 2, s <= 6, s <= 9], [3, 2, 1], default=0)
    return np.where(np.isnan(s), 0, grade)


def derive_icans_grade(data: pd.DataFrame) -> pd.DataFrame:
    """Add the ASTCT consensus ICANS grade (0 = none) to a frame of neurological signs.

    The grade is the worst of the domains: ICE score (7-9 grade 1, 3-6 grade 2, 0-2
    grade 3; an unarousable patient who cannot do the ICE is grade 4 through the
    consciousness domain), depressed consciousness, seizure, motor findings and raised
    intracranial pressure / cerebral oedema. Death is grade 5.

    Parameters
    ----------
    data : pandas.DataFrame
        Signs, coded as in the module docstring.

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` with ``icans_grade`` (int).
    """
    out = data.copy()
    ice = (
        _ice_grade(data["ice_score"])
        if "ice_score" in data.columns
        else np.zeros(len(data), dtype=int)
    )
    grade = np.maximum.reduce(
        [
            ice,
            _coded(data, "consciousness", _CONSCIOUSNESS),
            _coded(data, "seizure", _SEIZURE),
            _coded(data, "motor", _MOTOR),
            _coded(data, "cerebral_oedema", _OEDEMA),
        ]
    )
    grade = np.where(_flag(data, "death"), 5, grade)
    out["icans_grade"] = grade.astype(int)
    return out


def compute_skin_stage(
    bsa_pct: pd.Series, bullae: pd.Series | None = None
) -> pd.Series:
    """Return the MAGIC skin stage from the rash extent (% body surface area).

    Stage 0 no rash, 1 < 25 %, 2 25-50 %, 3 > 50 %, 4 generalised erythroderma (> 50 %)
    with bullous formation and desquamation > 5 % BSA (``bullae`` true).

    Parameters
    ----------
    bsa_pct : pandas.Series
        Maculopapular rash, % of body surface area.
    bullae : pandas.Series of bool, optional
        Bullae and desquamation > 5 % BSA.

    Returns
    -------
    pandas.Series
        Stage 0-4 (Int64; missing where ``bsa_pct`` is missing).
    """
    b = pd.to_numeric(bsa_pct, errors="coerce")
    stage = pd.Series(
        np.select([b > 50, b >= 25, b > 0], [3, 2, 1], default=0), index=b.index
    )
    if bullae is not None:
        blister = bullae.astype("boolean").fillna(False).astype(bool)
        stage = stage.mask(blister & (b > 50), 4)
    return stage.where(b.notna()).astype("Int64")


def compute_liver_stage(bilirubin_mg_dl: pd.Series) -> pd.Series:
    """Return the MAGIC liver stage from total bilirubin (mg/dL).

    Stage 0 < 2, 1 2-3, 2 3.1-6, 3 6.1-15, 4 > 15 mg/dL (values between the printed
    bands, e.g. 3.05, go to the higher stage).

    Parameters
    ----------
    bilirubin_mg_dl : pandas.Series
        Total bilirubin in mg/dL (divide umol/L by 17.1).

    Returns
    -------
    pandas.Series
        Stage 0-4 (Int64).
    """
    b = pd.to_numeric(bilirubin_mg_dl, errors="coerce")
    stage = np.select([b > 15, b > 6, b > 3, b >= 2], [4, 3, 2, 1], default=0)
    return pd.Series(stage, index=b.index).where(b.notna()).astype("Int64")


def compute_lower_gi_stage(
    stool_ml_per_day: pd.Series,
    severe: pd.Series | None = None,
    episodes_per_day: pd.Series | None = None,
) -> pd.Series:
    """Return the MAGIC adult lower-GI stage from stool output.

    Stage 0 < 500 mL/day (< 3 episodes), 1 500-999 mL (3-4), 2 1000-1500 mL (5-7),
    3 > 1500 mL (> 7), 4 severe abdominal pain with or without ileus, or grossly bloody
    stool (``severe`` true). With both volume and episodes the higher stage counts.

    Parameters
    ----------
    stool_ml_per_day : pandas.Series
        Diarrhoea volume, mL/day (3-day average).
    severe : pandas.Series of bool, optional
        Severe abdominal pain / ileus or grossly bloody stool.
    episodes_per_day : pandas.Series, optional
        Stool episodes per day.

    Returns
    -------
    pandas.Series
        Stage 0-4 (Int64).
    """
    v = pd.to_numeric(stool_ml_per_day, errors="coerce")
    stage = pd.Series(
        np.select([v > 1500, v >= 1000, v >= 500], [3, 2, 1], default=0), index=v.index
    ).where(v.notna())
    if episodes_per_day is not None:
        e = pd.to_numeric(episodes_per_day, errors="coerce")
        by_episodes = pd.Series(
            np.select([e > 7, e >= 5, e >= 3], [3, 2, 1], default=0), index=e.index
        ).where(e.notna())
        stage = pd.concat([stage, by_episodes], axis=1).max(axis=1)
    if severe is not None:
        stage = stage.mask(severe.astype("boolean").fillna(False).astype(bool), 4)
    return stage.astype("Int64")


def derive_magic_stages(data: pd.DataFrame) -> pd.DataFrame:
    """Add MAGIC organ stages from raw measurements.

    Parameters
    ----------
    data : pandas.DataFrame
        ``rash_bsa_pct`` (+ optional ``bullae``), ``bilirubin_mg_dl``,
        ``upper_gi`` (bool: persistent nausea, vomiting or anorexia),
        ``stool_ml_per_day`` (+ optional ``stool_episodes_per_day`` and
        ``lower_gi_severe``).

    Returns
    -------
    pandas.DataFrame
        A copy with ``skin_stage``, ``liver_stage``, ``upper_gi_stage``,
        ``lower_gi_stage``.
    """
    out = data.copy()
    out["skin_stage"] = compute_skin_stage(data["rash_bsa_pct"], data.get("bullae"))
    out["liver_stage"] = compute_liver_stage(data["bilirubin_mg_dl"])
    out["upper_gi_stage"] = (
        data["upper_gi"].astype("boolean").astype("Int64")
        if "upper_gi" in data.columns
        else pd.Series(0, index=data.index, dtype="Int64")
    )
    out["lower_gi_stage"] = compute_lower_gi_stage(
        data["stool_ml_per_day"],
        data.get("lower_gi_severe"),
        data.get("stool_episodes_per_day"),
    )
    return out


def derive_magic_grade(data: pd.DataFrame) -> pd.DataFrame:
    """Add the MAGIC overall acute GvHD grade (0-IV as 0-4) from the organ stages.

    The grade is **not** the maximum stage: IV if skin, liver or lower GI is stage 4;
    III if liver or lower GI is stage 2-3; II if skin is stage 3, or liver, upper GI or
    lower GI is stage 1; I if skin is stage 1-2 (and nothing else); 0 otherwise.

    Parameters
    ----------
    data : pandas.DataFrame
        ``skin_stage`` (0-4), ``liver_stage`` (0-4), ``upper_gi_stage`` (0-1),
        ``lower_gi_stage`` (0-4); missing stages count as 0.

    Returns
    -------
    pandas.DataFrame
        A copy with ``gvhd_grade`` (int 0-4).
    """
    out = data.copy()

    def stage(name: str) -> np.ndarray:
        if name not in data.columns:
            return np.zeros(len(data), dtype=int)
        return pd.to_numeric(data[name], errors="coerce").fillna(0).to_numpy(dtype=int)

    skin, liver, upper, lower = (
        stage("skin_stage"),
        stage("liver_stage"),
        stage("upper_gi_stage"),
        stage("lower_gi_stage"),
    )
    if np.any(upper > 1):
        raise ValueError("upper_gi_stage is 0 or 1 in MAGIC")
    grade = np.select(
        [
            (skin == 4) | (liver == 4) | (lower == 4),
            np.isin(liver, [2, 3]) | np.isin(lower, [2, 3]),
            (skin == 3) | (liver == 1) | (upper == 1) | (lower == 1),
            np.isin(skin, [1, 2]),
        ],
        [4, 3, 2, 1],
        default=0,
    )
    out["gvhd_grade"] = grade.astype(int)
    return out
