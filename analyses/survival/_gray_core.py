"""Gray's k-sample test of cumulative incidence, following R ``cmprsk`` 2.2.

Gray (1988), Ann Stat 16:1141-54: for one cause, the score of each group compares
its cumulative incidence with the pooled one, weighted by ``(1 - F(t-))^rho``; the
statistic ``s' V^{-1} s`` on ``groups - 1`` df. This is the arithmetic of the
Fortran ``crstm``/``crst`` of ``cmprsk::cuminc`` (scores and variance of the first
``groups - 1`` groups, summed over strata), with the time loop in Python and each
step element-wise numpy over groups (no BLAS).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["gray_scores"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _pair_sum(left: FloatArray, right: FloatArray, w: FloatArray) -> FloatArray:
    """``sum_k left[i, k] right[j, k] w[k]`` element-wise (no BLAS)."""
    return np.asarray(
        (left[:, None, :] * right[None, :, :] * w[None, None, :]).sum(axis=2)
    )


def _stratum(
    time: FloatArray, status: IntArray, group: IntArray, n_groups: int, rho: float
) -> tuple[FloatArray, FloatArray]:
    """Scores and variance of one stratum (Fortran ``crst``)."""
    ng = n_groups
    ng1 = ng - 1
    order = np.argsort(time, kind="stable")
    time, status, group = time[order], status[order], group[order]
    utimes, index = np.unique(time, return_inverse=True)
    counts = np.zeros((utimes.size, 3, ng))
    np.add.at(counts, (index, status, group), 1.0)
    rs = np.bincount(group, minlength=ng).astype(float)
    s = np.zeros(ng1)
    v = np.zeros((ng1, ng1))
    f1m = np.zeros(ng)
    skmm = np.ones(ng)
    v3 = np.zeros(ng)
    v2 = np.zeros((ng1, ng))
    c = np.zeros((ng, ng))
    fm = 0.0
    for t in range(utimes.size):
        d1, d2 = counts[t, 1], counts[t, 2]
        nd1, nd2 = float(d1.sum()), float(d2.sum())
        if nd1 > 0 or nd2 > 0:
            live = rs > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                skm = np.where(live, skmm * (rs - d1 - d2) / rs, skmm)
                f1 = np.where(live, f1m + skmm * d1 / rs, f1m)
                ratio = np.where(live, rs / skmm, 0.0)  # R_r / S_r(t-)
            tr = float(ratio.sum())
            tq = float(np.where(live, ratio * (1 - f1m), 0.0).sum())
            f = fm + nd1 / tr
            fb = (1 - fm) ** rho
            a = fb * (np.diag(ratio) - np.multiply.outer(ratio, ratio) / tr)
            if nd1 > 0:
                # cmprsk 2.2-12 skips zero terms (0 / 0 once the pooled F reaches 1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    c = c + np.where(a != 0, a * nd1 / (tr * (1 - fm)), 0.0)
            s += np.where(
                live[:ng1],
                fb * (d1[:ng1] - nd1 * ratio[:ng1] * (1 - f1m[:ng1]) / tq),
                0.0,
            )
            if nd1 > 0:
                with np.errstate(divide="ignore", invalid="ignore"):
                    t4 = np.where(skm > 0, 1 - (1 - f) / skm, 1.0)
                    t5 = 1 - (nd1 - 1) / (tr * skmm - 1) if nd1 > 1 else np.ones(ng)
                    t3 = np.where(live, t5 * skmm * nd1 / (tr * rs), 0.0)
                t4 = np.where(live, t4, 0.0)
                t1 = a[:ng1] - t4[None, :] * c[:ng1]
                v3 += t4 * t4 * t3
                v2 += t1 * (t4 * t3)[None, :]
                v += _pair_sum(t1, t1, t3)
            if nd2 > 0:
                use = (skm > 0) & (d2 > 0)
                with np.errstate(divide="ignore", invalid="ignore"):
                    t4 = np.where(use, (1 - f) / skm, 0.0)
                    t5 = np.where(d2 > 1, 1 - (d2 - 1) / (rs - 1), 1.0)
                    t3 = np.where(use, t5 * skmm**2 * d2 / rs**2, 0.0)
                t1 = t4[None, :] * c[:ng1]
                v3 += t4 * t4 * t3
                v2 -= t1 * (t4 * t3)[None, :]
                v += _pair_sum(t1, t1, t3)
            fm = f
            f1m = f1
            skmm = skm
        rs = rs - counts[t].sum(axis=0)
    cc = c[:ng1]
    v += _pair_sum(cc, cc, v3)
    v += _pair_sum(cc, v2, np.ones(ng)) + _pair_sum(v2, cc, np.ones(ng))
    return s, v


def gray_scores(
    time: FloatArray,
    status: IntArray,
    group: IntArray,
    n_groups: int,
    strata: IntArray | None = None,
    rho: float = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """Scores and their variance of Gray's test, summed over strata.

    Parameters
    ----------
    time : numpy.ndarray
        Follow-up times.
    status : numpy.ndarray of int
        0 = censored, 1 = failure from the cause tested, 2 = from another cause.
    group : numpy.ndarray of int
        Group code 0..n_groups-1.
    n_groups : int
        Number of groups (>= 2).
    strata : numpy.ndarray of int, optional
        Stratum code per row.
    rho : float
        Power of the weight ``(1 - F(t-))^rho`` (0: cmprsk's default).

    Returns
    -------
    tuple of numpy.ndarray
        ``(s, v)``: the scores of the first ``n_groups - 1`` groups and their
        variance matrix, as ``cmprsk``'s ``crstm``.
    """
    codes = np.zeros(time.size, np.int64) if strata is None else strata
    s = np.zeros(n_groups - 1)
    v = np.zeros((n_groups - 1, n_groups - 1))
    for k in np.unique(codes):
        m = codes == k
        sk, vk = _stratum(time[m], status[m], group[m], n_groups, rho)
        s += sk
        v += vk
    return s, v
