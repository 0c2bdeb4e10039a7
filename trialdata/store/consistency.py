"""Consistency of the stored trial: uploads checked against it, freezes refused on it.

The cross-domain rules judge a row next to the rows of other tables. An upload is
validated on its own first (:func:`trialdata.validation.validate_folder`), but the
store also holds the records of earlier uploads, and a row that is valid next to
the upload's other rows can break a rule next to the stored ones: a lot's release
date moved after a stored dose, a consent date moved after a stored adverse event.
Two checks close that gap, both with :func:`trialdata.validation.validate_tables`,
the engine that validates uploads and exported snapshots, on the canonical text of
the records (so that a check here and ``trialdata validate`` on an export agree):

- :func:`check_upload` validates the *merged view*: the stored current records with
  the rows the upload would write (creates and changes) laid over them, which is
  what the store would hold after the ingest. An error on a row the upload writes
  quarantines that row. An error on a stored row that the stored records alone do
  not have is a *conflict* the upload brought: it is pinned on the upload's rows
  that share an identifier with the stored row (its subject, lot, cohort or sample,
  directly or through the subject's or sample's record, or the value of the column
  the finding names) and whose removal makes the conflict go away (each domain's
  linked rows are removed in turn, then all of them together). Those rows are
  quarantined with a finding that names the stored record (its key, and the file,
  row and submission it was stored from). The view is checked again after each
  round of quarantine (a quarantined row can take other rows' basis away), at most
  :data:`MAX_ROUNDS` times; a conflict that cannot be pinned on rows is reported on
  the stored record (``flagged``) and left for ``freeze`` to refuse.
- :func:`validate_stored` validates the stored records alone, located by their key
  and the upload they came from (``freeze``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas.domains import DOMAINS, DomainSpec
from schemas.protocol import Protocol
from trialdata.findings import (
    FINDING_COLUMNS,
    Finding,
    Severity,
    empty_findings,
    findings_frame,
)
from trialdata.store.codec import CanonicalText, canonical_text, none_list
from trialdata.validation import validate_tables
from trialdata.validation.rule import SOURCE_FILE, SOURCE_ROW

__all__ = [
    "MAX_ROUNDS",
    "STORED_PREFIX",
    "Consistency",
    "Pending",
    "StoredDomain",
    "check_upload",
    "rule_summary",
    "validate_stored",
]

#: Source file given to a stored record in a checked view (``stored:<domain>``); its
#: source row there is the record version's ``_rid``.
STORED_PREFIX = "stored:"

#: Rounds of quarantine after which the merged view is checked one last time
#: without pinning conflicts on rows any more.
MAX_ROUNDS = 5

#: Columns that identify a record of another domain: the single-column keys
#: (subject, cohort, lot, sample). Rows sharing one of these values are linked.
LINK_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(spec.key[0] for spec in DOMAINS if len(spec.key) == 1)
)
_KEYED_BY: dict[str, str] = {
    spec.key[0]: spec.name for spec in DOMAINS if len(spec.key) == 1
}

#: Stored records named in one message, at most.
_NAMED = 3

#: Identity of a finding on a stored record: domain, ``_rid``, rule, column.
_Identity = tuple[str, int, str, str]


@dataclass(frozen=True)
class StoredDomain:
    """The current records of one domain.

    Attributes
    ----------
    spec : schemas.domains.DomainSpec
        The domain.
    data : pandas.DataFrame
        Current versions as :func:`trialdata.store.records.read_versions` returns
        them (typed columns, ``_rid``, ``_key``, ``_submission_id``,
        ``_source_file``, ``_source_row``).
    """

    spec: DomainSpec
    data: pd.DataFrame

    @cached_property
    def text(self) -> CanonicalText:
        """Canonical text of the records (computed once)."""
        return canonical_text(self.data, self.spec)

    @cached_property
    def rids(self) -> np.ndarray:
        """Version identifiers, one per record (int64)."""
        return pd.to_numeric(self.data["_rid"]).to_numpy(dtype=np.int64)

    @cached_property
    def _position(self) -> dict[int, int]:
        return {int(rid): i for i, rid in enumerate(self.rids)}

    def position(self, rid: int) -> int:
        """Return the position of the record with version ``rid``."""
        return self._position[int(rid)]

    def where(self, rid: int) -> str:
        """Return how a record is named in a message: key, source file and row."""
        i = self.position(rid)
        row = self.data.iloc[i]
        place = str(row["_source_file"])
        if not pd.isna(row["_source_row"]):
            place += f" row {int(row['_source_row'])}"
        if not pd.isna(row["_submission_id"]):
            place += f", submission {int(row['_submission_id'])}"
        return f"{self.spec.name} {row['_key']} ({place})"


@dataclass
class Pending:
    """One domain of an upload as the store would write it.

    Attributes
    ----------
    spec : schemas.domains.DomainSpec
        The domain.
    text : CanonicalText
        Canonical text of the upload's rows.
    keys, files, rows, subjects : numpy.ndarray
        Record key, source file, source row and subject of each row.
    written : numpy.ndarray of bool
        Rows the ingest would write (they create or change a record).
    replaces : numpy.ndarray of int
        For each row, the position in the stored records of the version it replaces
        (-1 when it replaces none).
    changed : dict of str to numpy.ndarray of bool
        Per column, the rows that change it (to name the column of a conflict).
    """

    spec: DomainSpec
    text: CanonicalText
    keys: np.ndarray
    files: np.ndarray
    rows: np.ndarray
    subjects: np.ndarray
    written: np.ndarray
    replaces: np.ndarray
    changed: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Consistency:
    """What checking an upload against the stored trial found.

    Attributes
    ----------
    rejected : dict of str to numpy.ndarray of bool
        Per domain of the upload, the further rows to quarantine.
    findings : pandas.DataFrame
        Error findings on those rows (:data:`~trialdata.findings.FINDING_COLUMNS`
        plus ``record_key``), located in the upload.
    flagged : pandas.DataFrame
        Conflicts with stored records that no row of the upload could be held
        responsible for, located at the stored records (file and row of the upload
        they came from, ``record_key``).
    n_validations : int
        How many times the merged view was validated (0 when not needed).
    """

    rejected: dict[str, np.ndarray]
    findings: pd.DataFrame
    flagged: pd.DataFrame
    n_validations: int = 0


def _text_series(chunks: list[pa.Array | pa.ChunkedArray]) -> pd.Series:
    """Return Arrow string chunks as one ``string[pyarrow]`` column."""
    parts: list[pa.Array] = []
    for chunk in chunks:
        chunk = chunk.cast(pa.large_string())
        parts.extend(chunk.chunks if isinstance(chunk, pa.ChunkedArray) else [chunk])
    joined = pa.chunked_array(parts, type=pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(joined))


def _pick(values: pa.Array | pa.ChunkedArray, mask: np.ndarray) -> pa.Array:
    return values if mask.all() else values.filter(pa.array(mask))


def _raw_table(
    spec: DomainSpec,
    stored: StoredDomain | None,
    keep: np.ndarray,
    pending: Pending | None,
    now: np.ndarray,
) -> pd.DataFrame:
    """Return a domain's rows of a view as raw text (possibly none).

    An optional column empty throughout is left out, as an export leaves it out: a
    column a site does not send is absent, and rules that look at a column only
    when it is present (seriousness criteria, for one) judge the records as they
    judged the upload.
    """
    n_stored = int(keep.sum())
    n_new = int(now.sum())
    columns: dict[str, pd.Series] = {}
    for name in spec.columns:
        chunks: list[pa.Array | pa.ChunkedArray] = [pa.array([], pa.large_string())]
        if n_stored:
            assert stored is not None
            chunks.append(_pick(stored.text.arrow[name], keep))
        if n_new:
            assert pending is not None
            chunks.append(_pick(pending.text.arrow[name], now))
        text = _text_series(chunks)
        if name in spec.required_columns or pa.array(text.array).null_count < len(text):
            columns[name] = text
    raw = pd.DataFrame(columns, index=pd.RangeIndex(n_stored + n_new))
    files = np.concatenate(
        [
            np.full(n_stored, STORED_PREFIX + spec.name, dtype=object),
            pending.files[now] if pending is not None else np.empty(0, dtype=object),
        ]
    )
    raw[SOURCE_FILE] = pd.Categorical(files)
    raw[SOURCE_ROW] = np.concatenate(
        [
            stored.rids[keep] if stored is not None else np.empty(0, dtype=np.int64),
            pending.rows[now].astype(np.int64)
            if pending is not None
            else np.empty(0, dtype=np.int64),
        ]
    )
    return raw


def _errors(findings: pd.DataFrame) -> pd.DataFrame:
    """Return the row-level error findings, marked ``stored`` when on a record."""
    errors = findings.loc[
        (findings["severity"] == Severity.ERROR) & findings["row"].notna()
    ].reset_index(drop=True)
    errors["stored"] = errors["file"].astype(str).str.startswith(STORED_PREFIX)
    return errors


def _identities(errors: pd.DataFrame) -> list[_Identity]:
    return [
        (str(d), int(r), str(rule), "" if pd.isna(c) else str(c))
        for d, r, rule, c in zip(
            errors["domain"],
            errors["row"],
            errors["rule"],
            errors["column"],
            strict=True,
        )
    ]


class _Checker:
    """The merged view of one upload, checked round by round (see module doc)."""

    def __init__(
        self,
        protocol: Protocol,
        stored: Mapping[str, StoredDomain],
        pending: Mapping[str, Pending],
        held: frozenset[str] = frozenset(),
    ) -> None:
        self.protocol = protocol
        self.stored = stored
        self.pending = pending
        self.held = held
        self.excluded = {
            name: np.zeros(len(p.keys), dtype=bool) for name, p in pending.items()
        }
        self.findings: list[pd.DataFrame] = []
        self.n_validations = 0
        self._before: set[_Identity] | None = None

    # -- the view ------------------------------------------------------------------

    def _now(self, name: str, excluded: Mapping[str, np.ndarray]) -> np.ndarray:
        p = self.pending.get(name)
        if p is None:
            return np.zeros(0, dtype=bool)
        return p.written & ~excluded[name]

    def _keep(self, name: str, excluded: Mapping[str, np.ndarray]) -> np.ndarray:
        s = self.stored.get(name)
        keep = np.ones(0 if s is None else len(s.data), dtype=bool)
        p = self.pending.get(name)
        if p is not None and len(keep):
            now = self._now(name, excluded)
            keep[p.replaces[now & (p.replaces >= 0)]] = False
        return keep

    def _validate(
        self, excluded: Mapping[str, np.ndarray] | None, *, stored_only: bool = False
    ) -> pd.DataFrame:
        """Validate a view; return its row-level error findings."""
        raw: dict[str, pd.DataFrame] = {}
        for spec in DOMAINS:
            s = self.stored.get(spec.name)
            p = None if stored_only or excluded is None else self.pending.get(spec.name)
            if s is None and p is None and spec.name not in self.held:
                continue
            if p is None or excluded is None:
                keep = np.ones(0 if s is None else len(s.data), dtype=bool)
                now = np.zeros(0, dtype=bool)
            else:
                keep = self._keep(spec.name, excluded)
                now = self._now(spec.name, excluded)
            # a domain the view has, even without rows: the rules that need it run
            # (rows of subjects whose rows were all quarantined are orphans)
            raw[spec.name] = _raw_table(spec, s, keep, p, now)
        self.n_validations += 1
        if not raw:
            return _errors(empty_findings())
        return _errors(validate_tables(self.protocol, raw)[1])

    def _before_upload(self) -> set[_Identity]:
        """Identities of the errors the stored records have on their own."""
        if self._before is None:
            errors = self._validate(None, stored_only=True)
            self._before = set(_identities(errors.loc[errors["stored"]]))
        return self._before

    def _conflicts(self, errors: pd.DataFrame) -> pd.DataFrame:
        """Return the errors on stored records that the upload brought."""
        on_stored = errors.loc[errors["stored"]].reset_index(drop=True)
        if on_stored.empty:
            return on_stored
        before = self._before_upload()
        fresh = [i not in before for i in _identities(on_stored)]
        return on_stored.loc[np.asarray(fresh, dtype=bool)].reset_index(drop=True)

    # -- rows ----------------------------------------------------------------------

    def _positions(self, errors: pd.DataFrame) -> pd.DataFrame:
        """Locate findings on upload rows: the findings with ``pos``, their row."""
        parts = []
        for name, group in errors.groupby("domain", sort=False):
            p = self.pending.get(str(name))
            if p is None:
                continue
            now = np.flatnonzero(self._now(str(name), self.excluded))
            rows = pd.DataFrame(
                {"file": p.files[now].astype(str), "row": p.rows[now], "pos": now}
            )
            hits = group.assign(
                file=group["file"].astype(str), row=group["row"].astype(np.int64)
            )
            parts.append(hits.merge(rows, on=["file", "row"], how="inner"))
        if not parts:
            return errors.assign(pos=pd.Series(dtype=np.int64)).iloc[:0]
        return pd.concat(parts, ignore_index=True)

    def _links(
        self, domain: str, values: Mapping[str, object], column: str | None
    ) -> set[tuple[str, str]]:
        """Return the identifier values of a row and of the records it names."""
        links = {
            (c, str(values[c]))
            for c in LINK_COLUMNS
            if c in values and values[c] is not None
        }
        if column and values.get(column) is not None:
            links.add((column, str(values[column])))
        for c, v in list(links):
            target = _KEYED_BY.get(c)
            if target is None or target == domain:
                continue
            record = self._view_row(target, c, v)
            if record is not None:
                links |= {
                    (c2, str(record[c2]))
                    for c2 in LINK_COLUMNS
                    if record.get(c2) is not None
                }
        return links

    def _view_row(
        self, domain: str, column: str, value: str
    ) -> dict[str, object] | None:
        """Return the text of the view's record of a domain with a key value."""
        p = self.pending.get(domain)
        if p is not None:
            hit = np.flatnonzero(
                self._now(domain, self.excluded) & (p.text[column] == value)
            )
            if len(hit):
                return {c: p.text[c][hit[0]] for c in p.spec.columns}
        s = self.stored.get(domain)
        if s is not None and len(s.data):
            keep = self._keep(domain, self.excluded)
            hit = np.flatnonzero(keep & (s.text[column] == value))
            if len(hit):
                return {c: s.text[c][hit[0]] for c in s.spec.columns}
        return None

    def _stored_values(self, domain: str, rid: int) -> dict[str, object]:
        s = self.stored[domain]
        i = s.position(rid)
        return {c: s.text[c][i] for c in s.spec.columns}

    def _linked_rows(self, links: set[tuple[str, str]], name: str) -> np.ndarray:
        """Rows of an upload domain written now that share a link value."""
        p = self.pending[name]
        now = self._now(name, self.excluded)
        hit = np.zeros(len(now), dtype=bool)
        wanted: dict[str, list[str]] = {}
        for c, v in links:
            if c in p.spec.columns:
                wanted.setdefault(c, []).append(v)
        for c, values in wanted.items():
            hit |= pd.Series(p.text[c], dtype=object).isin(values).to_numpy(dtype=bool)
        return hit & now

    # -- quarantine ----------------------------------------------------------------

    def _quarantine(
        self,
        name: str,
        positions: np.ndarray,
        findings: pd.DataFrame,
        messages: list[str],
        columns: list[str | None],
    ) -> None:
        """Quarantine rows of an upload domain, one finding each (aligned)."""
        p = self.pending[name]
        self.excluded[name][positions] = True
        values = findings["value"].reset_index(drop=True)
        self.findings.append(
            pd.DataFrame(
                {
                    "domain": name,
                    "file": p.files[positions].astype(str),
                    "row": p.rows[positions].astype(np.int64),
                    "subject_id": p.subjects[positions],
                    "column": list(columns),
                    "rule": findings["rule"].astype(str).to_numpy(),
                    "severity": str(Severity.ERROR),
                    "message": list(messages),
                    "value": none_list(values),
                    "record_key": p.keys[positions],
                }
            )
        )

    def _named(self, records: list[tuple[str, int]]) -> str:
        shown = [self.stored[d].where(rid) for d, rid in records[:_NAMED]]
        more = len(records) - len(shown)
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")

    def _with_stored(
        self,
        name: str,
        pos: int,
        rule: str,
        column: str | None,
        conflicts: pd.DataFrame,
    ) -> str:
        """Name the stored records that a row's finding shares with, if any."""
        same_rule = conflicts.loc[conflicts["rule"] == rule]
        if same_rule.empty:
            return ""
        p = self.pending[name]
        mine = self._links(name, {c: p.text[c][pos] for c in p.spec.columns}, column)
        records = [
            (str(d), int(rid))
            for d, rid, c in zip(
                same_rule["domain"], same_rule["row"], same_rule["column"], strict=True
            )
            if mine
            & self._links(
                str(d),
                self._stored_values(str(d), int(rid)),
                None if pd.isna(c) else str(c),
            )
        ]
        return f" (with stored {self._named(records)})" if records else ""

    def _quarantine_new(self, new: pd.DataFrame, conflicts: pd.DataFrame) -> None:
        """Quarantine the written rows with an error; name linked stored records."""
        located = self._positions(new)
        plain = (
            " (checked against the stored trial, without this upload's quarantined "
            "rows)"
        )
        for name, group in located.groupby("domain", sort=False):
            messages = group["message"].astype(str).to_numpy(dtype=object)
            columns = none_list(group["column"])
            suffix = np.full(len(group), plain, dtype=object)
            shared = group["rule"].isin(set(conflicts.get("rule", []))).to_numpy()
            for j in np.flatnonzero(shared):
                named = self._with_stored(
                    str(name),
                    int(group["pos"].iloc[j]),
                    str(group["rule"].iloc[j]),
                    columns[j],
                    conflicts,
                )
                suffix[j] = named or plain
            self._quarantine(
                str(name),
                group["pos"].to_numpy(dtype=np.int64),
                group,
                list(messages + suffix),
                columns,
            )

    def _attribute(self, todo: pd.DataFrame) -> set[_Identity]:
        """Pin conflicts on the upload's rows; return the identities pinned."""
        idents = _identities(todo)
        candidates: list[dict[str, np.ndarray]] = []
        for i in range(len(todo)):
            domain, rid, _, column = idents[i]
            links = self._links(
                domain, self._stored_values(domain, rid), column or None
            )
            found = {}
            for name in self.pending:
                rows = self._linked_rows(links, name)
                if rows.any():
                    found[name] = rows
            candidates.append(found)
        blamed: list[dict[str, np.ndarray]] = [{} for _ in idents]
        names = list(dict.fromkeys(n for c in candidates for n in c))
        for name in names:
            union = np.logical_or.reduce([c[name] for c in candidates if name in c])
            remaining = self._remaining({name: union})
            for i, ident in enumerate(idents):
                if name in candidates[i] and ident not in remaining:
                    blamed[i][name] = candidates[i][name]
        loose = [i for i in range(len(idents)) if candidates[i] and not blamed[i]]
        if loose:
            together: dict[str, np.ndarray] = {}
            for i in loose:
                for name, rows in candidates[i].items():
                    together[name] = together.get(name, False) | rows
            remaining = self._remaining(together)
            for i in loose:
                if idents[i] not in remaining:
                    blamed[i] = candidates[i]
        self._quarantine_blamed(todo, idents, blamed)
        return {ident for ident, b in zip(idents, blamed, strict=True) if b}

    def _remaining(self, removed: Mapping[str, np.ndarray]) -> set[_Identity]:
        """Identities of errors on stored records with some written rows removed."""
        trial = {
            name: mask | removed[name] if name in removed else mask
            for name, mask in self.excluded.items()
        }
        errors = self._validate(trial)
        return set(_identities(errors.loc[errors["stored"]]))

    def _quarantine_blamed(
        self,
        todo: pd.DataFrame,
        idents: list[_Identity],
        blamed: list[dict[str, np.ndarray]],
    ) -> None:
        by_row: dict[tuple[str, int], list[int]] = {}
        for i, rows in enumerate(blamed):
            for name, mask in rows.items():
                for at in np.flatnonzero(mask):
                    by_row.setdefault((name, int(at)), []).append(i)
        for (name, pos), causes in by_row.items():
            p = self.pending[name]
            for rule in dict.fromkeys(idents[i][2] for i in causes):
                mine = [i for i in causes if idents[i][2] == rule]
                first = todo.loc[[mine[0]]]
                records = [(idents[i][0], idents[i][1]) for i in mine]
                changed = [c for c, m in p.changed.items() if m[pos]]
                column: str | None = idents[mine[0]][3] or None
                if column not in p.spec.columns:
                    column = changed[0] if len(changed) == 1 else None
                message = (
                    f"conflicts with stored {self._named(records)}: "
                    f"{first['message'].iloc[0]}"
                )
                self._quarantine(
                    name, np.asarray([pos], dtype=np.int64), first, [message], [column]
                )

    # -- rounds --------------------------------------------------------------------

    def _any_written(self) -> bool:
        return any(self._now(name, self.excluded).any() for name in self.pending)

    def run(self) -> Consistency:
        """Check the merged view until it holds no new error (see module doc)."""
        given_up: set[_Identity] = set()
        conflicts = pd.DataFrame()
        checked = False  # whether ``conflicts`` describes the current view
        for _ in range(MAX_ROUNDS):
            if not self._any_written():
                conflicts, checked = pd.DataFrame(), True
                break
            errors = self._validate(self.excluded)
            new = errors.loc[~errors["stored"]].reset_index(drop=True)
            conflicts, checked = self._conflicts(errors), True
            if len(new):
                self._quarantine_new(new, conflicts)
                checked = False
                continue
            todo = conflicts.loc[
                [i not in given_up for i in _identities(conflicts)]
            ].reset_index(drop=True)
            if todo.empty:
                break
            pinned = self._attribute(todo)
            given_up |= set(_identities(todo)) - pinned
            if not pinned:
                break
            checked = False
        if not checked and self._any_written():
            errors = self._validate(self.excluded)
            new = errors.loc[~errors["stored"]].reset_index(drop=True)
            conflicts = self._conflicts(errors)
            if len(new):
                self._quarantine_new(new, conflicts)
        elif not checked:
            conflicts = pd.DataFrame()
        return Consistency(
            rejected=self.excluded,
            findings=_frame(self.findings),
            flagged=self._flagged(conflicts),
            n_validations=self.n_validations,
        )

    def _flagged(self, conflicts: pd.DataFrame) -> pd.DataFrame:
        """Locate unresolved conflicts at their stored records."""
        if conflicts.empty:
            return _frame([])
        located = locate_stored(conflicts.drop(columns="stored"), self.stored)
        submission = located["submission_id"].astype(object)
        located["message"] = [
            f"{message} (stored record"
            + ("" if pd.isna(number) else f" of submission {int(number)}")
            + "; the conflict arises with this upload, whose rows involved could "
            "not be singled out)"
            for message, number in zip(located["message"], submission, strict=True)
        ]
        return located.drop(columns="submission_id")


