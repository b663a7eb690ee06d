"""Stations of the closed-form estimate: the queues a request visits, their solution, and
the mean time of a route through them (:class:`Time`).

A station is one resource of one component (an app server's cores or workers, a cache
node's cores, a database server's CPU), ``instances`` identical copies of it sharing its
traffic evenly (but a sharded database's queries routed by key, which go to each shard in
proportion to the popularity of the keys it owns: the busiest instance is solved), each
with ``servers`` servers. Open workloads solve each station alone
(the network is taken as a product form, as in a Jackson network): an M/M/c queue
(:func:`simperf.analysis.queueing.mmc`) whose mean wait is scaled by ``(1 + cs^2) / 2``
for a service time of squared coefficient of variation ``cs^2`` (the Allen-Cunneen
approximation for M/G/c with Poisson arrivals: exact for M/M/c, and for one server
the Pollaczek-Khinchine formula of M/G/1). Closed workloads are solved by exact MVA
(:func:`simperf.analysis.networks.mva`) on the stations' demands. A route's p99
(:func:`quantile`) sums its visits' waits and services as independent phases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from simperf.analysis._common import _cdf_from_transform
from simperf.analysis.queueing import mmc


@dataclass
class Station:
    """One queueing resource and the traffic the routes put on it.

    Attributes
    ----------
    component, resource
        Where it is: ``("app", "cores")``, ``("app", "workers")``, ``("db", "cpu")`` ...
    servers, instances
        Servers per instance and identical instances sharing the traffic.
    rate
        Visits per second to all instances together.
    work, second
        Sums over visits per second of the service time's mean and second moment.
    """

    component: str
    resource: str
    servers: int
    instances: int = 1
    rate: float = 0.0
    work: float = 0.0
    second: float = 0.0
    notes: list[str] = field(default_factory=list)
    routed: list[list[float]] | None = None
    """Of the visits not spread evenly: each instance's rate, work and second moment per
    second (None: every visit is spread evenly)."""
    kinds: list[tuple[float, float, float, tuple[float, ...] | None]] = field(default_factory=list)
    """Each :meth:`add`'s rate, mean, variance and shares: the service time's mixture,
    for a single server's wait (:meth:`mixture`)."""

    def add(
        self, rate: float, mean: float, variance: float, shares: Sequence[float] | None = None
    ) -> None:
        """Add ``rate`` visits per second of a service time with this mean and variance,
        spread evenly over the instances or, with ``shares``, in those proportions (a
        sharded database's queries routed by key)."""
        moments = (rate, rate * mean, rate * (variance + mean * mean))
        self.kinds.append((rate, mean, variance, None if shares is None else tuple(shares)))
        self.rate += moments[0]
        self.work += moments[1]
        self.second += moments[2]
        if shares is not None:
            if self.routed is None:
                self.routed = [[0.0, 0.0, 0.0] for _ in range(self.instances)]
            for sums, share in zip(self.routed, shares, strict=True):
                for k in range(3):
                    sums[k] += moments[k] * share

    def scale(self, factor: float) -> None:
        """Multiply its traffic by ``factor`` (a closed workload's throughput)."""
        self.rate, self.work, self.second = (
            self.rate * factor,
            self.work * factor,
            self.second * factor,
        )
        if self.routed is not None:
            self.routed = [[value * factor for value in sums] for sums in self.routed]
        self.kinds = [(rate * factor, mean, var, shares) for rate, mean, var, shares in self.kinds]

    def clear(self) -> None:
        """Forget its traffic (a workers or pool station filled again)."""
        self.rate = self.work = self.second = 0.0
        self.routed = None
        self.kinds = []

    def mixture(self) -> Mixture:
        """The busiest instance's service time as a mixture: ``(share of its visits,
        mean, squared cv)`` per kind of visit (identical kinds merged)."""
        n = self.instances
        top = 0
        if self.routed is not None:
            works = self.instance_work()
            top = max(range(n), key=works.__getitem__)
        rates: dict[tuple[float, float], float] = {}
        for rate, mean, variance, shares in self.kinds:
            here = rate * shares[top] if shares is not None else rate / n
            if here > 0 and mean > 0:
                key = (mean, max(variance, 0.0) / (mean * mean))
                rates[key] = rates.get(key, 0.0) + here
        total = sum(rates.values())
        return tuple((r / total, m, scv) for (m, scv), r in rates.items()) if total else ()

    def instance_work(self) -> list[float]:
        """Work per second of each instance."""
        n = self.instances
        if self.routed is None:
            return [self.work / n] * n
        even = (self.work - sum(sums[1] for sums in self.routed)) / n
        return [even + sums[1] for sums in self.routed]

    def _busiest(self) -> tuple[float, float, float]:
        """Visits, work and second moment per second of the busiest instance."""
        n = self.instances
        if self.routed is None:
            return self.rate / n, self.work / n, self.second / n
        routed = [sum(sums[k] for sums in self.routed) for k in range(3)]
        even = [
            (total - r) / n
            for total, r in zip((self.rate, self.work, self.second), routed, strict=True)
        ]
        top = max(self.routed, key=lambda sums: sums[1])
        return even[0] + top[0], even[1] + top[1], even[2] + top[2]

    @property
    def mean_service(self) -> float:
        """Mean service time per visit (0 with no traffic)."""
        return self.work / self.rate if self.rate > 0 else 0.0

    @property
    def scv(self) -> float:
        """Squared coefficient of variation of the service time of the visits' mixture."""
        return _scv(self.rate, self.work, self.second)

    @property
    def utilization(self) -> float:
        """Busy fraction of each server of the busiest instance: ``lambda E[S] / (c n)``
        when the traffic is spread evenly."""
        if self.routed is None:  # the even spread, in the same operations as always
            return self.work / (self.servers * self.instances)
        return self._busiest()[1] / self.servers

    def wait(self, utilization: float | None = None) -> float:
        """Mean wait before service at this station (inf when it is saturated).

        ``utilization`` (default: its own) lets a closed workload's solution ask at the
        throughput MVA found.
        """
        # the visits of the busiest instance (of any, when they are spread evenly)
        rate, work, second = self._busiest() if self.routed else (self.rate, self.work, self.second)
        mean = work / rate if rate > 0 else 0.0
        if mean <= 0:
            return 0.0
        rho = self.utilization if utilization is None else utilization
        if rho >= 1.0:
            return math.inf
        per_instance = rho * self.servers / mean
        queue = mmc(per_instance, 1.0 / mean, self.servers)
        return queue.mean_wait * (1.0 + _scv(rate, work, second)) / 2.0

    def prob_wait(self, utilization: float | None = None) -> float:
        """Probability that a visit waits at all (Erlang C at the busiest instance's
        utilisation, or at ``utilization``; 0 with no traffic, 1 when saturated)."""
        rate, work = self._busiest()[:2] if self.routed else (self.rate, self.work)
        if rate <= 0 or work <= 0:
            return 0.0
        rho = self.utilization if utilization is None else utilization
        if rho >= 1.0:
            return 1.0
        mean = work / rate
        return mmc(rho * self.servers / mean, 1.0 / mean, self.servers).prob_wait

    @property
    def label(self) -> str:
        """``component cores``: how the estimate names it."""
        return f"{self.component} {self.resource}"


