"""Scenario -> live model. The only module that knows both specs and components."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

from simperf.components.app_server import (
    AppServer,
    StepCompiler,
    compile_call,
    compile_cpu,
    compile_delay,
    compile_parallel,
    runs,
)
from simperf.components.base import Component, Context
from simperf.components.cache import Cache
from simperf.components.cache_steps import compile_read, compile_write
from simperf.components.cdn import Cdn
from simperf.components.faults import schedule_faults
from simperf.components.flat import flat_starter
from simperf.components.keyspace import KeyspaceState
from simperf.components.leaderboard import compile_leaderboard
from simperf.components.load_balancer import LoadBalancer
from simperf.components.network import Network
from simperf.components.profiling import Profiler
from simperf.components.rate_limit import compile_rate_limit
from simperf.components.resilience import AttemptDeadlines
from simperf.components.tracing import Tracer
from simperf.components.workload import Clients
from simperf.errors import BuildError
from simperf.keys import check_trace
from simperf.metrics.recorder import RequestRecorder
from simperf.model import Model
from simperf.spec.app_server import CallStep, CpuStep, DelayStep, ParallelStep
from simperf.spec.cache import ReadStep, WriteStep
from simperf.spec.cache_ops import LeaderboardStep, RateLimitStep
from simperf.spec.database import QueryStep
from simperf.spec.keyspace import TracePopularity
from simperf.spec.resilience import tracks_attempts
from simperf.spec.scenario import Scenario
from simperf.spec.topology import locate

ComponentFactory = Callable[[Context, str, Any], Component]


# The database model (and its cost model) is imported when a scenario has a database.
def _database(ctx: Context, name: str, spec: Any) -> Component:
    from simperf.components.database import Database

    return Database(ctx, name, spec)


def _sharded_database(ctx: Context, name: str, spec: Any) -> Component:
    from simperf.components.sharding import ShardedDatabase

    return ShardedDatabase(ctx, name, spec)


def _compile_query_step(server: Any, step: Any, purpose: str) -> Any:
    from simperf.components.database import compile_query_step

    return compile_query_step(server, step, purpose)


REGISTRY: dict[str, ComponentFactory] = {
    "app_server": AppServer,
    "load_balancer": LoadBalancer,
    "database": _database,
    "sharded_database": _sharded_database,
    "cache": Cache,
    "cdn": Cdn,
}
"""Component kind -> runtime class (constructed as ``cls(ctx, name, spec)``)."""

STEP_COMPILERS: dict[type, StepCompiler] = {
    CpuStep: compile_cpu,
    DelayStep: compile_delay,
    CallStep: compile_call,
    ParallelStep: compile_parallel,
    QueryStep: _compile_query_step,
    ReadStep: runs(compile_read),
    WriteStep: runs(compile_write),
    RateLimitStep: runs(compile_rate_limit),
    LeaderboardStep: runs(compile_leaderboard),
}
"""App server step spec type -> its compiler; a step type missing here is a build error."""


def build(scenario: Scenario, *, seed: int | None = None, replication: int = 0) -> Model:
    """Turn a validated scenario into a model ready to run.

    Parameters
    ----------
    scenario
        The validated scenario.
    seed
        Root seed; defaults to ``scenario.run.seed``.
    replication
        Replication index; each one gets independent random streams.
    """
    _read_traces(scenario)
    run = scenario.run
    env = simpy.Environment()
    recorder = RequestRecorder([c.name for c in scenario.workload.classes], run.keep_requests)
    ctx = Context(
        env,
        recorder,
        seed=run.seed if seed is None else seed,
        replication=replication,
        safety_cap=run.safety_cap,
    )
    ctx.step_compilers = STEP_COMPILERS
    if scenario.network is not None:
        ctx.network = _network(ctx, scenario)
    ctx.scenario = scenario
    ctx.keyspaces = {name: KeyspaceState(name, ks) for name, ks in scenario.keyspaces.items()}
    ctx.class_keyspaces = [
        ctx.keyspaces[c.keyspace] if c.keyspace is not None else None
        for c in scenario.workload.classes
    ]
    if tracks_attempts(scenario):  # before anything is built: instances and nested
        AttemptDeadlines(ctx)  # callers read it, timed calls narrow it
    components: dict[str, Component] = {}
    for name, spec in scenario.components.items():
        factory = REGISTRY.get(spec.kind)
        if factory is None:  # pragma: no cover - the spec union and registry must agree
            raise BuildError(f"components.{name}: no runtime model for kind {spec.kind!r}")
        components[name] = factory(ctx, name, spec)
    if run.profile:  # before any route is compiled: cpu steps count their draws
        ctx.profiler = Profiler(ctx)
    if run.trace is not None:  # before any route is compiled: calls capture handles
        ctx.tracer = Tracer(ctx, run.trace)
        ctx.tracer.install(components)
    for component in components.values():
        component.wire(components)
    network = ctx.network
    entries = [
        network.connect(None, components[c.entry], c.endpoint)
        if network is not None
        else (components[c.entry], components[c.entry].resolve(c.endpoint))
        for c in scenario.workload.classes
    ]
    if network is not None:  # shared links are known once every route is resolved
        components.update(network.links)
    components.update(ctx.reporters)  # rate limiters, leaderboards: known once compiled
    # Each instance belongs to one component; balancers list their backends' too.
    instances = [
        inst
        for name, component in components.items()
        for inst in getattr(component, "instances", [])
        if inst.component == name
    ]
    entry_names = [c.entry for c in scenario.workload.classes]
    if ctx.tracer is not None:
        ctx.tracer.install_servers(instances)
        entries = ctx.tracer.entries(entries, entry_names)
    clients = Clients(ctx, scenario.workload, entries, budget=run.requests, horizon=run.horizon)
    if ctx.tracer is not None:
        clients._serve = ctx.tracer.serve(clients._serve, entries, entry_names)  # type: ignore[method-assign]
    schedule_faults(ctx, components, scenario.faults, instances)
    clients.use_flat(
        lambda component, route, finish: flat_starter(ctx, components, component, route, finish)
    )
    if ctx.tracer is not None:  # traced requests take the process path, with their spans
        clients.trace_with(ctx.tracer.sampled, ctx.tracer.root)
    return Model(scenario, ctx, components, clients, instances, _horizon(scenario, clients))


def _read_traces(scenario: Scenario) -> None:
    """Read every trace key space before anything is built (components reuse the read).

    A file that cannot be used is then refused with the key space's dotted path, where a
    component reading it would only know the ``popularity`` field.
    """
    for name, keyspace in scenario.keyspaces.items():
        if isinstance(keyspace.popularity, TracePopularity):
            try:
                check_trace(keyspace)
            except BuildError as exc:
                raise BuildError(f"keyspaces.{name}.{exc}") from None


def _horizon(scenario: Scenario, clients: Clients) -> float | None:
    """Simulated end time (None: when the request budget has finished).

    A replayed trace lasts as long as its rows unless the run sets a duration or a
    request budget; rates are then measured over that span, not a default duration.
    """
    run = scenario.run
    span = clients.trace_span
    if span is None or run.duration is not None or run.requests is not None:
        return run.horizon
    if span <= 0:
        raise BuildError(
            "run.duration: the trace's rows all have the same time; give run.duration "
            "or run.requests"
        )
    if not run.auto_warmup and run.fixed_warmup >= span:
        raise BuildError(f"run.warmup: must be shorter than the trace, which lasts {span:g} s")
    clients.end_with_trace = True
    return span


def _network(ctx: Context, scenario: Scenario) -> Network:
    spec = scenario.network
    assert spec is not None
    clients = scenario.workload.clients
    mix = clients.regions if clients is not None and clients.regions is not None else None
    client_regions = [spec.regions.index(r) for r in mix] if mix else [0]
    network = Network(ctx, spec, scenario.workload.classes, client_regions)
    network.region_of = locate(scenario)
    network.faulty = {
        frozenset(spec.regions.index(r) for r in fault.between)
        for fault in scenario.faults
        if fault.between is not None
    }
    return network
