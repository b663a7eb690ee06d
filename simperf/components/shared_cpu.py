"""Cores that slow down together: CPU service under the Universal Scalability Law.

With ``n`` requests in CPU service on an instance, each progresses at ``1 / s(n)``
seconds of work per second, ``s(n) = 1 + alpha (n - 1) + beta n (n - 1)``
(:func:`simperf.analysis.usl.usl_slowdown`), so ``N`` busy cores complete the USL's
``X(N) = N / (S s(N))`` requests per second of mean work ``S``. The rate is the same
for every request in service, so the sharing is exact in virtual time (as processor
sharing is): ``v`` is the work each has done since time 0, advanced by elapsed time
divided by ``s(n)`` at every arrival and departure; a request of work ``w`` starting at
``v0`` ends when ``v`` reaches ``v0 + w``, and the one timer set for the earliest end is
set again whenever ``n`` changes (a superseded timer does nothing when it fires).

Only instances with a non-zero ``scaling`` use it: the builder puts its :meth:`work` in
place of :meth:`Server.work <simperf.components.server.Server.work>` on them, so every
other instance runs the plain code.
"""

from __future__ import annotations

import heapq
from typing import Any

from simpy.events import Event

from simperf.analysis.usl import usl_slowdown
from simperf.components.base import Process

# Two ends closer than this (relative, in virtual seconds) are one: work that started
# together with equal sizes ends together despite rounding in v.
_SAME_END = 1e-12


class SharedCores:
    """The CPU of one instance whose ``capacity`` cores slow down with concurrency.

    Parameters
    ----------
    server
        The :class:`~simperf.components.server.Server` whose ``busy`` monitor counts
        the requests in service.
    capacity
        Most requests in CPU service at once (its cores; slowdowns are tabulated up to
        it and computed beyond).
    alpha, beta
        Contention and coherency (``scaling`` of the spec).

    Examples
    --------
    Two requests of 1 s of work on two cores with ``alpha = 0.5``: together each runs at
    1 / 1.5, so both end at 1.5 s.

    >>> import simpy
    >>> from simperf.components.server import Server
    >>> env = simpy.Environment()
    >>> server = Server(env, "app[0]", "app", 2)
    >>> cpu = SharedCores(server, 2, 0.5, 0.0)
    >>> ends = []
    >>> def job():
    ...     yield from cpu.work(1.0)
    ...     ends.append(env.now)
    >>> _ = env.process(job()), env.process(job())
    >>> env.run()
    >>> ends
    [1.5, 1.5]
    """

    __slots__ = ("alpha", "beta", "busy", "env", "jobs", "last", "rates", "seq", "timer", "v")

    def __init__(self, server: Any, capacity: int, alpha: float, beta: float) -> None:
        self.env = server.env
        self.busy = server.busy
        self.alpha = alpha
        self.beta = beta
        # rates[n]: work per second of each of n in service (rates[0] unused)
        self.rates = [1.0, *(1.0 / usl_slowdown(range(1, capacity + 1), alpha, beta)).tolist()]
        self.jobs: list[tuple[float, int, Event]] = []  # (virtual end, arrival order, done)
        self.v = 0.0
        self.last = 0.0
        self.seq = 0
        self.timer: Event | None = None

    def _rate(self, n: int) -> float:
        rates = self.rates
        return rates[n] if n < len(rates) else 1.0 / float(usl_slowdown(n, self.alpha, self.beta))

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
        self._advance(self.env.now)
        jobs = self.jobs
        end, _, done = heapq.heappop(jobs)
        finished = [done]
        self.v = max(self.v, end)
        limit = self.v + _SAME_END * max(1.0, abs(self.v))
        while jobs and jobs[0][0] <= limit:
            finished.append(heapq.heappop(jobs)[2])
        for done in finished:
            done.succeed()
        self._schedule()

    def work(self, seconds: float) -> Process:
        """Be in CPU service for ``seconds`` of work at full speed (the caller holds a core)."""
        env = self.env
        now = env.now
        self._advance(now)
        done = Event(env)
        heapq.heappush(self.jobs, (self.v + seconds, self.seq, done))
        self.seq += 1
        self.busy.change(1, now)
        self._schedule()
        yield done
        self.busy.change(-1, env.now)
