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

import numpy as np
import pandas as pd
import pandera.backends.pandas.builtin_checks  # noqa: F401 - the checks' functions
import pandera.pandas as pa
import polars as pl
import pyarrow
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
from trialdata.validation.context import (
    SOURCE_FILE,
    SOURCE_ROW,
    factorize,
    has_missing,
)

__all__ = ["ABSENT_COLUMNS", "check_keys", "check_schema"]

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

#: ``DataFrame.attrs`` key listing schema columns absent from the source file.
ABSENT_COLUMNS = "absent_columns"

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
    schema = spec.value_schema  # without types (checked here) and keys (check_keys)
    wrong_types = _wrong_types(typed, spec)
    if _certainly_passes(typed, schema):
        return wrong_types
    try:
        schema.validate(typed, lazy=True, inplace=True)
    except SchemaErrors as errors:
        values = _to_findings(errors.failure_cases, typed, spec, schema)
        return findings_frame([wrong_types, values])
    return wrong_types


def _certainly_passes(typed: pd.DataFrame, schema: pa.DataFrameSchema) -> bool:
    """Whether every column check of the schema passes on every value.

    Each check's own function runs on the column, as pandera runs it, without
    pandera's bookkeeping around it (about a millisecond per check, which adds up to
    most of the time on the many small tables of an upload). Anything short of a
    plain pass (a failure, a missing value in a required column, a check of a kind
    not handled here) answers False, and pandera then validates the table and
    reports exactly as it always does: this only spares work on clean tables.
    """
    if schema.checks or schema.strict or schema.ordered or schema.index is not None:
        return False
    for name, column in schema.columns.items():
        if name not in typed:  # absent: reported as RD-002, not by pandera
            continue
        values = typed[name]
        if has_missing(values):
            if not column.nullable:
                return False
            values = values.dropna()
        for check in column.checks:
            if check.element_wise or check.groupby is not None or not check.ignore_na:
                return False
            try:
                passed = check._check_fn(values, **check._check_kwargs)
            except Exception:  # pandera runs it again and reports what it raises
                return False
            if isinstance(passed, pd.Series):
                passed = _all_true(passed)
            if passed is not True and passed is not np.True_:
                return False
    return True


def _all_true(passed: pd.Series) -> bool:
    """Return whether a check's result is boolean and true on every row."""
    if passed.dtype == bool:  # NumPy booleans: never missing
        return bool(passed.to_numpy().all())
    return (
        pd.api.types.is_bool_dtype(passed.dtype)
        and not passed.hasnans
        and bool(passed.all())
    )


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


#: Codes are counted in an array of this many slots per row at most (else re-coded):
#: a wider array costs more in fresh memory pages than re-coding saves.
_DENSE_SLOTS_PER_ROW = 2


