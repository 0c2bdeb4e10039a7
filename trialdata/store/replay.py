"""Replaying the audit trail: the tables it implies, compared with the tables.

``audit verify`` does not stop at the hash chain: an entry that was never written
cannot break it, so the chain alone misses a row inserted, changed or deleted
without its entry. Replaying the trail rebuilds every table from the entries and
compares the result with what the tables hold, value by value:

- **bookkeeping tables** (every table of :data:`trialdata.store.tables.metadata`
  except ``audit_log``, ``changesets`` and the record tables; so tables added later
  are covered without a change here), by the contract of
  :mod:`trialdata.store.audit_rows`: a ``create`` entry holds the whole row as JSON
  (keys that are not columns are annotations and are not compared), an ``update``
  entry one column's old and new value, a ``delete`` entry removes the row. A table
  without entries must be empty.
- **record tables** (``rec_<domain>``; the entries name the domain): a ``create``
  entry is a new record with its values and provenance (``_site_id``,
  ``_source_file``, ``_source_row``); the ``update`` entries of one changeset
  (one per changed column) and its ``source`` entry (the provenance of the new
  version) replace the current version; a ``delete`` entry ends it. Every version,
  current and historical, is rebuilt with ``_key``, ``_created_cs``, ``_ended_cs``
  (the changeset of the next entry of the record) and ``_submission_id`` (the
  submission the changeset created), and compared with the table on its domain
  columns' canonical text (:mod:`trialdata.store.codec`) and its bookkeeping columns.
- **changesets**: the submission and the kind a changeset records must be those its
  entries imply (:data:`KIND_RULES`); who, when and why are in every entry's hash.

Everything is column-wise (Polars): the record entries of a store with a million
versions are decoded, forward-filled and compared as whole columns.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import sqlalchemy as sa

from schemas.domains import DOMAINS, DomainSpec
from trialdata.store.audit_rows import value_text
from trialdata.store.codec import canonical_text, typed_frame
from trialdata.store.fast_read import arrow_column, pandas_frame, raw_chunks, select_sql
from trialdata.store.tables import metadata, record_table

__all__ = [
    "KIND_RULES",
    "PROVENANCE",
    "Replay",
    "TrailCollector",
    "replay_store",
]

#: Provenance of a record version, carried by its ``create`` (or ``source``) entry.
PROVENANCE: tuple[str, ...] = ("_site_id", "_source_file", "_source_row")

#: Tables not replayed by the row contract: the trail itself.
_TRAIL_TABLES = frozenset({"audit_log", "changesets"})

_DOMAINS: dict[str, DomainSpec] = {spec.name: spec for spec in DOMAINS}

#: Problems listed per table before the rest are counted.
_LISTED = 20

#: Marks of a value in the forward fill: set to a text, set to missing.
_SET, _MISSING = "\x01", "\x00"


#: The kind a changeset's entries imply, first rule that holds: (kind, test of the
#: set of ``(table, action)`` pairs of its entries). A changeset none of them fits
#: must not record one of these kinds.
KIND_RULES: tuple[tuple[str, Callable[[frozenset[tuple[str, str]]], bool]], ...] = (
    ("ingest", lambda pairs: ("submissions", "create") in pairs),
    ("freeze", lambda pairs: ("snapshots", "create") in pairs),
    (
        "delete",
        lambda pairs: any(t in _DOMAINS and a == "delete" for t, a in pairs),
    ),
    ("protocol", lambda pairs: ("protocols", "create") in pairs),
    ("signature", lambda pairs: ("signatures", "create") in pairs),
    (
        "accounts",
        lambda pairs: (
            bool(pairs) and all(t in ("sites", "users", "user_roles") for t, _ in pairs)
        ),
    ),
    ("query", lambda pairs: bool(pairs) and all(t == "queries" for t, _ in pairs)),
)

_ENTRY_SCHEMA: dict[str, Any] = {
    "seq": pl.Int64,
    "changeset_id": pl.Int64,
    "action": pl.String,
    "record_key": pl.String,
    "field": pl.String,
    "old_value": pl.String,
    "new_value": pl.String,
}


class TrailCollector:
    """Keeps the entries of each table as :func:`~.audit.verify_audit` streams them.

    Pass an instance as ``sink``; afterwards :meth:`entries` returns a table's
    entries in sequence order and :attr:`pairs` what each changeset did.
    """

    def __init__(self) -> None:
        self._parts: dict[str, list[pl.DataFrame]] = defaultdict(list)
        self._pairs: list[pl.DataFrame] = []

    def __call__(self, frame: pl.DataFrame) -> None:
        """Take one chunk of entries."""
        self._pairs.append(
            frame.select("changeset_id", "table_name", "action").unique()
        )
        for (name,), part in frame.partition_by(
            "table_name", as_dict=True, maintain_order=True
        ).items():
            self._parts[str(name)].append(part.drop("table_name"))

    @property
    def tables(self) -> set[str]:
        """Names of the tables (and domains) the entries touch."""
        return set(self._parts)

    def entries(self, table: str) -> pl.DataFrame:
        """Return the entries of one table (or domain), in sequence order."""
        parts = self._parts.get(table)
        if not parts:
            return pl.DataFrame(schema=_ENTRY_SCHEMA)
        return pl.concat(parts).select(list(_ENTRY_SCHEMA))

    def release(self, table: str) -> None:
        """Forget a table's entries (replayed)."""
        self._parts.pop(table, None)

    def pairs(self) -> dict[int, frozenset[tuple[str, str]]]:
        """Return, per changeset, the ``(table, action)`` pairs of its entries."""
        out: dict[int, set[tuple[str, str]]] = defaultdict(set)
        if self._pairs:
            for cs, table, action in pl.concat(self._pairs).unique().iter_rows():
                out[int(cs)].add((str(table), str(action)))
        return {cs: frozenset(p) for cs, p in out.items()}


