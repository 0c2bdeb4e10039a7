"""Turn a clean demo upload into a realistic dirty one, with the answer key.

Each injection edits the text cells of one or two rows the way a site gets them wrong
(a typo in a term, a European date, a row entered twice, a dose recorded after consent
withdrawal, ...) and records the findings validation must report: rule, file, row and
column. Targets are chosen so that each injection yields exactly the findings recorded:
rows are never reused, and values that other rules read are kept consistent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trialdata.demo.common import choose, dose_levels
from trialdata.demo.writer import file_name, to_text

__all__ = ["Expected", "InjectionError", "inject_errors"]

ORDER = "_order"


class InjectionError(ValueError):
    """The demo trial is too small to hold every injected error."""


@dataclass(frozen=True)
class Expected:
    """A finding that validation must report for an injected error.

    Attributes
    ----------
    rule : str
        Rule id.
    file : str
        File name.
    row : int or None
        1-based line (header = 1), None for file-level findings.
    column : str
        Column named by the finding.
    what : str
        What was injected, in words.
    """

    rule: str
    file: str
    row: int | None
    column: str
    what: str

    def as_dict(self) -> dict[str, Any]:
        """Return the answer-key entry: rule, file, row, column and what."""
        return {
            "rule": self.rule,
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "what": self.what,
        }


@dataclass
class _Upload:
    """Text tables being edited, the typed originals, and the findings expected."""

    tables: Mapping[str, pd.DataFrame]
    texts: dict[str, pd.DataFrame]
    protocol: Mapping[str, Any]
    rng: np.random.Generator
    used: dict[str, set[int]] = field(default_factory=dict)
    expected: list[tuple[str, str, float | None, str, str]] = field(
        default_factory=list
    )
    extra: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def pick(self, domain: str, mask: pd.Series | np.ndarray, what: str) -> int:
        """Choose an unused row of ``domain`` where ``mask`` holds; mark it used."""
        table = self.tables[domain]
        ok = pd.Series(np.asarray(mask, dtype=bool), index=table.index)
        ok &= ~table.index.isin(list(self.used.get(domain, set())))
        candidates = table.index[ok.to_numpy()]
        if not len(candidates):
            raise InjectionError(
                f"no row of {domain} can take the injected error '{what}'; "
                "generate more subjects"
            )
        chosen = int(candidates.to_numpy()[self.rng.integers(0, len(candidates))])
        self.used.setdefault(domain, set()).add(chosen)
        return chosen

    def put(self, domain: str, row: int, column: str, value: Any) -> None:
        """Overwrite one text cell."""
        self.texts[domain].loc[row, column] = value

    def cell(self, domain: str, row: int, column: str) -> Any:
        """Return a typed value of the original table."""
        return self.tables[domain].loc[row, column]

    def add_row(self, domain: str, after: int, values: dict[Any, Any]) -> float:
        """Insert a new text row right after row ``after``; return its order key."""
        order = float(after) + 0.5 + 0.01 * len(self.extra.get(domain, []))
        self.extra.setdefault(domain, []).append({**values, ORDER: order})
        return order

    def expect(
        self, rule: str, domain: str, row: float | None, column: str, what: str
    ) -> None:
        """Record a finding validation must report."""
        self.expected.append((rule, domain, row, column, what))

    def subjects_where(self, mask: pd.Series) -> set[str]:
        """Return the ids of subjects where ``mask`` holds."""
        return set(self.tables["subjects"].loc[mask, "subject_id"])


def _first_dose(up: _Upload) -> pd.Series:
    admin = up.tables["administrations"]
    given = admin[admin["given"].fillna(False).astype(bool)]
    return given.groupby("subject_id")["admin_date"].min()


def _quiet_subjects(up: _Upload) -> set[str]:
    """Subjects who neither withdrew, died nor relapsed."""
    subjects = up.tables["subjects"]
    survival = up.tables["survival_status"]
    gone = set(subjects.loc[subjects["withdrawal_date"].notna(), "subject_id"])
    gone |= set(survival.loc[survival["death_date"].notna(), "subject_id"])
    assessments = up.tables["disease_assessments"]
    gone |= set(assessments.loc[assessments["progression"].astype(bool), "subject_id"])
    return set(subjects["subject_id"]) - gone


def _lot_row(up: _Upload, lot_id: Any) -> int:
    """Return the row of product_lots that holds lot ``lot_id``.

    Parameters
    ----------
    up : _Upload
        The upload being edited.
    lot_id : object
        A lot id named by an administration.

    Returns
    -------
    int
        Index of the lot's first row in the product_lots table.
    """
    lots = up.tables["product_lots"]
    return int(lots.index[(lots["lot_id"] == lot_id).to_numpy()][0])


def _withdrawn(up: _Upload) -> pd.Series:
    subjects = up.tables["subjects"]
    return subjects.loc[subjects["withdrawal_date"].notna()].iloc[0]


# --- file-level -------------------------------------------------------------------


def identifier_column(up: _Upload) -> None:
    """Add an ``initials`` column to subjects (RD-005)."""
    n = len(up.texts["subjects"])
    letters = np.array(list("ABCDEFGHIJKLMNOPRSTUVW"))
    initials = np.char.add(
        letters[up.rng.integers(0, len(letters), n)],
        letters[up.rng.integers(0, len(letters), n)],
    )
    up.texts["subjects"].insert(1, "initials", initials.astype(object))
    up.expect("RD-005", "subjects", None, "initials", "initials column in subjects")


def unknown_column(up: _Upload) -> None:
    """Add a local comment column to labs (RD-003)."""
    n = len(up.texts["labs"])
    comment = choose(up.rng.random(n) < 0.02, "haemolysed sample", None)
    up.texts["labs"]["lab_comment"] = comment
    up.expect("RD-003", "labs", None, "lab_comment", "extra lab_comment column")


# --- single values ---------------------------------------------------------------


def european_date(up: _Upload) -> None:
    """Write a resolution date as DD/MM/YYYY (RD-008)."""
    events = up.tables["adverse_events"]
    i = up.pick("adverse_events", events["resolution_date"].notna(), "European date")
    date = up.cell("adverse_events", i, "resolution_date")
    up.put("adverse_events", i, "resolution_date", f"{date:%d/%m/%Y}")
    up.expect("RD-008", "adverse_events", i, "resolution_date", "date as DD/MM/YYYY")


def route_typo(up: _Upload) -> None:
    """Abbreviate the route of a later dose (SC-TERM)."""
    admin = up.tables["administrations"]
    given = admin["given"].fillna(False).astype(bool)
    later = given & (admin["admin_seq"] >= 2) if admin["admin_seq"].max() > 1 else given
    i = up.pick("administrations", later, "route abbreviation")
    short = {"INTRADERMAL": "ID", "INTRANODAL": "IN", "INTRAVENOUS": "IV"}
    route = str(up.cell("administrations", i, "route"))
    up.put("administrations", i, "route", short.get(route, route.lower()))
    up.expect("SC-TERM", "administrations", i, "route", f"route {short[route]!r}")


def viability_out_of_range(up: _Upload) -> None:
    """Enter viability 150 % for a rejected lot (SC-RANGE)."""
    lots = up.tables["product_lots"]
    i = up.pick("product_lots", lots["release_status"] == "REJECTED", "viability 150")
    up.put("product_lots", i, "viability_pct", "150")
    up.expect("SC-RANGE", "product_lots", i, "viability_pct", "viability 150 %")


def missing_required(up: _Upload, domain: str, column: str) -> None:
    """Leave a required value empty (SC-NULL)."""
    i = up.pick(domain, np.ones(len(up.tables[domain]), bool), f"empty {column}")
    up.put(domain, i, column, None)
    up.expect("SC-NULL", domain, i, column, f"empty {column}")


def duplicated_event(up: _Upload) -> None:
    """Enter an adverse event twice (SC-KEY on both rows)."""
    events = up.tables["adverse_events"]
    i = up.pick("adverse_events", np.ones(len(events), bool), "duplicated AE")
    row = up.texts["adverse_events"].loc[i].drop(ORDER).to_dict()
    copy = up.add_row("adverse_events", i, row)
    key = "subject_id+ae_seq"
    up.expect("SC-KEY", "adverse_events", i, key, "AE entered twice")
    up.expect("SC-KEY", "adverse_events", copy, key, "AE entered twice (copy)")


def unknown_subject(up: _Upload) -> None:
    """Give a lab result a subject number that was never enrolled (XD-001)."""
    labs = up.tables["labs"]
    i = up.pick("labs", np.ones(len(labs), bool), "unknown subject")
    ids = up.tables["subjects"]["subject_id"]
    prefix, number = str(ids.iloc[-1]).rsplit("-", 1)
    unknown = f"{prefix}-{int(number) + 1:0{len(number)}d}"
    up.put("labs", i, "subject_id", unknown)
    up.expect("XD-001", "labs", i, "subject_id", f"unknown subject {unknown}")


def resolved_before_onset(up: _Upload) -> None:
    """Date a resolution three days before the onset (AE-001)."""
    events = up.tables["adverse_events"]
    i = up.pick("adverse_events", events["resolution_date"].notna(), "AE-001")
    onset = up.cell("adverse_events", i, "onset_date")
    up.put(
        "adverse_events",
        i,
        "resolution_date",
        f"{onset - pd.Timedelta(days=3):%Y-%m-%d}",
    )
    up.expect("AE-001", "adverse_events", i, "resolution_date", "resolved before onset")


def dlt_outside_window(up: _Upload) -> None:
    """Flag as DLT an event that started after the DLT window (XD-009)."""
    events = up.tables["adverse_events"]
    first = events["subject_id"].map(_first_dose(up))
    window = int(up.protocol["dlt_window_days"])
    late = (events["onset_date"] - first).dt.days > window + 1
    i = up.pick("adverse_events", late & ~events["dlt"].astype(bool), "late DLT")
    up.put("adverse_events", i, "dlt", "Y")
    up.expect("XD-009", "adverse_events", i, "dlt", "DLT after the DLT window")


def wrong_dose_level(up: _Upload) -> None:
    """Record a dose at the level below the cohort's, with that amount (XD-005).

    The escalation the design review (XD-023) rebuilds must not change, and it counts
    a subject at the highest level given: so the dose is a later one (tolDC-ms), or
    the infusion of an expansion subject, whose cohort may be dosed below the level
    the escalation cleared. A trial without either (nk-aml with no subject beyond the
    escalation) spoils the infusion of the last subject dosed: that subject is then
    dosed at a level the design did not allow (XD-023 on the same row), and, being
    the last, changes nothing the design decided later.
    """
    admin = up.tables["administrations"]
    levels = dose_levels(up.protocol)
    given = admin["given"].fillna(False).astype(bool)
    level = pd.to_numeric(admin["dose_level"], errors="coerce")
    subjects = up.tables["subjects"].set_index("subject_id")["cohort_id"]
    expansion = (
        admin["subject_id"]
        .map(subjects)
        .isin(up.protocol["design"].get("expansion_cohorts", []))
    )
    later = given & (level >= 2) & (admin["admin_seq"] >= 2)
    expanded = given & (level >= 2) & expansion
    deviation = not (later.any() or expanded.any())
    if deviation:
        dates = admin.loc[given, "admin_date"]
        mask = admin.index == dates.index[dates.to_numpy() == dates.max()][-1]
    else:
        mask = later if later.any() else expanded
    i = up.pick("administrations", mask, "XD-005")
    dosed = int(up.cell("administrations", i, "dose_level"))
    wrong = dosed - 1 if dosed >= 2 else dosed + 1
    up.put("administrations", i, "dose_level", str(wrong))
    up.put("administrations", i, "dose_amount", repr(float(levels[wrong]["amount"])))
    up.expect("XD-005", "administrations", i, "dose_level", f"dose level {wrong}")
    if deviation:
        up.expect(
            "XD-023",
            "administrations",
            i,
            "dose_level",
            f"last subject dosed at dose level {wrong}, which the design did not allow",
        )


def onset_before_consent(up: _Upload) -> None:
    """Date an adverse event before the subject's consent (XD-002)."""
    events = up.tables["adverse_events"]
    consent = events["subject_id"].map(
        up.tables["subjects"].set_index("subject_id")["consent_date"]
    )
    i = up.pick("adverse_events", ~events["dlt"].astype(bool), "onset before consent")
    date = consent.loc[i] - pd.Timedelta(days=5)
    up.put("adverse_events", i, "onset_date", f"{date:%Y-%m-%d}")
    up.expect("XD-002", "adverse_events", i, "onset_date", "onset before consent")


