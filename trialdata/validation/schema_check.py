"""Run a domain's pandera model on a typed table and turn its failures into findings.

pandera reports failures as ``failure_cases`` (column, check, failure case, index);
each becomes one finding with a rule id by kind of check: SC-NULL (required value
missing), SC-TERM (not in the controlled terminology), SC-RANGE (out of range),
SC-FORMAT (identifier format) and SC-CHECK (any other check). A column whose type is
not the schema's (a table edited by hand and checked again) is SC-TYPE, once for the
column. Duplicated keys are reported here too, as SC-KEY on every row that shares the
key.
"""

from __future__ import annotations

import functools
import warnings

import pandas as pd
import pandera.pandas as pa
import polars as pl
from pandera.engines import pandas_engine
from pandera.errors import SchemaErrors

from schemas.checks import describe_pattern
from schemas.domains import DomainSpec, get_domain
from trialdata.findings import (
    FINDING_COLUMNS,
    Severity,
    empty_findings,
    findings_frame,
)
from trialdata.validation.rule import ABSENT_COLUMNS, SOURCE_FILE, SOURCE_ROW

__all__ = ["check_keys", "check_schema"]

# pandas warns of a coming change in how all-NA columns are concatenated when
# pandera gathers failure cases (a required value missing next to another failure);
# the failure cases it builds are what they have always been, so users are spared
# the notice (set once: changing filters per call is not thread-safe).
warnings.filterwarnings(
    "ignore",
    message="The behavior of DataFrame concatenation with empty or all-NA",
    category=FutureWarning,
    module=r"pandera\.",
)


_RANGE_CHECKS = frozenset(
    {
        "greater_than",
        "greater_than_or_equal_to",
        "less_than",
        "less_than_or_equal_to",
        "in_range",
    }
)
_SKIPPED_CHECKS = frozenset({"column_in_dataframe"})


def check_schema(typed: pd.DataFrame, spec: DomainSpec) -> pd.DataFrame:
    """Validate a typed table against its domain model.

    pandera runs the model's value checks (``DomainSpec.value_schema``: the model
    without its types, checked once per column here, and its key, checked by
    :func:`check_keys`) lazily, so that every failing value is reported.

    Parameters
    ----------
    typed : pandas.DataFrame
        Table from :func:`trialdata.validation.parsing.parse_table`; columns missing
        from it are reported elsewhere (RD-002) and skipped here.
    spec : schemas.domains.DomainSpec
        The table's domain.

    Returns
    -------
    pandas.DataFrame
        One finding per failing value, and one per column whose type is not the
        model's (SC-TYPE).
    """
    schema = spec.value_schema
    wrong_types = _wrong_types(typed, spec)
    try:
        schema.validate(typed, lazy=True, inplace=True)
    except SchemaErrors as errors:
        values = _to_findings(errors.failure_cases, typed, spec, schema)
        return findings_frame([wrong_types, values])
    return wrong_types


def _rule_and_message(
    schema: pa.DataFrameSchema, column: str, check: str, number: float
) -> tuple[str, str]:
    if check == "not_nullable":
        return "SC-NULL", "required value is missing"
    name = check.split("(", 1)[0]
    stats: dict[str, object] = {}
    if column in schema.columns and pd.notna(number):
        checks = schema.columns[column].checks
        if int(number) < len(checks):
            stats = dict(checks[int(number)].statistics or {})
    if name == "isin":
        values = stats.get("allowed_values", [])
        allowed = ", ".join(str(v) for v in values) if isinstance(values, list) else ""
        return "SC-TERM", f"not an allowed term; allowed: {allowed}"
    if name in ("str_matches", "matches_pattern"):
        return "SC-FORMAT", "wrong format: expected " + describe_pattern(
            str(stats.get("pattern"))
        )
    if name in _RANGE_CHECKS:
        bounds = {
            "greater_than": f"must be > {stats.get('min_value')}",
            "greater_than_or_equal_to": f"must be >= {stats.get('min_value')}",
            "less_than": f"must be < {stats.get('max_value')}",
            "less_than_or_equal_to": f"must be <= {stats.get('max_value')}",
            "in_range": f"must be between {stats.get('min_value')} and "
            f"{stats.get('max_value')}",
        }
        return "SC-RANGE", f"out of range: {bounds[name]}"
    return "SC-CHECK", f"fails check {check}"


