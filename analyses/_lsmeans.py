"""Shared by the ANCOVA, the MMRM and the event-rate models: model matrices, LS means.

* :func:`model_matrix` codes factors as R's ``contr.treatment`` (first level the
  reference) and names and orders the columns as R's ``model.matrix`` does, so
  coefficients compare with R's by name.
* :func:`reference_grid` gives the linear functions of the LS means as ``emmeans``
  builds them: numeric covariates at their mean over the fitted rows, factors not in
  the specification averaged with ``"equal"`` weights (emmeans' default) or
  ``"proportional"`` ones (their joint frequencies in the fitted rows).
* :func:`pairwise` and :func:`inference` give ``pairs()``: every pair ``level i -
  level j`` (i < j) within a family, with emmeans' adjustments.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, stats

__all__ = [
    "ADJUSTMENTS",
    "Adjust",
    "Variable",
    "Weights",
    "factor_levels",
    "inference",
    "model_matrix",
    "pairwise",
    "reference_grid",
    "split_covariates",
]

FloatArray = npt.NDArray[np.float64]
Term = tuple[str, ...]
#: Multiplicity adjustments of pairwise differences (emmeans' names).
Adjust = Literal["tukey", "none", "bonferroni", "sidak"]
ADJUSTMENTS: tuple[str, ...] = ("tukey", "none", "bonferroni", "sidak")
#: Weights of the factor levels LS means average over (emmeans' names).
Weights = Literal["equal", "proportional"]


@dataclass(frozen=True)
class Variable:
    """A model variable: numeric, or a factor with its levels (first = reference).

    Attributes
    ----------
    name : str
        Column name.
    levels : tuple or None
        Factor levels in model order; None for a numeric variable.
    """

    name: str
    levels: tuple[object, ...] | None = None

    @property
    def is_factor(self) -> bool:
        """Whether the variable is a factor."""
        return self.levels is not None


def factor_levels(
    values: pd.Series, order: Sequence[object] | None = None
) -> tuple[object, ...]:
    """Return the levels of a factor that occur in ``values``, in model order.

    Parameters
    ----------
    values : pandas.Series
        The factor's values in the fitted rows.
    order : sequence, optional
        Level order; default the categories' order of a categorical, else sorted.
        Levels that do not occur are dropped (R ``drop.unused.levels``).

    Returns
    -------
    tuple
        The levels, the reference first.
    """
    present = set(values.dropna().tolist())
    if order is not None:
        unknown = present - set(order)
        if unknown:
            shown = sorted(map(str, unknown))
            raise ValueError(f"{values.name!r} has values not in the order: {shown}")
        return tuple(lv for lv in order if lv in present)
    if isinstance(values.dtype, pd.CategoricalDtype):
        return tuple(lv for lv in values.cat.categories if lv in present)
    return tuple(sorted(present))


def split_covariates(
    frame: pd.DataFrame, covariates: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Split covariates into numeric ones and factors (anything not numeric).

    Parameters
    ----------
    frame : pandas.DataFrame
        The data.
    covariates : sequence of str
        Covariate columns.

    Returns
    -------
    tuple of list of str
        Numeric covariates, factor covariates.
    """
    numeric: list[str] = []
    factors: list[str] = []
    for c in covariates:
        dtype = frame[c].dtype
        numeric_dtype = pd.api.types.is_numeric_dtype(dtype)
        is_num = numeric_dtype and not pd.api.types.is_bool_dtype(dtype)
        (numeric if is_num else factors).append(c)
    return numeric, factors


def _column(
    frame: pd.DataFrame, variable: Variable, level: object | None
) -> FloatArray:
    if level is None:
        return np.asarray(frame[variable.name].to_numpy(dtype=float), dtype=float)
    values = frame[variable.name].to_numpy(dtype=object)
    return np.asarray(values == level, dtype=float)


