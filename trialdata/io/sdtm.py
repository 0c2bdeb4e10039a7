"""SDTM and ADaM SAS transport (XPT) files in, trialdata domain frames out.

Mapping (SDTM variable -> our column). What cannot be carried over is listed as *lossy*.

subjects (DM, DS)
    USUBJID -> subject_id; SITEID -> site_id; ARMCD -> cohort_id (planned arm);
    ACTARMCD -> actual_cohort_id; ARM / ACTARM -> arm / actual_arm (ordered
    categoricals, ordered by the arm's planned EX dose, so tables list Placebo, Low,
    High); SEX -> sex; AGE -> age; RACE -> race; ETHNIC -> ethnicity; RFICDTC ->
    consent_date; RFSTDTC -> enrolment_date; DTHFL / DTHDTC -> death / death_date; DS
    disposition event (DSCAT = "DISPOSITION EVENT") -> withdrawal_reason (DSDECOD, when
    not COMPLETED) and, when DSDECOD = "WITHDRAWAL BY SUBJECT", withdrawal_date.
    *Lossy*: birth dates are not read (direct identifier); screen failures stay in the
    table with cohort ``Scrnfail`` and are outside the safety population (never dosed).

cohorts (DM, EX)
    One row per planned arm: ARMCD -> cohort_id, ARM -> description; dose_level = rank
    of the arm's planned dose (highest EXDOSE) among the arms, 1 = lowest (placebo is
    level 1 in the CDISC pilot); route = EXROUTE.
    *Lossy*: an SDTM arm is a treatment arm, not an escalation cohort; EXROUTE values
    outside our route list (e.g. TRANSDERMAL) are kept as text and fail schema
    validation.

administrations (EX)
    EXSEQ -> admin_seq; EXSTDTC -> admin_date; EXENDTC -> admin_end_date; VISIT ->
    visit; EXDOSE / EXDOSU -> dose_amount / dose_unit; EXROUTE -> route; EXLOT ->
    lot_id; EXTRT -> treatment; dose_level from the dose rank above; given = True (an
    EX record is a dose given; EC's ECOCCUR is not read).

adverse_events (AE)
    AESEQ -> ae_seq; AETERM -> term; AEDECOD -> preferred_term; AESOC -> soc; AESTDTC ->
    onset_date_raw and onset_date (partial dates imputed with
    ``analyses.safety.teae.compute_imputed_dates`` against the first EX date, flag in
    onset_date_imputed); AEENDTC -> resolution_date (complete dates only);
    AETOXGR -> grade with grading_scale "CTCAE" when present, otherwise AESEV MILD /
    MODERATE / SEVERE -> grade 1 / 2 / 3 with grading_scale missing and the original in
    ``severity``; AESER -> serious; AESDTH, AESLIFE, AESHOSP, AESDISAB, AESCONG,
    AESMIE -> ser_* flags; AEREL -> relatedness (NONE -> NOT RELATED, REMOTE ->
    UNLIKELY RELATED, POSSIBLE -> POSSIBLY RELATED, PROBABLE -> PROBABLY RELATED,
    DEFINITE -> DEFINITELY RELATED); AEOUT -> outcome; AEACN -> action_taken.
    *Lossy*: AESEV is not a CTCAE grade (severe is not "grade 3" in CTCAE terms); the
    DLT flag and the AESI category do not exist in SDTM AE and are left missing.

labs (LB)
    LBTESTCD -> test_code; LBDTC -> lab_date; LBSTRESN / LBSTRESU -> value / unit;
    LBSTNRLO / LBSTNRHI -> lower_limit / upper_limit; LBNRIND -> range_indicator;
    LBBLFL = "Y" -> baseline; VISIT -> visit.

ADaM: ADSL -> subjects (SAFFL -> safety, TRT01P / TRT01A -> arm / actual_arm ordered by
TRT01PN / TRT01AN, TRTSDT / TRTEDT -> first_dose_date / last_dose_date, AGEGR1 ->
age_group, HEIGHTBL / WEIGHTBL / BMIBL -> height_cm / weight_kg / bmi, MMSETOT -> mmse,
DSRAEFL -> discontinued_for_ae); ADAE -> adverse_events as AE above plus TRTEMFL -> teae
and ASTDT / ASTDTF -> onset_date / onset_date_imputed.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import pyreadstat

from analyses.safety.teae import (
    TEAE_RULE_ATTR,
    compute_imputation_flags,
    compute_imputed_dates,
)
from trialdata.errors import InputError, UnreadableFileError
from trialdata.io.files import open_regular
from trialdata.io.sas import sas_dates_as_text

__all__ = [
    "read_adae",
    "read_adam",
    "read_adsl",
    "read_sdtm",
    "read_xpt",
    "sdtm_administrations",
    "sdtm_adverse_events",
    "sdtm_cohorts",
    "sdtm_labs",
    "sdtm_subjects",
]

_RELATEDNESS = {
    "NONE": "NOT RELATED",
    "NOT RELATED": "NOT RELATED",
    "REMOTE": "UNLIKELY RELATED",
    "UNLIKELY": "UNLIKELY RELATED",
    "UNLIKELY RELATED": "UNLIKELY RELATED",
    "POSSIBLE": "POSSIBLY RELATED",
    "POSSIBLY RELATED": "POSSIBLY RELATED",
    "PROBABLE": "PROBABLY RELATED",
    "PROBABLY RELATED": "PROBABLY RELATED",
    "DEFINITE": "DEFINITELY RELATED",
    "DEFINITELY RELATED": "DEFINITELY RELATED",
    "RELATED": "DEFINITELY RELATED",
}
_SEVERITY_GRADE = {"MILD": 1, "MODERATE": 2, "SEVERE": 3}
_SERIOUS_FLAGS = {
    "AESDTH": "ser_death",
    "AESLIFE": "ser_life_threatening",
    "AESHOSP": "ser_hospitalisation",
    "AESDISAB": "ser_disability",
    "AESCONG": "ser_congenital_anomaly",
    "AESMIE": "ser_medically_important",
}


def _read_xport(content: bytes, encoding: str | None, name: str) -> pd.DataFrame:
    """Read XPT bytes; dates pyreadstat cannot convert are converted here.

    Raises
    ------
    UnreadableFileError
        When a value of a date, date-time or time column is none (e.g. a DATE9.
        value of ten billion days), naming the row and column.
    """
    try:
        frame, _ = pyreadstat.read_xport(io.BytesIO(content), encoding=encoding)
        return frame
    except (OverflowError, ValueError):
        frame, meta = pyreadstat.read_xport(
            io.BytesIO(content), encoding=encoding, disable_datetime_conversion=True
        )
    frame, failed = sas_dates_as_text(frame, meta.original_variable_types)
    if failed:
        first = failed[0]
        raise UnreadableFileError(
            f"value {first.value!r} of a {first.sas_format} variable is not a date, "
            f"date-time or time that can be read ({len(failed)} such value(s))",
            file=name,
            row=first.position + 2,
            column=first.column,
        )
    return frame


def read_xpt(path: str | Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Read one SAS transport (XPT v5) file; blank text cells become missing.

    The file is opened without following a symbolic link: a link, a folder or any
    other entry that is not a regular file is refused, as in an upload.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``.xpt`` file.
    encoding : str, optional
        Text encoding; retried as cp1252 when the default fails.

    Returns
    -------
    pandas.DataFrame
        The dataset with upper-case column names.

    Raises
    ------
    UnreadableFileError
        When the file is missing, a symbolic link or not a regular file, is not a
        readable XPT file, or holds a date value that is none (naming its row and
        column).
    """
    path = Path(path)
    try:
        with open_regular(path) as handle:
            content = handle.read()
    except UnreadableFileError as error:
        raise UnreadableFileError(error.reason, file=str(path)) from None
    except OSError as error:
        raise UnreadableFileError(
            f"cannot be read: {error.strerror or error}", file=str(path)
        ) from None
    try:
        frame = _read_xport(content, encoding, str(path))
    except UnreadableFileError:
        raise
    except Exception as first:  # pyreadstat raises its own error types
        if encoding is not None:
            raise UnreadableFileError(
                f"not a readable XPT file: {first}", file=str(path)
            ) from first
        try:
            frame = _read_xport(content, "cp1252", str(path))
        except UnreadableFileError:
            raise
        except Exception as second:
            raise UnreadableFileError(
                f"not a readable XPT file: {second}", file=str(path)
            ) from second
    frame.columns = [str(c).upper() for c in frame.columns]
    text = frame.select_dtypes(include="object").columns
    for col in text:
        blank = frame[col].astype(str).str.strip() == ""
        frame[col] = frame[col].mask(blank)
    return frame


