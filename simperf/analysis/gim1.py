"""GI/M/1 with Erlang-k arrivals (Kleinrock 6.4): what each server sees behind a
round-robin balancer fed by a Poisson stream."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from simperf.analysis._common import (
    FloatArray,
    _integer,
    _littles_law,
    _probability,
    _shape_like,
    _stable,
)
from simperf.checks import positive
from simperf.lazy import lazy_module

optimize = lazy_module("scipy.optimize")  # imported on first use: only E_k/M/1 needs it

# --------------------------------------------------------------------------- E_k/M/1


@dataclass(frozen=True)
class GIM1Result:
    """Stationary measures of a GI/M/1 queue (here E_k/M/1).

    Attributes
    ----------
    arrival_rate, service_rate, phases
        Mean arrival rate, service rate and the Erlang order ``k`` of the interarrivals.
    sigma
        Root of ``sigma = A*(mu (1 - sigma))``: the probability that an arrival finds the
        server busy.
    utilization
        ``rho = arrival_rate / service_rate``.
    mean_wait, mean_sojourn, mean_queue_length, mean_in_system, throughput
        As in :class:`QueueResult` (time averages by Little's law).
    """

    arrival_rate: float
    service_rate: float
    phases: int
    sigma: float
    utilization: float
    mean_wait: float
    mean_sojourn: float
    mean_queue_length: float
    mean_in_system: float
    throughput: float

    @property
    def _rate(self) -> float:
        return 1.0 / self.mean_sojourn  # mu (1 - sigma), kept exact from the root finder

    def wait_cdf(self, t: ArrayLike) -> float | FloatArray:
        """P(wait <= t) = ``1 - sigma exp(-mu (1 - sigma) t)`` for ``t >= 0``."""
        tt = np.asarray(t, dtype=np.float64)
        cdf = np.where(tt < 0, 0.0, 1.0 - self.sigma * np.exp(-self._rate * np.maximum(tt, 0)))
        return _shape_like(cdf, t)

    def wait_quantile(self, p: float) -> float:
        """The ``p``-quantile of the wait (0 when ``p <= 1 - sigma``)."""
        p = _probability(p)
        if p <= 1.0 - self.sigma:
            return 0.0
        return math.log(self.sigma / (1.0 - p)) / self._rate

    def sojourn_cdf(self, t: ArrayLike) -> float | FloatArray:
        """P(sojourn <= t): exponential with rate ``mu (1 - sigma)``."""
        tt = np.asarray(t, dtype=np.float64)
        cdf = np.where(tt < 0, 0.0, -np.expm1(-self._rate * np.maximum(tt, 0)))
        return _shape_like(cdf, t)

    def sojourn_quantile(self, p: float) -> float:
        """The ``p``-quantile of the sojourn, ``-ln(1 - p) / (mu (1 - sigma))``."""
        p = _probability(p)
        return -math.log1p(-p) / self._rate


def erlang_m1(arrival_rate_per_server: float, service_rate: float, phases: int) -> GIM1Result:
    """The E_k/M/1 queue: Erlang-k interarrival times, exponential service.

    A round-robin balancer that deals a Poisson(``lambda``) stream to ``n`` servers gives
    each one every n-th arrival: Erlang-n interarrivals at rate ``lambda / n``, so this is
    ``erlang_m1(lambda / n, mu, n)``.

    GI/M/1 theory (Kleinrock 1975, section 6.4): ``sigma`` in (0, 1) solves
    ``sigma = A*(mu (1 - sigma))`` with ``A*(s) = (k r / (k r + s))^k`` the
    Laplace-Stieltjes transform of the interarrival time (rate ``r``). Then
    ``Wq = sigma / (mu (1 - sigma))``, ``W = 1 / (mu (1 - sigma))`` and the sojourn is
    exponential with rate ``mu (1 - sigma)``. The root is found by brentq on
    ``x = 1 - sigma``, with ``1 - A*`` evaluated by expm1/log1p so that loads close to 1
    keep their precision.

    Parameters
    ----------
    arrival_rate_per_server
        Mean arrival rate ``r`` (> 0), per second.
    service_rate
        ``mu`` (> 0), per second.
    phases
        ``k`` (>= 1); 1 is M/M/1, large ``k`` approaches D/M/1.

    Returns
    -------
    GIM1Result

    Raises
    ------
    ValueError
        If ``r >= mu`` or a parameter is invalid.

    Examples
    --------
    >>> # E_2/M/1 at rho = 0.5: sigma = ((4 rho + 1) - sqrt(8 rho + 1)) / 2
    >>> r = erlang_m1(50, 100, 2)
    >>> round(r.sigma, 6), round(r.mean_sojourn * 1e3, 3)
    (0.381966, 16.18)
    """
    r = positive("arrival_rate_per_server", arrival_rate_per_server)
    mu = positive("service_rate", service_rate)
    k = _integer("phases", phases, 1)
    rho = r / mu
    _stable(rho, f"the E_{k}/M/1 queue")

    def g(x: float) -> float:
        # 1 - A*(mu x) - x; positive on (0, x*), negative after (1 - A* is concave)
        return -math.expm1(-k * math.log1p(mu * x / (k * r))) - x

    # x* >= 1 - rho (equality for k = 1), and g(x) > 0 for 0 < x < x*.
    lo = 0.5 * (1.0 - rho)
    x = optimize.brentq(g, lo, 1.0, xtol=1e-16, rtol=4 * np.finfo(float).eps, maxiter=500)
    sigma = 1.0 - x
    wait = sigma / (mu * x)
    sojourn = 1.0 / (mu * x)
    return GIM1Result(
        arrival_rate=r,
        service_rate=mu,
        phases=k,
        sigma=sigma,
        utilization=rho,
        **_littles_law(r, wait, sojourn),
    )