def model_matrix(
    frame: pd.DataFrame, terms: Sequence[Term], variables: Mapping[str, Variable]
) -> tuple[FloatArray, list[str]]:
    """Return the model matrix of ``1 + terms`` with R's treatment coding and names.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows to code.
    terms : sequence of tuple of str
        Model terms in R's order (main effects, then interactions); a term is the
        tuple of its variables, e.g. ``("baseline", "visit")``. Every factor of an
        interaction must also be a main effect (treatment-coded interactions).
    variables : mapping of str to Variable
        The variables by name.

    Returns
    -------
    tuple
        The matrix (rows x columns) and R's column names (``"(Intercept)"``,
        ``"baseline"``, ``"visitW8"``, ``"baseline:visitW8"``, ...).
    """
    columns: list[FloatArray] = [np.ones(len(frame))]
    names = ["(Intercept)"]
    for term in terms:
        parts: list[tuple[FloatArray, str]] = [(np.ones(len(frame)), "")]
        for name in term:
            var = variables[name]
            if not var.is_factor:
                x = _column(frame, var, None)
                parts = [(col * x, _join(label, name)) for col, label in parts]
                continue
            assert var.levels is not None
            # R: the first variable of a term varies fastest
            parts = [
                (col * _column(frame, var, lv), _join(label, f"{name}{lv}"))
                for lv in var.levels[1:]
                for col, label in parts
            ]
        columns.extend(col for col, _ in parts)
        names.extend(label for _, label in parts)
    return np.column_stack(columns), names


def _join(left: str, right: str) -> str:
    return f"{left}:{right}" if left else right


