"""PV-001: direct identifiers in free text, found without repeating them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from schemas.domains import DOMAINS
from trialdata.demo import write_trial
from trialdata.validation import validate_folder
from trialdata.validation.rule import Upload
from trialdata.validation.rules._identifier_screen import (
    DEFAULT_NAMES,
    IdentifierScreen,
    identifier_screen,
    use_identifier_screen,
)
from trialdata.validation.rules.pv001_identifiers_in_free_text import (
    CODED_TEXT,
    find_free_text_identifiers,
    free_text_columns,
)
from trialdata.validation.rules.testing import (
    clean_records,
    clean_upload,
    findings_set,
    run_rule,
)

SCREEN = IdentifierScreen()

#: Text with an identifier, and the kind it must be found as.
IDENTIFIERS = [
    ("fever, reported by Maria Garcia", "name"),
    ("Patient GARCIA admitted to ICU", "name"),
    ("rash; Jürgen Schröder informed", "name"),
    ("Maria's daughter called the site", "name"),
    ("fall at home, Mr Oosterhuis", "name"),
    ("caida, Sra. Puigdemont avisada", "name"),
    ("rash (Mevr. Kok)", "name"),
    ("name: Xyzabc", "name"),
    ("called patient at 06-12345678", "phone number"),
    ("tel: 0612345678", "phone number"),
    ("mobiel 06 1234 5678", "phone number"),
    ("contact +31 6 1234 5678", "phone number"),
    ("call 0034 612 345 678", "phone number"),
    ("móvil 612 34 56 78", "phone number"),
    ("612 345 678", "phone number"),
    ("93 123 45 67", "phone number"),
    ("+44 (0)20 7946 0958", "phone number"),
    ("07700 900123", "phone number"),
    ("(555) 123-4567", "phone number"),
    ("01 23 45 67 89", "phone number"),
    ("Handy 0171 1234567", "phone number"),
    ("mail jan.devries@example.nl", "e-mail address"),
    ("e-mail: j.smith@hospital.org.uk", "e-mail address"),
    ("MRN 1234567", "medical record number"),
    ("NHC: 00123456", "medical record number"),
    ("patiëntnummer 7654321", "medical record number"),
    ("N.º historia clínica 2345678", "medical record number"),
    ("BSN 123456782", "national id number"),
    ("bsn 1234.56.782", "national id number"),
    ("DNI 12345678Z", "national id number"),
    ("NIE X1234567L", "national id number"),
    ("NHS 943 476 5919", "national id number"),
    ("born 12/03/1956", "birth date"),
    ("DOB: 1956-03-12", "birth date"),
    ("d.o.b. 12 March 1956", "birth date"),
    ("geboren op 12 maart 1956", "birth date"),
    ("geb. 12-03-1956", "birth date"),
    ("fecha de nacimiento 12-03-1956", "birth date"),
    ("nascuda el 3 de març de 1956", "birth date"),
    ("née le 3 mars 1956", "birth date"),
    ("Geburtsdatum 12.03.1956", "birth date"),
]

#: Free text that holds no identifier: MedDRA terms (eponyms too), lab names and
#: values, dates, times, lot and sample numbers, doses, cohort descriptions.
NOT_IDENTIFIERS = [
    "Infusion related reaction",
    "Cytokine release syndrome with hypotension",
    "Acute graft versus host disease",
    "Injury, poisoning and procedural complications",
    "General disorders and administration site conditions",
    "Alanine aminotransferase increased",
    "Neutrophil count decreased",
    "Stevens-Johnson syndrome",
    "Stevens Johnson syndrome",
    "Guillain-Barre syndrome",
    "Bell's palsy",
    "Hodgkin's disease",
    "Smith fracture",
    "Sister Mary Joseph nodule",
    "John Cunningham virus infection",
    "Epstein-Barr virus infection",
    "Charcot-Marie-Tooth disease",
    "Lambert-Eaton myasthenic syndrome",
    "Fournier gangrene",
    "St John's wort interaction",
    "Hospital Sant Joan de Deu",
    "Instituto de Salud Carlos III",
    "San Jose clinic",
    "ALT 120 U/L",
    "Neutrophils 0.5 x 10^9/L",
    "Platelets 25 000/uL",
    "CD34+ 5.2 x 10^6/kg",
    "dose 600000000 cells",
    "700 000 000 cells",
    "lot L-2024-0012",
    "LOT 20240112-03",
    "lot 0123456789",
    "batch 0612345678",
    "sample S-01-V1-PBMC1",
    "F80-1/R01/B01/A1",
    "onset 12/03/2024",
    "2024-01-12T08:30",
    "12-03-2024 10:30",
    "from 01.02.2024 to 15.02.2024",
    "01.02.2024-15.02.2024",
    "0.0012345678",
    "pH 7.35 - 7.45",
    "QTc 450 ms",
    "born in 1956",
    "Escalation cohort 1: 5 x 10^6 tolDC, intradermal",
    "Escalation cohort 2: 10 x 10^6 NK cells/kg IV",
    "Treg CD4+CD25+CD127lo",
    "IFN-gamma, myelin peptide pool",
    "Inguinal lymph node, left",
    "Azacitidine + venetoclax",
    "AML relapse",
    "MS relapse",
    "Grade 3 febrile neutropenia",
    "weight 72.5 kg",
    "Dose 2 of 3 on day 14",
    "counts 1 2 3 4 5 6",
    "Consent withdrawn",
    "Used up in immunomonitoring assay",
    "BDN cell processing lab",
]


@pytest.fixture
def default_screen() -> Iterator[None]:
    """Restore the default screen after a test that changes it."""
    yield
    use_identifier_screen(None)


@pytest.mark.parametrize(("text", "kind"), IDENTIFIERS)
def test_identifiers_are_found(text: str, kind: str) -> None:
    assert SCREEN.kinds(text) == (kind,)


@pytest.mark.parametrize("text", NOT_IDENTIFIERS)
def test_clinical_text_holds_no_identifier(text: str) -> None:
    assert SCREEN.kinds(text) == ()


def test_national_numbers_need_their_check() -> None:
    assert SCREEN.kinds("BSN 123456789") == ()  # fails the 11-check
    assert SCREEN.kinds("DNI 12345678A") == ()  # Z is the check letter
    assert SCREEN.kinds("NIE X1234567A") == ()
    assert SCREEN.kinds("ref 943 476 5910") == ()  # fails modulus 11


def test_screen_agrees_with_kinds_value_by_value() -> None:
    texts = [t for t, _ in IDENTIFIERS] + NOT_IDENTIFIERS
    assert SCREEN.screen(texts) == [SCREEN.kinds(t) for t in texts]


def test_free_text_columns_come_from_the_schemas() -> None:
    columns = free_text_columns()
    assert columns["adverse_events"] == ("term", "preferred_term", "soc")
    assert columns["subjects"] == ("withdrawal_reason",)
    assert columns["survival_status"] == ("death_cause", "new_therapy")
    assert "description" in columns["cohorts"]
    assert "destruction_reason" in columns["biobank_samples"]
    assert "reason_not_given" in columns["administrations"]
    for spec in DOMAINS:  # every text column is free text, coded, or checked
        for name, column in spec.schema.columns.items():
            if spec.column_kinds[name] != "string":
                continue
            free = name in columns.get(spec.name, ())
            assert free != bool(column.checks or name in CODED_TEXT), (spec, name)


def test_pv001_quiet_on_clean_upload() -> None:
    assert run_rule("PV-001", clean_upload()).empty


def test_pv001_reports_kind_and_place_never_the_identifier() -> None:
    records = clean_records()
    records["adverse_events"][1]["term"] = "fever; Maria Garcia called, 06-12345678"
    records["subjects"][1]["withdrawal_reason"] = "moved, mail maria@example.org"
    records["survival_status"][2]["death_cause"] = "sepsis (DOB 12/03/1956)"
    records["administrations"][3]["reason_not_given"] = "Intercurrent infection"
    found = run_rule("PV-001", clean_upload(records))
    assert findings_set(found) == {
        ("PV-001", "adverse_events.csv", 3, "term"),
        ("PV-001", "subjects.csv", 3, "withdrawal_reason"),
        ("PV-001", "survival_status.csv", 4, "death_cause"),
    }
    assert set(found["severity"]) == {"error"}
    by_column = found.set_index("column")
    assert by_column.loc["term", "value"] == "[phone number], [name]"
    assert by_column.loc["term", "message"] == (
        "term holds a phone number and a name (adverse_events.csv, row 3): direct "
        "identifiers are not accepted in free text; remove it and send the row again"
    )
    assert by_column.loc["withdrawal_reason", "value"] == "[e-mail address]"
    assert by_column.loc["death_cause", "value"] == "[birth date]"
    shown = " ".join(found["message"]) + " ".join(found["value"])
    for secret in ("Maria", "Garcia", "12345678", "example", "1956", "12/03"):
        assert secret not in shown


def test_pv001_one_finding_per_row_of_a_repeated_value() -> None:
    records = clean_records()
    for row in records["adverse_events"]:
        row["term"] = "rash, Mr Oosterhuis"
    found = run_rule("PV-001", clean_upload(records))
    assert sorted(found["row"].tolist()) == [2, 3, 4, 5]


def test_trial_names_and_record_pattern(default_screen: None) -> None:
    records = clean_records()
    records["adverse_events"][0]["term"] = "rash seen by Oosterhuis"
    records["adverse_events"][1]["term"] = "fever, ref HX-778812"
    ctx = clean_upload(records)
    assert run_rule("PV-001", ctx).empty
    screen = (
        IdentifierScreen()
        .with_names(["Oosterhuis"])
        .with_mrn_patterns([r"\bHX-\d{6}\b"])
    )
    found = find_free_text_identifiers(Upload(ctx.protocol, ctx.tables), screen)
    assert found["value"].tolist() == ["[name]", "[medical record number]"]
    use_identifier_screen(screen)
    assert len(run_rule("PV-001", ctx)) == 2
    assert IdentifierScreen().with_names(["Xyz"], only=True).names == {"xyz"}
    with pytest.raises(re.error):
        IdentifierScreen().with_mrn_patterns(["(unclosed"])


def test_a_record_pattern_arrow_cannot_read_is_still_applied() -> None:
    screen = IdentifierScreen().with_mrn_patterns([r"(?<![A-Z])HX\d{6}"])
    assert not screen._mrn_in_re2
    assert screen.screen(["rash", "seen HX123456"]) == [(), ("medical record number",)]


def test_names_and_pattern_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, default_screen: None
) -> None:
    names = tmp_path / "names.txt"
    names.write_text("# trial names\nOosterhuis\n\nVan Tiel\n", encoding="utf-8")
    monkeypatch.setenv("TRIALDATA_PRIVACY_NAMES", str(names))
    monkeypatch.setenv("TRIALDATA_MRN_PATTERN", r"\bHX-\d{6}\b")
    use_identifier_screen(None)
    screen = identifier_screen()
    assert {"oosterhuis", "van tiel"} <= screen.names
    assert screen.kinds("seen by Oosterhuis, HX-123456") == (
        "medical record number",
        "name",
    )
    assert screen.names >= DEFAULT_NAMES
    assert screen.kinds("rash; van Tiel called") == ("name",)
    assert screen.kinds("rash, van tiel") == ()  # no capital: not written as a name


def test_from_files_the_value_is_masked(tmp_path: Path) -> None:
    folder = write_trial(tmp_path / "upload", "nk-aml", 8, seed=2).folder
    path = folder / "adverse_events.csv"
    ae = pd.read_csv(path, dtype=str, keep_default_na=False)
    ae.loc[0, "term"] = "Fever, told Maria Garcia (06-12345678)"
    ae.to_csv(path, index=False)
    report = validate_folder(folder)
    found = report.findings
    assert findings_set(found) == {("PV-001", "adverse_events.csv", 2, "term")}
    assert found["value"].tolist() == ["[phone number], [name]"]
    assert "Garcia" not in found.to_csv()


@pytest.mark.parametrize(
    ("archetype", "subjects", "seed"),
    [
        ("nk-aml", None, 0),
        ("nk-aml", 30, 11),
        ("nk-aml", 60, 3),
        ("tolDC-ms", None, 1),
        ("tolDC-ms", 30, 5),
        ("tolDC-ms", 60, 6),
    ],
)
def test_demo_trials_hold_no_identifier(
    tmp_path: Path, archetype: str, subjects: int | None, seed: int
) -> None:
    folder = write_trial(tmp_path / "upload", archetype, subjects, seed=seed).folder
    report = validate_folder(folder)
    assert not (report.findings["rule"] == "PV-001").any()
    assert find_free_text_identifiers(Upload(report.protocol, report.tables)).empty


def test_pv001_same_text_in_two_domains_is_reported_in_each() -> None:
    records = clean_records()
    records["adverse_events"][0]["term"] = "rash, Mr Oosterhuis"
    records["subjects"][0]["withdrawal_reason"] = "rash, Mr Oosterhuis"
    records["subjects"][2]["withdrawal_reason"] = None
    found = run_rule("PV-001", clean_upload(records))
    assert findings_set(found) == {
        ("PV-001", "adverse_events.csv", 2, "term"),
        ("PV-001", "subjects.csv", 2, "withdrawal_reason"),
    }
    assert set(found["value"]) == {"[name]"}
    assert set(found["domain"]) == {"adverse_events", "subjects"}
    assert found.set_index("column").loc["term", "subject_id"] == "S-01"