def _present(path: Path) -> bool:
    """Whether an entry of that name exists, a link or special file included.

    Such an entry is then read, and refused by :func:`read_xpt`, rather than
    skipped as if absent.
    """
    return os.path.lexists(path)


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    """Return the column, or an all-missing column when the dataset lacks it."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype="object")


def _int(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype("Int64")


def _require(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{name} lacks required variable(s) {missing}", file=name)


def _dates(raw: pd.Series) -> pd.Series:
    """Complete ISO dates (first 10 characters) to datetime; partial dates to NaT."""
    text = raw.astype("string").str.slice(0, 10)
    full = text.str.match(r"^\d{4}-\d{2}-\d{2}$").fillna(False).astype(bool)
    return pd.to_datetime(text.where(full), errors="coerce")


def _yes(raw: pd.Series) -> pd.Series:
    return raw.astype("string").str.upper().eq("Y").astype("boolean")


def _arm_dose(dm: pd.DataFrame, ex: pd.DataFrame) -> pd.DataFrame:
    """Planned dose of each planned arm: the most frequent highest EX dose of subjects.

    The highest dose, not the first, because titrated arms start low (the CDISC pilot's
    high-dose arm starts at 54 mg and goes up to 81 mg).
    """
    top = ex.sort_values(["USUBJID", "EXDOSE"]).drop_duplicates("USUBJID", keep="last")
    joined = dm[["USUBJID", "ARMCD", "ARM"]].merge(
        top[["USUBJID", "EXDOSE", "EXROUTE"]], on="USUBJID"
    )
    dose = (
        joined.groupby(["ARMCD", "ARM"])
        .agg(dose=("EXDOSE", lambda s: s.mode().iloc[0]), route=("EXROUTE", "first"))
        .reset_index()
        .sort_values(["dose", "ARMCD"])
    )
    dose["dose_level"] = dose["dose"].rank(method="dense").astype("int64")
    return dose


def sdtm_cohorts(dm: pd.DataFrame, ex: pd.DataFrame) -> pd.DataFrame:
    """Map DM planned arms (with their EX dose and route) to the cohorts table.

    Parameters
    ----------
    dm, ex : pandas.DataFrame
        SDTM DM and EX.

    Returns
    -------
    pandas.DataFrame
        ``cohort_id``, ``dose_level``, ``route``, ``description``, ``planned_dose``.
    """
    dose = _arm_dose(dm, ex)
    return pd.DataFrame(
        {
            "cohort_id": dose["ARMCD"].to_numpy(),
            "dose_level": _int(dose["dose_level"]).to_numpy(),
            "route": dose["route"].to_numpy(),
            "description": dose["ARM"].to_numpy(),
            "planned_dose": dose["dose"].to_numpy(),
        }
    )


def _ordered(values: pd.Series, order: list[str]) -> pd.Series:
    extra = sorted(set(values.dropna()) - set(order))
    return pd.Series(
        pd.Categorical(values, categories=[*order, *extra], ordered=True),
        index=values.index,
    )


def sdtm_subjects(
    dm: pd.DataFrame, ex: pd.DataFrame, ds: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Map DM (and the DS disposition events) to the subjects table.

    Parameters
    ----------
    dm, ex : pandas.DataFrame
        SDTM DM and EX.
    ds : pandas.DataFrame, optional
        SDTM DS, for withdrawal reason and date.

    Returns
    -------
    pandas.DataFrame
        The subjects table plus ``actual_cohort_id``, ``arm``, ``actual_arm``, ``race``,
        ``ethnicity``, ``death``, ``death_date``.
    """
    _require(dm, ["USUBJID", "SITEID", "ARMCD", "ARM", "SEX"], "DM")
    order = _arm_dose(dm, ex)["ARM"].tolist()
    out = pd.DataFrame(
        {
            "subject_id": dm["USUBJID"].to_numpy(),
            "site_id": dm["SITEID"].to_numpy(),
            "cohort_id": dm["ARMCD"].to_numpy(),
            "actual_cohort_id": dm.get("ACTARMCD", dm["ARMCD"]).to_numpy(),
            "sex": dm["SEX"].to_numpy(),
            "age": _int(_col(dm, "AGE")).to_numpy(),
            "race": dm.get("RACE"),
            "ethnicity": dm.get("ETHNIC"),
            "consent_date": _dates(dm["RFICDTC"]) if "RFICDTC" in dm else pd.NaT,
            "enrolment_date": _dates(dm["RFSTDTC"]) if "RFSTDTC" in dm else pd.NaT,
            "death": _yes(dm["DTHFL"]) if "DTHFL" in dm else pd.NA,
            "death_date": _dates(dm["DTHDTC"]) if "DTHDTC" in dm else pd.NaT,
        }
    )
    out["arm"] = _ordered(dm["ARM"].reset_index(drop=True), order)
    out["actual_arm"] = _ordered(
        dm.get("ACTARM", dm["ARM"]).reset_index(drop=True), order
    )
    out["withdrawal_date"] = pd.NaT
    out["withdrawal_reason"] = pd.Series(pd.NA, index=out.index, dtype="string")
    if ds is not None:
        disp = ds.loc[ds["DSCAT"].eq("DISPOSITION EVENT")].drop_duplicates("USUBJID")
        disp = disp.set_index("USUBJID")
        reason = out["subject_id"].map(disp["DSDECOD"]).astype("string")
        out["withdrawal_reason"] = reason.where(reason != "COMPLETED")
        withdrew = reason.eq("WITHDRAWAL BY SUBJECT").fillna(False).astype(bool)
        date = _dates(out["subject_id"].map(disp["DSSTDTC"]))
        out["withdrawal_date"] = date.where(withdrew)
    return out