def _scv(rate: float, work: float, second: float) -> float:
    """Squared coefficient of variation of a service time from its sums per second."""
    if rate <= 0 or work <= 0:
        return 1.0
    mean = work / rate
    return max(second / rate / (mean * mean) - 1.0, 0.0)


Mixture = tuple[tuple[float, float, float], ...]
"""A service time as a mixture of gammas: ``(share, mean, scv)`` per kind."""


class Tabulated:
    """A distribution tabulated at points (``grid``, increasing from 0): its CDF linear
    between them, or its density; what is left past the last point is there. Its
    Laplace-Stieltjes transform is exact for that piecewise-linear CDF (density), so the
    Euler inversion recovers it with no jump to smear. Phases are dictionary keys: two
    tables are the same when their ``key`` is (what they were made from).

    Parameters
    ----------
    key
        Hashable description of what was tabulated (``("lognormal", mu, sigma)``).
    grid
        The points, the first 0.
    cdf, density
        The CDF there (0 at 0), or the density there (linear between the points and
        scaled to integrate to 1).
    """

    __slots__ = ("_power", "_weights", "grid", "key", "mean", "rest", "second")

    def __init__(
        self,
        key: Any,
        grid: np.ndarray,
        cdf: np.ndarray | None = None,
        density: np.ndarray | None = None,
    ) -> None:
        self.key = key
        self.grid = x = np.asarray(grid, dtype=np.float64)
        a, b = x[:-1], x[1:]
        h = b - a
        if density is not None:
            f = np.asarray(density, dtype=np.float64)
            f = f / float(h @ (f[:-1] + f[1:]) / 2.0)
            fa, fb = f[:-1], f[1:]
            self.rest = 0.0
            self.mean = float(h @ (fa * (2 * a + b) + fb * (a + 2 * b)) / 6.0)
            self.second = float(
                h
                @ (fa * (3 * a * a + 2 * a * b + b * b) + fb * (a * a + 2 * a * b + 3 * b * b))
                / 12.0
            )
            # int e^-sx f(x) dx over [a, b], f linear of slope k, summed: the ends' terms
            # cancel (f continuous, 0 at both ends) but for k (e^-sa - e^-sb) / s^2
            slope = np.divide(fb - fa, h, out=np.zeros_like(h), where=h > 0)
            self._power = 2
        else:
            c = np.clip(np.maximum.accumulate(np.asarray(cdf, dtype=np.float64)), 0.0, 1.0)
            mass = np.diff(c)
            self.rest = 1.0 - float(c[-1])
            # uniform on each interval: E[X] = mass (a + b) / 2, E[X^2] = mass (a^2+ab+b^2) / 3
            self.mean = float(mass @ ((a + b) / 2) + self.rest * x[-1])
            self.second = float(mass @ ((a * a + a * b + b * b) / 3) + self.rest * x[-1] ** 2)
            slope = np.divide(mass, h, out=np.zeros_like(mass), where=h > 0)
            self._power = 1
        # e^-s x_j's weight in the sum over intervals: sum_i k_i (e^-s a_i - e^-s b_i)
        self._weights = np.concatenate((slope, [0.0])) - np.concatenate(([0.0], slope))

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tabulated) and self.key == other.key

    def __repr__(self) -> str:
        return f"Tabulated({self.key!r})"

    def transform(self, s: np.ndarray) -> np.ndarray:
        """``E[e^-sX]`` at ``s`` (any shape): ``sum_j w_j e^-s x_j / s^p`` (``p`` 1 for a
        piecewise-linear CDF, 2 for a piecewise-linear density), and ``e^-s b`` for the
        mass left past the last point ``b``."""
        # past e^-60 of the smallest decay a point adds nothing: the rest is cut off
        decay = float(np.min(s.real)) if s.size else 0.0
        stop = self.grid.size
        if decay > 0:
            stop = min(int(np.searchsorted(self.grid, 60.0 / decay)) + 1, stop)
        # one product per point, summed: no BLAS for complex numbers (slow on some builds)
        edges = np.exp(np.multiply.outer(-s, self.grid[:stop])) * self._weights[:stop]
        out = edges.sum(axis=-1) / s**self._power
        if self.rest > 0 and stop == self.grid.size:
            out = out + self.rest * np.exp(-s * self.grid[-1])
        return out


