"""How big a run is, estimated from its spec before anything is built.

A run costs simulation events: each request takes a few per hop along its route, balancers
probe their backends, caches flush, and every time-series window snapshots every
instance. The estimate is rough (routes are counted as if every read missed its cache and
every call went to its most expensive backend) but it is of the right order, which is
what refusing a runaway run (``--duration 1e7s`` at 1e7/s) before it starts needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from simperf import arrivals
from simperf.errors import SpecError
from simperf.spec.app_server import AppServerSpec
from simperf.spec.cache import CacheSpec
from simperf.spec.cdn import CdnSpec
from simperf.spec.faults import FaultSpec
from simperf.spec.load_balancer import LoadBalancerSpec
from simperf.spec.run import AUTO_WARMUP_WINDOW_SPLIT, DEFAULT_WINDOWS, auto_warmup_grid
from simperf.spec.scenario import Scenario
from simperf.spec.steps import CallStep, CpuStep, DelayStep, ParallelStep
from simperf.spec.workload import (
    TIME_VARYING_ARRIVALS,
    DiurnalArrival,
    MmppArrival,
    PiecewiseArrival,
)

EVENTS_PER_REQUEST = 1
"""The arrival. A request on plain FIFO endpoints takes no other event than its steps'
(:mod:`simperf.components.flat`; ``models/mm1.yaml``: 2.0 events per request, its CPU step
included); one run as a process adds its start and end and a grant for every wait (4.9
events per request on ``models/mm1.yaml``), which the estimate leaves out, within its
factor of two."""
EVENTS_PER_STEP = 2
"""A step waits on a resource and a timeout: one or two events."""
EVENTS_PER_PROBE = 3
"""A health probe: its timer, its check and its answer."""
EVENTS_PER_SNAPSHOT = 12
"""Cost of one instance in one time-series window, in events of wall time (snapshot,
summary rows): measured 34 s for 8,000 instances over 61 windows (488,000) at about
175,000 events per second. ``warmup: auto`` takes up to 1,000 windows
(:func:`~simperf.spec.run.auto_warmup_grid`), each counted alike."""
MAX_INSTANCES = 20_000
"""Most instances one run may hold. Each is snapshotted every window and summarised at
the end; 8,000 single-core replicas of ``models/mm1.yaml`` take 34 s for a 60 s run, and
parts of the summary grow faster than linearly with the count, so 100,000 would take
well over ten minutes whatever the horizon."""

StepCost = Callable[[object], float]

UNKNOWN_RATE_DURATION = 1.0
"""Stand-in for the run's length when no arrival rate can be read from the spec (a trace):
short, so that windows start fine and are merged if the run goes on."""
MMPP_CYCLES = 10
"""Mean on/off cycles a request budget must span for an MMPP's mean rate to say when it
ends; over fewer, the state it starts in (drawn) decides, so windows assume the busier."""


@dataclass
class SizeEstimate:
    """Estimated events of one run and where they come from.

    Attributes
    ----------
    duration
        Expected simulated time (seconds): the horizon, or when the request budget has
        arrived (:func:`expected_duration`).
    parts
        Contributor -> estimated events (arrivals, health checks, timers, time series).
    """

    duration: float
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def events(self) -> float:
        """Total estimated events."""
        return sum(self.parts.values())

    def largest(self, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` biggest contributors, largest first."""
        ranked = sorted(self.parts.items(), key=lambda item: item[1], reverse=True)
        return [(name, events) for name, events in ranked[:n] if events > 0]


def mean_arrival_rate(scenario: Scenario) -> float | None:
    """Long-run requests per second, or None when the spec does not say (trace arrivals).

    An open workload's ``rate`` is its mean for every arrival kind. A closed workload sends
    at most ``users / (think + service)`` per second, ``service`` being the CPU and delay
    time along the routes (waits in queues only lower the rate, so this is an upper bound).
    """
    workload = scenario.workload
    if workload.arrival is not None:
        return getattr(workload.arrival, "rate", None)
    cycle = workload.think.mean + _route_mean(scenario, _service_time)
    users = workload.users or 0
    return users / cycle if cycle > 0 else None


