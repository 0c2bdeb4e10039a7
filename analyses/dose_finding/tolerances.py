"""Patient tolerances for simulation: one U(0, 1) per (trial, dose, patient slot).

A simulated patient ``j`` treated at dose ``d`` in trial ``t`` has a DLT when their
tolerance ``u[t, d, j]`` is below the true DLT rate of ``d``. Every design reads the
same tolerances, so designs are compared on the same patients (common random numbers).

:class:`PatientTolerances` computes ``u[t, d, j]`` on demand from a counter-based
generator, SplitMix64 (Steele, Lea & Flood 2014) applied to the packed index
``(t << 24) | (d << 14) | j`` offset by a seed-dependent key: only the tolerances of
patients actually treated are computed, and each value depends only on
``(seed, t, d, j)`` — not on chunking, on the other designs, nor on where the chunk
runs. Limits: ``d < 1024`` doses, ``j < 16384`` patients per dose.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["PatientTolerances"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 2.0**-53


def _mix(z: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


class PatientTolerances:
    """Tolerances of simulated patients, computed on demand.

    Parameters
    ----------
    seed : int
        Seed; the same seed gives the same patients.
    n_trials : int
        Number of trials (rows) this object serves.
    offset : int, default 0
        Index of the first trial (for chunks of a larger run).

    Examples
    --------
    >>> tol = PatientTolerances(seed=1, n_trials=2)
    >>> u = tol.take(np.array([0, 1]), np.array([0, 0]), np.array([[0, 1], [0, 1]]))
    >>> u.shape
    (2, 2)
    """

    def __init__(self, seed: int, n_trials: int, offset: int = 0) -> None:
        key = np.array([int(seed) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64)
        with np.errstate(over="ignore"):
            self._key = _mix(key * _GAMMA + _GAMMA)[0]
        self.n_trials = int(n_trials)
        self.offset = int(offset)

    def __len__(self) -> int:
        return self.n_trials

    def take(self, rows: IntArray, dose: IntArray, slots: IntArray) -> FloatArray:
        """Return ``u[rows, dose, slots]`` (broadcast like numpy fancy indexing).

        Parameters
        ----------
        rows : numpy.ndarray of int
            Trial indices (within this object).
        dose : numpy.ndarray of int
            0-based doses.
        slots : numpy.ndarray of int
            Patient slots at the dose (0-based).

        Returns
        -------
        numpy.ndarray of float
            Uniforms in [0, 1).
        """
        t = np.asarray(rows, dtype=np.uint64) + np.uint64(self.offset)
        index = (
            (t << np.uint64(24))
            | (np.asarray(dose, dtype=np.uint64) << np.uint64(14))
            | np.asarray(slots, dtype=np.uint64)
        )
        with np.errstate(over="ignore"):
            z = _mix(self._key + (index + np.uint64(1)) * _GAMMA)
        return (z >> np.uint64(11)).astype(np.float64) * _TO_UNIT

    def as_array(self, n_doses: int, n_slots: int) -> FloatArray:
        """Return every tolerance as an array of shape (n_trials, n_doses, n_slots).

        Parameters
        ----------
        n_doses : int
            Number of doses.
        n_slots : int
            Patients per dose.

        Returns
        -------
        numpy.ndarray
            The same values :meth:`take` returns.
        """
        t, d, j = np.meshgrid(
            np.arange(self.n_trials),
            np.arange(n_doses),
            np.arange(n_slots),
            indexing="ij",
        )
        return self.take(t, d, j)