_LOGNORMAL_Z = np.linspace(-6.5, 6.5, 161)
_LOGNORMAL_PDF = np.exp(-0.5 * _LOGNORMAL_Z**2)


def lognormal_table(mean: float, variance: float) -> Tabulated:
    """The lognormal of this mean and variance as a :class:`Tabulated` density, exact at
    points spaced evenly in ``log x`` over 6.5 standard deviations either side of the
    median, linear between them (its own tail, where a gamma of the same mean and cv is
    lighter)."""
    sigma2 = math.log1p(variance / (mean * mean))
    sigma, mu = math.sqrt(sigma2), math.log(mean) - sigma2 / 2.0
    points = np.exp(mu + sigma * _LOGNORMAL_Z)
    grid = np.concatenate(([0.0], points))
    density = np.concatenate(([0.0], _LOGNORMAL_PDF / points))  # up to a constant
    return Tabulated(("lognormal", mu, sigma), grid, density=density)


Phase = tuple[float, float, float, bool, int, Mixture | Tabulated]
"""One part of a route's time: ``(mean, scv, atom, delay, arms, service)``, taking no time with
probability ``atom`` (a wait not waited) and otherwise a gamma time of that mean and
squared coefficient of variation (exponential at 1; constant at 0); ``delay``: a
delay step's, whose mean is counted in the route's ``fixed`` time, not in ``queued``;
``arms`` > 1: the longest of that many independent such times (exponential ones:
:func:`slowest`); ``arms`` 0: a single server's wait (:func:`queued`), of the
``service`` mixture ``(share, mean, scv)`` at utilisation ``1 - atom`` (else empty);
``arms`` -1: the :class:`Tabulated` distribution ``service`` (of that mean and scv, no
atom): a lognormal step's own, a hedged call's answer."""