def expected_duration(scenario: Scenario) -> float:
    """The run's simulated length: its horizon, or when its requests have arrived.

    A diurnal or periodic piecewise profile's budget ends where the integrated rate
    from ``t = 0`` reaches it (a run that starts at the peak ends early); any other
    arrival process's at its mean rate.
    """
    run = scenario.run
    if run.horizon is not None:
        return run.horizon
    requests = run.requests or 0
    profile = arrival_profile(scenario)
    if profile is not None and requests:
        return _time_to_reach(requests, *profile)
    rate = mean_arrival_rate(scenario)
    return requests / rate if rate else UNKNOWN_RATE_DURATION


def arrival_profile(scenario: Scenario) -> tuple[Callable[[float], float], float] | None:
    """A diurnal or periodic piecewise workload's expected arrivals by time ``t`` (its
    integrated rate from ``t = 0``) and its period; None for any other workload."""
    arrival = scenario.workload.arrival
    if isinstance(arrival, DiurnalArrival):
        a = arrival
        return (
            lambda t: arrivals.diurnal_cumulative(t, a.rate, a.amplitude, a.period, a.peak),
            a.period,
        )
    if isinstance(arrival, PiecewiseArrival) and arrival.period is not None:
        starts = [start for start, _ in arrival.profile]
        rates = arrivals.scaled_profile(
            starts, [rate for _, rate in arrival.profile], arrival.rate, arrival.period
        )
        period = arrival.period
        return lambda t: float(arrivals.piecewise_cumulative(t, starts, rates, period)), period
    return None


def expected_arrivals(scenario: Scenario, t: float) -> float | None:
    """Requests an open workload is expected to have sent by time ``t``: its integrated
    profile (diurnal, periodic piecewise) or its constant rate times ``t``; None for
    MMPP, trace, non-periodic piecewise and closed workloads."""
    profile = arrival_profile(scenario)
    if profile is not None:
        cumulative, period = profile
        cycles = math.floor(t / period)
        return cycles * cumulative(period) + cumulative(t - cycles * period)
    arrival = scenario.workload.arrival
    if arrival is None or arrival.kind in TIME_VARYING_ARRIVALS:
        return None
    return float(arrival.rate) * t  # type: ignore[union-attr]


def shortest_duration(scenario: Scenario) -> float:
    """The run's simulated length as time-series windows are sized for it: erring short.

    :func:`expected_duration`, except for a request budget on MMPP arrivals spanning
    fewer than :data:`MMPP_CYCLES` on/off cycles: the budget at the busier state's rate,
    since the state the run starts in is drawn. Windows too short are merged in pairs as
    the run goes on (:meth:`simperf.model.Model.window_limit`); windows too long cannot
    be split, and a run far shorter than its windows would have too few of them.
    """
    duration = expected_duration(scenario)
    arrival = scenario.workload.arrival
    requests = scenario.run.requests
    if (
        requests is None
        or scenario.run.horizon is not None
        or not isinstance(arrival, MmppArrival)
        or duration >= MMPP_CYCLES * sum(arrival.mean_sojourns)
    ):
        return duration
    shape = arrival.relative_rates
    busiest = max(shape) * arrival.rate / arrivals.mmpp2_mean_rate(shape, arrival.mean_sojourns)
    return requests / busiest


def _time_to_reach(count: float, cumulative: Callable[[float], float], period: float) -> float:
    """The first time at which a periodic ``cumulative`` count reaches ``count``.

    Whole periods first (each adds ``cumulative(period)``), then bisection within one.
    """
    per_period = cumulative(period)
    cycles = math.floor(count / per_period)
    rest = count - cycles * per_period
    if rest <= 0:
        return cycles * period
    lo, hi = 0.0, period
    for _ in range(64):  # to the float's resolution within a period
        mid = 0.5 * (lo + hi)
        if cumulative(mid) < rest:
            lo = mid
        else:
            hi = mid
    return cycles * period + hi


