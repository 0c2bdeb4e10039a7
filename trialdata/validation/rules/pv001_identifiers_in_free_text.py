"""PV-001: free text holds no direct identifier.

Subject ids are pseudonyms and the readers refuse identifier columns (RD-005), but a
name, a phone number or a birth date can still be typed into a verbatim AE term, a
reason or a comment, and travel from there into every listing. Every free-text
column (:func:`free_text_columns`) is screened by the identifier screen
(:mod:`trialdata.validation.rules._identifier_screen`: what it looks for, and how a
trial adds its own names and record-number pattern): the distinct values of all
these columns together, each once, then the rows holding a flagged value.

A finding never repeats the identifier: its message says what kind was found and
where, and its value is the kind in brackets (``[phone number]``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pandas as pd
import polars as pl

from schemas.domains import DOMAINS
from trialdata.findings import findings_frame
from trialdata.validation.rule import (
    ERROR,
    Rule,
    Upload,
    change,
    flagged,
    run_rule,
    union,
)
from trialdata.validation.rules._identifier_screen import (
    IdentifierScreen,
    identifier_screen,
)

__all__ = [
    "CODED_TEXT",
    "RULE",
    "find_free_text_identifiers",
    "free_text_columns",
    "identifiers_in_free_text",
]

#: Text columns with neither a term list nor an identifier format that still hold
#: codes, units, versions, positions or population names rather than prose; and the
#: custody ``party``, which names the person or organisation holding a sample (staff,
#: not subjects) by design.
CODED_TEXT: frozenset[str] = frozenset(
    {
        "visit",
        "unit",
        "dose_unit",
        "grading_version",
        "container",
        "storage_position",
        "scanner_id",
        "protocol_id",
        "reader_id",
        "sample_id",
        "batch",
        "analyte",
        "parent_population",
        "party",
    }
)


def free_text_columns() -> dict[str, tuple[str, ...]]:
    """Return the free-text columns of every domain, from the schemas.

    A free-text column is a text column that has no check (no term list, no
    identifier format) and is not in :data:`CODED_TEXT`: verbatim AE terms, reasons,
    causes, descriptions, sites, locations.

    Returns
    -------
    dict of str to tuple of str
        Domain name to its free-text columns (domains without any are left out).
    """
    found = {}
    for spec in DOMAINS:
        columns = tuple(
            name
            for name, column in spec.schema.columns.items()
            if spec.column_kinds[name] == "string"
            and not column.checks
            and name not in CODED_TEXT
        )
        if columns:
            found[spec.name] = columns
    return found


def _kinds_in(screen: IdentifierScreen) -> Callable[[pl.Series], pl.Series]:
    """Return a function giving the kinds found in each value, ``|``-separated.

    A value without an identifier gives null.
    """

    def kinds(values: pl.Series) -> pl.Series:
        found = screen.screen(values.to_arrow())
        return pl.Series(["|".join(k) if k else None for k in found], dtype=pl.String)

    return kinds


def _described(kinds: str) -> str:
    """Return ``|``-separated kinds in words: ``a phone number and a name``."""
    words = [
        ("an " if kind[0] in "aeiou" else "a ") + kind for kind in kinds.split("|")
    ]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _screened(texts: list[pl.LazyFrame], screen: IdentifierScreen) -> pl.LazyFrame:
    """Return the distinct values of free-text columns that hold an identifier.

    Parameters
    ----------
    texts : list of polars.LazyFrame
        The values (one column ``text`` each), screened together: the screen then
        reads each distinct value once.
    screen : IdentifierScreen
        What to look for.

    Returns
    -------
    polars.LazyFrame
        ``text`` (the value), ``masked`` (the kinds in brackets: the finding's
        value) and ``kinds`` (the kinds in words, for the message).
    """
    found = pl.col("found")
    return (
        pl.concat(texts)
        .drop_nulls()
        .unique()
        .with_columns(
            pl.col("text")
            .map_batches(_kinds_in(screen), return_dtype=pl.String)
            .alias("found")
        )
        .drop_nulls("found")
        .select(
            "text",
            ("[" + found.str.replace_all("|", "], [", literal=True) + "]").alias(
                "masked"
            ),
            found.map_elements(_described, return_dtype=pl.String).alias("kinds"),
        )
    )


def identifiers_in_free_text(
    upload: Upload, screen: IdentifierScreen | None = None
) -> pl.LazyFrame:
    """Return the free-text values of every domain that hold a direct identifier.

    Parameters
    ----------
    upload : Upload
        The upload.
    screen : IdentifierScreen, optional
        What to look for; :func:`identifier_screen` (as set when the rule runs) by
        default.

    Returns
    -------
    polars.LazyFrame
        One flagged row per value holding an identifier: its value is the kinds in
        brackets, and ``kinds`` names them in words.
    """
    screen = identifier_screen() if screen is None else screen
    columns = [
        (domain, column)
        for domain, names in free_text_columns().items()
        for column in names
        if column in upload.columns(domain)
    ]
    if not columns:
        return union([])
    texts = [
        upload.frame(domain).select(pl.col(column).cast(pl.String).alias("text"))
        for domain, column in columns
    ]
    found = _screened(texts, screen)
    return union(
        flagged(
            upload.frame(domain).join(
                found, left_on=pl.col(column).cast(pl.String), right_on="text"
            ),
            domain=domain,
            column=column,
            value=pl.col("masked"),
            fields=["kinds"],
        )
        for domain, column in columns
    )


def find_free_text_identifiers(
    upload: Upload, screen: IdentifierScreen | None = None
) -> pd.DataFrame:
    """Report free-text values that hold a direct identifier (PV-001's findings).

    Parameters
    ----------
    upload : Upload
        The upload.
    screen : IdentifierScreen, optional
        What to look for; :func:`identifier_screen` by default.

    Returns
    -------
    pandas.DataFrame
        One error per value that holds an identifier, in file and row order. The
        message names the kind, the column, the file and the row; the value is the
        kind in brackets, never the identifier.
    """
    screened = replace(RULE, finds=lambda u: identifiers_in_free_text(u, screen))
    return findings_frame([run_rule(screened, upload)])


RULE = Rule(
    id="PV-001",
    severity=ERROR,
    description="Free text (verbatim terms, reasons, causes, descriptions, comments) "
    "holds no direct identifier: no e-mail address, phone number, medical record "
    "number, national id number (BSN, DNI/NIE, NHS), birth date or name.",
    reads=(),
    finds=identifiers_in_free_text,
    message="{column} holds {kinds} ({file}, row {row}): direct identifiers are not "
    "accepted in free text; remove it and send the row again",
    example=change(
        "subjects", 1, withdrawal_reason="moved; new phone 06-12345678 (Maria Garcia)"
    ),
)
