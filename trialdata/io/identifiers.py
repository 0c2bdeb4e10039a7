"""Detect columns that hold direct identifiers, which trialdata refuses."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["find_identifier_columns"]

# Normalised column names (lower case, non-alphanumerics removed) that hold direct
# identifiers: names, initials, full birth dates, medical record and national numbers.
_IDENTIFIER_NAMES = frozenset(
    {
        "name",
        "firstname",
        "lastname",
        "surname",
        "givenname",
        "familyname",
        "fullname",
        "patientname",
        "subjectname",
        "initials",
        "patientinitials",
        "subjectinitials",
        "dob",
        "dateofbirth",
        "birthdate",
        "birthdt",
        "brthdtc",
        "mrn",
        "medicalrecordnumber",
        "medicalrecordno",
        "hospitalnumber",
        "nhsnumber",
        "ssn",
        "socialsecuritynumber",
        "nationalid",
        "bsn",
        "email",
        "phone",
        "telephone",
        "address",
        "postcode",
        "zipcode",
    }
)
_NORMALISE = re.compile(r"[^a-z0-9]")


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
    """
    return [
        c for c in columns if _NORMALISE.sub("", str(c).lower()) in _IDENTIFIER_NAMES
    ]
