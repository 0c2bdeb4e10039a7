from __future__ import annotations

import numpy as np
import pandas as pd

from analyses.biobank import (
    flag_custody_gaps,
    flag_freeze_thaw,
    flag_storage_limit,
    flag_temperature_excursions,
    list_samples_to_destroy,
    tabulate_availability,
)

T = pd.Timestamp
NAT = pd.NaT


def _samples() -> pd.DataFrame:
    rows = [
        # id, subject, visit, type, scope, status, freeze-thaw, temperature,
        # storage limit, destroyed, collected, processed
        (
            "B1",
            "S1",
            "V1",
            "PBMC",
            "TRIAL ONLY",
            "ACTIVE",
            0,
            "LN2 vapour",
            "2030-01-01",
            NAT,
            "2024-01-10 08:00",
            "2024-01-10 09:30",
        ),
        (
            "B2",
            "S1",
            "V1",
            "PBMC",
            "TRIAL ONLY",
            "ACTIVE",
            2,
            "LN2 vapour",
            "2030-01-01",
            "2024-06-01",
            "2024-01-10 08:00",
            "2024-01-10 09:30",
        ),
        (
            "B3",
            "S1",
            "V2",
            "SERUM",
            "FUTURE RESEARCH",
            "ACTIVE",
            3,
            "-60 to -85 C",
            "2024-01-01",
            NAT,
            "2024-01-10 08:00",
            "2024-01-10 11:00",
        ),
        (
            "B4",
            "S2",
            "V1",
            "SERUM",
            "TRIAL ONLY",
            "ACTIVE",
            0,
            "-60 to -85 C",
            NAT,
            NAT,
            "2024-01-10 08:00",
            NAT,
        ),
        (
            "B5",
            "S2",
            "V1",
            "PBMC",
            "FUTURE RESEARCH",
            "ACTIVE",
            0,
            "LN2 vapour",
            NAT,
            NAT,
            "2024-01-10 08:00",
            NAT,
        ),
        (
            "B6",
            "S3",
            "V1",
            "SERUM",
            "FUTURE RESEARCH",
            "WITHDRAWN",
            0,
            "-60 to -85 C",
            NAT,
            NAT,
            "2024-01-10 08:00",
            NAT,
        ),
        (
            "B7",
            "S3",
            "V1",
            "SERUM",
            "FUTURE RESEARCH",
            "WITHDRAWN",
            0,
            "-60 to -85 C",
            "2023-01-01",
            "2024-03-01",
            "2024-01-10 08:00",
            NAT,
        ),
    ]
    cols = [
        "sample_id",
        "subject_id",
        "visit",
        "sample_type",
        "consent_scope",
        "consent_status",
        "freeze_thaw_count",
        "storage_temperature",
        "storage_limit_date",
        "destroyed_date",
        "collection_time",
        "processing_time",
    ]
    frame = pd.DataFrame(rows, columns=cols)
    for c in (
        "storage_limit_date",
        "destroyed_date",
        "collection_time",
        "processing_time",
    ):
        frame[c] = pd.to_datetime(frame[c])
    frame["freeze_thaw_count"] = frame["freeze_thaw_count"].astype("Int64")
    return frame


def _subjects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": ["S1", "S2", "S3"],
            "withdrawal_date": pd.to_datetime([NAT, "2024-05-01", "2024-04-01"]),
        }
    )


