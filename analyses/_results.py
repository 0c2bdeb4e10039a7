"""Result objects shared by every analysis.

Every analysis returns a frozen dataclass derived from :class:`AnalysisResult`. Its
``to_frame()`` is the long, unrounded analysis-results frame (ARD): group columns, a
``stat`` column and a ``value`` column. It is the source of truth that tests assert on
and that tables and reports format. ``summary()`` is a display frame and ``provenance``
records what produced the numbers.
"""

from __future__ import annotations

import hashlib
import html
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from typing import Any

import pandas as pd

__all__ = [
    "AnalysisResult",
    "Provenance",
    "hash_frame",
    "make_provenance",
    "package_version",
]


@cache
def package_version() -> str:
    """Return the installed trialdata version (``0+unknown`` in a bare source tree).

    Read once per process (the installed version does not change while it runs).

    Returns
    -------
    str
        The version string stamped on every output.
    """
    try:
        return metadata.version("trialdata")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def hash_frame(data: pd.DataFrame) -> str:
    """Return a content hash of a DataFrame.

    The hash covers the column names, the dtypes and every value, so two frames with the
    same content and column order hash equal whatever their index.

    Parameters
    ----------
    data : pandas.DataFrame
        The frame to hash.

    Returns
    -------
    str
        A hexadecimal SHA-256 digest.
    """
    digest = hashlib.sha256()
    digest.update(repr(list(map(str, data.columns))).encode())
    digest.update(repr([str(t) for t in data.dtypes]).encode())
    row_hashes = pd.util.hash_pandas_object(data.reset_index(drop=True), index=False)
    digest.update(row_hashes.to_numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Provenance:
    """What produced a result.

    Attributes
    ----------
    analysis : str
        Name of the function that produced the result.
    parameters : Mapping[str, Any]
        Every parameter that can change a number, with its value.
    input_hashes : Mapping[str, str]
        Content hash of each input frame, by input name.
    input_rows : Mapping[str, int]
        Row count of each input frame, by input name.
    package_version : str
        Installed trialdata version.
    created_utc : str
        ISO 8601 UTC time the result was computed.
    """

    analysis: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    input_hashes: Mapping[str, str] = field(default_factory=dict)
    input_rows: Mapping[str, int] = field(default_factory=dict)
    package_version: str = field(default_factory=package_version)
    created_utc: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )

    def describe(self) -> str:
        """Return a one-paragraph plain-text statement of the provenance.

        Returns
        -------
        str
            Analysis name, parameters, inputs and version, for printing under a table.
        """
        params = ", ".join(f"{k}={v!r}" for k, v in self.parameters.items())
        inputs = ", ".join(
            f"{name} ({self.input_rows.get(name, '?')} rows, sha256 {h[:12]})"
            for name, h in self.input_hashes.items()
        )
        return (
            f"{self.analysis}({params}); inputs: {inputs or 'none'}; "
            f"trialdata {self.package_version}; computed {self.created_utc}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the provenance as a JSON-serialisable dictionary.

        Returns
        -------
        dict
            Plain Python values only.
        """
        return {
            "analysis": self.analysis,
            "parameters": {k: _jsonable(v) for k, v in self.parameters.items()},
            "input_hashes": dict(self.input_hashes),
            "input_rows": dict(self.input_rows),
            "package_version": self.package_version,
            "created_utc": self.created_utc,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def make_provenance(
    analysis: str,
    inputs: Mapping[str, pd.DataFrame] | None = None,
    **parameters: Any,
) -> Provenance:
    """Build a :class:`Provenance` for an analysis call.

    Parameters
    ----------
    analysis : str
        Name of the analysis function.
    inputs : Mapping[str, pandas.DataFrame], optional
        The input frames by name; each is hashed and counted.
    **parameters
        Every parameter that can change a number.

    Returns
    -------
    Provenance
        The provenance record.
    """
    frames = dict(inputs or {})
    return Provenance(
        analysis=analysis,
        parameters=parameters,
        input_hashes={name: hash_frame(df) for name, df in frames.items()},
        input_rows={name: len(df) for name, df in frames.items()},
    )


@dataclass(frozen=True, kw_only=True)
class AnalysisResult(ABC):
    """Base class of every analysis result.

    Subclasses are frozen dataclasses (``@dataclass(frozen=True, kw_only=True)``) that
    add their own fields and implement :meth:`to_frame`. The default :meth:`summary`
    pivots the long frame to one row per group with one column per statistic.

    Attributes
    ----------
    provenance : Provenance
        What produced the result.
    """

    provenance: Provenance

    @abstractmethod
    def to_frame(self) -> pd.DataFrame:
        """Return the long, unrounded analysis-results frame.

        Returns
        -------
        pandas.DataFrame
            Group columns, then ``stat`` and ``value``.
        """

    def summary(self) -> pd.DataFrame:
        """Return a display frame: one row per group, one column per statistic.

        Returns
        -------
        pandas.DataFrame
            The wide form of :meth:`to_frame`.
        """
        long = self.to_frame()
        groups = [c for c in long.columns if c not in ("stat", "value")]
        if not groups:
            return long.set_index("stat")[["value"]].T.reset_index(drop=True)
        # one row per group combination that has results (categorical groups give
        # no empty combinations), in order of appearance; stats in their order
        keyed = long.assign(
            _row=long.groupby(groups, sort=False, dropna=False, observed=True).ngroup()
        )
        wide = keyed.pivot_table(
            index="_row",
            columns="stat",
            values="value",
            aggfunc="first",
            sort=False,
            dropna=False,
        )
        wide = wide.reindex(columns=pd.unique(long["stat"]))
        labels = keyed.drop_duplicates("_row").set_index("_row")[groups]
        wide = labels.join(wide).sort_index()
        wide.columns.name = None
        return wide.reset_index(drop=True)

    def _repr_html_(self) -> str:
        table = self.summary().to_html(
            index=False, na_rep="", float_format="{:.4g}".format
        )
        note = html.escape(self.provenance.describe())
        return f"{table}<p><small>{note}</small></p>"
