"""Request tracing: a sample of requests recorded span by span (``run.trace``).

Nothing here exists in a run without ``run.trace``. With it, the builder wraps, once,
the handles of components and app instances, the network's hops, and the ``queue_for``
of every monitored server; a wrapper hands an untraced request straight to the code it
wraps (one dictionary look-up, no generator), so untraced requests run exactly the code
of an untraced run. Whether a request is traced is drawn from a stream of its own, and
the wrappers schedule no event: the same seed gives the same results traced or not.

A traced request is a tree of spans: the ``request`` itself (the client's view), a
``hop`` per component (and app instance) it visits, a ``network`` span per crossing
between regions, a ``queue`` span per wait for a slot, a ``pool_wait`` per wait for a
pooled database connection, a ``cache`` span per cache read (``detail`` hit, miss or
down) with its ``backing`` read on a miss, and, on calls with ``retry``, an ``attempt``
span per try (``detail`` its number and outcome) and a ``backoff`` span per wait between
tries. Time in a span not covered by its children is the span's own: service in a hop,
travel in a network span.

Spans are found by the request (hops) or by the SimPy process running it (queue waits,
whose servers do not see the request). A process a traced request starts through
``ctx.spawn`` (a parallel arm, a timed or hedged attempt, a shard of a scatter, the
client's deadline wrapper) joins its trace as it is started: its first span's parent is
the span open in the process that started it at that moment. Waits in ordered
(priority) queues have no span of their own and count as the instance's service.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from heapq import heappush, heapreplace
from itertools import chain, repeat
from types import SimpleNamespace
from typing import Any

from simperf.components.base import Component, Context, Process, Request
from simperf.rng import batched
from simperf.spec.run import TraceSpec

Span = tuple[int, int, str, str, str, float, float, str]
"""(span_id, parent (-1: none), component, instance, kind, start, end, detail)."""
TRACER = "trace"  # stream owner name of the sampling decisions


class Trace:
    """One traced request: its spans, and the spans open in each of its processes."""

    __slots__ = ("end", "entry", "id", "klass", "outcome", "spans", "stack", "start")

    def __init__(self, request: Request, entry: str) -> None:
        self.id = request.id
        self.klass = request.klass
        self.entry = entry
        self.start = request.start
        self.end = request.start
        self.outcome = 0
        self.spans: list[Span] = []
        self.stack: list[int] = [0]  # the root process's open spans (the request is 0)


class Tracer:
    """Samples requests, records their spans, keeps the finished traces.

    Parameters
    ----------
    ctx
        The run's context (clock, recorder, random streams).
    spec
        ``run.trace``.
    """

    def __init__(self, ctx: Context, spec: TraceSpec) -> None:
        self.ctx = ctx
        self.env = ctx.env
        self.spec = spec
        rng = ctx.rng(TRACER, "sample")
        # requests from one traced to the next: geometric, as independent coin flips
        # would give. Each gap is gap - 1 untraced requests then a traced one, handed out
        # by C iterators: an untraced request runs no Python code here (a Python
        # countdown cost 1,300 instructions a request, 2.5% of mm1's, with none sampled).
        gaps = batched(lambda n: rng.geometric(spec.sample, n))
        decisions = chain.from_iterable(map(_traced_after, iter(gaps, None)))
        self.sampled: Callable[[], bool] = decisions.__next__
        """Whether the next request is traced."""
        self.root: Callable[..., Process] | None = None  # set by serve()
        self.traces: list[Trace] = []
        """The finished traces kept: all of them up to ``run.trace.keep``, then a uniform
        sample of that many (reservoir sampling: the n-th finished replaces a random kept
        one with probability keep / n), so that memory stays bounded."""
        self.starts = array("d")  # every finished trace's start: what counts as measured
        self.slow: list[tuple[float, int, Trace]] = []
        """The ``run.trace.slowest`` slowest finished traces, of all of them: a heap of
        (latency, -id, trace), the fastest of them first (equal latencies: the later
        request is the faster, as the log ranks them)."""
        self._keep_rng: Any = None  # the reservoir's stream, once past keep
        self._open: dict[Request, Trace] = {}
        # process -> (trace, its stack of open span ids); dropped when the trace ends
        self._procs: dict[Any, tuple[Trace, list[int]]] = {}
        self._owned: dict[int, list[Any]] = {}  # trace id -> its processes (to forget)
        self._process = ctx.spawn  # env.process, or what a feature installed before
        ctx.spawn = self.spawn  # only a run with run.trace pays for the look-up

    # -- installing (build time) ----------------------------------------------------------
    def install(self, components: dict[str, Component]) -> None:
        """Wrap component and app instance handles (before any route is compiled)."""
        for name, component in components.items():
            instances = getattr(component, "instances", None)
            own = [i for i in instances or [] if getattr(i, "component", None) == name]
            if own and hasattr(own[0], "steps"):  # an app server: a hop per instance
                for inst in own:
                    inst.handle = self.hop(inst.handle, name, inst.name, "hop")
                if len(own) == 1:
                    component.handle = own[0].handle  # type: ignore[method-assign]
                continue
            component.handle = self.hop(component.handle, name, "", "hop")  # type: ignore[method-assign]
            if type(component).handle_pooled is not Component.handle_pooled:
                component.handle_pooled = self.hop(  # type: ignore[method-assign]
                    component.handle_pooled, name, "", "hop"
                )
        network = self.ctx.network
        if network is not None:
            handler = network.handler

            def traced_handler(source: int | None, dest: int, target: Any) -> Any:
                wrapped = handler(source, dest, target)
                if wrapped is target:
                    return target
                regions = network.regions
                where = f"{'client' if source is None else regions[source]}->{regions[dest]}"
                return self.hop(wrapped, "network", where, "network")

            network.handler = traced_handler

    def install_servers(self, servers: list[Any]) -> None:
        """Record a ``queue`` span for each wait of a traced request at these servers."""
        for server in servers:
            for s in (server, getattr(server, "storage", None)):
                if s is not None and hasattr(s, "queue_for"):
                    s.queue_for = self._queue(s.queue_for, s.component, s.name)

    def entries(self, entries: list[tuple[Any, Any]], names: list[str]) -> list[tuple[Any, Any]]:
        """The workload's entry points (of components ``names``), clients' crossings traced."""
        from simperf.components.network import Hop

        out = []
        for (target, route), name in zip(entries, names, strict=True):
            if isinstance(target, Hop):
                network = target.network
                dest = network.regions[network.region_of[name]]
                target = SimpleNamespace(
                    handle=self.hop(target.handle, "network", f"client->{dest}", "network")
                )
            out.append((target, route))
        return out

    def serve(
        self, serve: Callable[..., Process], entries: list[tuple[Any, Any]], names: list[str]
    ) -> Callable[..., Process]:
        """The clients' ``_serve``: trace a sampled request from arrival to answer.

        ``entries`` are the clients' (target, route) by class: an untraced request is
        served by its target's own handle, without the span wrapper around it. Sets
        :attr:`root`, which serves a request already chosen (by :attr:`sampled`) as traced.
        """
        sampled = self.sampled
        direct = [SimpleNamespace(handle=unwrapped(target.handle)) for target, _ in entries]

        def traced_serve(request: Request, component: Any, route: Any) -> Process:
            if not sampled():
                return serve(request, direct[request.klass], route)
            return self._root(serve, request, component, route, names[request.klass])

        def root(request: Request, component: Any, route: Any) -> Process:
            return self._root(serve, request, component, route, names[request.klass])

        self.root = root
        return traced_serve

    # -- recording (run time, traced requests only) ----------------------------------------
    def _root(
        self,
        serve: Callable[..., Process],
        request: Request,
        component: Any,
        route: Any,
        entry: str,
    ) -> Process:
        trace = Trace(request, entry)
        process = self.env.active_process
        self._open[request] = trace
        self._procs[process] = (trace, trace.stack)
        self._owned[trace.id] = [process]
        try:
            yield from serve(request, component, route)
        finally:
            trace.end = self.env.now
            trace.spans.append((0, -1, entry, "", "request", trace.start, trace.end, ""))
            outcomes = self.ctx.recorder.outcome
            trace.outcome = int(outcomes[-1]) if len(outcomes) else 0
            del self._open[request]
            for proc in self._owned.pop(trace.id):
                self._procs.pop(proc, None)
            self._finished(trace)

    def _finished(self, trace: Trace) -> None:
        """Count a finished trace, log it if among the slowest, and keep it (or not)."""
        seen = len(self.starts)
        self.starts.append(trace.start)
        if self.spec.slowest:
            entry = (trace.end - trace.start, -trace.id, trace)
            if len(self.slow) < self.spec.slowest:
                heappush(self.slow, entry)
            elif entry[:2] > self.slow[0][:2]:
                heapreplace(self.slow, entry)
        keep = self.spec.keep
        if seen < keep:
            self.traces.append(trace)
            return
        if self._keep_rng is None:  # a stream of its own: a run under the cap draws nothing
            self._keep_rng = self.ctx.rng(TRACER, "keep")
        slot = int(self._keep_rng.integers(0, seen + 1))  # uniform over the traces so far
        if slot < keep:
            self.traces[slot] = trace

    @property
    def slowest(self) -> list[Trace]:
        """The slowest finished traces (``run.trace.slowest`` of them), in trace order."""
        return sorted((entry[2] for entry in self.slow), key=lambda trace: trace.id)

    def spawn(self, generator: Process) -> Any:
        """``env.process(generator)``; started by a traced request's process, the new one
        belongs to its trace, under the span open in the starter now (``ctx.spawn``)."""
        process = self._process(generator)
        entry = self._procs.get(self.env.active_process)
        if entry is not None:
            trace, stack = entry
            self._procs[process] = (trace, [stack[-1]])
            self._owned[trace.id].append(process)
        return process

    def hop(self, handle: Callable[..., Process], component: str, instance: str, kind: str) -> Any:
        """``handle`` with a span around each traced request's visit."""
        traced = self._around(handle, component, instance, kind)
        traced.__wrapped__ = handle  # type: ignore[attr-defined]
        return traced

    def _around(
        self,
        step: Callable[[Request, Any], Process],
        component: str,
        instance: str,
        kind: str,
        detail: str = "",
    ) -> Callable[[Request, Any], Process]:
        """``step(request, arg)`` inside a span for traced requests, bare for the others."""
        opened = self._open

        def traced(request: Request, arg: Any) -> Process:
            trace = opened.get(request)
            if trace is None:
                return step(request, arg)
            return self._span(trace, step(request, arg), component, instance, kind, detail)

        return traced

    def _span(
        self,
        trace: Trace,
        inner: Process,
        component: str,
        instance: str,
        kind: str,
        detail: str = "",
    ) -> Process:
        env = self.env
        process = env.active_process
        entry = self._procs.get(process)
        if entry is None or entry[0] is not trace:
            # a process started without ctx.spawn (every start on a request's way goes
            # through it): under the span open where the request began
            stack = [trace.stack[-1]]
            self._procs[process] = (trace, stack)
            self._owned[trace.id].append(process)
        else:
            stack = entry[1]
        span_id = len(trace.spans) + 1  # 0 is the request
        parent = stack[-1]
        stack.append(span_id)
        start = env.now
        trace.spans.append((span_id, parent, component, instance, kind, start, start, detail))
        index = len(trace.spans) - 1
        try:
            return (yield from inner)
        finally:
            stack.remove(span_id)
            # the detail as it is now: a cache read learns on the way whether it missed
            trace.spans[index] = (*trace.spans[index][:6], env.now, trace.spans[index][7])

    def _traced_process(self) -> tuple[Trace, list[int]] | None:
        """The trace and open spans of the running process (None: not a traced one)."""
        return self._procs.get(self.env.active_process)

    def _record(
        self,
        entry: tuple[Trace, list[int]],
        component: str,
        instance: str,
        kind: str,
        start: float,
        detail: str = "",
    ) -> None:
        """Add a finished span (ending now) under the process's open span."""
        trace, stack = entry
        span_id = len(trace.spans) + 1
        trace.spans.append(
            (span_id, stack[-1], component, instance, kind, start, self.env.now, detail)
        )

    # -- spans of steps (compiled with run.trace only) --------------------------------------
    def pools(self, pools: list[Any], database: str) -> list[Any]:
        """Connection pools whose waits of traced requests are ``pool_wait`` spans."""
        return [_TracedPool(self, pool, database) for pool in pools]

    def _pool_wait(
        self, entry: tuple[Trace, list[int]], inner: Process, pool: Any, database: str
    ) -> Process:
        start = self.env.now
        try:
            yield from inner
        finally:  # a timed-out wait too
            self._record(entry, pool.component, pool.owner, "pool_wait", start, database)

    def cache_read(self, read: Callable[..., Process], cache: str) -> Callable[..., Process]:
        """A cache ``read`` step with a ``cache`` span (detail ``hit`` until it misses)."""
        return self._around(read, cache, "", "cache", "hit")

    def cache_missed(self, miss: Callable[..., Process], detail: str) -> Callable[..., Process]:
        """A read's ``miss`` (or ``down``) path, marking the open ``cache`` span ``detail``."""

        def traced(request: Request, instance: Any, node: Any, key: int) -> Process:
            entry = self._traced_process()
            if entry is not None:
                trace, stack = entry
                index = stack[-1] - 1  # the read's span: span ids are list indices + 1
                span = trace.spans[index]
                trace.spans[index] = (*span[:7], detail)
            return miss(request, instance, node, key)

        return traced

    def backing(self, backing: Callable[..., Process], component: str) -> Callable[..., Process]:
        """A cache's backing read or write with a ``backing`` span around it."""
        return self._around(backing, component, "", "backing")

    def attempts(
        self, attempt: Callable[..., Process], caller: str, target: str
    ) -> Callable[..., Process]:
        """A guarded call's ``attempt(request, instance, limit, tries)`` with an
        ``attempt`` span (detail ``#n outcome``) and, before a retry, a ``backoff`` span
        from the previous attempt's end."""
        opened = self._open
        causes = self.ctx.recorder.causes

        def traced(request: Request, instance: Any, limit: float | None, tries: int) -> Process:
            trace = opened.get(request)
            if trace is None:
                return attempt(request, instance, limit, tries)
            return self._attempt(
                trace,
                attempt(request, instance, limit, tries),
                caller,
                target,
                instance.name,
                tries,
                causes,
            )

        return traced

    def _attempt(
        self,
        trace: Trace,
        inner: Process,
        caller: str,
        target: str,
        instance: str,
        tries: int,
        causes: list[str],
    ) -> Process:
        entry = self._procs.get(self.env.active_process)
        if tries > 1 and entry is not None and entry[0] is trace:
            # the time since this call's previous attempt ended is its backoff
            parent = entry[1][-1]
            last = next(
                (s for s in reversed(trace.spans) if s[4] == "attempt" and s[1] == parent), None
            )
            if last is not None and last[6] < self.env.now:
                trace.spans.append(
                    (
                        len(trace.spans) + 1,
                        parent,
                        caller,
                        instance,
                        "backoff",
                        last[6],
                        self.env.now,
                        f"before #{tries}",
                    )
                )
        where = f"{instance}->{target}"
        index = len(trace.spans)  # the attempt's span, appended as it starts
        code = yield from self._span(trace, inner, caller, where, "attempt", f"#{tries}")
        outcome = causes[code] if code else "ok"
        trace.spans[index] = (*trace.spans[index][:7], f"#{tries} {outcome}")
        return code

    def _queue(self, queue_for: Callable[..., Process], component: str, instance: str) -> Any:
        procs = self._procs
        env = self.env

        def traced_queue_for(slots: Any) -> Process:
            entry = procs.get(env.active_process)
            if entry is None:
                return queue_for(slots)
            return self._waited(entry, queue_for(slots), component, instance)

        return traced_queue_for

    def _waited(
        self, entry: tuple[Trace, list[int]], inner: Process, component: str, instance: str
    ) -> Process:
        trace, stack = entry
        start = self.env.now
        waited = yield from inner
        span_id = len(trace.spans) + 1
        trace.spans.append(
            (span_id, stack[-1], component, instance, "queue", start, self.env.now, "")
        )
        return waited


class _TracedPool:
    """A connection pool whose waits of traced requests are ``pool_wait`` spans."""

    __slots__ = ("_pool", "acquire", "database", "release")

    def __init__(self, tracer: Tracer, pool: Any, database: str) -> None:
        self._pool = pool
        self.database = database
        self.release = pool.release
        plain = pool.acquire

        def acquire(request: Any = None) -> Process | None:
            waiting = plain(request)
            if waiting is None:  # a free connection: no wait to record
                return None
            entry = tracer._traced_process()
            if entry is None:
                return waiting
            return tracer._pool_wait(entry, waiting, pool, database)

        self.acquire = acquire

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def _traced_after(gap: int) -> Iterator[bool]:
    """``gap - 1`` untraced requests, then a traced one."""
    return chain(repeat(False, gap - 1), (True,))


def unwrapped(handle: Any) -> Any:
    """The handle a span wrapper wraps (``handle`` itself when it is not wrapped)."""
    return getattr(handle, "__wrapped__", handle)
