"""CPU shared by the requests in service: processor sharing and cores that slow together.

With ``n`` requests in CPU service on an instance, each does ``rate(n)`` seconds of work
per second; the rate is the same for every one of them, so the sharing is exact in
*virtual time*: ``v`` is the work each has done since time 0, advanced by the elapsed
time times ``rate(n)`` at every arrival and departure. A request of work ``w`` starting
at ``v0`` ends when ``v`` reaches ``v0 + w``; the one timer set for the earliest end is
set again whenever ``n`` changes (a superseded timer does nothing when it fires).

Two rates use it, chosen at build time (every other instance runs the plain code):

* **processor sharing** (``cpu_discipline: ps``): ``c`` cores shared equally by the
  ``n`` requests in a ``cpu`` step, ``rate(n) = min(1, c / n)``;
* **the Universal Scalability Law** (``scaling: {alpha, beta}``): ``rate(n) = 1 / s(n)``
  with ``s(n) = 1 + alpha (n - 1) + beta n (n - 1)``
  (:func:`simperf.analysis.usl.usl_slowdown`), so ``N`` busy cores complete the USL's
  ``X(N) = N / (S s(N))`` requests per second of mean work ``S``.

Both together: ``rate(n) = min(1, c / n) / s(min(n, c))``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from simpy.events import Event

from simperf.analysis.usl import usl_slowdown
from simperf.components.base import Process

# Two ends closer than this (relative, in virtual seconds) are one: work that started
# together with equal sizes ends together despite rounding in v.
_SAME_END = 1e-12


class SharedCores:
    """The CPU of one instance, shared by the requests in service at ``rate(n)`` each.

    Parameters
    ----------
    server
        The :class:`~simperf.components.server.Server` whose ``busy`` monitor follows
        the cores in use, ``min(n, capacity)``.
    rate
        Work per second of each of ``n >= 1`` requests in service (tabulated as used).

    Examples
    --------
    Processor sharing on one core: both at half speed until ``a`` ends at 2, then ``b``
    alone.

    >>> import simpy
    >>> from simperf.components.server import Server
    >>> env = simpy.Environment()
    >>> cpu = processor_sharing(Server(env, "app[0]", "app", 1))
    >>> ends = {}
    >>> def job(name, work):
    ...     yield from cpu.work(work)
    ...     ends[name] = env.now
    >>> _ = env.process(job("a", 1.0)), env.process(job("b", 2.0))
    >>> env.run(); ends
    {'a': 2.0, 'b': 3.0}

    Two requests of 1 s of work on two cores with ``alpha = 0.5``: together each runs at
    1 / 1.5, so both end at 1.5 s.

    >>> env = simpy.Environment()
    >>> cpu = usl_cores(Server(env, "app[0]", "app", 2), 0.5, 0.0)
    >>> ends = {}
    >>> _ = env.process(job("a", 1.0)), env.process(job("b", 1.0))
    >>> env.run(); ends
    {'a': 1.5, 'b': 1.5}
    """

    __slots__ = ("busy", "capacity", "env", "jobs", "last", "rate", "rates", "seq", "timer", "v")

    def __init__(self, server: Any, rate: Callable[[int], float]) -> None:
        self.env = server.env
        self.busy = server.busy
        self.capacity = server.capacity
        self.rate = rate
        self.rates = [1.0]  # rates[n] for the n seen so far (rates[0] unused)
        self.jobs: list[tuple[float, int, Event]] = []  # (virtual end, arrival order, done)
        self.v = 0.0
        self.last = 0.0
        self.seq = 0
        self.timer: Event | None = None

    def _rate(self, n: int) -> float:
        rates = self.rates
        while len(rates) <= n:
            rates.append(self.rate(len(rates)))
        return rates[n]

    def _advance(self, now: float) -> None:
        if self.jobs:
            self.v += (now - self.last) * self._rate(len(self.jobs))
        self.last = now

    def _schedule(self) -> None:
        jobs = self.jobs
        if not jobs:
            self.timer = None
            return
        delay = max(0.0, (jobs[0][0] - self.v) / self._rate(len(jobs)))
        timer = self.env.timeout(delay)
        timer.callbacks.append(self._wake)  # type: ignore[union-attr]
        self.timer = timer

    def _wake(self, timer: Event) -> None:
        if timer is not self.timer:  # superseded: n changed since it was set
            return
        now = self.env.now
        self._advance(now)
        jobs = self.jobs
        before = min(len(jobs), self.capacity)
        end, _, done = heapq.heappop(jobs)
        finished = [done]
        self.v = max(self.v, end)
        limit = self.v + _SAME_END * max(1.0, abs(self.v))
        while jobs and jobs[0][0] <= limit:
            finished.append(heapq.heappop(jobs)[2])
        after = min(len(jobs), self.capacity)
        if after < before:
            self.busy.change(after - before, now)
        for done in finished:
            done.succeed()
        self._schedule()

    def run(self, seconds: float) -> Event:
        """Start ``seconds`` of work at full speed: an event fired when it is done."""
        now = self.env.now
        self._advance(now)
        done = Event(self.env)
        if len(self.jobs) < self.capacity:
            self.busy.change(1, now)
        heapq.heappush(self.jobs, (self.v + seconds, self.seq, done))
        self.seq += 1
        self._schedule()
        return done

    def work(self, seconds: float) -> Process:
        """:meth:`run` as a generator (in place of :meth:`Server.work`)."""
        yield self.run(seconds)


def processor_sharing(server: Any, alpha: float = 0.0, beta: float = 0.0) -> SharedCores:
    """``server``'s cores shared equally by every request in a ``cpu`` step.

    With a non-zero ``alpha`` or ``beta`` the cores also slow down with the number busy.
    """
    cores = server.capacity
    if alpha == 0 and beta == 0:
        return SharedCores(server, lambda n: min(1.0, cores / n))
    return SharedCores(
        server, lambda n: min(1.0, cores / n) / float(usl_slowdown(min(n, cores), alpha, beta))
    )


def usl_cores(server: Any, alpha: float, beta: float) -> SharedCores:
    """``server``'s cores slowing down together, each request holding one core."""
    return SharedCores(server, lambda n: 1.0 / float(usl_slowdown(n, alpha, beta)))
