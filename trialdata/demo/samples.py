"""Demo biobank: samples with aliquots, storage positions and chain of custody.

At each biobank visit a whole-blood tube is collected and processed into two PBMC
aliquots (liquid-nitrogen vapour) and two serum aliquots (-80 C). The first PBMC
aliquot is later thawed for immunomonitoring and used up; the rest stay stored. Samples
of a subject who withdraws consent are destroyed two weeks after the withdrawal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialdata.demo.common import choose

__all__ = ["Biobank", "biobank"]

_HOUR = np.timedelta64(1, "h")
_MINUTE = np.timedelta64(1, "m")

#: Aliquots made from each collection: suffix, type, parent?, temperature, freezer.
ALIQUOTS = (
    ("PB", "WHOLE BLOOD", False, None, None),
    ("PBMC1", "PBMC", True, "LN2 vapour", "LN2-A"),
    ("PBMC2", "PBMC", True, "LN2 vapour", "LN2-A"),
    ("SER1", "SERUM", False, "-60 to -85 C", "F80-1"),
    ("SER2", "SERUM", False, "-60 to -85 C", "F80-1"),
)


@dataclass(frozen=True)
class Biobank:
    """The biobank_samples and custody_events tables of a demo trial.

    Attributes
    ----------
    samples : pandas.DataFrame
        biobank_samples, typed.
    custody : pandas.DataFrame
        custody_events, typed.
    assay_sample : pandas.DataFrame
        subject_id, visit and sample_id of the aliquot used for immunomonitoring.
    """

    samples: pd.DataFrame
    custody: pd.DataFrame
    assay_sample: pd.DataFrame


def _positions(freezer: str, count: int) -> np.ndarray:
    """Return ``count`` distinct positions: freezer/rack/box/well of 9x9 boxes."""
    i = np.arange(count)
    box, well = i // 81, i % 81
    rows = np.array(list("ABCDEFGHI"))[well // 9]
    return np.char.add(
        np.char.add(
            np.char.add(f"{freezer}/R", np.char.zfill((box // 20 + 1).astype(str), 2)),
            np.char.add("/B", np.char.zfill((box % 20 + 1).astype(str), 2)),
        ),
        np.char.add(np.char.add("/", rows), (well % 9 + 1).astype(str)),
    ).astype(object)


def biobank(
    grid: pd.DataFrame,
    timeline: pd.DataFrame,
    rng: np.random.Generator,
    *,
    site: pd.Series,
    consent_scope: pd.Series,
) -> Biobank:
    """Generate samples, aliquots and custody events for each visit of ``grid``.

    Parameters
    ----------
    grid : pandas.DataFrame
        Biobank visits (subject_id, subject, visit, date).
    timeline : pandas.DataFrame
        Subjects' timelines; withdrawal triggers destruction.
    rng : numpy.random.Generator
        Random source.
    site : pandas.Series
        Site id per timeline row.
    consent_scope : pandas.Series
        Consent scope per timeline row.

    Returns
    -------
    Biobank
        The two tables and the assay aliquots.
    """
    n, k = len(grid), len(ALIQUOTS)
    collection = grid["date"].to_numpy() + (8 * 60 + rng.integers(0, 180, n)) * _MINUTE
    processing = collection + rng.integers(60, 180, n) * _MINUTE
    freezing = processing + rng.integers(45, 120, n) * _MINUTE
    row = np.repeat(np.arange(n), k)
    aliquot = np.tile(np.arange(k), n)
    suffix = np.array([a[0] for a in ALIQUOTS], dtype=object)[aliquot]
    base = grid["subject_id"].to_numpy() + "-" + grid["visit"].to_numpy()
    sample_id = base[row] + "-" + suffix
    has_parent = np.array([a[2] for a in ALIQUOTS])[aliquot]
    parent = np.where(has_parent, base[row] + "-PB", None)
    stored = np.array([a[3] is not None for a in ALIQUOTS])[aliquot]
    temperature = np.array([a[3] for a in ALIQUOTS], dtype=object)[aliquot]
    position = np.full(len(row), None, dtype=object)
    for freezer in {a[4] for a in ALIQUOTS if a[4]}:
        here = np.array([a[4] == freezer for a in ALIQUOTS])[aliquot]
        position[here] = _positions(freezer, int(here.sum()))
    subject = grid["subject"].to_numpy()[row]
    withdrawal = timeline["withdrawal"].to_numpy()[subject]
    assay = suffix == "PBMC1"
    assay_time = freezing[row] + rng.integers(30, 120, len(row)) * np.timedelta64(
        1, "D"
    )
    used = assay & (np.isnat(withdrawal) | (assay_time < withdrawal))
    withdrawn = ~np.isnat(withdrawal)
    destroy_day = withdrawal + np.timedelta64(14, "D")
    destroyed = np.full(len(row), np.datetime64("NaT"), dtype="datetime64[ns]")
    reason = np.full(len(row), None, dtype=object)
    primary = ~stored
    destroyed[primary] = processing[row][primary]
    reason[primary] = "Fully processed into aliquots"
    destroyed[used] = assay_time[used] + 4 * _HOUR
    reason[used] = "Used up in immunomonitoring assay"
    pending = stored & ~used & withdrawn
    destroyed[pending] = destroy_day[pending]
    reason[pending] = "Consent withdrawn"
    samples = pd.DataFrame(
        {
            "sample_id": sample_id,
            "parent_sample_id": parent,
            "subject_id": grid["subject_id"].to_numpy()[row],
            "visit": grid["visit"].to_numpy()[row],
            "sample_type": np.array([a[1] for a in ALIQUOTS], dtype=object)[aliquot],
            "container": choose(suffix == "PB", "SHP", choose(stored, "CRV", None)),
            "collection_time": collection[row],
            "processing_time": processing[row],
            "freezing_time": np.where(stored, freezing[row], np.datetime64("NaT")),
            "storage_temperature": temperature,
            "storage_position": choose(destroyed_mask(destroyed), None, position),
            "freeze_thaw_count": pd.array(used.astype(int), dtype="Int64"),
            "consent_scope": consent_scope.to_numpy()[subject],
            "consent_status": np.where(withdrawn, "WITHDRAWN", "ACTIVE"),
            "storage_limit_date": (
                pd.Series(grid["date"].to_numpy()[row]) + pd.DateOffset(years=15)
            ).to_numpy(),
            "destroyed_date": pd.Series(destroyed).dt.normalize().to_numpy(),
            "destruction_reason": reason,
        }
    )
    for column in ("collection_time", "processing_time", "freezing_time"):
        samples[column] = samples[column].astype("datetime64[ns]")
    custody = _custody(samples, site.to_numpy()[subject], position, stored, used)
    assay_sample = samples.loc[assay, ["subject_id", "visit", "sample_id"]]
    return Biobank(samples, custody, assay_sample.reset_index(drop=True))


def destroyed_mask(destroyed: np.ndarray) -> np.ndarray:
    """Return which samples have a destruction date."""
    return ~np.isnat(destroyed)


def _custody(
    samples: pd.DataFrame,
    site: np.ndarray,
    position: np.ndarray,
    stored: np.ndarray,
    used: np.ndarray,
) -> pd.DataFrame:
    """Build custody events: collected, processed, then frozen and stored, or used."""
    n = len(samples)
    collected = samples["collection_time"].to_numpy()
    processed = samples["processing_time"].to_numpy()
    frozen = samples["freezing_time"].to_numpy()
    destroyed = samples["destroyed_date"].to_numpy()
    lab = np.char.add(site.astype(str), " cell processing lab").astype(object)
    ward = np.char.add(site.astype(str), " day clinic").astype(object)
    events = [
        (np.ones(n, bool), collected, "COLLECTED", ward, ward),
        (np.ones(n, bool), processed, "PROCESSED", lab, lab),
        (~stored, processed + 30 * _MINUTE, "DESTROYED", lab, lab),
        (stored, frozen, "FROZEN", lab, lab),
        (stored, frozen + 2 * _HOUR, "STORED", "Central biobank", position),
        (used, destroyed, "THAWED", "Immunomonitoring lab", "Immunomonitoring lab"),
        (
            used,
            destroyed + 4 * _HOUR,
            "DESTROYED",
            "Immunomonitoring lab",
            "Immunomonitoring lab",
        ),
        (
            stored & ~used & ~np.isnat(destroyed),
            destroyed + 10 * _HOUR,
            "DESTROYED",
            "Central biobank",
            "Central biobank",
        ),
    ]
    parts = []
    for order, (mask, time, kind, party, location) in enumerate(events):
        where = np.flatnonzero(mask)
        parts.append(
            pd.DataFrame(
                {
                    "row": where,
                    "order": order,
                    "sample_id": samples["sample_id"].to_numpy()[where],
                    "event_time": np.asarray(time)[where],
                    "event_type": kind,
                    "party": np.broadcast_to(np.asarray(party, dtype=object), n)[where],
                    "location": np.broadcast_to(np.asarray(location, dtype=object), n)[
                        where
                    ],
                }
            )
        )
    custody = pd.concat(parts, ignore_index=True).sort_values(
        ["row", "order"], kind="stable"
    )
    temperature = custody["event_type"].map(
        {"COLLECTED": 21.0, "PROCESSED": 21.0, "FROZEN": -80.0}
    )
    in_ln2 = custody["location"].astype(str).str.startswith("LN2")
    stored_here = custody["event_type"].eq("STORED")
    temperature = temperature.mask(
        stored_here, pd.Series(np.where(in_ln2, -150.0, -80.0), index=custody.index)
    )
    return pd.DataFrame(
        {
            "sample_id": custody["sample_id"].to_numpy(),
            "event_seq": pd.array(
                custody.groupby("row").cumcount().to_numpy() + 1, dtype="Int64"
            ),
            "event_time": custody["event_time"].to_numpy().astype("datetime64[ns]"),
            "event_type": custody["event_type"].to_numpy(),
            "party": custody["party"].to_numpy(),
            "location": custody["location"].to_numpy(),
            "temperature_c": temperature.to_numpy(dtype=float),
        }
    )