def _binomial(arms: int, prob: float) -> np.ndarray:
    """P(K = j), j = 0..arms, of K ~ Binomial(arms, prob): how many arms wait."""
    j = np.arange(arms + 1)
    log_choose = np.array(
        [math.lgamma(arms + 1) - math.lgamma(k + 1) - math.lgamma(arms - k + 1) for k in j]
    )
    # 0 x log(0) is 0 (prob 0: no arm waits; prob 1: every arm does), not NaN
    with np.errstate(divide="ignore", invalid="ignore"):
        waits = np.where(j > 0, j * np.log(prob), 0.0)
        idles = np.where(j < arms, (arms - j) * np.log1p(-prob), 0.0)
    return np.exp(log_choose + waits + idles)


def _slowest_mean(mean: float, prob: float, arms: int) -> float:
    """Mean of the longest of ``arms`` independent waits, each exponential of ``mean``
    with probability ``prob`` (else none): ``mean`` times the expected harmonic number
    of the arms that wait."""
    harmonic = np.concatenate(([0.0], np.cumsum(1.0 / np.arange(1, arms + 1))))
    return mean * float(_binomial(arms, prob) @ harmonic)


def _slowest_second(mean: float, prob: float, arms: int) -> float:
    """Second moment of :func:`_slowest_mean`'s time: given ``j`` arms wait, the longest
    is a sum of independent exponentials of means ``mean / k``, ``k = 1..j`` (Renyi), so
    its second moment is ``mean^2 (sum 1/k^2 + (sum 1/k)^2)``."""
    k = np.arange(1, arms + 1)
    harmonic = np.concatenate(([0.0], np.cumsum(1.0 / k)))
    squares = np.concatenate(([0.0], np.cumsum(1.0 / k**2)))
    return mean * mean * float(_binomial(arms, prob) @ (squares + harmonic**2))


def _slowest_transform(s: np.ndarray, mean: float, prob: float, arms: int) -> np.ndarray:
    """Laplace-Stieltjes transform of :func:`_slowest_mean`'s time at ``s``.

    Given that ``j`` arms wait, the longest of their exponentials is the sum of
    exponentials of rates ``j/mean, (j-1)/mean, ..., 1/mean`` (Renyi's representation):
    a mixture over ``j`` of positive terms, with no alternating sum to cancel.
    """
    weights = _binomial(arms, prob)
    out = np.full(s.shape, weights[0], dtype=np.complex128)
    term = np.ones(s.shape, dtype=np.complex128)
    for j in range(1, arms + 1):
        rate = j / mean
        term = term * (rate / (s + rate))
        out = out + weights[j] * term
    return out


class Together(NamedTuple):
    """A part of a route taken whole with probability ``prob`` (a cache miss's visit to
    its backing store and the set after it): its ``fixed`` delays and ``phases`` come
    together or not at all, where phases counted by that probability alone would each
    come apart, and the tail of the route with them be too light."""

    prob: float
    queued: float
    fixed: float
    phases: tuple[tuple[Any, float], ...]