def _events() -> pd.DataFrame:
    rows = [
        ("B1", 1, "2024-01-10 08:00", "COLLECTED", "SiteA", np.nan),
        ("B1", 2, "2024-01-10 09:30", "PROCESSED", "SiteA", np.nan),
        ("B1", 3, "2024-01-10 11:00", "FROZEN", "SiteA", -80.0),
        ("B1", 4, "2024-02-01 09:00", "SHIPPED", "Courier", -150.0),
        ("B1", 5, "2024-02-04 15:00", "RECEIVED", "CentralLab", -140.0),
        ("B1", 6, "2024-02-04 16:00", "STORED", "Biobank", -120.0),
        ("B3", 1, "2024-01-10 08:00", "COLLECTED", "SiteA", np.nan),
        ("B3", 2, "2024-01-11 12:00", "PROCESSED", "SiteA", np.nan),
        ("B3", 3, "2024-01-12 12:00", "SHIPPED", "Courier", -75.0),
        ("B3", 4, "2024-01-13 12:00", "STORED", "Biobank", -80.0),
        ("B3", 5, "2024-01-13 06:00", "TEMPERATURE EXCURSION", "Engineer", -40.0),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "sample_id",
            "event_seq",
            "event_time",
            "event_type",
            "party",
            "temperature_c",
        ],
    )
    frame["event_time"] = pd.to_datetime(frame["event_time"])
    frame["event_seq"] = frame["event_seq"].astype("Int64")
    return frame


def _flags(result: object) -> set[tuple[str, str, float | None]]:
    frame = result.to_frame()  # type: ignore[attr-defined]
    return {
        (r.sample_id, r.rule, None if pd.isna(r.value) else round(float(r.value), 9))
        for r in frame.itertuples()
    }


def test_availability_matrix() -> None:
    res = tabulate_availability(_samples())
    f = res.to_frame()
    s1v1 = f.loc[
        (f["subject_id"] == "S1") & (f["visit"] == "V1") & (f["sample_type"] == "PBMC")
    ]
    # B1 available, B2 destroyed -> 1 available, 1 destroyed, 2 total
    assert dict(zip(s1v1["stat"], s1v1["value"], strict=True)) == {
        "n_available": 1.0,
        "n_destroyed": 1.0,
        "n_total": 2.0,
    }
    m = res.matrix()
    assert m.loc["S1", ("V1", "PBMC")] == 1.0
    assert m.loc["S3", ("V1", "SERUM")] == 1.0  # B6 live, B7 destroyed
    assert m.loc["S1", ("V1", "SERUM")] == 0.0  # no such sample
    # as of 2024-05-01 B2 (destroyed 2024-06-01) still counts
    early = tabulate_availability(_samples(), as_of="2024-05-01").matrix()
    assert early.loc["S1", ("V1", "PBMC")] == 2.0


def test_samples_to_destroy_scope_rules() -> None:
    res = list_samples_to_destroy(_samples(), _subjects(), as_of="2024-06-01")
    # B6: sample consent WITHDRAWN (S3 withdrew 2024-04-01: 61 days before 2024-06-01);
    # B7 already destroyed; B4: S2 left the trial (2024-05-01, 31 days), TRIAL ONLY;
    # B5 (FUTURE RESEARCH) survives a trial withdrawal under the default scope.
    assert _flags(res) == {
        ("B4", "trial_withdrawal", 31.0),
        ("B6", "consent_withdrawn", 61.0),
    }
    wide = list_samples_to_destroy(
        _samples(), _subjects(), trial_withdrawal_scope="all"
    )
    assert {s for s, _, _ in _flags(wide)} == {"B4", "B5", "B6"}
    assert res.provenance.parameters["trial_withdrawal_scope"] == "trial_only"


def test_freeze_thaw_and_storage_limit() -> None:
    # B2 (2 cycles) is destroyed, so only B3 (3 cycles) exceeds 1
    assert _flags(flag_freeze_thaw(_samples())) == {("B3", "freeze_thaw", 3.0)}
    assert _flags(flag_freeze_thaw(_samples(), max_cycles=3)) == set()
    # B3 limit 2024-01-01, as of 2024-06-01: 31+29+31+30+31 = 152 days past;
    # B7 limit passed too but it is destroyed
    res = flag_storage_limit(_samples(), as_of="2024-06-01")
    assert _flags(res) == {("B3", "storage_limit_passed", 152.0)}