@dataclass
class Replay:
    """Outcome of :func:`replay_store`.

    Attributes
    ----------
    problems : list of str
        Every difference between the replayed trail and the tables.
    n_rows : int
        Rows read from the tables (record versions included).
    row_counts : dict of str to int
        Rows per table.
    """

    problems: list[str] = field(default_factory=list)
    n_rows: int = 0
    row_counts: dict[str, int] = field(default_factory=dict)


class _Listing:
    """Problems of one table: the first :data:`_LISTED`, then a count."""

    def __init__(self, out: list[str], table: str) -> None:
        self.out, self.table, self.n = out, table, 0

    def add(self, message: str) -> None:
        self.n += 1
        if self.n <= _LISTED:
            self.out.append(message)

    def close(self) -> None:
        if self.n > _LISTED:
            self.out.append(f"... and {self.n - _LISTED} more problems in {self.table}")


def _show(value: Any) -> str:
    """Return a value for a message: quoted, shortened."""
    if value is None:
        return "missing"
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _decode(
    entries: pl.DataFrame,
    column: str,
    fields: Sequence[str],
    where: str,
    listing: _Listing,
) -> pl.DataFrame:
    """Decode the JSON objects of entries into text columns (numbers as JSON text).

    An entry whose value is not a JSON object is a problem (naming its sequence
    number) and decodes as all missing.
    """
    values = entries[column]
    dtype = pl.Struct({name: pl.String for name in fields})
    try:
        return values.str.json_decode(dtype).struct.unnest()
    except pl.exceptions.PolarsError:
        pass
    rows: list[dict[str, Any]] = []
    for seq, text in zip(entries["seq"].to_list(), values.to_list(), strict=True):
        try:
            parsed = json.loads(text) if text is not None else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            listing.add(f"{where}: entry {seq} is not a JSON object")
            parsed = {}
        rows.append({name: value_text(parsed.get(name)) for name in fields})
    return pl.DataFrame(rows, schema=dict.fromkeys(fields, pl.String))