def sdtm_administrations(ex: pd.DataFrame, cohorts: pd.DataFrame) -> pd.DataFrame:
    """Map EX to the administrations table.

    Parameters
    ----------
    ex : pandas.DataFrame
        SDTM EX.
    cohorts : pandas.DataFrame
        Output of :func:`sdtm_cohorts` (for the dose level of each dose amount).

    Returns
    -------
    pandas.DataFrame
        The administrations table plus ``admin_end_date`` and ``treatment``.
    """
    _require(ex, ["USUBJID", "EXSEQ", "EXSTDTC", "EXDOSE", "EXROUTE"], "EX")
    level = cohorts.drop_duplicates("planned_dose").set_index("planned_dose")[
        "dose_level"
    ]
    return pd.DataFrame(
        {
            "subject_id": ex["USUBJID"].to_numpy(),
            "admin_seq": _int(ex["EXSEQ"]).to_numpy(),
            "admin_date": _dates(ex["EXSTDTC"]).to_numpy(),
            "admin_end_date": _dates(ex["EXENDTC"]).to_numpy()
            if "EXENDTC" in ex
            else pd.NaT,
            "visit": ex.get("VISIT"),
            "given": pd.Series(True, index=ex.index, dtype="boolean").to_numpy(),
            "reason_not_given": pd.Series([pd.NA] * len(ex), dtype="string").to_numpy(),
            "dose_level": _int(ex["EXDOSE"].map(level)).to_numpy(),
            "dose_amount": ex["EXDOSE"].astype(float).to_numpy(),
            "dose_unit": ex.get("EXDOSU"),
            "route": ex["EXROUTE"].to_numpy(),
            "lot_id": ex["EXLOT"].to_numpy() if "EXLOT" in ex else None,
            "treatment": ex.get("EXTRT"),
        }
    )


