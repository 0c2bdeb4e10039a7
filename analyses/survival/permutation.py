"""Exact and Monte Carlo permutation log-rank tests for two groups (R ``coin``).

The statistic is coin's ``logrank_test``: the sum over one group of the log-rank
scores a_i = delta_i - H(t_i), H the pooled Nelson-Aalen estimate at t_i (tied times
all counted), standardised with its permutation mean and variance. The two-sided
p-value is P(|T - mu| >= |t_obs - mu|) under all C(n, m) equally likely
assignments of the group labels. The exact distribution is enumerated by dynamic
programming over subset sums (scores on a 1e-9 grid), which is exact for trial
sizes: aml (C(23, 11) = 1 352 078 assignments) takes a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = [
    "ExactTooLargeError",
    "PermutationLogrank",
    "logrank_scores",
    "permutation_logrank_arrays",
]

FloatArray = npt.NDArray[np.float64]
_SCALE = 1e9
_TOL = 1e-6  # in score units: ties of |T - mu| with the observed value count as extreme


@dataclass(frozen=True)
class PermutationLogrank:
    """Outcome of a permutation log-rank test.

    Attributes
    ----------
    statistic : float
        Standardised statistic (coin's Z); its sign refers to the first group.
    p_value : float
        Two-sided permutation p-value (exact or Monte Carlo).
    p_value_normal : float
        Two-sided normal p-value of the same statistic (coin's asymptotic).
    method : str
        ``"exact"`` or ``"monte-carlo"``.
    n_resamples : int or None
        Monte Carlo resamples.
    seed : int or None
        Seed of the Monte Carlo generator.
    """

    statistic: float
    p_value: float
    p_value_normal: float
    method: str
    n_resamples: int | None
    seed: int | None


def logrank_scores(time: FloatArray, event: npt.NDArray[np.bool_]) -> FloatArray:
    """Return the log-rank (Savage) scores delta_i - H(t_i).

    Parameters
    ----------
    time, event : numpy.ndarray
        Follow-up times and event indicators.

    Returns
    -------
    numpy.ndarray
        One score per subject.
    """
    ut, inv = np.unique(time, return_inverse=True)
    d = np.bincount(inv, weights=event.astype(float), minlength=ut.size)
    n = np.bincount(inv, minlength=ut.size)[::-1].cumsum()[::-1]
    return event.astype(float) - np.cumsum(d / n)[inv]


#: Largest number of distinct partial sums the exact enumeration may hold; beyond it
#: (typically n > ~25 with untied times) the Monte Carlo method is required.
MAX_SUPPORT = 2_000_000


class ExactTooLargeError(ValueError):
    """The exact permutation distribution is too large to enumerate."""


def _exact_distribution(
    scores: npt.NDArray[np.int64], m: int
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Distribution of the sum of ``m`` of the integer scores over all subsets."""
    n_items = scores.size
    empty = (np.array([], np.int64), np.array([], float))
    dist: list[tuple[npt.NDArray[np.int64], FloatArray]] = [
        (np.array([0], np.int64), np.array([1.0]))
    ] + [empty] * m
    for idx, s in enumerate(scores):
        new = list(dist)
        remaining = n_items - idx - 1
        for k in range(m, 0, -1):
            if k + remaining < m:  # can no longer reach m items
                new[k] = empty
                continue
            prev_s, prev_c = dist[k - 1]
            if prev_s.size == 0:
                continue
            sums = np.concatenate([dist[k][0], prev_s + s])
            counts = np.concatenate([dist[k][1], prev_c])
            uniq, inv = np.unique(sums, return_inverse=True)
            new[k] = (
                uniq.astype(np.int64),
                np.bincount(inv, weights=counts).astype(np.float64),
            )
            if uniq.size > MAX_SUPPORT:
                raise ExactTooLargeError(
                    f"the exact permutation distribution has more than {MAX_SUPPORT} "
                    "distinct values; use method='monte-carlo'"
                )
        dist = new
    return dist[m]


def permutation_logrank_arrays(
    time: FloatArray,
    event: npt.NDArray[np.bool_],
    in_first: npt.NDArray[np.bool_],
    method: Literal["exact", "monte-carlo"] = "exact",
    n_resamples: int = 100_000,
    seed: int | None = 20240101,
) -> PermutationLogrank:
    """Two-sided permutation log-rank test of ``in_first`` against the rest.

    Parameters
    ----------
    time, event : numpy.ndarray
        Follow-up times and event indicators.
    in_first : numpy.ndarray of bool
        Membership of the first group.
    method : {"exact", "monte-carlo"}
        Full enumeration, or ``n_resamples`` random relabelings with ``seed``.
        Full enumeration raises :class:`ExactTooLargeError` when the distribution
        has more than ``MAX_SUPPORT`` distinct values (about n > 25 untied times).
    n_resamples : int
        Monte Carlo resamples.
    seed : int or None
        Seed of ``numpy.random.default_rng``; a fixed seed makes the result
        reproducible.

    Returns
    -------
    PermutationLogrank
        Statistic and p-values. The Monte Carlo p-value is the share of resamples
        at least as extreme (coin's convention, no +1 correction).
    """
    a = logrank_scores(time, event)
    n = a.size
    m = int(in_first.sum())
    if m == 0 or m == n:
        raise ValueError("both groups need at least one subject")
    t_obs = float(a[in_first].sum())
    mu = m * a.mean()
    var = m * (n - m) / (n * (n - 1)) * float(((a - a.mean()) ** 2).sum())
    z = (t_obs - mu) / np.sqrt(var)
    p_normal = float(2 * stats.norm.sf(abs(z)))
    if method == "exact":
        ints = np.round(a * _SCALE).astype(np.int64)
        sums, counts = _exact_distribution(ints, m)
        obs = abs(float(ints[in_first].sum()) - mu * _SCALE)
        extreme = np.abs(sums - mu * _SCALE) >= obs - _TOL * _SCALE
        p = float(counts[extreme].sum() / counts.sum())
        return PermutationLogrank(float(z), p, p_normal, "exact", None, None)
    if method == "monte-carlo":
        rng = np.random.default_rng(seed)
        hits = 0
        obs = abs(t_obs - mu)
        chunk = 10_000
        done = 0
        while done < n_resamples:
            b = min(chunk, n_resamples - done)
            keys = rng.random((b, n))
            pick = np.argpartition(keys, m - 1, axis=1)[:, :m]
            stat = a[pick].sum(axis=1)
            hits += int(np.sum(np.abs(stat - mu) >= obs - _TOL))
            done += b
        return PermutationLogrank(
            float(z), hits / n_resamples, p_normal, "monte-carlo", n_resamples, seed
        )
    raise ValueError(f"method must be 'exact' or 'monte-carlo', got {method!r}")
