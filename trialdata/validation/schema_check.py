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
import operator
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pandera.backends.pandas.builtin_checks  # noqa: F401 - the checks' functions
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from pandas.core.arrays.masked import BaseMaskedArray
from pandera.engines import pandas_engine
from pandera.errors import SchemaErrors

from schemas.checks import describe_pattern, failing_values
from schemas.domains import DomainSpec, get_domain
from trialdata.findings import (
    FINDING_COLUMNS,
    Severity,
    empty_findings,
    findings_frame,
)
from trialdata.validation.context import (
    NS_PER_DAY,
    SOURCE_FILE,
    SOURCE_ROW,
    Derived,
    arrow_backed_text,
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


def check_schema(
    typed: pd.DataFrame, spec: DomainSpec, kept: Derived | None = None
) -> pd.DataFrame:
    """Validate a typed table against its domain model.

    Parameters
    ----------
    typed : pandas.DataFrame
        Table from :func:`trialdata.validation.parsing.parse_table`; columns missing
        from it are reported elsewhere (RD-002) and skipped here.
    spec : schemas.domains.DomainSpec
        The table's domain.
    kept : trialdata.validation.context.Derived, optional
        Values derived from ``typed`` beforehand (see
        :func:`trialdata.validation.rules.prepare.prepare`): a column already
        factorised has its value-by-value checks run on its distinct values.

    Returns
    -------
    pandas.DataFrame
        One finding per failing value, and one per column whose type is not the
        model's (SC-TYPE).
    """
    schema = spec.value_schema  # without types (checked here) and keys (check_keys)
    wrong_types = _wrong_types(typed, spec)
    if _certainly_passes(typed, schema, kept):
        return wrong_types
    try:
        schema.validate(typed, lazy=True, inplace=True)
    except SchemaErrors as errors:
        values = _to_findings(errors.failure_cases, typed, spec, schema)
        return findings_frame([wrong_types, values])
    return wrong_types


#: Checks that pass on a column exactly when they pass on each of its distinct values.
_PER_VALUE_CHECKS = frozenset(
    {"isin", "notin", "matches_pattern", "str_matches", "str_length"}
)


def _certainly_passes(
    typed: pd.DataFrame, schema: pa.DataFrameSchema, kept: Derived | None = None
) -> bool:
    """Whether every column check of the schema passes on every value.

    Each check's own function runs on the column, as pandera runs it, without
    pandera's bookkeeping around it (about a millisecond per check, which adds up to
    most of the time on the many small tables of an upload). A value-by-value check
    of a text column already factorised (``kept``) runs on its distinct values only
    (an identifier pattern on their Arrow text), a term check on other Arrow text
    is decided by Arrow over the column (:func:`_terms_hold`), and a range check on
    a numeric column on its lowest and highest value (:func:`_range_holds`).
    Anything short of a plain pass (a failure, a missing value in a required column,
    a check of a kind not handled here) answers False, and pandera then validates
    the table and reports exactly as it always does: this only spares work on clean
    tables.
    """
    if schema.checks or schema.strict or schema.ordered or schema.index is not None:
        return False
    for name, column in schema.columns.items():
        if name not in typed:  # absent: reported as RD-002, not by pandera
            continue
        values = typed[name]
        missing = has_missing(values)
        if missing and not column.nullable:
            return False
        codes = kept.known_codes(typed, name) if kept is not None else None
        present = None
        for check in column.checks:
            if check.element_wise or check.groupby is not None or not check.ignore_na:
                return False
            held = _range_holds(values, check)
            if held is None and codes is None:
                held = _terms_hold(values, check)
            if held is not None:  # decided on the column's range or in Arrow
                if not held:
                    return False
                continue
            if codes is not None and codes.textual and check.name in _PER_VALUE_CHECKS:
                if check.name == "matches_pattern":  # on the kept Arrow text
                    pattern = check.statistics["pattern"]
                    if len(failing_values(codes.distinct_text, pattern)):
                        return False
                    continue
                checked = codes.distinct  # every value but the missing, once
            else:
                if present is None:
                    present = values.dropna() if missing else values
                checked = present
            try:
                passed = _check_function(check)(checked, **check._check_kwargs)
            except Exception:  # pandera runs it again and reports what it raises
                return False
            if isinstance(passed, pd.Series):
                passed = _all_true(passed)
            if passed is not True and passed is not np.True_:
                return False
    return True


def _terms_hold(values: pd.Series, check: pa.Check) -> bool | None:
    """Return whether every present value of Arrow text is an allowed term.

    An ``isin`` check of text terms on an Arrow text column is matched by Arrow
    over the whole column, missing values passing (as pandera checks only the
    present ones): no copy without the missing values, no pandas result to build.
    None for any other check or column.
    """
    text = arrow_backed_text(values)
    if check.name != "isin" or text is None:
        return None
    allowed = list(check._check_kwargs["allowed_values"])
    if not all(isinstance(term, str) for term in allowed):
        return None
    found = pc.is_in(text, value_set=pyarrow.array(allowed, text.type))
    return int(pc.sum(found).as_py() or 0) + text.null_count == len(text)


def _present_numbers(values: pd.Series) -> np.ndarray | None:
    """Return a numeric column's present values as an array (None if not numeric)."""
    array = values.array
    if isinstance(array, BaseMaskedArray):  # Int64, Float64
        kind = array.dtype.kind
        if kind not in "iuf":
            return None
        missing = array.isna()
        present = array[~missing] if missing.any() else array
        return present.to_numpy(dtype=np.dtype(f"{kind}8"))  # no missing value left
    if not isinstance(values.dtype, np.dtype) or values.dtype.kind not in "iuf":
        return None
    numbers = values.to_numpy()
    return numbers[~np.isnan(numbers)] if values.dtype.kind == "f" else numbers


#: Each one-sided range check: how a value compares with the bound, and the bound.
_BOUNDS: dict[str, tuple[Callable[[Any, Any], Any], str]] = {
    "greater_than": (operator.gt, "min_value"),
    "greater_than_or_equal_to": (operator.ge, "min_value"),
    "less_than": (operator.lt, "max_value"),
    "less_than_or_equal_to": (operator.le, "max_value"),
}


def _range_holds(values: pd.Series, check: pa.Check) -> bool | None:
    """Return whether a range check passes on every present number of a column.

    A bound holds for every value when it holds for the lowest (or highest) one: one
    reduction instead of a comparison per row, a mask and its test. Returns None for
    any other check or column, which is then checked as pandera would.
    """
    if check.name not in _RANGE_CHECKS:
        return None
    numbers = _present_numbers(values)
    if numbers is None:
        return None
    if not len(numbers):
        return True
    kwargs = check._check_kwargs
    if check.name == "in_range":
        bounds = [
            (operator.ge if kwargs["include_min"] else operator.gt, "min_value"),
            (operator.le if kwargs["include_max"] else operator.lt, "max_value"),
        ]
    else:
        bounds = [_BOUNDS[check.name]]
    extremes = {"min_value": numbers.min(), "max_value": numbers.max()}
    return all(bool(holds(extremes[bound], kwargs[bound])) for holds, bound in bounds)


def _check_function(check: pa.Check) -> Callable[..., Any]:
    """Return a check's function as pandera calls it.

    A built-in check is looked up again by name, as ``Check.__call__`` does: the
    dispatcher a check was built with may predate the registration of the pandas
    implementations, and would raise on a Series until pandera had validated once.
    """
    name = getattr(check._check_fn, "__name__", None)
    if name is not None and check.is_builtin_check(name):
        return check.get_builtin_check_fn(name)
    return check._check_fn


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


#: Codes of a key column: each row's code (-1 where missing) and the number of codes.
_ColumnCodes = tuple[np.ndarray, int]


def _key_codes(
    data: pd.DataFrame, key: list[str], kept: Derived | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Return one code per row, equal exactly when the key values are.

    Each key column is turned into integer codes (:func:`_column_codes`), and the
    codes are combined as digits of a mixed-radix number, the column with the fewest
    runs of equal codes first. A table sorted by its key, as exports usually are, then
    has increasing combined codes. The combination is re-factorised only when the
    next column could overflow 64 bits.

    Parameters
    ----------
    data : pandas.DataFrame
        The table.
    key : list of str
        Its key columns.
    kept : trialdata.validation.context.Derived, optional
        Where text columns are factorised (and kept, e.g. shared with the rules);
        by default each is factorised here.

    Returns
    -------
    codes : numpy.ndarray of int64
        The combined codes, from 0 to below ``size``.
    complete : numpy.ndarray of bool
        Which rows have every key value.
    size : int
        An upper bound of the codes.
    """
    columns = [_column_codes(data, column, kept or Derived()) for column in key]
    columns.sort(key=lambda column: _runs(column[0]))
    combined = np.zeros(len(data), dtype=np.int64)
    complete = np.ones(len(data), dtype=bool)
    size = 1
    for codes, count in columns:
        complete &= codes >= 0
        radix = count + 1
        if size * radix >= 1 << 62:
            combined = pd.factorize(combined)[0].astype(np.int64)
            size = int(combined.max()) + 1
        combined *= radix
        combined += codes
        combined += 1
        size *= radix
    return combined, complete, size


def _column_codes(data: pd.DataFrame, column: str, kept: Derived) -> _ColumnCodes:
    """Return integer codes of a key column, equal exactly when its values are.

    Text is factorised (``kept.codes``). Dates that are whole days and integers with
    a narrow range are coded by their own value, so that their codes keep the
    values' order; anything else is factorised.
    """
    values = data[column]
    if pd.api.types.is_string_dtype(values) or values.dtype == object:
        found = kept.codes(data, column)
        return found.codes, len(found.distinct)
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "M":
        moments = values.to_numpy()
        numbers, present = moments.view(np.int64), ~np.isnat(moments)
        by_value = _by_value(numbers, present, NS_PER_DAY)
    elif pd.api.types.is_integer_dtype(values):
        present = values.notna().to_numpy()
        numbers = values.to_numpy(dtype=np.int64, na_value=0)
        by_value = _by_value(numbers, present, 1)
    else:
        by_value = None
    if by_value is not None:
        return by_value
    codes, uniques = factorize(values)
    return np.asarray(codes, dtype=np.int64), len(uniques)


def _by_value(
    numbers: np.ndarray, present: np.ndarray, unit: int
) -> _ColumnCodes | None:
    """Return ``(number - lowest) // unit`` as codes, or None when not whole or wide.

    Codes by value keep the values' order; they are used when every present number
    is a whole multiple of ``unit`` (e.g. a date without a time) and their range is
    no wider than the table is long.
    """
    if not present.any():
        return np.full(len(numbers), -1, dtype=np.int64), 0
    if not present.all():
        numbers = np.where(present, numbers, numbers[np.argmax(present)])
    lowest, highest = int(numbers.min()), int(numbers.max())
    if highest - lowest >= 1 << 62 or (highest - lowest) // unit >= len(numbers):
        return None
    if unit > 1 and (numbers % unit).any():
        return None
    codes = (numbers - lowest) // unit
    codes[~present] = -1
    return codes, (highest - lowest) // unit + 1


def _runs(codes: np.ndarray) -> int:
    """Return the number of runs of equal codes."""
    return int(np.count_nonzero(codes[1:] != codes[:-1])) + 1


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


def _shared_keys(
    data: pd.DataFrame, key: list[str], kept: Derived | None = None
) -> np.ndarray:
    """Return which rows share their complete key with another row.

    The key is coded exactly (:func:`_key_codes`). When the complete rows' codes
    increase strictly, as in a table sorted by its key, no two rows share one and
    nothing is counted; otherwise rows are counted per code (:func:`_shared`).

    Returns
    -------
    numpy.ndarray of bool
        One value per row.
    """
    codes, complete, size = _key_codes(data, key, kept)
    compared = codes if complete.all() else codes[complete]
    if bool(np.all(compared[1:] > compared[:-1])):
        return np.zeros(len(data), dtype=bool)
    return _shared(codes, complete, size)


def check_keys(
    typed: pd.DataFrame, spec: DomainSpec, kept: Derived | None = None
) -> pd.DataFrame:
    """Report every row whose key is shared with another row (SC-KEY).

    Rows with a missing key value are not compared (the missing value is reported by
    the schema check).

    Parameters
    ----------
    typed : pandas.DataFrame
        A typed domain table.
    spec : schemas.domains.DomainSpec
        The table's domain; ``spec.key`` names the key columns.
    kept : trialdata.validation.context.Derived, optional
        Values derived from ``typed`` beforehand (see
        :func:`trialdata.validation.rules.prepare.prepare`): its text key columns'
        codes are used, and kept, there.

    Returns
    -------
    pandas.DataFrame
        One finding per row in a duplicated-key group.
    """
    key = [c for c in spec.key if c in typed.columns]
    if len(key) != len(spec.key) or typed.empty:
        return empty_findings()
    duplicated = _shared_keys(typed, key, kept)
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