def shared_position(up: _Upload) -> None:
    """Put a stored sample in a position another stored sample occupies (BB-001)."""
    samples = up.tables["biobank_samples"]
    stored = samples["destroyed_date"].isna() & samples["storage_position"].notna()
    stored &= samples["subject_id"].isin(_quiet_subjects(up))
    a = up.pick("biobank_samples", stored, "shared position")
    position = str(samples.loc[a, "storage_position"])
    b = up.pick(
        "biobank_samples",
        stored & (samples["storage_position"].str[:3] == position[:3]),
        "shared position",
    )
    up.put("biobank_samples", b, "storage_position", position)
    for row in (a, b):
        up.expect(
            "BB-001", "biobank_samples", row, "storage_position", "two in one position"
        )


def visit_out_of_window(up: _Upload, domain: str, column: str) -> None:
    """Date a month-6 visit 25 days late (XD-011)."""
    data = up.tables[domain]
    mask = (data["visit"] == "M6") & data["subject_id"].isin(_quiet_subjects(up))
    i = up.pick(domain, mask, "visit out of window")
    late = up.cell(domain, i, column) + pd.Timedelta(days=25)
    up.put(domain, i, column, f"{late:%Y-%m-%d}")
    up.expect("XD-011", domain, i, column, "M6 visit 25 days late")


