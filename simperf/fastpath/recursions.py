"""Start times at a FIFO multi-server station, given arrivals in order and service times.

One server: the Lindley recursion ``d[i] = max(a[i], d[i-1]) + s[i]`` has the closed
form ``d = maximum.accumulate(a - S + s) + S`` with ``S = cumsum(s)``, one numpy pass.
``c`` servers: the Kiefer-Wolfowitz recursion, as the earliest free time of ``c``
servers kept in a heap (a FIFO request takes the server that frees first).
"""

from __future__ import annotations

import math
from bisect import insort
from dataclasses import dataclass

import numpy as np


@dataclass
class Carry:
    """What a FIFO station carries from one round of requests to the next, so that the
    rounds give one pass's starts to the last bit."""

    free: np.ndarray | None = None
    """Kiefer-Wolfowitz: when each server frees, sorted (None: all idle)."""
    total: float = 0.0
    """Lindley: the service times so far, summed in order (the one pass's cumsum)."""
    peak: float = -math.inf
    """Lindley: the highest ``arrival - work arrived before it`` so far."""
    departure: float = -math.inf
    """Lindley: the last departure (as the closed form computes it)."""


def fifo_starts(
    arrivals: np.ndarray,
    services: np.ndarray,
    servers: int,
    carry: Carry | None = None,
) -> np.ndarray:
    """When each request starts service at a FIFO station of ``servers`` servers.

    Parameters
    ----------
    arrivals
        Arrival times in the order requests join the queue (non-decreasing).
    services
        Their service times, in the same order.
    servers
        Servers at the station (>= 1).
    carry
        The station's state after earlier requests (updated in place for later ones);
        None: idle, and nothing carried.

    Returns
    -------
    numpy.ndarray
        Start times; departures are ``starts + services``.

    Examples
    --------
    >>> fifo_starts(np.array([0.0, 1.0, 1.5]), np.array([2.0, 2.0, 1.0]), 1).tolist()
    [0.0, 2.0, 4.0]
    >>> fifo_starts(np.array([0.0, 1.0, 1.5]), np.array([2.0, 2.0, 1.0]), 2).tolist()
    [0.0, 1.0, 2.0]
    """
    if arrivals.size == 0:
        return arrivals.copy()
    if servers == 1:
        return lindley_starts(arrivals, services, carry)
    starts = kiefer_wolfowitz_starts(
        arrivals, services, servers, None if carry is None else carry.free
    )
    if carry is not None:
        carry.free = free_after(carry.free, starts + services, servers)
    return starts


def free_after(free: np.ndarray | None, done: np.ndarray, servers: int) -> np.ndarray:
    """The sorted free times of ``servers`` FIFO servers after requests that left at
    ``done``, from ``free`` before them (None: idle).

    A server's free time is its last departure, and a request takes the server that
    frees first, so no departure overwritten later exceeds a server's last one: the
    state is the ``servers`` latest of the departures and the earlier free times.
    """
    before = np.full(servers, -np.inf) if free is None else free
    both = np.concatenate((before, done))
    if both.size > servers:
        both = np.partition(both, both.size - servers)[both.size - servers :]
    return np.sort(both)


def lindley_starts(
    arrivals: np.ndarray, services: np.ndarray, carry: Carry | None = None
) -> np.ndarray:
    """Start times at one FIFO server (vectorised Lindley recursion), after the requests
    ``carry`` sums up (updated in place)."""
    if carry is None:
        total = np.cumsum(services)
    else:  # the one pass's running sum, continued: the same additions in the same order
        total = np.cumsum(np.concatenate(([carry.total], services)))[1:]
    # the same operations in place (each fresh array costs its pages' first touch)
    departures = np.subtract(total, services)  # work that arrived before each request
    np.subtract(arrivals, departures, out=departures)
    if carry is not None and departures[0] < carry.peak:
        departures[0] = carry.peak
    np.maximum.accumulate(departures, out=departures)
    if carry is not None:
        carry.total, carry.peak = float(total[-1]), float(departures[-1])
    departures += total
    starts = arrivals.copy()
    # the previous departure, where it is later than the arrival (the request waited)
    np.maximum(starts[1:], departures[:-1], out=starts[1:])
    if carry is not None:
        if starts[0] < carry.departure:
            starts[0] = carry.departure
        carry.departure = float(departures[-1])
    return starts