def _combinations(levels: Sequence[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Every combination of levels, the first factor varying fastest (R's order)."""
    return [tuple(reversed(c)) for c in itertools.product(*reversed(levels))]


def reference_grid(
    fitted: pd.DataFrame,
    terms: Sequence[Term],
    variables: Mapping[str, Variable],
    spec: Sequence[str],
    *,
    weights: Weights = "equal",
) -> tuple[pd.DataFrame, FloatArray, dict[str, float]]:
    """Return the LS-mean linear functions of every combination of ``spec`` factors.

    Parameters
    ----------
    fitted : pandas.DataFrame
        The rows the model was fitted on (covariate means and frequencies).
    terms, variables
        The model (see :func:`model_matrix`).
    spec : sequence of str
        Factors whose combinations get an LS mean, e.g. ``["group", "visit"]``
        (emmeans ``~ group | visit``); the first varies fastest.
    weights : {"equal", "proportional"}, default "equal"
        How the other factors' level combinations are averaged: equally (emmeans'
        default) or in proportion to their frequencies in ``fitted``.

    Returns
    -------
    tuple
        The grid (one row per combination, columns ``spec``), the matrix of linear
        functions (one row per combination) and the numeric covariates' means.
    """
    if weights not in ("equal", "proportional"):
        raise ValueError(f"weights must be 'equal' or 'proportional', got {weights!r}")
    numeric = {
        name: float(fitted[name].to_numpy(dtype=float).mean())
        for name, var in variables.items()
        if not var.is_factor
    }
    others = [
        name for name, var in variables.items() if var.is_factor and name not in spec
    ]
    spec_levels = [tuple(variables[s].levels or ()) for s in spec]
    other_levels = [tuple(variables[o].levels or ()) for o in others]
    spec_combos = _combinations(spec_levels)
    other_combos = _combinations(other_levels)
    if weights == "equal" or not others:
        w = np.full(len(other_combos), 1.0 / len(other_combos))
    else:
        counts = fitted.groupby(others, sort=False, observed=True).size()
        keyed = {
            (k if isinstance(k, tuple) else (k,)): int(v)
            for k, v in zip(counts.index.tolist(), counts.tolist(), strict=True)
        }
        freq = np.array([keyed.get(c, 0) for c in other_combos], dtype=float)
        w = freq / freq.sum()
    rows = [
        {
            **dict(zip(spec, s, strict=True)),
            **dict(zip(others, o, strict=True)),
            **numeric,
        }
        for s in spec_combos
        for o in other_combos
    ]
    grid = pd.DataFrame(rows, columns=[*spec, *others, *numeric])
    x, _ = model_matrix(grid, terms, variables)
    x = x.reshape(len(spec_combos), len(other_combos), -1)
    lin = np.einsum("o,sop->sp", w, x)
    return pd.DataFrame(spec_combos, columns=list(spec)), lin, numeric


def pairwise(n_means: int, *, reverse: bool = False) -> list[tuple[int, int]]:
    """Return emmeans ``pairs()`` order: ``(i, j)`` for ``mean_i - mean_j``, i < j.

    Parameters
    ----------
    n_means : int
        Number of means in the family.
    reverse : bool, default False
        ``pairs(reverse = TRUE)``: the same pairs as ``mean_j - mean_i``.

    Returns
    -------
    list of tuple of int
        ``(minuend, subtrahend)`` index pairs.
    """
    pairs = [(i, j) for i in range(n_means) for j in range(i + 1, n_means)]
    return [(j, i) for i, j in pairs] if reverse else pairs


def inference(
    estimate: FloatArray,
    se: FloatArray,
    df: FloatArray,
    *,
    ci_level: float,
    adjust: Adjust = "none",
    n_means: int = 2,
    n_contrasts: int = 1,
) -> dict[str, FloatArray]:
    """Return t ratios, (adjusted) p-values and confidence limits, as emmeans.

    Parameters
    ----------
    estimate, se, df : numpy.ndarray
        Estimates, standard errors and degrees of freedom (one per contrast; df may
        differ between contrasts, e.g. Satterthwaite).
    ci_level : float
        Confidence level.
    adjust : {"tukey", "none", "bonferroni", "sidak"}, default "none"
        Multiplicity adjustment over the family. ``"tukey"``: p from the
        studentized range ``ptukey(sqrt(2) |t|, n_means, df)``, limits
        ``qtukey(ci_level, n_means, df) / sqrt(2)`` (for two means this is the
        unadjusted t, which is what it reduces to); ``"bonferroni"`` and ``"sidak"``
        over ``n_contrasts``.
    n_means : int, default 2
        Means in the family (Tukey).
    n_contrasts : int, default 1
        Contrasts in the family (Bonferroni, Sidak).

    Returns
    -------
    dict
        ``t_ratio``, ``p_value``, ``lower``, ``upper``.
    """
    if adjust not in ADJUSTMENTS:
        raise ValueError(f"adjust must be one of {ADJUSTMENTS}, got {adjust!r}")
    est = np.asarray(estimate, dtype=float)
    s = np.asarray(se, dtype=float)
    d = np.asarray(df, dtype=float)
    t = est / s
    p_raw = 2 * stats.t.sf(np.abs(t), d)
    alpha = 1 - ci_level
    if adjust == "tukey" and n_means > 2:
        p = stats.studentized_range.sf(np.sqrt(2) * np.abs(t), n_means, d)
        crit = np.array(
            [_tukey_critical(n_means, float(di), ci_level) for di in np.atleast_1d(d)]
        ).reshape(d.shape)
    elif adjust == "bonferroni":
        p = np.minimum(1.0, n_contrasts * p_raw)
        crit = stats.t.ppf(1 - alpha / (2 * n_contrasts), d)
    elif adjust == "sidak":
        p = 1 - (1 - p_raw) ** n_contrasts
        crit = stats.t.ppf(1 - (1 - (1 - alpha) ** (1 / n_contrasts)) / 2, d)
    else:
        p = p_raw
        crit = stats.t.ppf(1 - alpha / 2, d)
    return {
        "t_ratio": t,
        "p_value": np.asarray(p, dtype=float),
        "lower": est - crit * s,
        "upper": est + crit * s,
    }


@lru_cache(maxsize=256)
def _tukey_critical(n_means: int, df: float, level: float) -> float:
    """Return ``qtukey(level, n_means, df) / sqrt(2)``, the Tukey critical t.

    It lies between the unadjusted and the Bonferroni critical t, so Brent's method
    on scipy's studentized-range tail within that bracket finds it (to 1e-13
    relative) in about half the time of ``studentized_range.ppf``.
    """
    if not np.isfinite(df):
        return float(stats.studentized_range.ppf(level, n_means, df) / np.sqrt(2))
    alpha = 1 - level
    m = n_means * (n_means - 1) // 2
    lo = float(np.sqrt(2) * stats.t.ppf(1 - alpha / 2, df))
    hi = float(np.sqrt(2) * stats.t.ppf(1 - alpha / (2 * m), df))

    def excess(q: float) -> float:
        return float(stats.studentized_range.sf(q, n_means, df)) - alpha

    try:  # brentq checks that the bracket holds the root
        root = optimize.brentq(excess, lo, hi, xtol=1e-12, rtol=1e-13)
    except ValueError:
        return float(stats.studentized_range.ppf(level, n_means, df) / np.sqrt(2))
    return float(root) / float(np.sqrt(2))
