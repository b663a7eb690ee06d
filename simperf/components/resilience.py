"""Calls under failure: timeouts, retries, budgets, hedging, breakers and fallbacks.

:func:`guard` wraps one compiled call (a ``runner(request, instance)``) when its step
or its route configures any of these; :func:`simperf.components.calls.connect` applies
it, so an unguarded call stays a bare hop and pays nothing (docs/architecture.md, "One call path").

* A **timed** attempt runs the callee as its own process and waits for it or for the
  time left (the smaller of the call's ``timeout`` and the request's deadline). The
  abandoned callee goes on and keeps its worker, cores and connections; its answer is
  thrown away (work under way is never cancelled; a queue with ``drop_expired`` drops
  an attempt not yet started once its caller has given up on it: see
  :class:`AttemptDeadlines`). Only the client records a request, so abandoned work can
  never complete it a second time.
* **Retries** are attempts of the same request, made on the listed causes while the
  deadline allows, after a backoff drawn from the caller's own stream, if the route's
  retry budget (a token bucket refilled by first attempts) has a token.
* A **hedged** attempt sends another copy every ``hedge.after`` while none has answered,
  up to ``hedge.max_copies`` in all and within its time limit; the first answer wins.
* The route's **breaker** fails calls fast (``breaker_open``) while open.
* A **fallback** turns a call that still failed into a skipped call or a default
  response costing the caller's CPU; the request then ends ``ok`` flagged degraded.

Every caller -> target route with a guarded call is a :class:`Route`, which counts its
calls, attempts, retries, timeouts and fail-fasts and reports the ``calls`` section.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from simperf.components.base import Component, Context, Process, Request, RequestFailed, outcome_of
from simperf.metrics.monitor import LevelMonitor
from simperf.rng import batched
from simperf.spec.resilience import BackoffSpec, BreakerSpec, BudgetSpec, deadline_reaches
from simperf.spec.topology import served_endpoints

if TYPE_CHECKING:  # pragma: no cover
    import simpy

    from simperf.components.app_server import AppInstance, AppServer

Runner = Callable[[Request, "AppInstance"], Process]
Handle = Callable[[Request, Any], Process]

CLOSED, OPEN, HALF_OPEN = range(3)
"""Breaker states (the time series' ``breaker_state`` is the share of a window not closed)."""


class RetryBudget:
    """A token bucket: each first attempt adds ``ratio`` tokens (at most ``burst``),
    each retry takes one.

    Examples
    --------
    >>> budget = RetryBudget(ratio=0.5, burst=1.0)
    >>> budget.tokens = 0.0
    >>> budget.deposit(); budget.take(), budget.take()
    (False, False)
    >>> budget.deposit(); budget.take()
    True
    """

    __slots__ = ("burst", "ratio", "tokens")

    def __init__(self, ratio: float, burst: float) -> None:
        self.ratio = ratio
        self.burst = burst
        self.tokens = burst  # a fresh bucket is full

    def deposit(self) -> None:
        """A first attempt adds ``ratio`` tokens."""
        tokens = self.tokens + self.ratio
        self.tokens = tokens if tokens < self.burst else self.burst

    def take(self) -> bool:
        """Take a token for a retry; False when there is no whole token."""
        # ten deposits of 0.1 make a token despite rounding
        if self.tokens >= 1.0 - 1e-9:
            self.tokens -= 1.0
            return True
        return False


class Breaker:
    """A circuit breaker over the outcomes of the last ``window`` attempts.

    :meth:`allow` returns the generation an attempt belongs to, or None to fail fast;
    :meth:`record` ignores outcomes of an earlier generation (attempts started before the
    state last changed), so late answers do not decide a probe.

    Examples
    --------
    >>> breaker = Breaker(BreakerSpec(window=2, min_calls=2, wait=1.0))
    >>> g = breaker.allow(0.0); breaker.record(g, 0.0, True, False)
    >>> g = breaker.allow(0.0); breaker.record(g, 0.0, True, False)
    >>> breaker.state == OPEN, breaker.allow(0.5)
    (True, None)
    >>> g = breaker.allow(1.0); breaker.state == HALF_OPEN, breaker.allow(1.0)
    (True, None)
    >>> breaker.record(g, 1.1, False, False); breaker.state == CLOSED
    True
    """

    def __init__(self, spec: BreakerSpec) -> None:
        self.window: deque[tuple[bool, bool]] = deque()
        self.size = spec.window
        self.min_calls = spec.min_calls
        self.failure_ratio = spec.failure_ratio
        self.slow_ratio = spec.slow_ratio if spec.slow_call is not None else 2.0
        self.wait = spec.wait
        self.probes = spec.probes
        self.failures = 0
        self.slow = 0
        self.state = CLOSED
        self.generation = 0
        self.until = 0.0
        self.probing = 0
        self.passed = 0
        self.opens = 0
        self.not_closed = LevelMonitor()
        # [opened, closed] of each time it was not closed (closed: inf while it is not):
        # the faults section gives a fault the calls failed fast while one it opened held
        self.spells: list[list[float]] = []

    def allow(self, now: float) -> int | None:
        """The attempt's generation, or None when the breaker fails it fast."""
        state = self.state
        if state == CLOSED:
            return self.generation
        if state == OPEN:
            if now < self.until:
                return None
            self.state = HALF_OPEN
            self.generation += 1
            self.probing = self.passed = 0
        if self.probing < self.probes:
            self.probing += 1
            return self.generation
        return None

    def unused(self, generation: int) -> None:
        """An allowed attempt was not made (the request's deadline had passed): a probe
        gives its place back, or the half-open breaker would wait for its outcome forever
        and fail every call fast."""
        if generation == self.generation and self.state == HALF_OPEN:
            self.probing -= 1

    def record(self, generation: int, now: float, failed: bool, slow: bool) -> None:
        """One attempt's outcome (a timeout is a failure)."""
        if generation != self.generation:
            return
        if self.state == HALF_OPEN:
            if failed or slow:
                self._open(now)
            else:
                self.passed += 1
                if self.passed >= self.probes:
                    self.state = CLOSED
                    self.generation += 1
                    self.window.clear()
                    self.failures = self.slow = 0
                    self.not_closed.change(-1, now)
                    self.spells[-1][1] = now
            return
        window = self.window
        window.append((failed, slow))
        self.failures += failed
        self.slow += slow
        if len(window) > self.size:
            old_failed, old_slow = window.popleft()
            self.failures -= old_failed
            self.slow -= old_slow
        n = len(window)
        if n >= self.min_calls and (
            self.failures >= self.failure_ratio * n or self.slow >= self.slow_ratio * n
        ):
            self._open(now)

    def _open(self, now: float) -> None:
        if self.state == CLOSED:
            self.not_closed.change(1, now)
            self.spells.append([now, math.inf])
        self.state = OPEN
        self.generation += 1
        self.until = now + self.wait
        self.opens += 1


COUNTERS = (
    "calls",
    "attempts",
    "retries",
    "hedges",
    "timeouts",
    "failed",
    "fail_fast",
    "expired",
    "budget_denied",
    "degraded",
)
"""A route's cumulative counters (its snapshot, besides the breaker's). Every try of a
call is an attempt, a fail-fast or expired (the request's deadline had passed, so nothing
was sent): ``attempts + fail_fast + expired == calls + retries + hedges``."""


class Carried:
    """The deadline one attempt carries, shared by every process started on its behalf.

    ``until`` is when its caller gives up on it (already the earlier of its own limit and
    the one it inherited, ``parent``); ``cancelled`` is set when its caller no longer
    waits for it before then (another copy of a hedged call answered). A cancellation
    reaches every attempt made to serve it through ``parent``, as gRPC's cancellation
    propagates with the call's context.
    """

    __slots__ = ("cancelled", "parent", "until")

    def __init__(self, until: float, parent: Carried | None) -> None:
        self.until = until
        self.parent = parent
        self.cancelled = False

    def given_up(self) -> bool:
        """Whether this attempt, or one it serves, was cancelled by its caller."""
        cell: Carried | None = self
        while cell is not None:
            if cell.cancelled:
                return True
            cell = cell.parent
        return False


class AttemptDeadlines:
    """The deadline each attempt carries, by the SimPy process running it.

    Copies of one request (retries, hedged copies, parallel arms) share the request
    object, so an attempt's own deadline cannot live on it: it lives with the process a
    timed attempt runs as (:meth:`narrow`, a :class:`Carried`), and every process started
    on its behalf through ``ctx.spawn`` (a parallel arm, a tracked or detached step, a
    shard, a nested attempt) shares it, as gRPC propagates a call's deadline and its
    cancellation to the calls made to serve it. A queue with ``drop_expired`` reads it
    (:meth:`ticket`) when a worker would pick the attempt, and a nested caller before
    each try (:meth:`of`). Installed by the builder only where a deadline is read
    (:func:`simperf.spec.resilience.tracks_attempts`), before anything is built: any
    other run pays nothing.

    Examples
    --------
    >>> import simpy
    >>> from simperf.metrics.recorder import RequestRecorder
    >>> env = simpy.Environment()
    >>> ctx = Context(env, RequestRecorder(["a"], 10), seed=1, replication=0, safety_cap=10)
    >>> deadlines = AttemptDeadlines(ctx)
    >>> request = Request(0, 0, 0.0); request.deadline = 1.0
    >>> seen = []
    >>> def callee():
    ...     seen.append(deadlines.of(request)); yield env.timeout(0.01)
    ...     seen.append(deadlines.of(request))
    >>> def attempt():
    ...     yield ctx.spawn(callee())                 # inherits the attempt's deadline
    >>> sent = ctx.spawn(attempt())
    >>> deadlines.narrow(sent, 0.05)                  # the caller waits 50 ms at most
    >>> _ = env.timeout(0.005, None).callbacks.append(lambda _: deadlines.cancel(sent))
    >>> env.run(); seen, deadlines.of(request)        # cancelled at 5 ms; outside: the client's
    ([0.05, -inf], 1.0)
    >>> deadlines.carried                             # forgotten as the processes end
    {}
    """

    __slots__ = ("_spawn", "carried", "env")

    def __init__(self, ctx: Context) -> None:
        self.env = ctx.env
        # process -> the deadline it carries, dropped as the process ends
        self.carried: dict[simpy.Process, Carried] = {}
        self._spawn = ctx.spawn
        ctx.spawn = self.spawn
        ctx.deadlines = self

    def spawn(self, generator: Process) -> simpy.Process:
        """``ctx.spawn``: the new process carries the deadline of the one starting it."""
        carried = self.carried.get(self.env.active_process)  # type: ignore[arg-type]
        process = self._spawn(generator)
        if carried is not None:
            self._carry(process, carried)
        return process

    def narrow(self, process: simpy.Process, until: float) -> None:
        """``process`` (an attempt just sent) carries ``until`` if earlier than what it
        inherited, in a :class:`Carried` of its own that its caller may cancel."""
        parent = self.carried.get(process)
        if parent is None:
            self._carry(process, Carried(until, None))
        else:
            self.carried[process] = Carried(min(until, parent.until), parent)

    def cancel(self, process: simpy.Process) -> None:
        """The caller of the attempt ``process`` no longer waits for it."""
        carried = self.carried.get(process)
        if carried is not None:
            carried.cancelled = True

    def of(self, request: Request) -> float:
        """The deadline of the attempt now running: the earlier of its own and the
        request's (``math.inf``: none; ``-math.inf``: its caller cancelled it)."""
        deadline: float = getattr(request, "deadline", math.inf)
        carried = self.carried.get(self.env.active_process)  # type: ignore[arg-type]
        if carried is None:
            return deadline
        if carried.given_up():
            return -math.inf
        return deadline if deadline < carried.until else carried.until

    def ticket(self, request: Request) -> tuple[float, Carried | None]:
        """What a queue keeps of the attempt now running, to judge it when picked: its
        deadline (the earlier of its own and the request's) and what it carries (to see
        a cancellation that comes while it waits)."""
        deadline: float = getattr(request, "deadline", math.inf)
        carried = self.carried.get(self.env.active_process)  # type: ignore[arg-type]
        if carried is not None and carried.until < deadline:
            deadline = carried.until
        return deadline, carried

    def _carry(self, process: simpy.Process, carried: Carried) -> None:
        self.carried[process] = carried
        process.callbacks.append(self._forget)  # type: ignore[union-attr]

    def _forget(self, process: Any) -> None:
        del self.carried[process]


class Route(Component):
    """The calls from one app server to one target: counters, retry budget, breaker.

    Not a row of the component table; it reports the ``calls.<caller>-><target>`` section.
    A guarded call counts every call it makes, and so does a bare one on a route that a
    guarded call shares (:func:`checked_send`), so that ``amplification`` is the tries
    sent per call made; a bare call elsewhere counts only those it did not send past
    their deadline (in ``calls``, ``expired`` and ``failed``), so a route of bare calls
    alone is reported only where some were (:attr:`shown`), without ``amplification``.
    """

    kind = "route"
    listed = False

    def __init__(
        self, ctx: Context, name: str, breaker: BreakerSpec | None, target: str = ""
    ) -> None:
        super().__init__(ctx, name)
        self.target = target  # the component called (a balancer: the one in front)
        for counter in COUNTERS:
            setattr(self, counter, 0)
        self.breaker = None if breaker is None else Breaker(breaker)
        self.budget: RetryBudget | None = None
        self.guarded = False  # set by guard(): some call on it counts all it makes

    @property
    def shown(self) -> bool:
        """Whether it is reported (in ``calls`` and the time series): a guarded call's
        route, or a bare call's that did not send some (decided once the run is over)."""
        return self.guarded or self.expired > 0

    def snapshot(self, now: float) -> dict[str, Any]:
        counters: dict[str, Any] = {c: getattr(self, c) for c in COUNTERS}
        if self.breaker is not None:
            counters["breaker_opens"] = self.breaker.opens
            counters["breaker_open_area"] = self.breaker.not_closed.area_at(now)
        return counters

    def report(
        self, first: dict[str, Any], last: dict[str, Any], span: float
    ) -> tuple[str, dict[str, Any]]:
        """The ``calls.<route>`` section over the measured period (None: not :attr:`shown`)."""
        if not self.shown:
            return None
        values: dict[str, Any] = {key: last[key] - first[key] for key in last}
        area = values.pop("breaker_open_area", None)
        if area is not None:
            # An area summed over many spans can pass the span by a rounding error.
            values["breaker_open_share"] = min(max(area / span, 0.0), 1.0) if span > 0 else None
        calls = values["calls"] if self.guarded else 0  # a bare call's attempts are not counted
        values["amplification"] = values["attempts"] / calls if calls else None
        return "calls", values


def route_of(server: AppServer, target: str) -> Route:
    """The route from ``server`` to ``target``, made once (shared by all its calls)."""
    ctx = server.ctx
    name = f"{server.name}->{target}"
    return ctx.reporter(
        f"calls.{name}", Route, lambda: Route(ctx, name, server.spec.breakers.get(target), target)
    )


def backoff_sampler(
    spec: BackoffSpec, rng_draw: Callable[[], float]
) -> Callable[[int, float], float]:
    """``wait(n, previous)``: the wait before retry ``n`` (1, 2, ...).

    Examples
    --------
    >>> wait = backoff_sampler(BackoffSpec(base=0.1, cap=0.3, jitter="none"), lambda: 0.5)
    >>> [wait(n, 0.0) for n in (1, 2, 3)]
    [0.1, 0.2, 0.3]
    >>> wait = backoff_sampler(BackoffSpec(base=0.1, cap=1.0, jitter="equal"), lambda: 0.5)
    >>> wait(2, 0.0)
    0.15000000000000002
    """
    base, cap, jitter = spec.base, spec.cap, spec.jitter

    def ceiling(n: int) -> float:
        return min(cap, base * 2 ** (n - 1))

    if jitter == "none":
        return lambda n, previous: ceiling(n)
    if jitter == "full":
        return lambda n, previous: rng_draw() * ceiling(n)
    if jitter == "equal":
        return lambda n, previous: ceiling(n) * (0.5 + 0.5 * rng_draw())

    def decorrelated(n: int, previous: float) -> float:
        low = base
        high = max(3 * (previous if previous > 0 else base), low)
        return min(cap, low + rng_draw() * (high - low))

    return decorrelated


def guard(
    server: AppServer,
    target: str,
    call: Runner,
    step: Any,
    purpose: str,
) -> Runner:
    """Wrap ``call`` (to ``target``) in the options of ``step`` and the route's breaker.

    ``step`` is the step spec whose ``timeout``, ``retry``, ``hedge`` and ``fallback``
    apply (any may be missing); ``purpose`` names the step's random streams.
    """
    ctx = server.ctx
    env = ctx.env
    route = route_of(server, target)
    route.guarded = True
    breaker = route.breaker
    timeout: float | None = getattr(step, "timeout", None)
    retry = getattr(step, "retry", None)
    hedge = getattr(step, "hedge", None)
    fallback = getattr(step, "fallback", None)
    timeout_code = ctx.recorder.cause("timeout")
    breaker_code = ctx.recorder.cause("breaker_open") if breaker is not None else -1
    attempts = 1 if retry is None else retry.attempts
    retry_on = frozenset() if retry is None else {ctx.recorder.cause(c) for c in retry.when}
    budget: RetryBudget | None = None
    wait: Callable[[int, float], float] | None = None
    if retry is not None:
        if retry.budget is not None:
            budget = route.budget or _budget(route, retry.budget)
        if retry.backoff is not None:
            rng = ctx.rng(server.name, f"{purpose}:backoff")
            wait = backoff_sampler(retry.backoff, batched(lambda n: rng.random(n)))
    after = None if hedge is None else hedge.after
    max_copies = 2 if hedge is None else hedge.max_copies
    non_fatal = (
        frozenset() if hedge is None else frozenset(ctx.recorder.cause(c) for c in hedge.non_fatal)
    )
    slow_call = None
    if breaker is not None:
        slow_call = server.spec.breakers[target].slow_call
    skip = fallback is not None and fallback.skip
    default_cpu = None
    if fallback is not None and fallback.cpu is not None:
        default_cpu = ctx.sampler(
            fallback.cpu, server.name, f"{purpose}:fallback", 1.0 / server.spec.speed
        )

    deadlines: AttemptDeadlines | None = ctx.deadlines

    def cancelled_code() -> int:
        # registered at the first cancellation: most runs cancel nothing
        return ctx.recorder.cause("cancelled")

    def hedge_copy(request: Request, instance: AppInstance, until: float | None) -> simpy.Process:
        """Send one more copy of a hedged attempt (an attempt and a hedge), carrying the
        attempt's deadline ``until``."""
        route.hedges += 1
        route.attempts += 1
        copy = ctx.spawn(outcome_of(call(request, instance)))
        if deadlines is not None:  # a copy of its own, for its caller to cancel
            deadlines.narrow(copy, math.inf if until is None else until)
        return copy

    def cancel(copies: list[simpy.Process]) -> None:
        """The call is over: its copies still out are cancelled (gRPC cancels the other
        hedged attempts once one commits; a queue with ``drop_expired`` drops those
        still waiting, a copy in service runs to its end)."""
        if deadlines is not None:
            for copy in copies:
                if not copy.triggered:
                    deadlines.cancel(copy)

    def timed(request: Request, instance: AppInstance, limit: float | None) -> Process:
        first = ctx.spawn(outcome_of(call(request, instance)))
        # every copy carries when its caller gives up on the attempt, for a callee's
        # queue to drop it then (AttemptDeadlines): it inherited its starter's (this
        # process's), narrowed to this attempt's limit as it is sent
        until = None if deadlines is None or limit is None else env.now + limit
        hedging = after is not None and (limit is None or after < limit)
        if deadlines is not None and (until is not None or hedging):
            deadlines.narrow(first, math.inf if until is None else until)
        if hedging:
            copies = [first]
            try:
                return (yield from hedge_loop(request, instance, limit, copies, until))
            finally:
                cancel(copies)
        assert limit is not None
        yield first | env.timeout(limit)
        return first.value if first.triggered else timeout_code

    def hedge_loop(
        request: Request,
        instance: AppInstance,
        limit: float | None,
        copies: list[simpy.Process],
        until: float | None,
    ) -> Process:
        """The copies of a hedged attempt, the first sent (``copies``, which gets every
        copy sent); returns the call's outcome."""
        assert after is not None
        if non_fatal:
            return (yield from hedged(request, instance, limit, copies, until))
        # copy k (1, 2, ...) after the first goes at k x after, while none has
        # answered, fewer than max_copies are out and k x after is within the limit
        # (HedgeSpec.copies, which the size estimate counts with)
        k = 0
        while True:
            yield env.any_of([*copies, env.timeout(after)])
            for copy in copies:
                if copy.triggered:
                    return copy.value
            copies.append(hedge_copy(request, instance, until))
            k += 1
            if k + 1 >= max_copies or (limit is not None and (k + 1) * after >= limit):
                break
        if limit is None:
            yield env.any_of(copies)
        else:
            yield env.any_of([*copies, env.timeout(limit - k * after)])
        for copy in copies:
            if copy.triggered:
                return copy.value
        return timeout_code

    def hedged(
        request: Request,
        instance: AppInstance,
        limit: float | None,
        copies: list[simpy.Process],
        until: float | None,
    ) -> Process:
        """The copies of a hedge with ``non_fatal`` causes: a copy failing with one of
        them does not win while another may still answer, and brings the next copy
        forward to now (gRPC's hedging on a non-fatal status)."""
        assert hedge is not None and after is not None
        # the copies that may be sent: copy k (1, 2, ...) if k x after is within the
        # limit, as without non_fatal (the size estimate's count); a failure only sends
        # one earlier, and the next is due after ``after`` from it
        allowed = hedge.copies(limit)
        running = list(copies)
        sent = 1
        last = timeout_code
        clock = env.timeout(after)
        end = None if limit is None else env.timeout(limit)
        while True:
            waits: list[simpy.Event] = list(running)
            if sent < allowed:
                waits.append(clock)
            if end is not None:
                waits.append(end)
            yield env.any_of(waits)
            answered = [copy for copy in running if copy.triggered]
            for copy in answered:
                if copy.value == 0:
                    return 0
            for copy in answered:
                if copy.value not in non_fatal:
                    return copy.value
            if end is not None and end.processed:
                return timeout_code
            if answered:
                last = answered[-1].value
                running = [copy for copy in running if not copy.triggered]
            if sent < allowed and (answered or clock.processed):
                copy = hedge_copy(request, instance, until)
                running.append(copy)
                copies.append(copy)
                sent += 1
                clock = env.timeout(after)
            elif not running:  # every copy sent has failed, and none is left to send
                return last

    def untimed(request: Request, instance: AppInstance) -> Process:
        try:
            yield from call(request, instance)
        except RequestFailed as failure:
            return failure.code
        return 0

    def attempt(
        request: Request, instance: AppInstance, limit: float | None, tries: int
    ) -> Process:
        """One try of the call, returning 0 or its failure code (``tries``: its number,
        for spans); a plain function, so that a try costs no generator of its own."""
        if limit is None and after is None:
            return untimed(request, instance)
        return timed(request, instance, limit)

    if ctx.tracer is not None:  # run.trace: each try and each backoff as a span
        attempt = ctx.tracer.attempts(attempt, server.name, target)

    def guarded(request: Request, instance: AppInstance) -> Process:
        route.calls += 1
        if budget is not None:
            budget.deposit()
        tries = 0
        waited = 0.0
        deadline: float | None = getattr(request, "deadline", None)
        while True:
            tries += 1
            if deadlines is not None:
                # a nested caller's try looks at the deadline of the attempt it serves
                # (its caller's limit, or a cancellation), not only at the request's:
                # a retry its caller no longer waits for is not sent
                deadline = deadlines.of(request)
                if deadline == math.inf:
                    deadline = None
            generation = 0 if breaker is None else breaker.allow(env.now)
            if generation is None:
                route.fail_fast += 1
                code = breaker_code
            else:
                limit = timeout
                if deadline is not None:
                    left = deadline - env.now
                    if left <= 0:  # the client has given up: nothing is sent
                        if breaker is not None:
                            breaker.unused(generation)
                        route.expired += 1
                        # gRPC: DEADLINE_EXCEEDED, or CANCELLED for a cancelled context
                        code = timeout_code if deadline > -math.inf else cancelled_code()
                        break
                    if limit is None or left < limit:
                        limit = left
                route.attempts += 1
                started = env.now
                code = yield from attempt(request, instance, limit, tries)
                if code == timeout_code:
                    route.timeouts += 1
                if breaker is not None:
                    if code and ctx.recorder.causes[code] == "cancelled":
                        # dropped downstream because this call's own caller cancelled it:
                        # the callee did not fail, and the outcome judges nothing
                        breaker.unused(generation)
                    else:
                        slow = slow_call is not None and env.now - started > slow_call
                        breaker.record(generation, env.now, code != 0, slow)
            if code == 0:
                return
            if tries >= attempts or code not in retry_on:
                break
            if budget is not None and not budget.take():
                route.budget_denied += 1
                break
            if wait is not None:
                waited = wait(tries, waited)
                yield env.timeout(waited)
            # counted as it is made, with its try: a backoff across the start or end of
            # the measured period must not count a retry without its attempt
            route.retries += 1
        route.failed += 1
        if fallback is None:
            raise RequestFailed(code)
        if deadlines is None:
            over: float = getattr(request, "deadline", math.inf)
        else:
            over = deadlines.of(request)
        if over <= env.now:
            # the caller of the attempt served gave up on it or cancelled it: a default
            # response would answer nobody, and the request (shared with the attempt or
            # copy that does answer) must not be flagged degraded for it
            raise RequestFailed(code)
        route.degraded += 1
        request.degraded = True
        if not skip:
            assert default_cpu is not None
            yield from instance.cpu(default_cpu())

    return guarded


def _budget(route: Route, spec: BudgetSpec) -> RetryBudget:
    route.budget = RetryBudget(spec.ratio, spec.burst)
    return route.budget


def checked_send(server: AppServer, handle: Handle, target: str) -> Handle:
    """``handle`` (a bare call from ``server`` to ``target``) behind the check a guarded
    call makes before it sends a try: once the deadline of the attempt the caller serves
    (the request's, or its own caller's limit) has passed, the call fails at once as
    ``timeout``, and as ``cancelled`` once its caller cancelled it, sending nothing, as a
    gRPC call made with an expired or cancelled context does, and counts in its route's
    ``calls``, ``expired`` and ``failed``. A call sent is counted (in ``calls``,
    ``attempts``, and ``failed`` and, failing as ``timeout``, ``timeouts`` if it fails)
    only on a route that a guarded call of ``server`` shares (:func:`guarded_targets`),
    whose ``amplification`` reads it (a pooled one failing for its connection, before
    this handle: :func:`failed_before_sent`); the
    requests of such a call run as processes (flat runners would send it uncounted).
    ``handle`` itself where no deadline reaches ``server`` and no guarded call shares
    the route: such a call pays nothing. Where a deadline reaches it, the handle's
    ``expire(request)`` makes that check alone: a pooled call makes it before it waits
    for its connection (:func:`simperf.components.calls.connect`), so that a call
    already expired neither takes nor waits for one.
    """
    ctx = server.ctx
    tracker: AttemptDeadlines | None = ctx.deadlines
    reached: bool | None = getattr(server, "deadline_reached", None)
    if reached is None:  # walked once per server, not per call step
        reached = ctx.scenario is not None and deadline_reaches(
            ctx.scenario, server.name, tracker is not None
        )
        server.deadline_reached = reached  # type: ignore[attr-defined]
    counted = target in guarded_targets(server)
    if not reached and not counted:
        return handle
    env = ctx.env
    inf = math.inf
    counts = route_of(server, target)  # (``route`` is the callee's, below)
    causes = ctx.recorder.causes  # read on a failure only: registers no cause

    def expire(request: Request) -> None:
        """Fail the call at once if the attempt it serves is past its deadline."""
        if tracker is not None:
            deadline = tracker.of(request)
        else:
            deadline = getattr(request, "deadline", inf)
        if deadline <= env.now:  # causes registered here: the order they had before
            cause = "timeout" if deadline > -inf else "cancelled"
            # as a guarded call's try not sent: the invariant of COUNTERS holds
            counts.calls += 1
            counts.expired += 1
            counts.failed += 1
            raise RequestFailed(ctx.recorder.cause(cause))

    def checked(request: Request, route: Any) -> Process:
        if reached:
            expire(request)
        if not counted:
            return (yield from handle(request, route))
        # as a guarded call of one try: attempts + expired == calls still holds for it
        counts.calls += 1
        counts.attempts += 1
        try:
            return (yield from handle(request, route))
        except RequestFailed as failure:
            counts.failed += 1
            if causes[failure.code] == "timeout":  # as a guarded try failing so
                counts.timeouts += 1
            raise

    if not counted:
        # flat runners (requests without deadlines) see the plain handle through it
        checked.__wrapped__ = getattr(handle, "__wrapped__", handle)  # type: ignore[attr-defined]
    # a pooled call checks before it waits for its connection, as a guarded call does
    checked.expire = expire if reached else None  # type: ignore[attr-defined]
    return checked


def failed_before_sent(server: AppServer, target: str) -> Callable[[int], None] | None:
    """How a bare pooled call from ``server`` to ``target`` counts a try that failed
    waiting for its connection (``pool_timeout``, refused, or dropped by a pool with
    ``drop_expired``: its ``code``), before :func:`checked_send`'s handle: on a route a
    guarded call shares, as a call, an attempt and a failure (and a timeout where it
    failed so), as a guarded call's try that fails there is; None elsewhere (such a
    call counts nothing)."""
    if target not in guarded_targets(server):
        return None
    counts = route_of(server, target)
    causes = server.ctx.recorder.causes

    def failed(code: int) -> None:
        counts.calls += 1
        counts.attempts += 1
        counts.failed += 1
        if causes[code] == "timeout":
            counts.timeouts += 1

    return failed


def guarded_targets(server: AppServer) -> frozenset[str]:
    """The components some call of ``server`` guards (:func:`needs_guard`): a bare call to
    one of them shares a route that counts every call (walked once per server).

    Only the endpoints something calls count (:func:`~simperf.spec.topology.served_endpoints`):
    a guarded call on an endpoint nobody calls is never compiled, so its route is never
    reported, and the bare calls it made count would be counted unseen, as processes.
    """
    targets: frozenset[str] | None = getattr(server, "guarded_targets", None)
    if targets is None:
        breakers = server.spec.breakers
        ctx = server.ctx
        served: set[tuple[str, str]] | None = getattr(ctx, "served_endpoints", None)
        if served is None and ctx.scenario is not None:  # walked once per run
            served = ctx.served_endpoints = served_endpoints(ctx.scenario)  # type: ignore[attr-defined]
        targets = frozenset(
            f.component
            for endpoint, steps in server.spec.endpoint_steps().items()
            if served is None or (server.name, endpoint) in served
            for step in steps
            for f in step.forwards()
            if needs_guard(step, breakers, f.component)
        )
        server.guarded_targets = targets  # type: ignore[attr-defined]
    return targets


def needs_guard(step: Any, breakers: dict[str, Any], target: str) -> bool:
    """Whether a call to ``target`` by ``step`` needs :func:`guard` (else: a bare call)."""
    if target in breakers:
        return True
    return any(
        getattr(step, option, None) is not None
        for option in ("timeout", "retry", "hedge", "fallback")
    )
