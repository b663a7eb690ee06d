"""Fork-join (scatter-gather) over identical M/M/1 queues: the exact two-queue mean
(Nelson and Tantawi, IEEE Trans. Computers 37(6), 1988) and bounds for more queues.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simperf.analysis._common import (
    _integer,
    _probability,
    _stable,
)
from simperf.analysis.queueing import mm1
from simperf.checks import nonnegative, positive

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
    lam = nonnegative("arrival_rate", arrival_rate)
    mu = positive("service_rate", service_rate)
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
    lam = nonnegative("arrival_rate", arrival_rate)
    mu = positive("service_rate", service_rate)
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
    lam = nonnegative("arrival_rate", arrival_rate)
    mu = positive("service_rate", service_rate)
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