class Time(NamedTuple):
    """Mean time of a route: ``queued`` at stations (service and wait), ``fixed`` delays,
    and the queued time's distribution as independent ``phases``.

    ``phases`` pairs each :data:`Phase` with its expected occurrences per route: ``n +
    f`` occurrences are ``n`` independent ones and one more with probability ``f`` (a
    cache miss's visit, a balancer's share). Identical phases are one entry, so a
    request split over identical backends visits one. Queued time without phases (a
    hedged call's answer) is taken as one exponential of its mean.
    """

    queued: float = 0.0
    fixed: float = 0.0
    phases: tuple[tuple[Phase | Together, float], ...] = ()

    def __add__(self, other: Any) -> Time:  # type: ignore[override]
        phases = self.phases
        if other.phases:
            if phases:
                merged = dict(phases)
                for phase, count in other.phases:
                    merged[phase] = merged.get(phase, 0.0) + count
                phases = tuple(merged.items())
            else:
                phases = other.phases
        return Time(self.queued + other.queued, self.fixed + other.fixed, phases)

    def scaled(self, factor: float) -> Time:
        """The time of ``factor`` such routes per call (a miss ratio, a repeat)."""
        phases = tuple((phase, count * factor) for phase, count in self.phases)
        return Time(self.queued * factor, self.fixed * factor, phases)

    @property
    def total(self) -> float:
        """Mean time in all."""
        return self.queued + self.fixed

    def together(self, prob: float) -> Time:
        """This time taken whole with probability ``prob`` (:class:`Together`), of mean
        ``prob`` times its own, as :meth:`scaled` gives."""
        if prob >= 1.0 or self.total <= 0:
            return self.scaled(prob)
        part = Together(prob, self.queued, self.fixed, self.phases)
        return Time(self.queued * prob, self.fixed * prob, ((part, 1.0),))

    @property
    def variance(self) -> float:
        """Variance of the time in all: its phases' (independent, each occurrence a
        gamma of its mean and cv after its atom; one more occurrence with probability
        ``f``: that Bernoulli's), the queued time without phases taken as exponential,
        the other delays constant."""
        total = phased = 0.0
        for phase, count in self.phases:
            if isinstance(phase, Together):  # taken whole with probability p
                if count <= 0:
                    continue
                p, m = phase.prob, phase.queued + phase.fixed
                inner = Time(phase.queued, phase.fixed, phase.phases).variance
                first, second = p * m, p * (inner + m * m)
                whole = math.floor(count + 1e-12)
                part = max(count - whole, 0.0)
                total += whole * (second - first * first) + part * second - (part * first) ** 2
                phased += p * phase.queued * count
                continue
            mean, scv, atom, delay, arms, service = phase
            if count <= 0 or mean <= 0:
                continue
            if arms > 1:
                first = _slowest_mean(mean, 1.0 - atom, arms)
                second = _slowest_second(mean, 1.0 - atom, arms)
            elif arms == 0:
                first, second = _mg1_moments(1.0 - atom, service)
            else:
                first = (1.0 - atom) * mean
                second = (1.0 - atom) * mean * mean * (1.0 + scv)
            whole = math.floor(count + 1e-12)
            part = max(count - whole, 0.0)
            total += whole * (second - first * first) + part * second - (part * first) ** 2
            if not delay:
                phased += first * count
        rest = self.queued - phased
        if rest > 1e-12 * max(self.queued, 1e-300):
            total += rest * rest
        return total

    def mean_only(self) -> Time:
        """The same means with no phases: the queued time taken as one exponential."""
        return Time(self.queued, self.fixed)


def served(mean: float, variance: float | None = None, lognormal: bool = False) -> Time:
    """A service of this mean and variance (exponential without one) as a :class:`Time`:
    a gamma of that mean and cv, or with ``lognormal`` the lognormal's own distribution
    (:func:`lognormal_table`)."""
    if mean <= 0:
        return Time(mean, 0.0)
    scv = 1.0 if variance is None else max(variance, 0.0) / (mean * mean)
    if lognormal and scv > 0:
        return tabulated(lognormal_table(mean, scv * mean * mean), mean)
    return Time(mean, 0.0, (((mean, scv, 0.0, False, 1, ()), 1.0),))


def delayed(mean: float, variance: float, lognormal: bool = False) -> Time:
    """A delay step of this mean and variance (its mean among the ``fixed`` delays), a
    gamma of that mean and cv or, with ``lognormal``, the lognormal's own."""
    if mean <= 0 or variance <= 0:
        return Time(0.0, mean)
    if lognormal:
        return tabulated(lognormal_table(mean, variance), mean, delay=True)
    return Time(0.0, mean, (((mean, variance / (mean * mean), 0.0, True, 1, ()), 1.0),))


def tabulated(table: Tabulated, mean: float | None = None, delay: bool = False) -> Time:
    """The :class:`Tabulated` distribution ``table`` as a :class:`Time` of mean ``mean``
    (default: the table's), queued or, with ``delay``, among the ``fixed`` delays."""
    mean = table.mean if mean is None else mean
    scv = max(table.second / (table.mean * table.mean) - 1.0, 0.0) if table.mean > 0 else 0.0
    phase = ((mean, scv, 0.0, delay, -1, table), 1.0)
    return Time(0.0, mean, (phase,)) if delay else Time(mean, 0.0, (phase,))


