"""Write the extract of pharmaverseadam ADLB used by test_lab_grading_admiral.py.

Reading the full ``adlb.rda`` (83,652 x 115) takes ~30 s, too slow for the test suite,
so the test reads this extract: the records that carry an admiral CTCAE grade, with the
columns grading needs. Run from the repository root:

    python tests/analyses/safety/data/make_adlb_extract.py

Source: ../shared/data/cdiscpilot01/pharmaverseadam/adlb.rda
(pharmaverse/pharmaverseadam
@ 2c7db61b, Apache-2.0; see that folder's SOURCE.md).
"""

from pathlib import Path

import pyreadr

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[3] / ".." / "shared" / "data" / "cdiscpilot01" / "pharmaverseadam"
COLUMNS = [
    "PARAMCD",
    "AVAL",
    "LBSTRESU",
    "ANRLO",
    "ANRHI",
    "BASE",
    "ABLFL",
    "ATOXGRL",
    "ATOXGRH",
]

if __name__ == "__main__":
    lb = pyreadr.read_r(str(SOURCE.resolve() / "adlb.rda"))["adlb"]
    lb = lb.loc[lb["ATOXGRL"].notna() | lb["ATOXGRH"].notna(), COLUMNS]
    lb.reset_index(drop=True).to_parquet(
        HERE / "pharmaverseadam_adlb_toxgr.parquet", index=False
    )
    print(len(lb), "records written")
