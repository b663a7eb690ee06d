"""Single FCFS queues: M/M/1, M/M/c (Erlang C), M/G/1 (processor sharing and priorities
are in :mod:`simperf.analysis.scheduling`).

Times are seconds and rates per second; ``rho`` is a server's utilization. Results that
need a stationary regime raise ``ValueError`` when the queue is unstable.

References: Erlang (1917); Kleinrock, *Queueing Systems* Vol. 1 (1975), sections 3.2,
3.5, 3.6 and 6.4; Gross and Harris, *Fundamentals of Queueing Theory*, section 2.3
(the M/M/c sojourn distribution); Pollaczek-Khinchine for M/G/1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from simperf.analysis._common import (
    FloatArray,
    _cdf_from_sf,
    _hypoexp_sf,
    _integer,
    _littles_law,
    _probability,
    _quantile_from_sf,
    _stable,
)
from simperf.checks import nonnegative, positive

# --------------------------------------------------------------------- M/M/1, M/M/c


@dataclass(frozen=True)
class QueueResult:
    """Stationary measures of an M/M/c queue (``servers == 1`` for M/M/1).

    Attributes
    ----------
    arrival_rate, service_rate
        ``lambda`` and ``mu`` (per server), per second.
    servers
        Number of servers ``c``.
    utilization
        ``rho = lambda / (c mu)``, the busy fraction of each server.
    prob_wait
        Probability that an arrival waits (Erlang C; ``rho`` for M/M/1).
    mean_wait, mean_sojourn
        Mean time in queue and in system (queue + service), seconds.
    mean_queue_length, mean_in_system
        Time-average number waiting and number present.
    throughput
        Departure rate, equal to ``arrival_rate``.
    """

    arrival_rate: float
    service_rate: float
    servers: int
    utilization: float
    prob_wait: float
    mean_wait: float
    mean_sojourn: float
    mean_queue_length: float
    mean_in_system: float
    throughput: float

    @property
    def _wait_rate(self) -> float:
        # The wait, given that there is one, is exponential with this rate.
        return self.servers * self.service_rate - self.arrival_rate

    def _wait_sf(self, t: FloatArray) -> FloatArray:
        return np.where(t < 0, 1.0, self.prob_wait * np.exp(-self._wait_rate * np.maximum(t, 0)))

    def _sojourn_sf(self, t: FloatArray) -> FloatArray:
        tt = np.maximum(t, 0.0)
        mu, c_prob = self.service_rate, self.prob_wait
        sf = (1.0 - c_prob) * np.exp(-mu * tt) + c_prob * _hypoexp_sf(self._wait_rate, mu, tt)
        return np.where(t < 0, 1.0, sf)

    def wait_cdf(self, t: ArrayLike) -> float | FloatArray:
        """P(wait <= t): ``1 - C exp(-(c mu - lambda) t)`` for ``t >= 0``."""
        return _cdf_from_sf(self._wait_sf, t)

    def wait_quantile(self, p: float) -> float:
        """The ``p``-quantile of the wait (0 when ``p <= 1 - prob_wait``)."""
        p = _probability(p)
        if p <= 1.0 - self.prob_wait:
            return 0.0
        return math.log(self.prob_wait / (1.0 - p)) / self._wait_rate

    def sojourn_cdf(self, t: ArrayLike) -> float | FloatArray:
        """P(sojourn <= t), sojourn = wait + service.

        With probability ``1 - C`` the sojourn is the service time, Exp(mu); otherwise it
        is Exp(c mu - lambda) + Exp(mu), whose CDF is the closed-form convolution
        ``1 - (a e^{-mu t} - mu e^{-a t}) / (a - mu)`` with ``a = c mu - lambda``
        (Erlang-2 when ``a == mu``), evaluated in a form that is stable near ``a == mu``.
        """
        return _cdf_from_sf(self._sojourn_sf, t)

    def sojourn_quantile(self, p: float) -> float:
        """The ``p``-quantile of the sojourn time.

        Exponential with rate ``mu - lambda`` for one server; otherwise the CDF above is
        inverted with :func:`scipy.optimize.brentq`.

        Examples
        --------
        >>> round(mm1(90, 100).sojourn_quantile(0.99), 4)  # ln(100) / 10
        0.4605
        """
        p = _probability(p)
        if self.servers == 1:
            return -math.log1p(-p) / (self.service_rate - self.arrival_rate)
        return _quantile_from_sf(self._sojourn_sf, p, self.mean_sojourn)


def mm1(arrival_rate: float, service_rate: float) -> QueueResult:
    """The M/M/1 queue.

    ``rho = lambda / mu``, ``L = rho / (1 - rho)``, ``W = 1 / (mu - lambda)``,
    ``Wq = rho / (mu - lambda)``; the sojourn time is exponential with rate
    ``mu - lambda`` (Kleinrock 1975, section 3.2).

    Parameters
    ----------
    arrival_rate
        Poisson arrival rate ``lambda`` (>= 0), per second.
    service_rate
        Exponential service rate ``mu`` (> 0), per second.

    Returns
    -------
    QueueResult

    Raises
    ------
    ValueError
        If ``lambda >= mu`` or a parameter is invalid.

    Examples
    --------
    >>> r = mm1(90, 100)
    >>> round(r.utilization, 3), round(r.mean_sojourn, 3), round(r.mean_in_system, 3)
    (0.9, 0.1, 9.0)
    >>> round(r.sojourn_quantile(0.5), 5)  # ln(2) / 10
    0.06931
    """
    lam = nonnegative("arrival_rate", arrival_rate)
    mu = positive("service_rate", service_rate)
    rho = lam / mu
    _stable(rho, "the M/M/1 queue")
    wait = rho / (mu - lam)
    sojourn = 1.0 / (mu - lam)
    return QueueResult(
        arrival_rate=lam,
        service_rate=mu,
        servers=1,
        utilization=rho,
        prob_wait=rho,
        **_littles_law(lam, wait, sojourn),
    )


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang B: blocking probability of the M/M/c/c loss system.

    Computed by the recursion ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))``, whose
    terms stay in [0, 1] so it is stable for any number of servers (no factorials).

    Parameters
    ----------
    servers
        Number of servers ``c`` (>= 1).
    offered_load
        ``a = lambda / mu`` in Erlangs (>= 0); any value is allowed.

    Returns
    -------
    float

    Examples
    --------
    >>> round(erlang_b(2, 1.0), 6)  # (1/2) / (1 + 1 + 1/2)
    0.2
    """
    c = _integer("servers", servers, 1)
    a = nonnegative("offered_load", offered_load)
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
        if b == 0.0:  # underflowed, and 0 stays 0: far more servers than load end here
            break
    return b


