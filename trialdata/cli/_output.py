"""What a command prints on stdout: lines of text, or one JSON document.

Every command builds the same facts twice, as the lines a person reads and as a
JSON document a pipeline parses, and hands both to :func:`emit`. The JSON document
is always valid JSON: NaN, missing values (``pd.NA``, ``NaT``) and infinities are
``null``; NumPy scalars, dates and paths are written as plain values.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from trialdata.cli._options import OutputFormat

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["emit", "json_safe", "records"]

#: Type names of the missing-value singletons of pandas (checked by name, so that
#: this module does not import pandas).
_MISSING_TYPES = frozenset({"NAType", "NaTType"})


def json_safe(value: Any) -> Any:
    """Return a value made of JSON types only.

    Parameters
    ----------
    value : object
        Mappings, sequences, NumPy and pandas scalars, dates, paths, ...

    Returns
    -------
    object
        The same content as dicts, lists, str, int, float, bool and None; a
        missing or non-finite number is None.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if type(value).__name__ in _MISSING_TYPES:
        return None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    item = getattr(value, "item", None)  # a NumPy scalar
    if callable(item) and getattr(value, "shape", None) == ():
        return json_safe(item())
    tolist = getattr(value, "tolist", None)  # a NumPy array
    if callable(tolist):
        return json_safe(tolist())
    isoformat = getattr(value, "isoformat", None)  # a pandas Timestamp
    if callable(isoformat):
        return str(isoformat())
    return str(value)


def records(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> list[Any]:
    """Return the rows of a table as JSON-safe dicts.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    columns : iterable of str, optional
        Columns to keep (those present); default every column.

    Returns
    -------
    list of dict
        One dict per row.
    """
    if columns is not None:
        frame = frame[[c for c in columns if c in frame.columns]]
    result: list[Any] = json_safe(frame.to_dict("records"))
    return result


def emit(
    output_format: OutputFormat,
    document: Mapping[str, Any],
    lines: Iterable[str] | str,
) -> None:
    """Print the command's result on stdout: its text lines or its JSON document.

    Parameters
    ----------
    output_format : OutputFormat
        ``text`` or ``json``.
    document : Mapping
        The facts, for ``--format json``.
    lines : iterable of str or str
        The text output (lines, or one text ending with its own newline).
    """
    if output_format == OutputFormat.JSON:
        text = json.dumps(json_safe(document), indent=1, ensure_ascii=False)
        sys.stdout.write(text + "\n")
    elif isinstance(lines, str):
        sys.stdout.write(lines)
    else:
        for line in lines:
            sys.stdout.write(line + "\n")
    sys.stdout.flush()
