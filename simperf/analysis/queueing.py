"""Closed-form and numerically exact queueing results.

The simulator is validated against these, and they give quick estimates without
simulating. Times are seconds and rates are per second throughout; ``rho`` is the
utilization of a server. Every result that needs a stationary regime raises
``ValueError`` when the load makes the queue unstable.

Models
------
* M/M/1, M/M/c -- Erlang C (Erlang 1917; Kleinrock, *Queueing Systems* Vol. 1, 1975,
  sections 3.2 and 3.5), with the sojourn-time distribution: the wait is 0 with
  probability ``1 - C`` and otherwise exponential with rate ``c mu - lambda``
  (Gross and Harris, *Fundamentals of Queueing Theory*, section 2.3).
* M/M/c/K -- finite birth-death chain, any load (Kleinrock 3.6).
* M/G/1 -- Pollaczek-Khinchine mean value formula.
* Open Jackson networks and tandems (Jackson, Operations Research 5, 1957).
* Closed networks -- exact Mean Value Analysis (Reiser and Lavenberg, JACM 27(2), 1980)
  with load-dependent multi-server stations.
* E_k/M/1 -- GI/M/1 theory (Kleinrock 6.4): what each server sees behind a round-robin
  balancer fed by a Poisson stream.
* Fork-join over identical M/M/1 queues (Nelson and Tantawi, IEEE Trans. Computers
  37(6), 1988) and bounds for n > 2.
* Power of d choices over n servers -- exact for finite n from the Markov chain.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

__all__ = [
    "ForkJoinBounds",
    "GIM1Result",
    "JacksonResult",
    "MG1Result",
    "MMCKResult",
    "MVAResult",
    "PowerOfDResult",
    "QueueResult",
    "erlang_b",
    "erlang_c",
    "erlang_m1",
    "fork_join_bounds",
    "fork_join_two",
    "independent_max_quantile",
    "jackson",
    "mg1",
    "mm1",
    "mmc",
    "mmck",
    "mva",
    "power_of_two",
    "tandem",
]

FloatArray = NDArray[np.float64]

# ----------------------------------------------------------------------------- checks


def _finite(name: str, value: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return x


def _positive(name: str, value: float) -> float:
    x = _finite(name, value)
    if x <= 0:
        raise ValueError(f"{name}: must be > 0, got {value!r}")
    return x


def _nonnegative(name: str, value: float) -> float:
    x = _finite(name, value)
    if x < 0:
        raise ValueError(f"{name}: must be >= 0, got {value!r}")
    return x


def _integer(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer | float):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    if not float(value).is_integer():
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    n = int(value)
    if n < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value!r}")
    return n


def _probability(p: float) -> float:
    x = _finite("p", p)
    if not 0.0 <= x < 1.0:
        raise ValueError(f"p: a quantile level must be in [0, 1), got {p!r}")
    return x


def _stable(rho: float, what: str) -> None:
    if rho >= 1.0:
        raise ValueError(
            f"unstable: {what} has utilization {rho:.6g} >= 1, so no stationary regime exists"
        )


def _vector(name: str, values: ArrayLike) -> FloatArray:
    x = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D array")
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: values must be finite")
    return x


def _servers_vector(servers: ArrayLike | None, size: int) -> NDArray[np.int64]:
    if servers is None:
        return np.ones(size, dtype=np.int64)
    c = np.atleast_1d(np.asarray(servers))
    if c.shape != (size,):
        raise ValueError(f"servers: expected {size} values, got shape {c.shape}")
    if not np.all(np.isfinite(c.astype(np.float64))) or not np.all(c == np.round(c)):
        raise ValueError("servers: expected integers")
    if (c < 1).any():
        raise ValueError("servers: every station needs at least 1 server")
    return c.astype(np.int64)


def _frozen(x: ArrayLike) -> FloatArray:
    a = np.array(x, dtype=np.float64)
    a.setflags(write=False)
    return a


def _shape_like(values: FloatArray, t: ArrayLike) -> float | FloatArray:
    return float(values) if np.ndim(t) == 0 else values


# ----------------------------------------------------------------- distribution helpers


def _hypoexp_sf(a: float, b: float, t: FloatArray) -> FloatArray:
    """P(Exp(a) + Exp(b) > t), exact for every a, b > 0 including a == b.

    The textbook form ``(b e^{-a t} - a e^{-b t}) / (b - a)`` cancels catastrophically as
    ``a -> b``. With ``lo <= hi`` it equals ``e^{-lo t} (1 + lo t (1 - e^{-x}) / x)`` where
    ``x = (hi - lo) t``; ``(1 - e^{-x}) / x -> 1`` as ``x -> 0`` gives the Erlang-2 case.
    """
    lo, hi = min(a, b), max(a, b)
    x = (hi - lo) * t
    safe = np.where(x > 0, x, 1.0)
    g = np.where(x > 0, -np.expm1(-safe) / safe, 1.0)
    return np.exp(-lo * t) * (1.0 + lo * t * g)


def _erlang_sf(k: ArrayLike, rate: float, t: FloatArray) -> FloatArray:
    """P(Erlang(k, rate) > t) broadcast over ``k`` (>= 1) and ``t``."""
    return special.gammaincc(k, rate * t)


def _quantile_from_sf(sf: Callable[[float], float], p: float, scale: float) -> float:
    """Smallest ``t >= 0`` with ``sf(t) <= 1 - p`` for a continuous tail ``sf``.

    Inverting the survival function rather than the CDF keeps the relative precision of
    high quantiles (``1 - p`` is represented exactly, ``p`` close to 1 is not).
    """
    target = 1.0 - p
    if sf(0.0) <= target:
        return 0.0
    lo, hi = 0.0, scale
    for _ in range(2000):
        if sf(hi) <= target:
            break
        lo, hi = hi, 2.0 * hi
    else:  # pragma: no cover - only for pathological tails
        raise RuntimeError("could not bracket the quantile")
    return float(optimize.brentq(lambda t: sf(t) - target, lo, hi, xtol=1e-15 * hi))


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
        tt = np.asarray(t, dtype=np.float64)
        return _shape_like(1.0 - self._wait_sf(tt), t)

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
        tt = np.asarray(t, dtype=np.float64)
        return _shape_like(1.0 - self._sojourn_sf(tt), t)

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
        return _quantile_from_sf(
            lambda t: float(self._sojourn_sf(np.float64(t))), p, self.mean_sojourn
        )


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
    lam = _nonnegative("arrival_rate", arrival_rate)
    mu = _positive("service_rate", service_rate)
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
        mean_wait=wait,
        mean_sojourn=sojourn,
        mean_queue_length=lam * wait,
        mean_in_system=lam * sojourn,
        throughput=lam,
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
    a = _nonnegative("offered_load", offered_load)
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
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
    a = _nonnegative("offered_load", offered_load)
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
    lam = _nonnegative("arrival_rate", arrival_rate)
    mu = _positive("service_rate", service_rate)
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
        mean_wait=wait,
        mean_sojourn=sojourn,
        mean_queue_length=lam * wait,
        mean_in_system=lam * sojourn,
        throughput=lam,
    )


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
        tt = np.asarray(t, dtype=np.float64)
        return _shape_like(1.0 - self._wait_sf(tt), t)

    def wait_quantile(self, p: float) -> float:
        """The ``p``-quantile of an admitted request's wait."""
        p = _probability(p)
        return _quantile_from_sf(
            lambda t: float(self._wait_sf(np.float64(t))),
            p,
            max(self.mean_wait, 1.0 / (self.servers * self.service_rate)),
        )

    def sojourn_cdf(self, t: ArrayLike) -> float | FloatArray:
        """P(sojourn <= t) of an admitted request (FCFS): wait + Exp(mu) service."""
        tt = np.asarray(t, dtype=np.float64)
        return _shape_like(1.0 - self._sojourn_sf(tt), t)

    def sojourn_quantile(self, p: float) -> float:
        """The ``p``-quantile of an admitted request's sojourn (brentq on the CDF)."""
        p = _probability(p)
        return _quantile_from_sf(
            lambda t: float(self._sojourn_sf(np.float64(t))), p, self.mean_sojourn
        )


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
    lam = _nonnegative("arrival_rate", arrival_rate)
    mu = _positive("service_rate", service_rate)
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
    lam = _nonnegative("arrival_rate", arrival_rate)
    es = _positive("mean_service", mean_service)
    var = _nonnegative("service_variance", service_variance)
    rho = lam * es
    _stable(rho, "the M/G/1 queue")
    wait = lam * (var + es * es) / (2.0 * (1.0 - rho))
    sojourn = wait + es
    return MG1Result(
        arrival_rate=lam,
        mean_service=es,
        service_variance=var,
        utilization=rho,
        mean_wait=wait,
        mean_sojourn=sojourn,
        mean_queue_length=lam * wait,
        mean_in_system=lam * sojourn,
        throughput=lam,
    )


