"""How a call behaves under failure: timeouts, retries with backoff and a budget, hedging,
circuit breakers and fallbacks (docs/architecture.md, "One call path").

A ``call`` step takes ``timeout``, ``retry``, ``hedge`` and ``fallback``; an app server's
``breakers`` hold one circuit breaker per target component it calls (the route
caller -> target), shared by every call step to that target; a request class's
``timeout`` is the client's deadline, which every timed call below it respects.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import Field, model_validator

from simperf.spec.base import MAX_COUNT, MAX_TIME, SpecModel, Time
from simperf.spec.distributions import Distribution
from simperf.spec.topology import all_steps, reachable
from simperf.units import format_time

Cause = Literal[
    "timeout",
    "rejected",
    "breaker_open",
    "instance_down",
    "connection_refused",
    "out_of_memory",
    "pool_timeout",
    "rate_limited",
    "cache_down",
    "safety_cap",
    "injected_error",
    "partitioned",
    "balancer_down",
    "primary_down",
    "shed",
]
"""Error causes a retry may be made on: every outcome code the runtime records
(``tests/spec/test_resilience_spec.py`` holds the two lists equal)."""


class BackoffSpec(SpecModel):
    """Wait before a retry: exponential from ``base``, at most ``cap``, with jitter.

    Retry ``n`` (1, 2, ...) waits ``min(cap, base * 2**(n-1))`` with ``jitter: none``, a
    uniform draw below it (``full``), half of it plus a uniform draw below the other half
    (``equal``), or ``min(cap, uniform(base, 3 x previous wait))`` (``decorrelated``).
    """

    base: Time = Field(0.0, ge=0, le=MAX_TIME, description="first retry's wait, e.g. 10ms")
    cap: Time = Field(1.0, ge=0, le=MAX_TIME, description="longest wait, e.g. 1s")
    jitter: Literal["none", "full", "equal", "decorrelated"] = Field(
        "full", description="how the wait is randomised"
    )

    @model_validator(mode="after")
    def _cap_above_base(self) -> BackoffSpec:
        if self.cap < self.base:
            raise ValueError("cap: must be >= base")
        return self


class BudgetSpec(SpecModel):
    """A token bucket per caller -> target: each first attempt adds ``ratio`` tokens (at
    most ``burst`` held) and each retry takes one; with no token the call is not retried."""

    ratio: float = Field(gt=0, le=1, description="retries allowed per first attempt, e.g. 0.1")
    burst: float = Field(10.0, ge=1, le=MAX_COUNT, description="tokens the bucket holds at most")


class RetrySpec(SpecModel):
    """Attempt a failed call again, on the causes listed in ``when`` (not ``on``: YAML 1.1 reads
    a bare ``on`` key as true)."""

    attempts: int = Field(ge=2, le=100, description="attempts in all, the first included")
    when: list[Cause] = Field(
        ["timeout", "rejected"],
        min_length=1,
        max_length=len(get_args(Cause)),
        description="error causes that are retried",
    )
    backoff: BackoffSpec | None = Field(None, description="wait before a retry (default: none)")
    budget: BudgetSpec | None = Field(
        None, description="retry budget per caller -> target (default: unlimited)"
    )


class HedgeSpec(SpecModel):
    """Send another copy of a call that has not answered, one every ``after`` (at
    ``after``, ``2 after``, ...), up to ``max_copies`` in all, as gRPC's hedging policy
    (``hedgingDelay``, ``maxAttempts``) does; the first answer wins and the other copies
    are cancelled: a callee whose queue has ``drop_expired`` drops those still waiting,
    a copy in service runs to its end. A copy failing with a cause in ``non_fatal``
    (gRPC's ``nonFatalStatusCodes``) does not win while another copy is in flight or
    still to be sent: the next copy is sent at once, and the call fails, with the last
    failure's cause, only when every copy sent has failed (or on its time limit)."""

    after: Time = Field(gt=0, le=MAX_TIME, description="wait before each further copy, e.g. 20ms")
    max_copies: int = Field(
        2, ge=2, le=100, description="copies in all, the first included (default 2)"
    )
    non_fatal: list[Cause] = Field(
        [],
        max_length=len(get_args(Cause)),
        description="failure causes of a copy that do not end the call while another copy "
        "may still answer; the next copy is then sent at once (default: none, the first "
        "answer wins)",
    )

    def copies(self, limit: float | None) -> int:
        """Copies sent when none answers within ``limit`` (None: no limit): copy ``k``
        (1, 2, ...) after the first goes at ``k after`` if that is before ``limit``.

        Examples
        --------
        >>> HedgeSpec(after=0.01, max_copies=5).copies(0.03)  # at 0, 10 ms, 20 ms
        3
        >>> HedgeSpec(after=0.01).copies(None), HedgeSpec(after=0.01).copies(0.01)
        (2, 1)
        """
        if limit is None:
            return self.max_copies
        return 1 + sum(1 for k in range(1, self.max_copies) if k * self.after < limit)


class FallbackSpec(SpecModel):
    """What a failed call is replaced by: nothing (``skip``) or a default response that
    costs ``cpu`` on the caller. The request then ends ``ok``, flagged degraded."""

    skip: bool = Field(False, description="the call is optional: go on without it")
    cpu: Distribution | None = Field(None, description="CPU of a default response at speed 1")

    @model_validator(mode="after")
    def _one(self) -> FallbackSpec:
        if self.skip == (self.cpu is not None):
            raise ValueError("give exactly one of skip: true or cpu")
        return self


class BreakerSpec(SpecModel):
    """A circuit breaker on the route from an app server to one target component.

    Closed, it records the outcomes of the last ``window`` attempts and opens when at
    least ``min_calls`` of them give a failure ratio of ``failure_ratio`` or more (or,
    with ``slow_call``, a ratio of attempts slower than it of ``slow_ratio`` or more).
    Open, every call fails fast (``breaker_open``) for ``wait``; then up to ``probes``
    calls go through (half-open): all succeeding close it, any failing opens it again.
    """

    window: int = Field(20, ge=1, le=MAX_COUNT, description="attempts the ratios are over")
    min_calls: int = Field(10, ge=1, le=MAX_COUNT, description="attempts needed to judge")
    failure_ratio: float = Field(0.5, gt=0, le=1, description="failure share that opens it")
    slow_call: Time | None = Field(
        None, gt=0, le=MAX_TIME, description="an attempt slower than this is slow"
    )
    slow_ratio: float = Field(1.0, gt=0, le=1, description="slow share that opens it")
    wait: Time = Field(5.0, gt=0, le=MAX_TIME, description="time open before probing")
    probes: int = Field(1, ge=1, le=MAX_COUNT, description="calls let through half-open")

    @model_validator(mode="after")
    def _enough_window(self) -> BreakerSpec:
        if self.min_calls > self.window:
            raise ValueError("min_calls: must be <= window")
        return self


def call_problems(scenario: Any, name: str, server: Any) -> list[str]:
    """Problems of an app server's call options, each as ``components.<name>...: message``.

    Checked: a retry that can only happen on a timeout has a timeout; a call's timeout
    is shorter than the deadline of every request class that reaches it; every breaker
    is on a component the server calls; a queue that drops expired requests is reached
    by a class or a call with a timeout (what makes a deadline) or a hedge (whose losing
    copies are cancelled).
    """
    path = f"components.{name}"
    problems: list[str] = []
    deadlines = _deadlines(scenario, name)
    queue = getattr(server, "queue", None)
    if queue is not None and queue.drop_expired:
        problems += drop_problems(scenario, name, f"{path}.queue.drop_expired")
    for k, pool in enumerate(server.pools):
        if pool.drop_expired and not _times_calls_to(scenario, name, pool.database):
            at = f"{path}.pool" + (f"[{k}]" if isinstance(server.pool, list) else "")
            problems += drop_problems(scenario, name, f"{at}.drop_expired")
    for endpoint, steps in server.endpoints.items():
        for k, step in enumerate(steps):
            spath = f"{path}.endpoints.{endpoint}[{k}]"
            timeout = getattr(step, "timeout", None)
            retry = getattr(step, "retry", None)
            if retry is not None and set(retry.when) == {"timeout"} and timeout is None:
                problems.append(
                    f"{spath}.retry.when: retries only on timeout, but the call has no timeout"
                )
            if timeout is None:
                continue
            for klass, deadline in deadlines:
                if timeout > deadline:
                    problems.append(
                        f"{spath}.timeout: {format_time(timeout)} is longer than the timeout "
                        f"of class {klass!r} ({format_time(deadline)}), which reaches it"
                    )
    called = {f.component for e in server.endpoints for f in server.forwards(scenario, e)}
    for target in server.breakers:
        if target not in called:
            calls = ", ".join(sorted(called)) or "nothing"
            problems.append(
                f"{path}.breakers.{target}: {name!r} never calls {target!r} (it calls: {calls})"
            )
    return problems


def drop_problems(scenario: Any, name: str, path: str) -> list[str]:
    """The problem of a ``drop_expired`` at ``path`` of component ``name`` (its queue, a
    pool of it, a database) that nothing can trigger: no request class or call with a
    timeout (what makes a deadline) or a hedge (whose losing copies are cancelled)
    reaches ``name`` (a pool's own server's timed calls through it are checked apart)."""
    if _deadlines(scenario, name) or _timed(scenario, name):
        return []
    return [
        f"{path}: no request class or call with a timeout or a hedge reaches {name!r}, "
        "so no request it queues has a deadline to pass or a caller to cancel it"
    ]


def _times_calls_to(scenario: Any, name: str, target: str) -> bool:
    """Whether a step of ``name`` calls ``target`` with a ``timeout`` or a ``hedge`` (its
    attempts wait in ``name``'s pool for ``target`` with a deadline of their own)."""
    return any(
        component == name
        and (getattr(step, "timeout", None) is not None or getattr(step, "hedge", None) is not None)
        and any(f.component == target for f in step.forwards())
        for _, component, _, step in all_steps(scenario)
    )


def drops_expired(spec: Any) -> bool:
    """Whether a component spec drops work whose caller has gone somewhere: its queue
    (an app server's), one of its pools, or its database cores (``drop_expired``)."""
    if getattr(spec, "drop_expired", False):
        return True
    if getattr(getattr(spec, "queue", None), "drop_expired", False):
        return True
    return any(pool.drop_expired for pool in getattr(spec, "pools", ()))


def tracks_attempts(scenario: Any) -> bool:
    """Whether a run reads the deadlines of attempts (not only of requests): some queue,
    pool or database drops expired requests (:func:`drops_expired`), or a server that a
    timed or hedged call reaches calls something of its own (a nested caller, whose
    calls look at the deadline of the attempt it serves before they are sent; see
    :class:`simperf.components.resilience.AttemptDeadlines`)."""
    if any(drops_expired(spec) for spec in scenario.components.values()):
        return True
    callers = {name for _, name, _, step in all_steps(scenario) if step.forwards()}
    if not callers:
        return False
    return any(
        component in callers
        for _, _, _, step in all_steps(scenario)
        if getattr(step, "timeout", None) is not None or getattr(step, "hedge", None) is not None
        for f in step.forwards()
        for component, _ in reachable(scenario, f.component, f.endpoint)
    )


def deadline_reaches(scenario: Any, name: str, tracked: bool) -> bool:
    """Whether a request served by ``name`` may carry a deadline its calls must check:
    a class with a ``timeout`` reaches it, or (in a run that ``tracked`` attempts'
    deadlines) a call with a ``timeout`` or a ``hedge`` does."""
    return bool(_deadlines(scenario, name)) or (tracked and _timed(scenario, name))


def _timed(scenario: Any, name: str) -> bool:
    """Whether a call with a ``timeout`` or a ``hedge`` reaches ``name`` (its attempts
    carry a deadline, or may be cancelled)."""
    return any(
        component == name
        for _, _, _, step in all_steps(scenario)
        if getattr(step, "timeout", None) is not None or getattr(step, "hedge", None) is not None
        for f in step.forwards()
        for component, _ in reachable(scenario, f.component, f.endpoint)
    )


def _deadlines(scenario: Any, name: str) -> list[tuple[str, float]]:
    """(class, timeout) of every class with a timeout whose requests reach ``name``."""
    out = []
    for c in scenario.workload.classes:
        if c.timeout is None or c.entry not in scenario.components:
            continue
        if any(component == name for component, _ in reachable(scenario, c.entry, c.endpoint)):
            out.append((c.name, c.timeout))
    return out
