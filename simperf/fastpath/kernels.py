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
- :func:`poisson_times` sums the gaps between arrivals as numpy's ``cumsum`` does (one
  after the other) and offsets each batch from the one before, as the event engine's
  generator does.

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
        four_servers=jit(four_servers),
        risen=jit(risen),
        poisson_times=jit(poisson_times),
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
        peak = max(peak, behind)
        start = max(arrival, departure)
        departure = peak + total
        wait = start - arrival
        out[0, i], out[1, i], out[2, i] = start, wait, start + service
        # written whether or not it waited, kept only if it did (see the module notes)
        out[3, waited], out[4, waited], out[5, waited] = arrival, start, wait
        waited += wait > 0
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
    top = servers - 1
    who = np.full(servers, -1, dtype=np.int64)  # the request each free time is, -1: before
    waited = 0
    left = 0
    first, first_who = free[0], -1  # free[0] and who[0], carried in registers
    for i in range(arrivals.size):
        arrival = arrivals[i]
        start = max(arrival, first)
        wait = start - arrival
        done = start + services[i]
        out[0, i], out[1, i], out[2, i] = start, wait, done
        out[3, waited], out[4, waited], out[5, waited] = arrival, start, wait
        waited += wait > 0
        order[left] = first_who  # overwritten by the next one unless it was a request
        left += first_who >= 0
        if top == 0:
            first, first_who = done, i
            continue
        # ``done`` into free[1:] (``later``) after the equal times (first in, first out),
        # every place rewritten: place m gets min(later[m], max(later[m - 1], done)) and
        # its request likewise, selected by arithmetic, not branched on; place 0 (the next
        # request's server) straight from registers, not read back from the array
        below, below_who = free[1], who[1]
        below_done = below <= done  # later[m - 1] <= done
        first = min(below, done)
        first_who = i + (below_who - i) * below_done
        free[0], who[0] = first, first_who
        for m in range(1, top):
            value, value_who = free[m + 1], who[m + 1]
            early = value <= done
            free[m] = min(value, max(below, done))
            chosen = below_who + (i - below_who) * below_done
            who[m] = chosen + (value_who - chosen) * early
            below, below_who, below_done = value, value_who, early
        free[top] = max(below, done)
        who[top] = below_who + (i - below_who) * below_done
    if top == 0:
        free[0], who[0] = first, first_who
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
        start = max(arrival, low)
        wait = start - arrival
        done = start + services[i]
        out[0, i], out[1, i], out[2, i] = start, wait, done
        out[3, waited], out[4, waited], out[5, waited] = arrival, start, wait
        waited += wait > 0
        order[left] = low_who
        left += low_who >= 0
        later = high <= done  # ``done`` after ``high`` (after it too when equal: FIFO)
        low, high = min(high, done), max(high, done)
        low_who, high_who = (high_who, i) if later else (i, high_who)
    for who in (low_who, high_who):
        if who >= 0:
            order[left] = who
            left += 1
    free[0], free[1] = low, high
    return waited


def four_servers(
    arrivals: np.ndarray, services: np.ndarray, free: np.ndarray, out: np.ndarray, order: np.ndarray
) -> int:
    """:func:`kiefer_wolfowitz` for three or four servers, their free times in four
    variables (three servers: the fourth frees at ``inf``, never taken, and its request
    ``-1``, never one): the same operations (a min or max with ``inf`` is exact), the
    same results, in 0.67 against 1.25 ms for 262,144 requests at four servers."""
    f0, f1, f2 = free[0], free[1], free[2]
    f3 = free[3] if free.size > 3 else np.inf
    w0, w1, w2, w3 = -1, -1, -1, -1
    waited = 0
    left = 0
    for i in range(arrivals.size):
        arrival = arrivals[i]
        start = max(arrival, f0)
        wait = start - arrival
        done = start + services[i]
        out[0, i], out[1, i], out[2, i] = start, wait, done
        out[3, waited], out[4, waited], out[5, waited] = arrival, start, wait
        waited += wait > 0
        order[left] = w0
        left += w0 >= 0
        # ``done`` into (f1, f2, f3) after the equal times, as kiefer_wolfowitz places it
        e1, e2, e3 = f1 <= done, f2 <= done, f3 <= done
        f0, f1, f2, f3 = (
            min(f1, done),
            min(f2, max(f1, done)),
            min(f3, max(f2, done)),
            max(f3, done),
        )
        c1 = w1 + (i - w1) * e1
        c2 = w2 + (i - w2) * e2
        w0, w1, w2, w3 = (
            i + (w1 - i) * e1,
            c1 + (w2 - c1) * e2,
            c2 + (w3 - c2) * e3,
            w3 + (i - w3) * e3,
        )
    for who in (w0, w1, w2, w3):
        if who >= 0:
            order[left] = who
            left += 1
    free[0], free[1], free[2] = f0, f1, f2
    if free.size > 3:
        free[3] = f3
    return waited