# ---------------------------------------------------------------- Jackson networks


@dataclass(frozen=True, eq=False)
class JacksonResult:
    """Stationary measures of an open Jackson network (arrays are per node).

    Attributes
    ----------
    throughput
        Total arrival rate ``lambda_i`` at each node (solution of the traffic equations).
    visit_ratios
        Mean visits per job, ``lambda_i / sum(external arrival rates)``.
    utilization
        Busy fraction of each server at the node.
    mean_wait, mean_sojourn
        Per visit to the node.
    mean_in_system
        Time-average number of jobs at each node.
    external_arrival_rate
        Total external arrival rate.
    mean_in_network
        Sum of ``mean_in_system``.
    network_mean_sojourn
        Mean end-to-end time of a job, ``mean_in_network / external_arrival_rate``.
    nodes
        The per-node :class:`QueueResult` (M/M/c), with distribution methods.
    """

    throughput: FloatArray
    visit_ratios: FloatArray
    utilization: FloatArray
    mean_wait: FloatArray
    mean_sojourn: FloatArray
    mean_in_system: FloatArray
    external_arrival_rate: float
    mean_in_network: float
    network_mean_sojourn: float
    nodes: tuple[QueueResult, ...]


def jackson(
    arrival_rates: ArrayLike,
    routing: ArrayLike,
    service_rates: ArrayLike,
    servers: ArrayLike | None = None,
) -> JacksonResult:
    """Open Jackson network of M/M/c nodes.

    Solves the traffic equations ``lambda = gamma + P^T lambda`` and treats every node as
    an independent M/M/c queue at rate ``lambda_i`` (Jackson's product form theorem).

    Parameters
    ----------
    arrival_rates
        External Poisson rate ``gamma_i`` into each node (>= 0), per second.
    routing
        ``P[i, j]``: probability that a job leaving node ``i`` goes to node ``j``; the rest
        of each row, ``1 - sum_j P[i, j]``, leaves the network.
    service_rates
        Service rate of one server at each node (> 0).
    servers
        Servers per node; 1 each by default.

    Returns
    -------
    JacksonResult

    Raises
    ------
    ValueError
        If the shapes disagree, ``P`` is not substochastic, some jobs never leave, there
        is no external traffic, or a node is unstable.

    Examples
    --------
    >>> # one node, half of the jobs come back: it sees 2 * 50 = 100/s
    >>> r = jackson([50.0], [[0.5]], [200.0])
    >>> float(r.throughput[0]), round(r.network_mean_sojourn * 1e3, 3)
    (100.0, 20.0)
    """
    gamma = _vector("arrival_rates", arrival_rates)
    n = gamma.size
    p = np.asarray(routing, dtype=np.float64)
    if p.shape != (n, n):
        raise ValueError(f"routing: expected a {n}x{n} matrix, got shape {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("routing: probabilities must be finite and >= 0")
    if (p.sum(axis=1) > 1.0 + 1e-12).any():
        raise ValueError("routing: every row must sum to at most 1")
    mu = _vector("service_rates", service_rates)
    if mu.shape != (n,):
        raise ValueError(f"service_rates: expected {n} values, got shape {mu.shape}")
    if (mu <= 0).any():
        raise ValueError("service_rates: must be > 0")
    if (gamma < 0).any():
        raise ValueError("arrival_rates: must be >= 0")
    total_in = float(gamma.sum())
    if total_in <= 0:
        raise ValueError("arrival_rates: the network has no external traffic")
    c = _servers_vector(servers, n)
    # Jobs all leave eventually iff the spectral radius of P is < 1 (open network).
    if n and np.max(np.abs(np.linalg.eigvals(p))) >= 1.0 - 1e-12:
        raise ValueError("routing: some jobs never leave the network (spectral radius >= 1)")
    lam = np.linalg.solve(np.eye(n) - p.T, gamma)
    lam = np.maximum(lam, 0.0)  # round-off on nodes that get no traffic
    nodes = []
    for i in range(n):
        rho = lam[i] / (c[i] * mu[i])
        _stable(rho, f"node {i} (throughput {lam[i]:.6g}/s, {c[i]} x {mu[i]:.6g}/s)")
        nodes.append(mmc(lam[i], mu[i], int(c[i])))
    in_system = np.array([q.mean_in_system for q in nodes])
    total = float(in_system.sum())
    return JacksonResult(
        throughput=_frozen(lam),
        visit_ratios=_frozen(lam / total_in),
        utilization=_frozen([q.utilization for q in nodes]),
        mean_wait=_frozen([q.mean_wait for q in nodes]),
        mean_sojourn=_frozen([q.mean_sojourn for q in nodes]),
        mean_in_system=_frozen(in_system),
        external_arrival_rate=total_in,
        mean_in_network=total,
        network_mean_sojourn=total / total_in,
        nodes=tuple(nodes),
    )


def tandem(
    arrival_rate: float, service_rates: ArrayLike, servers: ArrayLike | None = None
) -> JacksonResult:
    """A chain of M/M/c nodes, every job visiting each once in order.

    The end-to-end mean sojourn is the sum of the nodes' mean sojourns (Burke's theorem
    makes each node's input Poisson).

    Parameters
    ----------
    arrival_rate
        Poisson rate into the first node (> 0).
    service_rates
        Service rate of one server at each node.
    servers
        Servers per node; 1 each by default.

    Returns
    -------
    JacksonResult

    Examples
    --------
    >>> round(tandem(50, [100, 200]).network_mean_sojourn * 1e3, 3)  # 20 ms + 6.667 ms
    26.667
    """
    lam = _positive("arrival_rate", arrival_rate)
    mu = _vector("service_rates", service_rates)
    n = mu.size
    gamma = np.zeros(n)
    gamma[0] = lam
    routing = np.eye(n, k=1)
    return jackson(gamma, routing, mu, servers)


# ------------------------------------------------------------------------------ MVA


@dataclass(frozen=True, eq=False)
class MVAResult:
    """Exact solution of a closed network with a think (delay) station.

    Attributes
    ----------
    users, think_time
        Population ``N`` and mean think time ``Z``.
    throughput
        System throughput ``X(N)`` (requests per second).
    response_time
        Mean time per request spent at the queueing stations, excluding think time:
        ``N / X - Z``.
    residence_times
        Per station, mean time per request (all visits), sums to ``response_time``.
    queue_lengths
        Per station, mean number present (waiting and in service).
    utilizations
        Per station, busy fraction of each server, ``X D_k / c_k``.
    throughput_curve, response_time_curve
        ``X(n)`` and ``R(n)`` for ``n = 1..N`` (index ``n - 1``).
    """

    users: int
    think_time: float
    throughput: float
    response_time: float
    residence_times: FloatArray
    queue_lengths: FloatArray
    utilizations: FloatArray
    throughput_curve: FloatArray
    response_time_curve: FloatArray


def _mva_solve(
    users: int,
    think: float,
    demands: FloatArray,
    servers: NDArray[np.int64],
    removed: frozenset[int],
    memo: dict[frozenset[int], tuple[FloatArray, FloatArray, FloatArray]],
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """MVA of the network without the stations in ``removed``: X(0..N), R(N), Q(N)."""
    if removed in memo:
        return memo[removed]
    k = demands.size
    keep = [i for i in range(k) if i not in removed and demands[i] > 0]
    single = np.array([i for i in keep if servers[i] == 1], dtype=np.int64)
    # c >= N servers never all busy: the station is a pure delay of its demand
    delay = np.array([i for i in keep if servers[i] >= users and servers[i] > 1], dtype=np.int64)
    multi = [i for i in keep if 1 < servers[i] < users]
    base = think + float(demands[delay].sum())

    # Marginal probability of an empty multi-server station, p_k(0 | n), is updated by
    # p_k(0|n) = p_k(0|n-1) X(n) / X_{-k}(n), with X_{-k} the throughput of the network
    # without station k. The usual p_k(0|n) = 1 - sum_{j>=1} p_k(j|n) subtracts nearly
    # equal numbers, and the recursion below amplifies that error by up to c^j / j!: it
    # returns negative throughputs already for 8 servers and 100 users near saturation.
    # Here every operation multiplies or adds positive numbers.
    complement = {
        i: _mva_solve(users, think, demands, servers, removed | {i}, memo)[0] for i in multi
    }
    marginal = {i: np.eye(1, int(servers[i]))[0] for i in multi}  # p_k(j | 0), j < c_k
    idle_weights = {i: np.arange(servers[i] - 1, 0, -1, dtype=np.float64) for i in multi}
    steps = {i: np.arange(1, servers[i], dtype=np.float64) for i in multi}
    x_curve = np.zeros(users + 1)
    r = np.zeros(k)
    q = np.zeros(k)
    r[delay] = demands[delay]
    if single.size == 0 and not multi and base == 0.0:
        # nothing holds a user back: unbounded throughput
        x_curve[1:] = np.inf
        memo[removed] = (x_curve, r, q)
        return memo[removed]
    for n in range(1, users + 1):
        r[single] = demands[single] * (1.0 + q[single])
        for i in multi:
            # R_k(n) = D_k / c [1 + Q_k(n-1) + sum_{j=0}^{c-2} (c-1-j) p_k(j|n-1)]
            idle = float((idle_weights[i] * marginal[i][:-1]).sum())
            r[i] = demands[i] / servers[i] * (1.0 + q[i] + idle)
        x = n / (base + float(r[single].sum()) + float(r[multi].sum()))
        x_curve[n] = x
        q = x * r
        for i in multi:
            p = marginal[i]
            new = np.empty(p.size)
            new[1:] = x * demands[i] / steps[i] * p[:-1]  # p(j|n) = X D / j p(j-1|n-1)
            new[0] = p[0] * x / complement[i][n]
            marginal[i] = new
    memo[removed] = (x_curve, r, q)
    return memo[removed]


def mva(
    users: int,
    think_time: float,
    demands: ArrayLike,
    servers: ArrayLike | None = None,
) -> MVAResult:
    """Exact Mean Value Analysis of a closed network with a think station.

    ``N`` users alternate between thinking (an infinite-server delay of mean ``Z``) and
    a request that visits queueing stations with service demands ``D_k`` (visits times
    service time per visit). Single-server stations use the standard recursion
    ``R_k(n) = D_k (1 + Q_k(n - 1))``, ``X(n) = n / (Z + sum_k R_k(n))``,
    ``Q_k(n) = X(n) R_k(n)`` (Reiser and Lavenberg 1980). A station with ``c > 1``
    servers is load dependent and uses the exact marginal-probability recursion
    (Menasce, Almeida and Dowdy, *Performance by Design*, 2004, chapter 14)
    ``R_k(n) = D_k / c [1 + Q_k(n-1) + sum_{j<c-1} (c-1-j) p_k(j | n-1)]``,
    ``p_k(j | n) = X(n) D_k / j p_k(j-1 | n-1)`` for ``1 <= j < c``. The idle
    probability ``p_k(0 | n)`` comes from the throughput of the network without station
    ``k`` (numerically stable), which costs one extra MVA per subset of the
    multi-server stations: keep their number small (a station with ``c >= N`` is an
    exact delay and does not count).

    Parameters
    ----------
    users
        Number of users ``N`` (>= 1).
    think_time
        Mean think time ``Z`` (>= 0), seconds; any distribution (insensitive).
    demands
        Service demand ``D_k`` of one request at each station (>= 0), seconds.
    servers
        Servers per station; 1 each by default.

    Returns
    -------
    MVAResult

    Raises
    ------
    ValueError
        If a parameter is invalid or all demands and the think time are 0.

    Examples
    --------
    >>> r = mva(1, 1.0, [0.2, 0.3])  # one user never queues
    >>> round(r.response_time, 6), round(r.throughput, 6)
    (0.5, 0.666667)
    >>> r = mva(50, 1.0, [0.02, 0.03], servers=[1, 2])
    >>> round(r.throughput, 2), round(r.response_time * 1e3, 1)
    (43.36, 153.1)
    """
    n_users = _integer("users", users, 1)
    z = _nonnegative("think_time", think_time)
    d = _vector("demands", demands)
    if (d < 0).any():
        raise ValueError("demands: must be >= 0")
    c = _servers_vector(servers, d.size)
    if z + d.sum() <= 0:
        raise ValueError("demands: the think time and all demands are 0")
    x_curve, r, q = _mva_solve(n_users, z, d, c, frozenset(), {})
    x = float(x_curve[n_users])
    populations = np.arange(1, n_users + 1)
    return MVAResult(
        users=n_users,
        think_time=z,
        throughput=x,
        response_time=float(r.sum()),
        residence_times=_frozen(r),
        queue_lengths=_frozen(q),
        utilizations=_frozen(x * d / c),
        throughput_curve=_frozen(x_curve[1:]),
        response_time_curve=_frozen(populations / x_curve[1:] - z),
    )


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
    r = _positive("arrival_rate_per_server", arrival_rate_per_server)
    mu = _positive("service_rate", service_rate)
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
        mean_wait=wait,
        mean_sojourn=sojourn,
        mean_queue_length=r * wait,
        mean_in_system=r * sojourn,
        throughput=r,
    )


# ------------------------------------------------------------------------- fork-join


def _harmonic(n: int) -> float:
    return float(np.sum(1.0 / np.arange(1, n + 1)))


def fork_join_two(arrival_rate: float, service_rate: float) -> float:
    """Exact mean response time of a fork-join over two identical M/M/1 queues.

    Each arrival forks into one task per queue and completes when both are done:
    ``R_2 = (12 - rho) / 8 * 1 / (mu - lambda)`` (Nelson and Tantawi 1988; Flatto and
    Hahn 1984).

    Parameters
    ----------
    arrival_rate
        Poisson rate of jobs ``lambda`` (>= 0); each queue sees all of them.
    service_rate
        ``mu`` of each queue (> 0).

    Returns
    -------
    float
        Mean response time, seconds.

    Raises
    ------
    ValueError
        If ``lambda >= mu`` or a parameter is invalid.

    Examples
    --------
    >>> round(fork_join_two(50, 100), 5)  # (12 - 0.5) / 8 / 50
    0.02875
    """
    lam = _nonnegative("arrival_rate", arrival_rate)
    mu = _positive("service_rate", service_rate)
    rho = lam / mu
    _stable(rho, "each fork-join queue")
    return (12.0 - rho) / 8.0 / (mu - lam)


def independent_max_quantile(arrival_rate: float, service_rate: float, n: int, p: float) -> float:
    """The ``p``-quantile of the maximum of ``n`` independent Exp(mu - lambda) times.

    Sojourn times of the ``n`` queues of a fork-join are associated, so
    ``P(max <= t) >= P(T <= t)^n``: this quantile, ``-ln(1 - p^(1/n)) / (mu - lambda)``,
    is an upper bound on the fork-join's response-time quantile (and ``mm1``'s quantile
    a lower bound).

    Parameters
    ----------
    arrival_rate, service_rate
        ``lambda`` and ``mu`` of each M/M/1 queue.
    n
        Number of queues (>= 1).
    p
        Quantile level in [0, 1).

    Returns
    -------
    float

    Examples
    --------
    >>> round(independent_max_quantile(50, 100, 1, 0.5), 6)  # ln(2) / 50
    0.013863
    """
    lam = _nonnegative("arrival_rate", arrival_rate)
    mu = _positive("service_rate", service_rate)
    k = _integer("n", n, 1)
    p = _probability(p)
    _stable(lam / mu, "each fork-join queue")
    if p == 0.0:
        return 0.0
    # 1 - p^(1/n) by expm1 so that p close to 1 or large n keep their precision
    return -math.log(-math.expm1(math.log(p) / k)) / (mu - lam)


@dataclass(frozen=True)
class ForkJoinBounds:
    """Bounds and an approximation for a fork-join over ``n`` identical M/M/1 queues.

    Attributes
    ----------
    arrival_rate, service_rate, n
        The inputs.
    lower
        Mean sojourn of one M/M/1 queue, ``1 / (mu - lambda)``.
    upper
        Mean of the maximum of ``n`` independent sojourns, ``H_n / (mu - lambda)``.
    nelson_tantawi
        The approximation ``[H_n / H_2 + 4/11 (1 - H_n / H_2) rho] R_2`` (exact for
        ``n = 2``; equal to ``lower`` for ``n = 1``).
    """

    arrival_rate: float
    service_rate: float
    n: int
    lower: float
    upper: float
    nelson_tantawi: float

    def quantile_bounds(self, p: float) -> tuple[float, float]:
        """Lower and upper bounds on the ``p``-quantile of the fork-join response time."""
        lower = mm1(self.arrival_rate, self.service_rate).sojourn_quantile(p)
        upper = independent_max_quantile(self.arrival_rate, self.service_rate, self.n, p)
        return lower, upper


def fork_join_bounds(arrival_rate: float, service_rate: float, n: int) -> ForkJoinBounds:
    """Bounds on the mean response time of a fork-join over ``n`` identical M/M/1 queues.

    The response is the maximum of ``n`` associated M/M/1 sojourns, each Exp(mu -
    lambda): its mean is at least one sojourn's mean and at most the mean of the maximum
    of ``n`` independent ones, ``H_n / (mu - lambda)`` (Nelson and Tantawi 1988).

    Parameters
    ----------
    arrival_rate
        Poisson rate of jobs ``lambda`` (>= 0).
    service_rate
        ``mu`` of each queue (> 0).
    n
        Number of queues (>= 1).

    Returns
    -------
    ForkJoinBounds

    Examples
    --------
    >>> b = fork_join_bounds(50, 100, 2)
    >>> round(b.lower, 5), round(b.nelson_tantawi, 5), round(b.upper, 5)
    (0.02, 0.02875, 0.03)
    """
    lam = _nonnegative("arrival_rate", arrival_rate)
    mu = _positive("service_rate", service_rate)
    k = _integer("n", n, 1)
    rho = lam / mu
    _stable(rho, "each fork-join queue")
    single = 1.0 / (mu - lam)
    h_n, h_2 = _harmonic(k), 1.5
    if k == 1:
        approx = single
    else:
        approx = (h_n / h_2 + 4.0 / 11.0 * (1.0 - h_n / h_2) * rho) * fork_join_two(lam, mu)
    return ForkJoinBounds(lam, mu, k, single, h_n * single, approx)


# -------------------------------------------------------------------- power of d


# The truncated chain must stay small enough to build and solve in seconds.
_MAX_STATES = 1_000_000
# Target stationary probability of a queue at the truncation level.
_TRUNCATION_TARGET = 1e-8


@dataclass(frozen=True, eq=False)
class PowerOfDResult:
    """Stationary measures of power-of-d routing over ``n`` FCFS M/M/1 servers.

    Attributes
    ----------
    arrival_rate, service_rate, servers, d
        The inputs (``servers`` is ``n``).
    max_queue
        Truncation level: at most this many jobs per server in the solved chain.
    utilization
        Busy fraction of each server, ``throughput / (n mu)``.
    throughput
        Admitted rate (the offered rate less the truncation losses).
    mean_in_system
        Mean total number of jobs.
    mean_sojourn, mean_wait
        Mean time in system and in queue, by Little's law with the admitted rate.
    blocking_probability
        Fraction of arrivals the truncation turned away (should be negligible).
    truncation_probability
        Stationary probability that some queue holds ``max_queue`` jobs.
    joined_queue_pmf
        ``P(an admitted arrival joins a queue holding k jobs)``, ``k = 0..max_queue - 1``.
    queue_length_pmf
        Time-average distribution of one server's queue length, ``k = 0..max_queue``.
    states
        Number of states of the truncated chain.
    """

    arrival_rate: float
    service_rate: float
    servers: int
    d: int
    max_queue: int
    utilization: float
    throughput: float
    mean_in_system: float
    mean_sojourn: float
    mean_wait: float
    blocking_probability: float
    truncation_probability: float
    joined_queue_pmf: FloatArray
    queue_length_pmf: FloatArray
    states: int

    def _sf(self, t: FloatArray, extra_phase: int) -> FloatArray:
        # Joining behind k jobs (FCFS, exponential): wait Erlang(k), sojourn Erlang(k + 1).
        k = np.arange(self.joined_queue_pmf.size) + extra_phase
        tt = np.maximum(t, 0.0)[..., None]
        pos = k >= 1
        sf = (self.joined_queue_pmf[pos] * _erlang_sf(k[pos], self.service_rate, tt)).sum(-1)
        return np.where(t < 0, 1.0, np.minimum(sf, 1.0))

    def sojourn_cdf(self, t: ArrayLike) -> float | FloatArray:
        """P(sojourn <= t): a mixture of Erlang(k + 1, mu) over ``joined_queue_pmf``."""
        tt = np.asarray(t, dtype=np.float64)
        return _shape_like(1.0 - self._sf(tt, 1), t)

    def sojourn_quantile(self, p: float) -> float:
        """The ``p``-quantile of the sojourn time (brentq on the CDF)."""
        p = _probability(p)
        return _quantile_from_sf(lambda t: float(self._sf(np.float64(t), 1)), p, self.mean_sojourn)

    def wait_cdf(self, t: ArrayLike) -> float | FloatArray:
        """P(wait <= t): 0 behind an empty queue, else Erlang(k, mu)."""
        tt = np.asarray(t, dtype=np.float64)
        return _shape_like(1.0 - self._sf(tt, 0), t)

    def wait_quantile(self, p: float) -> float:
        """The ``p``-quantile of the wait."""
        p = _probability(p)
        scale = max(self.mean_wait, 1.0 / self.service_rate)
        return _quantile_from_sf(lambda t: float(self._sf(np.float64(t), 0)), p, scale)


def _default_max_queue(rho: float, n: int, d: int) -> int:
    # With d >= 2 the queues stay balanced, so one holding m jobs means about n m in
    # total, and the total decays like rho^T once all servers are busy: P ~ rho^(n m).
    # With d = 1 each queue is an M/M/1 and P ~ rho^m.
    decay = n if d >= 2 else 1
    m = math.ceil(math.log(_TRUNCATION_TARGET) / (decay * math.log(rho))) + 2
    m = max(m, 4)
    if math.comb(m + n, n) > _MAX_STATES:
        cap = m
        while cap > 1 and math.comb(cap + n, n) > _MAX_STATES:
            cap -= 1
        warnings.warn(
            f"power_of_two: max_queue capped at {cap} (instead of {m}) to keep the chain "
            f"under {_MAX_STATES} states; check truncation_probability",
            RuntimeWarning,
            stacklevel=3,
        )
        m = cap
    return m


def _power_of_d_chain(
    lam: float, mu: float, n: int, d: int, m: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], sp.csr_matrix, FloatArray]:
    """States, their levels (total jobs), transition rates and join probabilities.

    A state is the multiset of queue lengths, stored sorted ascending. States are ordered
    with even levels first: every transition changes the level by one, so the chain is
    bipartite between even and odd levels, which the solver exploits.
    """
    states = np.array(
        list(itertools.combinations_with_replacement(range(m + 1), n)), dtype=np.int64
    ).reshape(-1, n)
    level = states.sum(axis=1)
    order = np.lexsort((level, level % 2))
    states, level = states[order], level[order]
    # Rank of a sorted multiset by the combinatorial number system: a_i + i is a strictly
    # increasing sequence, i.e. an n-subset of 0..m+n-1, ranked sum_i C(a_i + i, i + 1).
    binom = np.array(
        [[math.comb(a, b) for b in range(n + 1)] for a in range(m + n + 1)], dtype=np.int64
    )
    offsets = np.arange(n)

    def rank(a: NDArray[np.int64]) -> NDArray[np.int64]:
        b = a + offsets
        return binom[b, offsets + 1].sum(axis=1)

    position = np.empty(len(states), dtype=np.int64)
    position[rank(states)] = np.arange(len(states))
    # Of d distinct servers sampled uniformly, the shortest is the i-th shortest overall
    # with probability C(n-1-i, d-1) / C(n, d) (ties: any order gives the same multiset).
    join = np.array([math.comb(n - 1 - i, d - 1) for i in range(n)]) / math.comb(n, d)
    index = np.arange(len(states))
    rows, cols, vals = [], [], []
    for i in range(n):
        for step, rate, ok in ((-1, mu, states[:, i] > 0), (1, lam * join[i], states[:, i] < m)):
            if rate == 0:
                continue
            nxt = states[ok].copy()
            nxt[:, i] += step
            nxt.sort(axis=1)
            rows.append(index[ok])
            cols.append(position[rank(nxt)])
            vals.append(np.full(len(nxt), rate))
    size = len(states)
    rates = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size)
    )  # duplicate (state, next) pairs are summed
    return states, level, rates, join


