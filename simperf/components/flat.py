"""Flat runners: plain FIFO endpoints driven by event callbacks instead of processes.

Most requests of the common models (``models/mm1.yaml``, ``models/tandem.yaml``) only
queue for a worker, hold cores for ``cpu`` steps, wait out ``delay`` steps and call other
such endpoints. Run as a SimPy process, each of them pays two events that model nothing
(the process's start and end) and a grant event whenever it waits for a worker or a core.
A flat runner serves the same request as a :class:`Visit` per instance on its way: a
step's timeout calls the visit back directly, and a release hands the slot to the next
waiting visit and starts its step at once, so a request costs its arrival plus one event
per ``cpu`` or ``delay`` step.

The runner is chosen at build time, per request class, by :func:`flat_starter`: only when
everything on the class's route is plain (no faults, network, autoscaling, admission,
memory, sessions, a wake-up, processor sharing, guarded calls or bare ones on a guarded
call's route, client timeouts) and every
step is ``cpu``, ``delay``, a bare ``call`` to another such app server, a pooled
``query`` (:mod:`simperf.components.flat_db`) or a cache-aside ``read``
(:mod:`simperf.components.flat_cache`); anything else runs as a process, as
before. Both kinds of request can share an instance: a visit waits in the same FIFO queue
as a process's grant event and answers the same ``succeed()``.

A step's wait is a light calendar entry (:mod:`simperf.components.flat_calendar`): the
visit's continuation itself in SimPy's heap, where the ``Timeout`` would have been.

``env._now`` is read rather than the ``env.now`` property: a call saved per callback.

A visit updates the instance's counters and monitors exactly where
:meth:`~simperf.components.app_server.AppInstance.steps` does, in the same order and with
the same arithmetic, and draws each step's variate when the step starts, so results are
identical to the process-driven run's (up to the order of simultaneous events).
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import Any

from simperf.components.app_server import AppInstance, AppServer
from simperf.components.base import Component, Context, Request, RequestFailed
from simperf.components.calls import CALL, CPU, DELAY, RUN
from simperf.components.flat_cache import ReadStep, flat_read
from simperf.components.flat_calendar import NORMAL
from simperf.components.flat_db import flat_query
from simperf.components.tracing import unwrapped

_HOOKS = frozenset({"handle", "steps", "work", "cpu", "wait_core", "wait_worker", "full"})
"""Instance methods that a feature replaces at build (or fault) time: any one of them set
on the instance means it does not run the plain code a visit stands in for."""
FLAT = -1
"""Opcode of a step with a flat runner of its own (a pooled query, a cache read):
``arg(visit, now)``."""
Finish = Callable[[Request, int], None]
"""Records how a request ended: ``finish(request, outcome)`` (0: ok)."""
Starter = Callable[[Request], None]


class Visit:
    """One request's visit to one app instance on a flat endpoint.

    ``parent`` is the caller's visit, resumed when this one ends (None: the request ends
    with it, through ``finish``).
    """

    __slots__ = (
        "arrived",
        "finish",
        "for_core",
        "instance",
        "parent",
        "pc",
        "queued",
        "request",
        "steps",
        "waited",
    )

    def __init__(
        self,
        request: Request,
        instance: AppInstance,
        steps: list[Any],
        parent: Visit | None,
        finish: Finish,
    ) -> None:
        self.request = request
        self.instance = instance
        self.steps = steps
        self.parent = parent
        self.finish = finish
        self.pc = 0

    # Level monitors are updated inline (LevelMonitor.change, same arithmetic): a call per
    # change was a seventh of a flat request's cost.

    def start(self) -> None:
        """Arrive at the instance: take a worker, queue for one, or be rejected."""
        inst = self.instance
        now = inst.env._now
        self.arrived = now
        self.waited = 0.0
        workers = inst.workers
        if workers.free:
            workers.free -= 1
        else:
            if len(workers.waiting) >= inst.limit:
                try:
                    inst.full(self.request)
                except RequestFailed as failure:
                    self._return(failure.code, now)
                return
            self._queue(workers, False, now)
            return
        held = inst.held
        held.area += held.level * (now - held.last)
        held.last = now
        held.level += 1
        if held.level > held.peak:
            held.peak = held.level
        inst.active += 1
        self.run(now)

    def _queue(self, slots: Any, for_core: bool, now: float) -> None:
        queue = self.instance.queue
        queue.area += queue.level * (now - queue.last)
        queue.last = now
        queue.level += 1
        if queue.level > queue.peak:
            queue.peak = queue.level
        self.queued = now
        self.for_core = for_core
        slots.waiting.append(self)

    def succeed(self) -> None:
        """Granted the worker or core this visit queued for (by the slots' release)."""
        inst = self.instance
        if inst.ended:  # a release at teardown, after the run: nothing happens any more
            return
        now = inst.env._now
        queue = inst.queue
        queue.area += queue.level * (now - queue.last)
        queue.last = now
        queue.level -= 1
        waited = now - self.queued
        inst.waits.append(waited)  # as Server.queue_for records it
        if self.for_core:
            self.waited += waited
            self._cpu(now)
            return
        self.waited = waited
        held = inst.held
        held.area += held.level * (now - held.last)
        held.last = now
        held.level += 1
        if held.level > held.peak:
            held.peak = held.level
        inst.active += 1
        self.run(now)

    def run(self, now: float) -> None:
        """Run steps from ``pc`` until one waits (its callback resumes here) or all are done."""
        steps = self.steps
        if self.pc == len(steps):
            self._done(now)
            return
        op, arg = steps[self.pc]
        if op == CPU:
            cores = self.instance.cores
            if cores is not None:
                if cores.free:
                    cores.free -= 1
                else:
                    self._queue(cores, True, now)
                    return
            self._cpu(now)
        elif op == DELAY:
            self.pc += 1
            env = self.instance.env  # flat_calendar.later, inlined: a light entry
            heappush(env._queue, (env._now + arg(), NORMAL, next(env._eid), self._resume))
        elif op == CALL:
            self.pc += 1
            target, target_steps = arg
            Visit(self.request, target(), target_steps, self, self.finish).start()
        else:  # FLAT: a step with a flat runner of its own, which resumes this visit
            self.pc += 1
            arg(self, now)

    def _cpu(self, now: float) -> None:
        busy = self.instance.busy
        busy.area += busy.level * (now - busy.last)
        busy.last = now
        busy.level += 1
        if busy.level > busy.peak:
            busy.peak = busy.level
        env = self.instance.env  # flat_calendar.later, inlined
        delay = self.steps[self.pc][1]()
        heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), self._cpu_done))

    def _cpu_done(self) -> None:
        inst = self.instance
        now = inst.env._now
        busy = inst.busy
        busy.area += busy.level * (now - busy.last)
        busy.last = now
        busy.level -= 1
        cores = inst.cores
        if cores is not None:
            if cores.waiting:
                cores.waiting.popleft().succeed()
            else:
                cores.free += 1
        self.pc += 1
        self.run(now)

    def _resume(self) -> None:
        self.run(self.instance.env._now)

    def _done(self, now: float) -> None:
        inst = self.instance
        inst.served += 1
        inst.wait_sum += self.waited
        inst.service_sum += now - self.arrived - self.waited
        self._leave(now)
        self._return(0, now)

    def _leave(self, now: float) -> None:
        """Give the worker back (to the next waiter, if any)."""
        inst = self.instance
        held = inst.held
        held.area += held.level * (now - held.last)
        held.last = now
        held.level -= 1
        workers = inst.workers
        if workers.waiting:
            workers.waiting.popleft().succeed()
        else:
            workers.free += 1
        inst.active -= 1

    def fail(self, outcome: int, now: float) -> None:
        """A step failed (``outcome``): the request fails, giving the worker back now."""
        self._leave(now)
        self._return(outcome, now)

    def _return(self, outcome: int, now: float) -> None:
        parent = self.parent
        if parent is None:
            self.finish(self.request, outcome)
        elif outcome:  # the call failed: so does the caller, holding its worker till now
            parent._leave(now)
            parent._return(outcome, now)
        else:
            parent.run(now)


