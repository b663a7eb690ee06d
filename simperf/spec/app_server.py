"""App-server spec: replicated instances with cores, workers, a queue limit and endpoints."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from simperf.spec.admission import ConcurrencyLimitSpec, QueueSpec
from simperf.spec.autoscaling import AutoscalingSpec
from simperf.spec.base import (
    IDENTIFIER,
    MAX_COUNT,
    MAX_SIZE,
    MAX_TIME,
    Size,
    SpecModel,
    Time,
    tagged_union,
)
from simperf.spec.cache import cache_reference_problems
from simperf.spec.cost import CostSpec
from simperf.spec.database import PoolSpec, QueryStep
from simperf.spec.distributions import Distribution
from simperf.spec.instances import TypeName, type_problems
from simperf.spec.kind import ComponentKind, Forward
from simperf.spec.resilience import BreakerSpec, call_problems
from simperf.spec.scaling import ScalingSpec
from simperf.spec.sessions import SessionsSpec

# The steps lived here: the runtime still imports them from this module.
from simperf.spec.steps import CallStep as CallStep
from simperf.spec.steps import CpuStep as CpuStep
from simperf.spec.steps import DelayStep as DelayStep
from simperf.spec.steps import ParallelStep as ParallelStep
from simperf.spec.steps import Step


class MemorySpec(SpecModel):
    """Memory of one instance: a baseline plus a footprint per request in progress.

    A request holds ``per_request`` from the moment the instance accepts it (queued for a
    worker or served) until it leaves. One that would take the total past ``capacity``
    fails as ``out_of_memory`` (``on_full: reject``) or waits in FIFO order for memory
    to be freed (``on_full: wait``), which counts as queueing.
    """

    capacity: Size = Field(gt=0, le=MAX_SIZE, description="memory of one instance, e.g. 8GiB")
    baseline: Size = Field(
        0.0, ge=0, le=MAX_SIZE, description="memory in use with no request (runtime, caches)"
    )
    per_request: Size = Field(
        gt=0, le=MAX_SIZE, description="memory each request in progress holds, e.g. 50MiB"
    )
    on_full: Literal["reject", "wait"] = Field(
        "reject", description="what a request does when its footprint does not fit"
    )

    @model_validator(mode="after")
    def _room_for_one(self) -> MemorySpec:
        if self.baseline + self.per_request > self.capacity:
            raise ValueError("per_request: baseline + per_request exceeds capacity")
        return self

    @property
    def max_requests(self) -> int:
        """Requests whose footprints fit beside the baseline."""
        # The small allowance keeps decimal sizes such as 0.1MB from losing a request
        # to rounding.
        return int((self.capacity - self.baseline) / self.per_request * (1 + 1e-12))


def _pool_tag(value: Any) -> str:
    return "pool_list" if isinstance(value, list) else "single_pool"


Pools = tagged_union({"single_pool": PoolSpec, "pool_list": list[PoolSpec]}, _pool_tag)
POOL_TAGS = frozenset({"single_pool", "pool_list"})


class WakeUpSpec(SpecModel):
    """The cost of waking an idle instance: a request that arrives when the instance has
    had no request in service or waiting for at least ``after`` holds its worker for a
    draw of ``time`` before its first step (once per busy period at most). A worker
    that sleeps while idle (a CPU's idle states, a process blocked in ``select``) pays it;
    one that goes from request to request does not (docs/calibration.md)."""

    time: Distribution = Field(description="extra time held by the request that wakes it")
    after: Time = Field(
        0.0, ge=0, le=MAX_TIME, description="idle this long before a wake-up costs (default: 0)"
    )


class AppServerSpec(ComponentKind):
    """An application tier: ``replicas`` identical instances, each an M/G/c-like server.

    Each instance admits at most ``workers`` requests at a time; others wait in a FIFO
    queue of at most ``queue_limit`` (beyond which they are rejected). A ``cpu`` step
    holds one of the instance's ``cores``. With ``workers == cores`` an instance is an
    M/G/c/K queue with K = cores + queue_limit. ``queue``, ``concurrency_limit`` and
    ``cpu_discipline`` change that order, shed, and share the cores (docs/overload.md).
    """

    kind: Literal["app_server"] = Field("app_server", description="component kind")
    replicas: int = Field(1, ge=1, le=MAX_COUNT, description="number of identical instances")
    cores: int = Field(1, ge=1, le=1024, description="CPU cores per instance")
    instance_type: TypeName | None = Field(
        None,
        description="instance type of the catalogue (m.4xlarge): sets cores, "
        "memory.capacity and the price",
    )
    speed: float = Field(
        1.0, gt=0, le=1000, description="CPU speed factor: cpu step times are divided by it"
    )
    scaling: ScalingSpec | None = Field(
        None,
        description="USL {alpha, beta}: CPU work slows as more requests are in service "
        "(default: linear scaling)",
    )
    workers: int | None = Field(
        None,
        ge=1,
        le=MAX_COUNT,
        description="requests admitted concurrently per instance (default: cores)",
    )
    queue_limit: int | None = Field(
        None,
        ge=0,
        le=10_000_000,
        description="requests that may wait for a worker per instance (default: unlimited)",
    )
    endpoints: dict[
        Annotated[str, Field(pattern=IDENTIFIER)],
        Annotated[list[Step], Field(min_length=1, max_length=1000)],
    ] = Field(min_length=1, description="endpoint name -> list of steps")
    cost: CostSpec | None = Field(
        None, description="price per instance and per core per hour (cost.total_per_hour)"
    )
    region: str | None = Field(
        None,
        pattern=IDENTIFIER,
        description="region the instances run in (default: the network's first region)",
    )
    memory: MemorySpec | None = Field(
        None, description="memory per instance (default: not modelled)"
    )
    pool: Pools | None = Field(
        None,
        description="connection pool(s) per instance: {database, size, max_wait}, or a list",
    )
    sessions: SessionsSpec | None = Field(
        None, description="session state per client address: local or in a cache"
    )
    autoscaling: AutoscalingSpec | None = Field(
        None,
        description="instances added and removed with the load: {min, max, metric, target "
        "or steps, evaluation_period, metric_lag, warmup, cooldown}",
    )
    queue: QueueSpec | None = Field(
        None,
        description="order of the wait for a worker and shedding: {discipline, shed_after, ...}",
    )
    concurrency_limit: ConcurrencyLimitSpec | None = Field(
        None, description="adaptive limit on requests admitted at once (AIMD on latency)"
    )
    wake_up: WakeUpSpec | None = Field(
        None,
        description="{time, after}: extra time a request holds its worker, before its "
        "first step, when it arrives at an instance idle for at least `after` (default: none)",
    )
    cpu_discipline: Literal["fifo", "ps"] = Field(
        "fifo",
        description=(
            "cpu steps: fifo (one core each, queueing for a core) or ps (processor "
            "sharing: n steps on c cores each run at min(1, c/n) of a core)"
        ),
    )
    breakers: dict[Annotated[str, Field(pattern=IDENTIFIER)], BreakerSpec] = Field(
        {}, description="target component -> circuit breaker on the calls to it"
    )

    @property
    def pools(self) -> list[PoolSpec]:
        """The connection pools of each instance (one per database at most)."""
        if self.pool is None:
            return []
        return list(self.pool) if isinstance(self.pool, list) else [self.pool]

    @property
    def worker_count(self) -> int:
        """Workers per instance, defaulting to the number of cores."""
        return self.workers if self.workers is not None else self.cores

    fault_kinds: ClassVar[frozenset[str]] = frozenset({"crash", "slow", "errors"})
    connect_timeouts: ClassVar[bool] = True

    @property
    def priced_groups(self) -> list[tuple[int, int, str | None]]:
        """Its replicas."""
        return [(self.replicas, self.cores, self.instance_type)]

    @property
    def instance_count(self) -> int:
        """Its replicas."""
        return self.replicas

    @property
    def initial_replicas(self) -> int:
        """Instances provisioned at the start: ``replicas``, raised to ``autoscaling.min``
        or lowered to ``autoscaling.max`` when autoscaling."""
        scaling = self.autoscaling
        if scaling is None:
            return self.replicas
        return min(max(self.replicas, scaling.min), scaling.max)

    @property
    def most_replicas(self) -> int:
        """Instances it can ever have: ``autoscaling.max``, else ``replicas``."""
        return self.replicas if self.autoscaling is None else self.autoscaling.max

    @property
    def fault_instances(self) -> int:
        """Slots a fault can name: every one it can ever have, ``autoscaling.max`` when
        autoscaled (a slot only autoscaling fills included; a crash of a slot empty at
        that moment hits nothing), else its replicas."""
        return self.most_replicas

    def endpoint_names(self, scenario: Any, seen: frozenset[str] = frozenset()) -> set[str]:
        """Its endpoints."""
        return set(self.endpoints)

    def forwards(self, scenario: Any, endpoint: str) -> list[Forward]:
        """What the endpoint's steps reach, in order."""
        return [
            f._replace(path=f"endpoints.{endpoint}")
            for step in self.endpoints.get(endpoint, [])
            for f in step.forwards()
        ]

    def endpoint_steps(self) -> dict[str, list[Any]]:
        """Its endpoints' steps."""
        return dict(self.endpoints)

    def problems(self, scenario: Any, name: str) -> list[str]:
        """Its problems, each as ``components.<name>...: message``.

        Checked: an ``instance_type`` is in the catalogue and agrees with ``cores`` and
        ``memory``; pools and query steps name databases (one pool each) and their queries;
        each step's own problems (:meth:`StepKind.problems`); sessions have client
        addresses to key on and a store cache that exists; ``reauth`` and ``endpoints``
        are its endpoints, ``reauth`` not among them.
        """
        problems = self._database_problems(scenario, name) + self._admission_problems(name)
        problems += self._scaling_problems(scenario, name)
        problems += call_problems(scenario, name, self)
        if self.instance_type is not None:
            memory = None if self.memory is None else self.memory.capacity
            problems += type_problems(
                scenario, self.instance_type, f"components.{name}", self.cores, memory
            )
        for endpoint, steps in self.endpoints.items():
            for index, step in enumerate(steps):
                problems += step.problems(
                    scenario, f"components.{name}.endpoints.{endpoint}[{index}]"
                )
        sessions = self.sessions
        if sessions is None:
            return problems
        path = f"components.{name}.sessions"
        clients = scenario.workload.clients
        if clients is None or clients.addresses is None:
            problems.append(
                f"{path}: sessions are per client address: needs workload.clients.addresses"
            )
        if not isinstance(sessions.store, str):
            problems += cache_reference_problems(
                scenario, sessions.store.cache, f"{path}.store.cache"
            )
        have = ", ".join(sorted(self.endpoints))
        if sessions.reauth is not None and sessions.reauth not in self.endpoints:
            problems.append(
                f"{path}.reauth: {name!r} has no endpoint {sessions.reauth!r} (it has: {have})"
            )
        for i, endpoint in enumerate(sessions.endpoints or []):
            if endpoint not in self.endpoints:
                problems.append(
                    f"{path}.endpoints[{i}]: {name!r} has no endpoint {endpoint!r} (it has: {have})"
                )
            elif endpoint == sessions.reauth:
                problems.append(
                    f"{path}.endpoints[{i}]: the reauth endpoint cannot use sessions itself"
                )
        return problems

    def _scaling_problems(self, scenario: Any, name: str) -> list[str]:
        if self.autoscaling is None:
            return []
        return [
            f"components.{name}.autoscaling: balancer {other!r} health-checks it; autoscaling "
            "behind health checks is not modelled yet (remove one of them)"
            for other, spec in scenario.components.items()
            if spec.kind == "load_balancer" and name in spec.backends and spec.health_check
        ]

    def _admission_problems(self, name: str) -> list[str]:
        path = f"components.{name}"
        workers = self.worker_count
        problems = []
        if self.cpu_discipline == "ps" and workers <= self.cores:
            problems.append(
                f"{path}.cpu_discipline: ps shares {self.cores} core(s) among the requests "
                f"in cpu steps, at most workers = {workers} of them: needs workers > cores"
            )
        limit = self.concurrency_limit
        if limit is not None:
            highest = limit.max if limit.max is not None else workers
            if highest > workers:
                problems.append(
                    f"{path}.concurrency_limit.max: {highest} exceeds workers ({workers})"
                )
            if limit.start(highest) > highest or limit.min > highest:
                which = "min" if limit.min > highest else "initial"
                problems.append(
                    f"{path}.concurrency_limit.{which}: exceeds the highest limit ({highest})"
                )
        return problems

    def _database_problems(self, scenario: Any, name: str) -> list[str]:
        path = f"components.{name}"
        problems = []
        components = scenario.components
        databases = sorted(n for n, s in components.items() if s.is_database)
        known = ", ".join(databases) or "none"
        single = not isinstance(self.pool, list)
        seen: set[str] = set()
        for i, pool in enumerate(self.pools):
            ppath = f"{path}.pool" if single else f"{path}.pool[{i}]"
            if pool.database not in components:
                problems.append(
                    f"{ppath}.database: unknown database {pool.database!r} (known: {known})"
                )
            elif not components[pool.database].is_database:
                problems.append(f"{ppath}.database: {pool.database!r} is not a database")
            elif pool.database in seen:
                problems.append(f"{ppath}.database: a second pool for {pool.database!r}")
            seen.add(pool.database)
        for endpoint, steps in self.endpoints.items():
            for k, step in enumerate(steps):
                if not isinstance(step, QueryStep):
                    continue
                spath = f"{path}.endpoints.{endpoint}[{k}]"
                target = components.get(step.database)
                if target is None:
                    problems.append(
                        f"{spath}.database: unknown database {step.database!r} (known: {known})"
                    )
                elif not target.is_database:
                    problems.append(f"{spath}.database: {step.database!r} is not a database")
                elif step.query not in target.queries:
                    have = ", ".join(sorted(target.queries))
                    problems.append(
                        f"{spath}.query: {step.database!r} has no query {step.query!r} "
                        f"(it has: {have})"
                    )
        return problems

    def location(self, regions: list[str]) -> int | None:
        """Its ``region``, else the first."""
        return regions.index(self.region) if self.region is not None else 0

    def targets(self) -> list[tuple[str, str, str]]:
        """Every (endpoint, component, endpoint) this server calls, for cross-checks."""
        return [
            (name, f.component, f.endpoint)
            for name in self.endpoints
            for f in self.forwards(None, name)
            if f.via in self.checked_calls
        ]
