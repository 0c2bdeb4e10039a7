"""Benchmark: audited ingest against a plain bulk insert of the same rows.

Builds a validated upload of N laboratory results (default 1,000,000) for 500
subjects of one site, then on each backend

- *bulk*: converts the typed rows to driver values and inserts them into a plain
  table with the labs columns in one transaction (``executemany`` on SQLite, ``COPY``
  on PostgreSQL) — the fastest plain way to load them;
- *audited*: ``ingest_report`` into an empty store: site scope check, comparison with
  the stored records, record versions, one audit entry per record (JSON of its
  values) hash-chained, findings, submission, in one transaction.

Both use the same bulk writer, so the difference is the audit. Validation is not
timed (it is the same for any way of storing the data).

Usage::

    python benchmarks/ingest.py [--rows N] [--pg URL]

``--pg`` defaults to ``TRIALDATA_TEST_PG_URL``; without it only SQLite runs.
"""

from __future__ import annotations

import argparse
import os
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
    result = ingest_report(engine, report, site="NIJ", user="bench")
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


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default=os.environ.get("TRIALDATA_TEST_PG_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        report = build_report(root / "upload", args.rows)
        n = sum(len(t) for t in report.tables.values())
        print(f"rows per ingest: {n:,} ({args.rows:,} labs + subjects)")
        backends = [("sqlite", None)]
        if args.pg:
            backends.append(("postgresql", args.pg))
        for name, base in backends:
            if base is None:
                plain = bulk(
                    f"sqlite:///{root / 'plain.sqlite'}", report.tables["labs"]
                )
                audit = audited(f"sqlite:///{root / 'store.sqlite'}", report)
            else:
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
            labs = len(report.tables["labs"])
            print(
                f"{name:10s} bulk insert {labs / plain:>10,.0f} rows/s ({plain:6.1f} s)"
                f" | audited ingest {n / audit:>10,.0f} rows/s ({audit:6.1f} s)"
                f" | ratio {(n / audit) / (labs / plain):.2f}"
            )


if __name__ == "__main__":
    main()
