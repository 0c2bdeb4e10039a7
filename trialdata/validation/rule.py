"""A validation rule: one declarative unit, and how every rule of an upload runs.

A rule is a :class:`Rule` in a module of its own under
:mod:`trialdata.validation.rules` (``RULE = Rule(...)``). It states its id, severity,
what it checks in one sentence, the domains it reads and, in ``finds``, a function
that returns the rows it flags as a polars query: one row per finding, with the
columns of :func:`flagged` (where, which column, the offending value) and the fields
its ``message`` template names. Example::

    RULE = Rule(
        id="LB-001",
        severity=ERROR,
        description="A lab's lower_limit is not above its upper_limit.",
        reads=("labs",),
        finds=lambda upload: flagged(
            upload.frame("labs").filter(pl.col("lower_limit") > pl.col("upper_limit")),
            domain="labs",
            column="lower_limit",
        ),
        message="lower_limit {value} is above upper_limit {upper_limit}",
        example=change("labs", 1, lower_limit=60.0),
    )

All rules' queries are collected together (:func:`run_rules`), so polars plans them
at once, shares what they compute alike and runs them on every core. Values in
messages are written one way (:func:`render_text`): dates as ``YYYY-MM-DD`` (with
``THH:MM`` when a flagged value of the domain has a time), numbers as ``12.5``,
booleans as ``Y``/``N``, and ``-`` when missing.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import polars as pl

from schemas.protocol import Protocol
from trialdata.findings import (
    FINDING_COLUMNS,
    Severity,
    empty_findings,
    findings_frame,
)

__all__ = [
    "ABSENT_COLUMNS",
    "ERROR",
    "SOURCE_FILE",
    "SOURCE_ROW",
    "WARNING",
    "Change",
    "Rule",
    "Upload",
    "change",
    "flagged",
    "render_text",
    "run_rule",
    "run_rules",
    "union",
]

ERROR, WARNING = Severity.ERROR, Severity.WARNING

#: Column holding the source file name of each row in a typed domain table.
SOURCE_FILE = "_source_file"
#: Column holding the 1-based source line of each row (the header is line 1).
SOURCE_ROW = "_source_row"
#: ``DataFrame.attrs`` key listing schema columns the source file did not have: the
#: runner adds them as missing values so that every rule can address them.
ABSENT_COLUMNS = "absent_columns"

#: A change to the clean test upload's records (``rules.testing.clean_records``).
Change = Callable[[dict[str, list[dict[str, Any]]]], None]


class Upload:
    """What a rule reads: the protocol and the typed tables of one upload.

    Parameters
    ----------
    protocol : schemas.protocol.Protocol
        The trial's protocol.
    tables : Mapping of str to pandas.DataFrame
        Domain name to typed table: the domain's columns parsed to their types
        (values that could not be parsed are missing and already reported), plus
        :data:`SOURCE_FILE` and :data:`SOURCE_ROW`.
    frames : Mapping of str to polars.DataFrame, optional
        The same tables as polars frames, when already converted.
    """

    def __init__(
        self,
        protocol: Protocol,
        tables: Mapping[str, pd.DataFrame],
        frames: Mapping[str, pl.DataFrame] | None = None,
    ) -> None:
        self.protocol = protocol
        self.tables = tables
        self._frames: dict[str, pl.DataFrame] = dict(frames or {})

    def has(self, *names: str) -> bool:
        """Return whether every named domain table is in the upload."""
        return all(name in self.tables for name in names)

    def table(self, name: str) -> pd.DataFrame | None:
        """Return a domain's typed pandas table, or None when the upload has none."""
        return self.tables.get(name)

    def frame(self, name: str) -> pl.LazyFrame:
        """Return a domain table as a polars query (empty when the upload has none).

        Parameters
        ----------
        name : str
            Domain name.

        Returns
        -------
        polars.LazyFrame
            The typed table; a domain the upload lacks is an empty frame without
            columns.
        """
        if name not in self._frames:
            table = self.tables.get(name)
            self._frames[name] = pl.DataFrame() if table is None else to_polars(table)
        return self._frames[name].lazy()

    def columns(self, name: str) -> list[str]:
        """Return the columns of a domain's file (none when the upload has none).

        Schema columns the file lacked are in the table as missing values (so that
        a query may name them) but not in this list: the reader reports such a
        column once (RD-002), and a rule must not take it for a column of missing
        values (e.g. ``destroyed_date`` never set) and report every row again.
        """
        table = self.tables.get(name)
        if table is None:
            return []
        absent = set(table.attrs.get(ABSENT_COLUMNS, ()))
        return [str(c) for c in table.columns if c not in absent]

    def has_columns(self, name: str, *columns: str) -> bool:
        """Return whether the upload has the domain and its file every named column."""
        return name in self.tables and set(columns) <= set(self.columns(name))