def waited(mean: float, prob: float) -> Time:
    """A wait of this mean, waited with probability ``prob``, exponential when it is
    (M/M/c's: an atom at zero and an exponential tail), as a :class:`Time`."""
    if mean <= 0 or not math.isfinite(mean) or prob <= 0:
        return Time(mean, 0.0)
    prob = min(prob, 1.0)
    return Time(mean, 0.0, (((mean / prob, 1.0, 1.0 - prob, False, 1, ()), 1.0),))


def _mg1_moments(rho: float, service: Mixture) -> tuple[float, float]:
    """Mean and second moment of an M/G/1 queue's wait at ``rho``, its service the
    mixture of gammas ``service`` (Pollaczek-Khinchine's mean; Takacs's second moment,
    ``2 E[W]^2 + lambda E[S^3] / (3 (1 - rho))``)."""
    mean = sum(w * m for w, m, _ in service)
    second = sum(w * m * m * (1 + c) for w, m, c in service)
    third = sum(w * m**3 * (1 + c) * (1 + 2 * c) for w, m, c in service)
    rate = rho / mean
    wait = rate * second / (2.0 * (1.0 - rho))
    return wait, 2.0 * wait * wait + rate * third / (3.0 * (1.0 - rho))


def _mg1_transform(s: np.ndarray, rho: float, service: Mixture) -> np.ndarray:
    """Laplace-Stieltjes transform of an M/G/1 queue's wait at ``s`` (Pollaczek and
    Khinchine): ``(1 - rho) / (1 - rho R(s))``, ``R(s) = (1 - B(s)) / (s E[S])`` the
    transform of the service's equilibrium residual, ``B`` the mixture of gammas
    (constants at cv 0) ``service``."""
    mean = sum(w * m for w, m, _ in service)
    transform = np.zeros(s.shape, dtype=np.complex128)
    for w, m, c in service:
        if c < 1e-9:
            transform = transform + w * np.exp(-s * m)
        else:
            transform = transform + w * np.exp(np.log1p(s * (m * c)) * (-1.0 / c))
    residual = (1.0 - transform) / (s * mean)
    return (1.0 - rho) / (1.0 - rho * residual)


def queued(station: Station) -> Time:
    """The wait at a single-server ``station`` as a :class:`Time`: none with probability
    ``1 - rho``, else a geometric sum of its service's residuals (Pollaczek-Khinchine's
    transform, :func:`_mg1_transform`), the service the mixture of its visits' kinds,
    each a gamma of its mean and cv (an exponential service gives M/M/1's exponential
    wait). Its mean is Pollaczek-Khinchine's, the Allen-Cunneen wait of one server."""
    rho = station.utilization
    service = station.mixture()
    if rho <= 0 or not service:
        return Time()
    if rho >= 1.0:
        return Time(math.inf, 0.0)
    if len(service) == 1 and abs(service[0][2] - 1.0) < 1e-9:
        # M/M/1: its wait is exponential after the atom, with no transform to invert
        return waited(station.wait(), station.prob_wait())
    wait = _mg1_moments(rho, service)[0]
    return Time(wait, 0.0, (((wait / rho, 1.0, 1.0 - rho, False, 0, service), 1.0),))


def slowest(mean: float, prob: float, arms: int, queued: float) -> Time:
    """The longest of ``arms`` waits, each of mean ``mean``, waited with probability
    ``prob`` and exponential when it is (a scatter-gather's slowest shard), as a
    :class:`Time` of mean ``queued``.

    Its shape is the longest of independent arms', whose CDF is the product of the
    arms' (:func:`quantile` inverts its transform, :func:`_slowest_transform`), scaled
    to the mean ``queued`` (Nelson and Tantawi's): shards fed the same queries wait
    together, so the independent arms' longest wait is longer than theirs, and
    its mean is ``queued`` exactly when the arms are independent.
    """
    if arms <= 1:
        return waited(mean, prob)
    if mean <= 0 or not math.isfinite(mean) or prob <= 0:
        return Time(queued, 0.0)
    prob = min(prob, 1.0)
    arm = mean / prob * queued / _slowest_mean(mean / prob, prob, arms)
    return Time(queued, 0.0, (((arm, 1.0, 1.0 - prob, False, arms, ()), 1.0),))