def _compare(
    expected: pl.DataFrame,
    actual: pl.DataFrame,
    on: list[str],
    columns: Sequence[str],
    listing: _Listing,
    describe: Callable[[dict[str, Any]], str],
) -> None:
    """Report rows only in the trail, only in the table, and differing columns.

    Both frames hold ``on`` plus ``columns`` as text.
    """
    joined = expected.join(
        actual, on=on, how="full", coalesce=True, suffix="_table", nulls_equal=True
    ).with_columns(
        pl.col("_in_trail").fill_null(False), pl.col("_in_table").fill_null(False)
    )
    lost = joined.filter(pl.col("_in_trail") & ~pl.col("_in_table"))
    for row in lost.head(_LISTED).iter_rows(named=True):
        listing.add(
            f"{describe(row)}: in the audit trail but not in the table (deleted)"
        )
    listing.n += max(0, len(lost) - _LISTED)
    extra = joined.filter(~pl.col("_in_trail") & pl.col("_in_table"))
    for row in extra.head(_LISTED).iter_rows(named=True):
        listing.add(
            f"{describe(row)}: in the table but not in the audit trail (written "
            "without its entry)"
        )
    listing.n += max(0, len(extra) - _LISTED)
    both = joined.filter(pl.col("_in_trail") & pl.col("_in_table"))
    for name in columns:
        differs = both.filter(pl.col(name).ne_missing(pl.col(f"{name}_table")))
        for row in differs.head(_LISTED).iter_rows(named=True):
            listing.add(
                f"{describe(row)}: {name} is {_show(row[f'{name}_table'])} in the "
                f"table but {_show(row[name])} in the audit trail"
            )
        listing.n += max(0, len(differs) - _LISTED)


# --- bookkeeping tables ------------------------------------------------------


def _text_column(name: str, values: Sequence[Any]) -> pl.Series:
    """Return database values as the text of ``update`` entries (value_text)."""
    if all(v is None or type(v) is str for v in values):
        return pl.Series(name, values, dtype=pl.String)
    if all(v is None or (type(v) is int) for v in values):
        return pl.Series(name, values, dtype=pl.Int64).cast(pl.String)
    return pl.Series(name, [value_text(v) for v in values], dtype=pl.String)


def _table_rows(conn: sa.Connection, table: sa.Table) -> pl.DataFrame:
    """Read a bookkeeping table as text columns plus its row key (``_key``)."""
    names = [str(c.name) for c in table.columns]
    rows = conn.execute(sa.select(table)).all()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    frame = pl.DataFrame(
        [_text_column(n, list(v)) for n, v in zip(names, columns, strict=True)]
    )
    key = pl.concat_str([pl.col(str(c.name)) for c in table.primary_key], separator="/")
    return frame.with_columns(key.alias("_key"))


def _replay_rows(
    conn: sa.Connection, table: sa.Table, entries: pl.DataFrame, out: Replay
) -> None:
    """Rebuild a bookkeeping table from its entries and compare it with the table."""
    tname = str(table.name)
    listing = _Listing(out.problems, tname)
    names = [str(c.name) for c in table.columns]
    pk = [str(c.name) for c in table.primary_key]
    actions = entries["action"]
    for action in actions.unique().sort().to_list():
        if action not in ("create", "update", "delete"):
            first = entries.filter(pl.col("action") == action)["seq"][0]
            listing.add(
                f"{tname}: entry {first} has action {action!r}; a row is "
                "written as create, update or delete entries"
            )
    creates = entries.filter(actions == "create")
    decoded = _decode(creates, "new_value", names, tname, listing)
    expected = pl.concat(
        [
            creates.select(
                pl.col("record_key").alias("_key"), pl.col("seq").alias("_seq")
            ),
            decoded,
        ],
        how="horizontal",
    )
    named = expected.filter(
        pl.concat_str([pl.col(c) for c in pk], separator="/").ne_missing(pl.col("_key"))
    )
    for row in named.head(_LISTED).iter_rows(named=True):
        listing.add(
            f"{tname} {row['_key']}: its create entry {row['_seq']} holds the "
            "row of another key"
        )
    twice = expected.filter(pl.col("_key").is_duplicated())
    for key in twice["_key"].unique(maintain_order=True).head(_LISTED).to_list():
        listing.add(f"{tname} {key}: created more than once in the audit trail")
    expected = expected.unique("_key", keep="first", maintain_order=True)
    expected = _apply_updates(tname, expected, entries, names, listing)
    deleted = entries.filter(actions == "delete")["record_key"]
    expected = expected.filter(~pl.col("_key").is_in(deleted.implode()))
    actual = _table_rows(conn, table)
    out.row_counts[tname] = len(actual)
    out.n_rows += len(actual)
    _compare(
        expected.select("_key", *names).with_columns(pl.lit(True).alias("_in_trail")),
        actual.select("_key", *names).with_columns(pl.lit(True).alias("_in_table")),
        ["_key"],
        names,
        listing,
        lambda row: f"{tname} {row['_key']}",
    )
    listing.close()


