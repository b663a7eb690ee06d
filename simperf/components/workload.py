"""Clients: open-loop arrival streams and closed-loop users that generate requests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from heapq import heappush
from typing import Any

import numpy as np
import simpy

from simperf import arrivals
from simperf.components.base import (
    Component,
    Context,
    Process,
    Request,
    RequestFailed,
    outcome_of,
)
from simperf.components.flat_calendar import NORMAL, URGENT, soon
from simperf.errors import SpecError
from simperf.keys import key_sampler, trace_times
from simperf.rng import batched, constant
from simperf.spec.workload import (
    DeterministicArrival,
    DiurnalArrival,
    MmppArrival,
    PiecewiseArrival,
    PoissonArrival,
    TraceArrival,
    Workload,
)
from simperf.units import format_time

WORKLOAD = "workload"  # stream owner name for arrivals, class choices and think times
ZERO_TIME_LOOPS = 10_000
"""Requests one closed-loop user may send at one instant before the run is stopped."""


def profile_rates(arrival: PiecewiseArrival, horizon: float | None) -> list[float]:
    """The profile's rates scaled so that their mean is ``arrival.rate``.

    The mean is over one period, or over ``[0, horizon]`` for a profile that does not
    repeat (see :func:`simperf.arrivals.profile_mean_rate`).
    """
    starts = [start for start, _ in arrival.profile]
    shape = [rate for _, rate in arrival.profile]
    return arrivals.scaled_profile(starts, shape, arrival.rate, arrival.period, horizon)


def mmpp_rates(arrival: MmppArrival) -> list[float]:
    """The two states' rates scaled so that the stationary mean is ``arrival.rate``."""
    shape = list(arrival.relative_rates)
    factor = arrival.rate / arrivals.mmpp2_mean_rate(shape, arrival.mean_sojourns)
    return [r * factor for r in shape]


def arrival_times(
    arrival: Any, rng: np.random.Generator, horizon: float | None = None
) -> Iterator[float]:
    """Absolute arrival times of an open-loop arrival spec.

    Every kind keeps ``arrival.rate`` as its long-run mean (for a piecewise profile that
    does not repeat: its mean over ``[0, horizon]``), so scaling the rate scales the
    whole profile.
    """
    if isinstance(arrival, PoissonArrival):
        return arrivals.poisson_times(arrival.rate, rng)
    if isinstance(arrival, DeterministicArrival):
        return arrivals.deterministic_times(arrival.rate)
    if isinstance(arrival, PiecewiseArrival):
        starts = [start for start, _ in arrival.profile]
        rates = profile_rates(arrival, horizon)
        return arrivals.piecewise_times(starts, rates, rng, arrival.period)
    if isinstance(arrival, DiurnalArrival):
        return arrivals.diurnal_times(
            arrival.rate, arrival.amplitude, arrival.period, arrival.peak, rng
        )
    if isinstance(arrival, MmppArrival):
        return arrivals.mmpp2_times(mmpp_rates(arrival), arrival.mean_sojourns, rng)
    raise TypeError(f"no generator for arrival kind {arrival.kind!r}")  # pragma: no cover


def zipf_addresses(addresses: int, skew: float, rng: np.random.Generator) -> Callable[[], Any]:
    """Batched draws of client addresses ``0 .. addresses - 1``.

    Address ``i`` is drawn with probability proportional to ``1 / (i + 1)^skew`` (0:
    uniform), by inversion of the exact CDF, held in memory (8 bytes per address).
    """
    if skew == 0:
        return batched(lambda n: rng.integers(0, addresses, n))
    cdf = np.cumsum(np.arange(1, addresses + 1, dtype=float) ** -skew)
    cdf /= cdf[-1]
    last = addresses - 1

    def draw(n: int) -> np.ndarray:
        # min() guards against a uniform at or above the rounded last CDF value
        return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), last)

    return batched(draw)