def flat_starter(
    ctx: Context,
    components: dict[str, Component],
    component: Component,
    route: Any,
    finish: Finish,
) -> Starter | None:
    """A function starting a request on ``component``'s ``route`` as a flat runner.

    None when anything on the route needs the process-driven path (see the module notes).
    """
    scenario = ctx.scenario
    if ctx.network is not None or (scenario is not None and scenario.faults):
        return None
    owners = {
        id(inst): server
        for server in components.values()
        if isinstance(server, AppServer)
        for inst in server.instances
    }
    programs: dict[tuple[int, int], list[Any]] = {}
    if not isinstance(component, AppServer) or _program(component, route, owners, programs) is None:
        return None
    steps = programs[(id(component), id(route))]
    pick = _picker(component)

    def start(request: Request) -> None:
        Visit(request, pick(), steps, None, finish).start()

    return start


def _plain(server: AppServer) -> bool:
    """Whether ``server``'s instances run the plain FIFO code with no fault or scaling hooks."""
    if type(server) is not AppServer or server.autoscaler is not None or server.tracked:
        return False
    for inst in server.instances:
        if inst.ordered or inst.memory is not None or inst.shared is not None:
            return False
        hooks = set(vars(inst)) & _HOOKS
        if hooks and _traced_only(inst):  # spans wrap the handle: traced requests only
            hooks.discard("handle")
        if hooks or not inst.up:
            return False
    return True