def inverted_range(up: _Upload) -> None:
    """Swap a lab result's normal-range limits (LB-001)."""
    labs = up.tables["labs"]
    i = up.pick("labs", labs["lower_limit"] < labs["upper_limit"], "inverted range")
    text = up.texts["labs"]
    low, high = text.loc[i, "lower_limit"], text.loc[i, "upper_limit"]
    up.put("labs", i, "lower_limit", high)
    up.put("labs", i, "upper_limit", low)
    up.expect("LB-001", "labs", i, "lower_limit", "normal range limits swapped")


def frozen_before_processing(up: _Upload) -> None:
    """Record a freezing time before the processing time (BB-002)."""
    samples = up.tables["biobank_samples"]
    i = up.pick("biobank_samples", samples["freezing_time"].notna(), "BB-002")
    early = up.cell("biobank_samples", i, "processing_time") - pd.Timedelta(minutes=30)
    up.put("biobank_samples", i, "freezing_time", f"{early:%Y-%m-%dT%H:%M}")
    up.expect(
        "BB-002", "biobank_samples", i, "freezing_time", "frozen before processed"
    )


def fatal_not_grade5(up: _Upload) -> None:
    """Record outcome FATAL for a non-fatal grade (AE-004)."""
    events = up.tables["adverse_events"]
    i = up.pick("adverse_events", events["grade"] < 5, "FATAL below grade 5")
    up.put("adverse_events", i, "outcome", "FATAL")
    up.expect("AE-004", "adverse_events", i, "outcome", "FATAL with grade below 5")


