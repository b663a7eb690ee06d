"""M/M/c/K: c servers and room for K requests in all, at any load (Kleinrock 3.6); and
M/M/1 whose requests are dropped once they waited longer than a bound."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from simperf.analysis._common import (
    FloatArray,
    _cdf_from_sf,
    _erlang_sf,
    _frozen,
    _integer,
    _quantile_from_sf,
)
from simperf.checks import nonnegative, positive
from simperf.lazy import lazy_module

# imported on first use: only M/M/c/K and bounded waits need it
special = lazy_module("scipy.special")

# -------------------------------------------------------------------------- M/M/c/K


@dataclass(frozen=True, eq=False)
class MMCKResult:
    """Stationary measures of an M/M/c/K queue (at most K present, arrivals beyond lost).

    Attributes
    ----------
    arrival_rate, service_rate, servers, capacity
        ``lambda``, ``mu`` (per server), ``c`` and ``K``.
    blocking_probability
        ``p_K``: fraction of arrivals turned away (PASTA).
    throughput
        Admitted (= departure) rate ``lambda (1 - p_K)``.
    utilization
        Busy fraction of each server, ``throughput / (c mu)``.
    mean_in_system, mean_queue_length
        Time-average number present and waiting.
    mean_sojourn, mean_wait
        Of admitted requests, by Little's law with the admitted rate.
    state_probabilities
        ``p_n`` for ``n = 0..K``.
    """

    arrival_rate: float
    service_rate: float
    servers: int
    capacity: int
    blocking_probability: float
    throughput: float
    utilization: float
    mean_in_system: float
    mean_queue_length: float
    mean_sojourn: float
    mean_wait: float
    state_probabilities: FloatArray

    def _seen(self) -> tuple[FloatArray, FloatArray]:
        # An admitted arrival sees n < K present with probability p_n / (1 - p_K); if
        # n >= c it waits for n - c + 1 departures at rate c mu.
        p = self.state_probabilities[:-1]
        seen = p / p.sum()
        phases = np.arange(p.size) - self.servers + 1
        # States an arrival practically never sees only cost special-function calls.
        keep = seen > 1e-30
        return seen[keep], phases[keep]

    def _wait_sf(self, t: FloatArray) -> FloatArray:
        seen, phases = self._seen()
        waits = phases >= 1
        rate = self.servers * self.service_rate
        tt = np.maximum(t, 0.0)[..., None]
        sf = (seen[waits] * _erlang_sf(phases[waits], rate, tt)).sum(axis=-1)
        return np.where(t < 0, 1.0, sf)

    def _sojourn_sf(self, t: FloatArray) -> FloatArray:
        seen, phases = self._seen()
        c, mu = self.servers, self.service_rate
        tt = np.maximum(t, 0.0)[..., None]
        m = np.maximum(phases, 1).astype(np.float64)
        # P(Erlang(m, c mu) + Exp(mu) > t) = Q(m, c mu t) + e^{-mu t} int_0^t f_m(s) e^{mu s} ds;
        # the integral term equals pois(m; c mu t) * 1F1(1; m + 1; (c - 1) mu t).
        beta, delta = c * mu, (c - 1) * mu
        m, tt = np.broadcast_arrays(m, tt)
        with np.errstate(divide="ignore"):
            log_pois = special.xlogy(m, beta * tt) - beta * tt - special.gammaln(m + 1)
            if c == 1:
                extra = np.exp(log_pois)
            else:
                # The same term is (c / (c-1))^m e^{-mu t} P(m, delta t), P the regularised
                # incomplete gamma function. P underflows when delta t << m, where the
                # hypergeometric factor is of order 1 and is used instead (it is slow, so
                # only where the Poisson factor is not negligible).
                extra = np.zeros(m.shape)
                lower = special.gammainc(m, delta * tt)
                ok = lower > 1e-280
                extra[ok] = np.exp(-mu * tt[ok] + m[ok] * math.log(c / (c - 1)) + np.log(lower[ok]))
                rest = ~ok & (log_pois > -60.0)  # below, the term is < 1e-26
                extra[rest] = np.exp(log_pois[rest]) * special.hyp1f1(
                    1.0, m[rest] + 1, delta * tt[rest]
                )
        queued = _erlang_sf(m, beta, tt) + extra
        per_state = np.where(phases >= 1, queued, np.exp(-mu * tt))
        sf = np.minimum((seen * per_state).sum(axis=-1), 1.0)
        return np.where(t < 0, 1.0, sf)

    def wait_cdf(self, t: ArrayLike) -> float | FloatArray:
        """P(wait <= t) of an admitted request (mixture of Erlangs with rate ``c mu``)."""
        return _cdf_from_sf(self._wait_sf, t)

    def wait_quantile(self, p: float) -> float:
        """The ``p``-quantile of an admitted request's wait."""
        scale = max(self.mean_wait, 1.0 / (self.servers * self.service_rate))
        return _quantile_from_sf(self._wait_sf, p, scale)

    def sojourn_cdf(self, t: ArrayLike) -> float | FloatArray:
        """P(sojourn <= t) of an admitted request (FCFS): wait + Exp(mu) service."""
        return _cdf_from_sf(self._sojourn_sf, t)

    def sojourn_quantile(self, p: float) -> float:
        """The ``p``-quantile of an admitted request's sojourn (brentq on the CDF)."""
        return _quantile_from_sf(self._sojourn_sf, p, self.mean_sojourn)