class Clients:
    """Generates the workload's requests and records how each one ends.

    Open loop: each request is its own SimPy process, started at its arrival time, or,
    for a class whose route is plain, a flat runner's chain of callbacks
    (:mod:`simperf.components.flat`, chosen by :meth:`use_flat`).
    Closed loop: each user is one process that thinks, sends a request, waits for the
    response (inline, with ``yield from``), and repeats.

    With a request budget (``run.requests``) generation stops after that many requests
    and :attr:`done` fires when the last one has finished. A replayed trace with neither
    a budget nor a duration ends with its last row: :attr:`done` fires when that row
    arrives (see :attr:`trace_span`).
    """

    def __init__(
        self,
        ctx: Context,
        spec: Workload,
        entries: list[tuple[Component, Any]],
        *,
        budget: int | None,
        horizon: float | None = None,
    ) -> None:
        self.ctx = ctx
        self.env = ctx.env
        self.spec = spec
        self.entries = entries
        self.budget = budget
        self.horizon = horizon
        self._tag: Callable[[Request], None] | None = None
        self.done: simpy.Event = ctx.env.event()
        weights = np.array([c.weight for c in spec.classes], dtype=float)
        if len(weights) == 1:
            self._choose_class = constant(0)
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
        self.trace_span: float | None = None
        """Time from a replayed trace's first row to its last (None: no trace)."""
        self.end_with_trace = False
        """Whether :attr:`done` fires when the trace runs out (no budget, no duration)."""
        if isinstance(spec.arrival, TraceArrival):
            self._row_keys = [c.keyspace == spec.arrival.keyspace for c in spec.classes]
            times = trace_times(ctx.keyspaces[spec.arrival.keyspace].spec)
            assert times is not None  # checked by the spec
            self.trace_span = float(times[-1] - times[0]) if times.size else 0.0
        # A client that gives up (a class with a timeout) waits for its request as a
        # process; the others call inline (chosen here, not per request).
        self._timeouts = [c.timeout for c in spec.classes]
        if any(t is not None for t in self._timeouts):
            self._timeout_code = ctx.recorder.cause("timeout")
            self._serve = self._serve_timed  # type: ignore[method-assign]
        # Per class, what starts an open-loop request without a process (see use_flat).
        self._flat: list[Callable[[Request], None] | None] = [None] * len(spec.classes)
        # With tracing: whether the next request is traced, and what serves it (a traced
        # request of a flat class takes the process path, where its spans are recorded)
        self._traced: Callable[[], bool] | None = None
        self._trace_root: Callable[..., Process] | None = None

    def use_flat(
        self, compile: Callable[[Component, Any, Callable[[Request, int], None]], Any]
    ) -> None:
        """Start open-loop requests with flat runners where ``compile`` gives one.

        ``compile(component, route, finish)`` returns a function starting a request (see
        :func:`simperf.components.flat.flat_starter`) or None: that class's requests run
        as processes. A client that gives up needs its request's process: none then; nor
        do closed-loop users and replayed traces use them.
        """
        arrival = self.spec.arrival
        if arrival is None or isinstance(arrival, TraceArrival) or self._serve == self._serve_timed:
            return
        self._flat = [compile(component, route, self._finish) for component, route in self.entries]

    def trace_with(self, sampled: Callable[[], bool], root: Callable[..., Process] | None) -> None:
        """Send the requests ``sampled()`` picks through ``root`` (the process path with
        spans) when their class has a flat runner; the others stay flat."""
        if any(f is not None for f in self._flat):
            self._traced = sampled
            self._trace_root = root

    def _tagger(self) -> Callable[[Request], None] | None:
        """What sets a new request's client region and address (None: nothing to set).

        Regions are drawn only when the network is modelled (else they cost nothing and
        mean nothing); without a region mix every client is in the first region.
        """
        clients = self.spec.clients
        network = self.ctx.network
        region: Callable[[], Any] | None = None
        if network is not None:
            if clients is not None and clients.regions is not None:
                index = np.array([network.index[r] for r in clients.regions])
                p = np.array(list(clients.regions.values()), dtype=float)
                p /= p.sum()
                rng = self.ctx.rng(WORKLOAD, "region")
                region = batched(lambda n: index[rng.choice(len(p), size=n, p=p)])
            else:
                region = _first_region
        address: Callable[[], Any] | None = None
        if clients is not None and clients.addresses is not None:
            rng = self.ctx.rng(WORKLOAD, "client")
            address = zipf_addresses(clients.addresses, clients.skew, rng)
        if region is None and address is None:
            return None
        draw_region = region or _nothing
        draw_address = address or _nothing

        def tag(request: Request) -> None:
            request.region = draw_region()
            request.client = draw_address()

        return tag

    def start(self) -> None:
        """Start the generating processes."""
        self._tag = self._tagger()
        arrival = self.spec.arrival
        if isinstance(arrival, TraceArrival):
            self.env.process(self._trace_loop(self.ctx.keyspaces[arrival.keyspace].spec))
        elif arrival is not None:
            rng = self.ctx.rng(WORKLOAD, "arrival")
            times = arrival_times(arrival, rng, self.horizon)
            soon(self.env, _OpenLoop(self, times).begin, URGENT)  # where a process starts
        else:
            think = self.ctx.sampler(self.spec.think, WORKLOAD, "think")
            for _ in range(self.spec.users or 0):
                self.env.process(self._user(think))

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
            if self._tag is not None:
                self._tag(request)
            row = rows()
            if on_trace[klass]:
                request.key = row
            elif keys is not None and (draw := keys[klass]) is not None:
                request.key = draw()
            component, route = self.entries[klass]
            env.process(self._serve(request, component, route))
            if self.budget is not None and recorder.generated >= self.budget:
                return
        # The trace ran out: a run bounded by the trace ends here, with the last rows'
        # requests in flight; a request budget ends with the requests it got.
        if self.end_with_trace and not self.done.triggered:
            self.done.succeed()
        elif self.budget is not None:
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

    def _serve_timed(self, request: Request, component: Component, route: Any) -> Process:
        """:meth:`_serve` for a client that gives up after its class's ``timeout``.

        The request's deadline is set for the calls on its way; when it passes the
        request is recorded as ``timeout`` and the work in progress goes on unrecorded.
        """
        timeout = self._timeouts[request.klass]
        if timeout is None:
            yield from Clients._serve(self, request, component, route)
            return
        env = self.env
        request.deadline = request.start + timeout
        answer = self.ctx.spawn(outcome_of(component.handle(request, route)))
        yield answer | env.timeout(request.deadline - env.now)
        self._finish(request, answer.value if answer.triggered else self._timeout_code)

    def _finish(self, request: Request, outcome: int) -> None:
        recorder = self.ctx.recorder
        recorder.finish(request.klass, request.start, self.env.now, outcome)
        if not outcome:
            if request.stale:
                recorder.stale += 1
            if request.degraded:
                recorder.degraded(request.klass, request.start, self.env.now)
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
        # With no think time, requests that end at once (refused by a dead server, a full
        # queue) would loop at one instant forever: stop, naming the field to change.
        thoughtless = self.spec.think.mean == 0
        instant, since = 0, -1.0
        while budget is None or recorder.generated < budget:
            if thoughtless:
                instant = instant + 1 if env.now == since else 0
                since = env.now
                if instant >= ZERO_TIME_LOOPS:
                    raise SpecError(
                        f"workload.think_time: at {format_time(env.now)} requests end at "
                        f"once and users with no think time would send them at that instant "
                        "forever; give think_time"
                    )
            yield env.timeout(think())
            if budget is not None and recorder.generated >= budget:
                return
            klass = self._choose_class()
            now = env.now
            request = Request(recorder.arrive(now), klass, now)
            if self._tag is not None:
                self._tag(request)
            if self._keys is not None and (draw := self._keys[klass]) is not None:
                request.key = draw()
            component, route = self.entries[klass]
            yield from self._serve(request, component, route)


