"""The one way an app server calls another component, chosen once at build time.

Every step that reaches a target (``call``, each arm of ``parallel``, ``query``, a cache's
backing read or write, a session's re-authentication) compiles through :func:`connect`,
which picks, once:

* a **plain hop**: ``yield from target.handle(request, route)``, no extra process;
* a **network hop**: the same call behind a :class:`~simperf.components.network.Hop`
  when the caller and the target are in regions the call pays to cross;
* a **pooled call**: the calling instance's connection pool for the target is taken
  around the hop (a database the server has ``pool`` for), and the rows returned cost
  the caller's CPU (``client_cpu_per_row``).

A compiled call is an :class:`~simperf.components.app_server.AppInstance` step: an
``(opcode, argument)`` pair the instance's one step interpreter runs. Timeouts, retries
and breakers wrap this one path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simperf.components.base import Process, Request, RequestFailed, outcome_of
from simperf.components.resilience import checked_send, failed_before_sent, guard, needs_guard
from simperf.spec.kind import CALL as CALL_VIA
from simperf.spec.kind import PARALLEL as PARALLEL_VIA
from simperf.spec.kind import QUERY as QUERY_VIA

if TYPE_CHECKING:  # pragma: no cover
    from simperf.components.app_server import AppInstance, AppServer

CPU, DELAY, CALL, PARALLEL, RUN = range(5)
"""Opcodes of a compiled endpoint step, an ``(opcode, argument)`` pair: ``CPU`` and
``DELAY`` hold a sampler, ``CALL`` a bare hop ``(handle, route)`` the interpreter inlines,
``PARALLEL`` a list of compiled calls, ``RUN`` a ``runner(request, instance)`` generator
function (pooled calls, and the steps of other component families)."""

Handle = Callable[[Request, Any], Process]
Runner = Callable[[Request, "AppInstance"], Process]


def connect(
    server: AppServer,
    component: str,
    endpoint: str,
    *,
    route: Any = None,
    repeat: int = 1,
    background: bool = False,
    step: Any = None,
    purpose: str = "",
) -> tuple[int, Any]:
    """Compile a call from ``server`` to ``component.endpoint``.

    Parameters
    ----------
    server
        The calling app server (its instances hold the pools).
    component, endpoint
        The target and the endpoint called on it.
    route
        The target's route when the caller chose it (a query variant); else resolved
        from ``endpoint``.
    repeat
        Calls made one after another (a ``query`` step's ``repeat``).
    background
        Work done on no app instance (write-back's flusher): a hop, without a pool or
        the caller's CPU.
    step, purpose
        The step spec whose ``timeout``, ``retry``, ``hedge`` and ``fallback`` apply, and
        the name of its random streams; with these or a breaker on the target the call
        is wrapped by :func:`simperf.components.resilience.guard` (a ``RUN`` step).

    Returns
    -------
    tuple
        ``(CALL, (handle, route))`` for a bare hop, else ``(RUN, runner)``.
    """
    target = server.component(component)
    network = server.ctx.network
    source = None if network is None else network.region_of[server.name]
    pooled = not background and target.name in server.pooled
    handle: Handle = target.handle_pooled if pooled else target.handle
    if network is not None and network.region_of[target.name] is None:
        # A target without a region (a balancer) is resolved from the caller's, so
        # that its requests go straight from the caller to the instance it picks.
        route = target.resolve_from(endpoint, source)
    else:
        if route is None:
            route = target.resolve(endpoint)
        if network is not None:
            handle = network.handler(source, network.region_of[target.name], handle)
    client_cpu = 0.0 if background else target.client_cpu(route)
    guarded = not background and needs_guard(step, server.spec.breakers, target.name)
    later = 0  # the endpoint's later queries through the same pool, unsent if it fails
    if pooled and not any(getattr(step, o, None) for o in ("retry", "hedge", "fallback")):
        later = later_queries(server, purpose, target.name)
    lost = None  # how a bare pooled call counts a try that failed for its connection
    expire = None  # its deadline's check, made before it waits for the connection
    if not guarded and not background:  # a guarded call checks before each try itself
        handle = checked_send(server, handle, target.name)
        if pooled:
            lost = failed_before_sent(server, target.name)
            expire = getattr(handle, "expire", None)
    if not guarded and not pooled and client_cpu == 0 and repeat == 1:
        return CALL, (handle, route)
    pools = None
    if pooled:
        pools = [instance.pools[target.name] for instance in server.instances]
        if server.ctx.tracer is not None:  # run.trace: waits for a connection as spans
            pools = server.ctx.tracer.pools(pools, target.name)
    call = _runner(handle, route, pools, client_cpu, repeat, lost, expire, later)
    return RUN, guard(server, target.name, call, step, purpose) if guarded else call


def runner(server: AppServer, component: str, endpoint: str, **options: Any) -> Runner:
    """:func:`connect`, as a ``runner(request, instance)`` generator function."""
    op, arg = connect(server, component, endpoint, **options)
    if op == RUN:
        return arg  # type: ignore[no-any-return]
    handle, route = arg

    def call(request: Request, instance: AppInstance) -> Process:
        return handle(request, route)

    call.flat_hop = (handle, route)  # type: ignore[attr-defined] # for flat runners (flat.py)
    return call


def _runner(
    handle: Handle,
    route: Any,
    pools: list[Any] | None,
    client_cpu: float,
    repeat: int,
    lost: Callable[[int], None] | None = None,
    expire: Callable[[Request], None] | None = None,
    later: int = 0,
) -> Runner:
    if pools is None:
        if client_cpu == 0 and repeat == 1:
            return lambda request, instance: handle(request, route)

        def unpooled(request: Request, instance: AppInstance) -> Process:
            for _ in range(repeat):
                yield from handle(request, route)
                if client_cpu > 0:
                    yield from instance.cpu(client_cpu)

        return unpooled

    def pooled(request: Request, instance: AppInstance) -> Process:
        pool = pools[instance.index]
        for i in range(repeat):
            if expire is not None:  # past its deadline: offered to no pool, as guarded
                expire(request)
            try:
                # None: a free connection, taken without a generator
                waiting = pool.acquire(request)
                if waiting is not None:
                    yield from waiting
            except RequestFailed as failed:
                # the step's queries after it, and the endpoint's later steps'
                pool.left_unsent(failed.code, repeat - 1 - i + later)
                if lost is not None:  # on a counted route: a try that failed before its handle
                    lost(failed.code)
                raise
            try:
                yield from handle(request, route)
            finally:
                pool.release()
            if client_cpu > 0:
                yield from instance.cpu(client_cpu)

    # what a flat runner needs to run this call without a process (components/flat_db.py)
    pooled.flat_call = (handle, route, pools, client_cpu, repeat, later)  # type: ignore[attr-defined]
    return pooled


def later_queries(server: AppServer, purpose: str, target: str) -> int:
    """The queries to ``target`` that the steps after the one compiled as ``purpose``
    (``endpoint:index``, or within it ``endpoint:index:...``: a parallel arm, a cache's
    backing read) make in its endpoint, one after another.

    A query failing as it waits for its pool's connection (timed out, or dropped past
    its deadline) fails its request, which sends none of them: the pool was offered them
    as it was the step's own queries left unsent (``pool_unsent``). A query, a call and
    each parallel arm to ``target`` count (a query's ``repeat`` times), not a cache's
    backing read, which a hit never makes.
    """
    endpoint, _, rest = purpose.partition(":")
    index = rest.partition(":")[0]
    steps = server.spec.endpoints.get(endpoint)
    if steps is None or not index.isdigit():
        return 0
    return sum(
        int(forward.weight)
        for later in steps[int(index) + 1 :]
        for forward in later.forwards()
        if forward.component == target and forward.via in (CALL_VIA, PARALLEL_VIA, QUERY_VIA)
    )


def parallel_arm(op: int, arg: Any, request: Request, instance: AppInstance) -> Process:
    """One arm of a ``parallel`` step, as a process: 0 or the failure code, never raises."""
    if op == CALL:
        return outcome_of(arg[0](request, arg[1]))
    return outcome_of(arg(request, instance))
