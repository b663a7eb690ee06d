"""Service disciplines other than first come, first served, in closed form: the M/G/1
processor-sharing queue and Cobham's non-preemptive priority M/G/1.

References: Kleinrock, *Queueing Systems* Vol. 2 (1976), section 4.4 (processor
sharing); Cobham (1954) for non-preemptive priorities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from simperf.analysis._common import (
    FloatArray,
    _stable,
)
from simperf.checks import nonnegative, positive


@dataclass(frozen=True)
class PSResult:
    """The M/G/1 processor-sharing queue (insensitive: only ``E[S]`` matters).

    Attributes
    ----------
    arrival_rate, mean_service, utilization
        ``lambda``, ``E[S]`` and ``rho = lambda E[S]``.
    mean_sojourn
        ``E[T] = E[S] / (1 - rho)``.
    mean_in_system
        ``rho / (1 - rho)``.
    """

    arrival_rate: float
    mean_service: float
    utilization: float
    mean_sojourn: float
    mean_in_system: float

    def sojourn_of(self, size: float) -> float:
        """Mean sojourn of a job of service time ``size``: ``size / (1 - rho)``."""
        return nonnegative("size", size) / (1.0 - self.utilization)


def mg1_ps(arrival_rate: float, mean_service: float) -> PSResult:
    """The M/G/1 queue under processor sharing (Kleinrock 1967; Vol. 2, section 4.4).

    Every job present gets ``1/n`` of the server, so the mean sojourn of a job of size
    ``x`` is ``x / (1 - rho)`` whatever the service distribution: the slowdown ``T/x``
    is ``1 / (1 - rho)`` for every size.

    Parameters
    ----------
    arrival_rate
        Poisson rate ``lambda`` (>= 0), per second.
    mean_service
        ``E[S]`` (> 0), seconds.

    Raises
    ------
    ValueError
        If ``rho >= 1`` or a parameter is invalid.

    Examples
    --------
    >>> r = mg1_ps(80, 0.01)
    >>> round(r.mean_sojourn, 4), round(r.sojourn_of(0.002), 4)
    (0.05, 0.01)
    """
    lam = nonnegative("arrival_rate", arrival_rate)
    es = positive("mean_service", mean_service)
    rho = lam * es
    _stable(rho, "the M/G/1-PS queue")
    return PSResult(
        arrival_rate=lam,
        mean_service=es,
        utilization=rho,
        mean_sojourn=es / (1.0 - rho),
        mean_in_system=rho / (1.0 - rho),
    )


def priority_mg1(
    arrival_rates: ArrayLike, mean_services: ArrayLike, second_moments: ArrayLike
) -> FloatArray:
    """Mean waits per class of the non-preemptive priority M/G/1 queue (Cobham 1954).

    Class 0 has the highest priority; FIFO within a class. With ``sigma_k`` the load of
    classes ``0 .. k`` and ``W0 = sum_i lambda_i E[S_i^2] / 2`` the mean residual work
    an arrival finds in service,

        ``W_k = W0 / ((1 - sigma_{k-1}) (1 - sigma_k))``.

    Parameters
    ----------
    arrival_rates, mean_services, second_moments
        Per class, highest priority first: ``lambda_k`` (>= 0), ``E[S_k]`` (> 0) and
        ``E[S_k^2]`` (>= ``E[S_k]^2``; ``2 E[S_k]^2`` for exponential service).

    Returns
    -------
    numpy.ndarray
        Mean waiting time in queue of each class (add ``E[S_k]`` for the sojourn).

    Raises
    ------
    ValueError
        If the total load is >= 1 or the arrays differ in length.

    Examples
    --------
    >>> w = priority_mg1([40, 40], [0.01, 0.01], [2e-4, 2e-4])  # two M/M/1 classes
    >>> [round(float(x), 5) for x in w]
    [0.01333, 0.06667]
    """
    lam = np.asarray(arrival_rates, dtype=np.float64)
    es = np.asarray(mean_services, dtype=np.float64)
    es2 = np.asarray(second_moments, dtype=np.float64)
    if not (lam.shape == es.shape == es2.shape) or lam.ndim != 1 or lam.size == 0:
        raise ValueError("arrival_rates, mean_services, second_moments: one value per class")
    if np.any(lam < 0) or np.any(es <= 0) or np.any(es2 < es * es * (1 - 1e-12)):
        raise ValueError("rates must be >= 0, means > 0 and second moments >= mean^2")
    sigma = np.cumsum(lam * es)
    _stable(float(sigma[-1]), "the priority M/G/1 queue")
    w0 = float(np.sum(lam * es2)) / 2.0
    before = np.concatenate(([0.0], sigma[:-1]))
    return w0 / ((1.0 - before) * (1.0 - sigma))