def _key_codes(
    data: pd.DataFrame, key: list[str]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Return one code per row, equal exactly when the key values are.

    Each key column is factorised (by run when sorted, see
    :func:`~trialdata.validation.context.factorize`) and the codes are combined
    as digits of a mixed-radix number; the combination is re-factorised only when the
    next column could overflow 64 bits.

    Returns
    -------
    codes : numpy.ndarray of int64
        The combined codes, from 0 to below ``size``.
    complete : numpy.ndarray of bool
        Which rows have every key value.
    size : int
        An upper bound of the codes.
    """
    combined = np.zeros(len(data), dtype=np.int64)
    complete = np.ones(len(data), dtype=bool)
    size = 1
    for column in key:
        codes, uniques = factorize(data[column])
        complete &= codes >= 0
        radix = len(uniques) + 1
        if size * radix >= 1 << 62:
            combined = pd.factorize(combined)[0].astype(np.int64)
            size = int(combined.max()) + 1
        combined = combined * radix + (codes + 1)
        size *= radix
    return combined, complete, size


def _shared(codes: np.ndarray, complete: np.ndarray, size: int) -> np.ndarray:
    """Return which complete rows share their code with another complete row.

    Codes are counted in a dense array; when their range is much wider than the
    number of rows, they are re-coded to consecutive integers first.
    """
    if size > _DENSE_SLOTS_PER_ROW * len(codes):
        codes = pd.factorize(codes)[0]
        size = len(codes)
    counts = np.bincount(codes[complete], minlength=size)
    return complete & (counts[codes] > 1)


def _shared_keys(data: pd.DataFrame, key: list[str]) -> np.ndarray:
    """Return which rows share their complete key with another row.

    Every row's key is hashed (Polars, without the GIL and without a temporary the
    size of the table per column); only rows whose hash repeats can share a key, and
    only they are compared exactly, as codes (:func:`_key_codes`). A hash that two
    different keys happen to share costs an exact comparison, never a finding.
    Columns Polars cannot take (mixed objects in a hand-built table) are compared
    as codes throughout.

    Returns
    -------
    numpy.ndarray of bool
        One value per row.
    """
    hashes = _row_hashes(data, key)
    if hashes is None:
        return _shared(*_key_codes(data, key))
    complete = np.ones(len(data), dtype=bool)
    for name in key:
        if has_missing(data[name]):
            complete &= data[name].notna().to_numpy()
    shared = np.zeros(len(data), dtype=bool)
    candidates = np.flatnonzero(complete & _repeated(hashes, complete))
    if len(candidates):
        shared[candidates] = _shared(*_key_codes(data.iloc[candidates], key))
    return shared


def _row_hashes(data: pd.DataFrame, key: list[str]) -> np.ndarray | None:
    """Return a 64-bit hash of each row's key values, or None if Polars cannot."""
    try:
        frame = pl.DataFrame(
            [_polars_column(data[name]).alias(str(i)) for i, name in enumerate(key)]
        )
        return frame.hash_rows().to_numpy()
    except (pl.exceptions.PolarsError, pyarrow.ArrowException, TypeError, ValueError):
        return None


def _polars_column(values: pd.Series) -> pl.Series:
    """Return a column as a Polars series: Arrow text and dates without a detour."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return pl.Series(pyarrow.array(values.array))
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "M":
        return pl.Series(values.to_numpy())
    return pl.from_pandas(values)


def _repeated(hashes: np.ndarray, complete: np.ndarray) -> np.ndarray:
    """Return which rows have a hash that another complete row also has."""
    ordered = np.sort(hashes if complete.all() else hashes[complete])
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(repeated):
        return np.zeros(len(hashes), dtype=bool)
    return np.isin(hashes, repeated)


def check_keys(typed: pd.DataFrame, spec: DomainSpec) -> pd.DataFrame:
    """Report every row whose key is shared with another row (SC-KEY).

    Rows with a missing key value are not compared (the missing value is reported by
    the schema check).

    Parameters
    ----------
    typed : pandas.DataFrame
        A typed domain table.
    spec : schemas.domains.DomainSpec
        The table's domain; ``spec.key`` names the key columns.

    Returns
    -------
    pandas.DataFrame
        One finding per row in a duplicated-key group.
    """
    key = [c for c in spec.key if c in typed.columns]
    if len(key) != len(spec.key) or typed.empty:
        return empty_findings()
    duplicated = _shared_keys(typed, key)
    if not duplicated.any():
        return empty_findings()
    hits = typed.loc[duplicated]
    first_row = hits.groupby(key, sort=False, dropna=False)[SOURCE_ROW].transform("min")
    text = hits[key[0]].astype(str)
    for column in key[1:]:
        values = hits[column]
        rendered = (
            values.dt.strftime("%Y-%m-%d")
            if pd.api.types.is_datetime64_any_dtype(values)
            else values.astype(str)
        )
        text = text + " | " + rendered
    findings = pd.DataFrame(
        {
            "domain": spec.name,
            "file": hits[SOURCE_FILE],
            "row": hits[SOURCE_ROW],
            "subject_id": hits.get("subject_id", None),
            "column": "+".join(spec.key),
            "rule": "SC-KEY",
            "severity": str(Severity.ERROR),
            "message": "duplicated key ("
            + ", ".join(spec.key)
            + "); first seen at row "
            + first_row.astype(str),
            "value": text,
        }
    )
    return findings.reset_index(drop=True)[list(FINDING_COLUMNS)]
