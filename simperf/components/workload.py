"""Clients: open-loop arrival streams and closed-loop users that generate requests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import simpy

from simperf import arrivals
from simperf.components.base import Component, Context, Process, Request, RequestFailed
from simperf.keys import key_sampler, trace_times
from simperf.rng import batched
from simperf.spec.workload import DeterministicArrival, PoissonArrival, TraceArrival, Workload

WORKLOAD = "workload"  # stream owner name for arrivals, class choices and think times


def arrival_times(arrival: Any, rng: np.random.Generator) -> Iterator[float]:
    """Absolute arrival times of an open-loop arrival spec."""
    if isinstance(arrival, PoissonArrival):
        return arrivals.poisson_times(arrival.rate, rng)
    if isinstance(arrival, DeterministicArrival):
        return arrivals.deterministic_times(arrival.rate)
    raise TypeError(f"no generator for arrival kind {arrival.kind!r}")  # pragma: no cover


class Clients:
    """Generates the workload's requests and records how each one ends.

    Open loop: each request is its own SimPy process, started at its arrival time.
    Closed loop: each user is one process that thinks, sends a request, waits for the
    response (inline, with ``yield from``), and repeats.

    With a request budget (``run.requests``) generation stops after that many requests
    and :attr:`done` fires when the last one has finished.
    """

    def __init__(
        self,
        ctx: Context,
        spec: Workload,
        entries: list[tuple[Component, Any]],
        *,
        budget: int | None,
    ) -> None:
        self.ctx = ctx
        self.env = ctx.env
        self.spec = spec
        self.entries = entries
        self.budget = budget
        self.done: simpy.Event = ctx.env.event()
        weights = np.array([c.weight for c in spec.classes], dtype=float)
        if len(weights) == 1:
            self._choose_class = lambda: 0
        else:
            rng = ctx.rng(WORKLOAD, "class")
            p = weights / weights.sum()
            self._choose_class = batched(lambda n: rng.choice(len(p), size=n, p=p))
        # One key stream per class, keyed on the workload and the class only, so that
        # scenarios with and without a cache see the same keys (common random numbers).
        samplers = [
            key_sampler(ctx.keyspaces[c.keyspace].spec, ctx.rng(WORKLOAD, f"keys:{c.name}"))
            if c.keyspace is not None
            else None
            for c in spec.classes
        ]
        self._keys = samplers if any(s is not None for s in samplers) else None
        # A trace arrival hands each request its row's key (classes on that key space).
        self._row_keys: list[bool] | None = None
        if isinstance(spec.arrival, TraceArrival):
            self._row_keys = [c.keyspace == spec.arrival.keyspace for c in spec.classes]

    def start(self) -> None:
        """Start the generating processes."""
        arrival = self.spec.arrival
        if isinstance(arrival, TraceArrival):
            self.env.process(self._trace_loop(self.ctx.keyspaces[arrival.keyspace].spec))
        elif arrival is not None:
            times = arrival_times(arrival, self.ctx.rng(WORKLOAD, "arrival"))
            self.env.process(self._open_loop(times))
        else:
            think = self.ctx.sampler(self.spec.think, WORKLOAD, "think")
            for _ in range(self.spec.users or 0):
                self.env.process(self._user(think))

    def _open_loop(self, times: Iterator[float]) -> Process:
        env = self.env
        recorder = self.ctx.recorder
        budget = self.budget
        choose = self._choose_class
        entries = self.entries
        serve = self._serve
        keys = self._keys
        for t in times:
            yield env.timeout(t - env.now)
            klass = choose()
            request = Request(recorder.arrive(t), klass, t)
            if keys is not None and (draw := keys[klass]) is not None:
                request.key = draw()
            component, route = entries[klass]
            env.process(serve(request, component, route))
            if budget is not None and recorder.generated >= budget:
                return

    def _trace_loop(self, keyspace: Any) -> Process:
        """Replay a trace: row i arrives at its timestamp minus the first row's."""
        times = trace_times(keyspace)
        assert times is not None  # checked by the spec
        rows = key_sampler(keyspace, self.ctx.rng(WORKLOAD, "trace"))  # in file order
        on_trace = self._row_keys
        assert on_trace is not None
        env = self.env
        recorder = self.ctx.recorder
        keys = self._keys
        start = float(times[0]) if times.size else 0.0
        for t in (times - start).tolist():
            yield env.timeout(t - env.now)
            klass = self._choose_class()
            request = Request(recorder.arrive(t), klass, t)
            row = rows()
            if on_trace[klass]:
                request.key = row
            elif keys is not None and (draw := keys[klass]) is not None:
                request.key = draw()
            component, route = self.entries[klass]
            env.process(self._serve(request, component, route))
            if self.budget is not None and recorder.generated >= self.budget:
                return
        # The trace ran out: a request budget ends with the requests it got.
        if self.budget is not None:
            self.budget = recorder.generated
            if recorder.finished == recorder.generated and not self.done.triggered:
                self.done.succeed()

    def _serve(self, request: Request, component: Component, route: Any) -> Process:
        try:
            yield from component.handle(request, route)
            outcome = 0
        except RequestFailed as failure:
            outcome = failure.code
        self._finish(request, outcome)

    def _finish(self, request: Request, outcome: int) -> None:
        recorder = self.ctx.recorder
        recorder.finish(request.klass, request.start, self.env.now, outcome)
        if request.stale and not outcome:
            recorder.stale += 1
        if (
            self.budget is not None
            and recorder.generated >= self.budget
            and recorder.finished == recorder.generated
            and not self.done.triggered
        ):
            self.done.succeed()

    def _user(self, think: Any) -> Process:
        env = self.env
        recorder = self.ctx.recorder
        budget = self.budget
        while budget is None or recorder.generated < budget:
            yield env.timeout(think())
            if budget is not None and recorder.generated >= budget:
                return
            klass = self._choose_class()
            now = env.now
            request = Request(recorder.arrive(now), klass, now)
            if self._keys is not None and (draw := self._keys[klass]) is not None:
                request.key = draw()
            component, route = self.entries[klass]
            yield from self._serve(request, component, route)