def test_temperature_excursions() -> None:
    res = flag_temperature_excursions(_samples(), _events())
    # B1 STORED at -120 C above the LN2 vapour limit -135 C (FROZEN at -80 C is
    # not checked);
    # B3 has an explicit excursion event at -40 C; its STORED -80 C is within -60 C.
    assert _flags(res) == {
        ("B1", "above_storage_limit", -120.0),
        ("B3", "excursion_event", -40.0),
    }
    strict = flag_temperature_excursions(
        _samples(), _events(), limits_c={"LN2 vapour": -150.0, "-60 to -85 C": -60.0}
    )
    # with a -150 C limit the RECEIVED -140 C reading also fails (SHIPPED -150 does not)
    assert ("B1", "above_storage_limit", -140.0) in _flags(strict)


def test_custody_gaps() -> None:
    res = flag_custody_gaps(_samples(), _events())
    assert _flags(res) == {
        # B1: SHIPPED 02-01 09:00 -> RECEIVED 02-04 15:00 = 78 h > 72 h
        ("B1", "transit_too_long", 78.0),
        # (B1: RECEIVED by CentralLab, STORED by Biobank: STORED is a handover event)
        # B3: COLLECTED 01-10 08:00 -> PROCESSED 01-11 12:00 = 28 h > 24 h
        ("B3", "time_gap", 28.0),
        # B3: SHIPPED then STORED (24 h later), never RECEIVED
        ("B3", "shipped_not_received", 24.0),
        # B3: Biobank -> Engineer at a TEMPERATURE EXCURSION event (not a handover)
        ("B3", "custodian_change_without_handover", None),
        # B3 event 5 at 01-13 06:00 is 6 h before event 4 (01-13 12:00)
        ("B3", "out_of_time_order", -6.0),
        # B3 collected 08:00, processed 11:00: 3 h > 2 h
        ("B3", "processing_delay", 3.0),
    }
    relaxed = flag_custody_gaps(
        _samples(),
        _events(),
        max_gap_hours=30,
        max_transit_hours=80,
        max_processing_delay_hours=4,
    )
    rules = {rule for _, rule, _ in _flags(relaxed)}
    assert not rules & {"time_gap", "transit_too_long", "processing_delay"}
    # demanding SHIPPED/RECEIVED for every change also flags B1 event 6 (STORED) and
    # B3 event 4 (STORED by Biobank after the courier)
    strict = flag_custody_gaps(
        _samples(), _events(), handover_events=("SHIPPED", "RECEIVED")
    )
    changes = strict.flags.loc[
        strict.flags["rule"] == "custodian_change_without_handover"
    ]
    assert sorted(changes["message"]) == [
        "custodian changed at an event that is not a handover (event 4)",
        "custodian changed at an event that is not a handover (event 5)",
        "custodian changed at an event that is not a handover (event 6)",
    ]
    summary = strict.summary().set_index("rule")
    assert summary.loc["custodian_change_without_handover", "n_samples"] == 2
    assert res.n_checked == 7


def _arrow(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as the validated schemas deliver them (Arrow-backed strings)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].astype("string[pyarrow]")
    return out


def test_same_flags_with_arrow_string_columns() -> None:
    s, e, subj = _arrow(_samples()), _arrow(_events()), _arrow(_subjects())
    assert _flags(flag_custody_gaps(s, e)) == _flags(
        flag_custody_gaps(_samples(), _events())
    )
    assert _flags(flag_temperature_excursions(s, e)) == _flags(
        flag_temperature_excursions(_samples(), _events())
    )
    assert _flags(list_samples_to_destroy(s, subj)) == _flags(
        list_samples_to_destroy(_samples(), _subjects())
    )
    a = tabulate_availability(s).to_frame()
    b = tabulate_availability(_samples()).to_frame()
    assert a["value"].tolist() == b["value"].tolist()
