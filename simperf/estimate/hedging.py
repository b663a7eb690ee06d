"""A hedged call's answer: the earliest of its copies, the later ones sent while the first
has not answered, and the copies' load on the callee's queue.

Copy ``k`` (``k = 1..n``) is sent at ``(k - 1) d`` while no copy has answered; the first
answer wins and the others run on. Copies are not independent: a copy goes out when the
first is slow, mostly when the callee is busy, and it joins the same queue. At the
callee's queueing station (``c`` servers, mean service ``E[S]``) a hedged call is taken
as a *batch*: the first copy finds ``N`` visits there, and copy ``k`` finds them too,
with its earlier siblings (still there, since none has answered) ahead of it, so it
waits for ``max(0, N - c + k)`` departures from its own sending; while every server is
busy, departures come at rate ``c / E[S]`` (their stages scaled by Allen-Cunneen's
``(1 + cs^2) / 2``). So the copies share the first's wait ``W = Erlang(N - c + 1)``
(none when ``N < c``), and after it copy ``k`` adds ``k - 1`` stages more (fewer when
``N < c - 1``): the answer is ``L = W + min_k((k - 1) d + E_k + R_k)``, ``R_k``
independent draws of the callee's time without that wait, ``E_k`` the extra stages.
``N`` is the stationary state of a chain whose arrivals bring a batch: other visits
one, a hedged call ``B`` copies with ``P(B >= k | N)`` the probability that no copy
has answered by ``(k - 1) d`` given ``N``; its departures are ``min(N, c) / E[S]``.
The chain only goes down by one, so its distribution follows from the flow across each
level (``pi_{n+1} min(n + 1, c) / E[S] = sum_i pi_i rate_i(batch > n - i)``). Against
a simulation of 100 calls/s hedged after 5 ms to four cores of 10 ms (exponential), it
gives the copies' load (41.2% busy) and the waits (15% of first copies, 32% of second
copies wait, 6.5 and 7.0 ms when they do) that independent copies at Erlang C's waits
(9.2%, 4.2 ms) miss: see docs/estimate.md.

Where the callee's queue is not one visit per call (an endpoint of several ``cpu``
steps queueing for cores, a balancer, a database), the copies are taken as independent
draws of the callee's whole time: ``P(L > t) = prod_k P(X > t - (k - 1) d)``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from simperf.estimate.stations import Tabulated, Time, _Route

GRID = 1200
"""Points of the answer's tabulated distribution (at least)."""
MAX_GRID = 4000
"""Most points, where a hedge's short delay would ask for more (then not on a point)."""
TABLE = 300
"""Most points of the answer's table in the route's quantiles."""
MAX_LEVELS = 20_000
"""Most levels of the batch chain solved (its tail past them is negligible or saturated)."""


@dataclass(frozen=True)
class HedgedAnswer:
    """A hedged call's answer and what its copies cost.

    Attributes
    ----------
    mean
        Mean time to the first answer.
    copies_per_call
        Copies sent per call (``1 +`` hedges per call).
    utilization
        Of the callee's queueing station, by the batch chain (NaN without one).
    table
        The answer's distribution, for the route's quantiles.
    """

    mean: float
    copies_per_call: float
    utilization: float
    table: Tabulated | None


@functools.lru_cache(maxsize=64)
def _survival(time: Time, step: float, size: int) -> np.ndarray:
    """``P(X > t)`` of a route's time at ``t = 0, step, ..., (size - 1) step`` (read
    only: the same route on the same grid is inverted once)."""
    route = _Route(1.0, time)
    t = np.arange(size) * step
    out = np.where(t < route.start, 1.0, route.tail(t))
    out[0] = 1.0
    out.setflags(write=False)
    return out


def _poisson_matrix(levels: int, x: np.ndarray) -> np.ndarray:
    """``P(Poisson(x) = k)``, ``k = 0..levels - 1`` (rows) at each ``x`` (columns)."""
    k = np.arange(levels)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = (
            k * np.log(x)[None, :]
            - x[None, :]
            - np.array([math.lgamma(j + 1) for j in range(levels)])[:, None]
        )
    out = np.exp(logs)
    out[:, x <= 0] = 0.0
    out[0, x <= 0] = 1.0
    return out