def to_polars(table: pd.DataFrame) -> pl.DataFrame:
    """Return a typed pandas table as a polars frame, without copying its chunks.

    A column of Python objects (a table edited by hand) is taken as text. The
    source file stays categorical (one value for a million rows); findings take it
    as text (:func:`flagged`).
    """
    objects = [c for c in table.columns if table[c].dtype == object]
    if objects:
        table = table.astype({c: "string[pyarrow]" for c in objects})
    return pl.from_pandas(table, rechunk=False)


#: Columns every rule's query returns, before the fields its message names.
FLAGGED_COLUMNS = ("domain", "file", "row", "subject_id", "column", "value")


def flagged(
    rows: pl.LazyFrame,
    *,
    domain: str,
    column: str | None,
    value: pl.Expr | None = None,
    fields: Iterable[pl.Expr | str] = (),
) -> pl.LazyFrame:
    """Return flagged rows of a domain table in the form a rule's query returns.

    Parameters
    ----------
    rows : polars.LazyFrame
        The flagged rows, with :data:`SOURCE_FILE` and :data:`SOURCE_ROW`.
    domain : str
        Their domain.
    column : str or None
        The column the finding is about.
    value : polars.Expr, optional
        The offending value; by default the value of ``column``.
    fields : iterable of polars.Expr or str
        More columns to keep, for the rule's message.

    Returns
    -------
    polars.LazyFrame
        Columns :data:`FLAGGED_COLUMNS`, then ``fields``.
    """
    names = rows.collect_schema().names()
    if value is None:
        value = pl.col(column) if column in names else pl.lit(None)
    subject = pl.col("subject_id") if "subject_id" in names else pl.lit(None)
    return rows.select(
        pl.lit(domain).alias("domain"),
        pl.col(SOURCE_FILE).cast(pl.String).alias("file"),
        pl.col(SOURCE_ROW).cast(pl.Int64).alias("row"),
        subject.cast(pl.String).alias("subject_id"),
        pl.lit(column, dtype=pl.String).alias("column"),
        value.alias("value"),
        *fields,
    )


def union(frames: Iterable[pl.LazyFrame]) -> pl.LazyFrame:
    """Return the flagged rows of several domains as one query (empty: none).

    Parameters
    ----------
    frames : iterable of polars.LazyFrame
        Queries from :func:`flagged` with the same fields.

    Returns
    -------
    polars.LazyFrame
        Their rows; value types are widened where they differ (e.g. a date and a
        date-time).
    """
    found = list(frames)
    if not found:
        return pl.LazyFrame(
            schema={name: pl.String for name in FLAGGED_COLUMNS} | {"row": pl.Int64}
        )
    return pl.concat(found, how="diagonal_relaxed")


def change(domain: str, row: int, **values: Any) -> Change:
    """Return a change of one row of the clean test upload (a rule's example).

    Parameters
    ----------
    domain : str
        Domain of the row.
    row : int
        Position of the row among the domain's records (0 is the first).
    **values
        New values by column (dates as ISO text, missing as None).

    Returns
    -------
    callable
        The change, applied to the records in place.
    """

    def apply(records: dict[str, list[dict[str, Any]]]) -> None:
        records[domain][row].update(values)

    return apply