def mmck(arrival_rate: float, service_rate: float, servers: int, capacity: int) -> MMCKResult:
    """The M/M/c/K queue: ``c`` servers and room for ``K`` requests in total.

    Birth-death chain with ``p_n`` proportional to ``a^n / n!`` for ``n <= c`` and
    ``a^c / c! * (a / c)^(n - c)`` above (``a = lambda / mu``), normalised over
    ``0..K`` in log space. Valid at any load, including ``lambda >= c mu``.

    Parameters
    ----------
    arrival_rate
        Offered Poisson rate ``lambda`` (>= 0), per second.
    service_rate
        Service rate ``mu`` of one server (> 0).
    servers
        ``c`` (>= 1).
    capacity
        ``K``, the maximum number in system (waiting room plus servers), ``K >= c``.

    Returns
    -------
    MMCKResult

    Raises
    ------
    ValueError
        If a parameter is invalid or ``capacity < servers``.

    Examples
    --------
    >>> r = mmck(100, 100, 1, 1)  # M/M/1/1: blocking = rho / (1 + rho)
    >>> r.blocking_probability, r.throughput
    (0.5, 50.0)
    >>> r = mmck(300, 100, 2, 10)  # overloaded, still has a stationary regime
    >>> round(r.blocking_probability, 4), round(r.mean_sojourn * 1e3, 2)
    (0.3382, 41.06)
    """
    lam = nonnegative("arrival_rate", arrival_rate)
    mu = positive("service_rate", service_rate)
    c = _integer("servers", servers, 1)
    k = _integer("capacity", capacity, 1)
    if k < c:
        raise ValueError(f"capacity: must be >= servers ({c}), got {capacity!r}")
    n = np.arange(k + 1)
    if lam == 0.0:
        probs = np.zeros(k + 1)
        probs[0] = 1.0
    else:
        log_a = math.log(lam / mu)
        busy = np.minimum(n, c)
        # log of a^n / (min(n, c)! * c^(n - c)^+), the unnormalised birth-death weights
        log_w = n * log_a - special.gammaln(busy + 1) - np.maximum(n - c, 0) * math.log(c)
        probs = np.exp(log_w - special.logsumexp(log_w))
    blocking = float(probs[-1])
    throughput = lam * (1.0 - blocking)
    in_system = float(n @ probs)
    queue = float(np.maximum(n - c, 0) @ probs)
    if throughput > 0:
        sojourn, wait = in_system / throughput, queue / throughput
    else:  # no traffic: a lone request would only be served
        sojourn, wait = 1.0 / mu, 0.0
    return MMCKResult(
        arrival_rate=lam,
        service_rate=mu,
        servers=c,
        capacity=k,
        blocking_probability=blocking,
        throughput=throughput,
        utilization=throughput / (c * mu),
        mean_in_system=in_system,
        mean_queue_length=queue,
        mean_sojourn=sojourn,
        mean_wait=wait,
        state_probabilities=_frozen(probs),
    )