def _ae_common(ae: pd.DataFrame) -> pd.DataFrame:
    _require(ae, ["USUBJID", "AESEQ", "AEDECOD", "AESTDTC"], "AE")
    soc = ae["AESOC"] if "AESOC" in ae else ae["AEBODSYS"]
    out = pd.DataFrame(
        {
            "subject_id": ae["USUBJID"].to_numpy(),
            "ae_seq": _int(ae["AESEQ"]).to_numpy(),
            "term": ae.get("AETERM", ae["AEDECOD"]).to_numpy(),
            "preferred_term": ae["AEDECOD"].to_numpy(),
            "soc": soc.to_numpy(),
        }
    )
    toxgr = pd.to_numeric(ae["AETOXGR"], errors="coerce") if "AETOXGR" in ae else None
    severity = ae["AESEV"].astype("string").str.upper() if "AESEV" in ae else None
    if toxgr is not None and toxgr.notna().any():
        out["grade"] = _int(toxgr).to_numpy()
        out["grading_scale"] = "CTCAE"
    elif severity is not None:
        out["grade"] = _int(severity.map(_SEVERITY_GRADE)).to_numpy()
        out["grading_scale"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["severity"] = severity.to_numpy() if severity is not None else None
    out["grading_version"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["serious"] = _yes(ae["AESER"]).to_numpy() if "AESER" in ae else pd.NA
    for src, dest in _SERIOUS_FLAGS.items():
        if src in ae:
            out[dest] = _yes(ae[src]).to_numpy()
    rel = ae["AEREL"].astype("string").str.upper() if "AEREL" in ae else None
    out["relatedness"] = rel.map(_RELATEDNESS).to_numpy() if rel is not None else None
    out["outcome"] = ae.get("AEOUT")
    out["action_taken"] = ae.get("AEACN")
    out["dlt"] = pd.Series(pd.NA, index=out.index, dtype="boolean")
    out["aesi"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["resolution_date"] = (
        _dates(ae["AEENDTC"]).to_numpy() if "AEENDTC" in ae else pd.NaT
    )
    return out


def sdtm_adverse_events(
    ae: pd.DataFrame, ex: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Map AE to the adverse_events table, imputing partial onset dates.

    Parameters
    ----------
    ae : pandas.DataFrame
        SDTM AE.
    ex : pandas.DataFrame, optional
        SDTM EX; its first date per subject is the reference of the imputation.

    Returns
    -------
    pandas.DataFrame
        The adverse_events table plus ``onset_date_raw`` and ``severity``.
    """
    out = _ae_common(ae)
    out["onset_date_raw"] = ae["AESTDTC"].astype("string").to_numpy()
    first = None
    if ex is not None:
        first_by = _dates(ex["EXSTDTC"]).groupby(ex["USUBJID"].to_numpy()).min()
        first = out["subject_id"].map(first_by)
    out["onset_date"] = compute_imputed_dates(out["onset_date_raw"], first)
    out["onset_date_imputed"] = compute_imputation_flags(out["onset_date_raw"])
    return out


def sdtm_labs(lb: pd.DataFrame) -> pd.DataFrame:
    """Map LB to the labs table.

    Parameters
    ----------
    lb : pandas.DataFrame
        SDTM LB.

    Returns
    -------
    pandas.DataFrame
        The labs table plus ``range_indicator`` and ``baseline``.
    """
    _require(lb, ["USUBJID", "LBTESTCD", "LBDTC", "LBSTRESN"], "LB")
    return pd.DataFrame(
        {
            "subject_id": lb["USUBJID"].to_numpy(),
            "visit": lb.get("VISIT"),
            "lab_date": _dates(lb["LBDTC"]).to_numpy(),
            "test_code": lb["LBTESTCD"].to_numpy(),
            "value": pd.to_numeric(lb["LBSTRESN"], errors="coerce").to_numpy(),
            "unit": lb.get("LBSTRESU"),
            "lower_limit": pd.to_numeric(_col(lb, "LBSTNRLO"), errors="coerce"),
            "upper_limit": pd.to_numeric(_col(lb, "LBSTNRHI"), errors="coerce"),
            "range_indicator": lb.get("LBNRIND"),
            "baseline": _yes(lb["LBBLFL"]).fillna(False).to_numpy()
            if "LBBLFL" in lb
            else False,
        }
    )


def read_sdtm(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Read an SDTM folder (dm, ex, ae, and ds / lb when present) into domain frames.

    Parameters
    ----------
    folder : str or pathlib.Path
        Folder with ``dm.xpt``, ``ex.xpt``, ``ae.xpt`` and optionally ``ds.xpt``,
        ``lb.xpt``.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``subjects``, ``cohorts``, ``administrations``, ``adverse_events`` and ``labs``
        when LB is present.
    """
    folder = Path(folder)
    dm = read_xpt(folder / "dm.xpt")
    ex = read_xpt(folder / "ex.xpt")
    ae = read_xpt(folder / "ae.xpt")
    ds = read_xpt(folder / "ds.xpt") if _present(folder / "ds.xpt") else None
    cohorts = sdtm_cohorts(dm, ex)
    out = {
        "subjects": sdtm_subjects(dm, ex, ds),
        "cohorts": cohorts,
        "administrations": sdtm_administrations(ex, cohorts),
        "adverse_events": sdtm_adverse_events(ae, ex),
    }
    if _present(folder / "lb.xpt"):
        out["labs"] = sdtm_labs(read_xpt(folder / "lb.xpt"))
    return out


def _adam_dates(raw: pd.Series) -> pd.Series:
    return pd.to_datetime(raw, errors="coerce")


def read_adsl(path: str | Path) -> pd.DataFrame:
    """Read ADSL into a subjects frame with the ADaM population flags.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``adsl.xpt`` file.

    Returns
    -------
    pandas.DataFrame
        Subjects with ``safety``, ``arm``, ``actual_arm``, ``first_dose_date``,
        ``last_dose_date``, ``age_group``, ``height_cm``, ``weight_kg``, ``bmi``,
        ``race``, ``mmse`` and ``discontinued_for_ae`` where ADSL has them.
    """
    adsl = read_xpt(path)
    _require(adsl, ["USUBJID", "SITEID", "TRT01P", "SEX"], str(path))

    def arm(name: str, num: str) -> pd.Series:
        order = adsl.drop_duplicates(name).sort_values(num)[name].tolist()
        return _ordered(adsl[name], order)

    out = pd.DataFrame(
        {
            "subject_id": adsl["USUBJID"],
            "site_id": adsl["SITEID"],
            "cohort_id": adsl["TRT01P"],
            "sex": adsl["SEX"],
            "age": _int(adsl["AGE"]),
            "race": adsl.get("RACE"),
            "ethnicity": adsl.get("ETHNIC"),
            "arm": arm("TRT01P", "TRT01PN"),
            "actual_arm": arm("TRT01A", "TRT01AN")
            if "TRT01A" in adsl
            else arm("TRT01P", "TRT01PN"),
            "safety": _yes(adsl["SAFFL"]).fillna(False).astype(bool),
            "itt": _yes(adsl["ITTFL"]).fillna(False).astype(bool)
            if "ITTFL" in adsl
            else True,
            "first_dose_date": _adam_dates(_col(adsl, "TRTSDT")),
            "last_dose_date": _adam_dates(_col(adsl, "TRTEDT")),
        }
    )
    if "AGEGR1" in adsl:
        order = adsl.drop_duplicates("AGEGR1").sort_values("AGEGR1N")["AGEGR1"].tolist()
        out["age_group"] = _ordered(adsl["AGEGR1"], order)
    for src, dest in {
        "HEIGHTBL": "height_cm",
        "WEIGHTBL": "weight_kg",
        "BMIBL": "bmi",
        "MMSETOT": "mmse",
    }.items():
        if src in adsl:
            out[dest] = pd.to_numeric(adsl[src], errors="coerce")
    if "DSRAEFL" in adsl:
        out["discontinued_for_ae"] = _yes(adsl["DSRAEFL"]).fillna(False).astype(bool)
    if "DTHFL" in adsl:
        out["death"] = _yes(adsl["DTHFL"]).fillna(False).astype(bool)
    return out.reset_index(drop=True)


def read_adae(path: str | Path) -> pd.DataFrame:
    """Read ADAE into an adverse_events frame with the ADaM TEAE flag.

    Parameters
    ----------
    path : str or pathlib.Path
        The ``adae.xpt`` file.

    Returns
    -------
    pandas.DataFrame
        Adverse events plus ``teae`` (TRTEMFL = "Y"), ``onset_date`` (ASTDT) and
        ``onset_date_imputed`` (ASTDTF).
    """
    adae = read_xpt(path)
    if "AESTDTC" not in adae:
        adae["AESTDTC"] = adae["ASTDT"].astype("string")
    out = _ae_common(adae)
    out["onset_date"] = _adam_dates(adae["ASTDT"]).to_numpy()
    out["onset_date_imputed"] = adae.get("ASTDTF")
    if "AENDT" in adae:
        out["resolution_date"] = _adam_dates(adae["AENDT"]).to_numpy()
    out["teae"] = _yes(adae["TRTEMFL"]).fillna(False).astype(bool).to_numpy()
    out.attrs[TEAE_RULE_ATTR] = {"source": "ADaM ADAE TRTEMFL"}
    return out


def read_adam(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Read ``adsl.xpt`` and ``adae.xpt`` of an ADaM folder.

    Parameters
    ----------
    folder : str or pathlib.Path
        The ADaM folder.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``subjects`` and ``adverse_events``.
    """
    folder = Path(folder)
    return {
        "subjects": read_adsl(folder / "adsl.xpt"),
        "adverse_events": read_adae(folder / "adae.xpt"),
    }