def risen(
    up: np.ndarray, down: np.ndarray, level: int, padded: np.ndarray, levels: np.ndarray
) -> np.ndarray:
    """The level just after each rise in ``up`` (sorted), from ``level`` before them all,
    the falls ``down`` (sorted) at or before a rise coming first: the numpy merge of
    :func:`simperf.fastpath.levels._risen`, counted, into ``levels`` (at least
    ``up.size``; the view of it returned), ``padded`` (at least ``down.size + 1``)
    holding the falls and one more: arrays the caller keeps from round to round, as a
    fresh one costs its pages' first touch (M/M/4 runs after event-engine runs: 1.55
    against 1.09 ms a call).

    The level after rise ``j`` is ``level + 1 + j - (falls at or before it)``: a merge,
    one step per rise or fall, chosen by a comparison added as a number (a merge's
    branches are unpredictable). A step waits on the one before (a load, a compare), so
    the rises go in four parts merged side by side, each from the falls before its first
    rise (a binary search): 0.67 against 1.5 ms for an M/M/1 queue's 210,543 joins.
    """
    rises, falls = up.size, down.size
    levels = levels[:rises]
    if rises == 0:
        return levels
    padded[:falls] = down
    padded[falls] = np.nan  # after the last fall: never at or before a rise
    base = level + 1
    part = rises // 4
    ends = np.array([part, 2 * part, 3 * part, rises])
    rise = np.array([0, part, 2 * part, 3 * part])
    fall = np.searchsorted(down, up[np.minimum(rise, rises - 1)], side="right")
    j0, j1, j2, j3 = rise[0], rise[1], rise[2], rise[3]
    i0, i1, i2, i3 = fall[0], fall[1], fall[2], fall[3]
    e0, e1, e2, e3 = ends[0], ends[1], ends[2], ends[3]
    while j0 < e0 and j1 < e1 and j2 < e2 and j3 < e3:
        f0 = padded[i0] <= up[j0]
        f1 = padded[i1] <= up[j1]
        f2 = padded[i2] <= up[j2]
        f3 = padded[i3] <= up[j3]
        levels[j0] = base + j0 - i0  # final once the fall is later (a rise's step)
        levels[j1] = base + j1 - i1
        levels[j2] = base + j2 - i2
        levels[j3] = base + j3 - i3
        i0, j0 = i0 + f0, j0 + 1 - f0
        i1, j1 = i1 + f1, j1 + 1 - f1
        i2, j2 = i2 + f2, j2 + 1 - f2
        i3, j3 = i3 + f3, j3 + 1 - f3
    rise[0], rise[1], rise[2], rise[3] = j0, j1, j2, j3
    fall[0], fall[1], fall[2], fall[3] = i0, i1, i2, i3
    for p in range(4):  # what is left of each part, one at a time
        j, i = rise[p], fall[p]
        while j < ends[p]:
            fell = padded[i] <= up[j]
            levels[j] = base + j - i
            i, j = i + fell, j + 1 - fell
    return levels


def poisson_times(gaps: np.ndarray, batch: int, offset: float) -> float:
    """The arrival times of ``gaps`` (consecutive batches of ``batch``), in place: each
    batch's running sum plus the last time of the batch before (``offset`` before the
    first), as :func:`simperf.fastpath.engine.poisson_chunks` computes them in numpy.
    Returns the last time. One pass, not a cumulative sum and an addition (1.14 against
    4.06 ms for 2^20 gaps)."""
    for first in range(0, gaps.size, batch):
        total = gaps[first]
        gaps[first] = offset + total
        for i in range(first + 1, first + batch):
            total = total + gaps[i]
            gaps[i] = offset + total
        offset = offset + total
    return offset
