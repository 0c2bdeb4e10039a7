"""Identifier columns in six languages are refused (RD-005), schema columns never."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from schemas.domains import DOMAINS
from trialdata.demo import write_trial
from trialdata.io.identifiers import (
    find_identifier_columns,
    is_identifier_column,
    normalise_column_name,
)
from trialdata.validation import validate_folder

REFUSED = [
    # names and initials, with subject words, separators and abbreviations
    "name",
    "Name",
    "Patient Nm",
    "pt_name",
    "PT-NAME",
    "patient name",
    "Patient_Name",
    "subject name",
    "first_name",
    "Last Name",
    "surname",
    "initials",
    "Patient Initials",
    "naam",
    "Naam patiënt",
    "voornaam",
    "achternaam",
    "voorletters",
    "nombre",
    "nombre_del_paciente",
    "Nombre y apellidos",
    "Nom i cognoms",
    "Nom et prénom",
    "apellidos",
    "iniciales",
    "nom",
    "Nom du patient",
    "cognoms",
    "prénom",
    "Vorname",
    "Nachname",
    # birth dates
    "dob",
    "DOB",
    "D.O.B.",
    "date_of_birth",
    "BirthDate",
    "BRTHDTC",
    "patient_dob",
    "Geboortedatum",
    "geb.datum",
    "fecha_nacimiento",
    "Fecha de nacimiento",
    "data_naixement",
    "date_de_naissance",
    "Date de naissance",
    "Geburtsdatum",
    # phone numbers
    "phone",
    "phone_number",
    "mobile",
    "Mobile phone",
    "tel_no",
    "patient tel",
    "telefoon",
    "telefoonnummer",
    "mobiel",
    "teléfono",
    "telefono_movil",
    "móvil",
    "Telefon",
    "Handynummer",
    "téléphone",
    # e-mail
    "email",
    "E-mail",
    "e_mail_address",
    "Email Address",
    "correo",
    "correo_electrónico",
    "correu_electrònic",
    "courriel",
    "adresse_email",
    # addresses and postcodes
    "address",
    "home_address",
    "adres",
    "dirección",
    "domicilio",
    "adreça",
    "Adresse",
    "Straße",
    "postcode",
    "post_code",
    "zip",
    "ZIP code",
    "código_postal",
    "code postal",
    "PLZ",
    # record, insurance and national numbers
    "MRN",
    "medical_record_number",
    "hospital number",
    "patient_number",
    "Patient No",
    "patiëntnummer",
    "NHC",
    "historia_clinica",
    "N.º historia clínica",
    "NHS number",
    "nhs_no",
    "SSN",
    "national_id",
    "BSN",
    "burgerservicenummer",
    "DNI",
    "NIE",
    "NIF",
    "numéro de sécurité sociale",
    "Versichertennummer",
    "passport_number",
]

ACCEPTED = [
    "subject_id",
    "birth_year",
    "year_of_birth",
    "age",
    "site",
    "site_name",
    "test_name",
    "drug_name",
    "name_of_test",
    "initial_dose",
    "nm",
    "tel",
    "patient_id",
    "lab_comment",
    "comment",
    "notes",
    "cell_count",
    "cells",
    "nombre_de_cellules",
    "historia",
    "date",
    "hospital",
    "country",
    "investigator",
    "location",
    "party",
]


@pytest.mark.parametrize("column", REFUSED)
def test_identifier_columns_are_refused(column: str) -> None:
    assert is_identifier_column(column), normalise_column_name(column)


@pytest.mark.parametrize("column", ACCEPTED)
def test_other_columns_are_not(column: str) -> None:
    assert not is_identifier_column(column)


def test_no_schema_column_is_an_identifier() -> None:
    columns = {c for spec in DOMAINS for c in spec.columns}
    assert len(columns) > 90
    assert [c for c in sorted(columns) if is_identifier_column(c)] == []
    # nor their titles, as a site may export them as headers
    titles = {
        str(column.title)
        for spec in DOMAINS
        for column in spec.schema.columns.values()
        if column.title
    }
    assert [t for t in sorted(titles) if is_identifier_column(t)] == []


def test_names_are_folded_before_matching() -> None:
    assert normalise_column_name("Correo Electrónico") == "correoelectronico"
    assert normalise_column_name("Straße") == "strasse"
    assert normalise_column_name("N.º historia") == "nohistoria"
    assert find_identifier_columns(["subject_id", "Patient Nm", "mobile"]) == [
        "Patient Nm",
        "mobile",
    ]


def test_identifier_columns_in_a_file_are_rd005_not_rd003(tmp_path: Path) -> None:
    folder = write_trial(tmp_path / "upload", "nk-aml", 8, seed=2).folder
    path = folder / "subjects.csv"
    subjects = pd.read_csv(path, dtype=str, keep_default_na=False)
    added = ["Patient Nm", "Geboortedatum", "mobile", "e_mail_address", "lab_note"]
    for column in added:
        subjects[column] = "x"
    subjects.to_csv(path, index=False)
    found = validate_folder(folder).findings
    by_column = dict(zip(found["column"], found["rule"], strict=True))
    assert by_column == {
        "Patient Nm": "RD-005",
        "Geboortedatum": "RD-005",
        "mobile": "RD-005",
        "e_mail_address": "RD-005",
        "lab_note": "RD-003",
    }