# ------------------------------------------------------- M/M/1 with a bound on the wait


@dataclass(frozen=True, eq=False)
class BoundedWaitResult:
    """Stationary measures of an M/M/1 FIFO queue that drops a request once it has
    waited longer than a bound.

    Attributes
    ----------
    arrival_rate, service_rate, bound
        ``lambda``, ``mu`` and ``tau``.
    shed_probability
        Share of arrivals dropped, ``P(V > tau)`` for the work ``V`` an arrival finds.
    throughput
        Rate served, ``lambda (1 - shed_probability)``.
    utilization
        Busy fraction, ``1 - P(V = 0)`` (= ``throughput / mu``).
    p_wait
        Share of the served that waited at all, ``P(0 < V <= tau) / P(V <= tau)``.
    mean_wait, mean_sojourn
        Of the served requests: ``E[V | V <= tau]`` and that plus ``1 / mu``.
    """

    arrival_rate: float
    service_rate: float
    bound: float
    shed_probability: float
    throughput: float
    utilization: float
    p_wait: float
    mean_wait: float
    mean_sojourn: float


def mm1_bounded_wait(arrival_rate: float, service_rate: float, bound: float) -> BoundedWaitResult:
    """M/M/1 FIFO whose requests are dropped once they waited longer than ``bound``.

    Whether the drop happens as the wait passes the bound (reneging) or when the server
    picks the request (shedding on dequeue) the server sees the same work: a dropped
    request costs it nothing, so an arrival waits the work ``V`` it finds and is served
    iff ``V <= tau``. ``V`` has an atom ``p0`` at 0, density ``lambda p0
    e^(-(mu - lambda) v)`` on ``(0, tau]`` and ``f(tau) e^(-mu (v - tau))`` beyond
    (level crossing: each density equals the rate of up-crossings from arrivals that
    joined below it). Valid at any load, ``lambda >= mu`` included.

    Parameters
    ----------
    arrival_rate
        Poisson rate ``lambda`` (> 0), per second.
    service_rate
        Exponential service rate ``mu`` (> 0).
    bound
        The longest wait ``tau`` (>= 0) of a request served.

    Returns
    -------
    BoundedWaitResult

    Examples
    --------
    >>> r = mm1_bounded_wait(100, 100, 0.0)  # tau = 0: the M/M/1/1 loss system
    >>> round(r.shed_probability, 12), round(r.mean_sojourn, 12)
    (0.5, 0.01)
    >>> r = mm1_bounded_wait(150, 100, 0.05)  # overloaded: a third shed, the rest in 43 ms
    >>> round(r.shed_probability, 4), round(r.utilization, 4), round(r.mean_sojourn * 1e3, 2)
    (0.346, 0.9811, 43.47)
    """
    lam = positive("arrival_rate", arrival_rate)
    mu = positive("service_rate", service_rate)
    tau = nonnegative("bound", bound)
    k = mu - lam
    # the density on (0, tau] is lam p0 e^(-k v): its mass and first moment, divided by p0
    if abs(k * tau) < 1e-9:  # lam = mu (to rounding): the density is flat
        mass, moment, edge = lam * tau, lam * tau * tau / 2, 1.0
    else:
        edge = math.exp(-k * tau)
        mass = lam * (1.0 - edge) / k
        moment = lam * (1.0 - edge * (1.0 + k * tau)) / (k * k)
    p0 = 1.0 / (1.0 + mass + lam * edge / mu)
    shed = lam * p0 * edge / mu
    served = 1.0 - shed
    wait = p0 * moment / served
    return BoundedWaitResult(
        arrival_rate=lam,
        service_rate=mu,
        bound=tau,
        shed_probability=shed,
        throughput=lam * served,
        utilization=1.0 - p0,
        p_wait=p0 * mass / served,
        mean_wait=wait,
        mean_sojourn=wait + 1.0 / mu,
    )
