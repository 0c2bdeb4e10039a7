"""Field factories shared by the domain models: each common column defined once."""

from __future__ import annotations

import inspect
from typing import Annotated, Any

import pandas as pd
import pandera.pandas as pa

import schemas.checks  # noqa: F401  (registers matches_pattern)

#: Text columns are Arrow-backed strings: validating them is a dtype comparison rather
#: than a per-value type check, which matters at a million rows. pandera wants every
#: argument of an annotated dtype: ``StringDtype(storage, na_value)`` since pandas 2.3,
#: ``StringDtype(storage)`` in pandas 2.2 (whose missing value is always ``pd.NA``).
if "na_value" in inspect.signature(pd.StringDtype).parameters:
    Text = Annotated[pd.StringDtype, "pyarrow", pd.NA]
else:  # pragma: no cover - pandas 2.2, CI's second pass
    Text = Annotated[pd.StringDtype, "pyarrow"]  # type: ignore[assignment, misc]

#: Pseudonymised identifiers: letters, digits, ``-`` and ``_``, 2 to 40 characters.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{1,39}$"


def subject_id(**kwargs: Any) -> Any:
    """Return the field definition of a pseudonymised subject identifier."""
    return pa.Field(
        matches_pattern={"pattern": IDENTIFIER_PATTERN},
        description="Pseudonymised subject identifier (never a name, initials or MRN).",
        title="Subject",
        **kwargs,
    )


def identifier(description: str, title: str, **kwargs: Any) -> Any:
    """Return the field definition of a non-subject identifier (lot, sample, cohort)."""
    return pa.Field(
        matches_pattern={"pattern": IDENTIFIER_PATTERN},
        description=description,
        title=title,
        **kwargs,
    )


def date(description: str, title: str, nullable: bool = False) -> Any:
    """Return the field definition of an ISO 8601 date or date-time column."""
    return pa.Field(
        nullable=nullable, description=f"{description} (ISO 8601).", title=title
    )


def visit(nullable: bool = True) -> Any:
    """Return the field definition of a visit name from the protocol's schedule."""
    return pa.Field(
        nullable=nullable,
        description="Visit name as in the protocol's visit schedule.",
        title="Visit",
    )