def _program(
    server: AppServer,
    route: Any,
    owners: dict[int, AppServer],
    programs: dict[tuple[int, int], list[Any]],
) -> list[Any] | None:
    """The flat steps of ``route`` on ``server`` (calls resolved to their targets), or None."""
    key = (id(server), id(route))
    if key in programs:
        return programs[key]
    if not _plain(server) or not isinstance(route, list):
        return None
    steps: list[Any] = []
    programs[key] = steps  # a call cycle (refused by validation) ends here
    for op, arg in route:
        if op in (CPU, DELAY):
            steps.append((op, arg))
            continue
        if op == RUN and (flat := flat_query(arg) or _cache_read(arg, owners, programs)):
            steps.append((FLAT, flat))
            continue
        if op != CALL:
            return _drop(programs, key)
        target = _server_of(arg[0], owners)
        if target is None or _program(target, arg[1], owners, programs) is None:
            return _drop(programs, key)
        steps.append((CALL, (_picker(target), programs[(id(target), id(arg[1]))])))
    return steps


def _cache_read(
    runner: Any, owners: dict[int, AppServer], programs: dict[tuple[int, int], list[Any]]
) -> ReadStep | None:
    """The flat form of a cache ``read`` step whose backing is a delay or a bare call to
    an endpoint with a flat program, or None."""
    read = flat_read(runner)
    if read is None:
        return None
    cache, backing, read_through = read
    delay = getattr(backing, "sample", None)
    if delay is not None:
        return ReadStep(cache, None, delay, read_through, Visit)
    hop = getattr(backing, "flat_hop", None)
    if hop is None or (target := _server_of(hop[0], owners)) is None:
        return None
    if _program(target, hop[1], owners, programs) is None:
        return None
    call = (_picker(target), programs[(id(target), id(hop[1]))])
    return ReadStep(cache, call, None, read_through, Visit)


def _drop(programs: dict[tuple[int, int], list[Any]], key: tuple[int, int]) -> None:
    del programs[key]
    return None


def _traced_only(inst: AppInstance) -> bool:
    """Whether ``inst``'s own handle is the plain one wrapped in spans (for traced
    requests only, which take the process path)."""
    handle = unwrapped(vars(inst).get("handle"))
    return getattr(handle, "__func__", None) is AppInstance.handle


def _server_of(handle: Any, owners: dict[int, AppServer]) -> AppServer | None:
    """The app server a bare call's ``handle`` serves on, if it is the plain one
    (untraced requests skip a span wrapper, which only records traced ones)."""
    handle = unwrapped(handle)
    owner = getattr(handle, "__self__", None)
    function = getattr(handle, "__func__", None)
    if isinstance(owner, AppServer) and function is AppServer.handle:
        return owner
    if isinstance(owner, AppInstance) and function is AppInstance.handle:
        return owners.get(id(owner))  # a single instance answers for its server
    return None


def _picker(server: AppServer) -> Callable[[], AppInstance]:
    """The next instance in turn, as :meth:`AppServer.handle` picks it (all are up)."""
    instances = server.instances
    if len(instances) == 1:
        only = instances[0]
        return lambda: only
    count = len(instances)

    def pick() -> AppInstance:
        index = server._next
        server._next = (index + 1) % count
        return instances[index]

    return pick
