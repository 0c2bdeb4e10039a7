"""Freeze-thaw, temperature-excursion and storage-limit checks of biobank samples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from analyses._results import make_provenance
from analyses.biobank._flags import SampleFlagResult, make_flag_result
from schemas.terms import CustodyEventType, StorageTemperature

__all__ = [
    "DEFAULT_TEMPERATURE_LIMITS_C",
    "flag_freeze_thaw",
    "flag_storage_limit",
    "flag_temperature_excursions",
]

#: Highest acceptable temperature (degrees C) of each storage category: the warm end of
#: the MIABIS/SPREC category; both LN2 phases use the -135 C glass-transition limit.
DEFAULT_TEMPERATURE_LIMITS_C: Mapping[str, float] = {
    StorageTemperature.ROOM.value: 25.0,
    StorageTemperature.FRIDGE.value: 10.0,
    StorageTemperature.FREEZER_20.value: -18.0,
    StorageTemperature.FREEZER_80.value: -60.0,
    StorageTemperature.BELOW_135.value: -135.0,
    StorageTemperature.LN2_VAPOUR.value: -135.0,
    StorageTemperature.LN2_LIQUID.value: -135.0,
}

#: Custody events whose recorded temperature should be within the storage limit
#: (FROZEN is left out: samples are often frozen at -80 C before transfer to LN2).
STORAGE_EVENTS: tuple[str, ...] = (
    CustodyEventType.STORED.value,
    CustodyEventType.SHIPPED.value,
    CustodyEventType.RECEIVED.value,
)


def flag_freeze_thaw(data: pd.DataFrame, *, max_cycles: int = 1) -> SampleFlagResult:
    """Flag live (not destroyed) samples thawed more often than allowed.

    Parameters
    ----------
    data : pandas.DataFrame
        Biobank samples (``sample_id``, ``subject_id``, ``freeze_thaw_count``,
        ``destroyed_date``).
    max_cycles : int, default 1
        Highest acceptable freeze-thaw count; a sample with more is flagged
        (rule ``freeze_thaw``).

    Returns
    -------
    SampleFlagResult
        One row per flagged sample, ``value`` = its freeze-thaw count.
    """
    count = data["freeze_thaw_count"].astype("Float64")
    over = (count > max_cycles).fillna(False) & data["destroyed_date"].isna()
    part = data.loc[over, ["sample_id", "subject_id"]].copy()
    part["rule"] = "freeze_thaw"
    part["stat"] = "freeze_thaw_count"
    part["value"] = count[part.index].astype(float)
    part["message"] = (
        "freeze-thaw count "
        + part["value"].astype(int).astype(str)
        + f" > {max_cycles}"
    )
    prov = make_provenance(
        "flag_freeze_thaw", inputs={"data": data}, max_cycles=max_cycles
    )
    return make_flag_result([part], provenance=prov, n_checked=len(data))


def flag_temperature_excursions(
    data: pd.DataFrame,
    events: pd.DataFrame,
    *,
    limits_c: Mapping[str, float] = DEFAULT_TEMPERATURE_LIMITS_C,
    checked_events: Sequence[str] = STORAGE_EVENTS,
) -> SampleFlagResult:
    """Flag temperature excursions from custody events.

    A sample is flagged for every ``TEMPERATURE EXCURSION`` event (rule
    ``excursion_event``) and for every event of a ``checked_events`` type whose
    ``temperature_c`` is above the limit of the sample's storage category (rule
    ``above_storage_limit``). Collection, processing, thawing and aliquoting are
    not checked, as the sample is legitimately warm then.

    Parameters
    ----------
    data : pandas.DataFrame
        Biobank samples (``sample_id``, ``subject_id``, ``storage_temperature``).
    events : pandas.DataFrame
        Custody events (``sample_id``, ``event_seq``, ``event_type``,
        ``temperature_c``).
    limits_c : mapping, default DEFAULT_TEMPERATURE_LIMITS_C
        Highest acceptable temperature per storage category.
    checked_events : sequence of str
        Event types whose temperature is compared with the limit.

    Returns
    -------
    SampleFlagResult
        ``value`` = the recorded temperature (missing when the excursion event has
        none).
    """
    info = data.drop_duplicates("sample_id").set_index("sample_id")
    ev = events.assign(
        subject_id=events["sample_id"].map(info["subject_id"]),
        limit=events["sample_id"].map(info["storage_temperature"]).map(dict(limits_c)),
    )
    temp = (
        ev["temperature_c"].astype(float)
        if "temperature_c" in ev
        else pd.Series(float("nan"), index=ev.index)
    )
    exc = ev["event_type"] == CustodyEventType.TEMPERATURE_EXCURSION.value
    above = ev["event_type"].isin(list(checked_events)) & (temp > ev["limit"])
    parts = []
    for rule, mask, text in (
        ("excursion_event", exc, "temperature excursion recorded"),
        ("above_storage_limit", above, "temperature above the storage category limit"),
    ):
        part = ev.loc[mask, ["sample_id", "subject_id", "event_seq"]].copy()
        part["rule"] = rule
        part["stat"] = "temperature_c"
        part["value"] = temp[mask]
        part["message"] = text + " at event " + part["event_seq"].astype(str)
        parts.append(part)
    prov = make_provenance(
        "flag_temperature_excursions",
        inputs={"data": data, "events": events},
        limits_c=dict(limits_c),
        checked_events=list(checked_events),
    )
    return make_flag_result(parts, provenance=prov, n_checked=len(data))


def flag_storage_limit(
    data: pd.DataFrame, *, as_of: pd.Timestamp | str
) -> SampleFlagResult:
    """Flag live samples whose storage limit date is before ``as_of``.

    Parameters
    ----------
    data : pandas.DataFrame
        Biobank samples (``storage_limit_date``, ``destroyed_date``).
    as_of : timestamp or str
        Reference date.

    Returns
    -------
    SampleFlagResult
        Rule ``storage_limit_passed``; ``value`` = days past the limit.

    Raises
    ------
    ValueError
        If the samples have no ``storage_limit_date`` column.
    """
    if "storage_limit_date" not in data.columns:
        raise ValueError("flag_storage_limit needs the storage_limit_date column")
    ref = pd.Timestamp(as_of)
    limit = pd.to_datetime(data["storage_limit_date"])
    mask = (limit < ref) & data["destroyed_date"].isna()
    part = data.loc[mask, ["sample_id", "subject_id"]].copy()
    part["rule"] = "storage_limit_passed"
    part["stat"] = "days_past_limit"
    part["value"] = (ref - limit[mask]).dt.days.astype(float)
    part["message"] = "storage limit " + limit[mask].dt.strftime("%Y-%m-%d") + " passed"
    prov = make_provenance(
        "flag_storage_limit", inputs={"data": data}, as_of=str(ref.date())
    )
    return make_flag_result([part], provenance=prov, n_checked=len(data))
