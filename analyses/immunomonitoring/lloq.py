"""Values below the lower (and above the upper) limit of quantification."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "LLOQ_RULES",
    "LloqRule",
    "UloqRule",
    "compute_below_lloq",
    "compute_lloq_imputed",
]

#: How a result below the LLOQ enters an analysis.
LloqRule = Literal["lloq_half", "lloq", "censored"]
#: How a result above the ULOQ enters an analysis.
UloqRule = Literal["uloq", "keep"]
LLOQ_RULES: tuple[str, ...] = ("lloq_half", "lloq", "censored")


def compute_below_lloq(value: pd.Series, lloq: pd.Series) -> pd.Series:
    """Return whether each result lies below its LLOQ.

    Parameters
    ----------
    value : pandas.Series
        Reported results.
    lloq : pandas.Series
        Lower limit of quantification of each result (missing = no limit).

    Returns
    -------
    pandas.Series
        Boolean, true where ``value < lloq``; false where either is missing.
    """
    v = pd.to_numeric(value, errors="coerce").astype(float)
    limit = pd.to_numeric(lloq, errors="coerce").astype(float)
    return pd.Series(np.asarray(v < limit), index=value.index, name="below_lloq")


def compute_lloq_imputed(
    value: pd.Series,
    lloq: pd.Series,
    uloq: pd.Series | None = None,
    *,
    rule: LloqRule = "lloq_half",
    uloq_rule: UloqRule = "uloq",
) -> pd.Series:
    """Return the analysis value of each result under an LLOQ rule.

    Parameters
    ----------
    value : pandas.Series
        Reported results.
    lloq : pandas.Series
        Lower limit of quantification of each result.
    uloq : pandas.Series, optional
        Upper limit of quantification of each result.
    rule : {"lloq_half", "lloq", "censored"}, default "lloq_half"
        Below-LLOQ results become LLOQ/2 (``"lloq_half"``) or the LLOQ (``"lloq"``).
        Under ``"censored"`` they become the LLOQ here, which is the censoring limit a
        censored-likelihood estimator (:func:`estimate_censored_normal`) needs; their
        ``below_lloq`` flag marks them as left-censored.
    uloq_rule : {"uloq", "keep"}, default "uloq"
        Above-ULOQ results become the ULOQ (``"uloq"``) or keep their value.

    Returns
    -------
    pandas.Series
        Float analysis values, same index as ``value``.
    """
    if rule not in LLOQ_RULES:
        raise ValueError(f"rule must be one of {LLOQ_RULES}, got {rule!r}")
    if uloq_rule not in ("uloq", "keep"):
        raise ValueError(f"uloq_rule must be 'uloq' or 'keep', got {uloq_rule!r}")
    v = pd.to_numeric(value, errors="coerce").astype(float)
    limit = pd.to_numeric(lloq, errors="coerce").astype(float)
    below = compute_below_lloq(v, limit)
    factor = 0.5 if rule == "lloq_half" else 1.0
    out = v.where(~below, limit * factor)
    if uloq is not None and uloq_rule == "uloq":
        upper = pd.to_numeric(uloq, errors="coerce").astype(float)
        out = out.where(~(out > upper), upper)
    out.name = "analysis_value"
    return out
