"""The FIFO recursions as loops for numba (the optional extra ``fast``) to compile.

Plain Python here (this module does not import numba): :func:`compile_all`, called by
:func:`simperf.fastpath.recursions.load` once a fast run is long enough, compiles them.
Each kernel does the float operations of the numpy version it replaces, in the same
order and without fastmath, so that the two give the same bits:

- :func:`lindley` runs the closed form ``d = maximum.accumulate(a - S + s) + S`` (``S``
  the running sum of the services) one request at a time, not ``max(a, d) + s``, which
  rounds differently.
- :func:`kiefer_wolfowitz` runs the recursion itself (``start = max(a, free[0])``,
  ``free`` kept sorted), which the numpy version's blocks reproduce to the last bit.
- :func:`risen` merges two sorted streams of times, counting (no float result).

``cache=True``: the first call ever compiles (seconds) and writes the machine code next
to this file (``__pycache__``); later processes load it.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def compile_all() -> SimpleNamespace:
    """The kernels compiled by numba (``njit(cache=True)``, no fastmath).

    Raises
    ------
    ImportError
        When numba is not installed.
    """
    import numba

    jit = numba.njit(cache=True)
    return SimpleNamespace(
        lindley=jit(lindley),
        kiefer_wolfowitz=jit(kiefer_wolfowitz),
        two_servers=jit(two_servers),
        risen=jit(risen),
    )


def lindley(
    arrivals: np.ndarray,
    services: np.ndarray,
    total: float,
    peak: float,
    departure: float,
    out: np.ndarray,
) -> tuple[int, float, float, float]:
    """A FIFO server's pass into the rows of ``out`` (at least ``arrivals.size`` long):
    starts, waits, departures, and the joins, starts and waits of those that waited
    (:class:`simperf.fastpath.recursions.Passage`). Returns how many waited and the
    carried ``(total, peak, departure)``."""
    waited = 0
    for i in range(arrivals.size):
        arrival = arrivals[i]
        service = services[i]
        total = total + service
        behind = arrival - (total - service)  # arrival - work that arrived before it
        if behind > peak:
            peak = behind
        start = arrival if arrival > departure else departure
        departure = peak + total
        wait = start - arrival
        out[0, i], out[1, i], out[2, i] = start, wait, start + service
        if wait > 0:
            out[3, waited], out[4, waited], out[5, waited] = arrival, start, wait
            waited += 1
    return waited, total, peak, departure


def kiefer_wolfowitz(
    arrivals: np.ndarray, services: np.ndarray, free: np.ndarray, out: np.ndarray, order: np.ndarray
) -> int:
    """The pass of ``free.size`` FIFO servers freeing at the sorted times ``free``
    (updated in place) into ``out``, as :func:`lindley`'s, and into ``order`` the
    requests in the order they leave (stable: by departure, then by arrival). Returns
    how many waited.

    A request's departure is never before the free time it takes, so the free times
    leave the sorted list in non-decreasing order, equal ones first in first out: the
    order they leave it in, then the ones left, is the departures' stable order.
    """
    servers = free.size
    who = np.full(servers, -1, dtype=np.int64)  # the request each free time is, -1: before
    waited = 0
    left = 0
    for i in range(arrivals.size):
        arrival = arrivals[i]
        first = free[0]
        start = arrival if arrival > first else first
        wait = start - arrival
        done = start + services[i]
        out[0, i], out[1, i], out[2, i] = start, wait, done
        # written whether or not it waited, kept only if it did: no branch to mispredict
        out[3, waited], out[4, waited], out[5, waited] = arrival, start, wait
        waited += wait > 0
        if who[0] >= 0:
            order[left] = who[0]
            left += 1
        # insert after equal times (first in, first out), shifting the earlier ones down
        k = 1
        while k < servers and free[k] <= done:
            free[k - 1] = free[k]
            who[k - 1] = who[k]
            k += 1
        free[k - 1] = done
        who[k - 1] = i
    for k in range(servers):
        if who[k] >= 0:
            order[left] = who[k]
            left += 1
    return waited


def two_servers(
    arrivals: np.ndarray, services: np.ndarray, free: np.ndarray, out: np.ndarray, order: np.ndarray
) -> int:
    """:func:`kiefer_wolfowitz` for two servers, their free times in two variables (not
    an array read back at every request): the same operations, the same results."""
    low, high = free[0], free[1]
    low_who, high_who = -1, -1
    waited = 0
    left = 0
    for i in range(arrivals.size):
        arrival = arrivals[i]
        start = arrival if arrival > low else low
        wait = start - arrival
        done = start + services[i]
        out[0, i], out[1, i], out[2, i] = start, wait, done
        out[3, waited], out[4, waited], out[5, waited] = arrival, start, wait
        waited += wait > 0
        if low_who >= 0:
            order[left] = low_who
            left += 1
        if high <= done:  # ``done`` after ``high`` (after it too when equal: FIFO)
            low, low_who, high, high_who = high, high_who, done, i
        else:
            low, low_who = done, i
    for who in (low_who, high_who):
        if who >= 0:
            order[left] = who
            left += 1
    free[0], free[1] = low, high
    return waited


def risen(up: np.ndarray, down: np.ndarray, level: int) -> np.ndarray:
    """The level just after each rise in ``up`` (sorted), from ``level`` before them all,
    the falls ``down`` (sorted) at or before a rise coming first: the numpy merge of
    :func:`simperf.fastpath.levels._risen`, counted.

    One step per rise or fall, chosen by a comparison added as a number, not branched
    on (a merge's branches are unpredictable): 1.9 ms against 2.6 ms for 262,144 of each.
    """
    levels = np.empty(up.size, dtype=np.int64)
    i = 0  # falls so far
    j = 0  # rises so far
    while j < up.size and i < down.size:
        fell = down[i] <= up[j]
        levels[j] = level + 1 + j - i  # final once the fall is later (a rise's step)
        i += fell
        j += 1 - fell
    while j < up.size:
        levels[j] = level + 1 + j - i
        j += 1
    return levels
