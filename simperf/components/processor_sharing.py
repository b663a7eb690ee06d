"""Processor sharing: ``c`` cores shared equally by the ``n`` requests in a ``cpu`` step.

Each request in a ``cpu`` step runs at ``min(1, c / n)`` of a core, so all of them
progress at the same rate. Exactly, not by time slices: the *virtual time* ``V`` is the
work a request present throughout has received; it grows at ``min(1, c / n)`` per
second, a request of work ``x`` arriving at ``V0`` finishes when ``V`` reaches
``V0 + x``, and the next completion is recomputed whenever a request arrives or leaves.
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import TYPE_CHECKING

from simpy.events import Event

if TYPE_CHECKING:
    from simperf.components.server import Server


class SharedCores:
    """The cores of one instance under processor sharing.

    ``server.busy`` follows the cores in use, ``min(n, c)``.

    Examples
    --------
    >>> import simpy
    >>> from simperf.components.server import Server
    >>> env = simpy.Environment()
    >>> cores = SharedCores(Server(env, "app[0]", "app", 1))
    >>> ends = {}
    >>> def job(name, work):
    ...     yield cores.run(work)
    ...     ends[name] = env.now
    >>> _ = env.process(job("a", 1.0)), env.process(job("b", 2.0))
    >>> env.run(); ends   # both at half speed until a ends at 2, then b alone
    {'a': 2.0, 'b': 3.0}
    """

    __slots__ = ("busy", "cores", "env", "jobs", "seq", "token", "updated", "virtual")

    def __init__(self, server: Server) -> None:
        self.env = server.env
        self.busy = server.busy
        self.cores = server.capacity
        self.jobs: list[tuple[float, int, Event]] = []  # (finish in virtual time, seq, event)
        self.virtual = 0.0
        self.updated = 0.0
        self.seq = 0
        self.token = 0  # the pending completion timer's; older timers are stale

    def _advance(self, now: float) -> None:
        jobs = len(self.jobs)
        if jobs:
            self.virtual += (now - self.updated) * min(1.0, self.cores / jobs)
        self.updated = now

    def run(self, work: float) -> Event:
        """Start ``work`` seconds of CPU: an event fired when it is done."""
        now = self.env.now
        self._advance(now)
        event = Event(self.env)
        if len(self.jobs) < self.cores:
            self.busy.change(1, now)
        heappush(self.jobs, (self.virtual + work, self.seq, event))
        self.seq += 1
        self._schedule()
        return event

    def _schedule(self) -> None:
        self.token += 1
        jobs = self.jobs
        if not jobs:
            return
        rate = min(1.0, self.cores / len(jobs))
        delay = max(0.0, (jobs[0][0] - self.virtual) / rate)
        token = self.token
        self.env.timeout(delay).callbacks.append(lambda _: self._complete(token))

    def _complete(self, token: int) -> None:
        if token != self.token:
            return  # a request arrived or left since: a later timer stands
        now = self.env.now
        self._advance(now)
        jobs = self.jobs
        before = min(len(jobs), self.cores)
        finish, _, event = heappop(jobs)  # the one this timer was set for
        done = [event]
        # the virtual clock lands on its finish up to rounding; others may end with it
        self.virtual = max(self.virtual, finish)
        limit = self.virtual + 1e-12 * max(1.0, self.virtual)
        while jobs and jobs[0][0] <= limit:
            done.append(heappop(jobs)[2])
        after = min(len(jobs), self.cores)
        if after < before:
            self.busy.change(after - before, now)
        for event in done:
            event.succeed()
        self._schedule()
