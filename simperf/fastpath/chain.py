"""Which specs the fast path computes exactly, and the route it computes for them.

The fast path is exact for an open workload of one request class whose route visits
single-instance app servers, each at most once, through ``cpu``, ``delay`` and bare
``call`` steps: every ``cpu`` step is then a FIFO multi-server station fed in the order
the previous step finishes, and every ``delay`` an infinite-server one. Anything whose
timing depends on shared state or on the order requests complete elsewhere (caches,
databases, balancers, networks, faults, timeouts, closed loops, ordered queues,
processor sharing, autoscaling...) is refused, with the reason, by :func:`plan`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simperf.components.app_server import AppInstance, AppServer
from simperf.components.calls import CALL, CPU, DELAY
from simperf.spec.app_server import CallStep, CpuStep, DelayStep
from simperf.spec.distributions import Constant, Exponential, Gamma, Lognormal, Uniform
from simperf.spec.workload import DeterministicArrival, TraceArrival


class Refused(Exception):
    """The fast path would not be exact for this run; the message says why."""


@dataclass
class Stage:
    """One step of the route: enter or leave an instance, a ``cpu`` or a ``delay`` step.

    ``draw`` (``n -> n`` variates, from the stream the event engine draws from) is set
    for ``cpu`` and ``delay`` stages; ``whole``: one call for ``k`` batches gives the
    ``k`` calls' variates (see :data:`WHOLE`).
    """

    op: str
    instance: int = -1
    draw: Any = None
    whole: bool = False


WHOLE = (Constant, Exponential, Gamma, Lognormal, Uniform)
"""Distributions whose ``sample_batch`` draws each variate from the generator alone, in
turn: one call for ``n`` values gives the values of calls for any split of ``n``. Not
:class:`~simperf.spec.distributions.Empirical` (numpy's bounded integers keep a half-used
word within a call), nor scipy's (unknown)."""


@dataclass
class Station:
    """What the fast path measures at one instance (an app server's only instance)."""

    runtime: AppInstance
    servers: int
    """Requests served at once: cores, or the workers when there are no more of them
    than cores (a worker then holds the request's core and queues it)."""
    workers_queue: bool
    """True when requests queue for a worker (``workers <= cores``), False for a core."""
    limit: int
    """Most requests that may wait for a worker (queue_limit or the safety cap)."""
    workers: int
    arrays: dict[str, Any] = field(default_factory=dict)


@dataclass
class Chain:
    """The route every request follows, and the stations on it."""

    stages: list[Stage]
    stations: list[Station]


def plan(model: Any) -> Chain:
    """The fast path's route through a built (not yet run) model.

    Raises
    ------
    Refused
        With the first reason the fast path would not be exact.
    """
    scenario = model.scenario
    if scenario.faults:
        raise Refused("faults: a fault timeline")
    if scenario.network is not None:
        raise Refused("network: hops and links")
    for name, spec in scenario.components.items():
        if spec.kind != "app_server":
            raise Refused(f"components.{name}: a {spec.kind} (state shared between requests)")
    for name, spec in scenario.components.items():
        problem = _component_problem(spec)
        if problem:
            raise Refused(f"components.{name}: {problem}")
    workload = scenario.workload
    if workload.arrival is None:
        raise Refused("workload: a closed loop (users wait for their responses)")
    if isinstance(workload.arrival, TraceArrival):
        raise Refused("workload.arrival: a replayed trace")
    if isinstance(workload.arrival, DeterministicArrival):
        # arrivals then fall on snapshot times and on completions, where the order of
        # simultaneous events in the event engine decides what is counted where
        raise Refused("workload.arrival: deterministic arrivals (simultaneous events)")
    if len(workload.classes) != 1:
        raise Refused("workload.classes: several classes share stations in arrival order")
    klass = workload.classes[0]
    if klass.timeout is not None:
        raise Refused("workload.classes.0.timeout: clients that give up")
    if scenario.run.profile:
        raise Refused("run.profile: CPU counted per step (the event engine counts it)")
    if scenario.run.trace is not None:
        raise Refused("run.trace: spans recorded per request (the event engine records them)")
    builder = _Builder(model)
    builder.visit(klass.entry, klass.endpoint, f"components.{klass.entry}.endpoints")
    return Chain(builder.stages, builder.stations)


def _component_problem(spec: Any) -> str | None:
    """Why one app server spec is not a FIFO station the fast path computes exactly."""
    checks = [
        # autoscaling first: an autoscaled server's replicas are only its starting fleet
        (spec.autoscaling is not None, "autoscaling"),
        (spec.replicas != 1, "replicas > 1 (instances share one stream of CPU draws)"),
        (spec.queue is not None, "an ordered queue"),
        (spec.concurrency_limit is not None, "a concurrency limit"),
        (spec.memory is not None, "memory"),
        (spec.wake_up is not None, "a wake-up cost"),
        (spec.sessions is not None, "sessions"),
        (bool(spec.pools), "connection pools"),
        (spec.cpu_discipline != "fifo", "processor sharing"),
        (spec.scaling is not None and not spec.scaling.linear, "non-linear scaling"),
        (bool(spec.breakers), "circuit breakers"),
    ]
    return next((reason for failed, reason in checks if failed), None)


class _Builder:
    """Walks the route from the entry, checking each compiled step is a plain one."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.ctx = model.ctx
        self.stages: list[Stage] = []
        self.stations: list[Station] = []
        self.seen: set[str] = set()

    def visit(self, component: str, endpoint: str, path: str) -> None:
        server = self.model.components[component]
        assert isinstance(server, AppServer)
        if component in self.seen:
            raise Refused(f"{path}.{endpoint}: visits {component} twice (not feed-forward)")
        self.seen.add(component)
        spec = server.spec
        where = f"components.{component}.endpoints.{endpoint}"
        steps = spec.endpoints[endpoint]
        compiled = server.resolve(endpoint)
        instance = server.instances[0]
        workers_queue = instance.cores is None
        if workers_queue and (len(steps) != 1 or not isinstance(steps[0], CpuStep)):
            raise Refused(
                f"{where}: with workers <= cores a worker holds its core through every "
                "step; only a single cpu step is a FIFO station then"
            )
        index = len(self.stations)
        self.stations.append(
            Station(
                instance,
                spec.worker_count if workers_queue else spec.cores,
                workers_queue,
                instance.limit,
                spec.worker_count,
            )
        )
        self.stages.append(Stage("enter", index))
        cpu_steps = 0
        for i, (step, (op, _)) in enumerate(zip(steps, compiled, strict=True)):
            purpose = f"{endpoint}:{i}"
            if isinstance(step, CpuStep) and op == CPU:
                cpu_steps += 1
                if cpu_steps > 1:
                    raise Refused(f"{where}.{i}: a second cpu step on the same cores")
                draw = self.ctx.batch_draw(step.cpu, component, purpose, 1.0 / spec.speed)
                self.stages.append(Stage("cpu", index, draw, isinstance(step.cpu, WHOLE)))
            elif isinstance(step, DelayStep) and op == DELAY:
                draw = self.ctx.batch_draw(step.delay, component, purpose)
                self.stages.append(Stage("delay", index, draw, isinstance(step.delay, WHOLE)))
            elif isinstance(step, CallStep) and op == CALL:
                target, target_endpoint = step.call.split(".")
                self.visit(target, target_endpoint, where)
            elif isinstance(step, CallStep):
                raise Refused(f"{where}.{i}: a call with timeout, retry, hedge or fallback")
            else:
                raise Refused(f"{where}.{i}: a {type(step).__name__} (not a FIFO station)")
        self.stages.append(Stage("exit", index))
