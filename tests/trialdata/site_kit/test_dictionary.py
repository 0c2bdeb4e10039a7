"""The data dictionary: every domain and column, the protocol, and the rules validation reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from schemas.domains import DOMAINS
from schemas.protocol import parse_protocol
from trialdata.demo.protocols import protocol_data
from trialdata.site_kit.dictionary import (
    build_dictionary,
    default_required_domains,
    read_protocol,
)
from trialdata.site_kit.model import DataDictionary
from trialdata.site_kit.rule_links import link_rules, registered_rules
from trialdata.site_kit.units import DIMENSIONLESS, UNITS
from trialdata.validation import validate_folder


@pytest.fixture(scope="module")
def generic() -> DataDictionary:
    return build_dictionary()


def _column(dictionary: DataDictionary, domain: str, name: str):
    return next(c for c in dictionary.domain(domain).columns if c.name == name)


def _ids(dictionary: DataDictionary, domain: str, name: str) -> list[str]:
    return [r.id for r in _column(dictionary, domain, name).rules]


def test_every_domain_and_column_in_schema_order(generic: DataDictionary) -> None:
    assert [d.name for d in generic.domains] == [s.name for s in DOMAINS]
    for spec, domain in zip(DOMAINS, generic.domains, strict=True):
        assert [c.name for c in domain.columns] == list(spec.columns)
        assert domain.key == spec.key
        for column in domain.columns:
            declared = spec.schema.columns[column.name]
            assert column.type == spec.column_kinds[column.name]
            assert column.column_required == declared.required
            assert column.value_required == (not declared.nullable)
            assert column.description == declared.description
            assert column.key == (column.name in spec.key)


def test_declarations_read_back(generic: DataDictionary) -> None:
    sex = _column(generic, "subjects", "sex")
    assert sex.allowed_values == ("F", "M", "U")
    assert sex.terminology is not None and sex.terminology.startswith("Sex: ")
    weight = _column(generic, "subjects", "weight_kg")
    assert weight.unit == "kg"
    assert weight.range is not None
    assert (weight.range.minimum, weight.range.minimum_inclusive) == (0, False)
    assert (weight.range.maximum, weight.range.maximum_inclusive) == (400, True)
    assert weight.range.text() == "> 0 and <= 400"
    assert weight.column_required is False and weight.value_required is False
    code = _column(generic, "labs", "test_code")
    assert code.pattern == r"^[A-Z][A-Z0-9]{0,7}$"
    assert (
        code.pattern_description is not None
        and "upper-case" in code.pattern_description
    )
    assert code.key
    assert _column(generic, "biobank_samples", "collection_time").with_time
    assert not _column(generic, "subjects", "consent_date").with_time
    temperature = _column(generic, "biobank_samples", "storage_temperature")
    assert "-18 to -35 C" in temperature.allowed_values
    assert _column(generic, "subjects", "subject_id").unique


def test_every_number_has_a_unit_or_is_declared_unitless(
    generic: DataDictionary,
) -> None:
    numbers = [
        (d.name, c.name)
        for d in generic.domains
        for c in d.columns
        if c.type in ("integer", "float")
    ]
    missing = [
        pair
        for pair in numbers
        if pair[1] not in UNITS and pair[1] not in DIMENSIONLESS
    ]
    assert missing == []
    assert all(
        _column(generic, d, c).unit is not None for d, c in numbers if c in UNITS
    )


def test_schema_rule_ids_follow_the_declaration(generic: DataDictionary) -> None:
    assert _ids(generic, "subjects", "sex") == [
        "RD-002",
        "SC-NULL",
        "SC-TERM",
        "SC-TYPE",
    ]
    assert _ids(generic, "subjects", "withdrawal_reason") == ["SC-TYPE"]
    onset = _ids(generic, "adverse_events", "onset_date")
    assert {"RD-002", "RD-008", "RD-011", "SC-NULL"} <= set(onset)
    assert "RD-011" not in _ids(generic, "adverse_events", "resolution_date")
    assert "SC-KEY" in _ids(generic, "labs", "lab_date")
    assert "SC-FORMAT" in _ids(generic, "labs", "subject_id")
    assert "SC-RANGE" in _ids(generic, "mri", "pbvc_pct")


def test_cross_domain_rules_are_linked_to_the_columns_they_name(
    generic: DataDictionary,
) -> None:
    assert "XD-013" in _ids(generic, "subjects", "site_id")  # "subjects.site_id"
    assert "XD-013" not in _ids(generic, "subjects", "cohort_id")
    assert "LB-001" in _ids(generic, "labs", "lower_limit")
    for domain in ("labs", "adverse_events", "biobank_samples"):  # every subject_id
        assert "XD-001" in _ids(generic, domain, "subject_id")
    assert "XD-021" in _ids(generic, "labs", "visit")
    listed = {r.id for r in generic.upload_rules}
    listed |= {r.id for d in generic.domains for r in d.rules}
    listed |= {r.id for d in generic.domains for c in d.columns for r in c.rules}
    assert {r.id for r in registered_rules()} <= listed
    assert {"RD-001", "RD-005", "RD-014"} <= {r.id for r in generic.upload_rules}


def test_generic_dictionary_has_no_protocol_values(generic: DataDictionary) -> None:
    assert generic.protocol is None
    assert _column(generic, "subjects", "site_id").allowed_values == ()
    assert _column(generic, "administrations", "dose_level").allowed_values == ()
    required = {d.name for d in generic.domains if d.required_in_upload}
    assert required == set(default_required_domains())


def test_protocol_values_and_notes(demo_source: Path) -> None:
    protocol, info = read_protocol(demo_source / "protocol.toml")
    built = build_dictionary(protocol, info)
    assert built.protocol is not None
    assert built.protocol.source == "protocol.toml" and len(built.protocol.sha256) == 64
    assert built.protocol.content["trial"]["id"] == "NK-AML-DEMO"
    site = _column(built, "subjects", "site_id")
    assert site.allowed_values == ("NMG", "RTD")
    assert site.allowed_from == "protocol: sites" and site.allowed_strict
    assert "RTD: Erasmus MC (NL)" in site.protocol_notes
    for domain in ("cohorts", "administrations"):
        level = _column(built, domain, "dose_level")
        assert level.allowed_values == ("1", "2", "3")
        assert "level 2: 10 10^6 cells/kg" in level.protocol_notes
        assert _column(built, domain, "route").allowed_values == ("INTRAVENOUS",)
    assert _column(built, "administrations", "dose_unit").allowed_values == (
        "10^6 cells/kg",
    )
    assert _column(built, "administrations", "dose_amount").unit == (
        "the row's dose_unit: 10^6 cells/kg"
    )
    visit = _column(built, "labs", "visit")
    assert visit.allowed_values[:3] == ("SCREENING", "D0", "D1")
    assert not visit.allowed_strict  # only warning rules check visits
    dlt = _column(built, "adverse_events", "dlt")
    assert dlt.protocol_notes == ("DLT window: 28 days from the first dose",)
    purity = _column(built, "product_lots", "purity_pct")
    assert purity.protocol_notes == (
        "release specification: >= 50 for a lot to be RELEASED",
    )
    assert not built.domain("mri").required_in_upload  # nk-aml requires no MRI
    assert built.domain("labs").required_in_upload


def test_protocol_changes_only_what_it_constrains(generic: DataDictionary) -> None:
    data = protocol_data("tolDC-ms", 6)
    built = build_dictionary(parse_protocol(data))
    route = _column(built, "cohorts", "route")
    assert route.allowed_values == ("INTRADERMAL", "INTRANODAL")
    assert _column(built, "subjects", "sex") == _column(generic, "subjects", "sex")
    assert built.protocol is not None and built.protocol.source == ""


def _inject_schema_errors(upload: Path, csv_file) -> set[tuple[str, str, str]]:
    """Break one value per kind of declaration; return the expected findings."""
    subjects = csv_file(upload / "subjects.csv")
    subjects.rows[0]["sex"] = "X"
    subjects.rows[1]["birth_year"] = "1800"
    subjects.rows[2]["weight_kg"] = "0"
    subjects.rows[3]["site_id"] = "ZZZ"
    subjects.save()
    events = csv_file(upload / "adverse_events.csv")
    events.rows[0]["grade"] = ""
    events.rows[1]["onset_date"] = events.rows[1]["onset_date"][:7]
    events.rows[2]["resolution_date"] = "31/12/2024"
    events.save()
    labs = csv_file(upload / "labs.csv")
    labs.rows[0]["test_code"] = "alt"
    labs.rows.append(dict(labs.rows[1]))
    labs.save()
    immuno = csv_file(upload / "immunomonitoring.csv")
    immuno.rows[0]["uloq"] = "0"
    immuno.save()
    cohorts = csv_file(upload / "cohorts.csv")
    cohorts.header.remove("route")
    cohorts.save()
    return {
        ("subjects", "sex", "SC-TERM"),
        ("subjects", "birth_year", "SC-RANGE"),
        ("subjects", "weight_kg", "SC-RANGE"),
        ("subjects", "site_id", "XD-013"),
        ("adverse_events", "grade", "SC-NULL"),
        ("adverse_events", "onset_date", "RD-011"),
        ("adverse_events", "resolution_date", "RD-008"),
        ("labs", "test_code", "SC-FORMAT"),
        ("labs", "subject_id", "SC-KEY"),
        ("immunomonitoring", "uloq", "SC-RANGE"),
        ("cohorts", "route", "RD-002"),
    }


def test_rules_validation_reports_are_in_the_dictionary(
    demo_upload: Path, csv_file, generic: DataDictionary
) -> None:
    expected = _inject_schema_errors(demo_upload, csv_file)
    findings = validate_folder(demo_upload).findings
    found: set[tuple[str, str, str]] = set()
    for finding in findings.itertuples():
        domain, rule = str(finding.domain), str(finding.rule)
        columns = str(finding.column).split("+") if finding.column else []
        for column in columns:
            found.add((domain, column, rule))
    assert expected <= found, expected - found
    by_column = {
        (d.name, c.name): {r.id for r in c.rules}
        for d in generic.domains
        for c in d.columns
    }
    schema_level = [
        f for f in found if f[2][:3] in ("RD-", "SC-") and f[:2] in by_column
    ]
    assert len(schema_level) >= 10
    for domain, column, rule in schema_level:
        assert rule in by_column[(domain, column)], (domain, column, rule)
    everywhere = {r.id for r in generic.upload_rules}
    for domain, column, rule in found:
        if rule[:3] not in ("RD-", "SC-"):
            named = by_column.get((domain, column), set())
            on_domain = {r.id for d in generic.domains for r in d.rules}
            assert rule in named | on_domain | everywhere, (domain, column, rule)


@dataclass(frozen=True)
class _Rule:
    """A rule as the dictionary sees one: id, severity, description, domains read."""

    id: str
    severity: str
    description: str
    requires: tuple[str, ...]
    columns: tuple[str, ...] = ()


def test_link_rules_by_stated_columns_or_named_columns() -> None:
    columns = {
        "subjects": ("subject_id", "site_id", "visit"),
        "labs": ("subject_id", "visit", "value"),
        "cohorts": ("cohort_id", "route"),
    }
    rules = [
        _Rule("XD-A", "error", "subjects.site_id is a protocol site.", ("subjects",)),
        _Rule("XD-B", "error", "Every record's subject_id exists.", ("subjects",)),
        _Rule("XD-C", "warning", "A visit's date (e.g. day 3).", ()),
        _Rule(
            "XD-D",
            "error",
            "Mentions subject_id but states its column.",
            ("labs",),
            ("labs.value",),
        ),
        _Rule("XD-E", "error", "A VISIT in capitals; cohorts.nothing.", ("cohorts",)),
    ]
    links = link_rules(rules, columns)

    def ids(domain: str, column: str) -> list[str]:
        return [r.id for r in links.by_column.get((domain, column), ())]

    assert ids("subjects", "site_id") == ["XD-A"]
    assert ids("subjects", "subject_id") == ["XD-B"]
    assert ids("labs", "subject_id") == ["XD-B"]  # a bare name: every domain
    assert ids("labs", "visit") == ids("subjects", "visit") == ["XD-C"]
    assert ids("labs", "value") == ["XD-D"]  # stated columns win over the text
    assert [r.id for r in links.everywhere] == ["XD-C"]
    assert [r.id for r in links.by_domain["cohorts"]] == ["XD-E"]  # reads it only
    assert [r.id for r in links.by_domain["labs"]] == ["XD-B", "XD-C", "XD-D"]
    assert all(r.origin == "rule" for refs in links.by_column.values() for r in refs)
