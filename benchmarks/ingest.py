"""Benchmark: audited ingest against a plain bulk insert of the same rows.

Builds a validated upload of N laboratory results (default 1,000,000) for 500
subjects of one site, then on each backend

- *bulk*: converts the typed rows to driver values and inserts them into a plain
  table with the labs columns in one transaction (``executemany`` on SQLite, ``COPY``
  on PostgreSQL) — the fastest plain way to load them;
- *audited*: ``ingest_report`` into an empty store: site scope check, comparison with
  the stored records, record versions, one audit entry per record (JSON of its
  values) hash-chained, findings, submission, in one transaction.

Both run with the same engine settings (``create_store_engine``: the same SQLite
pragmas, the same PostgreSQL server and connection options).

Both use the same bulk writer, so the difference is the audit. Validation is not
timed (it is the same for any way of storing the data).

Usage::

    python benchmarks/ingest.py [--rows N] [--pg URL] [--repeat 3] [--backend both]

``--pg`` defaults to ``TRIALDATA_TEST_PG_URL``; without it only SQLite runs. Each
backend runs ``--repeat`` times (fresh databases each time); every run is printed,
then the median per backend and whether the target ratio of 1/3 is met. The ratio
is audited rows/s over bulk rows/s of the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from schemas.domains import get_domain
from schemas.protocol import load_protocol
from trialdata.findings import empty_findings
from trialdata.store.bulk import bulk_insert
from trialdata.store.codec import TEXT_DTYPE, db_columns
from trialdata.store.engine import create_store_engine, open_store_engine
from trialdata.store.identity import acting_user
from trialdata.store.ingest import ingest_report
from trialdata.store.tables import _KIND_TYPES
from trialdata.validation import ValidationReport

PROTOCOL = """
routes = ["INTRAVENOUS"]
dlt_window_days = 28
required_domains = ["subjects", "labs"]
[trial]
id = "BENCH-01"
title = "Ingest benchmark"
protocol_version = "1.0"
[design]
method = "3+3"
target_dlt_rate = 0.3
cohort_size = 3
max_subjects = 600
[[dose_levels]]
level = 1
amount = 1
unit = "10^6 cells/kg"
[[sites]]
id = "NIJ"
name = "Nijmegen"
"""

TESTS = ("NEUT", "PLAT", "ALT", "AST", "BILI", "CREAT", "HGB", "WBC", "LYMPH", "CRP")


def build_report(folder: Path, n_rows: int, n_subjects: int = 500) -> ValidationReport:
    """A validated upload: subjects plus ``n_rows`` labs, typed as validation types."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "protocol.toml").write_text(PROTOCOL, encoding="utf-8")
    rng = np.random.default_rng(1)
    ids = np.array([f"S{i:04d}" for i in range(n_subjects)], dtype=object)
    subjects = pd.DataFrame(
        {
            "subject_id": pd.array(ids, dtype=TEXT_DTYPE),
            "site_id": pd.array(["NIJ"] * n_subjects, dtype=TEXT_DTYPE),
            "cohort_id": pd.array(["C1"] * n_subjects, dtype=TEXT_DTYPE),
            "sex": pd.array(rng.choice(["F", "M"], n_subjects), dtype=TEXT_DTYPE),
            "consent_date": pd.Timestamp("2024-01-02"),
        }
    )
    i = np.arange(n_rows)
    per_subject = -(-n_rows // n_subjects)
    k = i % per_subject
    labs = pd.DataFrame(
        {
            "subject_id": pd.array(ids[i // per_subject], dtype=TEXT_DTYPE),
            "visit": pd.array(np.full(n_rows, "D14", dtype=object), dtype=TEXT_DTYPE),
            "lab_date": pd.Timestamp("2024-02-01")
            + pd.to_timedelta(k // len(TESTS), unit="D"),
            "test_code": pd.array(
                np.array(TESTS, dtype=object)[k % len(TESTS)], dtype=TEXT_DTYPE
            ),
            "value": np.round(rng.lognormal(1.0, 0.6, n_rows), 3),
            "unit": pd.array(np.full(n_rows, "10^9/L", dtype=object), dtype=TEXT_DTYPE),
            "lower_limit": 1.5,
            "upper_limit": 8.0,
        }
    )
    tables = {}
    for name, data in (("subjects", subjects), ("labs", labs)):
        spec = get_domain(name)
        for column in spec.columns:
            if column not in data:
                kind = spec.column_kinds[column]
                dtype = {
                    "string": TEXT_DTYPE,
                    "integer": "Int64",
                    "float": "float64",
                    "boolean": "boolean",
                    "datetime": "datetime64[ns]",
                }[kind]
                data[column] = pd.Series(index=data.index, dtype=dtype)
        data["_source_file"] = f"{name}.csv"
        data["_source_row"] = np.arange(2, len(data) + 2)
        tables[name] = data
    return ValidationReport(
        folder, load_protocol(folder / "protocol.toml"), tables, empty_findings(), []
    )


def bulk(url: str, labs: pd.DataFrame) -> float:
    """Seconds for the plain bulk insert."""
    spec = get_domain("labs")
    engine = create_store_engine(url)
    table = sa.Table(
        "plain_labs",
        sa.MetaData(),
        *(sa.Column(c, _KIND_TYPES[spec.column_kinds[c]]) for c in spec.columns),
    )
    table.create(engine)
    start = time.perf_counter()
    with engine.connect().execution_options(trialdata_write=True) as conn, conn.begin():
        bulk_insert(conn, "plain_labs", spec.columns, db_columns(labs, spec))
    seconds = time.perf_counter() - start
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM plain_labs")).scalar() == len(
            labs
        )
    engine.dispose()
    return seconds


def audited(url: str, report: ValidationReport) -> float:
    """Seconds for the audited ingest into an empty store."""
    engine = open_store_engine(url)
    start = time.perf_counter()
    result = ingest_report(engine, report, site="NIJ", user=acting_user(engine))
    seconds = time.perf_counter() - start
    assert result.n_created == sum(len(t) for t in report.tables.values())
    engine.dispose()
    return seconds


def pg_schema(base: str) -> tuple[str, str]:
    """A fresh schema and the URL that uses it."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


def drop_schema(base: str, schema: str) -> None:
    """Drop a benchmark schema."""
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    engine.dispose()


#: Audited ingest must reach this fraction of the bulk-insert speed.
TARGET = 1 / 3


def run_backend(
    name: str, base: str | None, root: Path, report: ValidationReport, run: int
) -> tuple[float, float]:
    """One bulk insert and one audited ingest on fresh databases: their seconds."""
    if base is None:
        plain = bulk(f"sqlite:///{root / f'plain{run}.sqlite'}", report.tables["labs"])
        audit = audited(f"sqlite:///{root / f'store{run}.sqlite'}", report)
        return plain, audit
    schema, url = pg_schema(base)
    try:
        plain = bulk(url, report.tables["labs"])
    finally:
        drop_schema(base, schema)
    schema, url = pg_schema(base)
    try:
        audit = audited(url, report)
    finally:
        drop_schema(base, schema)
    return plain, audit


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("TRIALDATA_TEST_PG_URL"))
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per backend (median reported)"
    )
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql", "both"),
        default="both",
        help="backends to run (PostgreSQL needs --pg)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        report = build_report(root / "upload", args.rows)
        n = sum(len(t) for t in report.tables.values())
        labs = len(report.tables["labs"])
        print(f"rows per ingest: {n:,} ({labs:,} labs + subjects)")
        backends: list[tuple[str, str | None]] = []
        if args.backend in ("sqlite", "both"):
            backends.append(("sqlite", None))
        if args.backend in ("postgresql", "both"):
            if args.pg:
                backends.append(("postgresql", args.pg))
            else:
                print("postgresql: skipped (no --pg URL, TRIALDATA_TEST_PG_URL unset)")
        summary = []
        for name, base in backends:
            ratios, plains, audits = [], [], []
            for run in range(args.repeat):
                plain, audit = run_backend(name, base, root, report, run)
                bulk_rate, audit_rate = labs / plain, n / audit
                ratios.append(audit_rate / bulk_rate)
                plains.append(bulk_rate)
                audits.append(audit_rate)
                print(
                    f"{name:10s} run {run + 1}: bulk insert {bulk_rate:>9,.0f} rows/s "
                    f"({plain:5.1f} s) | audited ingest {audit_rate:>9,.0f} rows/s "
                    f"({audit:5.1f} s) | ratio {ratios[-1]:.2f}",
                    flush=True,
                )
            summary.append(
                (
                    name,
                    statistics.median(plains),
                    statistics.median(audits),
                    statistics.median(ratios),
                )
            )
        print(f"\nmedian of {args.repeat} run(s), {n:,} rows, target ratio >= 1/3:")
        for name, bulk_rate, audit_rate, ratio in summary:
            verdict = "met" if ratio >= TARGET else "NOT met"
            print(
                f"{name:10s} bulk insert {bulk_rate:>9,.0f} rows/s | audited ingest "
                f"{audit_rate:>9,.0f} rows/s | ratio {ratio:.2f} | target {verdict}"
            )


if __name__ == "__main__":
    main()
