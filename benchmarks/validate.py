"""Benchmark: full validation of a large upload against reading its CSVs with pyarrow.

Builds a tolDC-ms demo trial with ``trialdata.demo`` and enlarges its laboratory and
immunomonitoring tables to 1,000,000 rows in total (many subjects, dense sampling),
then times (a) reading every CSV with ``pyarrow.csv.read_csv`` alone and (b) the full
``trialdata.validation.validate_folder``. Target: (b) ≤ 3 × (a).

Run: ``python benchmarks/validate.py [--rows 1000000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv

from trialdata.validation import validate_folder

LAB_TESTS = {
    # code: (unit, lower, upper, mean, sd)
    "NEUT": ("10^9/L", 1.8, 7.5, 4.0, 1.2),
    "LYM": ("10^9/L", 1.0, 4.0, 2.0, 0.6),
    "PLAT": ("10^9/L", 150.0, 400.0, 250.0, 50.0),
    "WBC": ("10^9/L", 4.0, 10.0, 6.5, 1.5),
    "HGB": ("g/L", 120.0, 160.0, 138.0, 12.0),
    "ALT": ("U/L", 7.0, 45.0, 25.0, 8.0),
    "AST": ("U/L", 8.0, 40.0, 24.0, 7.0),
    "ALP": ("U/L", 40.0, 130.0, 80.0, 20.0),
    "BILI": ("umol/L", 3.0, 21.0, 10.0, 4.0),
    "CREAT": ("umol/L", 50.0, 100.0, 75.0, 12.0),
}
ANALYTES = [
    ("FLOW CYTOMETRY", "Treg CD4+CD25+CD127-", "CD4+ T cells", "%", 0.1),
    ("FLOW CYTOMETRY", "CD4+ T cells", "lymphocytes", "cells/uL", 1.0),
    ("FLOW CYTOMETRY", "CD56dim CD16+ NK", "NK cells", "%", 0.1),
    ("ELISPOT", "IFN-gamma MOG peptide", "PBMC", "SFU/10^6 PBMC", 5.0),
]


def build_upload(folder: Path, rows: int, seed: int) -> None:
    """Write a demo trial whose labs + immunomonitoring hold ``rows`` rows."""
    from trialdata.demo import write_trial

    write_trial(folder, archetype="tolDC-ms", n_subjects=18, seed=seed)
    rng = np.random.default_rng(seed)
    subjects = pd.read_csv(folder / "subjects.csv", dtype=str)
    administrations = pd.read_csv(folder / "administrations.csv", dtype=str)
    first = (
        administrations.loc[administrations["given"].isin(["Y", "true", "True", "1"])]
        .groupby("subject_id")["admin_date"]
        .min()
    )
    ids = subjects["subject_id"].to_numpy()
    start = (
        pd.to_datetime(first.reindex(ids)).fillna(pd.Timestamp("2024-01-01")).to_numpy()
    )
    n_labs = rows // 2
    n_immuno = rows - n_labs
    # Labs: one row per (subject, day, test), so the key (subject, test, date) is unique.

    tests = np.array(list(LAB_TESTS))
    per_subject = -(-n_labs // (len(ids) * len(tests)))
    subject_index = np.repeat(np.arange(len(ids)), per_subject * len(tests))[:n_labs]
    day = np.tile(np.repeat(np.arange(per_subject), len(tests)), len(ids))[:n_labs]
    test = np.tile(tests, len(ids) * per_subject)[:n_labs]
    spec = pd.DataFrame(LAB_TESTS, index=["unit", "lower", "upper", "mean", "sd"]).T
    chosen = spec.loc[test]
    labs = pd.DataFrame(
        {
            "subject_id": ids[subject_index],
            "lab_date": (start[subject_index] + day.astype("timedelta64[D]"))
            .astype("datetime64[D]")
            .astype(str),
            "test_code": test,
            "value": np.round(
                np.abs(
                    rng.normal(
                        chosen["mean"].to_numpy(float), chosen["sd"].to_numpy(float)
                    )
                ),
                2,
            ),
            "unit": chosen["unit"].to_numpy(),
            "lower_limit": chosen["lower"].to_numpy(),
            "upper_limit": chosen["upper"].to_numpy(),
        }
    )
    labs.to_csv(folder / "labs.csv", index=False)
    per_subject = -(-n_immuno // (len(ids) * len(ANALYTES)))
    subject_index = np.repeat(np.arange(len(ids)), per_subject * len(ANALYTES))[
        :n_immuno
    ]
    day = np.tile(np.repeat(np.arange(per_subject), len(ANALYTES)), len(ids))[:n_immuno]
    which = np.tile(np.arange(len(ANALYTES)), len(ids) * per_subject)[:n_immuno]
    table = pd.DataFrame(
        ANALYTES, columns=["assay", "analyte", "parent", "unit", "lloq"]
    )
    immuno = pd.DataFrame(
        {
            "subject_id": ids[subject_index],
            "collection_date": (start[subject_index] + day.astype("timedelta64[D]"))
            .astype("datetime64[D]")
            .astype(str),
            "assay": table["assay"].to_numpy()[which],
            "analyte": table["analyte"].to_numpy()[which],
            "parent_population": table["parent"].to_numpy()[which],
            "value": np.round(rng.lognormal(1.5, 0.6, n_immuno), 3),
            "unit": table["unit"].to_numpy()[which],
            "lloq": table["lloq"].to_numpy()[which],
            "uloq": 1e6,
            "batch": "B" + (day // 30).astype(str),
        }
    )
    immuno.to_csv(folder / "immunomonitoring.csv", index=False)


def time_it(function, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Median wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Build the upload, time both steps and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build_upload(folder, args.rows, args.seed)
        csvs = sorted(folder.glob("*.csv"))
        total_rows = sum(
            len(pd.read_csv(folder / f"{n}.csv", usecols=[0]))
            for n in ("labs", "immunomonitoring")
        )

        def read_with_pyarrow() -> None:
            for path in csvs:
                pacsv.read_csv(path)

        report = validate_folder(folder)
        read_seconds = time_it(read_with_pyarrow, args.repeat)
        validate_seconds = time_it(lambda: validate_folder(folder), args.repeat)
    print(f"lab + immunomonitoring rows: {total_rows:,}")
    print(f"findings in the benchmark upload: {len(report.findings)}")
    print(
        f"(a) pyarrow.csv.read_csv of all {len(csvs)} CSV files: {read_seconds:.3f} s"
    )
    print(
        "(b) trialdata validate_folder (read, parse, schemas, rules): "
        f"{validate_seconds:.3f} s"
    )
    print(f"ratio (b)/(a): {validate_seconds / read_seconds:.2f} (target <= 3)")


if __name__ == "__main__":
    main()