def erlang_c(servers: int, offered_load: float) -> float:
    """Erlang C: probability that an arrival to an M/M/c queue has to wait.

    ``C = c B / (c - a (1 - B))`` with ``B`` the Erlang B probability from the stable
    recursion in :func:`erlang_b`, so large ``c`` (thousands of servers) is fine.

    Parameters
    ----------
    servers
        Number of servers ``c`` (>= 1).
    offered_load
        ``a = lambda / mu`` in Erlangs; must be ``< c``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``offered_load >= servers`` (unstable) or a parameter is invalid.

    Examples
    --------
    >>> round(erlang_c(2, 1.0), 6)
    0.333333
    >>> round(erlang_c(1, 0.7), 6)  # M/M/1: C = rho
    0.7
    """
    c = _integer("servers", servers, 1)
    a = nonnegative("offered_load", offered_load)
    _stable(a / c, f"an M/M/{c} queue with offered load {a:g} Erlangs")
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def mmc(arrival_rate: float, service_rate: float, servers: int) -> QueueResult:
    """The M/M/c queue (Erlang C model).

    ``C = erlang_c(c, lambda / mu)``, ``Wq = C / (c mu - lambda)``, ``W = Wq + 1 / mu``,
    ``Lq = lambda Wq`` and ``L = lambda W`` (Little). The wait is 0 with probability
    ``1 - C`` and otherwise Exp(``c mu - lambda``); see :class:`QueueResult` for the
    distribution methods.

    Parameters
    ----------
    arrival_rate
        Poisson arrival rate ``lambda`` (>= 0), per second.
    service_rate
        Service rate ``mu`` of one server (> 0), per second.
    servers
        Number of servers ``c`` (>= 1).

    Returns
    -------
    QueueResult

    Raises
    ------
    ValueError
        If ``lambda >= c mu`` or a parameter is invalid.

    Examples
    --------
    >>> r = mmc(100, 60, 2)  # a = 5/3 Erlangs, rho = 0.833
    >>> round(r.prob_wait, 4), round(r.mean_sojourn * 1e3, 2)
    (0.7576, 54.55)
    >>> round(r.sojourn_quantile(0.95) * 1e3, 1)
    156.2
    """
    lam = nonnegative("arrival_rate", arrival_rate)
    mu = positive("service_rate", service_rate)
    c = _integer("servers", servers, 1)
    rho = lam / (c * mu)
    _stable(rho, f"the M/M/{c} queue")
    prob_wait = erlang_c(c, lam / mu)
    wait = prob_wait / (c * mu - lam)
    sojourn = wait + 1.0 / mu
    return QueueResult(
        arrival_rate=lam,
        service_rate=mu,
        servers=c,
        utilization=rho,
        prob_wait=prob_wait,
        **_littles_law(lam, wait, sojourn),
    )