def _dot(a: FloatArray, b: FloatArray) -> float:
    # Deliberately not BLAS: multithreaded OpenBLAS level-1 calls on a busy machine can
    # take milliseconds each (thread hand-off), more than the sparse products themselves.
    return float(np.add.reduce(a * b))


def _bicgstab(
    matvec: Callable[[FloatArray], FloatArray], b: FloatArray, tol: float, maxiter: int
) -> FloatArray:
    """BiCGSTAB (van der Vorst 1992) from 0, restarted on breakdown."""
    x = np.zeros_like(b)
    r = b.copy()
    target = tol * math.sqrt(_dot(b, b))
    if target == 0.0:  # b == 0 (or empty): x = 0 solves it
        return x
    r_hat, p, v = r.copy(), np.zeros_like(b), np.zeros_like(b)
    rho = alpha = omega = 1.0
    for _ in range(maxiter):
        rho_new = _dot(r_hat, r)
        if rho_new == 0.0 or omega == 0.0:  # breakdown: restart from the true residual
            r = b - matvec(x)
            r_hat, p, v = r.copy(), np.zeros_like(b), np.zeros_like(b)
            rho = alpha = omega = 1.0
            rho_new = _dot(r_hat, r)
        p = r + (rho_new / rho) * (alpha / omega) * (p - omega * v)
        v = matvec(p)
        alpha = rho_new / _dot(r_hat, v)
        s = r - alpha * v
        if math.sqrt(_dot(s, s)) <= target:
            return x + alpha * p
        t = matvec(s)
        omega = _dot(t, s) / _dot(t, t)
        x = x + alpha * p + omega * s
        r = s - omega * t
        rho = rho_new
        if math.sqrt(_dot(r, r)) <= target:
            break
    return x