# --- subject courses ---------------------------------------------------------------


def dose_after_withdrawal(up: _Upload) -> None:
    """Record the withdrawn subject's next planned dose as given (XD-003).

    The dose is complete and consistent (date on the planned visit day, cohort dose,
    route and lot), so withdrawal is the only problem.
    """
    admin = up.tables["administrations"]
    who = _withdrawn(up)["subject_id"]
    skipped = (admin["subject_id"] == who) & ~admin["given"].astype(bool)
    skipped &= admin["reason_not_given"].eq("Consent withdrawn")
    i = int(admin.index[skipped.to_numpy()][0])
    up.used.setdefault("administrations", set()).add(i)
    done = admin[(admin["subject_id"] == who) & admin["given"].astype(bool)].iloc[0]
    visit = {v["name"]: v["day"] for v in up.protocol["visits"]}[admin.loc[i, "visit"]]
    date = _first_dose(up)[who] + pd.Timedelta(days=visit)
    edits = {
        "given": "Y",
        "reason_not_given": None,
        "admin_date": f"{date:%Y-%m-%d}",
        "dose_level": str(int(done["dose_level"])),
        "dose_amount": repr(float(done["dose_amount"])),
        "dose_unit": str(done["dose_unit"]),
        "route": str(done["route"]),
        "injection_site": str(done["injection_site"]),
        "lot_id": str(done["lot_id"]),
    }
    for column, value in edits.items():
        up.put("administrations", i, column, value)
    up.expect("XD-003", "administrations", i, "admin_date", "dose after withdrawal")