def quantile(parts: Sequence[tuple[float, Time]], p: float = 0.99) -> float:
    """The ``p``-quantile of a mixture of routes ``(share, time)``.

    Each route takes its ``fixed`` delays (a delay step's at its distribution) plus the
    sum of its independent phases (and one exponential for queued time without
    phases). Its queued time has an atom at zero (every phase skipped) and a
    continuous rest, whose CDF comes from the product of the phases' Laplace
    transforms by the Euler algorithm
    (:func:`simperf.analysis._common._cdf_from_transform`, to about 1e-9). For a chain
    of M/M/1 stations this is exact, their sojourns being independent (Jackson); the
    sojourns at M/M/c stations in series are taken as independent. The mixture's
    tail, bracketed by doubling, is solved in logarithms by regula falsi (Illinois),
    bisecting where that stalls (at a jump: a route's start or its atom).
    """
    routes = [_Route(share, time) for share, time in parts if share > 0]
    target = 1.0 - p

    def excess(t: float) -> float:
        # in logarithms: an exponential-like tail is nearly a line there, for the secant
        at = np.array([t])
        return math.log(max(float(sum(r.tail(at)[0] for r in routes)), 1e-300)) - log_target

    log_target = math.log(target)

    high = max((r.start + r.mean * math.log(1.0 / target) for r in routes), default=0.0)
    if high <= 0:
        return 0.0
    low, f_low, f_high = 0.0, -log_target, excess(high)
    for _ in range(200):  # a gamma phase of cv > 1 outlasts an exponential of its mean
        if f_high <= 0:
            break
        low, f_low = high, f_high
        high *= 2.0
        f_high = excess(high)
    side, steps, before = 0, 0, high - low
    # the ends' excesses as the secant weighs them (Illinois halves a stale one)
    w_low, w_high = f_low, f_high
    for _ in range(200):
        width = high - low
        if width <= 1e-12 * high:
            break
        steps += 1
        t = low + width / 2
        if steps % 4 and w_low != w_high:
            t = high - w_high * width / (w_high - w_low)
            if not low < t < high:
                t = low + width / 2
        elif 2 * width < before:  # the bracket halved in three secant steps: go on
            before = width
            t = high - w_high * width / (w_high - w_low) if w_low != w_high else t
            t = t if low < t < high else low + width / 2
        else:  # stalled (a jump: a route's start, an atom): bisect
            before = width / 2
        f = excess(t)
        if abs(f) <= 1e-11:  # below the inversion's own error
            return float(t)
        if f > 0:
            low, w_low = t, f
            if side == -1:  # the same end kept twice
                w_high /= 2.0
            side = -1
        else:
            high, w_high = t, f
            if side == 1:
                w_low /= 2.0
            side = 1
    return float(high)


def exceeds(time: Time, t: float) -> float:
    """``P(time > t)`` of one route's :class:`Time`, its atom, phases and delays taken
    as :func:`quantile` takes them."""
    return float(_Route(1.0, time).tail(np.array([t]))[0])


