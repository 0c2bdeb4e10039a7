"""Type parsing reports every value it cannot read, once, with file/row/column."""

from __future__ import annotations

import pandas as pd

from schemas.domains import get_domain
from trialdata.validation.parsing import parse_table


def _raw(**columns: list[object]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame(columns, dtype=object)
    frame["_source_file"] = "adverse_events.csv"
    frame["_source_row"] = list(range(2, n + 2))
    return frame


def test_values_are_parsed_to_schema_types() -> None:
    raw = _raw(
        subject_id=["S-01", "S-02"],
        ae_seq=["1", "2.0"],
        onset_date=["2024-01-05", "2024-01-06T10:30"],
        serious=["Y", "false"],
    )
    typed, findings = parse_table(raw, get_domain("adverse_events"))
    assert findings.empty
    assert typed["ae_seq"].tolist() == [1, 2]
    assert str(typed["ae_seq"].dtype) == "Int64"
    assert typed["onset_date"].tolist() == [
        pd.Timestamp("2024-01-05"),
        pd.Timestamp("2024-01-06 10:30"),
    ]
    assert typed["serious"].tolist() == [True, False]


def test_unparseable_values_are_findings_and_rows_are_kept() -> None:
    raw = _raw(
        subject_id=["S-01", "S-02", "S-03", "S-04"],
        ae_seq=["1", "2.5", "x", None],
        onset_date=["2024-01-05", "31/02/2024", "2024-13-01", None],
        serious=["Y", "maybe", "N", None],
    )
    typed, findings = parse_table(raw, get_domain("adverse_events"))
    assert len(typed) == 4
    got = set(
        zip(
            findings["row"],
            findings["column"],
            findings["rule"],
            findings["value"],
            strict=True,
        )
    )
    assert got == {
        (3, "ae_seq", "RD-008", "2.5"),
        (4, "ae_seq", "RD-008", "x"),
        (3, "onset_date", "RD-008", "31/02/2024"),
        (4, "onset_date", "RD-008", "2024-13-01"),
        (3, "serious", "RD-008", "maybe"),
    }
    assert (findings["file"] == "adverse_events.csv").all()
    message = findings.set_index(["row", "column"]).loc[(3, "onset_date"), "message"]
    assert message == "cannot read '31/02/2024' as an ISO 8601 date (YYYY-MM-DD)"
    assert typed["ae_seq"].isna().tolist() == [False, True, True, True]


def test_partial_onset_dates_are_imputed_and_flagged() -> None:
    raw = _raw(subject_id=["S-01", "S-02"], onset_date=["2024-03", "2023"])
    typed, findings = parse_table(raw, get_domain("adverse_events"))
    assert typed["onset_date"].tolist() == [
        pd.Timestamp("2024-03-01"),
        pd.Timestamp("2023-01-01"),
    ]
    assert typed["onset_date_imputed"].tolist() == ["D", "M"]
    assert findings["rule"].tolist() == ["RD-011", "RD-011"]
    assert (findings["severity"] == "warning").all()


def test_partial_dates_elsewhere_are_errors() -> None:
    raw = _raw(subject_id=["S-01"], resolution_date=["2024-03"])
    typed, findings = parse_table(raw, get_domain("adverse_events"))
    assert findings[["column", "rule"]].values.tolist() == [
        ["resolution_date", "RD-008"]
    ]
    assert typed["resolution_date"].isna().all()
