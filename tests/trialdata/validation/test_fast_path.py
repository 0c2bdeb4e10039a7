"""Arrow's typed CSV read (clean files) and the text parser read values identically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from schemas.domains import get_domain
from trialdata.io import read_raw
from trialdata.io.files import SourceFile
from trialdata.validation.parsing import parse_table

HEADER = "subject_id,ae_seq,term,preferred_term,soc,onset_date,resolution_date,grade,grading_scale,grading_version,serious,relatedness,outcome,action_taken,dlt,aesi"
ROWS = [
    "S-1,1,rash,Rash,Skin,2024-01-05,2024-01-09T10:30,1,CTCAE,5.0,N,NOT RELATED,RECOVERED/RESOLVED,DOSE NOT CHANGED,false,",
    "S-1,2,fever,Pyrexia,General,2024-01-07,2024-01-08 07:15:30.5,2,CTCAE,5.0,Yes,POSSIBLY RELATED,RECOVERED/RESOLVED,DOSE NOT CHANGED,0,",
    "S-2,1,CRS,Cytokine release syndrome,Immune,2024-02-01T10,,3,ASTCT,2019,Y,PROBABLY RELATED,RECOVERING/RESOLVING,NOT APPLICABLE,Y,CRS",
]
BAD_ROW = "S-3,1,x,X,X,not-a-date,,1,CTCAE,5.0,N,NOT RELATED,UNKNOWN,UNKNOWN,N,"


def _parsed(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    raw = read_raw(SourceFile(path, "adverse_events", "csv")).data
    raw["_source_file"] = path.name
    typed, findings = parse_table(raw, get_domain("adverse_events"))
    return raw, typed, findings


def test_clean_file_is_parsed_by_arrow_and_matches_the_text_parser(
    tmp_path: Path,
) -> None:
    clean = tmp_path / "clean.csv"
    clean.write_text("\n".join([HEADER, *ROWS]) + "\n")
    dirty = tmp_path / "dirty.csv"
    dirty.write_text("\n".join([HEADER, *ROWS, BAD_ROW]) + "\n")

    raw_clean, typed_clean, findings_clean = _parsed(clean)
    raw_dirty, typed_dirty, findings_dirty = _parsed(dirty)

    # the clean file took the typed path, the dirty one the text path
    assert str(raw_clean["grade"].dtype) == "Int64"
    assert str(raw_dirty["grade"].dtype) == "string"
    assert findings_clean.empty
    assert findings_dirty[["row", "column", "rule"]].values.tolist() == [
        [5, "onset_date", "RD-008"]
    ]

    columns = [c for c in get_domain("adverse_events").columns if c in typed_clean]
    pd.testing.assert_frame_equal(
        typed_clean[columns].reset_index(drop=True),
        typed_dirty[columns].iloc[:3].reset_index(drop=True),
        check_dtype=True,
    )
    assert typed_clean["onset_date"].tolist() == [
        pd.Timestamp("2024-01-05"),
        pd.Timestamp("2024-01-07"),
        pd.Timestamp("2024-02-01 10:00"),
    ]
    assert typed_clean["serious"].tolist() == [False, True, True]


def test_nan_in_a_number_column_is_left_to_the_text_parser(tmp_path: Path) -> None:
    path = tmp_path / "labs.csv"
    path.write_text(
        "subject_id,lab_date,test_code,value,unit,lower_limit,upper_limit\nS-1,2024-01-05,ALT,nan,U/L,7,45\n"
    )
    raw = read_raw(SourceFile(path, "labs", "csv")).data
    raw["_source_file"] = path.name
    _, findings = parse_table(raw, get_domain("labs"))
    assert findings[["column", "rule", "value"]].values.tolist() == [
        ["value", "RD-008", "nan"]
    ]


def test_unpadded_dates_take_the_text_path_and_read_the_same(tmp_path: Path) -> None:
    padded = tmp_path / "padded.csv"
    padded.write_text("\n".join([HEADER, *ROWS]) + "\n")
    unpadded = tmp_path / "unpadded.csv"
    unpadded.write_text(
        "\n".join([HEADER, ROWS[0], ROWS[1].replace("2024-01-07", "2024-1-7"), ROWS[2]])
        + "\n"
    )
    raw_padded, typed_padded, _ = _parsed(padded)
    raw_unpadded, typed_unpadded, findings = _parsed(unpadded)
    assert str(raw_padded["onset_date"].dtype) == "datetime64[ns]"
    assert str(raw_unpadded["onset_date"].dtype) == "string"
    assert findings.empty
    assert typed_unpadded["onset_date"].tolist() == typed_padded["onset_date"].tolist()


@pytest.mark.parametrize(
    "date", ["2024-02-30", "2023-02-29", "2024-04-31", "2024-4-31"]
)
def test_impossible_dates_are_findings_not_rolled_over(
    tmp_path: Path, date: str
) -> None:
    # strptime would read 2024-02-30 as 2024-03-01
    path = tmp_path / "dates.csv"
    path.write_text(
        "\n".join([HEADER, ROWS[0].replace("2024-01-05", date), ROWS[2]]) + "\n"
    )
    _, typed, findings = _parsed(path)
    assert findings[["row", "column", "rule", "value"]].values.tolist() == [
        [2, "onset_date", "RD-008", date]
    ]
    assert pd.isna(typed["onset_date"].iloc[0])
