"""Networks of queues: open Jackson networks and tandems, closed networks by exact MVA.

References: Jackson, Operations Research 5 (1957); Reiser and Lavenberg, JACM 27(2) (1980),
with load-dependent multi-server stations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from simperf.analysis._common import (
    FloatArray,
    _frozen,
    _integer,
    _servers_vector,
    _stable,
    _vector,
)
from simperf.analysis.queueing import QueueResult, mmc
from simperf.checks import nonnegative, positive

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
    lam = positive("arrival_rate", arrival_rate)
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
    z = nonnegative("think_time", think_time)
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