def _stationary_bipartite(rates: sp.csr_matrix, n_even: int) -> FloatArray:
    """Stationary distribution of a chain whose states ``[:n_even]`` only reach the rest.

    Balance ``pi_s out_s = sum_r pi_r rates[r, s]`` splits into ``pi_e = B_e pi_o`` and
    ``pi_o = B_o pi_e``; eliminating the even states leaves ``(I - B_o B_e) pi_o = 0``
    on half the states, solved with one odd state pinned by BiCGSTAB (a direct sparse LU
    fills in badly on these lattice-like chains: minutes at 20,000 states).
    """
    out = np.asarray(rates.sum(axis=1)).ravel()
    inflow = rates.T.tocsr()
    b_even = (sp.diags(1.0 / out[:n_even]) @ inflow[:n_even, n_even:]).tocsr()
    b_odd = (sp.diags(1.0 / out[n_even:]) @ inflow[n_even:, :n_even]).tocsr()
    n_odd = out.size - n_even

    def two_steps(x: FloatArray) -> FloatArray:
        return b_odd @ (b_even @ x)

    def matvec(y: FloatArray) -> FloatArray:
        return y - two_steps(np.concatenate(([0.0], y)))[1:]

    first = np.zeros(n_odd)
    first[0] = 1.0
    y = _bicgstab(matvec, two_steps(first)[1:], tol=1e-12, maxiter=20_000)
    odd = np.concatenate(([1.0], y))
    pi = np.maximum(np.concatenate((b_even @ odd, odd)), 0.0)
    pi /= pi.sum()
    residual = np.abs(inflow @ pi - out * pi).sum() / np.add.reduce(out * pi)
    if residual > 1e-8:
        raise RuntimeError(f"stationary solve did not converge (residual {residual:.2e})")
    return pi


