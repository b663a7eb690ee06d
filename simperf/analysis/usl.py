"""The Universal Scalability Law (Gunther): throughput of N busy cores or workers.

``X(N) = lambda N / (1 + alpha (N - 1) + beta N (N - 1))``: ``lambda`` is the throughput
of one, ``alpha`` the contention (the serial fraction: throughput levels off at
``lambda / alpha``), ``beta`` the coherency cost (crosstalk between every pair: past
``N* = sqrt((1 - alpha) / beta)`` adding more lowers throughput). ``alpha = beta = 0`` is
linear scaling. An app server or database with ``scaling: {alpha, beta}`` slows each of
its ``n`` requests in CPU service by :func:`usl_slowdown` ``(n)``, so that ``N`` busy
cores complete ``X(N)`` per second (:mod:`simperf.components.shared_cpu`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


def _check(alpha: float, beta: float) -> None:
    if not (0.0 <= alpha <= 1.0):
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if not (0.0 <= beta < math.inf):
        raise ValueError(f"beta must be >= 0 and finite, got {beta}")


def usl_slowdown(n: ArrayLike, alpha: float, beta: float) -> NDArray[np.float64]:
    """``1 + alpha (n - 1) + beta n (n - 1)``: how much longer work takes with ``n`` at once.

    Examples
    --------
    >>> usl_slowdown([1, 2, 4], 0.1, 0.01).round(3).tolist()
    [1.0, 1.12, 1.42]
    """
    _check(alpha, beta)
    n = np.asarray(n, dtype=float)
    return 1.0 + alpha * (n - 1.0) + beta * n * (n - 1.0)


def usl_throughput(n: ArrayLike, rate: float, alpha: float, beta: float) -> NDArray[np.float64]:
    """``X(N) = rate N / (1 + alpha (N - 1) + beta N (N - 1))``.

    Parameters
    ----------
    n
        Cores (or concurrency) busy, ``N >= 1``.
    rate
        Throughput of one (``lambda``: 1 / the mean CPU time at speed 1, per core).
    alpha, beta
        Contention in ``[0, 1]`` and coherency ``>= 0``.

    Examples
    --------
    >>> usl_throughput([1, 8, 32], 100.0, 0.0, 0.0).tolist()  # linear
    [100.0, 800.0, 3200.0]
    >>> usl_throughput([1, 8, 32], 100.0, 0.05, 0.001).round(1).tolist()
    [100.0, 569.0, 903.4]
    """
    if rate <= 0:
        raise ValueError(f"rate must be > 0, got {rate}")
    n = np.asarray(n, dtype=float)
    return rate * n / usl_slowdown(n, alpha, beta)


def usl_peak(alpha: float, beta: float) -> float:
    """``N* = sqrt((1 - alpha) / beta)``: the concurrency of greatest throughput.

    ``inf`` when ``beta = 0`` (throughput only levels off, at ``rate / alpha``).

    Examples
    --------
    >>> round(usl_peak(0.05, 0.001), 2)
    30.82
    >>> usl_peak(0.1, 0.0)
    inf
    """
    _check(alpha, beta)
    return math.inf if beta == 0 else math.sqrt((1.0 - alpha) / beta)


@dataclass(frozen=True)
class UslQueueResult:
    """Stationary measures of an M/M/c queue whose cores slow down by the USL.

    Attributes
    ----------
    arrival_rate, service_rate, servers, alpha, beta
        The inputs (``service_rate`` of one request alone on a core).
    capacity
        Most throughput, ``X(c)``: the queue is stable below it.
    utilization
        Mean busy cores over ``c``.
    mean_in_system, mean_queue_length
        Time-average numbers present and waiting for a core.
    mean_sojourn, mean_wait
        Mean times in system and waiting for a core (Little's law).
    """

    arrival_rate: float
    service_rate: float
    servers: int
    alpha: float
    beta: float
    capacity: float
    utilization: float
    mean_in_system: float
    mean_queue_length: float
    mean_sojourn: float
    mean_wait: float


def usl_mmc(
    arrival_rate: float, service_rate: float, servers: int, alpha: float, beta: float
) -> UslQueueResult:
    """M/M/c with USL cores, exact from its birth-death chain.

    With ``k`` present, ``m = min(k, c)`` are in service, each at ``1 / s(m)`` of full
    speed, so requests leave at rate ``mu m / s(m)``; beyond ``c`` the chain is geometric
    with ratio ``lambda s(c) / (mu c)``. ``alpha = beta = 0`` gives Erlang C's M/M/c.

    Examples
    --------
    >>> r = usl_mmc(150.0, 100.0, 2, 0.0, 0.0)   # M/M/2 at rho = 0.75
    >>> round(r.mean_in_system, 6)  # 2 rho / (1 - rho^2)
    3.428571
    >>> round(usl_mmc(150.0, 100.0, 2, 0.2, 0.0).mean_in_system, 4)
    9.375
    """
    if arrival_rate <= 0 or service_rate <= 0 or servers < 1:
        raise ValueError("arrival_rate and service_rate must be > 0, servers >= 1")
    c = int(servers)
    departures = usl_throughput(np.arange(1, c + 1), service_rate, alpha, beta)  # k = 1..c
    capacity = float(departures[-1])
    if arrival_rate >= capacity:
        raise ValueError(f"unstable: arrival rate {arrival_rate} >= capacity X(c) = {capacity}")
    # unnormalised p_0..p_c, then the geometric tail p_{c+j} = p_c r^j
    weights = np.concatenate(([1.0], np.cumprod(arrival_rate / departures)))
    r = arrival_rate / capacity
    tail_mass = weights[-1] * r / (1.0 - r)  # k > c
    total = weights.sum() + tail_mass
    k = np.arange(c + 1)
    queue = weights[-1] * r / (1.0 - r) ** 2 / total  # E[(K - c)+]
    in_system = float((k * weights).sum() / total + c * tail_mass / total + queue)
    busy = float((k * weights).sum() / total + c * tail_mass / total)
    return UslQueueResult(
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        servers=c,
        alpha=alpha,
        beta=beta,
        capacity=capacity,
        utilization=busy / c,
        mean_in_system=in_system,
        mean_queue_length=float(queue),
        mean_sojourn=in_system / arrival_rate,
        mean_wait=float(queue) / arrival_rate,
    )
