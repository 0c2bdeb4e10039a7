"""Values read typed stay typed: a typed file gives the tables its CSV gives.

A Parquet or workbook file holding a domain's typed table is validated to the same
typed table as the CSV file it was made from (no value written as text and parsed
back on the way), and a domain sent as two files of different types is read file by
file and stacked.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from schemas.domains import get_domain
from trialdata.validation import validate_folder

#: Domains of the clean upload with numbers, booleans and dates.
TYPED_DOMAINS = ("subjects", "product_lots", "administrations", "adverse_events")


def _domain_columns(table: pd.DataFrame, domain: str) -> pd.DataFrame:
    columns = [c for c in get_domain(domain).columns if c in table.columns]
    return table[[*columns, "_source_row"]].reset_index(drop=True)


def _write_typed(table: pd.DataFrame, columns: list[str], path: Path) -> None:
    """Write the columns of a typed domain table (as validated) as a typed file."""
    data = table[columns].reset_index(drop=True)
    if path.suffix == ".parquet":
        data.to_parquet(path)
    else:  # a workbook: number, boolean and date cells
        data.to_excel(path, index=False)


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
@pytest.mark.parametrize("domain", TYPED_DOMAINS)
def test_a_typed_file_gives_the_table_of_its_csv(
    clean_upload: Path, tmp_path: Path, domain: str, suffix: str
) -> None:
    from_csv = validate_folder(clean_upload)
    folder = Path(shutil.copytree(clean_upload, tmp_path / "typed"))
    csv = folder / f"{domain}.csv"
    header = csv.read_text().splitlines()[0].split(",")
    csv.unlink()
    _write_typed(from_csv.tables[domain], header, folder / f"{domain}{suffix}")

    typed = validate_folder(folder)

    assert typed.findings.empty, typed.findings
    expected = _domain_columns(from_csv.tables[domain], domain)
    pd.testing.assert_frame_equal(
        _domain_columns(typed.tables[domain], domain), expected
    )


def test_a_domain_sent_as_two_files_of_different_types_is_stacked(
    clean_upload: Path,
) -> None:
    folder = clean_upload
    from_csv = validate_folder(folder).tables["administrations"]
    second = _domain_columns(from_csv, "administrations").drop(columns="_source_row")
    second["admin_seq"] = second["admin_seq"].astype("float64") + 1
    second.loc[1, "admin_seq"] = 2.5  # a fraction in a whole-number column
    second.to_parquet(folder / "administrations.parquet")

    report = validate_folder(folder)

    table = report.tables["administrations"]
    assert len(table) == 6
    assert str(table["admin_seq"].dtype) == "Int64"
    assert str(table["admin_date"].dtype) == "datetime64[ns]"
    assert str(table["given"].dtype) == "boolean"
    assert table["admin_seq"].tolist() == [1, 1, 1, 2, pd.NA, 2]
    assert table["admin_date"].tolist()[3:] == table["admin_date"].tolist()[:3]
    found = report.findings
    assert sorted(found.loc[found["rule"] == "RD-010", "file"]) == [
        "administrations.csv",
        "administrations.parquet",
    ]
    unread = found.loc[found["rule"] == "RD-008"]
    assert unread[["file", "row", "column", "value"]].values.tolist() == [
        ["administrations.parquet", 3, "admin_seq", "2.5"]
    ]
    assert unread["message"].iloc[0] == "cannot read '2.5' as a whole number"