def estimate(scenario: Scenario) -> SizeEstimate:
    """Estimate a run's events from its spec (see the module notes).

    Parameters
    ----------
    scenario
        A validated scenario.

    Returns
    -------
    SizeEstimate
    """
    run = scenario.run
    duration = expected_duration(scenario)
    rate = mean_arrival_rate(scenario)
    requests = run.requests if run.requests is not None else (rate or 0.0) * duration
    result = SizeEstimate(duration=duration)
    result.parts["arrivals"] = requests * _route_mean(scenario, _events)
    # Retries without a budget against a dead or slow backend multiply its calls.
    result.parts["retries"] = (
        requests * _route_mean(scenario, _events, retried=True) - result.parts["arrivals"]
    )
    probes = 0.0
    flushes = 0.0
    for spec in scenario.components.values():
        if isinstance(spec, LoadBalancerSpec) and spec.health_check is not None:
            check = spec.health_check
            backends = sum(
                scenario.components[b].server_count
                for b in spec.backends
                if b in scenario.components
            )
            per_probe = EVENTS_PER_PROBE + (
                max(_endpoint(scenario, b, check.endpoint, _events) for b in spec.backends)
                if check.endpoint
                else 0
            )
            probes += backends * duration / check.interval * per_probe
        if isinstance(spec, CacheSpec) and spec.write_policy == "write_back":
            flushes += spec.nodes * duration / spec.flush_interval * EVENTS_PER_STEP
    result.parts["health checks"] = probes
    result.parts["cache flushes"] = flushes
    result.parts["faults"] = float(
        sum(EVENTS_PER_STEP * _occurrences(scenario, fault, duration) for fault in scenario.faults)
    )
    instances = sum(spec.server_count for spec in scenario.components.values())
    windows = _windows(scenario, duration, instances)
    result.parts["time series"] = windows * instances * EVENTS_PER_SNAPSHOT
    return result


def _occurrences(scenario: Scenario, fault: FaultSpec, duration: float) -> float:
    """Expected occurrences of a fault: one if scheduled; a random one repeats every
    mtbf + mttr on average, on each instance of a component when no instance is named."""
    if fault.mtbf is None:
        return 1.0
    assert fault.mttr is not None
    cycles = duration / (fault.mtbf.mean + fault.mttr.mean) + 1
    if fault.component is not None and fault.instance is None:
        spec = scenario.components.get(fault.component)
        return cycles * (spec.server_count if spec is not None else 1)
    return cycles


def check_size(scenario: Scenario) -> SizeEstimate:
    """Refuse a run whose estimate exceeds ``run.max_events``.

    Returns
    -------
    SizeEstimate
        The estimate, when the run is accepted.

    Raises
    ------
    SpecError
        ``run: the run would take about 6.0e+09 events (arrivals 6.0e+09); over
        max_events 1.0e+08 -- shorten run.duration or raise run.max_events``.
    """
    _check_instances(scenario)
    size = estimate(scenario)
    limit = scenario.run.max_events
    if size.events > limit:
        parts = ", ".join(f"{name} {events:.1e}" for name, events in size.largest())
        shorten = "run.requests" if scenario.run.requests is not None else "run.duration"
        raise SpecError(
            f"run: the run would take about {size.events:.1e} events ({parts}); over "
            f"max_events {limit:.1e} -- shorten {shorten} or raise run.max_events"
        )
    return size


def _check_instances(scenario: Scenario) -> None:
    """Refuse more than :data:`MAX_INSTANCES` instances, naming the largest component."""
    counts = {name: spec.server_count for name, spec in scenario.components.items()}
    total = sum(counts.values())
    if total <= MAX_INSTANCES:
        return
    name = max(counts, key=counts.__getitem__)
    spec = scenario.components[name]
    fields = {"app_server": "replicas", "cache": "nodes", "sharded_database": "shards"}
    where = (
        f"components.{name}.{fields[spec.kind]}" if spec.kind in fields else f"components.{name}"
    )
    raise SpecError(
        f"{where}: the run would hold {total:,} instances ({name}: {counts[name]:,}); "
        f"at most {MAX_INSTANCES:,} per run"
    )