def _apply_updates(
    table: str,
    expected: pl.DataFrame,
    entries: pl.DataFrame,
    names: Sequence[str],
    listing: _Listing,
) -> pl.DataFrame:
    """Apply the ``update`` entries in sequence order; check their old values."""
    updates = entries.filter(pl.col("action") == "update")
    if updates.is_empty():
        return expected
    unknown = updates.filter(~pl.col("field").is_in(list(names)))
    for row in unknown.head(_LISTED).iter_rows(named=True):
        listing.add(
            f"{table} {row['record_key']}: update entry {row['seq']} names "
            f"{row['field']!r}, which is not a column"
        )
    updates = updates.filter(pl.col("field").is_in(list(names))).sort("seq")
    group = ["record_key", "field"]
    updates = updates.with_columns(
        pl.col("new_value").shift(1).over(group).alias("_before"),
        pl.int_range(pl.len()).over(group).alias("_nth"),
    )
    created = expected.unpivot(
        index="_key", on=list(names), variable_name="field", value_name="_created"
    ).rename({"_key": "record_key"})
    updates = updates.join(created, on=group, how="left")
    orphans = updates.filter(
        ~pl.col("record_key").is_in(expected["_key"].implode())
    ).unique("record_key", maintain_order=True)
    for row in orphans.head(_LISTED).iter_rows(named=True):
        listing.add(
            f"{table} {row['record_key']}: update entry {row['seq']} changes a row "
            "the audit trail never created"
        )
    before = (
        pl.when(pl.col("_nth") == 0)
        .then(pl.col("_created"))
        .otherwise(pl.col("_before"))
    )
    wrong = updates.filter(
        pl.col("record_key").is_in(expected["_key"].implode())
        & pl.col("old_value").ne_missing(before)
    ).with_columns(before.alias("_was"))
    for row in wrong.head(_LISTED).iter_rows(named=True):
        listing.add(
            f"{table} {row['record_key']}: update entry {row['seq']} of "
            f"{row['field']} says it was {_show(row['old_value'])}; the trail had "
            f"{_show(row['_was'])}"
        )
    last = updates.group_by(group).agg(pl.col("new_value").last())
    for name in last["field"].unique().to_list():
        values = last.filter(pl.col("field") == name).select(
            pl.col("record_key").alias("_key"),
            pl.col("new_value").alias("_new"),
            pl.lit(True).alias("_set"),
        )
        expected = (
            expected.join(values, on="_key", how="left", maintain_order="left")
            .with_columns(
                pl.when(pl.col("_set").fill_null(False))
                .then(pl.col("_new"))
                .otherwise(pl.col(name))
                .alias(name)
            )
            .drop("_new", "_set")
        )
    return expected


# --- record tables -----------------------------------------------------------


def _marked(column: str) -> pl.Expr:
    """Return a decoded value with its mark (set to a text, or set to missing)."""
    return (
        pl.when(pl.col(column).is_null())
        .then(pl.lit(_MISSING))
        .otherwise(pl.lit(_SET) + pl.col(column))
        .alias(column)
    )


