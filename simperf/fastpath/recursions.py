"""Start times at a FIFO multi-server station, given arrivals in order and service times.

One server: the Lindley recursion ``d[i] = max(a[i], d[i-1]) + s[i]`` has the closed
form ``d = maximum.accumulate(a - S + s) + S`` with ``S = cumsum(s)``, one numpy pass.
``c`` servers: the Kiefer-Wolfowitz recursion, as the earliest free time of ``c``
servers kept in a heap (a FIFO request takes the server that frees first).

With numba installed (the extra ``fast``), both run as compiled loops
(:mod:`simperf.fastpath.kernels`) that give the same bits, once a run has loaded them
(:data:`LOAD_FROM`); ``SIMPERF_NUMBA=0`` in the environment, or :data:`USE_NUMBA` set
False, keeps the numpy versions.
"""

from __future__ import annotations

import math
import os
from bisect import insort
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from simperf.fastpath import kernels

USE_NUMBA = True
"""Whether the compiled kernels run when numba imports (False: always numpy)."""

LOAD_FROM = 4_000_000
"""A run loads the kernels once it has sent this many requests. Importing numba and
reading its cache cost some 0.5 s of CPU a process, which the kernels win back only over
millions of requests (0.02 s a million on M/M/1, 0.08 s on M/M/4, 0.1 s on the tandem,
measured 4 December 2026); once loaded,
every later run in the process uses them from its first request. Both give the same bits,
so where the switch falls changes no result."""

_kernels: object = None  # the compiled kernels once loaded, False when numba is absent


def _switched_off() -> bool:
    return not USE_NUMBA or os.environ.get("SIMPERF_NUMBA", "1") == "0"


def load() -> object | None:
    """Load the compiled kernels (:func:`simperf.fastpath.kernels.compile_all`: numba's
    import, then its cache, or a compilation the first time ever) and return them; None
    when numba is not installed or is switched off (:data:`USE_NUMBA`,
    ``SIMPERF_NUMBA=0``)."""
    global _kernels
    if _switched_off():
        return None
    if _kernels is None:
        try:
            _kernels = kernels.compile_all()
        except ImportError:
            _kernels = False
    return _kernels or None


def compiled() -> object | None:
    """The compiled kernels if :func:`load` has loaded them in this process and they are
    not switched off, else None: the recursions then run in numpy.

    Never loads them itself, so that ``import simperf`` and short runs never import numba.
    """
    if _switched_off():
        return None
    return _kernels or None


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
    return fifo_run(arrivals, services, servers, carry)[0]


def fifo_run(
    arrivals: np.ndarray,
    services: np.ndarray,
    servers: int,
    carry: Carry | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`fifo_starts`, and the order in which the requests leave.

    Returns
    -------
    starts : numpy.ndarray
        Start times, as :func:`fifo_starts`.
    order : numpy.ndarray or None
        ``servers`` > 1: the requests' indices by departure (``starts + services``),
        equal departures by arrival (a stable sort's order); None for one server, whose
        departures come nearly in order (the closed form rounds them apart by an ulp).

    Examples
    --------
    >>> starts, order = fifo_run(np.array([0.0, 1.0, 1.5]), np.array([3.0, 0.5, 1.0]), 2)
    >>> starts.tolist(), order.tolist()
    ([0.0, 1.0, 1.5], [1, 2, 0])
    """
    passage = fifo_pass(arrivals, services, servers, carry)
    return passage.starts, passage.order


class Buffers:
    """Arrays written round after round (a station's passes, a stream's merges...),
    reused: a fresh array of a few MiB costs its pages' first touch, some 6 ms for the
    six arrays of a 262,144-request pass against under 1 ms for the pass itself (more
    where the kernel first tries to find huge pages for it)."""

    def __init__(self) -> None:
        self._rows = np.empty((0, 0))
        self._order = np.empty(0, dtype=np.int64)

    def rows(self, count: int, height: int = 6) -> np.ndarray:
        """``height`` rows of at least ``count`` (a little more: a round's requests are a
        round's arrivals and the few held from the round before)."""
        rows, columns = self._rows.shape
        if rows < height or columns < count:
            self._rows = np.empty((max(rows, height), max(columns, count + count // 64)))
        return self._rows[:height]

    def order(self, count: int) -> np.ndarray:
        """``count`` indices."""
        if self._order.size < count:
            self._order = np.empty(count + count // 64, dtype=np.int64)
        return self._order[:count]


class Passage(NamedTuple):
    """How requests went through a FIFO station (each array in arrival order)."""

    starts: np.ndarray
    waits: np.ndarray
    """``starts - arrivals``."""
    departures: np.ndarray
    """``starts + services``."""
    queued: np.ndarray
    """The arrivals of the requests that waited (``waits > 0``)."""
    dequeued: np.ndarray
    """Their starts."""
    queue_waits: np.ndarray
    """Their waits."""
    order: np.ndarray | None
    """As :func:`fifo_run`'s."""


def fifo_pass(
    arrivals: np.ndarray,
    services: np.ndarray,
    servers: int,
    carry: Carry | None = None,
    buffers: Buffers | None = None,
) -> Passage:
    """:func:`fifo_run` with what a station's counters read of it, in one pass where
    the kernels are loaded (the same float operations as the numpy passes), written
    into ``buffers`` when given (the arrays returned are then views of them, good until
    the next pass with the same buffers).

    Examples
    --------
    >>> passage = fifo_pass(np.array([0.0, 1.0, 1.5]), np.array([2.0, 2.0, 1.0]), 1)
    >>> passage.waits.tolist(), passage.departures.tolist(), passage.dequeued.tolist()
    ([0.0, 1.0, 2.5], [2.0, 4.0, 5.0], [2.0, 4.0])
    """
    if arrivals.size == 0:
        empty = np.empty(0)
        order = None if servers == 1 else np.empty(0, dtype=np.int64)
        return Passage(arrivals.copy(), empty, empty, empty, empty, empty, order)
    kernels: Any = compiled()
    if kernels is not None:
        count = arrivals.size
        rows = np.empty((6, count)) if buffers is None else buffers.rows(count)
        if servers == 1:
            state = Carry() if carry is None else carry
            waited, state.total, state.peak, state.departure = kernels.lindley(
                arrivals, services, state.total, state.peak, state.departure, rows
            )
            order = None
        else:
            before = None if carry is None else carry.free
            free = np.full(servers, -np.inf) if before is None else before.copy()
            order = np.empty(count, dtype=np.int64) if buffers is None else buffers.order(count)
            kiefer_wolfowitz = (
                kernels.two_servers
                if servers == 2
                else kernels.four_servers
                if servers <= 4
                else kernels.kiefer_wolfowitz
            )
            waited = kiefer_wolfowitz(arrivals, services, free, rows, order)
            if carry is not None:
                carry.free = free
        whole, some = rows[:3, :count], rows[3:, :waited]
        return Passage(*whole, *some, order)
    if servers == 1:
        starts = lindley_starts(arrivals, services, carry)
        done, order = starts + services, None
    else:
        before = None if carry is None else carry.free
        starts = kiefer_wolfowitz_starts(arrivals, services, servers, before)
        done = starts + services
        if carry is not None:
            carry.free = free_after(before, done, servers)
        order = np.argsort(done, kind="stable")
    waits = starts - arrivals
    waited = waits > 0  # starts > arrivals: a difference of unequal floats is never 0
    return Passage(starts, waits, done, arrivals[waited], starts[waited], waits[waited], order)


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