class _Route:
    """One route of a mixture: its constant start, zero atom and phases' transform."""

    def __init__(self, share: float, time: Time) -> None:
        self.share = share
        rows = []
        shift = phased = delays = 0.0
        slow = []  # (row, mean, prob, arms) of the longest of independent waits
        groups = []  # (row, prob, route) of the parts taken whole or not at all
        queues = []  # (row, rho, service) of single servers' waits
        tables = []  # (row, table) of tabulated distributions
        for phase, count in time.phases:
            if isinstance(phase, Together):
                if count <= 0:
                    continue
                inner = _Route(1.0, Time(phase.queued, phase.fixed, phase.phases))
                groups.append((len(rows), phase.prob, inner))
                phased += phase.prob * phase.queued * count
                delays += phase.prob * phase.fixed * count  # its delays are its own
                none = 1.0 - phase.prob + (phase.prob * inner.atom if inner.start <= 0 else 0.0)
                rows.append((phase.queued + phase.fixed, 1.0, none, count))
                continue
            mean, scv, atom, delay, arms, service = phase
            if count <= 0 or mean <= 0:
                continue
            if arms == -1:  # a tabulated distribution: its transform is its own
                tables.append((len(rows), service))
                if delay:
                    delays += mean * count
                else:
                    phased += mean * count
                rows.append((mean, max(scv, 1e-6), 0.0, count))
                continue
            if arms == 0:
                queues.append((len(rows), 1.0 - atom, service))
                phased += mean * (1.0 - atom) * count
                rows.append((mean, 1.0, atom, count))
                continue
            if arms > 1:
                slow.append((len(rows), mean, 1.0 - atom, arms))
                phased += _slowest_mean(mean, 1.0 - atom, arms) * count
                rows.append((mean, 1.0, atom**arms, count))
                continue
            part = mean * (1.0 - atom) * count
            if delay:
                delays += part
            else:
                phased += part
            if scv < 1e-9 and atom <= 0 and count == math.floor(count):
                shift += part  # a constant part, always taken, shifts the route
            else:  # a constant one taken only sometimes is a jump of its own
                rows.append((mean, max(scv, 0.0), atom, count))
        rest = time.queued - phased
        if rest > 1e-12 * max(time.queued, 1e-300):
            rows.append((rest, 1.0, 0.0, 1.0))
        self.start = max(time.fixed - delays, 0.0) + shift
        self.mean = max(max(time.queued, phased) + delays - shift, 0.0)
        table = np.array(rows, dtype=np.float64).reshape(-1, 4)
        self.means, self.scvs, self.atoms, counts = table.T
        self.whole = np.floor(counts + 1e-12)
        self.part = np.clip(counts - self.whole, 0.0, 1.0)
        # every phase skipped: its atom to the power of its occurrences
        self.atom = float(np.prod(self.atoms**self.whole * (1.0 - self.part * (1.0 - self.atoms))))
        self.slow = slow
        self.groups = groups
        self.queues = queues
        self.tables = tables
        self.gated = self.atoms > 0
        for row, *_ in slow + queues + groups + tables:  # its own transform, atom included
            self.gated[row] = False
        self.constant = self.scvs < 1e-9
        self.partial = self.part > 0

    def transform(self, s: np.ndarray) -> np.ndarray:
        """The queued time's Laplace-Stieltjes transform at ``s`` (any shape), summed in
        logarithms: one complex log per phase and node, no complex powers."""
        x = s[..., None]
        if self.constant.any():  # a constant's transform is exp(-s d), a gamma's limit
            scvs = np.where(self.constant, 1.0, self.scvs)
            logs = np.log1p(x * (self.means * scvs)) * (-1.0 / scvs)  # gamma's
            logs = np.where(self.constant, -x * self.means, logs)
        else:
            logs = np.log1p(x * (self.means * self.scvs)) * (-1.0 / self.scvs)  # gamma's
        if self.gated.any():  # an atom at zero: E[e^-sX] = atom + (1 - atom) gamma
            g = self.gated
            one = self.atoms[g] + (1.0 - self.atoms[g]) * np.exp(logs[..., g])
            logs[..., g] = np.log(one)
        for row, mean, prob, arms in self.slow:
            logs[..., row] = np.log(_slowest_transform(x[..., 0], mean, prob, arms))
        for row, rho, service in self.queues:
            logs[..., row] = np.log(_mg1_transform(x[..., 0], rho, service))
        for row, table in self.tables:
            # far in the right half-plane a (near-)constant's transform underflows to 0
            value = table.transform(x[..., 0])
            logs[..., row] = np.log(np.where(value == 0, 1e-300, value))
        for row, prob, inner in self.groups:  # (1 - p) + p e^{-s start} E[e^{-s rest}]
            s0 = x[..., 0]
            whole = np.exp(-s0 * inner.start) * inner.transform(s0)
            logs[..., row] = np.log(1.0 - prob + prob * whole)
        total = logs @ self.whole
        if self.partial.any():  # one more occurrence with probability `part`
            q = self.partial
            one = np.exp(logs[..., q])
            total = total + np.log1p(self.part[q] * (one - 1.0)).sum(axis=-1)
        return np.exp(total)

    def tail(self, t: np.ndarray) -> np.ndarray:
        """``share x P(route time > t)``."""
        out = np.full(t.shape, self.share)
        after = t >= self.start
        if not after.any():
            return out
        if self.atom >= 1.0 or not self.means.size:
            out[after] = 0.0
            return out
        atom = self.atom

        def continuous(s: np.ndarray) -> np.ndarray:
            return (self.transform(s) - atom) / (1.0 - atom)

        cdf = _cdf_from_transform(continuous, t[after] - self.start)
        out[after] = self.share * (1.0 - atom) * (1.0 - cdf)
        return out