def _unmarked(column: str) -> pl.Expr:
    """Return the value behind a mark (missing when set to missing or never set)."""
    value = pl.col(column)
    return (
        pl.when(value.str.starts_with(_SET))
        .then(value.str.slice(1))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias(column)
    )


def _given(column: str) -> pl.Expr:
    """Return a provenance value with its mark; null (not given) stays null."""
    return (
        pl.when(pl.col(column).is_null())
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(pl.lit(_SET) + pl.col(column))
        .alias(column)
    )


def _record_events(
    spec: DomainSpec, entries: pl.DataFrame, listing: _Listing
) -> pl.DataFrame:
    """Return one event per record and changeset: create, update or delete.

    Value columns hold marked text (:func:`_marked`) where the event sets them and
    are null where it leaves the value of the version before. Provenance comes from
    the record's own entry (create, or the ``source`` entry of an update), else from
    the changeset's ``source`` entry with key ``""`` (shared by every version it
    writes in the domain).
    """
    table = str(record_table(spec.name).name)
    fields = [*spec.columns, *PROVENANCE]
    actions = entries["action"]
    for action in actions.unique().sort().to_list():
        if action not in ("create", "update", "source", "delete"):
            first = entries.filter(pl.col("action") == action)["seq"][0]
            listing.add(
                f"{table}: entry {first} has action {action!r}; a record is written "
                "as create, update, source or delete entries"
            )
    base = ["record_key", "changeset_id"]
    creates = entries.filter(actions == "create")
    decoded = _decode(creates, "new_value", fields, table, listing)
    created = pl.concat(
        [
            creates.select(*base, "seq"),
            decoded.select(
                *(_marked(c) for c in spec.columns), *(_given(c) for c in PROVENANCE)
            ),
        ],
        how="horizontal",
    ).with_columns(pl.lit("create").alias("_event"))
    updates = entries.filter(actions == "update")
    unknown = updates.filter(~pl.col("field").is_in(list(spec.columns)))
    for row in unknown.head(_LISTED).iter_rows(named=True):
        listing.add(
            f"{table} {row['record_key']}: update entry {row['seq']} names "
            f"{row['field']!r}, which is not a column of {spec.name}"
        )
    updates = updates.filter(pl.col("field").is_in(list(spec.columns)))
    sources = entries.filter(actions == "source")
    shared = sources.filter(pl.col("record_key") == "")
    sources = sources.filter(pl.col("record_key") != "")
    parts = [created]
    if len(updates) or len(sources):
        changed = (
            updates.sort("seq")
            .with_columns(_marked("new_value"))
            .pivot(
                on="field",
                index=base,
                values="new_value",
                aggregate_function="last",
            )
            if len(updates)
            else pl.DataFrame(
                schema={"record_key": pl.String, "changeset_id": pl.Int64}
            )
        )
        first_seq = (
            pl.concat([updates.select(*base, "seq"), sources.select(*base, "seq")])
            .group_by(base)
            .agg(pl.col("seq").min())
        )
        provenance = pl.concat(
            [
                sources.select(*base),
                _decode(sources, "new_value", PROVENANCE, table, listing).select(
                    _given(c) for c in PROVENANCE
                ),
            ],
            how="horizontal",
        ).unique(base, keep="last")
        event = first_seq.join(changed, on=base, how="left").join(
            provenance, on=base, how="left"
        )
        parts.append(event.with_columns(pl.lit("update").alias("_event")))
    deletes = entries.filter(actions == "delete")
    parts.append(
        deletes.select(*base, "seq").with_columns(pl.lit("delete").alias("_event"))
    )
    events = pl.concat(
        [
            p.with_columns(
                pl.lit(None, dtype=pl.String).alias(c) for c in fields if c not in p
            ).select(*base, "seq", "_event", *fields)
            for p in parts
        ],
        how="vertical_relaxed",
    ).with_columns(pl.col(fields).cast(pl.String))
    if len(shared):
        defaults = pl.concat(
            [
                shared.select("changeset_id"),
                _decode(shared, "new_value", PROVENANCE, table, listing).select(
                    pl.col(c).alias(f"_shared{c}") for c in PROVENANCE
                ),
            ],
            how="horizontal",
        ).unique("changeset_id", keep="last")
        writes = pl.col("_event") != "delete"
        events = events.join(
            defaults, on="changeset_id", how="left", maintain_order="left"
        ).with_columns(
            pl.when(writes & pl.col(c).is_null() & pl.col(f"_shared{c}").is_not_null())
            .then(pl.lit(_SET) + pl.col(f"_shared{c}"))
            .otherwise(pl.col(c))
            .alias(c)
            for c in PROVENANCE
        )
        events = events.drop(f"_shared{c}" for c in PROVENANCE)
    twice = events.filter(pl.struct(base).is_duplicated())
    for row in twice.unique(base).head(_LISTED).iter_rows(named=True):
        listing.add(
            f"{table} {row['record_key']}: changeset {row['changeset_id']} holds "
            "more than one kind of entry for it"
        )
    return events.unique(base, keep="first").sort("record_key", "seq")


