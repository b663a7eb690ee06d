"""Power of d choices over n exponential servers, exact for finite n from the Markov
chain of sorted queue lengths (truncated where the tail probability is negligible).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from simperf.analysis._common import (
    FloatArray,
    _cdf_from_sf,
    _erlang_sf,
    _frozen,
    _integer,
    _quantile_from_sf,
    _stable,
)
from simperf.checks import positive
from simperf.lazy import lazy_module

sp = lazy_module("scipy.sparse")  # imported on first use: only power of d needs it

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

    def _wait_sf(self, t: FloatArray) -> FloatArray:
        return self._sf(t, 0)

    def _sojourn_sf(self, t: FloatArray) -> FloatArray:
        return self._sf(t, 1)

    def sojourn_cdf(self, t: ArrayLike) -> float | FloatArray:
        """P(sojourn <= t): a mixture of Erlang(k + 1, mu) over ``joined_queue_pmf``."""
        return _cdf_from_sf(self._sojourn_sf, t)

    def sojourn_quantile(self, p: float) -> float:
        """The ``p``-quantile of the sojourn time (brentq on the CDF)."""
        return _quantile_from_sf(self._sojourn_sf, p, self.mean_sojourn)

    def wait_cdf(self, t: ArrayLike) -> float | FloatArray:
        """P(wait <= t): 0 behind an empty queue, else Erlang(k, mu)."""
        return _cdf_from_sf(self._wait_sf, t)

    def wait_quantile(self, p: float) -> float:
        """The ``p``-quantile of the wait."""
        scale = max(self.mean_wait, 1.0 / self.service_rate)
        return _quantile_from_sf(self._wait_sf, p, scale)


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
    lam = positive("arrival_rate", arrival_rate)
    mu = positive("service_rate", service_rate)
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
