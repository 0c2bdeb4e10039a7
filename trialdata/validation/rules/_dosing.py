"""What the dosing rules share: given doses, the cohort of each dose, message text.

A rule about a column skips the column when the site's file lacked it: the runner
adds such a column as missing values (listed in the table's ``absent_columns``
attribute) and the reader reports it once (RD-002); ``Upload.has_columns`` tells.
"""

from __future__ import annotations

import polars as pl

from trialdata.validation.rule import Upload, render_text

__all__ = [
    "ADMIN",
    "cohort_values",
    "given_doses",
    "sentence",
    "stripped",
    "text",
]

ADMIN = "administrations"

#: What Python's ``str.strip()`` strips: every character ``str.isspace()`` accepts.
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def given_doses(upload: Upload) -> pl.LazyFrame:
    """Return the administrations recorded as given (``given`` true)."""
    return upload.frame(ADMIN).filter(pl.col("given"))


def cohort_values(upload: Upload, column: str, name: str) -> pl.LazyFrame:
    """Return a column of each subject's cohort, by subject.

    The subject's first row in ``subjects`` gives its cohort, and the cohort's
    first row in ``cohorts`` its value.

    Parameters
    ----------
    upload : Upload
        The upload.
    column : str
        A column of ``cohorts``, e.g. ``dose_level``.
    name : str
        Name of the value column returned.

    Returns
    -------
    polars.LazyFrame
        ``subject_id`` and ``name``; subjects whose cohort or value is unknown are
        left out. Empty when either table lacks the columns.
    """
    if not (
        upload.has_columns("subjects", "subject_id", "cohort_id")
        and upload.has_columns("cohorts", "cohort_id", column)
    ):
        return pl.LazyFrame(schema={"subject_id": pl.String, name: pl.Null})
    cohorts = (
        upload.frame("cohorts")
        .filter(pl.col("cohort_id").is_not_null())
        .unique("cohort_id", keep="first", maintain_order=True)
        .select(pl.col("cohort_id").cast(pl.String), pl.col(column).alias(name))
    )
    return (
        upload.frame("subjects")
        .filter(pl.col("subject_id").is_not_null())
        .unique("subject_id", keep="first", maintain_order=True)
        .select(pl.col("subject_id", "cohort_id").cast(pl.String))
        .join(cohorts, on="cohort_id")
        .drop_nulls(name)
        .select("subject_id", name)
    )


def stripped(column: str) -> pl.Expr:
    """Return a text column without surrounding white space, as ``str.strip()``."""
    return pl.col(column).cast(pl.String).str.strip_chars(_WHITESPACE)


def text(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Return values written as messages show them, ``-`` when missing.

    Parameters
    ----------
    value : polars.Expr
        The values.
    dtype : polars.DataType
        Their type, e.g. from ``LazyFrame.collect_schema()``.

    Returns
    -------
    polars.Expr
        Text (see :func:`trialdata.validation.rule.render_text`).
    """
    return render_text(value, dtype).fill_null("-")


def sentence(*parts: str | pl.Expr) -> pl.Expr:
    """Return a ``message`` column: literal words and text expressions joined.

    Parameters
    ----------
    *parts : str or polars.Expr
        Words as they are, and text expressions (e.g. from :func:`text`).

    Returns
    -------
    polars.Expr
        The message, named ``message``.
    """
    exprs = [pl.lit(part) if isinstance(part, str) else part for part in parts]
    return pl.concat_str(exprs).alias("message")
