"""Cox partial likelihood (Efron, Breslow, exact) and Newton-Raphson, in numpy.

Follows R ``survival::coxph``: the same three tie handlings, strata as separate
baseline hazards, right-censored or counting-process ``(start, stop]`` data,
Newton-Raphson from beta = 0 with step halving, score test at beta = 0 and Wald
test at the estimate. Convergence is run to a tighter criterion than R's default
(relative log-likelihood change 1e-9) so results agree with R to well under 1e-6.

The data are sorted once (:class:`CoxData`); every iteration then needs a handful
of passes over the rows: one broadcast multiplication, a grouped sum per distinct
time and a cumulative sum. No sum goes through BLAS (no ``@``, ``dot`` or
``einsum``): cumulative and column sums are sequential or numpy's pairwise sums,
whose order depends neither on the CPU's BLAS kernel nor on the thread count, so
the estimates are bit-for-bit the same on every machine of the same kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "CoxData",
    "EventTerms",
    "Ties",
    "cox_loglik",
    "crossprod",
    "event_terms",
    "fit_cox",
    "linear_predictor",
    "score_residuals",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Ties = Literal["efron", "breslow", "exact"]


def linear_predictor(x: FloatArray, beta: FloatArray) -> FloatArray:
    """Return ``x @ beta`` summed in a fixed order, without BLAS.

    A BLAS matrix-vector product may sum ``x[i, j] * beta[j]`` in a different order,
    or with fused multiply-adds, for different rows (the kernel depends on the CPU,
    and the split of rows on the thread count), so two rows with identical
    covariates can get predictors one ulp apart, and a pair R scores as tied is
    counted as concordant or discordant. Here every row is
    ``(((0 + x_i0 b_0) + x_i1 b_1) + ...)``, the column order of the reference BLAS
    ``dgemv`` behind R's ``X %*% coef``, computed with element-wise numpy operations:
    identical rows get bit-identical predictors, and a row's value depends neither
    on the other rows, nor on their order, nor on the machine.

    Parameters
    ----------
    x : numpy.ndarray
        Matrix (n, p).
    beta : numpy.ndarray
        Vector (p,).

    Returns
    -------
    numpy.ndarray
        Vector (n,).
    """
    x = np.asarray(x, dtype=np.float64)
    eta = np.zeros(x.shape[0])
    for j in range(x.shape[1]):
        eta = eta + x[:, j] * float(beta[j])
    return eta


def _stratum_exact(
    beta: FloatArray,
    x: FloatArray,
    time: FloatArray,
    event: npt.NDArray[np.bool_],
) -> tuple[float, FloatArray, FloatArray]:
    """Exact (discrete) partial likelihood by the Gail-Lubin-Rubinstein recursion."""
    p = x.shape[1]
    eta = linear_predictor(x, beta)
    loglik = 0.0
    score = np.zeros(p)
    info = np.zeros((p, p))
    for t in np.unique(time[event]):
        at_risk = time >= t
        dead = at_risk & event & (time == t)
        d = int(dead.sum())
        xr = x[at_risk]
        er = eta[at_risk]
        shift = er.max()
        rr = np.exp(er - shift)  # scaled; the log-likelihood is corrected below
        # B[k], dB[k], d2B[k] for subsets of size k among the first j members
        b = np.zeros(d + 1)
        db = np.zeros((d + 1, p))
        d2b = np.zeros((d + 1, p, p))
        b[0] = 1.0
        for j in range(xr.shape[0]):
            xj = xr[j]
            rj = rr[j]
            b_prev, db_prev, d2b_prev = b[:-1].copy(), db[:-1].copy(), d2b[:-1].copy()
            b[1:] += rj * b_prev
            db[1:] += rj * (xj[None, :] * b_prev[:, None] + db_prev)
            d2b[1:] += rj * (
                np.outer(xj, xj)[None, :, :] * b_prev[:, None, None]
                + xj[None, :, None] * db_prev[:, None, :]
                + db_prev[:, :, None] * xj[None, None, :]
                + d2b_prev
            )
        bd, dbd, d2bd = b[d], db[d], d2b[d]
        loglik += float(eta[dead].sum() - (np.log(bd) + d * shift))
        mean = dbd / bd
        score += x[dead].sum(axis=0) - mean
        info += d2bd / bd - np.outer(mean, mean)
    return loglik, score, info


def crossprod(a: FloatArray, b: FloatArray) -> FloatArray:
    """Return ``a.T @ b`` with every entry a numpy column sum, without BLAS.

    Parameters
    ----------
    a, b : numpy.ndarray
        Matrices (n, p) and (n, q).

    Returns
    -------
    numpy.ndarray
        Matrix (p, q).
    """
    out = np.empty((a.shape[1], b.shape[1]))
    for j in range(a.shape[1]):
        for k in range(b.shape[1]):
            out[j, k] = float(np.sum(a[:, j] * b[:, k]))
    return out


def _rev_cumsum(a: FloatArray) -> FloatArray:
    """Return the sums from each row to the last (axis 0), sequential."""
    return np.asarray(np.cumsum(a[::-1], axis=0)[::-1], dtype=np.float64)


class _Stratum:
    """One stratum's rows sorted by stop time, with what every iteration reuses."""

    def __init__(
        self,
        rows: IntArray,
        x: FloatArray,
        stop: FloatArray,
        event: BoolArray,
        start: FloatArray | None,
    ) -> None:
        order = np.argsort(stop[rows], kind="stable")
        self.rows = rows[order]
        self.x = x[self.rows]
        self.stop = stop[self.rows]
        self.event = event[self.rows]
        p = x.shape[1]
        self.pairs = [(j, k) for j in range(p) for k in range(j, p)]
        m = self.rows.size
        # Z = [1, x, x_j x_k (j <= k)]: every risk-set sum is a sum of r * Z
        z = np.empty((m, 1 + p + len(self.pairs)))
        z[:, 0] = 1.0
        z[:, 1 : 1 + p] = self.x
        for c, (j, k) in enumerate(self.pairs):
            z[:, 1 + p + c] = self.x[:, j] * self.x[:, k]
        self.z = z
        # groups of equal stop times
        new = np.r_[True, self.stop[1:] != self.stop[:-1]]
        self.group_starts = np.flatnonzero(new)
        self.times = self.stop[self.group_starts]
        group_of_row = np.cumsum(new) - 1
        death_pos = np.flatnonzero(self.event)
        self.death_pos = death_pos
        self.zd = z[death_pos]
        dgroup = group_of_row[death_pos]
        dnew = np.r_[True, dgroup[1:] != dgroup[:-1]] if dgroup.size else dgroup
        self.death_starts = np.flatnonzero(dnew)
        self.event_group = dgroup[self.death_starts]  # group index per event time
        self.event_times = self.times[self.event_group]
        self.d = np.diff(np.r_[self.death_starts, death_pos.size]).astype(np.int64)
        self.sum_x_dead = self.x[death_pos].sum(axis=0)
        # counting process: rows with start >= t are not yet at risk at t
        self.start: FloatArray | None = None
        if start is not None:
            self.start = start[self.rows]
            self.start_order = np.argsort(self.start, kind="stable")
            start_sorted = self.start[self.start_order]
            self.start_pos = np.searchsorted(start_sorted, self.event_times, "left")
        # one term per death: its event time and Efron fraction l / d
        self.term_time = np.repeat(np.arange(self.d.size), self.d)
        first = np.repeat(np.cumsum(np.r_[0, self.d[:-1]]), self.d)
        self.term_ell = np.arange(self.term_time.size) - first

    def risk_sums(self, r: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Risk-set sums of r * Z, and sums over the deaths, at each event time."""
        w = self.z * r[:, None]
        at_time = np.add.reduceat(w, self.group_starts, axis=0)
        total = _rev_cumsum(at_time)[self.event_group]
        if self.start is not None:
            entered = _rev_cumsum(w[self.start_order])
            entered = np.vstack([entered, np.zeros((1, w.shape[1]))])
            total = total - entered[self.start_pos]
        dead = np.add.reduceat(
            self.zd * r[self.death_pos][:, None], self.death_starts, axis=0
        )
        return total, dead

    def efron_frac(self, ties: Ties) -> FloatArray:
        """Efron's l / d per term (zeros for Breslow)."""
        if ties != "efron":
            return np.zeros(self.term_time.size)
        return np.asarray(self.term_ell / self.d[self.term_time], dtype=np.float64)


@dataclass(frozen=True)
class EventTerms:
    """The partial likelihood's terms of one stratum: one per death (Efron).

    Attributes
    ----------
    stratum : _Stratum
        The stratum's sorted data.
    r : numpy.ndarray
        exp(linear predictor), rows in the stratum's order.
    frac : numpy.ndarray
        Efron's l / d per term (0 for Breslow).
    den : numpy.ndarray
        Risk-set sum of r (less the Efron share of the deaths) per term.
    mean : numpy.ndarray
        Weighted covariate mean per term (terms, p).
    second : numpy.ndarray
        Weighted mean of x_j x_k (j <= k) per term (terms, pairs).
    """

    stratum: _Stratum
    r: FloatArray
    frac: FloatArray
    den: FloatArray
    mean: FloatArray
    second: FloatArray

    def variance(self) -> FloatArray:
        """Weighted covariance matrix of the covariates per term (terms, p, p)."""
        a = self.mean
        n_terms, p = a.shape
        out = np.empty((n_terms, p, p))
        for c, (j, k) in enumerate(self.stratum.pairs):
            out[:, j, k] = self.second[:, c] - a[:, j] * a[:, k]
            out[:, k, j] = out[:, j, k]
        return out


class CoxData:
    """Covariates, times, events and strata of a Cox model, sorted once.

    Parameters
    ----------
    x : numpy.ndarray
        Covariates (n, p), centred by the caller (R centres on the column means).
    stop : numpy.ndarray
        Follow-up (or interval end) times.
    event : numpy.ndarray of bool
        Event at ``stop``.
    strata : numpy.ndarray of int, optional
        Stratum code per row.
    start : numpy.ndarray, optional
        Interval start times of counting-process data: the row is at risk on
        ``(start, stop]``.
    """

    def __init__(
        self,
        x: FloatArray,
        stop: FloatArray,
        event: BoolArray,
        strata: IntArray | None = None,
        start: FloatArray | None = None,
    ) -> None:
        self.x = np.ascontiguousarray(x, dtype=np.float64)
        self.stop = np.asarray(stop, dtype=np.float64)
        self.event = np.asarray(event, dtype=bool)
        self.start = None if start is None else np.asarray(start, dtype=np.float64)
        n = self.stop.size
        self.codes = (
            np.zeros(n, np.int64) if strata is None else np.asarray(strata, np.int64)
        )
        self.strata = strata
        self.n, self.p = n, self.x.shape[1]
        order = np.argsort(self.codes, kind="stable")
        cuts = np.flatnonzero(np.diff(self.codes[order])) + 1
        self.all_layers = [
            _Stratum(rows, self.x, self.stop, self.event, self.start)
            for rows in np.split(order, cuts)
        ]
        self.layers = [s for s in self.all_layers if s.d.size]

    def terms(self, beta: FloatArray, ties: Ties) -> list[EventTerms]:
        """Return the partial likelihood's terms of every stratum with events."""
        eta = linear_predictor(self.x, beta)
        out = []
        p = self.p
        for s in self.layers:
            r = np.exp(eta[s.rows])
            total, dead = s.risk_sums(r)
            frac = s.efron_frac(ties)
            num = total[s.term_time] - frac[:, None] * dead[s.term_time]
            den = num[:, 0]
            out.append(
                EventTerms(
                    stratum=s,
                    r=r,
                    frac=frac,
                    den=den,
                    mean=num[:, 1 : 1 + p] / den[:, None],
                    second=num[:, 1 + p :] / den[:, None],
                )
            )
        return out


def event_terms(beta: FloatArray, data: CoxData, ties: Ties) -> list[EventTerms]:
    """Return the Efron/Breslow terms of every stratum at ``beta``.

    Parameters
    ----------
    beta : numpy.ndarray
        Coefficients.
    data : CoxData
        The prepared data.
    ties : {"efron", "breslow"}
        Tie handling.

    Returns
    -------
    list of EventTerms
        One per stratum with events.
    """
    return data.terms(beta, ties)


def _loglik_efron_breslow(
    beta: FloatArray, data: CoxData, ties: Ties
) -> tuple[float, FloatArray, FloatArray]:
    """Log-likelihood, score and information, summed per event time.

    The d Efron terms of a time share their sums: term l has denominator
    ``den_l = S0 - f_l S0d`` (f_l = l / d), mean ``(S1 - f_l S1d) / den_l`` and
    second moment ``(S2 - f_l S2d) / den_l``, so every sum over the terms is a
    combination of the time's risk-set sums (S) and death sums (Sd) with the
    scalars ``sum 1/den``, ``sum f/den``, ``sum 1/den^2``, ``sum f/den^2`` and
    ``sum f^2/den^2``: only one column per term is computed.
    """
    p = data.p
    eta = linear_predictor(data.x, beta)
    loglik = float(eta[data.event].sum())
    score = np.zeros(p)
    info = np.zeros((p, p))
    for s in data.layers:
        r = np.exp(eta[s.rows])
        total, dead = s.risk_sums(r)
        frac = s.efron_frac(ties)
        tt = s.term_time
        k = s.d.size
        den = total[tt, 0] - frac * dead[tt, 0]
        inv = 1.0 / den
        inv2 = inv * inv
        a0 = np.bincount(tt, weights=inv, minlength=k)
        a1 = np.bincount(tt, weights=frac * inv, minlength=k)
        b0 = np.bincount(tt, weights=inv2, minlength=k)
        b1 = np.bincount(tt, weights=frac * inv2, minlength=k)
        b2 = np.bincount(tt, weights=frac * frac * inv2, minlength=k)
        loglik -= float(np.log(den).sum())
        s1, s1d = total[:, 1 : 1 + p], dead[:, 1 : 1 + p]
        score += s.sum_x_dead - (s1 * a0[:, None] - s1d * a1[:, None]).sum(axis=0)
        for c, (j, m) in enumerate(s.pairs):
            second = total[:, 1 + p + c] * a0 - dead[:, 1 + p + c] * a1
            outer = (
                s1[:, j] * s1[:, m] * b0
                - (s1[:, j] * s1d[:, m] + s1d[:, j] * s1[:, m]) * b1
                + s1d[:, j] * s1d[:, m] * b2
            )
            v = float(np.sum(second - outer))
            info[j, m] += v
            if j != m:
                info[m, j] += v
    return loglik, score, info


def cox_loglik(
    beta: FloatArray,
    data: CoxData,
    ties: Ties,
) -> tuple[float, FloatArray, FloatArray]:
    """Log partial likelihood, score vector and information matrix at ``beta``.

    Parameters
    ----------
    beta : numpy.ndarray
        Coefficients.
    data : CoxData
        Covariates, times, events, strata (and interval starts).
    ties : {"efron", "breslow", "exact"}
        Tie handling.

    Returns
    -------
    tuple
        ``(loglik, score, information)``.
    """
    if ties != "exact":
        return _loglik_efron_breslow(beta, data, ties)
    if data.start is not None:
        raise ValueError("ties='exact' is not available for (start, stop] data")
    total = 0.0
    score = np.zeros(data.p)
    info = np.zeros((data.p, data.p))
    for s in data.layers:
        ll, u, i = _stratum_exact(beta, s.x, s.stop, s.event)
        total += ll
        score += u
        info += i
    return total, score, info


def fit_cox(
    data: CoxData,
    ties: Ties,
    tol: float = 1e-12,
    max_iter: int = 60,
) -> tuple[FloatArray, FloatArray, float, float, float, list[str]]:
    """Maximise the partial likelihood by Newton-Raphson from beta = 0.

    Parameters
    ----------
    data : CoxData
        Covariates (centred by the caller or not; the estimates do not change),
        times, events, strata.
    ties : {"efron", "breslow", "exact"}
        Tie handling.
    tol : float
        Stop when the relative change in log-likelihood is below ``tol``
        (R's ``coxph.control(eps=1e-9)`` is looser).
    max_iter : int
        Iteration limit.

    Returns
    -------
    tuple
        ``(beta, covariance, loglik_null, loglik_model, score_test, problems)``;
        ``problems`` lists convergence problems (empty when all is well), as R's
        warnings: out of iterations, or a coefficient that may be infinite.

    Raises
    ------
    ValueError
        If the information matrix at beta = 0 is singular (a constant or
        collinear covariate, or no events).
    """
    p = data.p
    beta = np.zeros(p)
    ll0, u0, i0 = cox_loglik(beta, data, ties)
    try:
        score_test = float(u0 @ np.linalg.solve(i0, u0))
    except np.linalg.LinAlgError:
        raise ValueError(
            "the information matrix is singular at beta = 0: a covariate is constant "
            "or collinear with others (within strata), or there are no events"
        ) from None
    ll, u, info = ll0, u0, i0
    problems: list[str] = []
    converged = False
    for _ in range(max_iter):
        try:
            step = np.linalg.solve(info, u)
        except np.linalg.LinAlgError:
            problems.append("information matrix became singular")
            break
        new = beta + step
        ll_new, u_new, info_new = cox_loglik(new, data, ties)
        halvings = 0
        while (not np.isfinite(ll_new) or ll_new < ll - 1e-12) and halvings < 30:
            step = step / 2
            new = beta + step
            ll_new, u_new, info_new = cox_loglik(new, data, ties)
            halvings += 1
        change = abs(1 - ll_new / ll) if ll != 0 else abs(ll_new)
        beta, ll, u, info = new, ll_new, u_new, info_new
        if change <= tol:
            converged = True
            break
    if not converged and not problems:
        problems.append(f"ran out of iterations ({max_iter}) and did not converge")
    cov = np.asarray(np.linalg.pinv(info), dtype=np.float64)
    # R coxph.fit: a coefficient "may be infinite" when the one-step change it
    # implies is not negligible although the log-likelihood has converged
    eps = 1e-9
    infs = np.abs(linear_predictor(cov.T, u))  # u @ cov, compared with eps below
    flagged = (infs > eps) & (infs > np.sqrt(eps) * np.abs(beta))
    if flagged.any():
        problems.append(
            "log-likelihood converged before coefficient(s) "
            f"{[int(i) for i in np.flatnonzero(flagged)]}; they may be infinite"
        )
    return beta, cov, ll0, ll, score_test, problems


def score_residuals(beta: FloatArray, data: CoxData, ties: Ties) -> FloatArray:
    """Score residuals per row, as R ``residuals(fit, type = "score")``.

    Row i's residual is its contribution to the score,
    ``int (x_i - xbar(t)) dM_i(t)``: ``x_i - xbar`` at its own event (Efron: the
    average over the d terms of its tied time) less ``r_i (x_i - xbar_l) / den_l``
    for every term whose risk set it is in, a dying row taking part in its own
    time's Efron terms with weight ``1 - l / d`` (R ``coxscore2``/``agscore3``).

    Parameters
    ----------
    beta : numpy.ndarray
        Coefficients.
    data : CoxData
        The prepared data.
    ties : {"efron", "breslow"}
        Tie handling.

    Returns
    -------
    numpy.ndarray
        Matrix (n, p), rows in the data's order.
    """
    if ties == "exact":
        raise ValueError("score residuals are not available for ties='exact' (as R)")
    out = np.zeros((data.n, data.p))
    for t in data.terms(beta, ties):
        s = t.stratum
        h = 1.0 / t.den
        k = s.d.size
        haz = np.bincount(s.term_time, weights=h, minlength=k)
        xhaz = np.column_stack(
            [
                np.bincount(s.term_time, weights=t.mean[:, j] * h, minlength=k)
                for j in range(data.p)
            ]
        )
        cum_h = np.r_[0.0, np.cumsum(haz)]
        cum_x = np.vstack([np.zeros((1, data.p)), np.cumsum(xhaz, axis=0)])
        hi = np.searchsorted(s.event_times, s.stop, "right")
        if s.start is not None:
            lo = np.searchsorted(s.event_times, s.start, "right")
        else:
            lo = np.zeros(s.stop.size, np.int64)
        res = -t.r[:, None] * (
            s.x * (cum_h[hi] - cum_h[lo])[:, None] - (cum_x[hi] - cum_x[lo])
        )
        # the deaths: x - xbar at their time, and back the Efron share they did not
        # have in their own time's risk sets
        dead = s.death_pos
        tix = np.repeat(np.arange(k), s.d)  # event-time index of each death
        mean_a = np.column_stack(
            [
                np.bincount(s.term_time, weights=t.mean[:, j], minlength=k) / s.d
                for j in range(data.p)
            ]
        )
        fh = t.frac * h
        back_h = np.bincount(s.term_time, weights=fh, minlength=k)
        back_x = np.column_stack(
            [
                np.bincount(s.term_time, weights=t.mean[:, j] * fh, minlength=k)
                for j in range(data.p)
            ]
        )
        xd = s.x[dead]
        res[dead] += (
            xd
            - mean_a[tix]
            + t.r[dead][:, None] * (xd * back_h[tix][:, None] - back_x[tix])
        )
        out[s.rows] = res
    return out