def _to_findings(
    cases: pd.DataFrame,
    typed: pd.DataFrame,
    spec: DomainSpec,
    schema: pa.DataFrameSchema,
) -> pd.DataFrame:
    absent = typed.attrs.get(ABSENT_COLUMNS, ())
    cases = cases[
        cases["index"].notna()
        & cases["column"].isin(spec.columns)
        & ~cases["column"].isin(absent)
        & ~cases["check"].astype(str).isin(_SKIPPED_CHECKS)
    ]
    if cases.empty:
        return empty_findings()
    index = cases["index"].astype(typed.index.dtype)
    rows = typed.loc[index]
    rules_messages = [
        _rule_and_message(schema, col, str(chk), num)
        for col, chk, num in cases[["column", "check", "check_number"]]
        .drop_duplicates()
        .itertuples(index=False)
    ]
    lookup = dict(
        zip(
            cases[["column", "check", "check_number"]]
            .drop_duplicates()
            .itertuples(index=False, name=None),
            rules_messages,
            strict=True,
        )
    )
    keys = list(
        cases[["column", "check", "check_number"]].itertuples(index=False, name=None)
    )
    findings = pd.DataFrame(
        {
            "domain": spec.name,
            "file": rows[SOURCE_FILE].to_numpy(),
            "row": rows[SOURCE_ROW].to_numpy(),
            "subject_id": rows["subject_id"].to_numpy()
            if "subject_id" in rows
            else None,
            "column": cases["column"].to_numpy(),
            "rule": [lookup[k][0] for k in keys],
            "severity": str(Severity.ERROR),
            "message": [lookup[k][1] for k in keys],
            "value": [None if pd.isna(v) else str(v) for v in cases["failure_case"]],
        }
    )
    return findings[list(FINDING_COLUMNS)]


@functools.lru_cache(maxsize=1024)
def _type_matches(domain: str, column: str, actual: object) -> bool:
    """Whether a column of this dtype has the type the domain model declares."""
    expected = get_domain(domain).schema.columns[column].dtype
    return bool(expected.check(pandas_engine.Engine.dtype(actual)))


def _wrong_types(typed: pd.DataFrame, spec: DomainSpec) -> pd.DataFrame:
    """One SC-TYPE finding per column whose type is not the model's."""
    rows = []
    dtypes = typed.dtypes
    for name, column in spec.schema.columns.items():
        if name not in dtypes or column.dtype is None:
            continue
        actual = dtypes[name]
        if not _type_matches(spec.name, name, actual):
            rows.append((name, f"column has type {actual}, expected {column.dtype}"))
    if not rows:
        return empty_findings()
    names, messages = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "domain": spec.name,
            "file": None,
            "row": None,
            "subject_id": None,
            "column": list(names),
            "rule": "SC-TYPE",
            "severity": str(Severity.ERROR),
            "message": list(messages),
            "value": None,
        }
    )[list(FINDING_COLUMNS)]


def check_keys(frame: pl.DataFrame, spec: DomainSpec) -> pd.DataFrame:
    """Report every row whose key is shared with another row (SC-KEY).

    Rows with a missing key value are not compared (the missing value is reported by
    the schema check).

    Parameters
    ----------
    frame : polars.DataFrame
        A typed domain table (see :func:`trialdata.validation.rule.to_polars`).
    spec : schemas.domains.DomainSpec
        The table's domain; ``spec.key`` names the key columns.

    Returns
    -------
    pandas.DataFrame
        One finding per row in a duplicated-key group, naming the group's first row.
    """
    key = list(spec.key)
    if not set(key) <= set(frame.columns) or frame.is_empty():
        return empty_findings()
    # Row hashes are cheap; only rows whose hash repeats are compared exactly, so a
    # hash two keys happen to share costs a comparison, never a finding.
    repeated = frame.select(key).hash_rows().is_duplicated()
    if not repeated.any():
        return empty_findings()
    complete = pl.all_horizontal([pl.col(column).is_not_null() for column in key])
    shared = (
        frame.filter(repeated)
        .lazy()
        .filter(complete)
        .filter(pl.struct(key).is_duplicated())
    )
    hits = shared.select(
        pl.lit(spec.name).alias("domain"),
        pl.col(SOURCE_FILE).cast(pl.String).alias("file"),
        pl.col(SOURCE_ROW).alias("row"),
        (pl.col("subject_id") if "subject_id" in frame.columns else pl.lit(None))
        .cast(pl.String)
        .alias("subject_id"),
        pl.lit("+".join(key)).alias("column"),
        pl.lit("SC-KEY").alias("rule"),
        pl.lit(str(Severity.ERROR)).alias("severity"),
        pl.format(
            "duplicated key ({}); first seen at row {}",
            pl.lit(", ".join(key)),
            pl.col(SOURCE_ROW).min().over(key),
        ).alias("message"),
        pl.concat_str(
            [_key_text(frame, column) for column in key], separator=" | "
        ).alias("value"),
    ).collect()
    if hits.is_empty():
        return empty_findings()
    return hits.to_pandas(use_pyarrow_extension_array=False)[list(FINDING_COLUMNS)]


def _key_text(frame: pl.DataFrame, column: str) -> pl.Expr:
    """Return a key column as the text of an SC-KEY value (dates as YYYY-MM-DD)."""
    if frame.schema[column].is_temporal():
        return pl.col(column).dt.strftime("%Y-%m-%d")
    return pl.col(column).cast(pl.String)