def _expected_versions(
    spec: DomainSpec,
    entries: pl.DataFrame,
    submissions: pl.DataFrame,
    listing: _Listing,
) -> pl.DataFrame:
    """Every version of every record as the trail says, as text columns."""
    table = str(record_table(spec.name).name)
    fields = [*spec.columns, *PROVENANCE]
    events = _record_events(spec, entries, listing)
    key = "record_key"
    before = pl.col("_event").shift(1).over(key)
    events = events.with_columns(
        before.alias("_before"),
        pl.col("changeset_id").shift(-1).over(key).alias("_ended_cs"),
    )
    stray = events.filter(
        (pl.col("_event") != "create")
        & (pl.col("_before").is_null() | (pl.col("_before") == "delete"))
    )
    for row in stray.head(_LISTED).iter_rows(named=True):
        listing.add(
            f"{table} {row[key]}: entry {row['seq']} ({row['_event']}) changes a "
            "record that does not exist at that point of the trail"
        )
    again = events.filter(
        (pl.col("_event") == "create")
        & pl.col("_before").is_not_null()
        & (pl.col("_before") != "delete")
    )
    for row in again.head(_LISTED).iter_rows(named=True):
        listing.add(
            f"{table} {row[key]}: created again by entry {row['seq']} while current"
        )
    filled = events.with_columns(pl.col(c).forward_fill().over(key) for c in fields)
    _check_old_values(spec, entries, filled, listing)
    versions = filled.filter(pl.col("_event") != "delete")
    return (
        versions.select(
            pl.col(key).alias("_key"),
            pl.col("changeset_id").alias("_created_cs"),
            "_ended_cs",
            *(_unmarked(c) for c in fields),
        )
        .join(submissions, on="_created_cs", how="left")
        .with_columns(
            pl.col("_created_cs").cast(pl.String),
            pl.col("_ended_cs").cast(pl.String),
            pl.col("_submission_id").cast(pl.String),
        )
    )


def _check_old_values(
    spec: DomainSpec, entries: pl.DataFrame, filled: pl.DataFrame, listing: _Listing
) -> None:
    """Check the old values of update and delete entries against the version before."""
    table = str(record_table(spec.name).name)
    changing = filled.filter(pl.col("_event") != "create")
    if changing.is_empty():
        return
    base = ["record_key", "changeset_id"]
    previous = (
        filled.with_columns(pl.col(c).shift(1).over("record_key") for c in spec.columns)
        .filter(pl.col("_event") != "create")
        .select(*base, *(_unmarked(c) for c in spec.columns))
        .unpivot(index=base, variable_name="field", value_name="_was")
    )
    updates = entries.filter(
        (pl.col("action") == "update") & pl.col("field").is_in(list(spec.columns))
    ).select(*base, "seq", "field", "old_value")
    deletes = entries.filter(pl.col("action") == "delete")
    if len(deletes):
        old = _decode(deletes, "old_value", spec.columns, table, listing)
        updates = pl.concat(
            [
                updates,
                pl.concat([deletes.select(*base, "seq"), old], how="horizontal")
                .unpivot(
                    index=[*base, "seq"], variable_name="field", value_name="old_value"
                )
                .select(*base, "seq", "field", "old_value"),
            ]
        )
    wrong = updates.join(previous, on=[*base, "field"], how="inner").filter(
        pl.col("old_value").ne_missing(pl.col("_was"))
    )
    for row in wrong.sort("seq").head(_LISTED).iter_rows(named=True):
        listing.add(
            f"{table} {row['record_key']}: entry {row['seq']} says {row['field']} was "
            f"{_show(row['old_value'])}; the version before had {_show(row['_was'])}"
        )
    listing.n += max(0, len(wrong) - _LISTED)