def _erlang_density(stages: int, rate: float, u: np.ndarray) -> np.ndarray:
    """The density of ``Erlang(stages, rate)`` at ``u >= 0``."""
    x = rate * u
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = (stages - 1) * np.log(x) - x - math.lgamma(stages)
    out = rate * np.exp(logs)
    out[x <= 0] = rate if stages == 1 else 0.0
    return out


def _convolve(density: np.ndarray, cdf: np.ndarray, h: float) -> np.ndarray:
    """``int_0^t density(w) cdf(t - w) dw`` on a grid of step ``h`` (the trapezoid
    rule)."""
    full = np.convolve(density, cdf)[: density.size]
    return (full - 0.5 * (density[0] * cdf + density * cdf[0])) * h


def _erlang_survival(stages: int, rate: float, u: np.ndarray) -> np.ndarray:
    """``P(Erlang(stages, rate) > u)`` (1 for ``u < 0``; ``stages`` 0: a point at 0)."""
    if stages <= 0:
        return (u < 0).astype(np.float64)
    x = np.maximum(u, 0.0) * rate
    return _poisson_matrix(stages, x).sum(axis=0)


@functools.lru_cache(maxsize=64)
def hedged_answer(
    rest: Time,
    after: float,
    copies: int,
    *,
    first_rate: float = 0.0,
    other_rate: float = 0.0,
    servers: int = 0,
    service: float = 0.0,
    scv: float = 1.0,
) -> HedgedAnswer:
    """The earliest of ``copies`` copies sent every ``after`` while none has answered.

    Parameters
    ----------
    rest
        The callee's time without the wait at its queueing station (with ``servers`` 0:
        its whole time, the copies independent).
    after, copies
        The hedge's delay and the copies its ``max_copies`` and timeout allow.
    first_rate, other_rate
        Per instance of the queueing station: hedged calls (their first copies) and
        other visits per second.
    servers, service, scv
        The station's servers per instance, mean service per visit and its squared cv.

    Returns
    -------
    HedgedAnswer
        With an infinite mean where the chain is saturated.
    """
    n = max(int(copies), 1)
    d = float(after)
    chained = servers > 0 and service > 0 and first_rate > 0
    spread = math.sqrt(max(rest.variance, 0.0))
    theta = servers / (service * max((1.0 + scv) / 2.0, 1e-9)) if chained else 0.0
    # the grid: the copies' delays, the callee's time well into its tail, the chain's wait
    # (its load rounded up, so that the grid, and the callee's time on it, are the same
    # from one solution to the next while the copies settle)
    top = (n - 1) * d + rest.total + 14.0 * max(spread, rest.total) + 1e-12
    chain_load = (other_rate + first_rate * n) * service / servers if chained else 0.0
    if chained and chain_load < 1.0:
        coarse = math.ceil(chain_load * 20.0 + 1e-9) / 20.0
        top += 30.0 * (1.0 / theta) / max(1.0 - coarse, 0.05)
    # a step that divides the hedge's delay, so that each copy is sent at a point
    h = top / (GRID - 1)
    if d > h:
        h = d / math.ceil(d / h)
    elif top / d < MAX_GRID:
        h = d
    t = np.arange(math.ceil(top / h) + 1) * h
    rest_sf = _survival(rest, h, t.size)

    def copy_sf(stages: int) -> np.ndarray:
        """``P(E + R > t)``, ``E`` that many stages of rate ``theta``, on the grid."""
        if stages <= 0:
            return rest_sf
        density = _erlang_density(stages, theta, t)
        return np.clip(1.0 - _convolve(density, 1.0 - rest_sf, h), 0.0, 1.0)

    def shifted(sf: np.ndarray, by: float) -> np.ndarray:
        return np.interp(t - by, t, sf, left=1.0, right=float(sf[-1]))

    # the answer after the shared wait, by how many stages each later copy adds
    variants = {}
    for m in range(n):  # m: levels below c - 1 (0: the first waits or finds c - 1)
        answer = rest_sf.copy()
        for k in range(2, n + 1):
            answer = answer * shifted(copy_sf(max(0, k - 1 - m) if chained else 0), (k - 1) * d)
        variants[m] = answer
    if not chained:
        return _answer(("hedged", t[-1], d, n), t, variants[n - 1], n, d, math.nan)
    if chain_load >= 1.0:
        return HedgedAnswer(math.inf, float(n), math.inf, None)

    # P(no answer by (j - 1) d | N) from the first j - 1 copies, j = 2..n
    partial = {}
    for m in range(n):
        for j in range(2, n + 1):
            sf = rest_sf.copy()
            for k in range(2, j):
                sf = sf * shifted(copy_sf(max(0, k - 1 - m)), (k - 1) * d)
            partial[(m, j)] = sf

    def sent(level: int) -> list[float]:
        """``P(B >= j | N = level)``, j = 2..n."""
        out = []
        for j in range(2, n + 1):
            x = (j - 1) * d
            if level < servers:
                m = min(servers - 1 - level, n - 1)
                out.append(float(np.interp(x, t, partial[(m, j)])))
                continue
            k = level - servers + 1  # the first copy's stages of wait
            sf = partial[(0, j)]
            # P(W + M > x) = P(W > x) + int_0^x f_W(w) P(M > x - w) dw
            w = t[t <= x]
            if w.size < 2:
                out.append(1.0)
                continue
            f = _erlang_density(k, theta, w)
            inner = np.trapezoid(f * np.interp(x - w, t, sf), w)
            out.append(min(float(_erlang_survival(k, theta, np.array([x]))[0] + inner), 1.0))
        return out

    pi = [1.0]
    batches: list[list[float]] = []  # P(B >= j | level), j = 2..n
    level = 0
    steady = None
    while level < MAX_LEVELS:
        batches.append(sent(level) if steady is None else steady)
        if steady is None and level >= servers and min(batches[-1]) > 1.0 - 1e-12:
            steady = batches[-1]
        up = 0.0
        for i in range(max(0, level + 1 - n), level + 1):
            jump = level + 1 - i  # arrivals in state i bringing at least this many
            if jump == 1:
                up += pi[i] * (first_rate + other_rate)
            else:
                up += pi[i] * first_rate * batches[i][jump - 2]
        pi.append(up / (min(level + 1, servers) / service))
        level += 1
        if level > servers + n and pi[-1] < 1e-13 * max(pi):
            break
    probs = np.array(pi)
    probs /= probs.sum()
    levels = np.arange(probs.size)
    extra = np.array([sum(b) for b in batches] + [sum(batches[-1])])[: probs.size]
    copies_per_call = 1.0 + float(probs @ extra)
    utilization = float(probs @ np.minimum(levels, servers)) / servers

    # the answer: levels below c without a wait, the others after Erlang(N - c + 1)
    below = np.zeros(t.size)
    for lvl in range(min(servers, probs.size)):
        below += probs[lvl] * variants[min(servers - 1 - lvl, n - 1)]
    waiting = probs[servers:]
    if waiting.size:
        # P(W + M > t, W > 0) = P(W > 0) - int_0^t f_W(w) P(M <= t - w) dw
        density = theta * (waiting @ _poisson_matrix(waiting.size, theta * t))
        below += np.clip(waiting.sum() - _convolve(density, 1.0 - variants[0], h), 0.0, None)
    return _answer(("hedged", t[-1], d, n, theta), t, below, copies_per_call, d, utilization)


def _answer(
    key: tuple[float | str | int, ...],
    t: np.ndarray,
    survival: np.ndarray,
    copies_per_call: float,
    after: float,
    utilization: float,
) -> HedgedAnswer:
    """The answer whose survival on the grid ``t`` is ``survival``."""
    sf = np.clip(np.minimum.accumulate(survival), 0.0, 1.0)
    sf[0] = 1.0
    mean = float(np.trapezoid(sf, t))
    if math.isnan(utilization):  # independent copies: copy k goes at P(L > (k - 1) d)
        copies_per_call = float(
            sum(np.interp(k * after, t, sf) for k in range(int(copies_per_call)))
        )
    # every few points: the answer's CDF is smooth, and each point costs the quantiles
    every = max(1, math.ceil(t.size / TABLE))
    points = np.unique(np.concatenate((np.arange(0, t.size, every), [t.size - 1])))
    key = (*key, round(mean, 15), round(float(sf[t.size // 2]), 15))
    table = Tabulated(key, t[points], 1.0 - sf[points])
    return HedgedAnswer(mean, copies_per_call, utilization, table)