def _windows(scenario: Scenario, duration: float, instances: int) -> float:
    """Snapshots the run takes: 60-ish windows, or as many as ``run.window`` gives; with
    ``warmup: auto``, its grid (:func:`~simperf.spec.run.auto_warmup_grid`: up to 1,000
    windows), or a tenth of ``run.window`` (as :meth:`simperf.model.Model.window` cuts
    it)."""
    run = scenario.run
    span = max(duration - run.fixed_warmup, 0.0)
    if run.auto_warmup:
        if run.window is not None and span > 0:
            return math.ceil(span * AUTO_WARMUP_WINDOW_SPLIT / run.window) + 1
        return auto_warmup_grid(instances) + 1
    if run.window is None or span <= 0:
        return DEFAULT_WINDOWS + 1
    return math.ceil(span / run.window) + 1


def _route_mean(scenario: Scenario, cost: StepCost, *, retried: bool = False) -> float:
    """A per-request quantity averaged over the request classes by weight (``retried``:
    with every call attempted as often as its retries and hedges allow)."""
    classes = scenario.workload.classes
    total = sum(c.weight for c in classes)
    weighted = sum(
        c.weight * _endpoint(scenario, c.entry, c.endpoint, cost, retried=retried) for c in classes
    )
    return weighted / total


def _attempts(step: CallStep | ParallelStep) -> float:
    """Most attempts of one call: all its retries unless a budget caps their ratio, and
    each with every copy its hedge sends within the call's timeout."""
    if isinstance(step, ParallelStep):
        return 1.0
    attempts = 1.0
    if step.retry is not None:
        budget = step.retry.budget
        attempts = (
            step.retry.attempts if budget is None else min(step.retry.attempts, 1 + budget.ratio)
        )
    return attempts * (1.0 if step.hedge is None else float(step.hedge.copies(step.timeout)))


def _events(step: object) -> float:
    """Events of one step that calls nothing (a cache or database step: its store too)."""
    if isinstance(step, CpuStep | DelayStep):
        return EVENTS_PER_STEP
    return 2 * EVENTS_PER_STEP


def _service_time(step: object) -> float:
    """Mean time one step holds a request (CPU and delays; stores counted as free)."""
    if isinstance(step, CpuStep):
        return step.cpu.mean
    if isinstance(step, DelayStep):
        return step.delay.mean
    return 0.0


def _endpoint(
    scenario: Scenario,
    name: str,
    endpoint: str,
    cost: StepCost,
    seen: frozenset[str] = frozenset(),
    *,
    retried: bool = False,
) -> float:
    """``cost`` summed over the steps a call to ``name.endpoint`` goes through.

    A balancer costs its most expensive backend, a CDN its origin (as if every request
    missed); with ``retried``, a call costs its most attempts (as if every one failed).
    ``seen`` stops recursion on a call cycle (which validation rejects anyway).
    """
    key = f"{name}.{endpoint}"
    spec = scenario.components.get(name)
    if spec is None or key in seen:
        return 0.0
    is_events = cost is _events
    base = EVENTS_PER_REQUEST if is_events and not seen else 0.0  # once, at the entry
    seen = seen | {key}
    if isinstance(spec, LoadBalancerSpec):
        return base + max(
            (_endpoint(scenario, b, endpoint, cost, seen, retried=retried) for b in spec.backends),
            default=0.0,
        )
    if isinstance(spec, CdnSpec):
        hop = EVENTS_PER_STEP if is_events else 0.0
        return base + hop + _endpoint(scenario, spec.origin, endpoint, cost, seen, retried=retried)
    if not isinstance(spec, AppServerSpec):
        return base + (2 * EVENTS_PER_STEP if is_events else 0.0)
    total = base
    for step in spec.endpoints.get(endpoint, []):
        if isinstance(step, CallStep | ParallelStep):
            attempts = _attempts(step) if retried else 1.0
            for target in step.calls():
                component, _, called = target.partition(".")
                total += attempts * (
                    (EVENTS_PER_STEP if is_events else 0.0)
                    + _endpoint(scenario, component, called, cost, seen, retried=retried)
                )
        else:
            total += cost(step)
    return total