#: Bookkeeping columns of a version compared as text, and those compared as numbers.
_TEXT_BOOKKEEPING = ("_key", "_site_id", "_source_file")
_INT_BOOKKEEPING = ("_created_cs", "_ended_cs", "_submission_id", "_source_row")


def _stored_versions(conn: sa.Connection, spec: DomainSpec) -> pl.DataFrame:
    """Return every version in a record table, its domain columns as canonical text.

    The values are typed and turned into text by the store's own codec
    (:func:`~trialdata.store.codec.typed_frame`, which also puts back the exact
    values the typed columns cannot hold, and
    :func:`~trialdata.store.codec.canonical_text`), as ingest compares versions.
    """
    table = record_table(spec.name)
    names = [str(c.name) for c in table.columns]
    sql = select_sql(conn, str(table.name), names, "_rid")
    kinds = {
        **dict.fromkeys(names, "any"),
        **dict.fromkeys(_TEXT_BOOKKEEPING, "str"),
        **dict.fromkeys(("_rid", *_INT_BOOKKEEPING), "int"),
    }
    parts: list[pl.DataFrame] = []
    for rows in raw_chunks(conn, sql):
        columns = {
            name: arrow_column(values, kinds[name])
            for name, values in zip(names, zip(*rows, strict=True), strict=True)
        }
        text = canonical_text(typed_frame(pandas_frame(columns), spec), spec)
        parts.append(
            pl.DataFrame(
                [
                    pl.Series("_rid", columns["_rid"]),
                    *(pl.Series(c, text.arrow[c]).cast(pl.String) for c in text),
                    *(pl.Series(c, columns[c]) for c in _TEXT_BOOKKEEPING),
                    *(
                        pl.Series(c, columns[c]).cast(pl.String)
                        for c in _INT_BOOKKEEPING
                    ),
                ]
            )
        )
    if parts:
        return pl.concat(parts)
    return pl.DataFrame(
        schema={
            "_rid": pl.Int64,
            **dict.fromkeys(
                [*spec.columns, *_TEXT_BOOKKEEPING, *_INT_BOOKKEEPING], pl.String
            ),
        }
    )


def _replay_records(
    conn: sa.Connection,
    spec: DomainSpec,
    entries: pl.DataFrame,
    submissions: pl.DataFrame,
    out: Replay,
) -> None:
    """Rebuild every version of a domain's records; compare with the record table."""
    table = str(record_table(spec.name).name)
    listing = _Listing(out.problems, table)
    expected = _expected_versions(spec, entries, submissions, listing)
    actual = _stored_versions(conn, spec)
    out.row_counts[table] = len(actual)
    out.n_rows += len(actual)
    twice = actual.filter(pl.struct("_key", "_created_cs").is_duplicated())
    for row in twice.head(_LISTED).iter_rows(named=True):
        listing.add(
            f"{table} {row['_key']}: more than one version created by changeset "
            f"{row['_created_cs']} (_rid {row['_rid']})"
        )
    compared = [
        *spec.columns,
        "_site_id",
        "_source_file",
        "_source_row",
        "_ended_cs",
        "_submission_id",
    ]
    on = ["_key", "_created_cs"]
    _compare(
        expected.select(*on, *compared).with_columns(pl.lit(True).alias("_in_trail")),
        actual.unique(on, keep="first", maintain_order=True)
        .select(*on, *compared)
        .with_columns(pl.lit(True).alias("_in_table")),
        on,
        compared,
        listing,
        lambda row: (
            f"{table} {row['_key']} (version of changeset {row['_created_cs']})"
        ),
    )
    listing.close()