def _first_region() -> int:
    return 0


def _nothing() -> None:
    return None


class _OpenLoop:
    """An open workload's arrivals, each a light calendar entry
    (:mod:`simperf.components.flat_calendar`) where a generator's timeout would be.

    A flat request waits to start until the next arrival is scheduled, as it did in the
    generator this replaces: the order of events (and so every result) is unchanged,
    less an event object and a generator resumption per request.
    """

    __slots__ = (
        "budget",
        "choose",
        "clients",
        "entries",
        "env",
        "flat",
        "keys",
        "recorder",
        "request",
        "root",
        "serve",
        "t",
        "tag",
        "times",
        "traced",
    )

    def __init__(self, clients: Clients, times: Iterator[float]) -> None:
        self.env = clients.env
        self.times = times
        self.request: Request | None = None
        self.t = 0.0
        self.clients = clients

    def begin(self) -> None:
        """Start (as the process did: the clients' set-up is read now, not at creation)."""
        clients = self.clients
        self.recorder = clients.ctx.recorder
        self.budget = clients.budget
        self.choose = clients._choose_class
        self.entries = clients.entries
        self.serve = clients._serve
        self.tag = clients._tag
        self.keys = clients._keys
        self.flat = clients._flat
        self.traced, self.root = clients._traced, clients._trace_root
        self._schedule()

    def _schedule(self) -> None:
        """The next arrival (as ``env.timeout(t - now)``), then the held flat request."""
        t = next(self.times, None)
        request = self.request
        if t is not None:
            self.t = t
            env = self.env
            now = env._now
            heappush(env._queue, (now + (t - now), NORMAL, next(env._eid), self.arrive))
        if request is not None:
            self.request = None
            self.flat[request.klass](request)  # type: ignore[misc]

    def arrive(self) -> None:
        t = self.t
        klass = self.choose()
        new = Request(self.recorder.arrive(t), klass, t)
        if self.tag is not None:
            self.tag(new)
        keys = self.keys
        if keys is not None and (draw := keys[klass]) is not None:
            new.key = draw()
        budget = self.budget
        last = budget is not None and self.recorder.generated >= budget
        flat = self.flat[klass]
        if flat is None:
            component, route = self.entries[klass]
            self.env.process(self.serve(new, component, route))
        elif self.traced is not None and self.traced():
            component, route = self.entries[klass]
            self.env.process(self.root(new, component, route))  # type: ignore[misc]
        elif last:
            flat(new)
        else:
            self.request = new
        if not last:
            self._schedule()
