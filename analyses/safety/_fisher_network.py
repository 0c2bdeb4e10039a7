"""Exact two-sided p-value of Fisher's test for an r x c table (network algorithm).

The p-value is the probability, under independence with both margins fixed, of the
tables whose probability is at most the observed table's times ``1 + 1e-7`` (R
``fisher.test``'s ``relErr``, which makes tables of equal probability count whatever
the rounding of their computed probabilities). The tables are not listed one by one:
columns are filled one at a time (Mehta and Patel 1983), partial tables that share the
same remaining row sums (as a multiset) and the same probability so far are merged,
and a partial table is settled at once when every completion of it counts (its
completions then add their total probability, known in closed form) or none does
(bounds on the completions' probabilities). The arithmetic uses log-factorials from
:func:`scipy.special.gammaln`, element-wise operations and sums in a fixed order, so
the result does not depend on the machine.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln

__all__ = [
    "MAX_PARTIAL_TABLES",
    "REL_ERR",
    "fisher_rxc_pvalue",
    "table_log_probability",
]

#: Relative tolerance of R's ``fisher.test`` when comparing table probabilities.
REL_ERR = 1 + 1e-7
# partial log-weights are merged after rounding to this many decimals (far below
# REL_ERR's 1e-7, so merging never moves a table across the threshold)
_MERGE_DECIMALS = 11
# largest (partial tables x moves) block evaluated at once
_BLOCK = 1 << 20
#: Most partial tables kept in one layer before the exact test gives up (about
#: 240 MB); R's fisher.test stops the same way when its workspace is exhausted.
MAX_PARTIAL_TABLES = 10_000_000

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def table_log_probability(table: npt.ArrayLike) -> float:
    """Return the log probability of a table under independence, margins fixed.

    Parameters
    ----------
    table : array_like of int, shape (r, c)
        Cell counts.

    Returns
    -------
    float
        ``log(prod(row!) prod(col!) / (n! prod(cell!)))``.
    """
    t = np.asarray(table, dtype=np.int64)
    lf = gammaln(np.arange(int(t.sum()) + 1) + 1.0)
    return float(
        lf[t.sum(axis=1)].sum()
        + lf[t.sum(axis=0)].sum()
        - lf[int(t.sum())]
        - lf[t].sum()
    )


def _splits(total: int, caps: IntArray) -> IntArray:
    """Return every split of ``total`` into ``len(caps)`` parts, part i <= caps[i]."""
    after = np.concatenate([np.cumsum(caps[::-1])[::-1][1:], [0]])
    parts = np.zeros((1, 0), dtype=np.int64)
    used = np.zeros(1, dtype=np.int64)
    for i in range(len(caps) - 1):
        left = total - used
        lo = np.maximum(0, left - after[i])
        hi = np.minimum(caps[i], left)
        counts = np.maximum(hi - lo + 1, 0)
        rep = np.repeat(np.arange(len(parts)), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        value = lo[rep] + np.arange(int(counts.sum())) - first
        parts = np.column_stack([parts[rep], value])
        used = used[rep] + value
    last = total - used
    ok = (last >= 0) & (last <= caps[-1])
    return np.column_stack([parts[ok], last[ok]])


def _spread(total: IntArray, caps: IntArray) -> IntArray:
    """Return the most even split of each ``total`` under its caps (water-filling).

    ``caps`` holds one row of caps per total, sorted ascending, with each total at
    most the sum of its caps. Parts are ``min(cap, rest // slots)`` in turn, so capped
    parts are full and the others differ by at most one: every other split majorises
    this one, which has the smallest sum of any convex function of the parts.
    """
    parts = np.zeros(caps.shape, dtype=np.int64)
    left = total.astype(np.int64).copy()
    slots = caps.shape[1]
    for i in range(slots):
        share = np.minimum(caps[:, i], left // (slots - i))
        parts[:, i] = share
        left -= share
    return parts


def _concentrate(total: IntArray, caps: IntArray) -> IntArray:
    """Return the least even split: fill the largest caps first.

    ``caps`` as for :func:`_spread`. This split majorises every other, so it has the
    largest sum of any convex function of the parts.
    """
    parts = np.zeros(caps.shape, dtype=np.int64)
    left = total.astype(np.int64).copy()
    for i in range(caps.shape[1] - 1, -1, -1):
        take = np.minimum(caps[:, i], left)
        parts[:, i] = take
        left -= take
    return parts


class _Network:
    """The network of partial tables of one set of margins (columns filled in turn).

    A node is the multiset of remaining row sums after some columns, stored sorted and
    encoded as one integer (digits in base n + 1).
    """

    def __init__(self, rows: tuple[int, ...], cols: tuple[int, ...]) -> None:
        self.cols = cols
        self.n = sum(rows)
        r = len(rows)
        if (self.n + 1) ** r >= 2**62:
            raise ValueError(
                "table too large for the exact test (its margins cannot be encoded); "
                "use Pearson's chi-square test"
            )
        self.base = np.array(
            [(self.n + 1) ** k for k in range(r - 1, -1, -1)], dtype=np.int64
        )
        self.lf = gammaln(np.arange(self.n + 1) + 1.0)
        # sum of log(col!) of the columns from stage k on
        self.col_tail = [
            float(self.lf[list(cols[k:])].sum()) for k in range(len(cols) + 1)
        ]
        # row relaxation: least and most sum of log x! of splitting a row sum v over
        # the columns from stage k on (caps: their sums)
        values = np.arange(self.n + 1, dtype=np.int64)
        self.row_low: list[FloatArray] = []
        self.row_high: list[FloatArray] = []
        for k in range(len(cols) + 1):
            low = np.full(len(values), np.inf)
            high = np.full(len(values), -np.inf)
            rest = np.sort(np.asarray(cols[k:], dtype=np.int64))
            if k == len(cols):
                low[0] = high[0] = 0.0
            else:
                fits = values[values <= rest.sum()]
                caps = np.broadcast_to(rest, (len(fits), len(rest)))
                low[fits] = self.lf[_spread(fits, caps)].sum(axis=1)
                high[fits] = self.lf[_concentrate(fits, caps)].sum(axis=1)
            self.row_low.append(low)
            self.row_high.append(high)

    def encode(self, vectors: IntArray) -> IntArray:
        """Return the keys of sorted remaining-row-sum vectors (one per row)."""
        return np.asarray(vectors @ self.base, dtype=np.int64)

    def decode(self, key: int) -> IntArray:
        """Return the remaining row sums of a key."""
        return np.asarray((key // self.base) % (self.n + 1), dtype=np.int64)

    @cache  # noqa: B019 (one network per p-value, freed with it)
    def moves(
        self, stage: int, key: int
    ) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        """Return the ways to fill column ``stage`` from a node.

        Returns
        -------
        tuple of numpy.ndarray
            Per distinct (next node, column weight): the next node's key, the
            column's sum of log x!, the number of fillings, and for the next node
            the low and high bounds on its completions' sum of log x! and the log of
            its completions' total weight.
        """
        remaining = self.decode(key)
        x = _splits(self.cols[stage], remaining)
        after = np.sort(remaining - x, axis=1)
        cost = np.round(self.lf[x].sum(axis=1), _MERGE_DECIMALS)
        node = self.encode(after)
        order = np.lexsort((cost, node))
        node, cost, after = node[order], cost[order], after[order]
        first = np.flatnonzero(
            np.concatenate([[True], (node[1:] != node[:-1]) | (cost[1:] != cost[:-1])])
        )
        mult = np.diff(np.append(first, len(node)))
        node, costs, after = node[first], cost[first], after[first]
        low, high = self._bounds(stage + 1, after)
        log_mass = (
            self.lf[after.sum(axis=1)]
            - self.lf[after].sum(axis=1)
            - self.col_tail[stage + 1]
        )
        return node, costs, mult.astype(np.float64), low, high, log_mass

    @cache  # noqa: B019
    def last_two(self, key: int) -> tuple[FloatArray, FloatArray, float]:
        """Return the completions of a node with two columns left, for quick sums.

        Returns
        -------
        tuple
            ``s``: the completions' sums of log x! (both columns), ascending;
            ``tail``: ``tail[k]`` = sum over completions ``i >= k`` of
            ``exp(-(s[i] - s[0]))``, summed from the smallest term; ``s[0]``.
        """
        stage = len(self.cols) - 2
        remaining = self.decode(key)
        x = _splits(self.cols[stage], remaining)
        total = np.sort(self.lf[x].sum(axis=1) + self.lf[remaining - x].sum(axis=1))
        terms = np.exp(-(total - total[0]))
        tail = np.cumsum(terms[::-1])[::-1]
        return total, np.append(tail, 0.0), float(total[0])

    def _bounds(self, stage: int, after: IntArray) -> tuple[FloatArray, FloatArray]:
        """Return bounds (low, high) on the sum of log x! of any completion.

        Columns are bounded one by one with the row sums as caps, and rows one by one
        with the column sums as caps; each drops a coupling, so it widens the bounds
        and never invalidates them. The tighter of the two is kept, widened by a hair
        so that rounding never turns a bound into a wrong answer.
        """
        low_r = self.row_low[stage][after].sum(axis=1)
        high_r = self.row_high[stage][after].sum(axis=1)
        low_c = np.zeros(len(after))
        high_c = np.zeros(len(after))
        for c in self.cols[stage:]:
            total = np.full(len(after), c, dtype=np.int64)
            low_c += self.lf[_spread(total, after)].sum(axis=1)
            high_c += self.lf[_concentrate(total, after)].sum(axis=1)
        return np.maximum(low_c, low_r) - 1e-9, np.minimum(high_c, high_r) + 1e-9


def fisher_rxc_pvalue(table: npt.ArrayLike, rel_err: float = REL_ERR) -> float:
    """Return the exact two-sided p-value of Fisher's test for an r x c table.

    Parameters
    ----------
    table : array_like of int, shape (r, c)
        Non-negative cell counts.
    rel_err : float, default 1 + 1e-7
        A table counts as extreme when its probability is at most ``rel_err`` times
        the observed one (R ``fisher.test``).

    Returns
    -------
    float
        The p-value in [0, 1]; 1 when, after dropping empty rows and columns, fewer
        than two rows or columns remain (only one table has these margins).

    Raises
    ------
    ValueError
        When the table is not two-dimensional, has negative or non-integer counts,
        or is too large for the exact computation (:data:`MAX_PARTIAL_TABLES`).
    """
    raw = np.asarray(table, dtype=float)
    if raw.ndim != 2:
        raise ValueError("Fisher's exact test needs a two-dimensional table")
    if not np.isfinite(raw).all() or (raw < 0).any() or (raw != np.round(raw)).any():
        raise ValueError("table counts must be non-negative integers")
    t = raw.astype(np.int64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if min(t.shape, default=0) < 2:
        return 1.0
    if t.shape[0] > t.shape[1]:  # fewer rows: shorter nodes, fewer fillings
        t = t.T
    rows = tuple(sorted(int(v) for v in t.sum(axis=1)))
    cols = tuple(sorted(int(v) for v in t.sum(axis=0)))
    net = _Network(rows, cols)
    # log P(table) = const - sum log x!
    const = float(net.lf[list(rows)].sum()) + net.col_tail[0] - float(net.lf[net.n])
    # a table counts when its sum of log x! reaches the threshold
    threshold = float(net.lf[t].sum()) - math.log(rel_err)
    partial_sums: list[float] = []
    start = int(net.encode(np.asarray(rows, dtype=np.int64)))
    layer: dict[int, tuple[FloatArray, FloatArray]] = {start: (np.zeros(1), np.ones(1))}
    for stage in range(len(cols)):
        kept: list[tuple[IntArray, FloatArray, FloatArray]] = []
        n_kept = 0
        for key in sorted(layer):
            weights, counts = layer[key]
            if stage == len(cols) - 2:  # each completion is one table: sum directly
                total, tail, least = net.last_two(key)
                k = np.searchsorted(total, threshold - weights, side="left")
                terms = counts * np.exp(const - weights - least) * tail[k]
                partial_sums.append(float(terms.sum()))
                continue
            nodes, cost, mult, low, high, log_mass = net.moves(stage, key)
            step = max(1, _BLOCK // len(nodes))
            for b in range(0, len(weights), step):
                reached = weights[b : b + step, None] + cost[None, :]
                count = counts[b : b + step, None] * mult[None, :]
                every = reached + low >= threshold
                i, j = np.nonzero(every)
                if len(i):
                    terms = count[i, j] * np.exp(const - reached[i, j] + log_mass[j])
                    partial_sums.append(float(terms.sum()))
                i, j = np.nonzero(~every & (reached + high >= threshold))
                n_kept += len(i)
                if n_kept > MAX_PARTIAL_TABLES:
                    raise ValueError(
                        f"table too large for the exact test (more than "
                        f"{MAX_PARTIAL_TABLES:,} partial tables to follow); use "
                        "Pearson's chi-square test"
                    )
                kept.append(
                    (nodes[j], np.round(reached[i, j], _MERGE_DECIMALS), count[i, j])
                )
        layer = _merge(kept)
    return float(min(1.0, math.fsum(partial_sums)))


def _merge(
    kept: list[tuple[IntArray, FloatArray, FloatArray]],
) -> dict[int, tuple[FloatArray, FloatArray]]:
    """Merge kept partial tables of the same node and weight, grouped by node."""
    if not kept:
        return {}
    node = np.concatenate([k[0] for k in kept])
    if not len(node):
        return {}
    weight = np.concatenate([k[1] for k in kept])
    count = np.concatenate([k[2] for k in kept])
    order = np.lexsort((weight, node))
    node, weight, count = node[order], weight[order], count[order]
    new = np.flatnonzero(
        np.concatenate([[True], (node[1:] != node[:-1]) | (weight[1:] != weight[:-1])])
    )
    node, weight, count = node[new], weight[new], np.add.reduceat(count, new)
    starts = np.flatnonzero(np.concatenate([[True], node[1:] != node[:-1]]))
    ends = [*starts[1:].tolist(), len(node)]
    return {
        int(node[s]): (weight[s:e], count[s:e])
        for s, e in zip(starts.tolist(), ends, strict=True)
    }