# ---------------------------------------------------------------------------- M/G/1


@dataclass(frozen=True)
class MG1Result:
    """Mean-value results of an M/G/1 queue (Pollaczek-Khinchine).

    Attributes
    ----------
    arrival_rate, mean_service, service_variance
        The inputs.
    utilization
        ``rho = lambda E[S]``.
    mean_wait, mean_sojourn, mean_queue_length, mean_in_system, throughput
        As in :class:`QueueResult`.
    """

    arrival_rate: float
    mean_service: float
    service_variance: float
    utilization: float
    mean_wait: float
    mean_sojourn: float
    mean_queue_length: float
    mean_in_system: float
    throughput: float


def mg1(arrival_rate: float, mean_service: float, service_variance: float) -> MG1Result:
    """The M/G/1 FCFS queue by the Pollaczek-Khinchine mean value formula.

    ``Wq = lambda E[S^2] / (2 (1 - rho))`` with ``E[S^2] = Var[S] + E[S]^2``; equivalently
    ``Wq = rho E[S] (1 + cs^2) / (2 (1 - rho))`` with ``cs^2`` the squared coefficient
    of variation of the service time.

    Parameters
    ----------
    arrival_rate
        Poisson rate ``lambda`` (>= 0), per second.
    mean_service
        ``E[S]`` (> 0), seconds.
    service_variance
        ``Var[S]`` (>= 0), seconds squared; 0 for deterministic service,
        ``E[S]^2`` for exponential.

    Returns
    -------
    MG1Result

    Raises
    ------
    ValueError
        If ``rho >= 1`` or a parameter is invalid.

    Examples
    --------
    >>> r = mg1(90, 0.01, 0.0)  # M/D/1: half the M/M/1 wait
    >>> round(r.mean_wait, 4), round(r.mean_sojourn, 4)
    (0.045, 0.055)
    """
    lam = nonnegative("arrival_rate", arrival_rate)
    es = positive("mean_service", mean_service)
    var = nonnegative("service_variance", service_variance)
    rho = lam * es
    _stable(rho, "the M/G/1 queue")
    wait = lam * (var + es * es) / (2.0 * (1.0 - rho))
    sojourn = wait + es
    return MG1Result(
        arrival_rate=lam,
        mean_service=es,
        service_variance=var,
        utilization=rho,
        **_littles_law(lam, wait, sojourn),
    )
