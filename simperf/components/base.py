"""What every runtime component shares: the request, failures, and the run context."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar

import numpy as np
import simpy

from simperf.metrics.recorder import RequestRecorder
from simperf.rng import batched, constant, stream
from simperf.spec.distributions import Constant

Process = Generator[simpy.Event, Any, Any]
R = TypeVar("R", bound="Component")


class Request:
    """One request travelling through the topology (a slotted record, no behaviour).

    ``key`` is the item it reads or writes (from the class's key space), ``client`` the
    client address and ``region`` the client's region, where the workload defines them;
    ``stale`` is set when any read along its way was served from an out-of-date copy,
    ``degraded`` when a call on its way failed and a fallback stood in for it.
    ``deadline`` (absolute) is set only for classes with a ``timeout``.
    """

    __slots__ = ("client", "deadline", "degraded", "id", "key", "klass", "region", "stale", "start")

    def __init__(self, id: int, klass: int, start: float) -> None:
        self.id = id
        self.klass = klass
        self.start = start
        self.key: int | None = None
        self.client: int | None = None
        self.region: int | None = None
        self.stale = False
        self.degraded = False


class RequestFailed(Exception):
    """Raised inside a request's process when it ends in an error cause.

    It propagates up the ``yield from`` chain of calls, releasing every resource held on
    the way (``finally`` blocks), to the workload, which records the outcome code.
    """

    __slots__ = ("code",)

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def outcome_of(process: Process) -> Process:
    """Run ``process`` to its end: 0, or the failure code it raised (never raises).

    What runs as its own SimPy process (a parallel arm, a timed attempt, a request the
    client may give up on) goes through this, so that a failure nobody waits for any more
    does not escape into the run.
    """
    try:
        yield from process
    except RequestFailed as failure:
        return failure.code
    return 0


class Context:
    """What components need from the run: clock, recorder, random streams, settings.

    ``scenario`` is the validated scenario being run (set by the builder), for
    components that need scenario-wide sections such as key spaces.
    """

    scenario: Any = None
    tracer: Any = None  # the run's Tracer (simperf.components.tracing) with run.trace
    # the attempts' own deadlines (simperf.components.resilience.AttemptDeadlines), with a
    # queue that drops expired requests
    deadlines: Any = None
    profiler: Any = None  # the run's Profiler (simperf.components.profiling), run.profile

    def __init__(
        self,
        env: simpy.Environment,
        recorder: RequestRecorder,
        *,
        seed: int,
        replication: int,
        safety_cap: int,
    ) -> None:
        self.env = env
        self.recorder = recorder
        self.seed = seed
        self.replication = replication
        self.safety_cap = safety_cap
        self.safety_cap_hits = 0
        # The run's :class:`~simperf.components.network.Network`, or None when everything
        # is co-located (then no call pays a hop).
        self.network: Any = None
        # Key spaces' runtime state by name, and each request class's (by class index);
        # filled by the builder before components are constructed.
        self.keyspaces: dict[str, Any] = {}
        self.class_keyspaces: list[Any] = []
        # State kept outside the scenario's components (rate limiters, leaderboards), by
        # unique key; step compilers add them and the builder reports them as components.
        self.reporters: dict[str, Component] = {}
        # The run's fault log (simperf.components.faults.FaultLog), set by the builder.
        self.faults: Any = None
        # Step spec type -> compiler of an app server's endpoint step (set by the builder).
        self.step_compilers: dict[type, Any] = {}
        # Starts a process on behalf of the running request (a parallel arm, a timed or
        # hedged attempt, the client's deadline wrapper): ``env.process``, or with
        # run.trace the tracer's, which hands a traced request's open span to the process.
        self.spawn: Callable[[Process], simpy.Process] = env.process

    def reporter(self, key: str, kind: type[R], make: Callable[[], R]) -> R:
        """The reporter under ``key`` in :attr:`reporters`, made by ``make()`` the first time.

        Steps that share state (every step of a rate limiter, a leaderboard, a route)
        find the one reporter by its key.
        """
        found = self.reporters.get(key)
        if found is None:
            found = self.reporters[key] = make()
        assert isinstance(found, kind)
        return found

    def rng(self, component: str, purpose: str) -> np.random.Generator:
        """An independent stream for one purpose of one component."""
        return stream(self.seed, self.replication, component, purpose)

    def sampler(
        self, dist: Any, component: str, purpose: str, scale: float = 1.0
    ) -> Callable[[], float]:
        """A zero-argument function drawing from ``dist`` (batched; constants draw nothing)."""
        if isinstance(dist, Constant):
            return constant(dist.value * scale)
        return batched(self.batch_draw(dist, component, purpose, scale))

    def batch_draw(
        self, dist: Any, component: str, purpose: str, scale: float = 1.0
    ) -> Callable[[int], np.ndarray]:
        """``n -> n`` variates of ``dist`` times ``scale``, from the stream :meth:`sampler`
        draws from (the fast path draws the event engine's values with it)."""
        if isinstance(dist, Constant):
            value = dist.value * scale
            return lambda n: np.full(n, value)
        rng = self.rng(component, purpose)
        if scale == 1.0:
            return lambda n: dist.sample_batch(rng, n)
        return lambda n: dist.sample_batch(rng, n) * scale


class Component:
    """Base of runtime components.

    A component answers endpoints. :meth:`resolve` turns an endpoint name into a
    *route*, whatever object the component wants to receive on the hot path, once,
    at build time; :meth:`handle` serves one request on that route as a generator,
    composed by callers with ``yield from``.
    """

    kind = "component"
    listed = True  # a row of the result's component table (False: a report section only)

    def __init__(self, ctx: Context, name: str) -> None:
        self.ctx = ctx
        self.env = ctx.env
        self.name = name

    def resolve(self, endpoint: str) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def handle(self, request: Request, route: Any) -> Process:  # pragma: no cover
        raise NotImplementedError

    def resolve_from(self, endpoint: str, source: int | None) -> Any:
        """:meth:`resolve` for a caller in region ``source`` (None: the client's).

        Only components without a region of their own (balancers, CDNs) differ.
        """
        return self.resolve(endpoint)

    def client_cpu(self, route: Any) -> float:
        """The caller's CPU per call on ``route`` (decoding what comes back)."""
        return 0.0

    def handle_pooled(self, request: Request, route: Any) -> Process:  # pragma: no cover
        """:meth:`handle` for a caller holding one of its pooled connections."""
        raise NotImplementedError(f"{self.kind} components are not called through pools")

    def wire(self, components: dict[str, Component]) -> None:
        """Connect to the components this one calls (after all are constructed)."""

    def snapshot(self, now: float) -> dict[str, Any] | None:
        """Component-level cumulative counters at ``now`` (None: nothing to report).

        Taken at the end of warm-up, at every time-series window and at the end of the
        run; :meth:`report` turns the first and last into the result's metrics.
        """
        return None

    def report(
        self, first: dict[str, Any], last: dict[str, Any], span: float
    ) -> tuple[str, dict[str, Any]] | None:
        """(section, metrics) for the result, e.g. ``("caches", {"hit_rate": ...})``."""
        return None

    # -- the fault timeline ---------------------------------------------------------------
    # A kind that lists a fault kind in its spec's ``fault_kinds`` implements the matching
    # methods; ``instance`` None means every instance. The timeline never calls them on a
    # kind that has not opted in (the spec refuses such faults), so the defaults only
    # name what is missing.

    def fail(self, instance: int | None, connect_timeout: float = 0.0) -> None:
        """``crash``: take one instance (or all) down.

        Callers of a down instance fail at once, or, where the kind models connection
        attempts (``connect_timeouts`` on its spec) and ``connect_timeout`` > 0, after
        waiting that long. Outages may nest: the instance is up again when every
        :meth:`fail` has had its :meth:`recover`.
        """
        raise NotImplementedError(f"{self.kind} components cannot crash yet")

    def recover(self, instance: int | None) -> None:
        """End an outage started by :meth:`fail`."""
        raise NotImplementedError(f"{self.kind} components cannot crash yet")

    def slow(self, instance: int | None, factor: float) -> None:
        """``slow``: service on the instance takes ``factor`` times longer (1: normal again)."""
        raise NotImplementedError(f"{self.kind} components cannot slow down yet")

    def inject_errors(self, instance: int | None, fraction: float) -> None:
        """``errors``: a ``fraction`` of requests fail fast as ``injected_error`` (0: none)."""
        raise NotImplementedError(f"{self.kind} components cannot inject errors yet")