# --- changesets ----------------------------------------------------------------


def _implied_kind(pairs: frozenset[tuple[str, str]]) -> str | None:
    for kind, holds in KIND_RULES:
        if holds(pairs):
            return kind
    return None


def _check_changesets(
    changesets: pl.DataFrame,
    pairs: dict[int, frozenset[tuple[str, str]]],
    submissions: pl.DataFrame,
    out: Replay,
) -> None:
    """Check each changeset's kind and submission against what its entries did."""
    listing = _Listing(out.problems, "changesets")
    created = dict(
        zip(
            submissions["_created_cs"].to_list(),
            submissions["_submission_id"].to_list(),
            strict=True,
        )
    )
    ruled = {kind for kind, _ in KIND_RULES}
    for cs in changesets.iter_rows(named=True):
        cs_id = int(cs["id"])
        implied = _implied_kind(pairs.get(cs_id, frozenset()))
        kind = cs["kind"]
        if implied is not None and kind != implied:
            listing.add(
                f"changesets {cs_id}: kind is {kind!r} but its entries are those of "
                f"{implied!r}"
            )
        elif implied is None and kind in ruled:
            listing.add(
                f"changesets {cs_id}: kind is {kind!r} but its entries are not those "
                f"of {kind!r}"
            )
        submission = created.get(cs_id)
        recorded = cs["submission_id"]
        if recorded != (None if submission is None else int(submission)):
            listing.add(
                f"changesets {cs_id}: records submission {recorded}; its entries "
                f"create submission {submission}"
            )
    listing.close()


def _submissions(entries: pl.DataFrame, out: Replay) -> pl.DataFrame:
    """Return the submission each changeset created (``_created_cs`` -> id)."""
    created = entries.filter(pl.col("action") == "create").select(
        pl.col("changeset_id").alias("_created_cs"),
        pl.col("record_key").cast(pl.Int64, strict=False).alias("_submission_id"),
    )
    for cs in created.filter(pl.col("_created_cs").is_duplicated())[
        "_created_cs"
    ].unique():
        out.problems.append(f"changesets {cs}: creates more than one submission")
    return created.unique("_created_cs", keep="first")


def replay_store(
    conn: sa.Connection,
    trail: TrailCollector,
    changesets: pl.DataFrame,
    tables: Iterable[sa.Table] | None = None,
) -> Replay:
    """Replay the trail into every table and report every difference.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        Connection to the store.
    trail : TrailCollector
        The entries, collected while the chain was verified.
    changesets : polars.DataFrame
        The changesets table (``id``, ``kind``, ``submission_id``, ...).
    tables : iterable of sqlalchemy.Table, optional
        Tables to replay; by default every table of the store's metadata.

    Returns
    -------
    Replay
        Problems (each naming the table and the key) and the rows compared.
    """
    out = Replay()
    submissions = _submissions(trail.entries("submissions"), out)
    chosen = list(metadata.sorted_tables if tables is None else tables)
    names = {str(t.name) for t in [*metadata.sorted_tables, *chosen]}
    for name in sorted(trail.tables - names - set(_DOMAINS) - _TRAIL_TABLES):
        first = trail.entries(name)["seq"][0]
        out.problems.append(
            f"{name}: entries (the first is {first}) name a table the store does not "
            "have"
        )
    for table in chosen:
        name = str(table.name)
        if name in _TRAIL_TABLES:
            continue
        domain = name.removeprefix("rec_")
        if name.startswith("rec_") and domain in _DOMAINS:
            spec = _DOMAINS[domain]
            _replay_records(conn, spec, trail.entries(domain), submissions, out)
            trail.release(domain)
        else:
            _replay_rows(conn, table, trail.entries(name), out)
    _check_changesets(changesets, trail.pairs(), submissions, out)
    return out
