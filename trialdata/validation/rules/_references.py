"""References between tables, and to the protocol: which ones do not resolve.

A reference that is missing or malformed is the schema check's (SC-NULL,
SC-FORMAT); the referential rules report only well-formed references to nothing,
so that one bad value gives one finding.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from schemas.domains._fields import IDENTIFIER_PATTERN
from trialdata.validation.rule import Upload

__all__ = ["known_values", "references_to", "unknown_references", "well_formed"]


def well_formed(column: str) -> pl.Expr:
    """Return whether each value of a column has the schemas' identifier format."""
    return pl.col(column).str.contains(f"^(?:{IDENTIFIER_PATTERN})$")


def known_values(values: Iterable[str], column: str) -> pl.LazyFrame:
    """Return known values (e.g. the protocol's sites) as a one-column query."""
    return pl.LazyFrame({column: list(values)}, schema={column: pl.String})


def unknown_references(
    rows: pl.LazyFrame, column: str, known: pl.LazyFrame
) -> pl.LazyFrame:
    """Return the rows whose well-formed reference in ``column`` is not known.

    The distinct references are matched, and their format checked, once each (a
    table sorted by subject holds each subject's id in one run of rows); the few
    unknown ones are then looked for in every row.

    Parameters
    ----------
    rows : polars.LazyFrame
        The referring rows, with ``column``.
    column : str
        The referring column.
    known : polars.LazyFrame
        The values referred to, in its only column.

    Returns
    -------
    polars.LazyFrame
        The rows of ``rows`` with an unknown reference; missing and malformed
        references are left out.
    """
    value = pl.col(column).cast(pl.String)
    unknown = (
        rows.select(value)
        .filter(value.ne_missing(value.shift(1)))  # the first row of each run
        .unique()
        .drop_nulls()
        .join(
            known.select(pl.first().cast(pl.String).alias(column)),
            on=column,
            how="anti",
        )
        .collect()
        .filter(well_formed(column))  # eager: on these few values only
    )
    if unknown.is_empty():
        return rows.clear()
    return rows.filter(value.is_in(unknown[column].implode()))


def references_to(
    upload: Upload, domain: str, column: str, known_domain: str, key: str
) -> pl.LazyFrame | None:
    """Return the rows of ``domain`` whose ``column`` names no ``known_domain.key``.

    Parameters
    ----------
    upload : Upload
        The upload.
    domain, column : str
        The referring table and column.
    known_domain, key : str
        The table referred to and its identifier column.

    Returns
    -------
    polars.LazyFrame or None
        The rows with an unknown reference (see :func:`unknown_references`); None
        when either column is not in the upload.
    """
    if not (
        upload.has_columns(domain, column) and upload.has_columns(known_domain, key)
    ):
        return None
    known = upload.frame(known_domain).select(key)
    return unknown_references(upload.frame(domain), column, known)