@dataclass(frozen=True)
class Rule:
    """A validation rule.

    Attributes
    ----------
    id : str
        Rule identifier, e.g. ``"XD-001"``.
    severity : Severity
        Severity of its findings.
    description : str
        One sentence: what the rule requires (the catalogue's "Checks").
    reads : tuple of str
        Domains that must be in the upload for the rule to run.
    finds : callable
        ``finds(upload) -> polars.LazyFrame`` of flagged rows (see :func:`flagged`).
        A query may also return a ready ``message`` column instead of naming fields.
    message : str or None
        Message template: ``{name}`` is a column of the query, written as text
        (:func:`render_text`). None when the query returns a ``message`` column.
    example : callable
        A change to the clean test upload that makes the rule fire (see
        :mod:`trialdata.validation.rules.testing`); the catalogue shows it and the
        tests run it.
    columns : tuple of str
        The columns the rule is about, by ``domain.column`` (for the data
        dictionary); empty when it is about whole records.
    """

    id: str
    severity: Severity
    description: str
    reads: tuple[str, ...]
    finds: Callable[[Upload], pl.LazyFrame | pl.DataFrame]
    message: str | None
    example: Change
    columns: tuple[str, ...] = field(default=())

    @property
    def requires(self) -> tuple[str, ...]:
        """Return the domains the rule reads (the catalogue's "Requires")."""
        return self.reads


def render_text(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Return an expression writing values as messages show them (missing: null).

    Dates are ``YYYY-MM-DD``, with ``THH:MM`` when a value of the same domain has
    a time of day; numbers as Python's ``{:g}``; booleans ``Y``/``N``; text as is.
    """
    if dtype == pl.Datetime or dtype == pl.Date:
        moment = column.cast(pl.Datetime("ns"))
        timed = (moment != moment.dt.truncate("1d")).any().over("domain")
        return (
            pl.when(timed)
            .then(moment.dt.strftime("%Y-%m-%dT%H:%M"))
            .otherwise(moment.dt.strftime("%Y-%m-%d"))
        )
    if dtype.is_float():
        return column.map_elements(lambda v: f"{v:g}", return_dtype=pl.String)
    if dtype == pl.Boolean:
        return pl.when(column).then(pl.lit("Y")).when(~column).then(pl.lit("N"))
    if dtype == pl.Null:
        return column.cast(pl.String)
    return column.cast(pl.String)


def _messages(hits: pl.DataFrame, template: str) -> pl.Expr:
    """Return the message of each flagged row from the rule's template."""
    parts: list[pl.Expr] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            parts.append(pl.lit(literal))
        if name is not None:
            parts.append(render_text(pl.col(name), hits.schema[name]).fill_null("-"))
    return pl.concat_str(parts) if parts else pl.lit("")


def _to_findings(rule: Rule, hits: pl.DataFrame) -> pd.DataFrame:
    """Return a rule's flagged rows as a findings frame."""
    if hits.is_empty():
        return empty_findings()
    message = (
        pl.col("message") if rule.message is None else _messages(hits, rule.message)
    )
    value = hits.schema["value"]
    found = hits.select(
        "domain",
        "file",
        "row",
        "subject_id",
        "column",
        pl.lit(rule.id).alias("rule"),
        pl.lit(str(rule.severity)).alias("severity"),
        message.alias("message"),
        render_text(pl.col("value"), value).alias("value"),
    )
    return findings_frame([found.to_pandas()[list(FINDING_COLUMNS)]])


def run_rule(rule: Rule, upload: Upload) -> pd.DataFrame:
    """Run one rule on an upload, whatever domains it reads.

    Parameters
    ----------
    rule : Rule
        The rule.
    upload : Upload
        The upload.

    Returns
    -------
    pandas.DataFrame
        Its findings.
    """
    return _to_findings(rule, rule.finds(upload).lazy().collect())


def run_rules(rules: Iterable[Rule], upload: Upload) -> list[pd.DataFrame]:
    """Run every rule whose domains are in the upload, all queries at once.

    Parameters
    ----------
    rules : iterable of Rule
        The rules.
    upload : Upload
        The upload.

    Returns
    -------
    list of pandas.DataFrame
        The findings of each rule that ran.
    """
    runnable = [rule for rule in rules if upload.has(*rule.reads)]
    results = pl.collect_all([rule.finds(upload).lazy() for rule in runnable])
    return [
        _to_findings(rule, hits) for rule, hits in zip(runnable, results, strict=True)
    ]