def _frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Return findings (with ``record_key``) as one frame, also when there are none."""
    columns = [*FINDING_COLUMNS, "record_key"]
    frame = pd.concat([pd.DataFrame(columns=columns), *parts], ignore_index=True)[
        columns
    ]
    frame["row"] = frame["row"].astype("Int64")
    return frame


def locate_stored(
    findings: pd.DataFrame, stored: Mapping[str, StoredDomain]
) -> pd.DataFrame:
    """Put findings on stored records at the file and row the records came from.

    Parameters
    ----------
    findings : pandas.DataFrame
        Findings of a view whose stored records have the source file
        ``stored:<domain>`` and their ``_rid`` as source row.
    stored : mapping of str to StoredDomain
        The stored records.

    Returns
    -------
    pandas.DataFrame
        :data:`~trialdata.findings.FINDING_COLUMNS` plus ``record_key`` and
        ``submission_id``: findings on stored records get the record's key, source
        file, source row and submission; other findings keep their place.
    """
    out = findings[list(FINDING_COLUMNS)].reset_index(drop=True).copy()
    out["row"] = out["row"].astype("Int64")
    out["record_key"] = pd.Series(None, index=out.index, dtype=object)
    out["submission_id"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    on_record = out["file"].astype(str).str.startswith(STORED_PREFIX) & out[
        "row"
    ].notna().to_numpy(dtype=bool)
    for domain, group in out.loc[on_record].groupby("domain", sort=False):
        s = stored.get(str(domain))
        if s is None:
            continue
        at = pd.Index(s.rids).get_indexer(pd.Index(group["row"].astype(np.int64)))
        known = at >= 0
        index = group.index[known]
        records = s.data.iloc[at[known]]
        out.loc[index, "record_key"] = records["_key"].astype(object).to_numpy()
        out.loc[index, "file"] = records["_source_file"].astype(object).to_numpy()
        out.loc[index, "row"] = records["_source_row"].astype("Int64").to_numpy()
        out.loc[index, "submission_id"] = (
            records["_submission_id"].astype("Int64").to_numpy()
        )
    return out


def check_upload(
    protocol: Protocol,
    stored: Mapping[str, StoredDomain],
    pending: Mapping[str, Pending],
    *,
    held: frozenset[str] = frozenset(),
) -> Consistency:
    """Check what an upload would write against the stored trial.

    Parameters
    ----------
    protocol : schemas.protocol.Protocol
        The upload's protocol.
    stored : mapping of str to StoredDomain
        Current records of every domain that has any.
    pending : mapping of str to Pending
        The upload's domains, with the rows the ingest would write.
    held : frozenset of str, optional
        Domains whose file the upload brought but that were quarantined whole
        without a row read: the view has them (with the stored records only, or
        empty), in the stored records' own check too, so that the rows that need
        them (a lab result of a subject in a held subjects file) are orphans.

    Returns
    -------
    Consistency
        Further rows to quarantine with their findings, and the conflicts left on
        stored records.
    """
    return _Checker(protocol, stored, pending, held).run()


def validate_stored(
    protocol: Protocol, stored: Mapping[str, StoredDomain]
) -> pd.DataFrame:
    """Validate the stored records on their own, as an export of them would be.

    Parameters
    ----------
    protocol : schemas.protocol.Protocol
        The protocol to check them against.
    stored : mapping of str to StoredDomain
        The records (e.g. current ones, or a snapshot's).

    Returns
    -------
    pandas.DataFrame
        Every finding (errors and warnings), located as by :func:`locate_stored`;
        a domain the protocol requires that has no records is an RD-006 error, as
        the missing file of an export would be.
    """
    raw = {}
    missing = []
    for spec in DOMAINS:
        s = stored.get(spec.name)
        if s is None or not len(s.data):
            if spec.name in protocol.required_domains:
                missing.append(
                    Finding(
                        spec.name,
                        f"{spec.name}.csv",
                        None,
                        None,
                        None,
                        "RD-006",
                        Severity.ERROR,
                        f"required domain {spec.name} has no stored records",
                    )
                )
            continue
        keep = np.ones(len(s.data), dtype=bool)
        raw[spec.name] = _raw_table(spec, s, keep, None, np.zeros(0, dtype=bool))
    found = validate_tables(protocol, raw)[1] if raw else empty_findings()
    return locate_stored(findings_frame([findings_frame(missing), found]), stored)


def rule_summary(findings: pd.DataFrame, *, examples: int = _NAMED) -> list[str]:
    """Return lines listing error findings by rule: count, then a few examples.

    Parameters
    ----------
    findings : pandas.DataFrame
        Findings with ``domain``, ``file``, ``row``, ``rule``, ``severity`` and
        ``message``, and optionally ``record_key`` and ``submission_id``.
    examples : int, optional
        Examples per rule.

    Returns
    -------
    list of str
        Per rule, in order of its first finding, ``"XD-008: 2 error(s)"`` and
        below it one indented line per example (``"  - administrations TOL-005|1
        (administrations.csv row 26, submission 1): message"``), then
        ``"  - and N more"``.
    """
    errors = findings.loc[findings["severity"] == Severity.ERROR]
    lines = []
    for rule, group in errors.groupby("rule", sort=False):
        lines.append(f"{rule}: {len(group)} error(s)")
        for row in group.head(examples).to_dict("records"):
            label = str(row["domain"])
            key = row.get("record_key")
            if key is not None and not pd.isna(key):
                label += f" {key}"
            place = [] if pd.isna(row["file"]) else [str(row["file"])]
            if place and not pd.isna(row["row"]):
                place[0] += f" row {int(row['row'])}"
            number = row.get("submission_id")
            if number is not None and not pd.isna(number):
                place.append(f"submission {int(number)}")
            where = f" ({', '.join(place)})" if place else ""
            lines.append(f"  - {label}{where}: {row['message']}")
        if len(group) > examples:
            lines.append(f"  - and {len(group) - examples} more")
    return lines
