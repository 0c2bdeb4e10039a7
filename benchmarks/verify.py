"""Benchmark: ``audit verify`` on a store holding N record versions.

Builds the benchmark upload of ``benchmarks/ingest.py`` (N laboratory results of 500
subjects), ingests it into a fresh SQLite store (or a PostgreSQL schema with
``--pg``), then times verification: the hash chain alone
(:func:`trialdata.store.audit.verify_audit`) and, when this version has it, the whole
check of ``trialdata audit verify`` (chain, replay of every table, triggers:
:func:`trialdata.store.verify.verify_store`).

Usage::

    python benchmarks/verify.py [--rows N] [--pg URL] [--repeat 1]
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import resource
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import build_report, drop_schema, pg_schema

from trialdata.store.audit import verify_audit
from trialdata.store.engine import open_store_engine
from trialdata.store.ingest import ingest_report


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the hash worker)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(label: str, run: object) -> float:
    start, cpu = time.perf_counter(), _cpu()
    result = run()  # type: ignore[operator]
    seconds, used = time.perf_counter() - start, _cpu() - cpu
    problems = getattr(result, "problems", ())
    print(
        f"  {label:<28} {seconds:7.2f} s wall, {used:7.2f} s CPU "
        f"({len(problems)} problem(s))",
        flush=True,
    )
    if problems:
        for problem in problems[:5]:
            print(f"    {problem}")
    return seconds


def _who(engine: sa.Engine) -> dict[str, str]:
    """``user=`` for versions of ``ingest_report`` that take who acts.

    On PostgreSQL who acts is the database login.
    """
    if "user" not in inspect.signature(ingest_report).parameters:
        return {}
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return {"user": str(conn.execute(sa.text("SELECT session_user")).scalar())}
    return {"user": "bench"}


def measure(url: str, rows: int, root: Path, repeat: int) -> None:
    """Fill a store with ``rows`` labs and time its verification."""
    report = build_report(root / "upload", rows)
    engine = open_store_engine(url)
    start = time.perf_counter()
    ingest_report(engine, report, site="NIJ", **_who(engine))
    print(f"ingest: {time.perf_counter() - start:.1f} s", flush=True)
    with engine.connect() as conn:
        entries = conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar()
    print(f"store: {rows:,} labs, {entries:,} audit entries ({engine.dialect.name})")
    try:
        full = importlib.import_module("trialdata.store.verify").verify_store
    except (ImportError, AttributeError):
        full = None
    for _ in range(repeat):
        with engine.connect() as conn:
            _timed("chain (verify_audit)", lambda: verify_audit(conn))
        if full is not None:
            with engine.connect() as conn:
                _timed("audit verify (verify_store)", lambda: full(conn))
    engine.dispose()


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default=None, help="PostgreSQL URL (else SQLite)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.pg:
            schema, url = pg_schema(args.pg)
            try:
                measure(url, args.rows, root, args.repeat)
            finally:
                drop_schema(args.pg, schema)
        else:
            measure(f"sqlite:///{root / 'store.sqlite'}", args.rows, root, args.repeat)


if __name__ == "__main__":
    main()