def reason_missing(up: _Upload) -> None:
    """Leave the reason of a dose not given empty (AD-001)."""
    admin = up.tables["administrations"]
    i = up.pick("administrations", ~admin["given"].astype(bool), "AD-001")
    up.put("administrations", i, "reason_not_given", None)
    up.expect("AD-001", "administrations", i, "reason_not_given", "no reason not given")


def sample_after_withdrawal(up: _Upload) -> None:
    """Report an M3 NK-cell result for the subject who withdrew before M3 (XD-003)."""
    immuno = up.tables["immunomonitoring"]
    who = _withdrawn(up)["subject_id"]
    mine = immuno.index[(immuno["subject_id"] == who).to_numpy()]
    if not len(mine):
        raise InjectionError("the withdrawn subject has no immunomonitoring results")
    last = int(mine[-1])
    date = _first_dose(up)[who] + pd.Timedelta(days=90)
    row = up.texts["immunomonitoring"].loc[last].drop(ORDER).to_dict()
    nk = immuno[immuno["analyte"] == "NK cells CD56+CD3-"].iloc[0]
    row.update(
        visit="M3",
        collection_date=f"{date:%Y-%m-%d}",
        sample_id=None,
        assay=nk["assay"],
        analyte=nk["analyte"],
        parent_population=nk["parent_population"],
        value="14.2",
        unit=nk["unit"],
        lloq=repr(float(nk["lloq"])),
        uloq=None,
        batch=f"FLOW-{date:%Y%m}",
    )
    order = up.add_row("immunomonitoring", last, row)
    up.expect(
        "XD-003",
        "immunomonitoring",
        order,
        "collection_date",
        "sample after withdrawal",
    )


def record_after_death(up: _Upload) -> None:
    """Add a haemoglobin result a week after a subject's death (XD-010)."""
    survival = up.tables["survival_status"]
    dead = survival.loc[survival["death_date"].notna()].iloc[0]
    labs = up.tables["labs"]
    mine = labs.index[(labs["subject_id"] == dead["subject_id"]).to_numpy()]
    last = int(mine[-1])
    date = pd.Timestamp(dead["death_date"]) + pd.Timedelta(days=7)
    row = up.texts["labs"].loc[last].drop(ORDER).to_dict()
    row.update(
        visit=None,
        lab_date=f"{date:%Y-%m-%d}",
        test_code="HGB",
        value="98.0",
        unit="g/L",
        lower_limit="120.0",
        upper_limit="170.0",
    )
    if "lab_comment" in row:
        row["lab_comment"] = None
    order = up.add_row("labs", last, row)
    up.expect("XD-010", "labs", order, "lab_date", "lab result after death")


