"""Start times at a FIFO multi-server station, given arrivals in order and service times.

One server: the Lindley recursion ``d[i] = max(a[i], d[i-1]) + s[i]`` has the closed
form ``d = maximum.accumulate(a - S + s) + S`` with ``S = cumsum(s)``, one numpy pass.
``c`` servers: the Kiefer-Wolfowitz recursion, as the earliest free time of ``c``
servers kept in a heap (a FIFO request takes the server that frees first).
"""

from __future__ import annotations

import heapq

import numpy as np


def fifo_starts(arrivals: np.ndarray, services: np.ndarray, servers: int) -> np.ndarray:
    """When each request starts service at a FIFO station of ``servers`` servers.

    Parameters
    ----------
    arrivals
        Arrival times in the order requests join the queue (non-decreasing).
    services
        Their service times, in the same order.
    servers
        Servers at the station (>= 1).

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
        return lindley_starts(arrivals, services)
    return kiefer_wolfowitz_starts(arrivals, services, servers)


def lindley_starts(arrivals: np.ndarray, services: np.ndarray) -> np.ndarray:
    """Start times at one FIFO server (vectorised Lindley recursion)."""
    total = np.cumsum(services)
    before = total - services  # work that arrived before each request
    departures = np.maximum.accumulate(arrivals - before) + total
    starts = arrivals.copy()
    # the previous departure, where it is later than the arrival (the request waited)
    np.maximum(starts[1:], departures[:-1], out=starts[1:])
    return starts


def kiefer_wolfowitz_starts(arrivals: np.ndarray, services: np.ndarray, servers: int) -> np.ndarray:
    """Start times at ``servers`` FIFO servers: each request takes the earliest free one."""
    free = [-np.inf] * servers
    starts = []
    append = starts.append
    replace = heapq.heapreplace
    for a, s in zip(arrivals.tolist(), services.tolist(), strict=True):
        first = free[0]
        start = a if a > first else first
        append(start)
        replace(free, start + s)
    return np.array(starts)
