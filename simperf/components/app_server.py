"""App servers: replicated instances with workers, cores, a bounded queue and endpoints.

An endpoint's steps are compiled once, at build time, into ``(opcode, argument)`` pairs
(:mod:`simperf.components.calls`) by the step compilers the builder passes in
(:data:`simperf.build.STEP_COMPILERS`); :meth:`AppInstance.steps` is the one interpreter
that runs them, for requests and for a session's re-authentication alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NoReturn

import simpy

from simperf.components.admission import (
    AimdLimit,
    Shed,
    class_ranks,
    ordered_wait,
    queue_slots,
)
from simperf.components.autoscaler import Autoscaler
from simperf.components.base import (
    Component,
    Context,
    Process,
    Request,
    RequestFailed,
    outcome_of,
)
from simperf.components.calls import CALL, CPU, DELAY, PARALLEL, RUN, connect, parallel_arm
from simperf.components.resilience import AttemptDeadlines
from simperf.components.server import Server
from simperf.components.sessions import Sessions
from simperf.components.shared_cpu import SharedCores, processor_sharing, usl_cores
from simperf.components.slots import Slots
from simperf.errors import BuildError
from simperf.metrics.monitor import LevelMonitor
from simperf.rng import batched
from simperf.spec.app_server import AppServerSpec, CallStep, CpuStep, DelayStep, ParallelStep
from simperf.spec.faults import instances_hit

Step = tuple[int, Any]
StepRunner = Callable[[Request, "AppInstance"], Process]
StepCompiler = Callable[["AppServer", Any, str], Step]
"""A compiler gets (server, step spec, stream purpose) once at build time and returns the
step as an ``(opcode, argument)`` pair (see :mod:`simperf.components.calls`)."""
HANG = -1
"""Interrupt cause of a request in service that a crash leaves unanswered."""


class AppInstance(Server):
    """One instance (``app[0]``): workers admit requests, cores serve ``cpu`` steps.

    When ``workers <= cores`` a worker always finds a free core, so cores are not a
    separate resource (one event less per step); otherwise ``cpu`` steps queue for a core
    in FIFO order. Waiting for a worker and waiting for a core both count as queueing,
    in the instance's :class:`~simperf.components.server.Server` monitors.

    ``held`` integrates the workers in use over time, whatever holds them (``cpu``, a
    ``delay``, a call downstream): a thread-pool-bound instance is saturated with its
    cores idle, and only this level shows it.

    A ``queue`` or ``concurrency_limit`` replaces, at build time, the worker slots by
    ordered ones that can shed (:mod:`simperf.components.admission`) and ``wait_worker``,
    ``full`` (and ``wait_core``, ``handle``) by their variants; ``cpu_discipline: ps``
    compiles ``cpu`` steps onto :class:`~simperf.components.shared_cpu.SharedCores`, as
    does a non-linear ``scaling``.
    An instance with none of them runs the plain FIFO code.
    """

    kind = "app_server"

    def __init__(self, server: AppServer, index: int) -> None:
        spec = server.spec
        ctx = server.ctx
        super().__init__(ctx.env, f"{server.name}[{index}]", server.name, spec.cores)
        self.ctx = ctx
        self.index = index
        self.up = True  # takes new requests: in service and not failed
        self.in_service = True  # False: not provisioned or draining (autoscaling)
        self.provisioned: LevelMonitor | None = None  # 0/1 over time, when autoscaled
        self.down_since = 0.0  # when it last went down
        self.outages = 0
        # outages of the slot that hit no instance of it (an autoscaled slot off at the
        # crash, or its instance terminated since): their ends bring nothing back
        self.absorbed = 0
        self.down_code = 0  # registered at the first failure (most runs never fail)
        # Gray failures and connect timeouts, set by the fault timeline; any of them
        # swaps in :meth:`_degraded_steps` (see :meth:`_rewire`), so that an instance
        # without faults runs the plain interpreter with no check for them.
        self.connect_timeout = 0.0
        self.factor = 1.0
        self.error_fraction = 0.0
        self.injected = 0
        self._slowed: dict[int, tuple[list[Step], list[Step]]] = {}
        self._draw: Callable[[], float] | None = None
        workers = spec.worker_count
        self.workers = Slots(ctx.env, workers)
        self.cores = self.slots if workers > spec.cores else None
        self.capped = spec.queue_limit is None
        self.limit = ctx.safety_cap if self.capped else spec.queue_limit
        self.reject_code = ctx.recorder.cause("safety_cap" if self.capped else "rejected")
        self.held = LevelMonitor()
        self.active = 0
        # set when the run is over: a process closed after it (its generator collected)
        # still releases its worker, which then must not resume a waiting flat visit
        self.ended = False
        # database name -> this instance's connection pool (opened by AppServer.wire)
        self.pools: dict[str, Any] = {}
        memory = spec.memory
        self.memory: Slots | None = None
        if memory is not None:
            self.memory = Slots(ctx.env, memory.max_requests)
            self.memory_capacity = memory.capacity
            self.memory_baseline = memory.baseline
            self.memory_per_request = memory.per_request
            self.memory_waits = memory.on_full == "wait"
            self.memory_level = LevelMonitor()
            self.out_of_memory = 0
            if not self.memory_waits:
                self.oom_code = ctx.recorder.cause("out_of_memory")
            self.handle = self._handle_with_memory  # type: ignore[method-assign]
        wake = spec.wake_up
        if wake is not None:
            # chosen here, not checked per request: without it the plain handle runs
            self._wake_draw = ctx.sampler(wake.time, server.name, f"wake_up:{index}")
            self._woken: dict[int, list[Step]] = {}
            self._wake_inner = self.handle
            self._wake_after = wake.after
            self._idle_since = -math.inf
            waking = self._handle_waking_after if wake.after > 0 else self._handle_waking
            self.handle = waking  # type: ignore[method-assign]
        self.ordered = False  # set by _admission: workers wait in ordered queues
        self.shed_limit = 0  # requests shed by the concurrency limit
        if spec.queue is not None or spec.concurrency_limit is not None or server.ranks:
            self._admission(server, spec)
        scaling = spec.scaling
        alpha, beta = (0.0, 0.0) if scaling is None else (scaling.alpha, scaling.beta)
        self.shared: SharedCores | None = None
        if spec.cpu_discipline == "ps":
            self.shared = processor_sharing(self, alpha, beta)
            self.cores = None
            self.cpu = self.shared.work  # type: ignore[method-assign]
        elif alpha or beta:
            # CPU that slows with concurrency replaces Server.work on this instance only
            self.work = usl_cores(self, alpha, beta).work  # type: ignore[method-assign]
        if server.tracked:
            # a crash may fail or hang the requests in service: each runs as a process
            # the crash can interrupt (see AppServer.fail)
            # each request's own process -> whether it holds a worker (in service)
            self.serving: dict[simpy.Process, bool] = {}
            self._untracked = self.handle
            self.handle = self._handle_tracked  # type: ignore[method-assign]

    def _admission(self, server: AppServer, spec: AppServerSpec) -> None:
        """Build-time choice of the ordered queues, shedding and concurrency limit."""
        shed = self.ctx.recorder.cause("shed")
        ranks = server.ranks
        self.ranks = ranks or [0] * len(self.ctx.recorder.class_names)
        levels = max(self.ranks) + 1
        # a request dropped past its client's deadline fails as what its client recorded
        drops = spec.queue is not None and spec.queue.drop_expired
        expired = self.ctx.recorder.cause("timeout") if drops else 0
        # what the dequeue check compares: the deadline of the attempt queued (its
        # caller's call timeout, or the client's)
        self.deadlines: AttemptDeadlines | None = self.ctx.deadlines if drops else None
        # a cancelled one as what it is (registered at the first: most runs cancel none)
        recorder = self.ctx.recorder
        self.workers = queue_slots(
            self.env,
            self.workers.capacity,
            spec.queue,
            levels,
            shed,
            expired,
            lambda: recorder.cause("cancelled"),
        )
        self.wait_worker = self._wait_ordered  # type: ignore[method-assign]
        self.ordered = True
        self.full = self._full_ordered  # type: ignore[method-assign]
        if self.cores is not None and ranks:  # cores queue separately: by priority too
            self.slots = self.cores = queue_slots(self.env, self.capacity, None, levels, shed)
            self.wait_core = self._wait_core_ordered  # type: ignore[method-assign]
        if spec.concurrency_limit is not None:
            self.limit_state = AimdLimit(spec.concurrency_limit, self.workers.capacity)
            self.limited = 0  # requests admitted under the limit
            self.shed_code = shed
            self._limited_inner = self.handle
            self.handle = self._handle_limited  # type: ignore[method-assign]

    def _handle_with_memory(self, request: Request, steps: list[tuple[int, Any]]) -> Process:
        """:meth:`handle` for an instance with memory: take the footprint first.

        The footprint is held from acceptance (queued for a worker included) to the end.
        Requests waiting for memory count as waiting for the queue limit and in the
        queue length and wait time.
        """
        env = self.env
        memory = self.memory
        assert memory is not None
        if not memory.free and not self.memory_waits:
            self.out_of_memory += 1
            raise RequestFailed(self.oom_code)
        workers = self.workers
        waiting = len(workers.waiting) + len(memory.waiting)
        if (not memory.free or not workers.free) and waiting >= self.limit:
            self._reject()
        waited = yield from self.take(memory)
        self.memory_level.change(1, env.now)
        try:
            yield from AppInstance.handle(self, request, steps)
            self.wait_sum += waited  # served: its memory wait was queueing too
        finally:
            memory.release()
            self.memory_level.change(-1, env.now)

    def _handle_waking(self, request: Request, steps: list[Step]) -> Process:
        """:meth:`handle` on an instance with a ``wake_up`` cost: a request arriving at
        an idle instance (none in service or waiting) holds its worker for a wake-up
        draw before its first step (after a tracked endpoint's registration)."""
        if self.active == 0 and not self.workers.waiting:
            steps = self._woken_steps(steps)
        return self._wake_inner(request, steps)

    def _handle_waking_after(self, request: Request, steps: list[Step]) -> Process:
        """:meth:`_handle_waking` when only an instance idle for ``after`` pays: the
        request that leaves it idle notes when."""
        if (
            self.active == 0
            and not self.workers.waiting
            and self.env.now - self._idle_since >= self._wake_after
        ):
            steps = self._woken_steps(steps)
        try:
            yield from self._wake_inner(request, steps)
        finally:
            if self.active == 0 and not self.workers.waiting:
                self._idle_since = self.env.now

    def _woken_steps(self, steps: list[Step]) -> list[Step]:
        woken = self._woken.get(id(steps))
        if woken is None:
            wake = (DELAY, self._wake_draw)
            head = 1 if steps and steps[0] == (RUN, _register) else 0
            woken = self._woken[id(steps)] = [*steps[:head], wake, *steps[head:]]
        return woken

    def _handle_limited(self, request: Request, steps: list[Step]) -> Process:
        """:meth:`handle` under an adaptive concurrency limit: shed at once beyond it."""
        limit = self.limit_state
        if self.limited >= limit.limit:
            self.shed_limit += 1
            raise RequestFailed(self.shed_code)
        self.limited += 1
        # judged on the requests in flight as this one was admitted (itself included),
        # as concurrency-limits' limiter records them, not on those left when it ends
        in_flight = self.limited
        start = self.env.now
        cause = "ok"
        try:
            yield from self._limited_inner(request, steps)
        except RequestFailed as failure:
            cause = self.ctx.recorder.causes[failure.code]
            raise
        finally:
            # a deadline exceeded is a drop, whatever its latency (the library's rule);
            # a cancellation (its caller took another copy's answer) is no congestion
            # signal: ignored, as the library's onIgnore leaves the limit alone
            if cause == "timeout":
                limit.drop()
            elif cause != "cancelled":
                limit.sample(self.env.now - start, in_flight)
            self.limited -= 1

    def _handle_tracked(self, request: Request, steps: list[Step]) -> Process:
        """:meth:`handle` on an instance whose crash fails or hangs requests in service.

        The request runs as a process of its own, in ``serving``, marked in service once
        it holds a worker (the endpoint's first step, see :meth:`AppServer._compile`); a
        hung request waits for an answer that never comes.
        """
        env = self.env
        code = yield self.ctx.spawn(self._serve_tracked(request, steps))
        if code == HANG:
            yield env.event()
        if code:
            raise RequestFailed(code)

    def _serve_tracked(self, request: Request, steps: list[Step]) -> Process:
        # An interrupt lands only at a delay or at a detached step's process (see
        # AppServer._compile): the finally paths release the worker, memory and limit.
        env = self.env
        process = env.active_process
        self.serving[process] = False  # type: ignore[index]
        try:
            yield from self._untracked(request, steps)
        except RequestFailed as failure:
            return failure.code
        except simpy.Interrupt as crash:
            return crash.cause
        finally:
            del self.serving[process]  # type: ignore[arg-type]
        return 0

    def wait_worker(self, request: Request) -> Process:
        """Queue for a worker (none is free); returns the wait, holding a worker.

        Raises holding none: when the instance fails meanwhile, or (ordered queues)
        when the request is shed.
        """
        waited = yield from self.queue_for(self.workers)
        if self.outages:  # the instance failed while the request queued (not: scaled in)
            self.workers.release()
            raise RequestFailed(self.down_code)
        return waited

    def _wait_ordered(self, request: Request) -> Process:
        workers = self.workers
        deadlines = self.deadlines
        if deadlines is None:
            deadline, carried = getattr(request, "deadline", math.inf), None
        else:
            deadline, carried = deadlines.ticket(request)
        try:
            waited = yield from ordered_wait(
                self, workers, self.ranks[request.klass], deadline, carried
            )
        except Shed:  # picked, found stale or expired: it gives the worker to the next waiter
            workers.release()
            raise
        if self.outages:
            workers.release()
            raise RequestFailed(self.down_code)
        return waited

    def wait_core(self, request: Request) -> Process:
        """Queue for a core (none is free); returns the wait, holding a core."""
        return self.queue_for(self.cores)  # type: ignore[arg-type]

    def _wait_core_ordered(self, request: Request) -> Process:
        return ordered_wait(self, self.cores, self.ranks[request.klass])  # type: ignore[arg-type]

    def full(self, request: Request) -> None:
        """A request found the queue full: rejected (ordered queues may shed another)."""
        self._reject()

    def _full_ordered(self, request: Request) -> None:
        if not self.workers.evict(self.ranks[request.klass]):  # type: ignore[attr-defined]
            self._reject()

    def _reject(self) -> NoReturn:
        self.rejected += 1
        if self.capped:
            self.ctx.safety_cap_hits += 1
        raise RequestFailed(self.reject_code)

    def handle(self, request: Request, steps: list[Step]) -> Process:
        """Serve ``request`` on a compiled endpoint: admitted by a worker, then its steps."""
        return self.steps(request, steps, True)

    def steps(self, request: Request, steps: list[Step], admit: bool = False) -> Process:
        """The one step interpreter: run compiled steps for ``request``.

        ``admit``: take a worker first and count the request as served by this instance
        (:meth:`handle`); otherwise the steps run in the worker the request already holds
        (a session's re-authentication). One generator either way: a hop costs no
        delegation frame on every event it waits for.
        """
        env = self.env
        workers = self.workers
        arrived = env.now
        waited = 0.0
        held = self.held
        if admit:
            if not self.up:
                raise RequestFailed(self.down_code)
            if workers.free:  # Server.take inlined: every request pays for this
                workers.free -= 1
            else:
                if len(workers.waiting) >= self.limit:
                    self.full(request)
                if self.ordered:
                    waited = yield from self.wait_worker(request)
                else:  # wait_worker inlined: one generator less per waiting request
                    waited = yield from self.queue_for(workers)
                    if self.outages:  # failed while the request queued (not: scaled in)
                        workers.release()
                        raise RequestFailed(self.down_code)
            held.change(1, env.now)
            self.active += 1
        try:
            busy = self.busy
            cores = self.cores
            for op, arg in steps:
                if op == CPU:
                    if cores is not None:
                        if cores.free:
                            cores.free -= 1
                        else:
                            waited += yield from self.wait_core(request)
                        try:
                            busy.change(1, env.now)
                            yield env.timeout(arg())
                            busy.change(-1, env.now)
                        finally:
                            cores.release()
                    else:
                        busy.change(1, env.now)
                        yield env.timeout(arg())
                        busy.change(-1, env.now)
                elif op == DELAY:
                    yield env.timeout(arg())
                elif op == CALL:
                    yield from arg[0](request, arg[1])
                elif op == PARALLEL:
                    yield from self._parallel(request, arg)
                else:
                    yield from arg(request, self)
            if admit:
                self.served += 1
                self.wait_sum += waited
                self.service_sum += env.now - arrived - waited
        finally:
            if admit:
                held.change(-1, env.now)
                workers.release()
                self.active -= 1

    def _rewire(self) -> None:
        """Choose the step interpreter for the instance's faults, at fault time."""
        if (not self.up and self.connect_timeout > 0) or self.factor != 1.0 or self.error_fraction:
            self.steps = self._degraded_steps  # type: ignore[method-assign]
        else:
            self.__dict__.pop("steps", None)

    def _degraded_steps(self, request: Request, steps: list[Step], admit: bool = False) -> Process:
        """:meth:`steps` on an instance with a fault: a caller of a crashed instance waits
        its connect timeout, injected errors fail fast, a slow instance runs slowed steps."""
        if admit:
            if not self.up:
                if self.connect_timeout:
                    yield self.env.timeout(self.connect_timeout)
                raise RequestFailed(self.down_code)
            if self.error_fraction and self._draw is not None:
                if self._draw() < self.error_fraction:
                    self.injected += 1
                    raise RequestFailed(self.ctx.recorder.cause("injected_error"))
        if self.factor != 1.0:
            steps = self._slow_steps(steps)
        return (yield from AppInstance.steps(self, request, steps, admit))

    def _slow_steps(self, steps: list[Step]) -> list[Step]:
        """``steps`` with every CPU and delay draw multiplied by the slow factor (cached)."""
        cached = self._slowed.get(id(steps))
        if cached is None:
            factor = self.factor
            slowed: list[Step] = [
                (op, _scaled(arg, factor)) if op in (CPU, DELAY) else (op, arg) for op, arg in steps
            ]
            cached = self._slowed[id(steps)] = (steps, slowed)
        return cached[1]

    def cpu(self, seconds: float) -> Process:
        """Hold one of this instance's cores for ``seconds`` (for step runners)."""
        cores = self.cores
        if cores is None:
            yield from self.work(seconds)
            return
        if cores.free:  # Server.take inlined: every query's client CPU pays for this
            cores.free -= 1
        else:
            yield from self.queue_for(cores)
        try:
            yield from self.work(seconds)
        finally:
            cores.release()

    def _parallel(self, request: Request, calls: list[Step]) -> Process:
        spawn = self.ctx.spawn
        branches = [spawn(parallel_arm(op, arg, request, self)) for op, arg in calls]
        yield self.env.all_of(branches)
        for branch in branches:
            if branch.value:
                raise RequestFailed(branch.value)

    def snapshot(self, now: float, *, window: bool = True) -> dict[str, float]:
        """Server counters at ``now``, worker use, and memory use when memory is modelled."""
        counters = super().snapshot(now, window=window)
        counters["worker_area"] = self.held.area_at(now)
        counters["workers"] = self.workers.capacity
        if self.provisioned is not None:
            counters["provisioned_area"] = self.provisioned.area_at(now)
        shed = getattr(self.workers, "shed", None)
        if shed is not None or self.shed_limit:
            counters["shed"] = (shed or 0) + self.shed_limit
        if getattr(self.workers, "drop_expired", False):
            counters["expired"] = self.workers.expired  # type: ignore[attr-defined]
            counters["cancelled"] = self.workers.cancelled  # type: ignore[attr-defined]
        if self.pools:
            counters.update(self._pool_snapshot(now))
        if self.memory is not None:
            counters.update(self._memory_snapshot(now))
        return counters

    def rest_monitors(self, counters: dict[str, float]) -> list[LevelMonitor] | None:
        """The monitors whose first move ends this instance's rest; None if not at rest.

        ``counters``: its :meth:`snapshot` just taken. At rest: nothing in service,
        queued or holding a worker, core or connection, no queue peak in the window just
        closed, and no area that grows with time alone (memory's baseline, an autoscaled
        instance's provisioned time), so that its next snapshots equal ``counters``
        until a request comes: one admitted moves ``held`` (one that waits, ``queue``),
        and none is refused, shed or timed out at an instance with nothing in it. The
        model reads an instance at rest again only once one of these has moved
        (:class:`~simperf.metrics.monitor.RestWatch`).
        """
        if self.memory is not None or self.provisioned is not None or counters["queue_peak"]:
            return None
        monitors = [self.busy, self.queue, self.held, *(p.in_use for p in self.pools.values())]
        if any(m.level for m in monitors) or self.active:
            return None
        workers, cores = self.workers, self.slots
        if workers.free != workers.capacity or cores.free != cores.capacity:
            return None
        return monitors

    def _pool_snapshot(self, now: float) -> dict[str, float]:
        # Over all of this instance's pools: connection-seconds held, and acquisitions,
        # their summed wait and timeouts (differences over a span give occupancy and waits).
        pools = list(self.pools.values())
        counters = {
            "pool_area": sum(p.in_use.area_at(now) for p in pools),
            # the connections the servers accepted: those past max_connections are refused
            "pool_size": sum(p.usable for p in pools),
            "pool_acquired": sum(p.wait_samples.count for p in pools),
            "pool_wait_sum": sum(p.wait_sum for p in pools),
            "pool_timeouts": sum(p.timeouts for p in pools),
            "pool_unsent": sum(p.unsent for p in pools),
            "pool_refused": sum(p.refused for p in pools),
        }
        dropping = [p for p in pools if p.deadlines is not None]  # pool.drop_expired
        if dropping:  # queries dropped past their deadline: offered, not served (headroom)
            counters["pool_expired"] = sum(p.slots.expired for p in dropping)
        return counters

    def _memory_snapshot(self, now: float) -> dict[str, float]:
        # Byte-seconds in use since time 0: a difference over a span, divided by
        # capacity x span, is the time-weighted memory utilisation.
        return {
            "memory_area": self.memory_baseline * now
            + self.memory_per_request * self.memory_level.area_at(now),
            "memory_capacity": self.memory_capacity,
            "out_of_memory": self.out_of_memory,
        }


class AppServer(Component):
    """A replicated application tier; requests addressed to it rotate over its instances."""

    kind = "app_server"

    def __init__(self, ctx: Context, name: str, spec: AppServerSpec) -> None:
        super().__init__(ctx, name)
        self.spec = spec
        # a crash fault that fails or hangs requests in service names this server
        self.tracked = _fails_in_service(ctx.scenario, name)
        # each class's priority rank (0 first), for queues that order by priority, and
        # last (index -1: a health probe's class) the rank of the default priority, 0
        self.ranks: list[int] = []
        queue = spec.queue
        if queue is not None and queue.discipline == "priority" and ctx.scenario is not None:
            self.ranks = class_ranks([*(c.priority for c in ctx.scenario.workload.classes), 0])
        self.instances = [AppInstance(self, i) for i in range(spec.most_replicas)]
        self.sessions = None if spec.sessions is None else Sessions(self, spec.sessions)
        self.autoscaler: Autoscaler | None = None
        if spec.autoscaling is not None:
            self.autoscaler = Autoscaler(self, spec.autoscaling)
            ctx.reporters[f"autoscaling.{name}"] = self.autoscaler
        # databases reached through the calling instance's connection pool
        self.pooled = frozenset(pool.database for pool in spec.pools)
        self._routes: dict[str, list[tuple[int, Any]]] = {}
        self._components: dict[str, Component] = {}
        self._next = 0
        if len(self.instances) == 1:
            self.handle = self.instances[0].handle  # type: ignore[method-assign]

    def wire(self, components: dict[str, Component]) -> None:
        """Open each instance's connection pools and find the sessions' store."""
        self._components = components
        for pool in self.spec.pools:
            database = components[pool.database]
            for instance in self.instances:
                instance.pools[database.name] = database.open_pool(instance.name, self.name, pool)
        if self.sessions is not None:
            self.sessions.wire(components)

    def handle(self, request: Request, route: Any) -> Process:
        """Serve on the next instance in turn (DNS-style round robin), skipping failed ones."""
        instances = self.instances
        index = self._next
        self._next = (index + 1) % len(instances)
        instance = instances[index]
        if not instance.up:  # the next one up in turn (if none is, this one fails it)
            count = len(instances)
            for offset in range(1, count):
                candidate = instances[(index + offset) % count]
                if candidate.up:
                    self._next = (index + offset + 1) % count
                    instance = candidate
                    break
        return instance.handle(request, route)

    def _chosen(self, instance: int | None) -> list[AppInstance]:
        return self.instances if instance is None else [self.instances[instance]]

    def fail(
        self, instance: int | None, connect_timeout: float = 0.0, in_service: str = "complete"
    ) -> None:
        """Take one instance (or all) down: it loses the sessions it held in memory.

        New requests fail as ``instance_down``, after ``connect_timeout`` (0: at once);
        the requests in service complete, fail as ``instance_down`` (``in_service:
        fail``) or never get an answer (``hang``), releasing their worker now.
        """
        code = self.ctx.recorder.cause("instance_down")
        for inst in self._chosen(instance):
            if self.autoscaler is not None and not self.autoscaler.crash(inst.index):
                inst.absorbed += 1  # an empty slot: nothing crashes, and the log says so
                if self.ctx.faults is not None:
                    self.ctx.faults.empty(inst.name)
                continue
            inst.down_code = code
            inst.outages += 1
            if inst.up:
                inst.up = False
                inst.down_since = self.env.now
                inst.connect_timeout = connect_timeout
                inst._rewire()
                if self.sessions is not None:
                    self.sessions.instance_failed(inst.index)
            if in_service != "complete":
                cause = HANG if in_service == "hang" else code
                for process in [p for p, held in inst.serving.items() if held]:
                    process.interrupt(cause)

    def recover(self, instance: int | None) -> None:
        """Bring one instance (or all) back, holding no sessions."""
        for inst in self._chosen(instance):
            if inst.absorbed:
                inst.absorbed -= 1
                continue
            inst.outages -= 1
            if inst.outages == 0 and self.autoscaler is not None:
                self.autoscaler.recover(inst.index)
            if inst.outages == 0 and inst.in_service:
                inst.up = True
                inst._rewire()

    def slow(self, instance: int | None, factor: float) -> None:
        """CPU and delay steps on the instance take ``factor`` times longer (1: normal)."""
        for inst in self._chosen(instance):
            inst.factor = factor
            inst._slowed.clear()
            inst._rewire()

    def inject_errors(self, instance: int | None, fraction: float) -> None:
        """A ``fraction`` of the instance's requests fail fast as ``injected_error``."""
        self.ctx.recorder.cause("injected_error")
        for inst in self._chosen(instance):
            inst.error_fraction = fraction
            if inst._draw is None:
                rng = self.ctx.rng(inst.name, "injected_errors")
                inst._draw = batched(lambda n, rng=rng: rng.random(n))
            inst._rewire()

    def snapshot(self, now: float) -> dict[str, Any] | None:
        return None if self.sessions is None else self.sessions.snapshot(now)

    def report(
        self, first: dict[str, Any], last: dict[str, Any], span: float
    ) -> tuple[str, dict[str, Any]] | None:
        """The ``sessions.<name>`` section, for a server with sessions."""
        if self.sessions is None:
            return None
        return "sessions", self.sessions.report(first, last, span)

    def resolve(self, endpoint: str) -> list[tuple[int, Any]]:
        """Compile an endpoint's steps into (opcode, argument) pairs, once."""
        if endpoint not in self._routes:
            self._routes[endpoint] = self._compile(endpoint)
        return self._routes[endpoint]

    def _compile(self, endpoint: str) -> list[Step]:
        compiled: list[Step] = []
        sessions = self.sessions
        if sessions is not None and sessions.uses(endpoint):
            reauth = sessions.spec.reauth
            compiled.append((RUN, sessions.prologue(self.resolve(reauth) if reauth else None)))
        compilers = self.ctx.step_compilers
        for i, step in enumerate(self.spec.endpoints[endpoint]):
            compiler = compilers.get(type(step))
            if compiler is None:
                raise BuildError(
                    f"components.{self.name}.endpoints.{endpoint}.{i}: "
                    f"no compiler for a {type(step).__name__}"
                )
            compiled.append(compiler(self, step, f"{endpoint}:{i}"))
        if self.tracked:
            return [(RUN, _register), *(_detached(self, op, arg) for op, arg in compiled)]
        return compiled

    def component(self, name: str) -> Component:
        """Another component of the model (for step compilers)."""
        return self._components[name]


def _fails_in_service(scenario: Any, name: str) -> bool:
    """Whether a crash fault with ``in_service: fail`` or ``hang`` takes ``name``."""
    if scenario is None:
        return False
    network = scenario.network
    regions = list(network.regions) if network is not None else []
    return any(
        fault.in_service != "complete"
        and any(component == name for component, _ in instances_hit(scenario, fault, regions))
        for fault in scenario.faults
    )


def _register(request: Request, instance: AppInstance) -> Process:
    """First step of a tracked endpoint: the request holds a worker, a crash reaches it.

    A session's re-authentication runs these steps too, in a detached step's process,
    which is not a request's own: nothing to mark then.
    """
    process = instance.env.active_process
    if process in instance.serving:
        instance.serving[process] = True  # type: ignore[index]
    return
    yield  # a generator, as every step runner


def _detached(server: AppServer, op: int, arg: Any) -> Step:
    """A step of a tracked endpoint, run as its own process (delays stay inline).

    A crash interrupts the request where it waits for this process, never inside the
    instance's cores or a downstream queue; the abandoned step goes on to its end and
    releases what it holds there (docs/architecture.md, "One call path").
    """
    if op == DELAY:
        return op, arg
    ctx = server.ctx
    one: list[Step] = [(op, arg)]  # one list, so the slow-step cache keys it stably

    def detached(request: Request, instance: AppInstance) -> Process:
        code = yield ctx.spawn(outcome_of(instance.steps(request, one)))
        if code:
            raise RequestFailed(code)

    return RUN, detached


def _scaled(sampler: Callable[[], float], factor: float) -> Callable[[], float]:
    return lambda: sampler() * factor


def compile_cpu(server: AppServer, step: CpuStep, purpose: str) -> Step:
    """``{cpu: dist}``: one core for a draw, scaled by the instance's ``speed``.

    Under processor sharing the draw is work done on the instance's shared cores; on a
    server with non-linear ``scaling`` the step holds a core while it works on the
    instance's cores that slow together (:mod:`simperf.components.shared_cpu`). Either
    way it is a runner: the interpreter's inline ``CPU`` code stays the plain one.
    """
    draw = server.ctx.sampler(step.cpu, server.name, purpose, 1.0 / server.spec.speed)
    if server.ctx.profiler is not None:  # run.profile: count the step's draws
        draw = server.ctx.profiler.counted(server.name, purpose, draw)
    if server.spec.cpu_discipline == "ps":

        def shared(request: Request, instance: AppInstance) -> Process:
            yield instance.shared.run(draw())  # type: ignore[union-attr]

        return RUN, shared
    scaling = server.spec.scaling
    if scaling is None or scaling.linear:
        return CPU, draw

    def shared_cpu(request: Request, instance: AppInstance) -> Process:
        cores = instance.cores
        if cores is None:  # workers <= cores: a worker always finds a core
            yield from instance.work(draw())
            return
        waited = yield from instance.take(cores)
        # the interpreter counts a runner's time as service: move the core wait to waiting
        instance.wait_sum += waited
        instance.service_sum -= waited
        try:
            yield from instance.work(draw())
        finally:
            cores.release()

    return RUN, shared_cpu


def compile_delay(server: AppServer, step: DelayStep, purpose: str) -> Step:
    """``{delay: dist}``: a wait holding the worker but no core."""
    return DELAY, server.ctx.sampler(step.delay, server.name, purpose)


def compile_call(server: AppServer, step: CallStep, purpose: str) -> Step:
    """``{call: component.endpoint}``, through the one call path."""
    component, endpoint = step.call.split(".")
    return connect(server, component, endpoint, step=step, purpose=purpose)


def compile_parallel(server: AppServer, step: ParallelStep, purpose: str) -> Step:
    """``{parallel: [...]}``: every arm compiled like a call, run as processes."""
    return PARALLEL, [
        connect(server, *call.split("."), step=step, purpose=f"{purpose}:{i}")
        for i, call in enumerate(step.parallel)
    ]


def runs(compiler: Callable[[AppServer, Any, str], StepRunner]) -> StepCompiler:
    """A compiler of a ``runner(request, instance)`` as a step compiler."""

    def compile_step(server: AppServer, step: Any, purpose: str) -> Step:
        return RUN, compiler(server, step, purpose)

    compile_step.__doc__ = compiler.__doc__
    return compile_step