def power_of_two(
    arrival_rate: float,
    service_rate: float,
    servers: int,
    d: int = 2,
    max_queue: int | None = None,
) -> PowerOfDResult:
    """Exact power-of-d-choices routing over ``n`` FCFS exponential servers.

    Each Poisson arrival samples ``d`` distinct servers uniformly at random and joins the
    one with the fewest jobs (ties at random); service is exponential at rate ``mu``. The
    continuous-time Markov chain on the sorted vector of queue lengths is truncated at
    ``max_queue`` jobs per server (arrivals that would exceed it are dropped), built
    sparsely and solved for its stationary distribution; the mean sojourn follows from
    Little's law, and the sojourn distribution from the length of the queue joined
    (PASTA). ``d = 1`` is random routing (n independent M/M/1 queues at ``lambda / n``),
    ``d = n`` is join-the-shortest-queue. The chain has ``C(max_queue + n, n)`` states,
    so this is for small ``n`` (up to 5 or 6).

    Parameters
    ----------
    arrival_rate
        Total Poisson rate ``lambda`` (> 0), per second.
    service_rate
        ``mu`` of each server (> 0), per second.
    servers
        ``n`` (>= 1).
    d
        Number of servers sampled per arrival, ``1 <= d <= n``.
    max_queue
        Truncation level. By default chosen so that the probability of a full queue is
        about 1e-8 (``rho^(n m)`` for ``d >= 2``, where queues stay balanced, ``rho^m``
        for ``d = 1``), capped at a million states; at ``rho <= 0.9`` and ``n = 4`` the
        mean changes by less than 1e-6 relative when it is raised. Check
        ``truncation_probability`` of the result; a warning is issued if it exceeds 1e-6.

    Returns
    -------
    PowerOfDResult

    Raises
    ------
    ValueError
        If ``lambda >= n mu`` or a parameter is invalid.

    Examples
    --------
    >>> r = power_of_two(600, 200, 4)  # 4 servers of 5 ms at 75 % load
    >>> round(r.mean_sojourn * 1e3, 2)
    10.09
    >>> round(power_of_two(600, 200, 4, d=4).mean_sojourn * 1e3, 2)  # join the shortest
    8.45
    >>> round(power_of_two(2.1, 1.0, 3, d=1, max_queue=60).mean_sojourn, 5)  # 3 M/M/1s
    3.33333
    """
    lam = _positive("arrival_rate", arrival_rate)
    mu = _positive("service_rate", service_rate)
    n = _integer("servers", servers, 1)
    d = _integer("d", d, 1)
    if d > n:
        raise ValueError(f"d: cannot sample more servers than there are ({n}), got {d}")
    rho = lam / (n * mu)
    _stable(rho, f"power-of-{d} routing over {n} servers")
    m = _default_max_queue(rho, n, d) if max_queue is None else _integer("max_queue", max_queue, 1)
    states, level, rates, join = _power_of_d_chain(lam, mu, n, d, m)
    pi = _stationary_bipartite(rates, int(np.count_nonzero(level % 2 == 0)))

    # An arrival joins the i-th shortest queue with probability join[i] (PASTA).
    joined = np.zeros(m + 1)
    for i in range(n):
        joined += join[i] * np.bincount(states[:, i], weights=pi, minlength=m + 1)
    blocking = float(joined[m])
    admitted = lam * (1.0 - blocking)
    in_system = float(pi @ level)
    sojourn = in_system / admitted
    truncation = float(pi[(states == m).any(axis=1)].sum())
    if truncation > 1e-6:
        warnings.warn(
            f"power_of_two: probability {truncation:.2e} of a queue at max_queue={m}; "
            "raise max_queue for an accurate result",
            RuntimeWarning,
            stacklevel=2,
        )
    per_server = np.zeros(m + 1)
    for i in range(n):
        per_server += np.bincount(states[:, i], weights=pi, minlength=m + 1)
    return PowerOfDResult(
        arrival_rate=lam,
        service_rate=mu,
        servers=n,
        d=d,
        max_queue=m,
        utilization=admitted / (n * mu),
        throughput=admitted,
        mean_in_system=in_system,
        mean_sojourn=sojourn,
        mean_wait=sojourn - 1.0 / mu,
        blocking_probability=blocking,
        truncation_probability=truncation,
        joined_queue_pmf=_frozen(joined[:m] / joined[:m].sum()),
        queue_length_pmf=_frozen(per_server / n),
        states=len(states),
    )