def lot_released_late(up: _Upload) -> None:
    """Date a lot's release the day after its first dose (XD-008)."""
    admin = up.tables["administrations"]
    first = admin["admin_seq"] == 1
    i = up.pick("administrations", first & admin["given"].astype(bool), "XD-008")
    j = _lot_row(up, admin.loc[i, "lot_id"])
    late = admin["admin_date"].iloc[i] + pd.Timedelta(days=1)
    up.put("product_lots", j, "release_date", f"{late:%Y-%m-%d}")
    up.expect("XD-008", "administrations", i, "admin_date", "dosed before lot release")


def lot_pending(up: _Upload) -> None:
    """Infuse a lot still pending release (XD-008)."""
    admin = up.tables["administrations"]
    i = up.pick("administrations", admin["given"].astype(bool), "XD-008")
    j = _lot_row(up, admin.loc[i, "lot_id"])
    up.put("product_lots", j, "release_status", "PENDING")
    up.put("product_lots", j, "release_date", None)
    up.expect("XD-008", "administrations", i, "lot_id", "lot pending release")


Injection = Callable[[_Upload], None]

#: Injections per archetype, applied in order.
INJECTIONS: dict[str, tuple[Injection, ...]] = {
    "tolDC-ms": (
        identifier_column,
        unknown_column,
        dose_after_withdrawal,
        reason_missing,
        lot_released_late,
        european_date,
        route_typo,
        viability_out_of_range,
        lambda up: missing_required(up, "mri", "reader_id"),
        duplicated_event,
        unknown_subject,
        resolved_before_onset,
        dlt_outside_window,
        wrong_dose_level,
        onset_before_consent,
        shared_position,
        lambda up: visit_out_of_window(up, "mri", "scan_date"),
        inverted_range,
    ),
    "nk-aml": (
        identifier_column,
        unknown_column,
        wrong_dose_level,  # first: it may need the last infusion
        sample_after_withdrawal,
        record_after_death,
        lot_pending,
        european_date,
        route_typo,
        viability_out_of_range,
        lambda up: missing_required(up, "adverse_events", "soc"),
        duplicated_event,
        unknown_subject,
        resolved_before_onset,
        dlt_outside_window,
        onset_before_consent,
        shared_position,
        lambda up: visit_out_of_window(up, "disease_assessments", "assessment_date"),
        inverted_range,
        frozen_before_processing,
        fatal_not_grade5,
    ),
}


def inject_errors(
    archetype: str,
    protocol: Mapping[str, Any],
    tables: Mapping[str, pd.DataFrame],
    rng: np.random.Generator,
) -> tuple[dict[str, pd.DataFrame], list[Expected]]:
    """Render a clean demo trial as text and inject the archetype's errors.

    Parameters
    ----------
    archetype : str
        ``"tolDC-ms"`` or ``"nk-aml"``.
    protocol : Mapping
        The protocol data.
    tables : Mapping of str to pandas.DataFrame
        The clean typed tables.
    rng : numpy.random.Generator
        Chooses the rows to spoil.

    Returns
    -------
    texts : dict of str to pandas.DataFrame
        Text tables to write, in file order.
    expected : list of Expected
        The answer key: every finding validation must report, and nothing else.

    Raises
    ------
    InjectionError
        When the trial is too small to hold every injection.
    """
    texts = {}
    for domain, table in tables.items():
        text = to_text(table, domain)
        text[ORDER] = np.arange(len(text), dtype=float)
        texts[domain] = text
    up = _Upload(tables, texts, protocol, rng)
    for injection in INJECTIONS[archetype]:
        injection(up)
    final: dict[str, pd.DataFrame] = {}
    for domain, text in up.texts.items():
        added = pd.DataFrame(up.extra.get(domain, []), columns=text.columns)
        combined = pd.concat([text, added], ignore_index=True) if len(added) else text
        final[domain] = combined.sort_values(ORDER, kind="stable").reset_index(
            drop=True
        )
    rows = {d: pd.Series(t.index + 2, index=t[ORDER]) for d, t in final.items()}
    expected = [
        Expected(
            rule,
            file_name(domain),
            None if order is None else int(rows[domain][float(order)]),
            column,
            what,
        )
        for rule, domain, order, column, what in up.expected
    ]
    return {d: t.drop(columns=ORDER) for d, t in final.items()}, expected