def kiefer_wolfowitz_starts(
    arrivals: np.ndarray, services: np.ndarray, servers: int, free: np.ndarray | None = None
) -> np.ndarray:
    """Start times at ``servers`` FIFO servers: each request takes the earliest free one
    (the servers free at the sorted times ``free`` at first; None: idle).

    The recursion on the sorted free times of the servers is run for about ``sqrt(n) / 2``
    blocks of the requests at once, each block from an empty station (numpy, one
    position of every block per step). Each block is then run again, in order, from
    the state the previous block truly left, until its state meets the first pass's
    (free times before the arrival all mean idle): from there on the first pass was
    already right. Both passes do the same float operations, so the result is the
    sequential recursion's to the last bit.
    """
    count = arrivals.size
    # fewer, longer blocks than sqrt(n): the rerun's Python loop costs more per block
    # than the first pass's numpy step per position (measured at 1M, c = 2 and 4)
    blocks = max(1, math.isqrt(count) // 2)
    length = -(-count // blocks)
    pad = blocks * length - count
    # position-major: row j holds the j-th request of every block (padding never starts)
    a = np.concatenate((arrivals, np.full(pad, np.inf))).reshape(blocks, length).T.copy()
    s = np.concatenate((services, np.zeros(pad))).reshape(blocks, length).T.copy()
    starts, saved, final = _first_pass(a, s, servers, free)
    _carry(starts, saved, final, a, s)
    return starts.T.reshape(-1)[:count]


CHECK = 16
"""The rerun compares its state with the first pass's every CHECK requests."""


def _first_pass(
    a: np.ndarray, s: np.ndarray, servers: int, initial: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every block from idle servers (the first from ``initial``, its true state): the
    starts, the sorted free times before every CHECK-th request
    ``[server, position // CHECK, block]`` and after the last."""
    length, blocks = a.shape
    free = [np.full(blocks, -np.inf) for _ in range(servers)]
    if initial is not None:
        for k in range(servers):
            free[k][0] = initial[k]
    saved = np.empty((servers, -(-length // CHECK), blocks))
    starts = np.empty((length, blocks))
    low, high = np.minimum, np.maximum
    last = servers - 1
    for j in range(length):
        if j % CHECK == 0:
            for k in range(servers):
                saved[k, j // CHECK] = free[k]
        done = high(a[j], free[0], out=starts[j]) + s[j]
        # ``done`` joins the other free times, kept sorted: r[k] = max(f[k], min(f[k+1], done))
        free = [
            low(free[1], done),
            *(high(free[k], low(free[k + 1], done)) for k in range(1, last)),
            high(free[last], done),
        ]
    return starts, saved, np.array(free)


def _carry(
    starts: np.ndarray, saved: np.ndarray, final: np.ndarray, a: np.ndarray, s: np.ndarray
) -> None:
    """Rerun each block from the true state until it meets the first pass (in place)."""
    length, blocks = a.shape
    a, s = a.T, s.T  # [block, position]
    state = final[:, 0].tolist()
    for b in range(1, blocks):
        fixed: list[float] = []
        for j in range(0, length, CHECK):
            arrivals = a[b, j : j + CHECK].tolist()
            if _same(state, saved[:, j // CHECK, b].tolist(), arrivals[0]):
                state = final[:, b].tolist()
                break
            for arrival, service in zip(arrivals, s[b, j : j + CHECK].tolist(), strict=True):
                first = state[0]
                start = arrival if arrival > first else first
                fixed.append(start)
                del state[0]
                insort(state, start + service)
        starts[: len(fixed), b] = fixed


def _same(state: list[float], guess: list[float], now: float) -> bool:
    """Whether two sorted free-time lists serve every request from ``now`` on alike."""
    return all(
        (x if x > now else now) == (y if y > now else now)
        for x, y in zip(state, guess, strict=True)
    )
