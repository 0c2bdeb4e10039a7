"""Detect columns that hold direct identifiers, which trialdata refuses.

A column is refused (RD-005) when its name, once normalised (accents folded, case
folded, every character that is not a letter or digit removed), is the name of a
direct identifier in English, Dutch, Spanish, Catalan, German or French: a name
or initials, a full birth date, a phone number, an e-mail address, a postal
address or postcode, a medical record, hospital, insurance or national number.
Names may carry a subject word before or after them (``Patient Nm``, ``pt_name``,
``nombre_del_paciente``, ``patient_dob``). Names are matched whole, never as parts of
longer names: ``birth_year``, ``site_name`` or ``test_name`` are not refused.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

__all__ = ["find_identifier_columns", "is_identifier_column", "normalise_column_name"]

#: What a subject is called, in column names (normalised): ``patient_name``,
#: ``pt_dob``, ``naam_patient``, ``fecha_nacimiento_paciente``.
_SUBJECT_WORDS = (
    "patient",
    "patients",
    "patienten",
    "pt",
    "pat",
    "pts",
    "subject",
    "subj",
    "participant",
    "person",
    "personal",
    "personne",
    "persoon",
    "proband",
    "deelnemer",
    "paciente",
    "pacient",
    "participante",
    "sujeto",
    "client",
    "cliente",
    "contact",
    "home",
    "private",
    "prive",
)
#: Joining words between a subject word and the identifier (``nom_du_patient``).
_JOINERS = ("de", "del", "dela", "du", "des", "der", "van", "vande", "vander", "of")

#: Identifier names that are refused alone or with a subject word, by kind.
_NAMES = {
    "name": (
        "name",
        "names",
        "nm",
        "nme",
        "fullname",
        "firstname",
        "lastname",
        "surname",
        "surnames",
        "givenname",
        "givennames",
        "familyname",
        "middlename",
        "maidenname",
        "fname",
        "lname",
        "forename",
        "forenames",
        "initial",
        "initials",
        "inits",
        "naam",
        "volledigenaam",
        "voornaam",
        "voornamen",
        "achternaam",
        "familienaam",
        "roepnaam",
        "meisjesnaam",
        "geboortenaam",
        "voorletters",
        "initialen",
        "nombre",
        "nombres",
        "nombrecompleto",
        "nombreyapellidos",
        "nombreapellidos",
        "apellidosynombre",
        "apellido",
        "apellidos",
        "primerapellido",
        "segundoapellido",
        "iniciales",
        "nom",
        "noms",
        "nomcomplet",
        "cognom",
        "cognoms",
        "primercognom",
        "segoncognom",
        "nomicognoms",
        "nomcognoms",
        "inicials",
        "vorname",
        "nachname",
        "familienname",
        "vollstandigername",
        "geburtsname",
        "initiale",
        "prenom",
        "prenoms",
        "nomdefamille",
        "nomdenaissance",
        "nomdusage",
        "nometprenom",
        "nomprenom",
        "prenometnom",
        "vornameundnachname",
        "voorennachternaam",
        "initiales",
    ),
    "birth date": (
        "dob",
        "dateofbirth",
        "birthdate",
        "birthdt",
        "birthdtc",
        "brthdt",
        "brthdtc",
        "birthday",
        "dtofbirth",
        "geboortedatum",
        "gebdatum",
        "gebdat",
        "geboortedag",
        "fechanacimiento",
        "fechadenacimiento",
        "fechanac",
        "fnac",
        "fnacimiento",
        "datanaixement",
        "datadenaixement",
        "datanaix",
        "geburtsdatum",
        "gebdatum",
        "geburtstag",
        "datenaissance",
        "datedenaissance",
        "ddn",
        "dtnaiss",
        "datenaiss",
    ),
    "phone number": (
        "phone",
        "phoneno",
        "phonenr",
        "phonenumber",
        "phonenum",
        "telephone",
        "telephoneno",
        "telephonenumber",
        "tel",
        "telno",
        "telnr",
        "telnum",
        "mobile",
        "mobileno",
        "mobilenumber",
        "mobilephone",
        "mobilephonenumber",
        "mob",
        "cellphone",
        "cellphonenumber",
        "fax",
        "faxnumber",
        "telefoon",
        "telefoonnummer",
        "telefoonnr",
        "mobiel",
        "mobielnummer",
        "mobielenummer",
        "gsm",
        "gsmnummer",
        "telefono",
        "telefonomovil",
        "telefonofijo",
        "numerodetelefono",
        "movil",
        "telf",
        "tfno",
        "tlf",
        "telefon",
        "telefonnummer",
        "mobiltelefon",
        "handy",
        "handynummer",
        "numerodetelephone",
        "telephoneportable",
        "portable",
    ),
    "e-mail address": (
        "email",
        "emails",
        "emailaddress",
        "emailadres",
        "emailadresse",
        "emailadresa",
        "mail",
        "mailaddress",
        "mailadres",
        "mailadresse",
        "correo",
        "correoelectronico",
        "correu",
        "correuelectronic",
        "courriel",
        "adressemail",
        "adresseemail",
        "adresseelectronique",
    ),
    "postal address": (
        "address",
        "addresses",
        "streetaddress",
        "homeaddress",
        "postaladdress",
        "street",
        "housenumber",
        "adres",
        "woonadres",
        "straat",
        "straatnaam",
        "huisnummer",
        "woonplaats",
        "direccion",
        "domicilio",
        "calle",
        "adreca",
        "carrer",
        "domicili",
        "adresse",
        "anschrift",
        "strasse",
        "wohnort",
        "hausnummer",
        "rue",
        "domicile",
        "postcode",
        "postalcode",
        "zip",
        "zipcode",
        "codigopostal",
        "codipostal",
        "codepostal",
        "postleitzahl",
        "plz",
    ),
    "record or national number": (
        "mrn",
        "medicalrecordnumber",
        "medicalrecordno",
        "medicalrecordnr",
        "medicalrecord",
        "medicalrecordid",
        "recordnumber",
        "hospitalnumber",
        "hospitalno",
        "hospitalid",
        "hospitalrecordnumber",
        "patientnumber",
        "patientno",
        "patientnr",
        "patientnum",
        "ptnumber",
        "ptno",
        "ptnr",
        "patientnummer",
        "patientennummer",
        "ziekenhuisnummer",
        "epdnummer",
        "zisnummer",
        "nhc",
        "historiaclinica",
        "numerohistoria",
        "numerohistoriaclinica",
        "nhistoria",
        "nhistoriaclinica",
        "nohistoria",
        "nohistoriaclinica",
        "numhistoria",
        "historia",
        "fallnummer",
        "ipp",
        "numerodossier",
        "dossiernummer",
        "nhs",
        "nhsno",
        "nhsnr",
        "nhsnumber",
        "chinumber",
        "chino",
        "ssn",
        "socialsecuritynumber",
        "socialsecurityno",
        "nationalid",
        "nationalidnumber",
        "nationalidentifier",
        "nationalnumber",
        "nationalinsurancenumber",
        "bsn",
        "burgerservicenummer",
        "sofinummer",
        "dni",
        "nie",
        "nif",
        "nss",
        "numeroseguridadsocial",
        "cip",
        "tsi",
        "tarjetasanitaria",
        "targetasanitaria",
        "nir",
        "insee",
        "numerosecu",
        "numerosecuritesociale",
        "numerodesecuritesociale",
        "numerodesecu",
        "numerodeseguridadsocial",
        "sozialversicherungsnummer",
        "versichertennummer",
        "krankenversichertennummer",
        "verzekeringsnummer",
        "insurancenumber",
        "passport",
        "passportnumber",
        "paspoort",
        "paspoortnummer",
        "pasaporte",
        "passeport",
        "reisepass",
        "idcard",
        "idcardnumber",
        "identitycard",
        "identiteitskaart",
    ),
}

#: Abbreviations that mean an identifier only beside a subject word: ``Patient Nm``
#: is a name, a column ``nm`` alone may be nanometres.
_ONLY_WITH_SUBJECT = frozenset({"nm", "nme", "mob", "tel", "historia"})


def _alternation(words: Iterable[str]) -> str:
    """Return a regex alternation of words, longest first (so none is cut short)."""
    return "|".join(sorted(set(words), key=lambda w: (-len(w), w)))


_ALL = [w for words in _NAMES.values() for w in words]
_SUBJECT = f"(?:{_alternation(_SUBJECT_WORDS)})"
_JOIN = f"(?:{_alternation(_JOINERS)})?"
_ALONE = re.compile(
    f"(?:{_alternation(w for w in _ALL if w not in _ONLY_WITH_SUBJECT)})"
)
_STEM = f"(?:{_alternation(_ALL)})"
_WITH_SUBJECT = re.compile(f"{_SUBJECT}{_JOIN}{_STEM}|{_STEM}{_JOIN}{_SUBJECT}")
_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]")


def normalise_column_name(column: object) -> str:
    """Return a column name as the identifier names are matched: folded, joined.

    Accents are folded (``é`` → ``e``, ``ç`` → ``c``), case is folded (``ß`` →
    ``ss``) and everything that is not a letter or digit is removed.

    Examples
    --------
    >>> normalise_column_name("Fecha de Nacimiento")
    'fechadenacimiento'
    >>> normalise_column_name("Adreça")
    'adreca'
    """
    decomposed = unicodedata.normalize("NFKD", str(column).casefold())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_ALPHANUMERIC.sub("", folded)


@lru_cache(maxsize=4096)
def is_identifier_column(column: str) -> bool:
    """Return whether a column name marks a column of direct identifiers.

    Parameters
    ----------
    column : str
        A column name as it appears in a file.

    Returns
    -------
    bool
        True for names such as ``Patient Nm``, ``Geboortedatum``, ``mobile``,
        ``e_mail_address``, ``NHS number``.

    Examples
    --------
    >>> is_identifier_column("fecha_nacimiento")
    True
    >>> is_identifier_column("birth_year")
    False
    """
    name = normalise_column_name(column)
    return bool(_ALONE.fullmatch(name) or _WITH_SUBJECT.fullmatch(name))


def find_identifier_columns(columns: Iterable[str]) -> list[str]:
    """Return the columns whose names mark them as direct identifiers.

    Parameters
    ----------
    columns : iterable of str
        Column names as they appear in a file.

    Returns
    -------
    list of str
        The offending column names, in their original spelling and order.

    Examples
    --------
    >>> find_identifier_columns(["subject_id", "Patient Name", "DOB", "birth_year"])
    ['Patient Name', 'DOB']
    >>> find_identifier_columns(["Patient Nm", "Geboortedatum", "e_mail_address"])
    ['Patient Nm', 'Geboortedatum', 'e_mail_address']
    """
    return [c for c in columns if is_identifier_column(str(c))]
